//! One handler per endpoint of API.md: parse the body into domain types (naming the field
//! that is wrong), call the service, render the view.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::AppError;
use super::extract::{Caller, CoordinatorCaller, Json, Lang, OperatorCaller, Query};
use super::views;
use crate::adapters::store::listing::{Cursor, Listing, MAX_LIMIT};
use crate::app::auth::Principal;
use crate::app::service::{NewInterpreter, Service};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::language::LanguageTag;
use crate::domain::named::Named;
use crate::domain::request::{Channel, Priority, RequestState};
use crate::domain::roster::{self, Availability, LanguageSkill, PhoneNumber, Proficiency, Profile};
use crate::domain::schedule::Schedule;

type S = State<Arc<Service>>;
type ApiResult = Result<Response, AppError>;

/// Liveness: the process serves (whatever the store does).
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Readiness: the store answers; `503 store_unavailable` otherwise.
pub async fn readyz(State(svc): S) -> ApiResult {
    svc.ready().await?;
    Ok(axum::Json(json!({"status": "ready"})).into_response())
}

/// `GET /api/v1/me`: who the token belongs to, so that a console can show the right page.
pub async fn me(State(svc): S, Caller(who): Caller, Lang(locale): Lang) -> ApiResult {
    let mut v = json!({ "role": who.role() });
    if let Principal::Interpreter(me) = &who {
        let it = svc.interpreter(&who.for_interpreter(me.id())?).await?;
        v["interpreter"] = views::interpreter(&svc, &it, locale);
    }
    Ok(axum::Json(v).into_response())
}

/// `GET /api/v1/coverage`: per language, who is registered and on call, and recent demand.
pub async fn coverage(
    State(svc): S,
    CoordinatorCaller(who): CoordinatorCaller,
    Lang(locale): Lang,
) -> ApiResult {
    let lines: Vec<Value> = svc
        .coverage(&who)
        .await?
        .iter()
        .map(|l| views::coverage(&svc, l, locale))
        .collect();
    Ok(axum::Json(json!({ "languages": lines })).into_response())
}

// --- Languages -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct LanguageQuery {
    q: Option<String>,
    place: Option<String>,
    /// `agrupacion`, `variant`, `iso` or `other`: only languages of that level.
    level: Option<String>,
}

/// `GET /api/v1/languages`: `?q=` resolves free text, best first; `?place=` lists the
/// languages spoken in a state or municipality, most likely first; neither lists the
/// catalogue (agrupaciones, variants, languages from abroad).
pub async fn languages(
    State(svc): S,
    Caller(_): Caller,
    Lang(locale): Lang,
    Query(params): Query<LanguageQuery>,
) -> ApiResult {
    let level = match params.level.as_deref() {
        None | Some("") => None,
        Some(l @ ("agrupacion" | "variant" | "iso" | "other")) => Some(l.to_string()),
        Some(other) => {
            return Err(AppError::invalid_field(
                "level",
                format!("`{other}` is not a level; use agrupacion, variant, iso or other"),
            ))
        }
    };
    let keep = |l: &crate::domain::language::Language| {
        level
            .as_deref()
            .is_none_or(|want| json!(l.level).as_str() == Some(want))
    };
    let trimmed = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut body = json!({});
    let results: Vec<Value> = match (trimmed(&params.q), trimmed(&params.place)) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid_field(
                "place",
                "give either `q` or `place`, not both",
            ))
        }
        (Some(q), None) => svc
            .catalogue
            .search(&q)
            .into_iter()
            .filter(|c| keep(c.language))
            .map(|c| language_result(&svc, c.language, Some((c.kind, c.matched)), c.score, locale))
            .collect(),
        (None, Some(place)) => match svc.catalogue.places(&place) {
            Some(answer) => {
                body["places"] = json!(answer.places);
                answer
                    .languages
                    .into_iter()
                    .filter(|(l, _)| keep(l))
                    .map(|(l, score)| {
                        let rounded = (score * 1000.0).round() / 1000.0;
                        language_result(&svc, l, None, rounded, locale)
                    })
                    .collect()
            }
            None => {
                body["places"] = json!([]);
                Vec::new()
            }
        },
        (None, None) => svc
            .catalogue
            .languages()
            .iter()
            .filter(|l| keep(l))
            .map(|l| language_result(&svc, l, None, 1.0, locale))
            .collect(),
    };
    body["results"] = json!(results);
    Ok(axum::Json(body).into_response())
}

fn language_result(
    svc: &Service,
    l: &crate::domain::language::Language,
    matched: Option<(crate::domain::language::MatchKind, &str)>,
    score: f64,
    locale: crate::logic::prompts::Locale,
) -> Value {
    let mut v = views::language(svc, &l.tag, locale);
    v["level"] = json!(l.level);
    v["names_es"] = json!(l.names_es);
    v["names_en"] = json!(l.names_en);
    v["self_names"] = json!(l.self_names);
    v["family"] = json!(l.family);
    v["agrupacion"] = json!(l.agrupacion);
    v["group"] = json!(l.group());
    if !l.places.is_empty() {
        let mut states: Vec<&str> = l.places.iter().map(|(s, _)| s.as_str()).collect();
        states.sort_unstable();
        states.dedup();
        v["states"] = json!(states);
        v["localities"] = json!(l.localities);
    }
    v["score"] = json!(score);
    if let Some((kind, name)) = matched {
        v["match"] = json!({"kind": kind, "name": name});
    }
    v
}

#[derive(Deserialize)]
pub struct GridQuery {
    days: Option<u32>,
}

/// `GET /api/v1/coverage/schedule?days=7` (coordinator): interpreters on call per language
/// and hour ahead (in the hotline's time zone), and the gaps of languages in demand.
pub async fn schedule_grid(
    State(svc): S,
    CoordinatorCaller(who): CoordinatorCaller,
    Lang(locale): Lang,
    Query(q): Query<GridQuery>,
) -> ApiResult {
    let days = q.days.unwrap_or(7);
    if !(1..=14).contains(&days) {
        return Err(AppError::invalid_field(
            "days",
            format!("`{days}` days: give 1 to 14"),
        ));
    }
    let grid = svc.schedule_grid(&who, days).await?;
    let lines: Vec<Value> = grid
        .lines
        .iter()
        .map(|l| {
            json!({
                "language": views::language(&svc, &l.tag, locale),
                "on_call": l.on_call,
                "demand_30_days": l.demand,
            })
        })
        .collect();
    let gaps: Vec<Value> = grid
        .gaps
        .iter()
        .map(|g| {
            json!({
                "language": views::language(&svc, &g.tag, locale),
                "from": g.from,
                "to": g.to,
                "hours": g.to.duration_since(g.from).as_hours(),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "time_zone": svc.time_zone.iana_name().unwrap_or("UTC"),
        "start": grid.start,
        "hours": grid.hours,
        "languages": lines,
        "gaps": gaps,
    }))
    .into_response())
}

#[derive(Deserialize)]
pub struct TimeOffBody {
    from: jiff::civil::DateTime,
    to: jiff::civil::DateTime,
}

/// `POST /api/v1/interpreters/{id}/time-off` (that interpreter, or a coordinator): add a
/// dated exception "off" to the schedule, in the schedule's own time zone.
pub async fn add_time_off(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
    Json(body): Json<TimeOffBody>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    let it = svc
        .add_time_off(&who.for_interpreter(&id)?, body.from, body.to)
        .await?;
    Ok(axum::Json(views::interpreter(&svc, &it, locale)).into_response())
}

// --- Routing -------------------------------------------------------------------------------

/// `GET /api/v1/routing` (operator, coordinator): the widening search in force.
pub async fn routing(State(svc): S, Caller(who): Caller) -> ApiResult {
    who.staff()?;
    Ok(axum::Json(json!(*svc.routing())).into_response())
}

/// `PUT /api/v1/routing` (coordinator): replace it; every instance follows at once.
pub async fn set_routing(
    State(svc): S,
    CoordinatorCaller(who): CoordinatorCaller,
    Json(body): Json<crate::logic::routing::Routing>,
) -> ApiResult {
    let routing = svc.set_routing(&who, body).await?;
    Ok(axum::Json(json!(routing)).into_response())
}

// --- Interpreters ----------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct SkillBody {
    tag: String,
    proficiency: i64,
    #[serde(default)]
    certification: Option<String>,
}

#[derive(Deserialize)]
pub struct NewInterpreterBody {
    id: String,
    name: String,
    phone: String,
    languages: Vec<SkillBody>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    schedule: Option<Schedule>,
    #[serde(default)]
    certification: Option<String>,
}

/// One of a closed set of values, from body field `field`.
fn parse_named<T: Named>(field: &str, given: &str) -> Result<T, AppError> {
    T::parse(given).ok_or_else(|| AppError::invalid_field(field, T::refusal(given)))
}

/// One of a closed set of values, from optional body field `field` (`default` when absent).
fn named<T: Named>(field: &str, given: Option<&str>, default: T) -> Result<T, AppError> {
    given.map_or(Ok(default), |s| parse_named(field, s))
}

fn parse_skills(svc: &Service, body: Vec<SkillBody>) -> Result<Vec<LanguageSkill>, AppError> {
    let mut skills = Vec::with_capacity(body.len());
    for (i, s) in body.into_iter().enumerate() {
        let field = format!("languages[{i}]");
        let tag = LanguageTag::parse(&s.tag)
            .map_err(|e| AppError::invalid_field(&format!("{field}.tag"), e.to_string()))?;
        let proficiency = Proficiency::new(s.proficiency)
            .map_err(|e| AppError::invalid_field(&format!("{field}.proficiency"), e))?;
        let certification = s
            .certification
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if certification
            .as_ref()
            .is_some_and(|c| c.chars().count() > 200)
        {
            return Err(AppError::invalid_field(
                &format!("{field}.certification"),
                "must be at most 200 characters",
            ));
        }
        skills.push(LanguageSkill {
            tag,
            proficiency,
            certification,
            group: None,
        });
    }
    roster::check_skills(&skills, &svc.catalogue)
        .map_err(|e| AppError::invalid_field("languages", e))?;
    Ok(skills)
}

fn parse_certification(field: &str, c: Option<String>) -> Result<Option<String>, AppError> {
    let c = c.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if c.as_ref().is_some_and(|c| c.chars().count() > 200) {
        return Err(AppError::invalid_field(
            field,
            "must be at most 200 characters",
        ));
    }
    Ok(c)
}

fn parse_profile(svc: &Service, body: ProfileBody) -> Result<Profile, AppError> {
    if let Some(s) = &body.schedule {
        s.check()
            .map_err(|e| AppError::invalid_field("schedule", e.0))?;
    }
    Ok(Profile {
        name: roster::parse_name(&body.name).map_err(|e| AppError::invalid_field("name", e))?,
        phone: PhoneNumber::parse(&body.phone).map_err(|e| AppError::invalid_field("phone", e))?,
        languages: parse_skills(svc, body.languages)?,
        schedule: body.schedule,
        certification: parse_certification("certification", body.certification)?,
    })
}

pub async fn create_interpreter(
    State(svc): S,
    CoordinatorCaller(who): CoordinatorCaller,
    Lang(locale): Lang,
    Json(body): Json<NewInterpreterBody>,
) -> ApiResult {
    let id = InterpreterId::parse(&body.id).map_err(|e| AppError::invalid_field("id", e))?;
    let profile = parse_profile(
        &svc,
        ProfileBody {
            id: None,
            name: body.name,
            phone: body.phone,
            languages: body.languages,
            schedule: body.schedule,
            certification: body.certification,
        },
    )?;
    let new = NewInterpreter {
        id,
        name: profile.name,
        phone: profile.phone,
        languages: profile.languages,
        schedule: profile.schedule,
        certification: profile.certification,
        availability: named("status", body.status.as_deref(), Availability::Offline)?,
    };
    let (it, token) = svc.create_interpreter(&who, new).await?;
    let mut v = views::interpreter(&svc, &it, locale);
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, [etag(&it)], axum::Json(v)).into_response())
}

fn interpreter_id(raw: &str) -> Result<InterpreterId, AppError> {
    // An id that cannot exist cannot be found.
    InterpreterId::parse(raw).map_err(|_| AppError::not_found(format!("interpreter {raw}")))
}

pub async fn list_interpreters(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
) -> ApiResult {
    let all = svc.interpreters(who.coordinator()?).await?;
    let list: Vec<Value> = all
        .iter()
        .map(|it| views::interpreter(&svc, it, locale))
        .collect();
    Ok(axum::Json(json!({ "interpreters": list })).into_response())
}

pub async fn get_interpreter(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    let it = svc.interpreter(&who.for_interpreter(&id)?).await?;
    Ok(profile_response(&svc, &it, locale))
}

/// The interpreter's view with its profile's revision as the `ETag`.
fn profile_response(
    svc: &Service,
    it: &crate::domain::roster::Interpreter,
    locale: crate::logic::prompts::Locale,
) -> Response {
    ([etag(it)], axum::Json(views::interpreter(svc, it, locale))).into_response()
}

/// An interpreter's `ETag`: the revision of their profile (availability and sessions are
/// not edits of the profile and do not change it).
fn etag(it: &crate::domain::roster::Interpreter) -> (axum::http::HeaderName, String) {
    (axum::http::header::ETAG, format!("\"{}\"", it.revision))
}

/// What `If-Match` asks for: none (no header, or `*`: any revision), or one revision. A
/// value that names no revision of ours cannot match: `412`.
fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<u64>, AppError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let v = v.to_str().unwrap_or("").trim();
    if v == "*" {
        return Ok(None);
    }
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| crate::app::service::ServiceError::StaleProfile.into())
}

#[derive(Deserialize)]
pub struct ProfileBody {
    #[serde(default)]
    id: Option<String>,
    name: String,
    phone: String,
    languages: Vec<SkillBody>,
    /// Left out or null: no schedule (availability is only what the interpreter sets).
    #[serde(default)]
    schedule: Option<Schedule>,
    #[serde(default)]
    certification: Option<String>,
}

fn same_id(body: Option<&str>, id: &InterpreterId) -> Result<(), AppError> {
    if body.is_some_and(|b| b != id.as_str()) {
        return Err(AppError::invalid_field(
            "id",
            "an interpreter's id cannot change; remove the interpreter and add a new one",
        ));
    }
    Ok(())
}

/// `PUT /api/v1/interpreters/{id}`: replace the whole profile (what is left out is
/// removed); `If-Match` makes it conditional.
pub async fn update_interpreter(
    State(svc): S,
    CoordinatorCaller(who): CoordinatorCaller,
    Lang(locale): Lang,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(body): Json<ProfileBody>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    let expected = if_match(&headers)?;
    same_id(body.id.as_deref(), &id)?;
    let profile = parse_profile(&svc, body)?;
    let it = svc.update_interpreter(&who, &id, profile, expected).await?;
    Ok(profile_response(&svc, &it, locale))
}

/// The editable profile as JSON, in the shape a `PUT` takes, for a merge patch to apply to.
fn editable(it: &crate::domain::roster::Interpreter) -> Value {
    let languages: Vec<Value> = it
        .languages
        .iter()
        .map(|l| {
            let mut v = json!({"tag": l.tag, "proficiency": l.proficiency});
            if let Some(c) = &l.certification {
                v["certification"] = json!(c);
            }
            v
        })
        .collect();
    let mut v = json!({
        "name": it.name,
        "phone": it.phone.as_str(),
        "languages": languages,
    });
    if let Some(s) = &it.schedule {
        v["schedule"] = json!(s);
    }
    if let Some(c) = &it.certification {
        v["certification"] = json!(c);
    }
    v
}

/// RFC 7396 JSON merge patch: members of `patch` replace those of `target`, `null`
/// removes, objects merge member by member, anything else (arrays included) replaces.
/// Hand-written: the RFC's own ten-line algorithm, not worth a dependency.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in members {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// `PATCH /api/v1/interpreters/{id}` (coordinator): a JSON merge patch of the profile;
/// what the patch does not name stays as it is.
pub async fn patch_interpreter(
    State(svc): S,
    CoordinatorCaller(who): CoordinatorCaller,
    Lang(locale): Lang,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(patch): Json<Value>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    let asked = if_match(&headers)?;
    if !patch.is_object() {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "error-invalid-body",
        )
        .arg(
            "detail",
            "a merge patch is a JSON object of the fields to change",
        ));
    }
    same_id(patch.get("id").and_then(Value::as_str), &id)?;
    // Without If-Match, the patch applies to the profile as it is: if someone else saves
    // between our read and our write, read again and re-apply rather than overwrite them.
    for _ in 0..5 {
        let current = svc.interpreter(&who.for_interpreter(&id)).await?;
        if asked.is_some_and(|r| r != current.revision) {
            return Err(crate::app::service::ServiceError::StaleProfile.into());
        }
        let mut merged = editable(&current);
        merge_patch(&mut merged, &patch);
        if let Value::Object(m) = &mut merged {
            m.remove("id");
            if let Some(f) = ["name", "phone", "languages"]
                .into_iter()
                .find(|f| !m.contains_key(*f))
            {
                return Err(AppError::invalid_field(
                    f,
                    "cannot be removed: every interpreter has one; send a new value instead",
                ));
            }
        }
        let body: ProfileBody = serde_json::from_value(merged).map_err(|e| {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "error-invalid-body",
            )
            .arg("detail", e.to_string())
        })?;
        let profile = parse_profile(&svc, body)?;
        match svc
            .update_interpreter(&who, &id, profile, Some(current.revision))
            .await
        {
            Ok(it) => return Ok(profile_response(&svc, &it, locale)),
            Err(crate::app::service::ServiceError::StaleProfile) if asked.is_none() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::app::service::ServiceError::StaleProfile.into())
}

pub async fn delete_interpreter(
    State(svc): S,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    svc.remove_interpreter(who.coordinator()?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct AvailabilityBody {
    status: String,
}

pub async fn set_availability(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
    Json(body): Json<AvailabilityBody>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    let availability: Availability = parse_named("status", &body.status)?;
    let it = svc
        .set_availability(&who.for_interpreter(&id)?, availability)
        .await?;
    let mut v = views::interpreter(&svc, &it, locale);
    // The answer echoes what was asked; `session` says if a call is still going on.
    v["status"] = json!(availability);
    Ok(axum::Json(v).into_response())
}

pub async fn interpreter_offers(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let id = interpreter_id(&id)?;
    let offers = svc.open_offers(&who.for_interpreter(&id)?).await?;
    // Read by the interpreter, not a coordinator: they have seen them.
    if let Ok(me) = who.me() {
        svc.offers_seen(me, &offers).await;
    }
    let list: Vec<Value> = offers
        .iter()
        .map(|o| views::offer(&svc, o, locale))
        .collect();
    Ok(axum::Json(json!({ "offers": list })).into_response())
}

// --- Offers ----------------------------------------------------------------------------------

pub async fn accept_offer(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let req = svc
        .accept_offer(who.me()?, &OfferId::from_path(&id))
        .await?;
    Ok(axum::Json(json!({
        "offer": {"id": id, "state": "accepted"},
        "request": views::request(&svc, &req, None, locale).await,
    }))
    .into_response())
}

pub async fn decline_offer(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let offer = svc
        .decline_offer(who.me()?, &OfferId::from_path(&id))
        .await?;
    Ok(axum::Json(json!({ "offer": views::offer(&svc, &offer, locale) })).into_response())
}

// --- Requests --------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct NewRequestBody {
    language: Option<String>,
    /// The caller's own words, when the operator does not know the language.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

pub async fn create_request(
    State(svc): S,
    OperatorCaller(who): OperatorCaller,
    Lang(locale): Lang,
    Json(body): Json<NewRequestBody>,
) -> ApiResult {
    let language = body.language.filter(|l| !l.trim().is_empty());
    if language.as_ref().is_some_and(|l| l.chars().count() > 200) {
        return Err(AppError::invalid_field(
            "language",
            "must be at most 200 characters",
        ));
    }
    let text = body.text.filter(|t| !t.trim().is_empty());
    let priority = named("priority", body.priority.as_deref(), Priority::Normal)?;
    let channel = named("channel", body.channel.as_deref(), Channel::Phone)?;
    let created = match svc.request_language(language.as_deref(), text.as_deref()) {
        Ok(tag) => svc.create_request_for(&who, tag, priority, channel).await,
        Err(e) => Err(e),
    };
    let (req, place) = created.map_err(|e| with_named_candidates(&svc, e, locale))?;
    // Where it stands comes back from the store with the insert: no second round trip.
    let v = views::request(&svc, &req, Some(&place), locale).await;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

#[derive(Deserialize)]
pub struct RequestsQuery {
    /// One state, or several separated by commas.
    state: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    /// Created at or after (RFC 3339)...
    since: Option<String>,
    /// ...and before.
    until: Option<String>,
}

impl RequestsQuery {
    /// The listing asked for, or why the query does not say one.
    fn listing(&self) -> Result<Listing, AppError> {
        let refuse = |message: &'static str| {
            AppError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
        };
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let mut listing = Listing::default();
        for s in given(&self.state).into_iter().flat_map(|s| s.split(',')) {
            let s = s.trim();
            let state = RequestState::parse(s).ok_or_else(|| {
                refuse("error-invalid-query").arg("detail", RequestState::refusal(s))
            })?;
            if !listing.states.contains(&state) {
                listing.states.push(state);
            }
        }
        if let Some(l) = given(&self.limit) {
            listing.limit = l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    refuse("error-invalid-limit")
                        .arg("max", MAX_LIMIT.to_string())
                        .arg("given", l)
                })?;
        }
        if let Some(c) = given(&self.cursor) {
            listing.after = Some(Cursor::parse(c).ok_or_else(|| refuse("error-invalid-cursor"))?);
        }
        let time = |name: &str, v: &Option<String>| -> Result<Option<Timestamp>, AppError> {
            given(v)
                .map(|t| {
                    t.parse::<Timestamp>().map_err(|_| {
                        refuse("error-invalid-time")
                            .arg("name", name)
                            .arg("given", t)
                    })
                })
                .transpose()
        };
        listing.since = time("since", &self.since)?;
        listing.until = time("until", &self.until)?;
        Ok(listing)
    }
}

pub async fn list_requests(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Query(params): Query<RequestsQuery>,
) -> ApiResult {
    let staff = who.staff()?;
    let page = svc.requests(&staff, &params.listing()?).await?;
    let queue = svc.queue_info(&page.requests).await?;
    let mut list = Vec::with_capacity(page.requests.len());
    for r in &page.requests {
        list.push(views::request(&svc, r, queue.get(&r.id), locale).await);
    }
    let next = page.next.map(|c| c.to_string());
    Ok(axum::Json(json!({ "requests": list, "next": next })).into_response())
}

pub async fn get_request(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let req = svc.request(&who, &RequestId::from_path(&id)).await?;
    let queue = svc.queue_info(std::slice::from_ref(&req)).await?;
    Ok(axum::Json(views::request(&svc, &req, queue.get(&req.id), locale).await).into_response())
}

pub async fn cancel_request(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let req = svc
        .cancel_request(who.operator()?, &RequestId::from_path(&id))
        .await?;
    Ok(axum::Json(views::request(&svc, &req, None, locale).await).into_response())
}

#[derive(Deserialize)]
pub struct BridgeBody {
    outcome: String,
}

/// `POST /api/v1/requests/{id}/bridge` (operator), the manual bridge: after calling the
/// interpreter and joining them to the caller, `{"outcome": "connected"}`; when that failed,
/// `{"outcome": "failed"}` and the request waits for another interpreter.
pub async fn bridge_request(
    State(svc): S,
    OperatorCaller(who): OperatorCaller,
    Lang(locale): Lang,
    Path(id): Path<String>,
    Json(body): Json<BridgeBody>,
) -> ApiResult {
    let connected = match body.outcome.as_str() {
        "connected" => true,
        "failed" => false,
        other => {
            return Err(AppError::invalid_field(
                "outcome",
                format!("`{other}` is not an outcome; use `connected` or `failed`"),
            ))
        }
    };
    let req = svc
        .bridge(&who, &RequestId::from_path(&id), connected)
        .await?;
    let queue = svc.queue_info(std::slice::from_ref(&req)).await?;
    Ok(axum::Json(views::request(&svc, &req, queue.get(&req.id), locale).await).into_response())
}

/// `GET /api/v1/requests/{id}/messages` (operators, the connected interpreter): a chat
/// request's conversation, in order.
pub async fn chat_messages(
    State(svc): S,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let list = svc.chat_messages(&who, &RequestId::from_path(&id)).await?;
    let messages: Vec<Value> = list.iter().map(views::chat_message).collect();
    Ok(axum::Json(json!({ "messages": messages })).into_response())
}

/// A service error, with any candidate languages named in the caller's language.
fn with_named_candidates(
    svc: &Service,
    e: crate::app::service::ServiceError,
    locale: crate::logic::prompts::Locale,
) -> AppError {
    let named: Option<Vec<Value>> = e
        .candidates()
        .map(|c| c.iter().map(|t| views::language(svc, t, locale)).collect());
    let err: AppError = e.into();
    match named {
        Some(n) => err.field("candidates", Value::Array(n)),
        None => err,
    }
}

/// `GET /api/v1/conversations` (operators): the WhatsApp conversations of the last day,
/// most recent first, each with its request (or `null`: nobody asked for an interpreter
/// yet) and its messages.
pub async fn conversations(State(svc): S, Caller(who): Caller, Lang(locale): Lang) -> ApiResult {
    let mut list = Vec::new();
    for (id, req, messages) in svc.conversations(who.operator()?).await? {
        let request = match &req {
            Some(r) => views::request(&svc, r, None, locale).await,
            None => Value::Null,
        };
        let messages: Vec<Value> = messages.iter().map(views::chat_message).collect();
        list.push(json!({"id": id, "request": request, "messages": messages}));
    }
    Ok(axum::Json(json!({ "conversations": list })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    language: String,
    #[serde(default)]
    priority: Option<String>,
}

/// `POST /api/v1/conversations/{id}/request` (operators): ask for an interpreter for a
/// conversation; the request gets the conversation's id. `201` with the request.
pub async fn ask_interpreter(
    State(svc): S,
    OperatorCaller(who): OperatorCaller,
    Lang(locale): Lang,
    Path(id): Path<String>,
    Json(body): Json<AskBody>,
) -> ApiResult {
    let priority = named("priority", body.priority.as_deref(), Priority::Normal)?;
    let req = svc
        .ask_interpreter(&who, &RequestId::from_path(&id), &body.language, priority)
        .await
        .map_err(|e| with_named_candidates(&svc, e, locale))?;
    let queue = svc.queue_info(std::slice::from_ref(&req)).await?;
    let v = views::request(&svc, &req, queue.get(&req.id), locale).await;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    text: String,
}

/// `POST /api/v1/requests/{id}/messages` (operators, the connected interpreter): write to
/// the caller. `201` with the message and `delivered` (whether WhatsApp took it).
pub async fn send_chat(
    State(svc): S,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(body): Json<ChatBody>,
) -> ApiResult {
    let (message, delivered) = svc
        .send_chat(&who, &RequestId::from_path(&id), &body.text)
        .await?;
    let mut view = views::chat_message(&message);
    view["delivered"] = json!(delivered);
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

pub async fn complete_request(
    State(svc): S,
    Caller(who): Caller,
    Lang(locale): Lang,
    Path(id): Path<String>,
) -> ApiResult {
    let req = svc
        .complete_request(&who, &RequestId::from_path(&id))
        .await?;
    Ok(axum::Json(views::request(&svc, &req, None, locale).await).into_response())
}

// --- Detection -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct DetectBody {
    text: String,
}

pub async fn detect(
    State(svc): S,
    Caller(_): Caller,
    Lang(locale): Lang,
    Json(body): Json<DetectBody>,
) -> ApiResult {
    let d = svc.detect(&body.text)?;
    let candidates: Vec<Value> = d
        .candidates
        .iter()
        .map(|c| {
            let mut v = views::language(&svc, &c.tag, locale);
            v["confidence"] = json!((f64::from(c.confidence) * 1000.0).round() / 1000.0);
            v["variety"] = json!(c.variety);
            if c.partial {
                v["partial"] = json!(true);
            }
            v
        })
        .collect();
    Ok(axum::Json(json!({
        "language": d.language.as_ref().map(|t| views::language(&svc, t, locale)),
        "candidates": candidates,
    }))
    .into_response())
}

// --- Fallbacks -------------------------------------------------------------------------------

pub async fn no_route() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, "not_found", "error-route-not-found")
}

pub async fn wrong_method() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "error-method-not-allowed",
    )
}

//! JSON views of domain objects, with their human text rendered in the caller's locale.
//! One function per object, used by the handlers and by the live event stream alike.

use fluent_bundle::FluentValue;
use serde_json::{json, Value};

use crate::app::service::{QueueInfo, Service};
use crate::domain::language::LanguageTag;
use crate::domain::named::Named;
use crate::domain::offer::Offer;
use crate::domain::request::{Request, RequestState};
use crate::domain::roster::Interpreter;
use crate::logic::coverage::LanguageCoverage;
use crate::logic::prompts::Locale;

pub fn language(service: &Service, tag: &LanguageTag, locale: Locale) -> Value {
    match service.catalogue.get(tag) {
        Some(l) => json!({"tag": tag, "name": l.name(locale.tag())}),
        None => json!({"tag": tag, "name": tag}),
    }
}

fn language_name(service: &Service, tag: &LanguageTag, locale: Locale) -> String {
    service.catalogue.display_name(tag, locale.tag())
}

/// A request as the API shows it. `queue` is given for waiting requests.
pub async fn request(
    service: &Service,
    req: &Request,
    queue: Option<&QueueInfo>,
    locale: Locale,
) -> Value {
    let lang = language_name(service, &req.language, locale);
    // The interpreter's number is for the operator to call (manual bridge); the caller's
    // number is never in a request.
    let interpreter = match &req.interpreter {
        Some(id) => {
            let (name, phone) = match service.interpreter_of(req).await {
                Ok(Some(it)) => (it.name, Some(it.phone)),
                _ => (id.to_string(), None),
            };
            Some((id.clone(), name, phone))
        }
        None => None,
    };
    let interpreter_name = interpreter.as_ref().map_or("", |(_, n, _)| n.as_str());
    let message = status_message(service, req, queue, &lang, interpreter_name, locale);
    let script = req.state.is_pending().then(|| {
        service.prompts.render(
            locale,
            "script-waiting",
            &[("language", FluentValue::from(lang.as_str()))],
        )
    });
    json!({
        "id": req.id,
        "state": req.state.name(),
        "group": req.group,
        "routing": req.state.is_pending().then(|| routing_stage(service, req)),
        "language": language(service, &req.language, locale),
        "priority": req.priority,
        "channel": req.channel,
        "interpreter": interpreter.map(|(id, name, phone)| json!({"id": id, "name": name, "phone": phone})),
        "bridged_at": req.bridged_at,
        "end_reason": req.end_reason,
        "queue": queue.filter(|_| req.state.is_pending()).map(|q| json!({
            "position": q.position,
            "on_call": q.on_call,
            "open_offers": q.open_offers,
            // From how fast the language's calls were connected lately; null when too
            // few were to say.
            "estimated_wait_secs": service
                .wait_estimate(&req.language, q.position)
                .map(|d| d.as_secs().max(0)),
        })),
        "offers_made": req.offers_made,
        "message": message,
        "script": script,
        "created_at": req.created_at,
        "updated_at": req.updated_at,
        "connected_at": req.connected_at,
        "finished_at": req.finished_at,
    })
}

/// The operator's status line for a request, in words.
fn status_message(
    service: &Service,
    req: &Request,
    queue: Option<&QueueInfo>,
    lang: &str,
    interpreter: &str,
    locale: Locale,
) -> String {
    let mut args: Vec<(&str, FluentValue<'_>)> = vec![
        ("language", FluentValue::from(lang)),
        ("channel", FluentValue::from(req.channel.name())),
    ];
    let message_id = match req.state {
        RequestState::Queued => {
            let q = queue.copied().unwrap_or(QueueInfo {
                position: 1,
                on_call: 0,
                open_offers: 0,
            });
            args.push(("position", FluentValue::from(q.position)));
            args.push(("oncall", FluentValue::from(q.on_call)));
            "status-queued"
        }
        RequestState::Offered => {
            let n = queue.map_or(1, |q| q.open_offers.max(1));
            args.push(("count", FluentValue::from(n)));
            "status-offered"
        }
        RequestState::Connected => {
            args.push(("interpreter", FluentValue::from(interpreter)));
            "status-connected"
        }
        _ if req.end_reason == Some(crate::domain::request::EndReason::BridgeLost) => {
            "status-bridge-lost"
        }
        RequestState::Completed => "status-completed",
        RequestState::Cancelled => "status-cancelled",
        RequestState::Unfilled => "status-unfilled",
    };
    service.prompts.render(locale, message_id, &args)
}

/// Where the widening search of a waiting request stands (by the clock; `tier` may lag
/// until the dispatcher records it).
fn routing_stage(service: &Service, req: &Request) -> Value {
    let policy = service.policy();
    let stage = policy.routing.stage(
        &req.language,
        req.group.as_ref(),
        req.created_at,
        service.now(),
        policy.give_up_after,
    );
    json!({
        "tier": stage.tier,
        "reach": stage.reach,
        "widens_at": stage.widens_at,
        "gives_up_at": stage.gives_up_at,
    })
}

pub fn offer(service: &Service, offer: &Offer, locale: Locale) -> Value {
    let lang = language_name(service, &offer.language, locale);
    let priority = serde_json::to_value(offer.priority).unwrap_or_default();
    let message = service.prompts.render(
        locale,
        "offer-text",
        &[
            ("language", FluentValue::from(lang.as_str())),
            (
                "priority",
                FluentValue::from(priority.as_str().unwrap_or("normal")),
            ),
        ],
    );
    let state = match offer.outcome {
        None => json!("open"),
        Some(o) => serde_json::to_value(o).unwrap_or_default(),
    };
    json!({
        "id": offer.id,
        "request_id": offer.request,
        "interpreter_id": offer.interpreter,
        "language": language(service, &offer.language, locale),
        "priority": offer.priority,
        "state": state,
        "message": message,
        "created_at": offer.created_at,
        "expires_at": offer.deadline,
        "closed_at": offer.closed_at,
    })
}

pub fn coverage(service: &Service, line: &LanguageCoverage, locale: Locale) -> Value {
    json!({
        "language": language(service, &line.tag, locale),
        "registered": line.registered,
        "on_call": line.on_call,
        "available": line.available,
        "waiting": line.waiting,
        "uncovered": line.uncovered(),
        "last_7_days": {
            "total": line.recent.total,
            "connected": line.recent.connected,
            "unfilled": line.recent.unfilled,
            "median_wait_secs": line.recent.median_wait.map(|d| d.as_secs()),
        },
    })
}

pub fn interpreter(service: &Service, it: &Interpreter, locale: Locale) -> Value {
    let languages: Vec<Value> = it
        .languages
        .iter()
        .map(|l| {
            let mut v = language(service, &l.tag, locale);
            v["proficiency"] = json!(l.proficiency);
            if let Some(c) = &l.certification {
                v["certification"] = json!(c);
            }
            v
        })
        .collect();
    json!({
        "id": it.id,
        "name": it.name,
        "phone": it.phone,
        "languages": languages,
        "status": it.status(),
        "availability": it.availability,
        "session": it.session.as_ref().map(|r| json!({"request_id": r})),
        "ready_at": it.ready_at,
        "created_at": it.created_at,
        "schedule": it.schedule,
        "certification": it.certification,
        "revision": it.revision,
        "next_change": it.schedule.as_ref().and_then(|s| s.next_change(service.now())).map(|c| json!({
            "at": c.at,
            "status": if c.on_call { "available" } else { "offline" },
        })),
    })
}

/// A chat message as its readers see it: who wrote it, never a number.
pub fn chat_message(r: &crate::app::service::chat::Readable) -> Value {
    json!({
        "request": r.message.request,
        "seq": r.message.seq,
        "from": r.message.from,
        "text": r.text,
        "at": r.message.at,
    })
}

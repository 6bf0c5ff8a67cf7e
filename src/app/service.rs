//! The service: what users can do, in domain terms, for the HTTP layer and the dispatcher.
//!
//! Each operation checks who may do it, runs one store transition, publishes what changed
//! on the [`Bus`], and wakes the dispatcher when matching could now do something. This is
//! the only place that combines the store, the bus and the dispatcher; it knows nothing
//! about HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{broadcast, Notify};

use crate::adapters::store::{Change, Conflict, Finish, Reason, Rules, Store, StoreError};
use crate::app::auth::{self, Coordinator, ForInterpreter, Me, Operator, Principal, Role, Staff};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::ids::TokenHash;
use crate::domain::language::{Catalogue, LanguageTag, Resolution};
use crate::domain::offer::{Offer, Outcome};
use crate::domain::request::{Channel, Priority, Request, RequestState};
use crate::domain::roster::{Availability, Interpreter, LanguageSkill, PhoneNumber, Profile};
use crate::logic::coverage::LanguageCoverage;
use crate::logic::matcher::Policy;
use crate::logic::prompts::Prompts;
use crate::logic::routing::Routing;
use crate::setup::config::Config;
use secrecy::{ExposeSecret, SecretString};

/// Wall-clock time that follows tokio's clock, so tests can pause and advance it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Timestamp,
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::starting_at(Timestamp::now())
    }

    /// A clock that reads `t` now (tests set the date this way).
    pub fn starting_at(t: Timestamp) -> Clock {
        Clock {
            base: t,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.start.elapsed()).unwrap_or(SignedDuration::MAX);
        self.base.saturating_add(elapsed).unwrap_or(self.base)
    }

    /// The tokio instant at which the clock will read `t` (now, if `t` is past).
    pub fn instant_at(&self, t: Timestamp) -> tokio::time::Instant {
        let ahead = t.duration_since(self.now());
        let ahead = std::time::Duration::try_from(ahead).unwrap_or_default();
        tokio::time::Instant::now() + ahead
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// Something that changed, as published to live streams.
#[derive(Debug, Clone)]
pub enum Notice {
    Request(Request),
    Offer(Offer),
    Interpreter(Interpreter, Reason),
    Routing(Routing),
    /// Something coordinators must act on (a coverage gap ahead).
    Alert(crate::domain::alert::Alert),
    /// An interpreter left the roster.
    Removed(InterpreterId),
    /// A chat message (its text sealed).
    Chat(crate::domain::chat::ChatMessage),
}

/// The live event bus. Slow subscribers miss events (and are told so) rather than slowing
/// the router down.
pub type Bus = broadcast::Sender<Arc<Notice>>;

/// Why an operation was refused, in domain terms; the HTTP layer maps it to a status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("invalid field {field}: {detail}")]
    InvalidField { field: String, detail: String },
    #[error("unknown language {0}")]
    UnknownLanguage(String),
    #[error("ambiguous language {query}")]
    AmbiguousLanguage {
        query: String,
        candidates: Vec<LanguageTag>,
    },
    #[error("offer closed")]
    OfferClosed(Box<Offer>),
    #[error("request is {0:?}")]
    InvalidState(RequestState),
    #[error("text language uncertain")]
    UncertainText(Vec<LanguageTag>),
    #[error("text has no letters")]
    NoLetters,
    #[error("text reads as {0}")]
    NoInterpreterNeeded(LanguageTag),
    #[error("interpreter in session {0}")]
    InterpreterInSession(RequestId),
    #[error("request {0} is not a chat")]
    NotAChat(RequestId),
    #[error("too many failed authentications")]
    TooManyAttempts,
    #[error("too many live streams")]
    TooManyStreams(usize),
    #[error("stale profile")]
    StaleProfile,
    #[error(transparent)]
    Store(StoreError),
}

impl ServiceError {
    /// The candidate languages of an ambiguous or uncertain language.
    pub fn candidates(&self) -> Option<&[LanguageTag]> {
        match self {
            ServiceError::AmbiguousLanguage { candidates, .. }
            | ServiceError::UncertainText(candidates) => Some(candidates),
            _ => None,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::AlreadyExists(what) => ServiceError::AlreadyExists(what),
            StoreError::Conflict(Conflict::OfferClosed(o)) => ServiceError::OfferClosed(o),
            StoreError::Conflict(Conflict::OfferNotYours) => ServiceError::Forbidden,
            StoreError::Conflict(Conflict::StaleProfile) => ServiceError::StaleProfile,
            StoreError::Conflict(Conflict::RequestState(s)) => ServiceError::InvalidState(s),
            StoreError::Conflict(Conflict::InterpreterInSession(r)) => {
                ServiceError::InterpreterInSession(r)
            }
            other => ServiceError::Store(other),
        }
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// A new interpreter, as a coordinator describes it (already parsed).
#[derive(Debug, Clone)]
pub struct NewInterpreter {
    pub id: InterpreterId,
    pub name: String,
    pub phone: PhoneNumber,
    pub languages: Vec<LanguageSkill>,
    pub availability: Availability,
    pub schedule: Option<crate::domain::schedule::Schedule>,
    pub certification: Option<String>,
}

/// Where a waiting request stands, for the operator's status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueInfo {
    /// 1-based place among waiting requests of the same language.
    pub position: usize,
    /// Interpreters of the language who are on call (available, in a session or not).
    pub on_call: usize,
    /// Offers open right now.
    pub open_offers: usize,
}

pub struct Service {
    pub store: Arc<dyn Store>,
    pub catalogue: Catalogue,
    pub prompts: Prompts,
    pub lid: crate::logic::lid::Model,
    pub clock: Clock,
    /// The routing policy from configuration; the widening tiers come from `routing`.
    base_policy: Policy,
    /// The widening search as coordinators last set it (file at start, then the API).
    routing: std::sync::RwLock<Arc<Routing>>,
    pub rules: Rules,
    /// The hotline's time zone, for the coverage grid.
    pub time_zone: jiff::tz::TimeZone,
    pub gap_alert_hours: u32,
    alert_webhook: Option<String>,
    /// WhatsApp Cloud API settings, if the deployment has them.
    pub whatsapp: Option<crate::adapters::whatsapp::WhatsAppConfig>,
    /// Seals chat texts and callers' numbers for the store (with WhatsApp on).
    pub sealer: Option<crate::domain::chat::Sealer>,
    /// Writes to chat callers (WhatsApp, with an access token and a phone number id).
    pub chat_out: Option<Arc<dyn crate::adapters::bridge::ChatBridge>>,
    /// Asterisk ARI settings, if calls are bridged by the PBX.
    pub ari: Option<crate::adapters::bridge::ari::AriConfig>,
    pub bus: Bus,
    wake: Notify,
    /// Interpreters changed (a schedule may have): the scheduler reads them again.
    roster_wake: Notify,
    /// The store publishes every change to every instance itself (Redis); otherwise this
    /// service hands changes to its own live streams.
    store_publishes: bool,
    /// Set when the server stops, so that endless responses (event streams) end too.
    stopping: tokio::sync::watch::Sender<bool>,
    static_tokens: HashMap<TokenHash, Principal>,
    /// What one client may hold of the HTTP server.
    pub limits: crate::setup::config::HttpLimits,
    /// Failed authentications per client address.
    pub throttle: auth::FailureThrottle,
    /// This process, as the holder of callers' calls (a new id at every start).
    pub instance: String,
    /// How long this instance's hold on its calls lasts without renewal.
    pub call_lease: std::time::Duration,
    /// Live event streams open per token.
    streams: std::sync::Mutex<HashMap<TokenHash, usize>>,
}

/// One live stream counted against its token's limit, until dropped.
pub struct StreamSlot {
    service: Arc<Service>,
    token: TokenHash,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.service.lock_streams();
        if let Some(n) = open.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}

impl Service {
    pub fn new(config: &Config, store: Arc<dyn Store>, clock: Clock) -> Service {
        let mut static_tokens = HashMap::new();
        let tagged = |ts: &[SecretString], role: Role| {
            ts.iter()
                .filter_map(|t| {
                    Some((
                        TokenHash::of(t.expose_secret()),
                        Principal::configured(role)?,
                    ))
                })
                .collect::<Vec<_>>()
        };
        static_tokens.extend(tagged(&config.operator_tokens, Role::Operator));
        static_tokens.extend(tagged(&config.coordinator_tokens, Role::Coordinator));
        let (bus, _) = broadcast::channel(1024);
        Service {
            store,
            catalogue: Catalogue::embedded(),
            prompts: Prompts::embedded(),
            lid: crate::logic::lid::Model::embedded(),
            clock,
            routing: std::sync::RwLock::new(config.policy.routing.clone()),
            base_policy: config.policy.clone(),
            rules: config.rules,
            time_zone: jiff::tz::TimeZone::get(&config.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            gap_alert_hours: config.gap_alert_hours,
            alert_webhook: config.alert_webhook.clone(),
            whatsapp: config.whatsapp.clone(),
            sealer: config
                .whatsapp
                .as_ref()
                .map(|w| crate::domain::chat::Sealer::from_secret(&w.app_secret)),
            chat_out: config
                .whatsapp
                .as_ref()
                .and_then(crate::adapters::whatsapp::Sender::new)
                .map(|s| Arc::new(s) as Arc<dyn crate::adapters::bridge::ChatBridge>),
            ari: config.ari.clone(),
            bus,
            wake: Notify::new(),
            roster_wake: Notify::new(),
            store_publishes: false,
            stopping: tokio::sync::watch::Sender::new(false),
            static_tokens,
            limits: config.limits,
            throttle: auth::FailureThrottle::new(config.limits.auth_failures_per_minute),
            instance: crate::domain::ids::random_hex(8),
            call_lease: config.call_lease,
            streams: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Readiness: the store answers.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// The routing policy now: configuration plus the current widening search.
    pub fn policy(&self) -> Policy {
        let mut p = self.base_policy.clone();
        p.routing = self.routing();
        p
    }

    pub fn routing(&self) -> Arc<Routing> {
        self.routing
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Use `routing` from now on (already checked against the catalogue).
    pub fn use_routing(&self, routing: Routing) {
        *self
            .routing
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(routing);
        self.wake_dispatcher();
    }

    /// Wait until something may have made matching possible.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// Tell long-lived responses that the server is stopping.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolve once the server is stopping.
    pub async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Ask the dispatcher to look again.
    pub fn wake_dispatcher(&self) {
        self.wake.notify_one();
    }

    /// Publish a change (to every instance) and wake the dispatcher.
    pub fn publish(&self, change: Change) {
        self.share(change, true);
    }

    /// Publish a change without waking this instance's dispatcher (which made it).
    pub fn announce(&self, change: Change) {
        self.share(change, false);
    }

    fn share(&self, change: Change, wake: bool) {
        if change.is_empty() {
            return;
        }
        let nothing_waits = change.nothing_waits;
        // Logged once, by the instance that made the change.
        for r in &change.requests {
            tracing::info!(request_id = %r.id, state = r.state.as_str(), "request changed");
        }
        for o in &change.offers {
            tracing::info!(offer_id = %o.id, request_id = %o.request, interpreter_id = %o.interpreter, outcome = ?o.outcome, "offer changed");
        }
        for (i, reason) in &change.interpreters {
            tracing::info!(interpreter_id = %i.id, status = ?i.status(), ?reason, "interpreter changed");
        }
        // With Redis the change comes back through the subscription, here and everywhere.
        if !self.store_publishes {
            self.deliver(change);
        }
        // The instance that made a change matches on it at once; others only as a backup.
        if wake && !nothing_waits {
            self.wake_dispatcher();
        }
    }

    /// Wait until an interpreter changes (for the scheduler).
    pub async fn roster_changed(&self) {
        self.roster_wake.notified().await
    }

    /// Set an availability because a schedule boundary passed (an event with reason
    /// `schedule`).
    pub async fn follow_schedule(
        &self,
        id: &InterpreterId,
        availability: Availability,
    ) -> std::result::Result<(), StoreError> {
        match self
            .store
            .set_availability(id, availability, self.now(), Reason::Schedule)
            .await
        {
            Ok(change) => {
                tracing::info!(interpreter_id = %id, ?availability, "on-call schedule");
                self.publish(change);
                Ok(())
            }
            // Removed meanwhile: nothing to follow.
            Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Hand a change to this instance's live streams.
    pub fn deliver(&self, change: Change) {
        if !change.interpreters.is_empty() {
            self.roster_wake.notify_one();
        }
        for r in change.requests {
            let _ = self.bus.send(Arc::new(Notice::Request(r)));
        }
        for o in change.offers {
            let _ = self.bus.send(Arc::new(Notice::Offer(o)));
        }
        for (i, reason) in change.interpreters {
            let _ = self.bus.send(Arc::new(Notice::Interpreter(i, reason)));
        }
        for id in change.removed {
            let _ = self.bus.send(Arc::new(Notice::Removed(id)));
        }
        for m in change.messages {
            let _ = self.bus.send(Arc::new(Notice::Chat(m)));
        }
        for alert in change.alerts {
            let _ = self.bus.send(Arc::new(Notice::Alert(alert)));
        }
        if let Some(routing) = change.routing {
            self.use_routing(routing.clone());
            let _ = self.bus.send(Arc::new(Notice::Routing(routing)));
        }
    }

    /// Replace the widening search (coordinators only); every instance follows.
    pub async fn set_routing(&self, _: &Coordinator, routing: Routing) -> Result<Routing> {
        routing
            .check(&self.catalogue)
            .map_err(|detail| ServiceError::InvalidField {
                field: "routing".into(),
                detail,
            })?;
        let change = self.store.set_routing(&routing).await?;
        tracing::info!("routing changed");
        self.publish(change);
        Ok(routing)
    }

    /// The store publishes changes to every instance (and to this one) itself.
    pub fn set_store_publishes(&mut self) {
        self.store_publishes = true;
    }

    // --- Who is calling -------------------------------------------------------------------

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, usize>> {
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Count a new live stream for `token`; none when it already has as many as allowed.
    pub fn open_stream(self: &Arc<Self>, token: TokenHash) -> Option<StreamSlot> {
        let mut open = self.lock_streams();
        let n = open.entry(token.clone()).or_default();
        if *n >= self.limits.streams_per_token {
            return None;
        }
        *n += 1;
        drop(open);
        Some(StreamSlot {
            service: self.clone(),
            token,
        })
    }

    /// Whether a token still belongs to `who` (a removed interpreter's token does not, nor
    /// the token of an interpreter removed and created again under the same id).
    pub async fn still_valid(&self, token: &TokenHash, who: &Principal) -> Result<bool> {
        if self.static_tokens.get(token) == Some(who) {
            return Ok(true);
        }
        let Principal::Interpreter(me) = who else {
            return Ok(false);
        };
        Ok(self.store.interpreter_for_token(token).await?.as_ref() == Some(me.id()))
    }

    pub async fn authenticate(&self, token: Option<&str>) -> Result<Principal> {
        let token = token.ok_or(ServiceError::Unauthorized)?;
        self.authenticate_hash(&TokenHash::of(token)).await
    }

    pub async fn authenticate_hash(&self, hash: &TokenHash) -> Result<Principal> {
        if let Some(p) = self.static_tokens.get(hash) {
            return Ok(p.clone());
        }
        match self.store.interpreter_for_token(hash).await? {
            Some(id) => Ok(Principal::interpreter(id)),
            None => Err(ServiceError::Unauthorized),
        }
    }

    // --- Roster ---------------------------------------------------------------------------

    /// Add an interpreter; returns it with its new token (shown once, stored hashed).
    pub async fn create_interpreter(
        &self,
        _: &Coordinator,
        new: NewInterpreter,
    ) -> Result<(Interpreter, String)> {
        let token = auth::new_token();
        let it = self.build_interpreter(new);
        self.store
            .insert_interpreter(it.clone(), Some(TokenHash::of(&token)))
            .await?;
        tracing::info!(interpreter_id = %it.id, "interpreter added");
        self.publish(Change {
            interpreters: vec![(it.clone(), Reason::Requested)],
            ..Change::default()
        });
        Ok((it, token))
    }

    /// Add an interpreter from a roster file at start (token optional, given hashed).
    pub async fn load_interpreter(
        &self,
        new: NewInterpreter,
        token: Option<TokenHash>,
    ) -> Result<()> {
        let it = self.build_interpreter(new);
        self.store.insert_interpreter(it, token).await?;
        self.wake_dispatcher();
        Ok(())
    }

    /// Skills with their agrupación filled in from the catalogue.
    fn grouped(&self, mut skills: Vec<LanguageSkill>) -> Vec<LanguageSkill> {
        for s in &mut skills {
            s.group = self.catalogue.group_of(&s.tag).cloned();
        }
        skills
    }

    fn build_interpreter(&self, new: NewInterpreter) -> Interpreter {
        let now = self.now();
        // With a schedule, a new interpreter starts as the schedule says.
        let availability = match &new.schedule {
            Some(s) if s.on_call_at(now) => Availability::Available,
            Some(_) => Availability::Offline,
            None => new.availability,
        };
        Interpreter {
            id: new.id,
            name: new.name,
            phone: new.phone,
            languages: self.grouped(new.languages),
            availability,
            session: None,
            idle_since: now,
            ready_at: None,
            missed_in_row: 0,
            created_at: now,
            schedule: new.schedule,
            certification: new.certification,
            revision: 1,
        }
    }

    pub async fn interpreter(&self, who: &ForInterpreter) -> Result<Interpreter> {
        let id = who.id();
        self.store
            .interpreter(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))
    }

    pub async fn interpreters(&self, _: &Coordinator) -> Result<Vec<Interpreter>> {
        Ok(self.store.interpreters().await?)
    }

    /// Replace an interpreter's profile (coordinators only); with `expected`, only if the
    /// profile is still at that revision (else [`ServiceError::StaleProfile`]).
    pub async fn update_interpreter(
        &self,
        _: &Coordinator,
        id: &InterpreterId,
        mut profile: Profile,
        expected: Option<u64>,
    ) -> Result<Interpreter> {
        profile.languages = self.grouped(profile.languages);
        let change = self
            .store
            .update_interpreter(id, profile, expected, self.now())
            .await?;
        tracing::info!(interpreter_id = %id, "interpreter updated");
        let it = change.interpreters.first().map(|(it, _)| it.clone());
        self.publish(change);
        it.ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))
    }

    /// Interpreters on call per language and hour for the next `days` days, with the gaps
    /// of languages in demand (coordinators).
    pub async fn schedule_grid(
        &self,
        _: &Coordinator,
        days: u32,
    ) -> Result<crate::logic::coverage::Grid> {
        Ok(self.grid(days as usize * 24).await?)
    }

    /// The coverage grid for the next `hours` hours from the store as it is now.
    pub async fn grid(
        &self,
        hours: usize,
    ) -> std::result::Result<crate::logic::coverage::Grid, StoreError> {
        let interpreters = self.store.interpreters().await?;
        let requests = self.store.requests(None).await?;
        Ok(crate::logic::coverage::schedule_grid(
            &interpreters,
            &requests,
            self.now(),
            &self.time_zone,
            hours,
        ))
    }

    /// Tell coordinators (every instance's live streams, and the webhook if configured).
    pub async fn alert(
        &self,
        alert: crate::domain::alert::Alert,
    ) -> std::result::Result<(), StoreError> {
        tracing::warn!(kind = alert.kind(), "alert to coordinators");
        let change = self.store.broadcast_alert(&alert).await?;
        self.publish(change);
        if let Some(url) = self.alert_webhook.clone() {
            let body = serde_json::to_string(&alert).unwrap_or_default();
            tokio::spawn(async move {
                match crate::adapters::alerts::post_json(&url, &body).await {
                    Ok(status) if (200..300).contains(&status) => {}
                    Ok(status) => tracing::warn!(status, "alert webhook refused the alert"),
                    Err(e) => tracing::warn!(error = %e, "alert webhook unreachable"),
                }
            });
        }
        Ok(())
    }

    /// Add time off to an interpreter's schedule (the interpreter, or a coordinator): a
    /// dated "off" exception, in the schedule's time zone. Without a schedule, one is made
    /// (default time zone, no windows).
    pub async fn add_time_off(
        &self,
        who: &ForInterpreter,
        from: jiff::civil::DateTime,
        to: jiff::civil::DateTime,
    ) -> Result<Interpreter> {
        let id = who.id();
        let it = self
            .store
            .interpreter(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))?;
        let off = crate::domain::schedule::Exception {
            kind: crate::domain::schedule::ExceptionKind::Off,
            from,
            to,
        };
        // Checked against the schedule as read; the store appends in one step, so time off
        // or a profile edit that lands meanwhile is kept.
        let mut schedule = it
            .schedule
            .clone()
            .unwrap_or_else(crate::domain::schedule::Schedule::time_off_only);
        schedule.exceptions.push(off.clone());
        schedule.check().map_err(|e| ServiceError::InvalidField {
            field: "to".into(),
            detail: e.0,
        })?;
        // Time off that covers now acts now: there is no boundary left to cross.
        let now = self.now();
        let covers_now = jiff::tz::TimeZone::get(&schedule.time_zone).is_ok_and(|tz| {
            let instant =
                |dt: jiff::civil::DateTime| dt.to_zoned(tz.clone()).map(|z| z.timestamp());
            matches!((instant(from), instant(to)), (Ok(f), Ok(t)) if f <= now && now < t)
        });
        let change = self.store.add_time_off(id, off, now).await?;
        tracing::info!(interpreter_id = %id, "time off added");
        let updated = change.interpreters.first().map(|(it, _)| it.clone());
        self.publish(change);
        let mut updated =
            updated.ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))?;
        if covers_now && updated.availability == Availability::Available {
            self.follow_schedule(id, Availability::Offline).await?;
            updated.availability = Availability::Offline;
        }
        Ok(updated)
    }

    /// Supply and demand per language, for coordinators.
    pub async fn coverage(&self, _: &Coordinator) -> Result<Vec<LanguageCoverage>> {
        let interpreters = self.store.interpreters().await?;
        let requests = self.store.requests(None).await?;
        Ok(crate::logic::coverage::coverage(
            &interpreters,
            &requests,
            self.now(),
        ))
    }

    pub async fn remove_interpreter(&self, _: &Coordinator, id: &InterpreterId) -> Result<()> {
        let change = self.store.remove_interpreter(id, self.now()).await?;
        tracing::info!(interpreter_id = %id, "interpreter removed");
        self.publish(change);
        Ok(())
    }

    pub async fn set_availability(
        &self,
        who: &ForInterpreter,
        availability: Availability,
    ) -> Result<Interpreter> {
        let id = who.id();
        let change = self
            .store
            .set_availability(id, availability, self.now(), Reason::Requested)
            .await?;
        self.publish(change);
        self.store
            .interpreter(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))
    }

    pub async fn open_offers(&self, who: &ForInterpreter) -> Result<Vec<Offer>> {
        let id = who.id();
        if self.store.interpreter(id).await?.is_none() {
            return Err(ServiceError::NotFound(format!("interpreter {id}")));
        }
        let now = self.now();
        let mut offers = self.store.offers_for(id, true).await?;
        // An offer past its deadline is closed even if the dispatcher has not got to it yet.
        offers.retain(|o| o.deadline > now);
        Ok(offers)
    }

    // --- Offers ---------------------------------------------------------------------------

    async fn own_offer(&self, me: &Me, id: &OfferId) -> Result<(Offer, InterpreterId)> {
        let me = me.id();
        let offer = self
            .store
            .offer(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("offer {id}")))?;
        if &offer.interpreter != me {
            return Err(ServiceError::Forbidden);
        }
        Ok((offer, me.clone()))
    }

    pub async fn accept_offer(&self, who: &Me, id: &OfferId) -> Result<Request> {
        let (offer, me) = self.own_offer(who, id).await?;
        let change = self.store.accept_offer(id, &me, self.now()).await?;
        let req = self.publish_and_read(change, &offer.request).await?;
        if req.channel == Channel::Chat {
            self.tell_caller(&req, "chat-interpreter-joined").await;
        }
        Ok(req)
    }

    pub async fn decline_offer(&self, who: &Me, id: &OfferId) -> Result<Offer> {
        let (offer, _) = self.own_offer(who, id).await?;
        if offer.outcome == Some(Outcome::Declined) {
            return Ok(offer); // Declining twice is harmless.
        }
        let change = self
            .store
            .close_offer(id, Outcome::Declined, self.now(), &self.rules)
            .await?;
        let closed = change.offers.iter().find(|o| &o.id == id).cloned();
        self.publish(change);
        Ok(closed.unwrap_or(offer))
    }

    /// An offer's phone rang out (a telephone bridge): the offer lapses as if its deadline
    /// had passed.
    pub async fn lapse_offer(&self, id: &OfferId) -> Result<()> {
        let change = self
            .store
            .close_offer(id, Outcome::Expired, self.now(), &self.rules)
            .await?;
        self.publish(change);
        Ok(())
    }

    // --- Requests -------------------------------------------------------------------------

    /// Resolve what an operator typed to exactly one language tag.
    pub fn resolve_language(&self, query: &str) -> Result<LanguageTag> {
        match self.catalogue.resolve(query) {
            Resolution::Found(c) => Ok(c.language.tag.clone()),
            Resolution::Ambiguous(cs) => Err(ServiceError::AmbiguousLanguage {
                query: query.to_string(),
                candidates: cs.into_iter().map(|c| c.language.tag.clone()).collect(),
            }),
            Resolution::Unknown => Err(ServiceError::UnknownLanguage(query.to_string())),
        }
    }

    /// Detect the language of a caller's text. The text is neither stored nor logged.
    pub fn detect(&self, text: &str) -> Result<crate::logic::lid::Detection> {
        self.lid.detect(text).ok_or(ServiceError::NoLetters)
    }

    /// The language a request is for: what the operator named, or what the caller wrote
    /// when the detector is confident (otherwise the operator must choose).
    pub fn request_language(
        &self,
        language: Option<&str>,
        text: Option<&str>,
    ) -> Result<LanguageTag> {
        if let Some(l) = language {
            return self.resolve_language(l);
        }
        let text = text.ok_or_else(|| ServiceError::InvalidField {
            field: "language".into(),
            detail: "say which language the caller speaks (for example `tsotsil` or `tzo`), or send the caller's `text`".into(),
        })?;
        let d = self.detect(text)?;
        match d.language {
            Some(tag) if crate::logic::lid::is_contact_language(&tag) => {
                Err(ServiceError::NoInterpreterNeeded(tag))
            }
            Some(tag) => Ok(tag),
            None => Err(ServiceError::UncertainText(
                d.candidates.into_iter().map(|c| c.tag).collect(),
            )),
        }
    }

    pub async fn create_request(
        &self,
        who: &Operator,
        language: &str,
        priority: Priority,
        channel: Channel,
    ) -> Result<Request> {
        let tag = self.resolve_language(language)?;
        Ok(self
            .create_request_for(who, tag, priority, channel)
            .await?
            .0)
    }

    pub async fn create_request_for(
        &self,
        who: &Operator,
        tag: LanguageTag,
        priority: Priority,
        channel: Channel,
    ) -> Result<(Request, crate::adapters::store::Placement)> {
        let mut req = Request::new(tag, priority, channel, self.now());
        req.group = self.catalogue.group_of(&req.language).cloned();
        self.queue(who, req).await
    }

    /// Queue a new request (made with its `group`).
    pub(crate) async fn queue(
        &self,
        _: &Operator,
        req: Request,
    ) -> Result<(Request, crate::adapters::store::Placement)> {
        let placement = self.store.insert_request(req.clone()).await?;
        self.publish(Change {
            requests: vec![req.clone()],
            ..Change::default()
        });
        Ok((req, placement))
    }

    async fn request_by_id(&self, id: &RequestId) -> Result<Request> {
        self.store
            .request(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("request {id}")))
    }

    pub async fn request(&self, who: &Principal, id: &RequestId) -> Result<Request> {
        let req = self.request_by_id(id).await?;
        auth::may_read_request(who, &req)?;
        Ok(req)
    }

    pub async fn requests(&self, _: &Staff, state: Option<RequestState>) -> Result<Vec<Request>> {
        Ok(self.store.requests(state).await?)
    }

    pub async fn cancel_request(&self, _: &Operator, id: &RequestId) -> Result<Request> {
        self.finish(id, Finish::Cancel).await
    }

    /// The manual bridge's outcome (operators): the interpreter is on the call, or could
    /// not be joined and the request waits again.
    pub async fn bridge(&self, _: &Operator, id: &RequestId, connected: bool) -> Result<Request> {
        let req = self.request_by_id(id).await?;
        let change = self.store.bridge(&req, connected, self.now()).await?;
        tracing::info!(request_id = %id, connected, "manual bridge");
        self.publish_and_read(change, id).await
    }

    pub async fn complete_request(&self, who: &Principal, id: &RequestId) -> Result<Request> {
        let req = self.request_by_id(id).await?;
        auth::may_complete_request(who, &req)?;
        self.finish(id, Finish::Complete).await
    }

    async fn finish(&self, id: &RequestId, how: Finish) -> Result<Request> {
        let change = self
            .store
            .finish_request(id, how, self.now(), &self.rules)
            .await?;
        self.publish_and_read(change, id).await
    }

    /// Publish a change and return request `id` as it left it (read again only when the
    /// change does not carry it: one round trip fewer on every finish).
    async fn publish_and_read(&self, change: Change, id: &RequestId) -> Result<Request> {
        let req = change.requests.iter().rev().find(|r| &r.id == id).cloned();
        self.publish(change);
        match req {
            Some(r) => Ok(r),
            None => self.request_by_id(id).await,
        }
    }

    // --- Calls held by a telephone bridge ----------------------------------------------

    /// Queue a caller's telephone call, held by this instance's bridge under its lease.
    pub async fn queue_call(&self, tag: LanguageTag, priority: Priority) -> Result<Request> {
        let mut req = Request::new(tag, priority, Channel::Phone, self.now());
        req.group = self.catalogue.group_of(&req.language).cloned();
        req.held_by = Some(self.instance.clone());
        Ok(self.queue(&Operator::system(), req).await?.0)
    }

    /// Renew this instance's hold on its calls.
    pub async fn renew_lease(&self) -> std::result::Result<(), StoreError> {
        self.store
            .renew_lease(&self.instance, self.now(), self.call_lease)
            .await
    }

    /// Give up this instance's hold on its calls (it is stopping; they are gone).
    pub async fn drop_lease(&self) -> std::result::Result<(), StoreError> {
        self.store.drop_lease(&self.instance).await
    }

    /// Finish every request whose call was held by an instance whose lease lapsed: the
    /// instance died with the call, so nobody is on it any more. A connected request is
    /// completed and its interpreter freed, a waiting one cancelled, both with the reason
    /// `bridge_lost`. Any instance may do it, and several at once: finishing is
    /// idempotent.
    pub async fn settle_lapsed_calls(&self) -> std::result::Result<usize, StoreError> {
        let lapsed = self.store.lapsed_calls(self.now()).await?;
        let mut settled = 0;
        for id in lapsed {
            match self
                .store
                .finish_request(&id, Finish::Lost, self.now(), &self.rules)
                .await
            {
                Ok(change) => {
                    if !change.is_empty() {
                        tracing::warn!(request_id = %id, "the call was lost with the instance that held it; request finished");
                        settled += 1;
                    }
                    self.publish(change);
                }
                Err(StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(settled)
    }

    /// Queue position, on-call count and open offers of every waiting request.
    pub async fn queue_info(&self) -> Result<HashMap<RequestId, QueueInfo>> {
        // The snapshot lists waiting requests in serving order (urgent, then oldest).
        let snap = self
            .store
            .snapshot(crate::adapters::store::Scope::Requests, &self.routing())
            .await?;
        let mut on_call: HashMap<&LanguageTag, usize> = HashMap::new();
        let mut positions: HashMap<&LanguageTag, usize> = HashMap::new();
        let mut out = HashMap::new();
        for r in snap.requests() {
            if !on_call.contains_key(&r.language) {
                on_call.insert(
                    &r.language,
                    self.store.on_call(&r.language, r.group.as_ref()).await?,
                );
            }
            let pos = positions.entry(&r.language).or_default();
            *pos += 1;
            out.insert(
                r.id.clone(),
                QueueInfo {
                    position: *pos,
                    on_call: on_call[&r.language],
                    open_offers: r.attempts.iter().filter(|a| a.open).count(),
                },
            );
        }
        Ok(out)
    }
}

impl From<auth::Forbidden> for ServiceError {
    fn from(_: auth::Forbidden) -> ServiceError {
        ServiceError::Forbidden
    }
}

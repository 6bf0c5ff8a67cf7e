//! The service: what users can do, in domain terms, for the HTTP layer and the dispatcher.
//!
//! Each operation checks who may do it, runs one store transition, publishes what changed
//! on the [`Bus`], and wakes the dispatcher when matching could now do something. This is
//! the only place that combines the store, the bus and the dispatcher; it knows nothing
//! about HTTP.
//!
//! The store is private to this module: the service's own parts, one file each, are the
//! only code that reads or changes it. `access`: tokens and live streams; `roster`:
//! interpreters; `requests`: requests and offers; [`chat`]: WhatsApp conversations;
//! `coverage`: supply, demand and alerts; `calls`: calls a telephone bridge holds;
//! and the two loops, the [`dispatch`]er and the [`scheduler`].

mod access;
mod calls;
pub mod chat;
mod coverage;
pub mod dispatch;
mod requests;
mod roster;
pub mod scheduler;

pub use access::StreamSlot;

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{broadcast, Notify};

use crate::adapters::store::{Change, Conflict, Focus, Reason, Rules, Store, StoreError};
use crate::app::auth::{self, Coordinator, Principal, Role};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::RequestId;
use crate::domain::ids::TokenHash;
use crate::domain::language::{Catalogue, LanguageTag};
use crate::domain::named::Named;
use crate::domain::offer::Offer;
use crate::domain::request::{Request, RequestState};
use crate::domain::roster::{Availability, Interpreter, LanguageSkill, PhoneNumber};
use crate::logic::matcher::{OfferMode, Policy};
use crate::logic::prompts::{Locale, Prompts};
use crate::logic::routing::Routing;

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
#[derive(Debug)]
pub enum Notice {
    Request(RequestNotice),
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

/// A request as a change left it, with where it stood (from the transition), and its view
/// for staff rendered once per locale, whatever the number of streams that show it.
#[derive(Debug)]
pub struct RequestNotice {
    pub request: Request,
    pub place: Option<QueueInfo>,
    views: std::sync::Mutex<Vec<(Locale, Arc<tokio::sync::OnceCell<serde_json::Value>>)>>,
}

impl RequestNotice {
    pub fn new(request: Request, place: Option<QueueInfo>) -> RequestNotice {
        RequestNotice {
            request,
            place,
            views: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The staff view in `locale`: made by `render` for the first stream that asks, the
    /// others wait for it and share it.
    pub async fn staff_view<F>(&self, locale: Locale, render: F) -> serde_json::Value
    where
        F: std::future::Future<Output = serde_json::Value>,
    {
        let cell = {
            let mut views = self
                .views
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match views.iter().find(|(l, _)| *l == locale) {
                Some((_, c)) => c.clone(),
                None => {
                    let c = Arc::new(tokio::sync::OnceCell::new());
                    views.push((locale, c.clone()));
                    c
                }
            }
        };
        cell.get_or_init(|| render).await.clone()
    }
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

pub use crate::adapters::store::QueueInfo;

/// Limits on what one token or one address may hold of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessLimits {
    /// Live event streams per token at most.
    pub streams_per_token: usize,
    /// Failed authentications per client address and minute before `429`.
    pub auth_failures_per_minute: u32,
}

impl Default for AccessLimits {
    fn default() -> AccessLimits {
        AccessLimits {
            streams_per_token: 20,
            auth_failures_per_minute: 20,
        }
    }
}

/// What a service is made of. Start-up assembles it from the configuration (which the
/// service never reads) and the adapters it built.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub policy: Policy,
    pub rules: Rules,
    /// The hotline's time zone, for the coverage grid.
    pub time_zone: jiff::tz::TimeZone,
    /// How far ahead a coverage gap is announced.
    pub gap_alert_hours: u32,
    /// Where alerts are also POSTed, if anywhere.
    pub alert_webhook: Option<crate::adapters::alerts::Webhook>,
    /// Operators' and coordinators' tokens, hashed.
    pub staff_tokens: Vec<(TokenHash, Role)>,
    pub limits: AccessLimits,
    /// How long this instance's hold on its calls lasts without renewal.
    pub call_lease: std::time::Duration,
    /// How long finished requests stay in the store.
    pub retention: jiff::SignedDuration,
    /// WhatsApp, when the deployment has it.
    pub chat: Option<ChatParts>,
}

/// What the chat relay needs: WhatsApp's settings, the sealer of what is stored, and the
/// way to write to callers (none without an access token).
pub struct ChatParts {
    pub whatsapp: crate::adapters::whatsapp::WhatsAppConfig,
    pub sealer: crate::domain::chat::Sealer,
    pub out: Option<Arc<dyn crate::adapters::bridge::ChatBridge>>,
}

pub struct Service {
    store: Arc<dyn Store>,
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
    alert_webhook: Option<crate::adapters::alerts::Webhook>,
    /// WhatsApp Cloud API settings, if the deployment has them.
    pub whatsapp: Option<crate::adapters::whatsapp::WhatsAppConfig>,
    /// Seals chat texts and callers' numbers for the store (with WhatsApp on).
    pub sealer: Option<crate::domain::chat::Sealer>,
    /// Writes to chat callers (WhatsApp, with an access token and a phone number id).
    pub chat_out: Option<Arc<dyn crate::adapters::bridge::ChatBridge>>,
    pub bus: Bus,
    wake: Notify,
    /// What the dispatcher is to look at next.
    work: std::sync::Mutex<dispatch::Work>,
    /// Interpreters changed (a schedule may have): the scheduler reads them again.
    roster_wake: Notify,
    /// The store publishes every change to every instance itself (Redis); otherwise this
    /// service hands changes to its own live streams.
    store_publishes: bool,
    /// Set when the server stops, so that endless responses (event streams) end too.
    stopping: tokio::sync::watch::Sender<bool>,
    static_tokens: HashMap<TokenHash, Principal>,
    /// What one token or address may hold.
    pub limits: AccessLimits,
    /// Failed authentications per client address.
    pub throttle: auth::FailureThrottle,
    /// This process, as the holder of callers' calls (a new id at every start).
    pub instance: String,
    /// How long this instance's hold on its calls lasts without renewal.
    pub call_lease: std::time::Duration,
    /// How long finished requests stay in the store.
    pub retention: jiff::SignedDuration,
    /// Live event streams open per token.
    streams: std::sync::Mutex<HashMap<TokenHash, usize>>,
    /// Demand per language against the roster, from every change seen.
    demand: std::sync::Mutex<crate::logic::demand::Demand>,
}

impl Service {
    pub fn new(parts: Parts) -> Service {
        let started = parts.clock.now();
        let static_tokens = parts
            .staff_tokens
            .into_iter()
            .filter_map(|(hash, role)| Some((hash, Principal::configured(role)?)))
            .collect();
        let (whatsapp, sealer, chat_out) = match parts.chat {
            Some(c) => (Some(c.whatsapp), Some(c.sealer), c.out),
            None => (None, None, None),
        };
        let (bus, _) = broadcast::channel(1024);
        Service {
            store: parts.store,
            catalogue: Catalogue::embedded(),
            prompts: Prompts::embedded(),
            lid: crate::logic::lid::Model::embedded(),
            clock: parts.clock,
            routing: std::sync::RwLock::new(parts.policy.routing.clone()),
            base_policy: parts.policy,
            rules: parts.rules,
            time_zone: parts.time_zone,
            gap_alert_hours: parts.gap_alert_hours,
            alert_webhook: parts.alert_webhook,
            whatsapp,
            sealer,
            chat_out,
            bus,
            wake: Notify::new(),
            work: std::sync::Mutex::default(),
            roster_wake: Notify::new(),
            store_publishes: false,
            stopping: tokio::sync::watch::Sender::new(false),
            static_tokens,
            limits: parts.limits,
            throttle: auth::FailureThrottle::new(parts.limits.auth_failures_per_minute),
            instance: crate::domain::ids::random_hex(8),
            call_lease: parts.call_lease,
            retention: parts.retention,
            streams: std::sync::Mutex::new(HashMap::new()),
            demand: std::sync::Mutex::new(crate::logic::demand::Demand::new(started)),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// How long the request at `position` of `language`'s queue may still wait, where
    /// recent connections say (see [`crate::logic::demand`]).
    pub fn wait_estimate(&self, language: &LanguageTag, position: usize) -> Option<SignedDuration> {
        let demand = self.demand.lock().unwrap_or_else(|p| p.into_inner());
        demand.estimate(language, position, self.now())
    }

    /// Demand against the roster now, for each language with a request waiting.
    pub fn loads(&self) -> Vec<(LanguageTag, crate::logic::demand::Load)> {
        let now = self.now();
        let demand = self.demand.lock().unwrap_or_else(|p| p.into_inner());
        demand
            .waiting_languages()
            .into_iter()
            .filter_map(|l| Some((l.clone(), demand.load(&l, now)?)))
            .collect()
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
        self.look_at(Focus::everything());
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

    fn work(&self) -> std::sync::MutexGuard<'_, dispatch::Work> {
        self.work
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ask the dispatcher to look at `focus` now.
    pub fn look_at(&self, focus: Focus) {
        if focus.is_empty() {
            return;
        }
        self.work().add(focus);
        self.wake.notify_one();
    }

    /// Ask the dispatcher to look at `focus` after [`dispatch::BACKUP_DELAY`]: another
    /// instance's change, which that instance decides on first.
    pub fn look_at_later(&self, focus: Focus) {
        self.work().add_later(focus);
        self.wake.notify_one();
    }

    /// Ask the dispatcher to look at every waiting request again.
    pub fn wake_dispatcher(&self) {
        self.look_at(Focus::everything());
    }

    /// What the dispatcher is to look at now (taken), and when the delayed part is due.
    pub(crate) fn take_work(&self) -> (Focus, Option<tokio::time::Instant>) {
        self.work().take()
    }

    /// What matching may do after `change` (the policy says whether offered requests may
    /// be offered to more).
    pub fn focus_of(&self, change: &Change) -> Focus {
        Focus::of_change(change, self.base_policy.mode == OfferMode::Parallel)
    }

    /// Publish a change (to every instance), and have this instance's dispatcher look at
    /// what it may enable.
    pub fn publish(&self, change: Change) {
        if change.is_empty() {
            return;
        }
        let nothing_waits = change.nothing_waits;
        let focus = match nothing_waits {
            true => Focus::default(),
            false => self.focus_of(&change),
        };
        // Logged once, by the instance that made the change.
        for r in &change.requests {
            tracing::info!(request_id = %r.id, state = r.state.name(), "request changed");
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
        self.look_at(focus);
    }

    /// Wait until an interpreter changes (for the scheduler).
    pub async fn roster_changed(&self) {
        self.roster_wake.notified().await
    }

    /// Hand a change to this instance's live streams.
    pub fn deliver(&self, change: Change) {
        if !change.interpreters.is_empty() {
            self.roster_wake.notify_one();
        }
        {
            let now = self.now();
            let mut demand = self.demand.lock().unwrap_or_else(|p| p.into_inner());
            for r in &change.requests {
                demand.observe(r, now);
            }
        }
        for r in change.requests {
            let place = change.places.iter().rev().find(|(id, _)| id == &r.id);
            let notice = RequestNotice::new(r, place.map(|(_, q)| *q));
            let _ = self.bus.send(Arc::new(Notice::Request(notice)));
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

    /// The widening search at start: `from_file` wins (and is stored, so every instance
    /// follows); without it, what coordinators last set; else the configured one.
    pub async fn load_routing(
        &self,
        from_file: Option<Routing>,
    ) -> std::result::Result<(), StoreError> {
        match from_file {
            Some(routing) => {
                let change = self.store.set_routing(&routing).await?;
                self.use_routing(routing);
                self.publish(change);
            }
            None => {
                if let Some(stored) = self.store.routing().await? {
                    self.use_routing(stored);
                }
            }
        }
        Ok(())
    }

    /// The store publishes changes to every instance (and to this one) itself.
    pub fn set_store_publishes(&mut self) {
        self.store_publishes = true;
    }
}

impl From<auth::Forbidden> for ServiceError {
    fn from(_: auth::Forbidden) -> ServiceError {
        ServiceError::Forbidden
    }
}

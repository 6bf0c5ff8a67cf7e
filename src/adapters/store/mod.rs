//! The store: where the roster, requests and offers live, behind one [`Store`] trait.
//!
//! Every method that changes state is one atomic transition that re-checks its
//! preconditions (the shape a Redis Lua script can implement): "claim this interpreter and
//! open this offer" ([`Store::open_offer`]) and "accept this offer and connect the request"
//! ([`Store::accept_offer`]) either happen whole or not at all. Each transition returns a
//! [`Change`] listing what it changed, so callers can publish events without re-reading.
//!
//! Backends: [`memory::MemoryStore`] (the embedded default). Both backends must pass
//! `tests/store_conformance.rs`.

pub mod listing;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::ids::TokenHash;
use crate::domain::language::LanguageTag;
use crate::domain::named::Named;
use crate::domain::offer::{Offer, Outcome};
use crate::domain::request::{Request, RequestState};
use crate::domain::roster::{Availability, Interpreter, Profile};
use crate::logic::matcher::Snapshot;
use crate::logic::routing::Routing;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why a transition did not happen.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The precondition no longer holds (the offer closed, the request moved on…).
    #[error("conflict: {0}")]
    Conflict(Conflict),
    #[error("store backend failed: {0}")]
    Backend(#[source] Failure),
    /// The store did not answer in time, or cannot be reached: nothing was decided here
    /// (though a command sent before a timeout may still apply when the store answers).
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Failure),
}

/// What went wrong in a backend, with the backend's own error as its source when there
/// is one (a Redis error, a JSON error), so that nothing of the cause is lost.
#[derive(Debug, Clone)]
pub struct Failure {
    what: String,
    cause: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl Failure {
    /// A failure the store found itself (a truncated answer, an unknown kind).
    pub fn new(what: impl Into<String>) -> Failure {
        Failure {
            what: what.into(),
            cause: None,
        }
    }

    /// A failure caused by `e`, which stays its source.
    pub fn caused_by(e: impl std::error::Error + Send + Sync + 'static) -> Failure {
        Failure::context(e.to_string(), e)
    }

    /// A failure caused by `e`, said as `what` (which usually quotes `e`).
    pub fn context(
        what: impl Into<String>,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Failure {
        Failure {
            what: what.into(),
            cause: Some(std::sync::Arc::new(e)),
        }
    }
}

// The message includes the cause's own text: logs print errors with `%`, which shows no
// sources.
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Two failures are the same when they say the same (the cause is not comparable).
impl PartialEq for Failure {
    fn eq(&self, other: &Failure) -> bool {
        self.what == other.what
    }
}

/// Which precondition failed, so that the API can say what to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    OfferClosed(Box<Offer>),
    OfferNotYours,
    RequestState(RequestState),
    InterpreterBusy,
    InterpreterInSession(RequestId),
    InterpreterNotFree,
    /// An exclusive offer was asked for a request that already has an open one.
    RequestBusy,
    /// A profile edit was made from a revision that is no longer the current one.
    StaleProfile,
    /// A chat message was numbered for another place: the conversation's next number.
    ChatSeq(u64),
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::OfferClosed(o) => write!(f, "offer {} is closed", o.id),
            Conflict::OfferNotYours => write!(f, "offer belongs to another interpreter"),
            Conflict::RequestState(s) => write!(f, "request is {}", s.name()),
            Conflict::InterpreterBusy => write!(f, "interpreter already holds an open offer"),
            Conflict::InterpreterInSession(r) => write!(f, "interpreter is connected to {r}"),
            Conflict::InterpreterNotFree => write!(f, "interpreter is not available"),
            Conflict::RequestBusy => write!(f, "request already has an open offer"),
            Conflict::StaleProfile => write!(f, "the profile changed since it was read"),
            Conflict::ChatSeq(next) => write!(f, "the conversation's next message is {next}"),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Why an interpreter's availability changed, for the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The interpreter or a coordinator asked for it.
    Requested,
    /// Too many offers in a row were let expire.
    MissedOffers,
    /// An on-call window started or ended (or a dated exception did).
    Schedule,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Requested => "requested",
            Reason::MissedOffers => "missed_offers",
            Reason::Schedule => "schedule",
        }
    }
}

/// The conversation a caller's message joined ([`Store::join_conversation`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub id: RequestId,
    /// A new conversation (the one the caller was in, if any, had ended).
    pub opened: bool,
    /// Its request, once one was made.
    pub request: Option<Request>,
    /// The number the next message takes.
    pub next_seq: u64,
    /// False when a conversation going on had lost its reply address (kept before this
    /// step existed): the caller keeps it again.
    pub has_reply: bool,
}

/// Memo names of a WhatsApp conversation: the one a caller is in, and where to reply.
pub(crate) fn conversation_memo(caller: &str) -> String {
    format!("wa:conv:{caller}")
}

pub(crate) fn reply_memo(id: &RequestId) -> String {
    format!("{REPLY_MEMO}{id}")
}

const REPLY_MEMO: &str = "wa:to:";

/// What one transition changed: the new versions of everything it touched.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub requests: Vec<Request>,
    pub offers: Vec<Offer>,
    pub interpreters: Vec<(Interpreter, Reason)>,
    /// A new routing configuration (every instance starts using it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// Alerts for coordinators (every instance's live streams carry them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::domain::alert::Alert>,
    /// Interpreters taken off the roster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<InterpreterId>,
    /// Chat messages (their text sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<crate::domain::chat::ChatMessage>,
    /// No request was waiting after this change: it gives the dispatchers nothing to do (a
    /// hint; false when unknown).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nothing_waits: bool,
    /// Where each waiting request in `requests` stood after the change, computed by the
    /// transition itself so that no live stream has to ask.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<(RequestId, QueueInfo)>,
}

/// Where a waiting request stands, for the operator's status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueInfo {
    /// 1-based place among waiting requests of the same language.
    pub position: usize,
    /// Interpreters of the language who are on call (available, in a session or not).
    pub on_call: usize,
    /// Offers open right now.
    pub open_offers: usize,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
            && self.offers.is_empty()
            && self.interpreters.is_empty()
            && self.routing.is_none()
            && self.alerts.is_empty()
            && self.removed.is_empty()
            && self.messages.is_empty()
    }

    pub fn merge(&mut self, other: Change) {
        self.requests.extend(other.requests);
        self.offers.extend(other.offers);
        self.interpreters.extend(other.interpreters);
        if other.routing.is_some() {
            self.routing = other.routing;
        }
        self.alerts.extend(other.alerts);
        self.removed.extend(other.removed);
        self.messages.extend(other.messages);
        self.nothing_waits = self.nothing_waits && other.nothing_waits;
        self.places.extend(other.places);
    }

    /// Where request `id` stood after this change (the last place given for it).
    pub fn place(&self, id: &RequestId) -> Option<QueueInfo> {
        self.places
            .iter()
            .rev()
            .find(|(r, _)| r == id)
            .map(|(_, q)| *q)
    }
}

/// What one dispatcher step looks at (see [`Store::snapshot`]): the waiting requests of
/// some languages, and of the languages some interpreters could serve now. Open offers
/// past their deadline are always in a snapshot, whatever its focus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    /// Every language with a request waiting (at start, after a routing change or a
    /// store failure).
    pub everything: bool,
    /// Languages whose waiting requests may now be served (a request was queued).
    pub languages: BTreeSet<LanguageTag>,
    /// The agrupación of some of `languages`, where known (a backend finds the others).
    pub groups: BTreeMap<LanguageTag, LanguageTag>,
    /// Interpreters who may have become free: every language whose requests may reach
    /// them (theirs, the languages listing theirs as intelligible, the other variants of
    /// their agrupaciones).
    pub interpreters: BTreeSet<InterpreterId>,
}

impl Focus {
    pub fn everything() -> Focus {
        Focus {
            everything: true,
            ..Focus::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.everything && self.languages.is_empty() && self.interpreters.is_empty()
    }

    pub fn merge(&mut self, other: Focus) {
        self.everything |= other.everything;
        self.languages.extend(other.languages);
        self.groups.extend(other.groups);
        self.interpreters.extend(other.interpreters);
    }

    /// A focus on one language (of agrupación `group`).
    pub fn language(tag: LanguageTag, group: Option<LanguageTag>) -> Focus {
        let mut focus = Focus::default();
        focus.add_language(tag, group);
        focus
    }

    fn add_language(&mut self, tag: LanguageTag, group: Option<LanguageTag>) {
        if let Some(g) = group {
            self.groups.insert(tag.clone(), g);
        }
        self.languages.insert(tag);
    }

    /// What matching may now do after `change`: requests queued again look for an
    /// interpreter; interpreters free again (a session or an offer ended, they came on
    /// call) look for a request. Under the parallel policy an offered request may still be
    /// offered to more. Opening an offer only takes, so it gives nothing to look at.
    pub fn of_change(change: &Change, parallel: bool) -> Focus {
        let mut focus = Focus {
            everything: change.routing.is_some(),
            ..Focus::default()
        };
        for r in &change.requests {
            if r.state == RequestState::Queued || (parallel && r.state == RequestState::Offered) {
                focus.add_language(r.language.clone(), r.group.clone());
            }
        }
        for o in &change.offers {
            if o.outcome.is_some_and(|x| x != Outcome::Accepted) {
                focus.interpreters.insert(o.interpreter.clone());
            }
        }
        for (it, _) in &change.interpreters {
            if it.availability == Availability::Available && it.session.is_none() {
                focus.interpreters.insert(it.id.clone());
            }
        }
        focus
    }
}

/// Which free interpreters a snapshot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Enough of the best per waiting language for the sequential policy: as many as
    /// there are waiting requests of the language plus everyone they were offered to
    /// (plus one when somebody was asked already: they may not be asked again yet), not
    /// counting those who cannot take an offer now (holding one, in wrap-up). A backend
    /// may give more.
    Best,
    /// Every free interpreter who speaks a waiting language (the parallel policy).
    Everyone,
}

/// How a request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Complete,
    Cancel,
    GiveUp,
    /// The call was lost with the instance that held it: a connected request is
    /// completed, a waiting one cancelled, both with `EndReason::BridgeLost`; a finished
    /// one stays as it is.
    Lost,
}

impl Finish {
    /// The state a request in `from` ends in.
    pub fn state(self, from: RequestState) -> RequestState {
        match self {
            Finish::Complete => RequestState::Completed,
            Finish::Cancel => RequestState::Cancelled,
            Finish::GiveUp => RequestState::Unfilled,
            Finish::Lost if from == RequestState::Connected => RequestState::Completed,
            Finish::Lost if from.is_final() => from,
            Finish::Lost => RequestState::Cancelled,
        }
    }
}

/// Rules the store applies inside transitions, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Offers an interpreter may let expire in a row before being set offline.
    pub max_missed_offers: u32,
    /// Time after a session before the interpreter is offered anything.
    pub wrap_up: jiff::SignedDuration,
}

impl Rules {
    /// When an interpreter whose session ends at `now` may be offered something again
    /// (`None`: at once).
    pub fn ready_at(&self, now: Timestamp) -> Option<Timestamp> {
        (self.wrap_up > jiff::SignedDuration::ZERO).then(|| now + self.wrap_up)
    }
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            max_missed_offers: 3,
            wrap_up: jiff::SignedDuration::ZERO,
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the store answers now (readiness).
    async fn ping(&self) -> Result<()>;

    // Roster.
    async fn insert_interpreter(&self, it: Interpreter, token: Option<TokenHash>) -> Result<()>;
    async fn interpreter(&self, id: &InterpreterId) -> Result<Option<Interpreter>>;
    async fn interpreters(&self) -> Result<Vec<Interpreter>>;
    async fn interpreter_for_token(&self, token: &TokenHash) -> Result<Option<InterpreterId>>;
    /// Replace an interpreter's profile; keeps availability and session. With `expected`,
    /// only if the profile's revision is still that one (`Conflict::StaleProfile`
    /// otherwise); the revision goes up by one. Open offers in a language the interpreter
    /// no longer lists are withdrawn.
    async fn update_interpreter(
        &self,
        id: &InterpreterId,
        profile: Profile,
        expected: Option<u64>,
        now: Timestamp,
    ) -> Result<Change>;
    /// Add time off to an interpreter's schedule in one step (the revision goes up) (a schedule in the default
    /// time zone, without windows, is made when there is none). Nothing else of the
    /// profile is written, so a profile edit or time off added at the same moment is kept.
    async fn add_time_off(
        &self,
        id: &InterpreterId,
        off: crate::domain::schedule::Exception,
        now: Timestamp,
    ) -> Result<Change>;
    /// Remove an interpreter not in a session; withdraws their open offers.
    async fn remove_interpreter(&self, id: &InterpreterId, now: Timestamp) -> Result<Change>;
    /// Going offline withdraws the interpreter's open offers at once.
    async fn set_availability(
        &self,
        id: &InterpreterId,
        availability: Availability,
        now: Timestamp,
        reason: Reason,
    ) -> Result<Change>;

    // Requests.
    /// Queue a new request; answers where it stands (no offer open yet).
    async fn insert_request(&self, req: Request) -> Result<QueueInfo>;
    async fn request(&self, id: &RequestId) -> Result<Option<Request>>;
    /// A page of a listing (see [`listing`]): most recent first.
    async fn requests(&self, listing: &listing::Listing) -> Result<listing::Page>;
    /// Forget up to `max` finished requests created before `before`, with their offers
    /// and conversations (the retention of the history); answers how many went. A request
    /// still going on is never forgotten, however old.
    async fn prune_requests(&self, before: Timestamp, max: usize) -> Result<usize>;
    /// Complete, cancel, give up, or settle a lost call. Repeating the same finish is a
    /// no-op (empty change).
    async fn finish_request(
        &self,
        id: &RequestId,
        how: Finish,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<Change>;

    /// Calls: an instance that holds callers' calls keeps a lease, renewed while it lives.
    async fn renew_lease(
        &self,
        instance: &str,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<()>;
    /// End an instance's lease now (it is stopping): its calls are lost at once.
    async fn drop_lease(&self, instance: &str) -> Result<()>;
    /// Unfinished requests whose call is held by an instance without a live lease.
    async fn lapsed_calls(&self, now: Timestamp) -> Result<Vec<RequestId>>;

    // Offers.
    async fn offer(&self, id: &OfferId) -> Result<Option<Offer>>;
    async fn offers_for(&self, interpreter: &InterpreterId, open_only: bool) -> Result<Vec<Offer>>;
    /// Atomically: the request is still waiting (and, if `exclusive`, has no open offer:
    /// the sequential policy, which several dispatchers must not break by racing), the
    /// interpreter is available, free, and holds no open offer → the offer opens and the
    /// request is `offered`.
    async fn open_offer(&self, offer: Offer, exclusive: bool) -> Result<Change>;
    /// Atomically: the offer is open, belongs to `by`, and its deadline has not passed →
    /// the request is `connected` to `by`, and every other open offer of the request or of
    /// the interpreter is withdrawn.
    async fn accept_offer(
        &self,
        id: &OfferId,
        by: &InterpreterId,
        now: Timestamp,
    ) -> Result<Change>;
    /// Close an open offer as declined or expired. The request goes back to `queued` when it
    /// has no open offer left. An expiry of an offer the interpreter was shown or rung
    /// ([`Store::offer_seen`]) counts as a miss; too many in a row set the interpreter
    /// offline. An expiry of one never shown counts for nothing (an overloaded server, a
    /// client that never got it: not the interpreter's doing).
    async fn close_offer(
        &self,
        id: &OfferId,
        outcome: crate::domain::offer::Outcome,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<Change>;

    /// The interpreter was shown open offer `id` (on their live stream, in their list) or
    /// their phone rang for it. Nothing happens for an offer no longer open.
    async fn offer_seen(&self, id: &OfferId, now: Timestamp) -> Result<()>;

    /// Interpreters on call (available, in a session or not) whom a request for `language`
    /// (in agrupación `group`) may reach at its widest.
    async fn on_call(
        &self,
        language: &crate::domain::language::LanguageTag,
        group: Option<&crate::domain::language::LanguageTag>,
    ) -> Result<usize>;

    /// What the matcher needs to decide on what `focus` names: the waiting requests of its
    /// languages (with the offers made for them; the head of each language's queue, as
    /// many as could be served now plus a margin), free interpreters (available, not in a
    /// session) whom those requests may reach at their widest (their language, the
    /// variants `routing` lists as intelligible with it, their agrupación), as many as
    /// `scope` asks per reach, each marked when holding an open offer; every open offer
    /// past its deadline at `now`, and the next deadline after it. The languages it looked
    /// at are in [`Snapshot::languages`]. A backend may give more than the focus (the
    /// memory store gives everything); the cost of a Redis snapshot follows the focus, not
    /// the backlog nor the roster.
    async fn snapshot(
        &self,
        scope: Scope,
        focus: &Focus,
        routing: &Routing,
        now: Timestamp,
    ) -> Result<Snapshot>;

    /// Where each of `requests` that is waiting stands (the others are left out): its
    /// place in its language's queue, who is on call for it, its open offers. Costs a few
    /// index reads per request, never a read of the queue.
    async fn places(&self, requests: &[Request]) -> Result<HashMap<RequestId, QueueInfo>>;

    /// True for the first caller (of any instance) to claim `key` before `until`: what
    /// makes an alert go out once, not once per instance or per check.
    /// A memo set only if none is there (see [`Store::memo_swap`]).
    async fn claim_once(&self, key: &str, until: Timestamp, now: Timestamp) -> Result<bool> {
        self.memo_swap(key, None, "1", until, now).await
    }

    /// A small value kept until its expiry (WhatsApp conversations: which request a caller
    /// is in, where to reply for a request).
    async fn memo(&self, key: &str, now: Timestamp) -> Result<Option<String>>;

    /// Atomically: if `key` holds `expected` (`None`: nothing, or expired), set it to `value`
    /// until `until` and answer true; otherwise change nothing and answer false.
    async fn memo_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool>;

    /// A caller's message joins their WhatsApp conversation, in one atomic step: the one
    /// `caller` (the keyed hash of their number) is in, unless its request is over; else a
    /// new one, `fresh`, whose reply address (sealed) is `reply`. Both are kept until
    /// `until`. Answers which conversation it is, its request and the next message number.
    async fn join_conversation(
        &self,
        caller: &str,
        fresh: &RequestId,
        reply: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Joined>;

    /// Keep the (sealed) reply address of conversation `id` until `until`, replacing any.
    async fn keep_reply_address(
        &self,
        id: &RequestId,
        reply: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<()>;

    /// Where to reply for conversation `id`, sealed; none once the conversation expired.
    async fn reply_address(&self, id: &RequestId, now: Timestamp) -> Result<Option<String>> {
        self.memo(&reply_memo(id), now).await
    }

    /// Append a message to its request's conversation if its `seq` is the next number
    /// (its text is sealed bound to that number): `Conflict::ChatSeq(next)` otherwise, and
    /// the caller seals again for `next`. The conversation is kept until `until` (each
    /// message renews it).
    async fn append_chat(
        &self,
        msg: crate::domain::chat::ChatMessage,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Change>;

    /// A request's conversation, in order (empty once expired).
    async fn chat(
        &self,
        request: &RequestId,
        now: Timestamp,
    ) -> Result<Vec<crate::domain::chat::ChatMessage>>;

    /// The conversations not expired yet, most recently renewed first.
    async fn conversations(&self, now: Timestamp) -> Result<Vec<RequestId>>;

    /// Hand an alert to every instance (as a change that only carries it).
    async fn broadcast_alert(&self, alert: &crate::domain::alert::Alert) -> Result<Change>;

    /// The routing configuration coordinators last set, if any.
    async fn routing(&self) -> Result<Option<Routing>>;

    /// Replace the routing configuration (checked by the caller).
    async fn set_routing(&self, routing: &Routing) -> Result<Change>;

    /// The manual bridge's outcome for a connected request: `connected` records that the
    /// interpreter is on the call; otherwise the request waits again (first in its queue
    /// by its creation time) and the interpreter is free. Refused once confirmed.
    async fn bridge(&self, req: &Request, connected: bool, now: Timestamp) -> Result<Change>;

    /// Record that a waiting request's routing reached `tier` (only forwards: an older
    /// or equal tier, or a request no longer waiting, changes nothing).
    async fn widen(&self, id: &RequestId, tier: u8, now: Timestamp) -> Result<Change>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_backend_failure_keeps_its_cause_as_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 2 s");
        let e = StoreError::Unavailable(Failure::caused_by(io));
        assert_eq!(e.to_string(), "store unavailable: no answer within 2 s");
        let failure = e.source().expect("the failure");
        let cause = failure.source().expect("the backend's own error");
        let io = cause
            .downcast_ref::<std::io::Error>()
            .expect("an I/O error");
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        assert!(Failure::new("truncated change").source().is_none());
    }
}

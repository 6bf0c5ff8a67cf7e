//! The in-memory store: the embedded default for one process. Nothing survives a restart.
//!
//! All state sits behind one `std::sync::Mutex`. Every method takes the lock once, checks
//! and changes what it needs, and releases it before returning, so each method is one atomic
//! transition, as the [`Store`] trait requires. A blocking mutex is right here (as in
//! mini-redis's `Db`): critical sections are short and never held across an `.await`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use jiff::Timestamp;

use super::listing::{Listing, Page};
use super::{
    Change, Conflict, Finish, Focus, Joined, QueueInfo, Reason, Result, Rules, Scope, Store,
    StoreError,
};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::ids::TokenHash;
use crate::domain::language::LanguageTag;
use crate::domain::offer::{Offer, Outcome};
use crate::domain::request::{Request, RequestState};
use crate::domain::roster::{Availability, Interpreter, LanguageSkill, Profile};
use crate::logic::matcher::{FreeInterpreter, OpenOffer, PendingRequest, Snapshot};
use crate::logic::routing::Routing;

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    interpreters: HashMap<InterpreterId, Interpreter>,
    /// Language → interpreters who speak it, for snapshots that only look at what waits.
    speakers: HashMap<LanguageTag, BTreeSet<InterpreterId>>,
    /// Agrupación → interpreters registered anywhere in it (the widest routing reach).
    members: HashMap<LanguageTag, BTreeSet<InterpreterId>>,
    tokens: HashMap<TokenHash, InterpreterId>,
    token_of: HashMap<InterpreterId, TokenHash>,
    requests: HashMap<RequestId, Request>,
    /// Requests in listing order (creation time in µs, then id; read backwards).
    request_order: BTreeSet<(i64, RequestId)>,
    /// Requests in state queued or offered.
    pending: BTreeSet<RequestId>,
    offers: HashMap<OfferId, Offer>,
    offers_by_request: HashMap<RequestId, Vec<OfferId>>,
    offers_by_interpreter: HashMap<InterpreterId, Vec<OfferId>>,
    open_offers: BTreeSet<OfferId>,
    /// Open offers their interpreter was shown or rung (an expiry is a miss only then).
    seen: BTreeSet<OfferId>,
    routing: Option<Routing>,
    /// Memos with their expiry.
    memos: HashMap<String, (String, Timestamp)>,
    /// Conversations with their expiry.
    chats: HashMap<RequestId, (Vec<crate::domain::chat::ChatMessage>, Timestamp)>,
    /// Instances' call leases, until when.
    leases: HashMap<String, Timestamp>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in this file; the state is still
        // consistent at every early return, so recover rather than poison every request.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Index an interpreter's languages (speakers and agrupación members).
    fn index(&mut self, id: &InterpreterId, languages: &[LanguageSkill]) {
        for l in languages {
            self.speakers
                .entry(l.tag.clone())
                .or_default()
                .insert(id.clone());
            if let Some(g) = &l.group {
                self.members
                    .entry(g.clone())
                    .or_default()
                    .insert(id.clone());
            }
        }
    }

    fn unindex(&mut self, id: &InterpreterId, languages: &[LanguageSkill]) {
        for l in languages {
            if let Some(set) = self.speakers.get_mut(&l.tag) {
                set.remove(id);
            }
            if let Some(set) = l.group.as_ref().and_then(|g| self.members.get_mut(g)) {
                set.remove(id);
            }
        }
    }

    /// Everyone a request for `language` (in `group`) may reach at its widest.
    fn reachable(
        &self,
        language: &LanguageTag,
        group: Option<&LanguageTag>,
    ) -> BTreeSet<&InterpreterId> {
        let mut out: BTreeSet<&InterpreterId> =
            self.speakers.get(language).into_iter().flatten().collect();
        out.extend(
            group
                .and_then(|g| self.members.get(g))
                .into_iter()
                .flatten(),
        );
        out
    }

    fn on_call(&self, language: &LanguageTag, group: Option<&LanguageTag>) -> usize {
        self.reachable(language, group)
            .into_iter()
            .filter(|id| self.interpreters[*id].availability == Availability::Available)
            .count()
    }

    fn close(&mut self, id: &OfferId, outcome: Outcome, now: Timestamp, change: &mut Change) {
        let Some(offer) = self.offers.get_mut(id) else {
            return;
        };
        if offer.outcome.is_some() {
            return;
        }
        offer.outcome = Some(outcome);
        offer.closed_at = Some(now);
        self.open_offers.remove(id);
        self.seen.remove(id);
        change.offers.push(offer.clone());
    }

    /// The open ones among `ids` (an index entry of offers by request or by interpreter).
    fn still_open(&self, ids: Option<&Vec<OfferId>>) -> Vec<OfferId> {
        ids.into_iter()
            .flatten()
            .filter(|o| self.open_offers.contains(*o))
            .cloned()
            .collect()
    }

    fn open_offers_of_request(&self, id: &RequestId) -> Vec<OfferId> {
        self.still_open(self.offers_by_request.get(id))
    }

    fn open_offers_of_interpreter(&self, id: &InterpreterId) -> Vec<OfferId> {
        self.still_open(self.offers_by_interpreter.get(id))
    }

    /// Where a waiting request stands (none once it is not waiting).
    fn place(&self, r: &Request) -> Option<QueueInfo> {
        if !self.pending.contains(&r.id) {
            return None;
        }
        let key = |r: &Request| (r.priority, r.created_at, r.id.clone());
        let ahead = self
            .pending
            .iter()
            .map(|id| &self.requests[id])
            .filter(|o| o.language == r.language && key(o) < key(r))
            .count();
        Some(QueueInfo {
            position: ahead + 1,
            on_call: self.on_call(&r.language, r.group.as_ref()),
            open_offers: self.open_offers_of_request(&r.id).len(),
        })
    }

    /// `change` with where each waiting request it carries stands now.
    fn placed(&self, mut change: Change) -> Change {
        change.places = change
            .requests
            .iter()
            .filter_map(|r| Some((r.id.clone(), self.place(&self.requests[&r.id])?)))
            .collect();
        change
    }

    /// After offers of `request` closed: back to queued if none is open.
    fn requeue_if_idle(&mut self, request: &RequestId, now: Timestamp, change: &mut Change) {
        if !self.open_offers_of_request(request).is_empty() {
            return;
        }
        if let Some(r) = self.requests.get_mut(request) {
            if r.state == RequestState::Offered {
                r.state = RequestState::Queued;
                r.updated_at = now;
                change.requests.push(r.clone());
            }
        }
    }

    /// Withdraw every open offer of an interpreter, requeueing their requests.
    fn withdraw_interpreter_offers(
        &mut self,
        id: &InterpreterId,
        outcome: Outcome,
        now: Timestamp,
        change: &mut Change,
    ) {
        for oid in self.open_offers_of_interpreter(id) {
            self.close(&oid, outcome, now, change);
            let req = self.offers[&oid].request.clone();
            self.requeue_if_idle(&req, now, change);
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_interpreter(&self, it: Interpreter, token: Option<TokenHash>) -> Result<()> {
        let mut s = self.lock();
        if s.interpreters.contains_key(&it.id) {
            return Err(StoreError::AlreadyExists(format!("interpreter {}", it.id)));
        }
        if let Some(t) = token {
            if s.tokens.contains_key(&t) {
                return Err(StoreError::AlreadyExists("token".into()));
            }
            s.tokens.insert(t.clone(), it.id.clone());
            s.token_of.insert(it.id.clone(), t);
        }
        s.index(&it.id, &it.languages);
        s.interpreters.insert(it.id.clone(), it);
        Ok(())
    }

    async fn interpreter(&self, id: &InterpreterId) -> Result<Option<Interpreter>> {
        Ok(self.lock().interpreters.get(id).cloned())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn interpreters(&self) -> Result<Vec<Interpreter>> {
        let mut all: Vec<_> = self.lock().interpreters.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn interpreter_for_token(&self, token: &TokenHash) -> Result<Option<InterpreterId>> {
        Ok(self.lock().tokens.get(token).cloned())
    }

    async fn update_interpreter(
        &self,
        id: &InterpreterId,
        profile: Profile,
        expected: Option<u64>,
        now: Timestamp,
    ) -> Result<Change> {
        let mut s = self.lock();
        let Some(it) = s.interpreters.get_mut(id) else {
            return Err(StoreError::NotFound(format!("interpreter {id}")));
        };
        if expected.is_some_and(|r| r != it.revision) {
            return Err(StoreError::Conflict(Conflict::StaleProfile));
        }
        let old = std::mem::replace(&mut it.languages, profile.languages);
        it.name = profile.name;
        it.phone = profile.phone;
        it.schedule = profile.schedule;
        it.certification = profile.certification;
        it.revision += 1;
        let it = it.clone();
        s.unindex(id, &old);
        s.index(id, &it.languages);
        let mut change = Change::default();
        for oid in s.open_offers_of_interpreter(id) {
            let offer = &s.offers[&oid];
            if !it.languages.iter().any(|l| l.tag == offer.language) {
                let req = offer.request.clone();
                s.close(&oid, Outcome::Withdrawn, now, &mut change);
                s.requeue_if_idle(&req, now, &mut change);
            }
        }
        change.interpreters.insert(0, (it, Reason::Requested));
        Ok(s.placed(change))
    }

    async fn add_time_off(
        &self,
        id: &InterpreterId,
        off: crate::domain::schedule::Exception,
        _now: Timestamp,
    ) -> Result<Change> {
        let mut s = self.lock();
        let Some(it) = s.interpreters.get_mut(id) else {
            return Err(StoreError::NotFound(format!("interpreter {id}")));
        };
        it.schedule
            .get_or_insert_with(crate::domain::schedule::Schedule::time_off_only)
            .exceptions
            .push(off);
        it.revision += 1;
        let mut change = Change::default();
        change.interpreters.push((it.clone(), Reason::Requested));
        Ok(s.placed(change))
    }

    async fn remove_interpreter(&self, id: &InterpreterId, now: Timestamp) -> Result<Change> {
        let mut s = self.lock();
        let Some(it) = s.interpreters.get(id) else {
            return Err(StoreError::NotFound(format!("interpreter {id}")));
        };
        if let Some(req) = &it.session {
            return Err(StoreError::Conflict(Conflict::InterpreterInSession(
                req.clone(),
            )));
        }
        let mut change = Change::default();
        s.withdraw_interpreter_offers(id, Outcome::Withdrawn, now, &mut change);
        if let Some(it) = s.interpreters.remove(id) {
            s.unindex(id, &it.languages);
            change.removed.push(id.clone());
        }
        if let Some(t) = s.token_of.remove(id) {
            s.tokens.remove(&t);
        }
        Ok(s.placed(change))
    }

    async fn set_availability(
        &self,
        id: &InterpreterId,
        availability: Availability,
        now: Timestamp,
        reason: Reason,
    ) -> Result<Change> {
        let mut s = self.lock();
        let Some(it) = s.interpreters.get_mut(id) else {
            return Err(StoreError::NotFound(format!("interpreter {id}")));
        };
        let mut change = Change::default();
        if it.availability == availability {
            return Ok(s.placed(change));
        }
        it.availability = availability;
        it.missed_in_row = 0;
        if availability == Availability::Available && it.session.is_none() {
            it.idle_since = now;
        }
        change.interpreters.push((it.clone(), reason));
        if availability == Availability::Offline {
            s.withdraw_interpreter_offers(id, Outcome::Declined, now, &mut change);
        }
        Ok(s.placed(change))
    }

    async fn insert_request(&self, req: Request) -> Result<QueueInfo> {
        let mut s = self.lock();
        if s.requests.contains_key(&req.id) {
            return Err(StoreError::AlreadyExists(format!("request {}", req.id)));
        }
        if req.state.is_pending() {
            s.pending.insert(req.id.clone());
        }
        s.request_order
            .insert((req.created_at.as_microsecond(), req.id.clone()));
        let id = req.id.clone();
        s.requests.insert(id.clone(), req);
        // A request inserted already finished (tests, imports) stands nowhere: first.
        Ok(s.place(&s.requests[&id]).unwrap_or(QueueInfo {
            position: 1,
            on_call: 0,
            open_offers: 0,
        }))
    }

    async fn request(&self, id: &RequestId) -> Result<Option<Request>> {
        Ok(self.lock().requests.get(id).cloned())
    }

    async fn requests(&self, listing: &Listing) -> Result<Page> {
        let s = self.lock();
        let since = listing.since_us();
        let limit = listing.limit();
        // Newest first from the cursor or the end of the range; the pages of a rare state
        // read past the others (this store holds one hotline's history).
        let found = s
            .request_order
            .range(..listing.upper_key())
            .rev()
            .take_while(|(us, _)| *us >= since)
            .map(|(_, id)| &s.requests[id])
            .filter(|r| listing.shows(r.state))
            .take(limit + 1)
            .cloned()
            .collect();
        Ok(Page::of(found, limit))
    }

    async fn prune_requests(&self, before: Timestamp, max: usize) -> Result<usize> {
        let mut s = self.lock();
        let old: Vec<(i64, RequestId)> = s
            .request_order
            .range(..(before.as_microsecond(), RequestId::from_path("")))
            .filter(|(_, id)| s.requests[id].state.is_final())
            .take(max)
            .cloned()
            .collect();
        let mut gone: HashMap<InterpreterId, BTreeSet<OfferId>> = HashMap::new();
        for key in &old {
            let id = &key.1;
            s.request_order.remove(key);
            s.requests.remove(id);
            s.chats.remove(id);
            for oid in s.offers_by_request.remove(id).unwrap_or_default() {
                if let Some(o) = s.offers.remove(&oid) {
                    gone.entry(o.interpreter).or_default().insert(oid.clone());
                }
                s.seen.remove(&oid);
            }
        }
        for (iid, oids) in gone {
            if let Some(list) = s.offers_by_interpreter.get_mut(&iid) {
                list.retain(|x| !oids.contains(x));
            }
        }
        Ok(old.len())
    }

    async fn finish_request(
        &self,
        id: &RequestId,
        how: Finish,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<Change> {
        let mut s = self.lock();
        let Some(req) = s.requests.get(id) else {
            return Err(StoreError::NotFound(format!("request {id}")));
        };
        let target = how.state(req.state);
        if req.state == target {
            return Ok(Change::default());
        }
        let allowed = match how {
            Finish::Complete => req.state == RequestState::Connected,
            Finish::Cancel | Finish::Lost => !req.state.is_final(),
            Finish::GiveUp => req.state.is_pending(),
        };
        if !allowed {
            return Err(StoreError::Conflict(Conflict::RequestState(req.state)));
        }
        let mut change = Change::default();
        for oid in s.open_offers_of_request(id) {
            s.close(&oid, Outcome::Withdrawn, now, &mut change);
        }
        let req = s.requests.get_mut(id).expect("checked above");
        req.state = target;
        req.updated_at = now;
        req.finished_at = Some(now);
        if how == Finish::Lost {
            req.end_reason = Some(crate::domain::request::EndReason::BridgeLost);
        }
        let freed = req.interpreter.clone();
        change.requests.push(req.clone());
        s.pending.remove(id);
        if let Some(iid) = freed {
            if let Some(it) = s.interpreters.get_mut(&iid) {
                if it.session.as_ref() == Some(id) {
                    it.session = None;
                    it.idle_since = now;
                    it.ready_at = rules.ready_at(now);
                    change.interpreters.push((it.clone(), Reason::Requested));
                }
            }
        }
        change.nothing_waits = s.pending.is_empty();
        Ok(s.placed(change))
    }

    async fn renew_lease(
        &self,
        instance: &str,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<()> {
        let until = now
            .checked_add(jiff::SignedDuration::try_from(ttl).unwrap_or(jiff::SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        self.lock().leases.insert(instance.to_string(), until);
        Ok(())
    }

    async fn drop_lease(&self, instance: &str) -> Result<()> {
        self.lock().leases.remove(instance);
        Ok(())
    }

    async fn lapsed_calls(&self, now: Timestamp) -> Result<Vec<RequestId>> {
        let s = self.lock();
        let alive = |owner: &String| s.leases.get(owner).is_some_and(|until| *until > now);
        Ok(s.requests
            .values()
            .filter(|r| !r.state.is_final() && r.held_by.as_ref().is_some_and(|o| !alive(o)))
            .map(|r| r.id.clone())
            .collect())
    }

    async fn offer(&self, id: &OfferId) -> Result<Option<Offer>> {
        Ok(self.lock().offers.get(id).cloned())
    }

    async fn offers_for(&self, interpreter: &InterpreterId, open_only: bool) -> Result<Vec<Offer>> {
        let s = self.lock();
        Ok(s.offers_by_interpreter
            .get(interpreter)
            .into_iter()
            .flatten()
            .rev()
            .map(|id| &s.offers[id])
            .filter(|o| !open_only || o.is_open())
            .cloned()
            .collect())
    }

    async fn open_offer(&self, offer: Offer, exclusive: bool) -> Result<Change> {
        let mut s = self.lock();
        let Some(req) = s.requests.get(&offer.request) else {
            return Err(StoreError::NotFound(format!("request {}", offer.request)));
        };
        if !req.state.is_pending() {
            return Err(StoreError::Conflict(Conflict::RequestState(req.state)));
        }
        let Some(it) = s.interpreters.get(&offer.interpreter) else {
            return Err(StoreError::NotFound(format!(
                "interpreter {}",
                offer.interpreter
            )));
        };
        if it.availability != Availability::Available || it.session.is_some() {
            return Err(StoreError::Conflict(Conflict::InterpreterNotFree));
        }
        if !s.open_offers_of_interpreter(&offer.interpreter).is_empty() {
            return Err(StoreError::Conflict(Conflict::InterpreterBusy));
        }
        if exclusive && !s.open_offers_of_request(&offer.request).is_empty() {
            return Err(StoreError::Conflict(Conflict::RequestBusy));
        }
        let mut change = Change::default();
        let req = s.requests.get_mut(&offer.request).expect("checked above");
        req.state = RequestState::Offered;
        req.updated_at = offer.created_at;
        req.offers_made += 1;
        change.requests.push(req.clone());
        s.offers_by_request
            .entry(offer.request.clone())
            .or_default()
            .push(offer.id.clone());
        s.offers_by_interpreter
            .entry(offer.interpreter.clone())
            .or_default()
            .push(offer.id.clone());
        s.open_offers.insert(offer.id.clone());
        change.offers.push(offer.clone());
        s.offers.insert(offer.id.clone(), offer);
        Ok(s.placed(change))
    }

    async fn accept_offer(
        &self,
        id: &OfferId,
        by: &InterpreterId,
        now: Timestamp,
    ) -> Result<Change> {
        let mut s = self.lock();
        let Some(offer) = s.offers.get(id) else {
            return Err(StoreError::NotFound(format!("offer {id}")));
        };
        if &offer.interpreter != by {
            return Err(StoreError::Conflict(Conflict::OfferNotYours));
        }
        if !offer.is_open() || offer.deadline <= now {
            return Err(StoreError::Conflict(Conflict::OfferClosed(Box::new(
                offer.clone(),
            ))));
        }
        let request_id = offer.request.clone();
        let mut change = Change::default();
        s.close(id, Outcome::Accepted, now, &mut change);
        for oid in s.open_offers_of_request(&request_id) {
            s.close(&oid, Outcome::Withdrawn, now, &mut change);
        }
        for oid in s.open_offers_of_interpreter(by) {
            s.close(&oid, Outcome::Withdrawn, now, &mut change);
            let other = s.offers[&oid].request.clone();
            s.requeue_if_idle(&other, now, &mut change);
        }
        let req = s
            .requests
            .get_mut(&request_id)
            .expect("offers have requests");
        req.state = RequestState::Connected;
        req.interpreter = Some(by.clone());
        req.connected_at = Some(now);
        req.updated_at = now;
        change.requests.push(req.clone());
        s.pending.remove(&request_id);
        let it = s
            .interpreters
            .get_mut(by)
            .expect("offers have interpreters");
        it.session = Some(request_id);
        it.missed_in_row = 0;
        change.interpreters.push((it.clone(), Reason::Requested));
        Ok(s.placed(change))
    }

    async fn close_offer(
        &self,
        id: &OfferId,
        outcome: Outcome,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<Change> {
        let mut s = self.lock();
        let Some(offer) = s.offers.get(id) else {
            return Err(StoreError::NotFound(format!("offer {id}")));
        };
        if !offer.is_open() {
            return Err(StoreError::Conflict(Conflict::OfferClosed(Box::new(
                offer.clone(),
            ))));
        }
        let (request_id, iid) = (offer.request.clone(), offer.interpreter.clone());
        let mut change = Change::default();
        let seen = s.seen.contains(id);
        s.close(id, outcome, now, &mut change);
        s.requeue_if_idle(&request_id, now, &mut change);
        if let Some(it) = s.interpreters.get_mut(&iid) {
            match (outcome, seen) {
                // Never shown nor rung: neither a miss nor an answer.
                (Outcome::Expired, false) => {}
                (Outcome::Expired, true) => {
                    it.missed_in_row += 1;
                    if it.missed_in_row >= rules.max_missed_offers
                        && it.availability == Availability::Available
                    {
                        it.availability = Availability::Offline;
                        it.missed_in_row = 0;
                        change.interpreters.push((it.clone(), Reason::MissedOffers));
                        s.withdraw_interpreter_offers(&iid, Outcome::Withdrawn, now, &mut change);
                    }
                }
                _ => it.missed_in_row = 0,
            }
        }
        Ok(s.placed(change))
    }

    async fn offer_seen(&self, id: &OfferId, _now: Timestamp) -> Result<()> {
        let mut s = self.lock();
        if s.open_offers.contains(id) {
            s.seen.insert(id.clone());
        }
        Ok(())
    }

    async fn on_call(&self, language: &LanguageTag, group: Option<&LanguageTag>) -> Result<usize> {
        Ok(self.lock().on_call(language, group))
    }

    async fn memo(&self, key: &str, now: Timestamp) -> Result<Option<String>> {
        let s = self.lock();
        Ok(s.memos
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(v, _)| v.clone()))
    }

    async fn memo_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        let mut s = self.lock();
        s.memos.retain(|_, (_, t)| *t > now);
        let current = s.memos.get(key).map(|(v, _)| v.as_str());
        if current != expected {
            return Ok(false);
        }
        s.memos.insert(key.to_string(), (value.to_string(), until));
        Ok(true)
    }

    async fn join_conversation(
        &self,
        caller: &str,
        fresh: &RequestId,
        reply: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Joined> {
        let mut s = self.lock();
        s.memos.retain(|_, (_, t)| *t > now);
        s.chats.retain(|_, (_, t)| *t > now);
        let conv = super::conversation_memo(caller);
        let going_on = s
            .memos
            .get(&conv)
            .map(|(id, _)| RequestId::from_path(id))
            .filter(|id| s.requests.get(id).is_none_or(|r| !r.state.is_final()));
        let opened = going_on.is_none();
        let id = going_on.unwrap_or_else(|| fresh.clone());
        if opened {
            s.memos
                .insert(super::reply_memo(&id), (reply.to_string(), until));
        }
        s.memos.insert(conv, (id.to_string(), until));
        let has_reply = match s.memos.get_mut(&super::reply_memo(&id)) {
            Some((_, t)) => {
                *t = until;
                true
            }
            None => false,
        };
        Ok(Joined {
            request: s.requests.get(&id).cloned(),
            next_seq: s.chats.get(&id).map_or(0, |(l, _)| l.len() as u64) + 1,
            id,
            opened,
            has_reply,
        })
    }

    async fn keep_reply_address(
        &self,
        id: &RequestId,
        reply: &str,
        until: Timestamp,
        _now: Timestamp,
    ) -> Result<()> {
        let mut s = self.lock();
        s.memos
            .insert(super::reply_memo(id), (reply.to_string(), until));
        Ok(())
    }

    async fn append_chat(
        &self,
        msg: crate::domain::chat::ChatMessage,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Change> {
        let mut s = self.lock();
        s.chats.retain(|_, (_, t)| *t > now);
        let (list, expiry) = s.chats.entry(msg.request.clone()).or_default();
        let next = list.len() as u64 + 1;
        if msg.seq != next {
            return Err(StoreError::Conflict(Conflict::ChatSeq(next)));
        }
        list.push(msg.clone());
        *expiry = until;
        Ok(Change {
            messages: vec![msg],
            ..Change::default()
        })
    }

    async fn chat(
        &self,
        request: &RequestId,
        now: Timestamp,
    ) -> Result<Vec<crate::domain::chat::ChatMessage>> {
        let s = self.lock();
        Ok(s.chats
            .get(request)
            .filter(|(_, t)| *t > now)
            .map(|(l, _)| l.clone())
            .unwrap_or_default())
    }

    async fn conversations(&self, now: Timestamp) -> Result<Vec<RequestId>> {
        let s = self.lock();
        let mut live: Vec<(&Timestamp, &RequestId)> = s
            .chats
            .iter()
            .filter(|(_, (_, t))| *t > now)
            .map(|(id, (_, t))| (t, id))
            .collect();
        live.sort_by(|a, b| b.cmp(a));
        Ok(live.into_iter().map(|(_, id)| id.clone()).collect())
    }

    async fn broadcast_alert(&self, alert: &crate::domain::alert::Alert) -> Result<Change> {
        Ok(Change {
            alerts: vec![alert.clone()],
            ..Change::default()
        })
    }

    async fn routing(&self) -> Result<Option<Routing>> {
        Ok(self.lock().routing.clone())
    }

    async fn set_routing(&self, routing: &Routing) -> Result<Change> {
        self.lock().routing = Some(routing.clone());
        Ok(Change {
            routing: Some(routing.clone()),
            ..Change::default()
        })
    }

    async fn bridge(&self, req: &Request, connected: bool, now: Timestamp) -> Result<Change> {
        let mut s = self.lock();
        let Some(r) = s.requests.get_mut(&req.id) else {
            return Err(StoreError::NotFound(format!("request {}", req.id)));
        };
        if r.state != RequestState::Connected || r.bridged_at.is_some() {
            return Err(StoreError::Conflict(Conflict::RequestState(r.state)));
        }
        let mut change = Change::default();
        if connected {
            r.bridged_at = Some(now);
            r.updated_at = now;
            change.requests.push(r.clone());
            return Ok(s.placed(change));
        }
        let interpreter = r.interpreter.take();
        r.state = RequestState::Queued;
        r.connected_at = None;
        r.updated_at = now;
        change.requests.push(r.clone());
        s.pending.insert(req.id.clone());
        if let Some(it) = interpreter.and_then(|id| s.interpreters.get_mut(&id)) {
            if it.session.as_ref() == Some(&req.id) {
                it.session = None;
                it.idle_since = now;
                change.interpreters.push((it.clone(), Reason::Requested));
            }
        }
        Ok(s.placed(change))
    }

    async fn widen(&self, id: &RequestId, tier: u8, now: Timestamp) -> Result<Change> {
        let mut s = self.lock();
        let mut change = Change::default();
        if let Some(r) = s.requests.get_mut(id) {
            if r.state.is_pending() && r.tier < tier {
                r.tier = tier;
                r.updated_at = now;
                change.requests.push(r.clone());
            }
        }
        Ok(s.placed(change))
    }

    async fn places(&self, requests: &[Request]) -> Result<HashMap<RequestId, QueueInfo>> {
        let s = self.lock();
        Ok(requests
            .iter()
            .filter_map(|r| Some((r.id.clone(), s.place(s.requests.get(&r.id)?)?)))
            .collect())
    }

    /// Memory is cheap: every waiting request, whatever the focus.
    async fn snapshot(
        &self,
        _scope: Scope,
        _focus: &Focus,
        routing: &Routing,
        _now: Timestamp,
    ) -> Result<Snapshot> {
        let s = self.lock();
        let mut requests = Vec::with_capacity(s.pending.len());
        for id in &s.pending {
            let mut pending = PendingRequest::of(&s.requests[id]);
            for oid in s.offers_by_request.get(id).into_iter().flatten() {
                pending.record(&s.offers[oid]);
            }
            requests.push(pending);
        }
        // Only free interpreters a waiting request may reach (all of them: memory is cheap,
        // so `Best` gets everyone too, whatever the scope).
        let mut seen = BTreeSet::new();
        for r in &requests {
            seen.extend(s.reachable(&r.language, r.group.as_ref()));
            for t in routing.intelligible_for(&r.language) {
                seen.extend(s.speakers.get(t).into_iter().flatten());
            }
        }
        let interpreters = seen
            .into_iter()
            .map(|id| &s.interpreters[id])
            .filter(|it| it.availability == Availability::Available && it.session.is_none())
            .map(FreeInterpreter::of)
            .collect();
        let offers = s
            .open_offers
            .iter()
            .map(|id| {
                let o = &s.offers[id];
                OpenOffer {
                    id: o.id.clone(),
                    request: o.request.clone(),
                    interpreter: o.interpreter.clone(),
                    deadline: o.deadline,
                }
            })
            .collect();
        let mut languages: Vec<LanguageTag> = requests.iter().map(|r| r.language.clone()).collect();
        languages.sort();
        languages.dedup();
        let mut snapshot = Snapshot::new(requests, interpreters, offers);
        snapshot.languages = languages;
        Ok(snapshot)
    }
}

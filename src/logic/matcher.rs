//! The matching core: given a [`Snapshot`] of waiting requests, free interpreters and open
//! offers, and the time, decide what to do next ([`decide`] → [`Plan`]).
//!
//! This module does no I/O, does not await, and cannot fail. Time is a parameter. The
//! dispatcher applies the plan through the store, which re-checks every decision atomically,
//! so a plan made from a snapshot that went stale is harmless.
//!
//! Rules, in order:
//! 1. Open offers past their deadline expire.
//! 2. A waiting request with no open offer that has waited `give_up_after` becomes unfilled.
//! 3. Requests are served urgent first, then oldest first. For each, among free interpreters
//!    its current routing tier reaches ([`crate::logic::routing`]: its own language, then listed
//!    intelligible variants, then its whole agrupación): fewest earlier offers *of this
//!    request* first (so the others are tried before anyone is asked again), then the
//!    narrowest reach (its own language, an intelligible variant, the whole agrupación, any
//!    other variant of it), then higher proficiency, then the one idle longest (fair rotation),
//!    then id. Somebody who already closed an offer of this request is not asked again
//!    before `retry_after` has passed. A request whose tier widened since it was stored is
//!    widened in the store too (an event), and the plan wakes at the next widening.
//! 4. `sequential` offers a request to one interpreter at a time; `parallel` to every
//!    eligible interpreter at once. Under both, an interpreter holds at most one open offer.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::language::LanguageTag;
use crate::domain::offer::Offer;
use crate::domain::request::{Priority, Request};
use crate::domain::roster::{Interpreter, Proficiency};
use crate::logic::routing::{Reach, Routing};

/// How many interpreters a request is offered to at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OfferMode {
    #[default]
    Sequential,
    Parallel,
}

/// The routing policy, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: OfferMode,
    pub offer_timeout: SignedDuration,
    /// How long before an interpreter who closed an offer of a request is asked again.
    pub retry_after: SignedDuration,
    /// How long a request may wait with nobody accepting before it is `unfilled` (unless
    /// its routing tiers end sooner).
    pub give_up_after: SignedDuration,
    /// The widening search: tiers and intelligibility.
    pub routing: Arc<Routing>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            mode: OfferMode::Sequential,
            offer_timeout: SignedDuration::from_secs(30),
            retry_after: SignedDuration::from_secs(30),
            give_up_after: SignedDuration::from_secs(15 * 60),
            routing: Arc::new(Routing::default()),
        }
    }
}

/// A request waiting for an interpreter (state `queued` or `offered`).
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub id: RequestId,
    pub language: LanguageTag,
    /// The agrupación of `language`, if it has one.
    pub group: Option<LanguageTag>,
    /// The routing tier the store has recorded.
    pub tier: u8,
    pub priority: Priority,
    pub created_at: Timestamp,
    /// Earlier and current offers of this request, one entry per interpreter.
    pub attempts: Vec<Attempt>,
}

impl PendingRequest {
    /// A waiting request, with no offers counted yet (see [`PendingRequest::record`]).
    pub fn of(r: &Request) -> PendingRequest {
        PendingRequest {
            id: r.id.clone(),
            language: r.language.clone(),
            group: r.group.clone(),
            tier: r.tier,
            priority: r.priority,
            created_at: r.created_at,
            attempts: Vec::new(),
        }
    }

    /// Count one offer made for this request (open or closed) in its interpreter's attempt.
    pub fn record(&mut self, o: &Offer) {
        let a = match self
            .attempts
            .iter()
            .position(|a| a.interpreter == o.interpreter)
        {
            Some(p) => &mut self.attempts[p],
            None => {
                self.attempts.push(Attempt {
                    interpreter: o.interpreter.clone(),
                    count: 0,
                    last_closed_at: None,
                    open: false,
                });
                self.attempts.last_mut().expect("just pushed")
            }
        };
        a.count += 1;
        a.open |= o.is_open();
        if let Some(c) = o.closed_at {
            a.last_closed_at = a.last_closed_at.max(Some(c));
        }
    }
}

/// What one interpreter has been asked about one request.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub interpreter: InterpreterId,
    /// Offers made, open ones included.
    pub count: u32,
    /// When the latest closed offer closed.
    pub last_closed_at: Option<Timestamp>,
    /// Whether an offer is open right now.
    pub open: bool,
}

/// An interpreter who is available and not in a session.
#[derive(Debug, Clone)]
pub struct FreeInterpreter {
    pub id: InterpreterId,
    pub languages: Vec<(LanguageTag, Proficiency)>,
    /// The agrupaciones of those languages, each with the best proficiency in it.
    pub groups: Vec<(LanguageTag, Proficiency)>,
    pub idle_since: Timestamp,
    /// Not before this instant (wrap-up after a session).
    pub ready_at: Option<Timestamp>,
    /// Holds an open offer (perhaps of a request the snapshot does not carry).
    pub holds_offer: bool,
}

impl FreeInterpreter {
    /// The matcher's view of an interpreter the store found free.
    pub fn of(it: &Interpreter) -> FreeInterpreter {
        let mut groups: Vec<(LanguageTag, Proficiency)> = Vec::new();
        for l in &it.languages {
            let Some(g) = &l.group else { continue };
            match groups.iter_mut().find(|(t, _)| t == g) {
                Some((_, p)) => *p = (*p).max(l.proficiency),
                None => groups.push((g.clone(), l.proficiency)),
            }
        }
        FreeInterpreter {
            id: it.id.clone(),
            languages: it
                .languages
                .iter()
                .map(|l| (l.tag.clone(), l.proficiency))
                .collect(),
            groups,
            idle_since: it.idle_since,
            ready_at: it.ready_at,
            holds_offer: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpenOffer {
    pub id: OfferId,
    pub request: RequestId,
    pub interpreter: InterpreterId,
    pub deadline: Timestamp,
}

/// Everything the matcher looks at, indexed once when built.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    requests: Vec<PendingRequest>,
    interpreters: Vec<FreeInterpreter>,
    offers: Vec<OpenOffer>,
    /// Language → indices into `interpreters`, best first (proficiency, idle, id).
    by_language: HashMap<LanguageTag, Vec<(usize, Proficiency)>>,
    /// Agrupación → indices into `interpreters` of anyone registered in it, best first.
    by_group: HashMap<LanguageTag, Vec<(usize, Proficiency)>>,
    /// Per interpreter: holds an open offer (expired or not).
    holds_offer: Vec<bool>,
    /// Per request (same order as `requests`): the latest deadline of its open offers.
    open_until: Vec<Option<Timestamp>>,
    /// Interpreters in wrap-up: (index, ready at).
    wrapping_up: Vec<(usize, Timestamp)>,
    /// The store left out requests behind the head of a long queue: once this snapshot's
    /// offers are made, look again.
    pub more_waiting: bool,
    /// The languages whose queues the store read (a focused snapshot's, expanded).
    pub languages: Vec<LanguageTag>,
    /// The earliest deadline of an open offer the snapshot does not carry, if any.
    pub next_deadline: Option<Timestamp>,
}

impl Snapshot {
    pub fn new(
        mut requests: Vec<PendingRequest>,
        interpreters: Vec<FreeInterpreter>,
        offers: Vec<OpenOffer>,
    ) -> Snapshot {
        requests.sort_by(|a, b| {
            (a.priority, a.created_at, &a.id).cmp(&(b.priority, b.created_at, &b.id))
        });
        let mut by_language: HashMap<LanguageTag, Vec<(usize, Proficiency)>> = HashMap::new();
        let mut by_group: HashMap<LanguageTag, Vec<(usize, Proficiency)>> = HashMap::new();
        for (i, it) in interpreters.iter().enumerate() {
            for (tag, p) in &it.languages {
                by_language.entry(tag.clone()).or_default().push((i, *p));
            }
            for (tag, p) in &it.groups {
                by_group.entry(tag.clone()).or_default().push((i, *p));
            }
        }
        for list in by_language.values_mut().chain(by_group.values_mut()) {
            list.sort_by(|&(a, pa), &(b, pb)| {
                let (ia, ib) = (&interpreters[a], &interpreters[b]);
                (Reverse(pa), ia.idle_since, &ia.id).cmp(&(Reverse(pb), ib.idle_since, &ib.id))
            });
        }
        // Precomputed here so that `decide` does no hashing per interpreter: the snapshot
        // is built once per dispatcher step, `decide` may run on it more than once.
        let index: HashMap<&InterpreterId, usize> = interpreters
            .iter()
            .enumerate()
            .map(|(i, it)| (&it.id, i))
            .collect();
        let mut holds_offer: Vec<bool> = interpreters.iter().map(|i| i.holds_offer).collect();
        let mut latest: HashMap<&RequestId, Timestamp> = HashMap::new();
        for o in &offers {
            if let Some(&i) = index.get(&o.interpreter) {
                holds_offer[i] = true;
            }
            let slot = latest.entry(&o.request).or_insert(o.deadline);
            *slot = (*slot).max(o.deadline);
        }
        let open_until = requests
            .iter()
            .map(|r| latest.get(&r.id).copied())
            .collect();
        let wrapping_up = interpreters
            .iter()
            .enumerate()
            .filter_map(|(i, it)| it.ready_at.map(|t| (i, t)))
            .collect();
        drop(index);
        Snapshot {
            more_waiting: false,
            languages: Vec::new(),
            next_deadline: None,
            requests,
            interpreters,
            offers,
            by_language,
            by_group,
            holds_offer,
            open_until,
            wrapping_up,
        }
    }

    pub fn requests(&self) -> &[PendingRequest] {
        &self.requests
    }

    pub fn free_interpreters(&self) -> impl Iterator<Item = &FreeInterpreter> {
        self.interpreters.iter()
    }
}

/// One thing to do. The store re-checks each one and refuses those that no longer apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Expire(OfferId),
    GiveUp(RequestId),
    /// The request's routing reached tier `tier` (0-based).
    Widen {
        request: RequestId,
        tier: u8,
    },
    Offer {
        request: RequestId,
        interpreter: InterpreterId,
        deadline: Timestamp,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    /// The earliest instant at which deciding again could change something, if any.
    pub wake_at: Option<Timestamp>,
}

fn earliest(slot: &mut Option<Timestamp>, t: Timestamp) {
    if slot.is_none_or(|w| t < w) {
        *slot = Some(t);
    }
}

/// The candidates listed under `tag` (none if nobody).
fn list<'a>(
    index: &'a HashMap<LanguageTag, Vec<(usize, Proficiency)>>,
    tag: &LanguageTag,
) -> &'a [(usize, Proficiency)] {
    index.get(tag).map_or(&[], Vec::as_slice)
}

/// The decisions for one waiting request (`open`: it has an open offer): give up, widen,
/// or offer it to the interpreters its routing tier reaches, marking them `taken`.
fn plan_request(
    snap: &Snapshot,
    req: &PendingRequest,
    open: bool,
    taken: &mut [bool],
    now: Timestamp,
    policy: &Policy,
    plan: &mut Plan,
) {
    let stage = policy.routing.stage(
        &req.language,
        req.group.as_ref(),
        req.created_at,
        now,
        policy.give_up_after,
    );
    if !open && stage.gives_up_at <= now {
        plan.decisions.push(Decision::GiveUp(req.id.clone()));
        return;
    }
    if stage.gives_up_at > now {
        // Past it, an open offer keeps the request: its deadline is the next instant.
        earliest(&mut plan.wake_at, stage.gives_up_at);
    }
    let tier = u8::try_from(stage.tier).unwrap_or(u8::MAX);
    if tier > req.tier {
        plan.decisions.push(Decision::Widen {
            request: req.id.clone(),
            tier,
        });
    }
    if let Some(w) = stage.widens_at {
        earliest(&mut plan.wake_at, w);
    }
    if policy.mode == OfferMode::Sequential && open {
        return;
    }
    // Who this tier reaches, narrowest first (chained, not collected: this runs for
    // every waiting request on every step).
    let intelligible: &[LanguageTag] = match stage.reach >= Reach::Intelligible {
        true => policy.routing.intelligible_for(&req.language),
        false => &[],
    };
    // Those registered for the whole agrupación, then anyone in it.
    let group = req
        .group
        .as_ref()
        .filter(|_| stage.reach >= Reach::Agrupacion);
    let whole = group.filter(|g| *g != &req.language);
    let candidates = list(&snap.by_language, &req.language)
        .iter()
        .chain(intelligible.iter().flat_map(|t| list(&snap.by_language, t)))
        .chain(whole.map_or(&[][..], |g| list(&snap.by_language, g)))
        .chain(group.map_or(&[][..], |g| list(&snap.by_group, g)));
    offer_to(snap, req, candidates, taken, now, policy, plan);
}

/// Offer `req` to the best of its `candidates` (best first) who is not `taken` and may be
/// asked again: one under sequential (fewest earlier offers first), each under parallel.
fn offer_to<'a>(
    snap: &Snapshot,
    req: &PendingRequest,
    candidates: impl Iterator<Item = &'a (usize, Proficiency)>,
    taken: &mut [bool],
    now: Timestamp,
    policy: &Policy,
    plan: &mut Plan,
) {
    let attempt_of = |id: &InterpreterId| req.attempts.iter().find(|a| &a.interpreter == id);
    let offer = |plan: &mut Plan, i: usize| {
        plan.decisions.push(Decision::Offer {
            request: req.id.clone(),
            interpreter: snap.interpreters[i].id.clone(),
            deadline: now + policy.offer_timeout,
        });
    };
    // Best candidate so far under sequential: (earlier offers, position in list).
    let mut best: Option<(u32, usize)> = None;
    for &(i, _) in candidates {
        if taken[i] {
            continue;
        }
        let attempt = attempt_of(&snap.interpreters[i].id);
        if let Some(a) = attempt {
            if a.open {
                continue;
            }
            if let Some(closed) = a.last_closed_at {
                let again = closed + policy.retry_after;
                if again > now {
                    earliest(&mut plan.wake_at, again);
                    continue;
                }
            }
        }
        let count = attempt.map_or(0, |a| a.count);
        match policy.mode {
            OfferMode::Parallel => {
                taken[i] = true;
                offer(plan, i);
            }
            OfferMode::Sequential => {
                if best.is_none_or(|(c, _)| count < c) {
                    best = Some((count, i));
                }
                if count == 0 {
                    // The list is sorted: nobody later can beat a first offer here.
                    break;
                }
            }
        }
    }
    if let Some((_, i)) = best {
        taken[i] = true;
        offer(plan, i);
    }
}

/// Decide what to do now. Pure: same snapshot, time and policy give the same plan.
pub fn decide(snap: &Snapshot, now: Timestamp, policy: &Policy) -> Plan {
    let mut plan = Plan::default();
    // Interpreters holding an open offer are busy, including those whose offer expires now:
    // the store may set them offline for missing too many, so they wait for the next pass.
    let mut taken = snap.holds_offer.clone();
    for offer in &snap.offers {
        if offer.deadline <= now {
            plan.decisions.push(Decision::Expire(offer.id.clone()));
        } else {
            earliest(&mut plan.wake_at, offer.deadline);
        }
    }
    for &(i, ready) in &snap.wrapping_up {
        if ready > now {
            taken[i] = true;
            earliest(&mut plan.wake_at, ready);
        }
    }

    for (req, open_until) in snap.requests.iter().zip(&snap.open_until) {
        let open = open_until.is_some_and(|t| t > now);
        plan_request(snap, req, open, &mut taken, now, policy, &mut plan);
    }
    for d in &plan.decisions {
        if let Decision::Offer { deadline, .. } = d {
            earliest(&mut plan.wake_at, *deadline);
        }
    }
    plan
}

#[cfg(test)]
mod tests;

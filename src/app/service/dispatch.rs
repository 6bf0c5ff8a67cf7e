//! The dispatcher: one loop that turns the matcher's plans into store transitions.
//!
//! It matches on what changed, not on everything: each change this instance makes names
//! what it may enable ([`Focus::of_change`]: a request queued again, an interpreter free
//! again), and one step reads only those languages' queues and the interpreters they may
//! reach. Changes arriving while a step runs are coalesced into the next one, so a burst
//! costs a few steps, not one per change. Time-driven work has its own timers: each
//! language looked at keeps the instant its plan said something would change there
//! (a widening, a give-up, a retry, a wrap-up ending), and the store says when the next
//! open offer falls due; a timer that fires looks at its language alone.
//!
//! Another instance's changes are that instance's to act on: it decides first. This one
//! looks at them only after [`BACKUP_DELAY`], in case the other died before it could
//! (coalesced: at most one such step per delay). Several dispatchers may run against one
//! store; the store re-checks every decision, so a stale plan is harmless.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::adapters::store::{Finish, Focus, Scope, StoreError};
use crate::app::service::Service;
use crate::domain::ids::OfferId;
use crate::domain::language::LanguageTag;
use crate::domain::offer::{Offer, Outcome};
use crate::logic::matcher::{self, Decision, OfferMode};

/// How long to wait before retrying when the store itself failed.
const BACKEND_RETRY: Duration = Duration::from_secs(1);

/// How long another instance has to decide on its own change before this one looks.
pub const BACKUP_DELAY: Duration = Duration::from_secs(1);

/// Sleep until `at`, or forever when there is nothing to wait for.
pub async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What is waiting to be looked at: the focus of this instance's changes (at once) and of
/// other instances' (after a delay).
#[derive(Debug, Default)]
pub(super) struct Work {
    now: Focus,
    later: Focus,
    later_at: Option<tokio::time::Instant>,
}

impl Work {
    pub(super) fn add(&mut self, focus: Focus) {
        self.now.merge(focus);
    }

    pub(super) fn add_later(&mut self, focus: Focus) {
        if focus.is_empty() {
            return;
        }
        self.later.merge(focus);
        self.later_at
            .get_or_insert_with(|| tokio::time::Instant::now() + BACKUP_DELAY);
    }

    /// What is due now, taken out; and when the delayed part falls due.
    pub(super) fn take(&mut self) -> (Focus, Option<tokio::time::Instant>) {
        let mut focus = std::mem::take(&mut self.now);
        if self
            .later_at
            .is_some_and(|at| at <= tokio::time::Instant::now())
        {
            focus.merge(std::mem::take(&mut self.later));
            self.later_at = None;
        }
        (focus, self.later_at)
    }
}

/// When each language needs looking at again, and when the next open offer falls due.
#[derive(Debug, Default)]
struct Timers {
    languages: HashMap<LanguageTag, Timestamp>,
    deadline: Option<Timestamp>,
}

impl Timers {
    /// Move what is due at `now` into `focus`; answer whether an offer deadline is due
    /// (any snapshot carries the offers past theirs).
    fn take_due(&mut self, now: Timestamp, focus: &mut Focus) -> bool {
        self.languages.retain(|tag, at| {
            let due = *at <= now;
            if due {
                focus.languages.insert(tag.clone());
            }
            !due
        });
        let deadline = self.deadline.is_some_and(|d| d <= now);
        if deadline {
            self.deadline = None;
        }
        deadline
    }

    fn next(&self) -> Option<Timestamp> {
        self.languages.values().copied().chain(self.deadline).min()
    }
}

/// Run until `shutdown` resolves.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut timers = Timers::default();
    // What was there before this instance started: everything.
    service.look_at(Focus::everything());
    loop {
        let (mut focus, later_at) = service.take_work();
        let now = service.now();
        let deadline_due = timers.take_due(now, &mut focus);
        if !focus.is_empty() || deadline_due {
            // A dispatcher kept busy (a flood) still stops when asked.
            let stepped = tokio::select! {
                biased;
                _ = &mut shutdown => return,
                r = step(&service, &focus, now, &mut timers) => r,
            };
            if let Err(e) = stepped {
                tracing::error!(error = %e, "dispatcher could not read the store; retrying");
                let retry = tokio::time::Instant::now() + BACKEND_RETRY;
                // Nothing of what was due is lost: the focus comes back with the retry,
                // and offers past their deadline are looked for again.
                if deadline_due {
                    timers.deadline = Some(now);
                }
                service.look_at(focus);
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep_until(retry) => {}
                }
            }
            // Changes made meanwhile (this step's own among them) are looked at next.
            continue;
        }
        let wake_at = timers.next().map(|t| service.clock.instant_at(t));
        let wake_at = [wake_at, later_at].into_iter().flatten().min();
        tokio::select! {
            _ = &mut shutdown => return,
            _ = service.woken() => {}
            _ = sleep_until(wake_at) => {}
        }
    }
}

/// One decision on `focus`: read what it reaches, decide, apply. The changes applied name
/// what to look at next (through [`Service::publish`]); the plan's next instant becomes the
/// timer of every language the step read.
async fn step(
    service: &Service,
    focus: &Focus,
    now: Timestamp,
    timers: &mut Timers,
) -> Result<(), StoreError> {
    let policy = service.policy();
    let scope = match policy.mode {
        OfferMode::Sequential => Scope::Best,
        OfferMode::Parallel => Scope::Everyone,
    };
    let snapshot = service
        .store
        .snapshot(scope, focus, &policy.routing, now)
        .await?;
    let plan = matcher::decide(&snapshot, now, &policy);
    // Decisions of one plan touch distinct interpreters and requests, so they go to the
    // store together (their round trips overlap): first what frees (an expiry frees its
    // request for a new offer), then the offers.
    let (offers, others): (Vec<Decision>, Vec<Decision>) = plan
        .decisions
        .into_iter()
        .partition(|d| matches!(d, Decision::Offer { .. }));
    let offered = !offers.is_empty();
    for phase in [others, offers] {
        let applied = phase
            .into_iter()
            .map(|d| apply(service, &policy, d, now, &snapshot));
        for result in futures_util::future::join_all(applied).await {
            result?;
        }
    }
    for tag in &snapshot.languages {
        match plan.wake_at {
            Some(at) => timers.languages.insert(tag.clone(), at),
            None => timers.languages.remove(tag),
        };
    }
    timers.deadline = [timers.deadline, snapshot.next_deadline]
        .into_iter()
        .flatten()
        .min();
    // Requests behind the head of a long queue were left out: after this step's offers,
    // the next ones may be served too.
    if snapshot.more_waiting && offered {
        service.look_at(Focus {
            languages: snapshot.languages.iter().cloned().collect(),
            ..Focus::default()
        });
    }
    Ok(())
}

/// Apply one decision, publishing what it changed.
async fn apply(
    service: &Service,
    policy: &matcher::Policy,
    decision: Decision,
    now: Timestamp,
    snapshot: &matcher::Snapshot,
) -> Result<(), StoreError> {
    // The language to look at again if the decision lost a race.
    let mut retry = None;
    let result = match decision {
        Decision::Expire(id) => {
            tracing::info!(offer_id = %id, "offer deadline passed");
            service
                .store
                .close_offer(&id, Outcome::Expired, now, &service.rules)
                .await
        }
        Decision::Widen { request, tier } => {
            tracing::info!(request_id = %request, tier, "routing widened");
            service.store.widen(&request, tier, now).await
        }
        Decision::GiveUp(id) => {
            tracing::warn!(request_id = %id, "nobody accepted in time; request unfilled");
            let change = service
                .store
                .finish_request(&id, Finish::GiveUp, now, &service.rules)
                .await;
            // A chat caller is told (by the instance that gave up, so once).
            if let Ok(c) = &change {
                for r in c.requests.iter().filter(|r| r.id == id) {
                    if r.channel == crate::domain::request::Channel::Chat {
                        service.tell_caller(r, "chat-unfilled").await;
                    }
                }
            }
            change
        }
        Decision::Offer {
            request,
            interpreter,
            deadline,
        } => {
            // The snapshot has what the offer needs: no extra round trip to the store.
            let Some(req) = snapshot.requests().iter().find(|r| r.id == request) else {
                return Ok(());
            };
            retry = Some(Focus::language(req.language.clone(), req.group.clone()));
            let offer = Offer {
                id: OfferId::generate(),
                request,
                interpreter,
                language: req.language.clone(),
                priority: req.priority,
                created_at: now,
                deadline,
                outcome: None,
                closed_at: None,
            };
            let exclusive = policy.mode == OfferMode::Sequential;
            service.store.open_offer(offer, exclusive).await
        }
    };
    match result {
        Ok(change) => {
            service.publish(change);
            Ok(())
        }
        // Somebody else got there first (an accept, another instance's offer to the same
        // interpreter). The request this was for still needs someone: look again, on
        // what the store says now.
        Err(StoreError::Conflict(c)) => {
            tracing::debug!(conflict = %c, "decision no longer applies");
            if let Some(focus) = retry {
                service.look_at(focus);
            }
            Ok(())
        }
        Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn a_due_timer_names_its_language_and_leaves_the_others() {
        let mut timers = Timers::default();
        timers.languages.insert("tzo".parse().unwrap(), t(10));
        timers.languages.insert("yua".parse().unwrap(), t(20));
        timers.deadline = Some(t(15));
        let mut focus = Focus::default();
        assert!(!timers.take_due(t(9), &mut focus));
        assert!(focus.is_empty());
        assert_eq!(timers.next(), Some(t(10)));
        assert!(!timers.take_due(t(10), &mut focus));
        assert_eq!(focus.languages, ["tzo".parse().unwrap()].into());
        assert!(timers.take_due(t(16), &mut focus));
        assert_eq!(timers.next(), Some(t(20)));
    }

    #[tokio::test(start_paused = true)]
    async fn another_instances_change_waits_for_the_backup_delay() {
        let mut work = Work::default();
        let tzo: LanguageTag = "tzo".parse().unwrap();
        work.add_later(Focus {
            languages: [tzo.clone()].into(),
            ..Focus::default()
        });
        let (now, later_at) = work.take();
        assert!(now.is_empty(), "not before the delay");
        assert_eq!(later_at, Some(tokio::time::Instant::now() + BACKUP_DELAY));
        tokio::time::advance(BACKUP_DELAY).await;
        let (now, later_at) = work.take();
        assert_eq!(now.languages, [tzo].into());
        assert_eq!(later_at, None);
    }
}

//! The dispatcher: one loop that turns the matcher's plans into store transitions.
//!
//! It runs when woken (a request was created, an interpreter became available, an offer
//! closed) or when the plan's next instant arrives (an offer deadline, a wrap-up ending, a
//! retry becoming allowed). It never polls: an idle router sleeps until one of those.
//! Several dispatchers may run against one store; the store re-checks every decision.

use std::sync::Arc;

use crate::adapters::store::{Finish, StoreError};
use crate::app::service::Service;
use crate::domain::ids::OfferId;
use crate::domain::offer::{Offer, Outcome};
use crate::logic::matcher::{self, Decision};

/// How long to wait before retrying when the store itself failed.
const BACKEND_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Sleep until `at`, or forever when there is nothing to wait for.
pub async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Run until `shutdown` resolves.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let wake_at = match step(&service).await {
            Ok(Some(t)) => Some(service.clock.instant_at(t)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "dispatcher could not read the store; retrying");
                Some(tokio::time::Instant::now() + BACKEND_RETRY)
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = service.woken() => {}
            _ = sleep_until(wake_at) => {}
        }
    }
}

/// Decide and apply until the plan has nothing more to do now; return when to look again.
pub async fn step(service: &Service) -> Result<Option<jiff::Timestamp>, StoreError> {
    // Expiries and give-ups free interpreters and requests, which can enable offers that
    // the same plan could not see; a few rounds settle it.
    for _ in 0..8 {
        let now = service.now();
        let policy = service.policy();
        let scope = match policy.mode {
            crate::logic::matcher::OfferMode::Sequential => crate::adapters::store::Scope::Best,
            crate::logic::matcher::OfferMode::Parallel => crate::adapters::store::Scope::Everyone,
        };
        let snapshot = service.store.snapshot(scope, &policy.routing, now).await?;
        let plan = matcher::decide(&snapshot, now, &policy);
        let mut again = false;
        let mut offered = false;
        for decision in plan.decisions {
            offered |= matches!(decision, Decision::Offer { .. });
            again |= apply(service, &policy, decision, now, &snapshot).await?;
        }
        // Requests behind the head of a long queue were left out: after this round's
        // offers, the next ones may be served too.
        again |= snapshot.more_waiting && offered;
        if !again {
            return Ok(plan.wake_at);
        }
    }
    Ok(Some(service.now()))
}

/// Apply one decision. Returns whether matching should run again right away.
async fn apply(
    service: &Service,
    policy: &matcher::Policy,
    decision: Decision,
    now: jiff::Timestamp,
    snapshot: &matcher::Snapshot,
) -> Result<bool, StoreError> {
    // Offers only take; expiries and give-ups free something that another offer can use.
    let frees = !matches!(decision, Decision::Offer { .. });
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
                return Ok(false);
            };
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
            let exclusive = policy.mode == crate::logic::matcher::OfferMode::Sequential;
            service.store.open_offer(offer, exclusive).await
        }
    };
    match result {
        Ok(change) => {
            let again = frees && !change.is_empty();
            service.announce(change);
            Ok(again)
        }
        // Somebody else got there first (an accept, another instance). Whatever they did
        // is published and wakes a dispatcher; deciding again now would only race them.
        Err(StoreError::Conflict(c)) => {
            tracing::debug!(conflict = %c, "decision no longer applies");
            Ok(false)
        }
        Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

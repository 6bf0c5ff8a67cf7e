//! Availability follows on-call schedules: at a window's start an interpreter becomes
//! available, at its end offline (closing open offers), each change an event with reason
//! `schedule`. Only boundaries act, so an interpreter who says "not now" inside a window
//! stays offline until the next window starts, and one who goes on call outside any window
//! stays so until the next window ends.
//!
//! One loop, driven by timers: it sleeps until the earliest next boundary of any schedule,
//! or until an interpreter changes (a new schedule), never polling. Several instances may
//! run it against one store: setting an availability that is already set changes nothing,
//! so each boundary makes one event.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::roster::Availability;
use crate::service::Service;
use crate::store::StoreError;

/// After an interpreter change, wait this long for more before reading the roster again.
const SETTLE: Duration = Duration::from_millis(100);
const BACKEND_RETRY: Duration = Duration::from_secs(1);

/// Run until `shutdown` resolves.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut last = service.now();
    loop {
        let wake_at = match step(&service, last).await {
            Ok((now, next)) => {
                last = now;
                next.map(|t| service.clock.instant_at(t))
            }
            Err(e) => {
                tracing::error!(error = %e, "schedules: could not read the store; retrying");
                Some(tokio::time::Instant::now() + BACKEND_RETRY)
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = service.roster_changed() => tokio::time::sleep(SETTLE).await,
            _ = crate::dispatch::sleep_until(wake_at) => {}
        }
    }
}

/// Apply every boundary passed since `last`; return the time now and the next boundary.
async fn step(
    service: &Service,
    last: Timestamp,
) -> Result<(Timestamp, Option<Timestamp>), StoreError> {
    let now = service.now();
    let mut next: Option<Timestamp> = None;
    for it in service.store.interpreters().await? {
        let Some(schedule) = &it.schedule else {
            continue;
        };
        if let Some(change) = schedule.changes(last, now).last() {
            let want = if change.on_call {
                Availability::Available
            } else {
                Availability::Offline
            };
            if it.availability != want {
                service.follow_schedule(&it.id, want).await?;
            }
        }
        if let Some(c) = schedule.next_change(now) {
            next = Some(next.map_or(c.at, |n| n.min(c.at)));
        }
    }
    Ok((now, next))
}

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
//!
//! The same loop looks for coverage gaps: a language with requests in the last 30 days
//! and an hour within `PUENTE_GAP_ALERT_HOURS` with nobody on call is announced to
//! coordinators once per gap (an `alert` event, and the webhook), not once per check or per
//! instance. New demand can open a gap at any time, so gaps are looked for again at least
//! every ten minutes, and when a known gap comes within the horizon.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::alert::{Alert, NamedLanguage};
use jiff::{SignedDuration, Timestamp};

use crate::domain::language::LanguageTag;

use crate::adapters::store::StoreError;
use crate::app::service::Service;
use crate::domain::roster::Availability;

/// After an interpreter change, wait this long for more before reading the roster again.
const SETTLE: Duration = Duration::from_millis(100);
const BACKEND_RETRY: Duration = Duration::from_secs(1);
/// Gaps are looked for again at least this often...
const GAP_RECHECK: SignedDuration = SignedDuration::from_mins(10);
/// ...and at most this often when interpreters change (a schedule edited, say).
const GAP_RECHECK_AFTER_CHANGE: SignedDuration = SignedDuration::from_mins(1);

/// Run until `shutdown` resolves.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut last = service.now();
    let mut gaps = GapWatch::default();
    loop {
        let stepped = match step(&service, last).await {
            Ok((now, next)) => gaps.check(&service, now).await.map(|g| (now, next, g)),
            Err(e) => Err(e),
        };
        let wake_at = match stepped {
            Ok((now, next, gap_check)) => {
                last = now;
                let t = next.map_or(gap_check, |n| n.min(gap_check));
                Some(service.clock.instant_at(t))
            }
            Err(e) => {
                tracing::error!(error = %e, "schedules: could not read the store; retrying");
                Some(tokio::time::Instant::now() + BACKEND_RETRY)
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = service.roster_changed() => {
                tokio::time::sleep(SETTLE).await;
                gaps.soon(service.now());
            }
            _ = crate::app::dispatch::sleep_until(wake_at) => {}
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

/// Which coverage gaps were announced: per language, up to when (so that a gap that goes
/// on, or that the sliding horizon makes longer, is not announced again).
#[derive(Default)]
struct GapWatch {
    announced_until: HashMap<LanguageTag, Timestamp>,
    last_check: Option<Timestamp>,
    next_check: Option<Timestamp>,
}

impl GapWatch {
    /// Interpreters changed: look again within a minute of the last look.
    fn soon(&mut self, now: Timestamp) {
        let soon = self
            .last_check
            .map_or(now, |l| (l + GAP_RECHECK_AFTER_CHANGE).max(now));
        self.next_check = Some(self.next_check.map_or(soon, |n| n.min(soon)));
    }

    /// Announce gaps within the horizon if it is time to look; when to look next.
    async fn check(&mut self, service: &Service, now: Timestamp) -> Result<Timestamp, StoreError> {
        if let Some(t) = self.next_check {
            if t > now {
                return Ok(t);
            }
        }
        let horizon = SignedDuration::from_hours(i64::from(service.gap_alert_hours));
        let grid = service.grid(service.gap_alert_hours as usize + 24).await?;
        let mut next = now + GAP_RECHECK;
        for gap in grid.gaps {
            if gap.from > now + horizon {
                next = next.min(gap.from - horizon);
                continue;
            }
            if self
                .announced_until
                .get(&gap.tag)
                .is_some_and(|until| gap.from < *until)
            {
                self.announced_until.insert(gap.tag.clone(), gap.to);
                continue;
            }
            self.announced_until.insert(gap.tag.clone(), gap.to);
            // Another instance may have announced it already.
            let key = format!("gap:{}:{}", gap.tag, gap.from.as_second());
            let keep = gap.to + SignedDuration::from_hours(24);
            if !service.store.claim_once(&key, keep, now).await? {
                continue;
            }
            // Named in the hotline's own language: alerts go to every coordinator at once.
            let name = service
                .catalogue
                .display_name(&gap.tag, service.prompts.negotiate(None).tag());
            service
                .alert(Alert::CoverageGap {
                    language: NamedLanguage {
                        tag: gap.tag.clone(),
                        name,
                    },
                    from: gap.from,
                    to: gap.to,
                    within_hours: service.gap_alert_hours,
                })
                .await?;
        }
        self.last_check = Some(now);
        self.next_check = Some(next);
        Ok(next)
    }
}

//! Overload made visible: every few seconds, each language whose requests arrive faster
//! than its interpreters take them (a backlog that grows) is announced to coordinators,
//! once per language while it lasts (see `Service::watch_overload`). The figures come from
//! the changes every instance sees, so instances agree; the store's claim keeps the alert
//! to one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::app::service::Service;

const EVERY: Duration = Duration::from_secs(15);

/// Run until `shutdown` resolves.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut seeded = false;
    let mut announced = HashSet::new();
    loop {
        if !seeded {
            match service.seed_demand().await {
                Ok(()) => seeded = true,
                Err(e) => tracing::warn!(error = %e, "cannot read what waits; trying again"),
            }
        }
        if let Err(e) = service.watch_overload(&mut announced).await {
            tracing::warn!(error = %e, "cannot announce an overload; trying again");
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

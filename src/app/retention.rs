//! The history's retention: finished requests older than `PUENTE_REQUEST_RETENTION_DAYS`
//! (with their offers and conversations) leave the store, so that it holds what the
//! retention promises and no more. Each instance prunes every few minutes; pruning is one
//! atomic step per batch, so instances pruning at once forget each request once.

use std::sync::Arc;
use std::time::Duration;

use crate::app::service::Service;

/// How often the history is pruned.
const EVERY: Duration = Duration::from_secs(600);

/// Run until `shutdown` resolves.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        match service.prune_history().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(forgotten = n, "requests past the retention forgotten"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the history; trying again later"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

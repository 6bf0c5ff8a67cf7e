//! Leases on callers' calls: the loop that keeps this instance's hold on the calls its
//! telephone bridge holds, and settles the calls of instances that died.
//!
//! A caller's call lives in the PBX, held by the instance whose bridge answered it. When
//! that instance dies, the call goes with it (the restarted instance, or Asterisk, clears
//! the channels), but the request and its interpreter stay `connected` in a shared store
//! unless someone notices. So each phone request names its holder (`Request::held_by`),
//! each instance renews a lease in the store a few times per lease period, and every
//! instance that has renewed its own lease for a whole period finishes, periodically, the
//! requests whose holder's lease lapsed (`Service::settle_lapsed_calls`). With the
//! in-memory store the same path runs (there is nothing to settle after a restart: the
//! memory went with the process).

use std::sync::Arc;

use crate::app::service::Service;

/// Run until `shutdown` resolves: renew this instance's lease, settle lapsed ones.
pub async fn run(service: Arc<Service>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    // A third of the lease: two renewals may fail (a Redis blip) before the lease lapses.
    let every = service.call_lease / 3;
    // Another instance's lease may have lapsed only because the store was unreachable for
    // everyone (a Redis outage longer than a lease). So this instance settles others'
    // calls only once it has itself renewed without failure for a whole lease: by then
    // every live instance has renewed too, and what is still lapsed is really dead.
    let mut renewing_since: Option<tokio::time::Instant> = None;
    loop {
        match service.renew_lease().await {
            Ok(()) => {
                renewing_since.get_or_insert_with(tokio::time::Instant::now);
            }
            Err(e) => {
                renewing_since = None;
                tracing::warn!(error = %e, "cannot renew this instance's lease on its calls");
            }
        }
        let settled = renewing_since.is_some_and(|t| t.elapsed() >= service.call_lease);
        if settled {
            match service.settle_lapsed_calls().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(settled = n, "calls of a stopped instance settled"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot settle the calls of stopped instances")
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// This instance is stopping and its calls went back to the dialplan: give up the lease
/// and finish their requests now rather than a lease later.
pub async fn release(service: &Service) {
    if let Err(e) = service.drop_lease().await {
        tracing::warn!(error = %e, "cannot drop this instance's lease");
        return;
    }
    if let Err(e) = service.settle_lapsed_calls().await {
        tracing::warn!(error = %e, "cannot finish this instance's calls");
    }
}

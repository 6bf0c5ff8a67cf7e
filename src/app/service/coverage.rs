//! Coverage: supply and demand per language, the schedule grid, and alerts to
//! coordinators.

use super::{Result, Service};
use crate::adapters::store::StoreError;
use crate::app::auth::Coordinator;
use crate::logic::coverage::LanguageCoverage;

impl Service {
    /// Interpreters on call per language and hour for the next `days` days, with the gaps
    /// of languages in demand (coordinators).
    pub async fn schedule_grid(
        &self,
        _: &Coordinator,
        days: u32,
    ) -> Result<crate::logic::coverage::Grid> {
        Ok(self.grid(days as usize * 24).await?)
    }

    /// The coverage grid for the next `hours` hours from the store as it is now.
    pub async fn grid(
        &self,
        hours: usize,
    ) -> std::result::Result<crate::logic::coverage::Grid, StoreError> {
        let interpreters = self.store.interpreters().await?;
        let requests = self.store.requests(None).await?;
        Ok(crate::logic::coverage::schedule_grid(
            &interpreters,
            &requests,
            self.now(),
            &self.time_zone,
            hours,
        ))
    }

    /// Tell coordinators (every instance's live streams, and the webhook if configured).
    pub async fn alert(
        &self,
        alert: crate::domain::alert::Alert,
    ) -> std::result::Result<(), StoreError> {
        tracing::warn!(kind = alert.kind(), "alert to coordinators");
        let change = self.store.broadcast_alert(&alert).await?;
        self.publish(change);
        if let Some(hook) = self.alert_webhook.clone() {
            let body = serde_json::to_string(&alert).unwrap_or_default();
            tokio::spawn(async move {
                match hook.post_json(body).await {
                    Ok(status) if (200..300).contains(&status) => {}
                    Ok(status) => tracing::warn!(status, "alert webhook refused the alert"),
                    Err(e) => tracing::warn!(error = %e, "alert webhook unreachable"),
                }
            });
        }
        Ok(())
    }

    /// Supply and demand per language, for coordinators.
    pub async fn coverage(&self, _: &Coordinator) -> Result<Vec<LanguageCoverage>> {
        let interpreters = self.store.interpreters().await?;
        let requests = self.store.requests(None).await?;
        Ok(crate::logic::coverage::coverage(
            &interpreters,
            &requests,
            self.now(),
        ))
    }
}

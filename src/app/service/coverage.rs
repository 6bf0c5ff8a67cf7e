//! Coverage: supply and demand per language, the schedule grid, and alerts to
//! coordinators.

use super::{Result, Service};
use crate::adapters::store::listing::Listing;
use crate::adapters::store::StoreError;
use crate::app::auth::Coordinator;
use crate::domain::alert::{Alert, NamedLanguage};
use crate::logic::coverage::{LanguageCoverage, DEMAND_WINDOW, WINDOW};

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
        let since = self
            .now()
            .saturating_sub(DEMAND_WINDOW)
            .unwrap_or(self.now());
        let requests = self.every_request(Listing::since(since)).await?;
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

    /// Read what waits now into the demand figures (an instance that starts with a
    /// backlog knows it before the backlog changes).
    pub async fn seed_demand(&self) -> std::result::Result<(), StoreError> {
        let waiting = self.every_request(Listing::waiting()).await?;
        let now = self.now();
        let mut demand = self.demand.lock().unwrap_or_else(|p| p.into_inner());
        for r in &waiting {
            demand.observe(r, now);
        }
        Ok(())
    }

    /// Tell coordinators of each language whose demand exceeds the roster, once per
    /// language while it lasts (`announced`: this instance's languages still over) and at
    /// most once an hour across instances.
    pub async fn watch_overload(
        &self,
        announced: &mut std::collections::HashSet<crate::domain::language::LanguageTag>,
    ) -> std::result::Result<(), StoreError> {
        let now = self.now();
        let loads = self.loads();
        announced.retain(|l| loads.iter().any(|(t, load)| t == l && load.over_capacity()));
        for (tag, load) in loads {
            if !load.over_capacity() || announced.contains(&tag) {
                continue;
            }
            announced.insert(tag.clone());
            let key = format!("overload:{tag}");
            if !self
                .store
                .claim_once(&key, now + jiff::SignedDuration::from_hours(1), now)
                .await?
            {
                continue;
            }
            let name = self
                .catalogue
                .display_name(&tag, self.prompts.negotiate(None).tag());
            self.alert(Alert::DemandExceedsRoster {
                language: NamedLanguage { tag, name },
                waiting: load.waiting,
                arrivals_per_hour: load.arrivals_per_hour.round() as u32,
                connections_per_hour: load.connections_per_hour.round() as u32,
            })
            .await?;
        }
        Ok(())
    }

    /// Supply and demand per language, for coordinators.
    pub async fn coverage(&self, _: &Coordinator) -> Result<Vec<LanguageCoverage>> {
        let interpreters = self.store.interpreters().await?;
        // What waits, however old, and what came in the window.
        let since = self.now().saturating_sub(WINDOW).unwrap_or(self.now());
        let mut requests = self.every_request(Listing::waiting()).await?;
        requests.extend(
            self.every_request(Listing::since(since))
                .await?
                .into_iter()
                .filter(|r| !r.state.is_pending()),
        );
        Ok(crate::logic::coverage::coverage(
            &interpreters,
            &requests,
            self.now(),
        ))
    }
}

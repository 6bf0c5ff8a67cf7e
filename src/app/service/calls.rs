//! Calls held by a telephone bridge: queued under this instance's lease, and settled
//! when a holder's lease lapses.

use super::{Result, Service};
use crate::adapters::store::{Finish, StoreError};
use crate::app::auth::Operator;
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::language::LanguageTag;
use crate::domain::offer::Offer;
use crate::domain::request::{Channel, Priority, Request};
use crate::domain::roster::Interpreter;

impl Service {
    /// Queue a caller's telephone call, held by this instance's bridge under its lease.
    pub async fn queue_call(&self, tag: LanguageTag, priority: Priority) -> Result<Request> {
        let mut req = Request::new(tag, priority, Channel::Phone, self.now());
        req.group = self.catalogue.group_of(&req.language).cloned();
        req.held_by = Some(self.instance.clone());
        Ok(self.queue(&Operator::system(), req).await?.0)
    }

    /// Renew this instance's hold on its calls.
    pub async fn renew_lease(&self) -> std::result::Result<(), StoreError> {
        self.store
            .renew_lease(&self.instance, self.now(), self.call_lease)
            .await
    }

    /// Give up this instance's hold on its calls (it is stopping; they are gone).
    pub async fn drop_lease(&self) -> std::result::Result<(), StoreError> {
        self.store.drop_lease(&self.instance).await
    }

    /// Finish every request whose call was held by an instance whose lease lapsed: the
    /// instance died with the call, so nobody is on it any more. A connected request is
    /// completed and its interpreter freed, a waiting one cancelled, both with the reason
    /// `bridge_lost`. Any instance may do it, and several at once: finishing is
    /// idempotent.
    pub async fn settle_lapsed_calls(&self) -> std::result::Result<usize, StoreError> {
        let lapsed = self.store.lapsed_calls(self.now()).await?;
        let mut settled = 0;
        for id in lapsed {
            match self
                .store
                .finish_request(&id, Finish::Lost, self.now(), &self.rules)
                .await
            {
                Ok(change) => {
                    if !change.is_empty() {
                        tracing::warn!(request_id = %id, "the call was lost with the instance that held it; request finished");
                        settled += 1;
                    }
                    self.publish(change);
                }
                Err(StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(settled)
    }

    // What the call controller reads. It acts for the hotline rather than for a person,
    // so it reads without a proof; it is part of the application layer, and nothing
    // outside it can call these.

    /// A request as it stands.
    pub(in crate::app) async fn call_request(
        &self,
        id: &RequestId,
    ) -> std::result::Result<Option<Request>, StoreError> {
        self.store.request(id).await
    }

    /// An offer as it stands.
    pub(in crate::app) async fn call_offer(
        &self,
        id: &OfferId,
    ) -> std::result::Result<Option<Offer>, StoreError> {
        self.store.offer(id).await
    }

    /// The interpreter of an offer (to ring their phone).
    pub(in crate::app) async fn call_interpreter(
        &self,
        id: &InterpreterId,
    ) -> std::result::Result<Option<Interpreter>, StoreError> {
        self.store.interpreter(id).await
    }
}

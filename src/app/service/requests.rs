//! Requests and offers: a request from its language to its end, and the interpreter's
//! answer to an offer.

use super::{QueueInfo, Result, Service, ServiceError};
use crate::adapters::store::listing::{Listing, Page};
use crate::adapters::store::{Change, Finish, StoreError};
use crate::app::auth::{self, Me, Operator, Principal, Staff};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::language::{LanguageTag, Resolution};
use crate::domain::offer::{Offer, Outcome};
use crate::domain::request::{Channel, Priority, Request};
use crate::domain::roster::Interpreter;
use std::collections::HashMap;

impl Service {
    async fn own_offer(&self, me: &Me, id: &OfferId) -> Result<(Offer, InterpreterId)> {
        let me = me.id();
        let offer = self
            .store
            .offer(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("offer {id}")))?;
        if &offer.interpreter != me {
            return Err(ServiceError::Forbidden);
        }
        Ok((offer, me.clone()))
    }

    pub async fn accept_offer(&self, who: &Me, id: &OfferId) -> Result<Request> {
        let (offer, me) = self.own_offer(who, id).await?;
        let change = self.store.accept_offer(id, &me, self.now()).await?;
        let req = self.publish_and_read(change, &offer.request).await?;
        if req.channel == Channel::Chat {
            self.tell_caller(&req, "chat-interpreter-joined").await;
        }
        Ok(req)
    }

    pub async fn decline_offer(&self, who: &Me, id: &OfferId) -> Result<Offer> {
        let (offer, _) = self.own_offer(who, id).await?;
        if offer.outcome == Some(Outcome::Declined) {
            return Ok(offer); // Declining twice is harmless.
        }
        let change = self
            .store
            .close_offer(id, Outcome::Declined, self.now(), &self.rules)
            .await?;
        let closed = change.offers.iter().find(|o| &o.id == id).cloned();
        self.publish(change);
        Ok(closed.unwrap_or(offer))
    }

    /// An offer's phone rang out (a telephone bridge): the offer lapses as if its deadline
    /// had passed.
    pub async fn lapse_offer(&self, id: &OfferId) -> Result<()> {
        let change = self
            .store
            .close_offer(id, Outcome::Expired, self.now(), &self.rules)
            .await?;
        self.publish(change);
        Ok(())
    }

    /// Resolve what an operator typed to exactly one language tag.
    pub fn resolve_language(&self, query: &str) -> Result<LanguageTag> {
        match self.catalogue.resolve(query) {
            Resolution::Found(c) => Ok(c.language.tag.clone()),
            Resolution::Ambiguous(cs) => Err(ServiceError::AmbiguousLanguage {
                query: query.to_string(),
                candidates: cs.into_iter().map(|c| c.language.tag.clone()).collect(),
            }),
            Resolution::Unknown => Err(ServiceError::UnknownLanguage(query.to_string())),
        }
    }

    /// Detect the language of a caller's text. The text is neither stored nor logged.
    pub fn detect(&self, text: &str) -> Result<crate::logic::lid::Detection> {
        self.lid.detect(text).ok_or(ServiceError::NoLetters)
    }

    /// The language a request is for: what the operator named, or what the caller wrote
    /// when the detector is confident (otherwise the operator must choose).
    pub fn request_language(
        &self,
        language: Option<&str>,
        text: Option<&str>,
    ) -> Result<LanguageTag> {
        if let Some(l) = language {
            return self.resolve_language(l);
        }
        let text = text.ok_or_else(|| ServiceError::InvalidField {
            field: "language".into(),
            detail: "say which language the caller speaks (for example `tsotsil` or `tzo`), or send the caller's `text`".into(),
        })?;
        let d = self.detect(text)?;
        match d.language {
            Some(tag) if crate::logic::lid::is_contact_language(&tag) => {
                Err(ServiceError::NoInterpreterNeeded(tag))
            }
            Some(tag) => Ok(tag),
            None => Err(ServiceError::UncertainText(
                d.candidates.into_iter().map(|c| c.tag).collect(),
            )),
        }
    }

    pub async fn create_request(
        &self,
        who: &Operator,
        language: &str,
        priority: Priority,
        channel: Channel,
    ) -> Result<Request> {
        let tag = self.resolve_language(language)?;
        Ok(self
            .create_request_for(who, tag, priority, channel)
            .await?
            .0)
    }

    pub async fn create_request_for(
        &self,
        who: &Operator,
        tag: LanguageTag,
        priority: Priority,
        channel: Channel,
    ) -> Result<(Request, QueueInfo)> {
        let mut req = Request::new(tag, priority, channel, self.now());
        req.group = self.catalogue.group_of(&req.language).cloned();
        self.queue(who, req).await
    }

    /// Queue a new request (made with its `group`).
    pub(crate) async fn queue(&self, _: &Operator, req: Request) -> Result<(Request, QueueInfo)> {
        let place = self.store.insert_request(req.clone()).await?;
        self.publish(Change {
            requests: vec![req.clone()],
            places: vec![(req.id.clone(), place)],
            ..Change::default()
        });
        Ok((req, place))
    }

    async fn request_by_id(&self, id: &RequestId) -> Result<Request> {
        self.store
            .request(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("request {id}")))
    }

    pub async fn request(&self, who: &Principal, id: &RequestId) -> Result<Request> {
        let req = self.request_by_id(id).await?;
        auth::may_read_request(who, &req)?;
        Ok(req)
    }

    /// A page of the requests (operators and coordinators).
    pub async fn requests(&self, _: &Staff, listing: &Listing) -> Result<Page> {
        Ok(self.store.requests(listing).await?)
    }

    /// Forget finished requests created before the retention, a batch at a time; answers
    /// how many went.
    pub async fn prune_history(&self) -> std::result::Result<usize, StoreError> {
        let now = self.now();
        let before = now.saturating_sub(self.retention).unwrap_or(now);
        self.forget_finished_before(before).await
    }

    /// Forget every finished request created before `before`, a batch at a time.
    pub async fn forget_finished_before(
        &self,
        before: jiff::Timestamp,
    ) -> std::result::Result<usize, StoreError> {
        const BATCH: usize = 500;
        let mut total = 0;
        loop {
            let n = self.store.prune_requests(before, BATCH).await?;
            total += n;
            if n < BATCH {
                return Ok(total);
            }
        }
    }

    /// Every request of a listing, page after page (for summaries over a bounded range).
    pub async fn every_request(
        &self,
        mut listing: Listing,
    ) -> std::result::Result<Vec<Request>, StoreError> {
        let mut all = Vec::new();
        loop {
            let page = self.store.requests(&listing).await?;
            all.extend(page.requests);
            match page.next {
                Some(next) => listing.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    pub async fn cancel_request(&self, _: &Operator, id: &RequestId) -> Result<Request> {
        self.finish(id, Finish::Cancel).await
    }

    /// The manual bridge's outcome (operators): the interpreter is on the call, or could
    /// not be joined and the request waits again.
    pub async fn bridge(&self, _: &Operator, id: &RequestId, connected: bool) -> Result<Request> {
        let req = self.request_by_id(id).await?;
        let change = self.store.bridge(&req, connected, self.now()).await?;
        tracing::info!(request_id = %id, connected, "manual bridge");
        self.publish_and_read(change, id).await
    }

    pub async fn complete_request(&self, who: &Principal, id: &RequestId) -> Result<Request> {
        let req = self.request_by_id(id).await?;
        auth::may_complete_request(who, &req)?;
        self.finish(id, Finish::Complete).await
    }

    async fn finish(&self, id: &RequestId, how: Finish) -> Result<Request> {
        let change = self
            .store
            .finish_request(id, how, self.now(), &self.rules)
            .await?;
        self.publish_and_read(change, id).await
    }

    /// Publish a change and return request `id` as it left it (read again only when the
    /// change does not carry it: one round trip fewer on every finish).
    async fn publish_and_read(&self, change: Change, id: &RequestId) -> Result<Request> {
        let req = change.requests.iter().rev().find(|r| &r.id == id).cloned();
        self.publish(change);
        match req {
            Some(r) => Ok(r),
            None => self.request_by_id(id).await,
        }
    }

    /// Queue position, on-call count and open offers of those of `requests` waiting.
    pub async fn queue_info(&self, requests: &[Request]) -> Result<HashMap<RequestId, QueueInfo>> {
        Ok(self.store.places(requests).await?)
    }

    /// The interpreter a request was given to, to show with it (name, and the number the
    /// operator dials for a manual bridge). The caller has the request already, so may
    /// see who it went to.
    pub async fn interpreter_of(&self, req: &Request) -> Result<Option<Interpreter>> {
        match &req.interpreter {
            Some(id) => Ok(self.store.interpreter(id).await?),
            None => Ok(None),
        }
    }
}

//! The roster: interpreters, their profiles, availability, time off and open offers.

use super::{NewInterpreter, Result, Service, ServiceError};
use crate::adapters::store::{Change, Focus, Reason, StoreError};
use crate::app::auth::{self, Coordinator, ForInterpreter, Me};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::TokenHash;
use crate::domain::offer::Offer;
use crate::domain::roster::{Availability, Interpreter, LanguageSkill, Profile};

impl Service {
    /// Set an availability because a schedule boundary passed (an event with reason
    /// `schedule`).
    pub async fn follow_schedule(
        &self,
        id: &InterpreterId,
        availability: Availability,
    ) -> std::result::Result<(), StoreError> {
        match self
            .store
            .set_availability(id, availability, self.now(), Reason::Schedule)
            .await
        {
            Ok(change) => {
                tracing::info!(interpreter_id = %id, ?availability, "on-call schedule");
                self.publish(change);
                Ok(())
            }
            // Removed meanwhile: nothing to follow.
            Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Add an interpreter; returns it with its new token (shown once, stored hashed).
    pub async fn create_interpreter(
        &self,
        _: &Coordinator,
        new: NewInterpreter,
    ) -> Result<(Interpreter, String)> {
        let token = auth::new_token();
        let it = self.build_interpreter(new);
        self.store
            .insert_interpreter(it.clone(), Some(TokenHash::of(&token)))
            .await?;
        tracing::info!(interpreter_id = %it.id, "interpreter added");
        self.publish(Change {
            interpreters: vec![(it.clone(), Reason::Requested)],
            ..Change::default()
        });
        Ok((it, token))
    }

    /// Add an interpreter from a roster file at start (token optional, given hashed).
    pub async fn load_interpreter(
        &self,
        new: NewInterpreter,
        token: Option<TokenHash>,
    ) -> Result<()> {
        let it = self.build_interpreter(new);
        let id = it.id.clone();
        self.store.insert_interpreter(it, token).await?;
        self.look_at(Focus {
            interpreters: [id].into(),
            ..Focus::default()
        });
        Ok(())
    }

    /// Skills with their agrupación filled in from the catalogue.
    fn grouped(&self, mut skills: Vec<LanguageSkill>) -> Vec<LanguageSkill> {
        for s in &mut skills {
            s.group = self.catalogue.group_of(&s.tag).cloned();
        }
        skills
    }

    fn build_interpreter(&self, new: NewInterpreter) -> Interpreter {
        let now = self.now();
        // With a schedule, a new interpreter starts as the schedule says.
        let availability = match &new.schedule {
            Some(s) if s.on_call_at(now) => Availability::Available,
            Some(_) => Availability::Offline,
            None => new.availability,
        };
        Interpreter {
            id: new.id,
            name: new.name,
            phone: new.phone,
            languages: self.grouped(new.languages),
            availability,
            session: None,
            idle_since: now,
            ready_at: None,
            missed_in_row: 0,
            created_at: now,
            schedule: new.schedule,
            certification: new.certification,
            revision: 1,
        }
    }

    pub async fn interpreter(&self, who: &ForInterpreter) -> Result<Interpreter> {
        let id = who.id();
        self.store
            .interpreter(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))
    }

    pub async fn interpreters(&self, _: &Coordinator) -> Result<Vec<Interpreter>> {
        Ok(self.store.interpreters().await?)
    }

    /// Replace an interpreter's profile (coordinators only); with `expected`, only if the
    /// profile is still at that revision (else [`ServiceError::StaleProfile`]).
    pub async fn update_interpreter(
        &self,
        _: &Coordinator,
        id: &InterpreterId,
        mut profile: Profile,
        expected: Option<u64>,
    ) -> Result<Interpreter> {
        profile.languages = self.grouped(profile.languages);
        let change = self
            .store
            .update_interpreter(id, profile, expected, self.now())
            .await?;
        tracing::info!(interpreter_id = %id, "interpreter updated");
        let it = change.interpreters.first().map(|(it, _)| it.clone());
        self.publish(change);
        it.ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))
    }

    /// Add time off to an interpreter's schedule (the interpreter, or a coordinator): a
    /// dated "off" exception, in the schedule's time zone. Without a schedule, one is made
    /// (default time zone, no windows).
    pub async fn add_time_off(
        &self,
        who: &ForInterpreter,
        from: jiff::civil::DateTime,
        to: jiff::civil::DateTime,
    ) -> Result<Interpreter> {
        let id = who.id();
        let it = self
            .store
            .interpreter(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))?;
        let off = crate::domain::schedule::Exception {
            kind: crate::domain::schedule::ExceptionKind::Off,
            from,
            to,
        };
        // Checked against the schedule as read; the store appends in one step, so time off
        // or a profile edit that lands meanwhile is kept.
        let mut schedule = it
            .schedule
            .clone()
            .unwrap_or_else(crate::domain::schedule::Schedule::time_off_only);
        schedule.exceptions.push(off.clone());
        schedule.check().map_err(|e| ServiceError::InvalidField {
            field: "to".into(),
            detail: e.0,
        })?;
        // Time off that covers now acts now: there is no boundary left to cross.
        let now = self.now();
        let covers_now = jiff::tz::TimeZone::get(&schedule.time_zone).is_ok_and(|tz| {
            let instant =
                |dt: jiff::civil::DateTime| dt.to_zoned(tz.clone()).map(|z| z.timestamp());
            matches!((instant(from), instant(to)), (Ok(f), Ok(t)) if f <= now && now < t)
        });
        let change = self.store.add_time_off(id, off, now).await?;
        tracing::info!(interpreter_id = %id, "time off added");
        let updated = change.interpreters.first().map(|(it, _)| it.clone());
        self.publish(change);
        let mut updated =
            updated.ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))?;
        if covers_now && updated.availability == Availability::Available {
            self.follow_schedule(id, Availability::Offline).await?;
            updated.availability = Availability::Offline;
        }
        Ok(updated)
    }

    pub async fn remove_interpreter(&self, _: &Coordinator, id: &InterpreterId) -> Result<()> {
        let change = self.store.remove_interpreter(id, self.now()).await?;
        tracing::info!(interpreter_id = %id, "interpreter removed");
        self.publish(change);
        Ok(())
    }

    pub async fn set_availability(
        &self,
        who: &ForInterpreter,
        availability: Availability,
    ) -> Result<Interpreter> {
        let id = who.id();
        let change = self
            .store
            .set_availability(id, availability, self.now(), Reason::Requested)
            .await?;
        self.publish(change);
        self.store
            .interpreter(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("interpreter {id}")))
    }

    /// Every offer made to an interpreter that the store still has, open or closed.
    pub async fn offer_history(&self, who: &ForInterpreter) -> Result<Vec<Offer>> {
        Ok(self.store.offers_for(who.id(), false).await?)
    }

    /// The interpreter themselves was shown these offers (their list, their live stream):
    /// letting one of them expire now counts as a miss. A store that does not answer
    /// loses only that (an expiry then counts for nothing).
    pub async fn offers_seen(&self, me: &Me, offers: &[Offer]) {
        for o in offers
            .iter()
            .filter(|o| o.is_open() && &o.interpreter == me.id())
        {
            self.offer_reached(&o.id).await;
        }
    }

    /// An open offer reached its interpreter (shown, or their phone rang).
    pub(crate) async fn offer_reached(&self, id: &crate::domain::ids::OfferId) {
        if let Err(e) = self.store.offer_seen(id, self.now()).await {
            tracing::warn!(offer_id = %id, error = %e, "could not record that an offer was seen");
        }
    }

    pub async fn open_offers(&self, who: &ForInterpreter) -> Result<Vec<Offer>> {
        let id = who.id();
        if self.store.interpreter(id).await?.is_none() {
            return Err(ServiceError::NotFound(format!("interpreter {id}")));
        }
        let now = self.now();
        let mut offers = self.store.offers_for(id, true).await?;
        // An offer past its deadline is closed even if the dispatcher has not got to it yet.
        offers.retain(|o| o.deadline > now);
        Ok(offers)
    }
}

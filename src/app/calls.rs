//! The call controller: drives a telephone [`CallBridge`] from the service, and the service
//! from the bridge. It knows nothing of Asterisk.
//!
//! - A caller who arrives becomes a `phone` request (the dialplan names the language) and
//!   waits in a conference of their own; a language puente cannot resolve hands the caller
//!   back to the PBX's dialplan.
//! - Each open offer of such a request rings the interpreter's phone until the offer's
//!   deadline. Answered, the offer prompt plays; `1` accepts (the interpreter joins the
//!   conference, then the operator if one is configured), `2` declines. Busy or a hang-up
//!   declines, no answer lets the offer lapse. A closed offer hangs its leg up.
//! - The caller hanging up cancels a waiting request and completes a connected one; the
//!   interpreter hanging up completes it. A completed request releases every channel and
//!   the conference; a cancelled or unfilled one hands the caller back to the dialplan.
//!
//! Offers reached by phone feed the same offer state machine as the API: the interpreter may
//! as well accept on the web page while the phone rings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::adapters::bridge::{CallBridge, CallId, LegEnd, LegEvent, LegId, PlaybackId};
use crate::app::auth::{Me, Operator, Principal};
use crate::app::service::{Notice, Service};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::named::Named;
use crate::domain::offer::{Offer, Outcome};
use crate::domain::request::{Priority, Request, RequestState};
use crate::domain::roster::Interpreter;

/// How the controller reaches people.
#[derive(Debug, Clone)]
pub struct Dialling {
    /// The interpreter's endpoint: a template with `{phone}` and/or `{id}`.
    pub endpoint: String,
    /// The third party who joins once an interpreter accepts, if any.
    pub operator_endpoint: Option<String>,
    /// The offer prompt.
    pub offer_media: String,
}

impl Dialling {
    pub fn endpoint_of(&self, it: &Interpreter) -> String {
        self.endpoint
            .replace("{phone}", it.phone.as_str())
            .replace("{id}", it.id.as_str())
    }
}

/// How long the operator's phone rings.
const OPERATOR_RING: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum LegRole {
    Interpreter {
        offer: OfferId,
        interpreter: InterpreterId,
    },
    Operator,
}

#[derive(Debug)]
struct LegState {
    call: CallId,
    role: LegRole,
    /// In the caller's conference.
    joined: bool,
    /// The offer prompt playing on it, stopped at the first digit: the PBX keeps a leg
    /// that is still playing out of the conference until the prompt ends.
    playback: Option<PlaybackId>,
}

#[derive(Debug, Default)]
struct Calls {
    /// Each call's request.
    requests: HashMap<CallId, RequestId>,
    by_request: HashMap<RequestId, CallId>,
    legs: HashMap<LegId, LegState>,
    by_offer: HashMap<OfferId, LegId>,
}

impl Calls {
    fn forget(&mut self, call: &CallId) {
        if let Some(r) = self.requests.remove(call) {
            self.by_request.remove(&r);
        }
        let legs: Vec<LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| &l.call == call)
            .map(|(id, _)| id.clone())
            .collect();
        for leg in legs {
            self.forget_leg(&leg);
        }
    }

    fn forget_leg(&mut self, leg: &LegId) -> Option<LegState> {
        let l = self.legs.remove(leg)?;
        if let LegRole::Interpreter { offer, .. } = &l.role {
            self.by_offer.remove(offer);
        }
        Some(l)
    }
}

/// One call's controller: the caller's request, the legs rung for it. Each call has its
/// own task, so one call waiting on the PBX (a slow REST request) never holds up another
/// call's events; a call's own events are handled in order.
struct Controller {
    service: Arc<Service>,
    bridge: Arc<dyn CallBridge>,
    dialling: Dialling,
    calls: Calls,
}

/// What the router hands a call's task.
enum Input {
    Leg(LegEvent),
    /// puente is stopping: back to the dialplan.
    Stop,
}

/// Run the controller until `shutdown`; calls still up then go back to the dialplan.
///
/// This task only routes: each event of the PBX goes to its call's task (started when the
/// caller arrives); it never waits on the PBX or the store itself.
pub async fn run(
    service: Arc<Service>,
    bridge: Arc<dyn CallBridge>,
    dialling: Dialling,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut calls: HashMap<CallId, mpsc::UnboundedSender<Input>> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut prompt_missing = false;
    tokio::pin!(shutdown);
    loop {
        let ev = tokio::select! {
            ev = bridge.next_event() => ev,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            _ = &mut shutdown => break,
        };
        let Some(ev) = ev else { break };
        calls.retain(|_, tx| !tx.is_closed());
        let call = match &ev {
            LegEvent::PromptFailed { media, leg, .. } => {
                if !std::mem::replace(&mut prompt_missing, true) {
                    tracing::warn!(%media, leg = %leg, "the offer prompt cannot be played: interpreters called by phone hear nothing; install it (docs/bridges.md, `puente prompts` prints its text)");
                }
                continue;
            }
            LegEvent::Resynced { .. } => {
                for tx in calls.values() {
                    let _ = tx.send(Input::Leg(ev.clone()));
                }
                continue;
            }
            LegEvent::CallerArrived { call, .. } => {
                // Unbounded on purpose: the router never waits for one call's task, so a
                // call waiting on the PBX does not delay another; a call's events are few
                // (its legs), and the bridge's own backlog bounds what comes in.
                let (tx, rx) = mpsc::unbounded_channel();
                // Subscribed before its request exists: it sees every change of it.
                let notices = service.bus.subscribe();
                let c = Controller {
                    service: service.clone(),
                    bridge: bridge.clone(),
                    dialling: dialling.clone(),
                    calls: Calls::default(),
                };
                tasks.spawn(c.run(rx, notices));
                calls.insert(call.clone(), tx);
                call.clone()
            }
            LegEvent::CallerGone { call }
            | LegEvent::Answered { call, .. }
            | LegEvent::Digit { call, .. }
            | LegEvent::Ended { call, .. } => call.clone(),
        };
        match calls.get(&call) {
            Some(tx) => {
                let _ = tx.send(Input::Leg(ev));
            }
            // A leg of a call that is over answered: nothing of ours stays up.
            None => {
                if let LegEvent::Answered { leg, .. } = ev {
                    let bridge = bridge.clone();
                    tokio::spawn(async move { bridge.hang_up(&leg).await });
                }
            }
        }
    }
    // Whoever is still waiting is better off in the dialplan than in a silent conference.
    for tx in calls.values() {
        let _ = tx.send(Input::Stop);
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}

impl Controller {
    /// Handle this call until it is over (or puente stops).
    async fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<Input>,
        mut notices: tokio::sync::broadcast::Receiver<Arc<Notice>>,
    ) {
        let mut arrived = false;
        loop {
            tokio::select! {
                n = notices.recv() => match n {
                    Ok(n) => self.on_notice(&n).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "call controller missed changes; re-reading its call");
                        self.reread().await;
                    }
                    Err(RecvError::Closed) => return,
                },
                input = inbox.recv() => match input {
                    Some(Input::Leg(ev)) => {
                        arrived |= matches!(ev, LegEvent::CallerArrived { .. });
                        self.on_leg_event(ev).await;
                    }
                    Some(Input::Stop) | None => {
                        let calls: Vec<CallId> = self.calls.requests.keys().cloned().collect();
                        for call in calls {
                            let _ = tokio::time::timeout(Duration::from_secs(2), self.bridge.hand_back(&call)).await;
                        }
                        return;
                    }
                },
            }
            // The call is over (or could not be queued) and everything of it was let go.
            if arrived && self.calls.requests.is_empty() && self.calls.legs.is_empty() {
                return;
            }
        }
    }
}

impl Controller {
    async fn on_notice(&mut self, n: &Notice) {
        match n {
            Notice::Offer(o) if self.calls.by_request.contains_key(&o.request) => {
                self.on_offer(o).await
            }
            Notice::Request(n) if self.calls.by_request.contains_key(&n.request.id) => {
                self.on_request(&n.request).await
            }
            _ => {}
        }
    }

    async fn reread(&mut self) {
        let ids: Vec<RequestId> = self.calls.by_request.keys().cloned().collect();
        for id in ids {
            if let Ok(Some(r)) = self.service.call_request(&id).await {
                self.on_request(&r).await;
            }
        }
    }

    async fn on_offer(&mut self, o: &Offer) {
        let Some(call) = self.calls.by_request.get(&o.request).cloned() else {
            return;
        };
        match (o.outcome, self.calls.by_offer.get(&o.id).cloned()) {
            (None, None) => self.ring(&call, o).await,
            (None, Some(_)) | (Some(Outcome::Accepted), _) => {}
            (Some(_), Some(leg)) => {
                // Declined, expired or withdrawn: the phone stops ringing.
                self.calls.forget_leg(&leg);
                self.hang_up(&leg).await;
            }
            (Some(_), None) => {}
        }
    }

    /// Ring the interpreter of an open offer until its deadline.
    async fn ring(&mut self, call: &CallId, o: &Offer) {
        let it = match self.service.call_interpreter(&o.interpreter).await {
            Ok(Some(it)) => it,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(offer_id = %o.id, error = %e, "cannot read the interpreter to ring");
                return;
            }
        };
        let left = Duration::try_from(o.deadline.duration_since(self.service.now()))
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1));
        let endpoint = self.dialling.endpoint_of(&it);
        match self.bridge.invite(call, &endpoint, left).await {
            Ok(leg) => {
                tracing::info!(offer_id = %o.id, leg = %leg, "ringing the interpreter");
                self.service.offer_reached(&o.id).await;
                self.calls.by_offer.insert(o.id.clone(), leg.clone());
                self.calls.legs.insert(
                    leg,
                    LegState {
                        call: call.clone(),
                        role: LegRole::Interpreter {
                            offer: o.id.clone(),
                            interpreter: o.interpreter.clone(),
                        },
                        joined: false,
                        playback: None,
                    },
                );
            }
            // The offer stays open: the interpreter may still accept on the web page.
            Err(e) => tracing::warn!(offer_id = %o.id, error = %e, "cannot ring the interpreter"),
        }
    }

    async fn on_request(&mut self, r: &Request) {
        let Some(call) = self.calls.by_request.get(&r.id).cloned() else {
            return;
        };
        let outcome = match r.state {
            RequestState::Completed => self.bridge.release(&call).await,
            RequestState::Cancelled | RequestState::Unfilled => self.bridge.hand_back(&call).await,
            RequestState::Queued | RequestState::Offered | RequestState::Connected => return,
        };
        tracing::info!(request_id = %r.id, state = r.state.name(), "call ended by its request");
        if let Err(e) = outcome {
            tracing::warn!(request_id = %r.id, error = %e, "cannot end the call cleanly");
        }
        self.calls.forget(&call);
    }

    async fn on_leg_event(&mut self, ev: LegEvent) {
        match ev {
            LegEvent::CallerArrived { call, args } => self.caller_arrived(call, args).await,
            LegEvent::CallerGone { call } => self.caller_gone(&call).await,
            LegEvent::Answered { leg, .. } => self.answered(&leg).await,
            LegEvent::Digit { leg, digit, .. } => self.digit(&leg, digit).await,
            // The router reports it.
            LegEvent::PromptFailed { .. } => {}
            LegEvent::Ended { leg, why, .. } => self.ended(&leg, why).await,
            LegEvent::Resynced { calls, legs } => {
                let gone: Vec<CallId> = self
                    .calls
                    .requests
                    .keys()
                    .filter(|c| !calls.contains(*c))
                    .cloned()
                    .collect();
                let ended: Vec<LegId> = self
                    .calls
                    .legs
                    .keys()
                    .filter(|l| !legs.contains(*l))
                    .cloned()
                    .collect();
                tracing::info!(
                    calls_gone = gone.len(),
                    legs_gone = ended.len(),
                    "resynchronised with the PBX"
                );
                for leg in ended {
                    self.ended(&leg, LegEnd::HungUp).await;
                }
                for call in gone {
                    self.caller_gone(&call).await;
                }
            }
        }
    }

    async fn caller_arrived(&mut self, call: CallId, args: Vec<String>) {
        let language = args.first().map(String::as_str).unwrap_or("");
        let priority = match args.get(1).map(String::as_str) {
            Some("urgent") => Priority::Urgent,
            _ => Priority::Normal,
        };
        // The dialplan's words are not logged: they could be anything it was given.
        let tag = match self.service.resolve_language(language) {
            Ok(tag) => tag,
            Err(e) => {
                tracing::warn!(call = %call, error = %e, "caller's language not understood; back to the dialplan");
                let _ = self.bridge.hand_back(&call).await;
                return;
            }
        };
        let req = match self.service.queue_call(tag, priority).await {
            Ok(req) => req,
            Err(e) => {
                tracing::error!(call = %call, error = %e, "cannot queue the caller; back to the dialplan");
                let _ = self.bridge.hand_back(&call).await;
                return;
            }
        };
        tracing::info!(request_id = %req.id, call = %call, "caller queued");
        self.calls.requests.insert(call.clone(), req.id.clone());
        self.calls.by_request.insert(req.id.clone(), call.clone());
        if let Err(e) = self.bridge.take_call(&call).await {
            tracing::warn!(request_id = %req.id, error = %e, "cannot hold the caller");
            self.caller_gone(&call).await;
        }
    }

    /// The caller hung up: a waiting request is cancelled, a connected one completed.
    async fn caller_gone(&mut self, call: &CallId) {
        let Some(id) = self.calls.requests.get(call).cloned() else {
            return;
        };
        tracing::info!(request_id = %id, "caller hung up");
        let state = match self.service.call_request(&id).await {
            Ok(Some(r)) => r.state,
            _ => RequestState::Cancelled,
        };
        let finished = match state {
            RequestState::Queued | RequestState::Offered => {
                Some(self.service.cancel_request(&Operator::system(), &id).await)
            }
            RequestState::Connected => Some(
                self.service
                    .complete_request(&Principal::Operator(Operator::system()), &id)
                    .await,
            ),
            _ => None,
        };
        if let Some(Err(e)) = finished {
            tracing::warn!(request_id = %id, error = %e, "cannot close the request");
        }
        if let Err(e) = self.bridge.release(call).await {
            tracing::warn!(request_id = %id, error = %e, "cannot release the call");
        }
        self.calls.forget(call);
    }

    async fn answered(&mut self, leg: &LegId) {
        let Some(l) = self.calls.legs.get(leg) else {
            // Not ours any more (the offer closed while it rang).
            self.hang_up(leg).await;
            return;
        };
        let call = l.call.clone();
        let offer = match &l.role {
            LegRole::Operator => {
                self.join(&call, leg).await;
                return;
            }
            LegRole::Interpreter { offer, .. } => offer.clone(),
        };
        match self.service.call_offer(&offer).await {
            Ok(Some(o)) if o.is_open() => {
                let language = self.service.prompts.negotiate(None).sound_language();
                match self
                    .bridge
                    .play(leg, &self.dialling.offer_media, &language)
                    .await
                {
                    Ok(playback) => {
                        if let Some(l) = self.calls.legs.get_mut(leg) {
                            l.playback = Some(playback);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(offer_id = %offer, error = %e, "cannot play the offer prompt")
                    }
                }
            }
            // Accepted on the web page while the phone rang.
            Ok(Some(o)) if o.outcome == Some(Outcome::Accepted) => self.join(&call, leg).await,
            _ => {
                self.calls.forget_leg(leg);
                self.hang_up(leg).await;
            }
        }
    }

    async fn digit(&mut self, leg: &LegId, digit: char) {
        let Some(LegState {
            role: LegRole::Interpreter { offer, interpreter },
            call,
            joined: false,
            ..
        }) = self.calls.legs.get(leg)
        else {
            return;
        };
        let (offer, who, call) = (
            offer.clone(),
            Me::on_the_line(interpreter.clone()),
            call.clone(),
        );
        // The first digit silences the prompt, so that joining is not held until it ends.
        if matches!(digit, '1' | '2') {
            let playing = self.calls.legs.get_mut(leg).and_then(|l| l.playback.take());
            if let Some(p) = playing {
                if let Err(e) = self.bridge.stop(&p).await {
                    tracing::warn!(leg = %leg, error = %e, "cannot stop the offer prompt");
                }
            }
        }
        match digit {
            '1' => match self.service.accept_offer(&who, &offer).await {
                Ok(req) => {
                    tracing::info!(request_id = %req.id, offer_id = %offer, "accepted by phone");
                    self.join(&call, leg).await;
                    if let Err(e) = self
                        .service
                        .bridge(&Operator::system(), &req.id, true)
                        .await
                    {
                        tracing::warn!(request_id = %req.id, error = %e, "cannot record the bridge");
                    }
                    if let Some(ep) = self.dialling.operator_endpoint.clone() {
                        match self.bridge.invite(&call, &ep, OPERATOR_RING).await {
                            Ok(op) => {
                                self.calls.legs.insert(
                                    op,
                                    LegState {
                                        call: call.clone(),
                                        role: LegRole::Operator,
                                        joined: false,
                                        playback: None,
                                    },
                                );
                            }
                            Err(e) => {
                                tracing::warn!(request_id = %req.id, error = %e, "cannot ring the operator")
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::info!(offer_id = %offer, error = %e, "accept by phone refused");
                    self.calls.forget_leg(leg);
                    self.hang_up(leg).await;
                }
            },
            '2' => {
                self.calls.forget_leg(leg);
                if let Err(e) = self.service.decline_offer(&who, &offer).await {
                    tracing::info!(offer_id = %offer, error = %e, "decline by phone refused");
                }
                self.hang_up(leg).await;
            }
            _ => {}
        }
    }

    async fn join(&mut self, call: &CallId, leg: &LegId) {
        match self.bridge.join(call, leg).await {
            Ok(()) => {
                if let Some(l) = self.calls.legs.get_mut(leg) {
                    l.joined = true;
                }
            }
            Err(e) => tracing::warn!(call = %call, leg = %leg, error = %e, "cannot join the leg"),
        }
    }

    async fn ended(&mut self, leg: &LegId, why: LegEnd) {
        let Some(l) = self.calls.forget_leg(leg) else {
            return;
        };
        let LegRole::Interpreter { offer, interpreter } = l.role else {
            if !l.joined {
                tracing::warn!(leg = %leg, ?why, "the operator's phone was not reached");
            }
            return;
        };
        let me = Me::on_the_line(interpreter);
        if l.joined {
            // The interpreter hung up: the interpretation is over.
            if let Some(id) = self.calls.requests.get(&l.call).cloned() {
                tracing::info!(request_id = %id, "interpreter hung up");
                let who = Principal::Interpreter(me);
                if let Err(e) = self.service.complete_request(&who, &id).await {
                    tracing::warn!(request_id = %id, error = %e, "cannot complete the request");
                }
            }
            return;
        }
        tracing::info!(offer_id = %offer, ?why, "interpreter's phone ended");
        let closed = match why {
            LegEnd::NoAnswer => self.service.lapse_offer(&offer).await,
            LegEnd::Busy | LegEnd::Failed | LegEnd::HungUp => {
                self.service.decline_offer(&me, &offer).await.map(|_| ())
            }
        };
        if let Err(e) = closed {
            // Typically closed already (accepted on the web, withdrawn): nothing to do.
            tracing::debug!(offer_id = %offer, error = %e, "offer not closed by its leg");
        }
        // Whatever ended it, nothing of ours stays up.
        self.hang_up(leg).await;
    }

    async fn hang_up(&self, leg: &LegId) {
        if let Err(e) = self.bridge.hang_up(leg).await {
            tracing::warn!(leg = %leg, error = %e, "cannot hang up");
        }
    }
}

//! Asterisk REST Interface (ARI): a thin client of our own (the ARI crates on crates.io are
//! young or abandoned) implementing [`CallBridge`].
//!
//! puente registers a Stasis application by opening the event WebSocket
//! (`/ari/events?app=…`, Basic auth) and keeps it open, reconnecting with backoff. A channel
//! that enters the application without puente having originated it is a caller (the
//! dialplan's `Stasis(app,language[,urgent])`). Interpreters are rung with a one-step
//! originate (`POST /channels?endpoint=…&app=…&timeout=…&channelId=…`), so puente knows
//! each leg's id before any event about it arrives.
//!
//! What a leg's events mean, as recorded from a real Asterisk (`tests/data/ari`):
//! - answered: `Dial{ANSWER}`, then `StasisStart`;
//! - busy: `Dial{BUSY}` and `ChannelDestroyed` (cause 17 on SIP; **0** on Local channels, so
//!   the dial status is read first);
//! - no answer: `ChannelDestroyed` with cause 19 after the timeout, no `StasisStart` and no
//!   final `Dial`;
//! - nothing arrives for a channel after its `StasisEnd` (sometimes a `ChannelDestroyed`
//!   does, sometimes not): `StasisEnd` ends a leg.
//!
//! When the WebSocket drops, events are lost. Once it is back, `GET /channels` tells which
//! calls and legs still exist ([`LegEvent::Resynced`]).

pub mod model;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite;

use super::{BridgeError, CallBridge, CallId, LegEnd, LegEvent, LegId, PlaybackId};
use model::{cause, Event};
use secrecy::{ExposeSecret, SecretString};

/// The deployment's ARI settings (`PUENTE_ARI_*`).
#[derive(Debug, Clone)]
pub struct AriConfig {
    /// Asterisk's HTTP server, e.g. `http://127.0.0.1:8088` (ARI lives under `/ari`).
    pub url: String,
    pub user: String,
    pub password: SecretString,
    /// The Stasis application puente registers.
    pub app: String,
    /// How to dial an interpreter: a template with `{phone}` and/or `{id}`.
    pub endpoint: String,
    /// Who joins as the third party once an interpreter accepts (an operator's phone), if
    /// anyone.
    pub operator_endpoint: Option<String>,
    /// The offer prompt (`sound:puente-offer`): "a caller needs you; 1 accepts, 2 declines".
    pub offer_media: String,
}

pub const DEFAULT_APP: &str = "puente";
pub const DEFAULT_OFFER_MEDIA: &str = "sound:puente-offer";

/// What puente knows of one leg it rang.
#[derive(Debug)]
struct Leg {
    call: CallId,
    dialstatus: Option<String>,
    answered: bool,
}

#[derive(Debug, Default)]
struct Call {
    bridge: Option<String>,
    legs: Vec<LegId>,
    /// Legs put into the bridge (to put back if the bridge is lost).
    joined: Vec<LegId>,
    gone: bool,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<CallId, Call>,
    legs: HashMap<String, Leg>,
}

pub struct Ari {
    http: reqwest::Client,
    /// `…/ari`, no trailing slash.
    base: String,
    config: AriConfig,
    state: Mutex<State>,
    events: tokio::sync::Mutex<mpsc::Receiver<LegEvent>>,
    stop: watch::Sender<bool>,
}

impl Ari {
    /// Start the event connection (in the background, reconnecting) and return the bridge.
    pub fn start(config: AriConfig) -> Arc<Ari> {
        let (tx, rx) = mpsc::channel(EVENT_BACKLOG);
        let ari = Arc::new(Ari {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base: format!("{}/ari", config.url.trim_end_matches('/')),
            config,
            state: Mutex::new(State::default()),
            events: tokio::sync::Mutex::new(rx),
            stop: watch::Sender::new(false),
        });
        tokio::spawn(listen(Arc::downgrade(&ari), ari.stop.subscribe(), tx));
        ari
    }

    /// Close the event connection; [`CallBridge::next_event`] then returns `None`.
    pub fn shut_down(&self) {
        self.stop.send_replace(true);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn authorization(&self) -> String {
        let pair = format!(
            "{}:{}",
            self.config.user,
            self.config.password.expose_secret()
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    fn events_url(&self) -> String {
        let ws = self
            .base
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        format!(
            "{ws}/events?app={}&subscribeAll=false",
            encode(&self.config.app)
        )
    }

    /// One REST call. `404` is [`BridgeError::Gone`].
    async fn rest(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, BridgeError> {
        let res = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .query(query)
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .send()
            .await
            .map_err(|e| BridgeError::Unavailable(format!("{method} {path}: {e}")))?;
        match res.status() {
            s if s.is_success() => Ok(res),
            reqwest::StatusCode::NOT_FOUND => Err(BridgeError::Gone(path.to_string())),
            s => {
                // ARI explains itself in `{"message": …}`; it names channels, never callers.
                let body = res.text().await.unwrap_or_default();
                Err(BridgeError::Unavailable(format!(
                    "{method} {path}: {s} {}",
                    body.chars().take(200).collect::<String>()
                )))
            }
        }
    }

    /// A REST call that tears something down: what is gone already is fine.
    async fn undo(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(), BridgeError> {
        match self.rest(method, path, query).await {
            Ok(_) | Err(BridgeError::Gone(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn hang_up_channel(&self, id: &str) -> Result<(), BridgeError> {
        let path = format!("/channels/{}", encode(id));
        self.undo(reqwest::Method::DELETE, &path, &[("reason", "normal")])
            .await
    }

    async fn destroy_bridge(&self, id: &str) -> Result<(), BridgeError> {
        let path = format!("/bridges/{}", encode(id));
        self.undo(reqwest::Method::DELETE, &path, &[]).await
    }

    /// Give a channel back to the dialplan (its next priority runs).
    async fn continue_in_dialplan(&self, id: &str) -> Result<(), BridgeError> {
        let path = format!("/channels/{}/continue", encode(id));
        self.undo(reqwest::Method::POST, &path, &[]).await
    }

    /// Forget a call; returns its bridge and the legs still up.
    fn forget(&self, call: &CallId) -> (Option<String>, Vec<LegId>) {
        let mut st = self.state();
        let Some(c) = st.calls.remove(call) else {
            return (None, Vec::new());
        };
        let legs: Vec<LegId> = c
            .legs
            .into_iter()
            .filter(|l| st.legs.remove(&l.0).is_some())
            .collect();
        (c.bridge, legs)
    }

    /// What an event means for puente, updating what it knows.
    fn translate(&self, ev: Event) -> Option<LegEvent> {
        let mut st = self.state();
        match ev {
            Event::StasisStart { args, channel } => {
                if let Some(leg) = st.legs.get_mut(&channel.id) {
                    leg.answered = true;
                    return Some(LegEvent::Answered {
                        call: leg.call.clone(),
                        leg: LegId(channel.id),
                    });
                }
                let call = CallId(channel.id);
                st.calls.insert(call.clone(), Call::default());
                Some(LegEvent::CallerArrived { call, args })
            }
            Event::StasisEnd { channel } => {
                if st.legs.contains_key(&channel.id) {
                    return end_leg(&mut st, &channel.id, LegEnd::HungUp);
                }
                caller_gone(&mut st, channel.id)
            }
            Event::Dial { dialstatus, peer } => {
                let leg = st.legs.get_mut(&peer.id)?;
                let why = match dialstatus.as_str() {
                    "BUSY" => LegEnd::Busy,
                    "NOANSWER" | "CANCEL" => LegEnd::NoAnswer,
                    "CHANUNAVAIL" | "CONGESTION" => LegEnd::Failed,
                    _ => {
                        leg.dialstatus = Some(dialstatus);
                        return None;
                    }
                };
                leg.dialstatus = Some(dialstatus);
                end_leg(&mut st, &peer.id, why)
            }
            Event::ChannelDestroyed { cause, channel } => {
                if let Some(leg) = st.legs.get(&channel.id) {
                    let why = if leg.answered {
                        LegEnd::HungUp
                    } else if leg.dialstatus.as_deref() == Some("BUSY") {
                        LegEnd::Busy
                    } else {
                        // Local channels report busy as cause 0, hence the dial status first.
                        match cause {
                            cause::USER_BUSY => LegEnd::Busy,
                            cause::NO_ANSWER | cause::NO_USER_RESPONSE => LegEnd::NoAnswer,
                            _ => LegEnd::Failed,
                        }
                    };
                    return end_leg(&mut st, &channel.id, why);
                }
                caller_gone(&mut st, channel.id)
            }
            Event::ChannelDtmfReceived { digit, channel } => {
                let call = st.legs.get(&channel.id)?.call.clone();
                let digit = digit.chars().next()?;
                Some(LegEvent::Digit {
                    call,
                    leg: LegId(channel.id),
                    digit,
                })
            }
            Event::PlaybackFinished { playback } if playback.state == "failed" => {
                let leg = playback.target_uri.strip_prefix("channel:")?;
                let call = st.legs.get(leg)?.call.clone();
                Some(LegEvent::PromptFailed {
                    call,
                    leg: LegId(leg.to_string()),
                    media: playback.media_uri,
                })
            }
            Event::PlaybackFinished { .. }
            | Event::ChannelEnteredBridge { .. }
            | Event::ChannelLeftBridge { .. }
            | Event::BridgeDestroyed { .. }
            | Event::Other => None,
        }
    }

    /// After a reconnection: which of our calls and legs still exist. A call whose bridge
    /// was lost meanwhile gets a new one, with its caller and joined legs put back.
    async fn resync(&self) -> Result<LegEvent, BridgeError> {
        let channels: Vec<model::Channel> = self.get_list("/channels").await?;
        let bridges: Vec<model::Bridge> = self.get_list("/bridges").await?;
        let present: HashSet<String> = channels.into_iter().map(|c| c.id).collect();
        let bridged: HashSet<String> = bridges.into_iter().map(|b| b.id).collect();
        let (event, rebuild) = {
            let mut st = self.state();
            let gone: Vec<String> = st
                .legs
                .keys()
                .filter(|l| !present.contains(*l))
                .cloned()
                .collect();
            for l in gone {
                st.legs.remove(&l);
            }
            let live_legs: HashSet<LegId> = st.legs.keys().map(|l| LegId(l.clone())).collect();
            let mut calls = HashSet::new();
            let mut rebuild = Vec::new();
            for (id, call) in st.calls.iter_mut() {
                if !present.contains(&id.0) || call.gone {
                    call.gone = true;
                    continue;
                }
                calls.insert(id.clone());
                call.joined.retain(|l| live_legs.contains(l));
                if call.bridge.as_ref().is_some_and(|b| !bridged.contains(b)) {
                    rebuild.push((id.clone(), call.joined.clone()));
                }
            }
            (
                LegEvent::Resynced {
                    calls,
                    legs: live_legs,
                },
                rebuild,
            )
        };
        for (call, joined) in rebuild {
            tracing::warn!(call = %call, "the call's bridge was lost; making a new one");
            self.make_bridge(&call).await?;
            for leg in joined {
                self.join(&call, &leg).await?;
            }
        }
        Ok(event)
    }

    /// Before the first connection, what an earlier run of puente left behind (it stopped
    /// without cleaning up): its bridges are destroyed, its legs hung up, and callers still
    /// in the application go back to the dialplan, where the hotline takes them.
    async fn recover(&self) -> Result<(), BridgeError> {
        let channels: Vec<model::Channel> = self.get_list("/channels").await?;
        let bridges: Vec<model::Bridge> = self.get_list("/bridges").await?;
        let known: HashSet<String> = {
            let st = self.state();
            st.calls
                .keys()
                .map(|c| c.0.clone())
                .chain(st.legs.keys().cloned())
                .collect()
        };
        for b in bridges.iter().filter(|b| b.id.starts_with("puente-")) {
            tracing::warn!(bridge = %b.id, "destroying a bridge an earlier run left");
            self.destroy_bridge(&b.id).await?;
        }
        for c in channels.iter().filter(|c| !known.contains(&c.id)) {
            if c.id.starts_with("puente-") {
                tracing::warn!(leg = %c.id, "hanging up a leg an earlier run left");
                self.hang_up_channel(&c.id).await?;
            } else if c.dialplan.as_ref().and_then(|d| d.stasis_app())
                == Some(self.config.app.as_str())
            {
                tracing::warn!(call = %c.id, "a caller an earlier run left goes back to the dialplan");
                self.continue_in_dialplan(&c.id).await?;
            }
        }
        Ok(())
    }

    async fn get_list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, BridgeError> {
        self.rest(reqwest::Method::GET, path, &[])
            .await?
            .json()
            .await
            .map_err(|e| BridgeError::Unavailable(format!("GET {path}: {e}")))
    }

    /// A mixing bridge for the call, with the caller in it.
    async fn make_bridge(&self, call: &CallId) -> Result<(), BridgeError> {
        let bridge = format!("puente-{}", crate::domain::ids::random_hex(8));
        let name = format!("puente-{call}");
        self.rest(
            reqwest::Method::POST,
            "/bridges",
            &[("type", "mixing"), ("bridgeId", &bridge), ("name", &name)],
        )
        .await?;
        let known = match self.state().calls.get_mut(call) {
            Some(c) => {
                c.bridge = Some(bridge.clone());
                true
            }
            None => false,
        };
        if !known {
            // Hung up meanwhile.
            self.destroy_bridge(&bridge).await?;
            return Err(BridgeError::Gone(call.0.clone()));
        }
        self.rest(
            reqwest::Method::POST,
            &format!("/bridges/{bridge}/addChannel"),
            &[("channel", &call.0)],
        )
        .await?;
        Ok(())
    }
}

fn end_leg(st: &mut State, id: &str, why: LegEnd) -> Option<LegEvent> {
    let leg = st.legs.remove(id)?;
    Some(LegEvent::Ended {
        call: leg.call,
        leg: LegId(id.to_string()),
        why,
    })
}

fn caller_gone(st: &mut State, id: String) -> Option<LegEvent> {
    let call = CallId(id);
    let c = st.calls.get_mut(&call)?;
    if std::mem::replace(&mut c.gone, true) {
        return None;
    }
    Some(LegEvent::CallerGone { call })
}

/// Everything but RFC 3986's unreserved characters is encoded.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode a path segment or query value.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Events read from Asterisk and not yet taken by the call controller, at most. Past it
/// the reader waits (and Asterisk's WebSocket with it) rather than holding an unbounded
/// backlog in memory; the controller hands each event to its call's task at once, so it
/// takes them as fast as they come unless it is stuck.
const EVENT_BACKLOG: usize = 1024;

/// Hand `event` to the controller, waiting while the backlog is full; false when puente
/// stops or nobody listens any more.
async fn forward(
    tx: &mpsc::Sender<LegEvent>,
    event: LegEvent,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        sent = tx.send(event) => sent.is_ok(),
        _ = stopped(stop) => false,
    }
}

/// Read events from an open WebSocket and hand them on until the connection ends
/// (true: reconnect) or puente stops (false).
async fn pump<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    ari: &std::sync::Weak<Ari>,
    tx: &mpsc::Sender<LegEvent>,
    stop: &mut watch::Receiver<bool>,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stopped(stop) => {
                let _ = ws.close(None).await;
                return false;
            }
        };
        let text = match msg {
            Some(Ok(tungstenite::Message::Text(t))) => t,
            Some(Ok(tungstenite::Message::Close(_))) | None => return true,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "ARI event connection failed");
                return true;
            }
        };
        let Some(a) = ari.upgrade() else { return false };
        match serde_json::from_str::<Event>(text.as_str()) {
            Ok(ev) => {
                if let Some(le) = a.translate(ev) {
                    drop(a);
                    if !forward(tx, le, stop).await {
                        return false;
                    }
                }
            }
            // Not logged whole: events carry callers' numbers.
            Err(e) => tracing::warn!(error = %e, "unreadable ARI event"),
        }
    }
}

/// Keep the event WebSocket open until shut down, reconnecting with backoff, and turn
/// events into [`LegEvent`]s.
async fn listen(
    ari: std::sync::Weak<Ari>,
    mut stop: watch::Receiver<bool>,
    tx: mpsc::Sender<LegEvent>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    let mut recovered = false;
    loop {
        let Some(a) = ari.upgrade() else { return };
        let request = match tungstenite::client::IntoClientRequest::into_client_request(
            a.events_url(),
        ) {
            Ok(mut r) => {
                if let Ok(v) = a.authorization().parse() {
                    r.headers_mut().insert("authorization", v);
                }
                r
            }
            Err(e) => {
                tracing::error!(error = %e, "PUENTE_ARI_URL is not a URL ARI can be reached at");
                return;
            }
        };
        // Before the application is registered (no caller can enter it meanwhile): clear
        // what an earlier run left.
        if !recovered {
            match a.recover().await {
                Ok(()) => recovered = true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot clear what an earlier run left in Asterisk")
                }
            }
        }
        drop(a);
        let connecting = tokio::select! {
            c = tokio_tungstenite::connect_async(request) => c,
            _ = stopped(&mut stop) => return,
        };
        match connecting {
            Ok((mut ws, _)) => {
                backoff = Duration::from_millis(100);
                tracing::info!("ARI event connection open");
                if connected_before {
                    let Some(a) = ari.upgrade() else { return };
                    match a.resync().await {
                        Ok(ev) => {
                            if !forward(&tx, ev, &mut stop).await {
                                return;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot resynchronise with Asterisk"),
                    }
                }
                connected_before = true;
                if !pump(&mut ws, &ari, &tx, &mut stop).await {
                    return;
                }
                tracing::warn!("ARI event connection lost; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the ARI event connection yet"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopped(&mut stop) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[async_trait]
impl CallBridge for Ari {
    async fn take_call(&self, call: &CallId) -> Result<(), BridgeError> {
        let channel = encode(&call.0);
        self.rest(
            reqwest::Method::POST,
            &format!("/channels/{channel}/answer"),
            &[],
        )
        .await?;
        self.make_bridge(call).await
    }

    async fn invite(
        &self,
        call: &CallId,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<LegId, BridgeError> {
        let id = format!("puente-{}", crate::domain::ids::random_hex(8));
        {
            let mut st = self.state();
            let Some(c) = st.calls.get_mut(call) else {
                return Err(BridgeError::Gone(call.0.clone()));
            };
            c.legs.push(LegId(id.clone()));
            // Known before the originate returns: its first events may come sooner.
            st.legs.insert(
                id.clone(),
                Leg {
                    call: call.clone(),
                    dialstatus: None,
                    answered: false,
                },
            );
        }
        let secs = timeout.as_secs().max(1).to_string();
        let res = self
            .rest(
                reqwest::Method::POST,
                "/channels",
                &[
                    ("endpoint", endpoint),
                    ("app", &self.config.app),
                    ("appArgs", "leg"),
                    ("timeout", &secs),
                    ("channelId", &id),
                ],
            )
            .await;
        if let Err(e) = res {
            self.state().legs.remove(&id);
            return Err(e);
        }
        Ok(LegId(id))
    }

    async fn play(
        &self,
        leg: &LegId,
        media: &str,
        language: &str,
    ) -> Result<PlaybackId, BridgeError> {
        let playback = format!("puente-{}", crate::domain::ids::random_hex(8));
        self.rest(
            reqwest::Method::POST,
            &format!("/channels/{}/play", encode(&leg.0)),
            &[
                ("media", media),
                ("lang", language),
                ("playbackId", &playback),
            ],
        )
        .await?;
        Ok(PlaybackId(playback))
    }

    async fn stop(&self, playback: &PlaybackId) -> Result<(), BridgeError> {
        let path = format!("/playbacks/{}", encode(&playback.0));
        self.undo(reqwest::Method::DELETE, &path, &[]).await
    }

    async fn join(&self, call: &CallId, leg: &LegId) -> Result<(), BridgeError> {
        let bridge = self
            .state()
            .calls
            .get(call)
            .and_then(|c| c.bridge.clone())
            .ok_or_else(|| BridgeError::Gone(call.0.clone()))?;
        self.rest(
            reqwest::Method::POST,
            &format!("/bridges/{bridge}/addChannel"),
            &[("channel", &leg.0)],
        )
        .await?;
        if let Some(c) = self.state().calls.get_mut(call) {
            if !c.joined.contains(leg) {
                c.joined.push(leg.clone());
            }
        }
        Ok(())
    }

    async fn hang_up(&self, leg: &LegId) -> Result<(), BridgeError> {
        {
            let mut st = self.state();
            if let Some(l) = st.legs.remove(&leg.0) {
                if let Some(c) = st.calls.get_mut(&l.call) {
                    c.legs.retain(|x| x != leg);
                }
            }
        }
        self.hang_up_channel(&leg.0).await
    }

    async fn release(&self, call: &CallId) -> Result<(), BridgeError> {
        let (bridge, legs) = self.forget(call);
        for leg in legs {
            self.hang_up_channel(&leg.0).await?;
        }
        self.hang_up_channel(&call.0).await?;
        if let Some(b) = bridge {
            self.destroy_bridge(&b).await?;
        }
        Ok(())
    }

    async fn hand_back(&self, call: &CallId) -> Result<(), BridgeError> {
        let (bridge, legs) = self.forget(call);
        for leg in legs {
            self.hang_up_channel(&leg.0).await?;
        }
        if let Some(b) = bridge {
            self.destroy_bridge(&b).await?;
        }
        self.continue_in_dialplan(&call.0).await
    }

    async fn next_event(&self) -> Option<LegEvent> {
        let mut rx = self.events.lock().await;
        let mut stop = self.stop.subscribe();
        tokio::select! {
            ev = rx.recv() => ev,
            _ = stopped(&mut stop) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ari() -> Arc<Ari> {
        // Not started: translation only.
        let (_tx, rx) = mpsc::channel(1);
        Arc::new(Ari {
            http: reqwest::Client::new(),
            base: "http://127.0.0.1:9/ari".into(),
            config: AriConfig {
                url: "http://127.0.0.1:9".into(),
                user: "u".into(),
                password: SecretString::from("p"),
                app: "puente".into(),
                endpoint: "PJSIP/{phone}".into(),
                operator_endpoint: None,
                offer_media: DEFAULT_OFFER_MEDIA.into(),
            },
            state: Mutex::new(State::default()),
            events: tokio::sync::Mutex::new(rx),
            stop: watch::Sender::new(false),
        })
    }

    fn leg(a: &Ari, call: &str, id: &str) {
        let mut st = a.state();
        st.calls.entry(CallId(call.into())).or_default();
        st.legs.insert(
            id.into(),
            Leg {
                call: CallId(call.into()),
                dialstatus: None,
                answered: false,
            },
        );
    }

    fn ev(json: &str) -> Event {
        serde_json::from_str(json).unwrap()
    }

    fn chan(id: &str) -> String {
        format!(r#"{{"id":"{id}","name":"x","state":"Up"}}"#)
    }

    #[test]
    fn local_channel_busy_is_read_from_the_dial_status() {
        let a = ari();
        leg(&a, "c", "l");
        let dial = format!(
            r#"{{"type":"Dial","dialstatus":"BUSY","peer":{}}}"#,
            chan("l")
        );
        assert_eq!(
            a.translate(ev(&dial)),
            Some(LegEvent::Ended {
                call: CallId("c".into()),
                leg: LegId("l".into()),
                why: LegEnd::Busy
            })
        );
        // The destroyed channel (cause 0) that follows says nothing more.
        let gone = format!(
            r#"{{"type":"ChannelDestroyed","cause":0,"channel":{}}}"#,
            chan("l")
        );
        assert_eq!(a.translate(ev(&gone)), None);
    }

    #[test]
    fn causes_tell_busy_from_no_answer_before_an_answer() {
        for (cause, why) in [
            (17, LegEnd::Busy),
            (19, LegEnd::NoAnswer),
            (34, LegEnd::Failed),
        ] {
            let a = ari();
            leg(&a, "c", "l");
            let gone = format!(
                r#"{{"type":"ChannelDestroyed","cause":{cause},"channel":{}}}"#,
                chan("l")
            );
            assert_eq!(
                a.translate(ev(&gone)),
                Some(LegEvent::Ended {
                    call: CallId("c".into()),
                    leg: LegId("l".into()),
                    why
                })
            );
        }
    }

    #[test]
    fn stasis_end_ends_a_leg_and_a_caller_once() {
        let a = ari();
        leg(&a, "c", "l");
        let start = format!(
            r#"{{"type":"StasisStart","args":["leg"],"channel":{}}}"#,
            chan("l")
        );
        assert_eq!(
            a.translate(ev(&start)),
            Some(LegEvent::Answered {
                call: CallId("c".into()),
                leg: LegId("l".into())
            })
        );
        let end = format!(r#"{{"type":"StasisEnd","channel":{}}}"#, chan("l"));
        assert_eq!(
            a.translate(ev(&end)),
            Some(LegEvent::Ended {
                call: CallId("c".into()),
                leg: LegId("l".into()),
                why: LegEnd::HungUp
            })
        );
        let caller_end = format!(r#"{{"type":"StasisEnd","channel":{}}}"#, chan("c"));
        let destroyed = format!(
            r#"{{"type":"ChannelDestroyed","cause":16,"channel":{}}}"#,
            chan("c")
        );
        assert_eq!(
            a.translate(ev(&caller_end)),
            Some(LegEvent::CallerGone {
                call: CallId("c".into())
            })
        );
        assert_eq!(a.translate(ev(&destroyed)), None);
    }

    #[test]
    fn unknown_channels_entering_stasis_are_callers() {
        let a = ari();
        let start = format!(
            r#"{{"type":"StasisStart","args":["tzo","urgent"],"channel":{}}}"#,
            chan("caller-1")
        );
        assert_eq!(
            a.translate(ev(&start)),
            Some(LegEvent::CallerArrived {
                call: CallId("caller-1".into()),
                args: vec!["tzo".into(), "urgent".into()]
            })
        );
        // Digits and dial events of channels puente did not ring mean nothing.
        let dtmf = format!(
            r#"{{"type":"ChannelDtmfReceived","digit":"1","channel":{}}}"#,
            chan("other")
        );
        assert_eq!(a.translate(ev(&dtmf)), None);
    }

    #[test]
    fn encoding_keeps_ids_and_escapes_the_rest() {
        assert_eq!(encode("1795935627.15"), "1795935627.15");
        assert_eq!(encode("PJSIP/+52@trunk"), "PJSIP%2F%2B52%40trunk");
    }
}

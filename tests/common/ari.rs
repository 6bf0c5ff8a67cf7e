//! A test double of Asterisk's REST Interface, built from the recordings of a real Asterisk
//! in `tests/data/ari` (REST paths, parameters, status codes, event JSON and event order).
//! Real HTTP and a real WebSocket on a free local port; puente cannot tell it from a PBX
//! whose phones follow a script.
//!
//! What it reproduces from the recordings, quirks included:
//! - originate answers `200` with the channel at once; its fate comes as events:
//!   answered = `ChannelStateChange Up`, `Dial ANSWER`, `StasisStart`; busy = `Dial BUSY`,
//!   `ChannelHangupRequest`, `ChannelDestroyed` with cause 17 (**cause 0 on `Local/`
//!   channels**); no answer = `Dial RINGING` then, after the timeout, `ChannelDestroyed`
//!   with cause 19 and no `StasisStart` or final `Dial`;
//! - `Local/` channels come in pairs: the `;2` half sends events of its own under another id;
//! - hanging up a channel in Stasis: `ChannelHangupRequest`, `ChannelLeftBridge` (if
//!   bridged), `StasisEnd`, and for originated legs a late `ChannelDestroyed`; a SIP caller
//!   sends nothing after its `StasisEnd`;
//! - a bridge's technology turns from `simple_bridge` to `softmix` with a third channel;
//! - errors: `404 {"message": "Channel not found"}`, `422` for a channel not in Stasis,
//!   `401` without Basic auth;
//! - events that happen while no WebSocket is connected are lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// What an interpreter's phone does when rung.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phone {
    /// Answers after `ring`, then presses 1 after `think`.
    Accepts { ring: Duration, think: Duration },
    /// Answers, then presses 2.
    Declines,
    /// Busy at once.
    Busy,
    /// Rings until the originate timeout.
    NoAnswer,
    /// Answers and presses nothing.
    Silent,
    /// Answers, presses 1, and hangs up `after` later.
    AcceptsThenHangsUp { after: Duration },
}

impl Phone {
    pub fn accepts() -> Phone {
        Phone::Accepts {
            ring: Duration::from_millis(50),
            think: Duration::from_millis(100),
        }
    }
}

#[derive(Debug, Clone)]
struct Chan {
    id: String,
    name: String,
    state: String,
    in_stasis: bool,
    bridge: Option<String>,
    /// Originated (a leg puente rang), not a caller.
    originated: bool,
    args: Vec<String>,
    number: String,
    context: String,
    /// The dialplan application it is in (`Stasis` for callers handed to puente).
    app: String,
}

#[derive(Debug, Clone)]
struct Br {
    id: String,
    name: String,
    channels: Vec<String>,
}

#[derive(Default)]
struct Inner {
    seq: u64,
    channels: BTreeMap<String, Chan>,
    bridges: BTreeMap<String, Br>,
    clients: Vec<mpsc::UnboundedSender<Option<String>>>,
    phones: HashMap<String, Phone>,
    refuse: bool,
    handed_back: Vec<String>,
    log: Vec<String>,
    endpoints_rung: Vec<String>,
    /// How long a prompt plays (Asterisk plays the whole file unless told to stop).
    prompt_length: Duration,
    /// Sounds that are not installed: their playback fails at once.
    missing_media: Vec<String>,
    /// Prompts playing: playback id → channel.
    playing: HashMap<String, String>,
    /// How long the next answer request takes.
    answer_delay: Option<Duration>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Told whenever a prompt ends.
    prompt_over: tokio::sync::Notify,
    app: String,
    auth: String,
}

type S = Arc<Shared>;

pub struct AriDouble {
    pub url: String,
    shared: S,
}

pub const USER: &str = "puente";
pub const PASSWORD: &str = "s3cret";
pub const APP: &str = "puente";
/// The number every simulated caller calls from: it must never reach an interpreter.
pub const CALLER_NUMBER: &str = "+529671112233";

impl AriDouble {
    pub async fn start() -> AriDouble {
        let auth = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{USER}:{PASSWORD}")
            )
        );
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                prompt_length: Duration::from_millis(30),
                ..Inner::default()
            }),
            prompt_over: tokio::sync::Notify::new(),
            app: APP.into(),
            auth,
        });
        let router = Router::new()
            .route("/ari/events", get(events))
            .route("/ari/channels", post(originate).get(list_channels))
            .route("/ari/channels/{id}", axum::routing::delete(hangup))
            .route("/ari/channels/{id}/answer", post(answer))
            .route("/ari/channels/{id}/play", post(play))
            .route("/ari/playbacks/{id}", axum::routing::delete(stop_playback))
            .route("/ari/channels/{id}/continue", post(continue_in_dialplan))
            .route("/ari/bridges", post(create_bridge).get(list_bridges))
            .route("/ari/bridges/{id}", get(get_bridge).delete(destroy_bridge))
            .route("/ari/bridges/{id}/addChannel", post(add_channel))
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                require_auth,
            ))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        AriDouble { url, shared }
    }

    /// The variables that point puente at this double; interpreters are dialled as
    /// `PJSIP/<id>`.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PUENTE_ARI_URL", self.url.clone()),
            ("PUENTE_ARI_USER", USER.into()),
            ("PUENTE_ARI_PASSWORD", PASSWORD.into()),
            ("PUENTE_ARI_APP", APP.into()),
            ("PUENTE_ARI_ENDPOINT", "PJSIP/{id}".into()),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    /// Script the phone at `endpoint` (e.g. `PJSIP/ana`).
    /// Make the next `POST /channels/{id}/answer` take this long.
    pub fn delay_next_answer(&self, by: Duration) {
        self.lock().answer_delay = Some(by);
    }

    /// Make every prompt play this long.
    pub fn prompt_length(&self, length: Duration) {
        self.lock().prompt_length = length;
    }

    /// Make a sound missing (as when the prompt was never installed).
    pub fn without_media(&self, media: &str) {
        self.lock().missing_media.push(media.into());
    }

    pub fn phone(&self, endpoint: &str, phone: Phone) {
        self.lock().phones.insert(endpoint.into(), phone);
    }

    /// A caller enters the Stasis application with these dialplan arguments.
    pub fn caller_arrives(&self, args: &[&str]) -> String {
        let mut inner = self.lock();
        inner.seq += 1;
        let id = format!("1795936804.{}", 100 + inner.seq * 2);
        let chan = Chan {
            id: id.clone(),
            name: format!("PJSIP/caller-{:08x}", inner.seq),
            state: "Ring".into(),
            in_stasis: true,
            bridge: None,
            originated: false,
            args: args.iter().map(|a| a.to_string()).collect(),
            number: CALLER_NUMBER.into(),
            context: "from-caller".into(),
            app: "Stasis".into(),
        };
        inner.channels.insert(id.clone(), chan.clone());
        let ev = json!({"type": "StasisStart", "args": chan.args, "channel": chan_json(&chan)});
        emit(&self.shared, &mut inner, ev);
        id
    }

    /// What a puente that crashed mid-call leaves: a caller and an interpreter's leg in a
    /// bridge of puente's. Returns the caller's channel.
    pub fn left_behind(&self) -> String {
        let caller = self.caller_arrives(&["tzo"]);
        let mut inner = self.lock();
        let leg = Chan {
            id: "puente-0badc0ffee".into(),
            name: "PJSIP/dora-000000aa".into(),
            state: "Up".into(),
            in_stasis: true,
            bridge: Some("puente-deadbeef".into()),
            originated: true,
            args: vec!["leg".into()],
            number: "800".into(),
            context: "default".into(),
            app: String::new(),
        };
        inner.channels.insert(leg.id.clone(), leg);
        if let Some(c) = inner.channels.get_mut(&caller) {
            c.bridge = Some("puente-deadbeef".into());
        }
        inner.bridges.insert(
            "puente-deadbeef".into(),
            Br {
                id: "puente-deadbeef".into(),
                name: "puente-old".into(),
                channels: vec![caller.clone(), "puente-0badc0ffee".into()],
            },
        );
        caller
    }

    /// The far end hangs up a channel (a caller, or an interpreter's phone).
    pub fn hang_up(&self, id: &str) {
        let mut inner = self.lock();
        remote_hangup(&self.shared, &mut inner, id, 16);
    }

    /// Close every event WebSocket; while `refuse`, new ones are refused (`503`).
    pub fn drop_connections(&self, refuse: bool) {
        let mut inner = self.lock();
        inner.refuse = refuse;
        for c in inner.clients.drain(..) {
            let _ = c.send(None);
        }
    }

    /// Destroy every bridge, as another ARI client (or an administrator) might.
    pub fn destroy_bridges(&self) {
        let mut inner = self.lock();
        let ids: Vec<String> = inner.bridges.keys().cloned().collect();
        for id in ids {
            destroy(&self.shared, &mut inner, &id);
        }
    }

    pub fn accept_connections(&self) {
        self.lock().refuse = false;
    }

    pub fn connected(&self) -> usize {
        self.lock().clients.len()
    }

    /// Channels still in the Stasis application (puente's to clean up).
    pub fn channels_in_stasis(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .channels
            .values()
            .filter(|c| c.in_stasis || c.originated)
            .map(|c| c.name.clone())
            .collect()
    }

    pub fn bridges(&self) -> Vec<(String, Vec<String>)> {
        let inner = self.lock();
        inner
            .bridges
            .values()
            .map(|b| {
                let names = b
                    .channels
                    .iter()
                    .filter_map(|c| inner.channels.get(c).map(|c| c.name.clone()))
                    .collect();
                (b.id.clone(), names)
            })
            .collect()
    }

    /// Callers given back to the dialplan (`continue`).
    pub fn handed_back(&self) -> Vec<String> {
        self.lock().handed_back.clone()
    }

    /// Endpoints originated to, in order.
    pub fn rung(&self) -> Vec<String> {
        self.lock().endpoints_rung.clone()
    }

    /// Every REST call, as `METHOD path?query -> status`.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Wait until `f` holds (checked every 20 ms) or panic after `secs`.
    pub async fn until(&self, secs: u64, what: &str, f: impl Fn(&AriDouble) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !f(self) {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; channels {:?}, bridges {:?}, log:\n{}",
                    self.channels_in_stasis(),
                    self.bridges(),
                    self.log().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

fn chan_json(c: &Chan) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "state": c.state,
        "protocol_id": "",
        "caller": {"name": "", "number": c.number},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {"context": c.context, "exten": "s", "priority": 1, "app_name": c.app, "app_data": if c.app == "Stasis" { format!("{APP},{}", c.args.join(",")) } else { String::new() }},
        "creationtime": now(),
        "language": "en",
    })
}

fn bridge_json(inner: &Inner, b: &Br) -> Value {
    let _ = inner;
    json!({
        "id": b.id,
        "technology": if b.channels.len() > 2 { "softmix" } else { "simple_bridge" },
        "bridge_type": "mixing",
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": b.name,
        "channels": b.channels,
        "creationtime": now(),
        "video_mode": "talker",
    })
}

/// Send an event to every connected WebSocket (lost if none is).
fn emit(shared: &Shared, inner: &mut Inner, mut ev: Value) {
    ev["timestamp"] = json!(now());
    ev["asterisk_id"] = json!("02:fc:00:00:00:01");
    ev["application"] = json!(shared.app);
    let text = ev.to_string();
    inner.clients.retain(|c| c.send(Some(text.clone())).is_ok());
}

fn message(status: StatusCode, m: &str) -> Response {
    (status, Json(json!({"message": m}))).into_response()
}

/// Every ARI request needs the `ari.conf` user's Basic credentials.
async fn require_auth(
    State(s): State<S>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == s.auth);
    if !ok {
        return message(StatusCode::UNAUTHORIZED, "Authentication required");
    }
    next.run(req).await
}

/// A channel that exists and is in the Stasis application, or ARI's error.
fn in_stasis(inner: &Inner, id: &str) -> Result<Chan, (StatusCode, &'static str)> {
    match inner.channels.get(id) {
        None => Err((StatusCode::NOT_FOUND, "Channel not found")),
        Some(c) if !c.in_stasis => Err((StatusCode::CONFLICT, "Channel not in Stasis application")),
        Some(c) => Ok(c.clone()),
    }
}

fn record(inner: &mut Inner, line: String) {
    inner.log.push(line);
}

fn leave_bridge(shared: &Shared, inner: &mut Inner, id: &str) {
    let Some(bid) = inner.channels.get_mut(id).and_then(|c| c.bridge.take()) else {
        return;
    };
    if let Some(b) = inner.bridges.get_mut(&bid) {
        b.channels.retain(|c| c != id);
    }
    let (Some(b), Some(c)) = (
        inner.bridges.get(&bid).cloned(),
        inner.channels.get(id).cloned(),
    ) else {
        return;
    };
    let ev = json!({"type": "ChannelLeftBridge", "bridge": bridge_json(inner, &b), "channel": chan_json(&c)});
    emit(shared, inner, ev);
}

/// The far end (or puente, `cause` 32 with a `DELETE`) hangs a channel up.
fn remote_hangup(shared: &Shared, inner: &mut Inner, id: &str, cause: i32) {
    let Some(c) = inner.channels.get(id).cloned() else {
        return;
    };
    emit(
        shared,
        inner,
        json!({"type": "ChannelHangupRequest", "cause": cause, "channel": chan_json(&c)}),
    );
    leave_bridge(shared, inner, id);
    if c.in_stasis {
        emit(
            shared,
            inner,
            json!({"type": "StasisEnd", "channel": chan_json(&c)}),
        );
    }
    // Originated legs send a late ChannelDestroyed; a SIP caller nothing after StasisEnd.
    if c.originated || !c.in_stasis {
        emit(
            shared,
            inner,
            json!({"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing", "channel": chan_json(&c)}),
        );
    }
    inner.channels.remove(id);
}

async fn events(
    State(s): State<S>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    if q.get("app").map(String::as_str) != Some(s.app.as_str()) {
        return message(
            StatusCode::BAD_REQUEST,
            "Invalid application provided in param [app].",
        );
    }
    if s.inner.lock().unwrap().refuse {
        return message(StatusCode::SERVICE_UNAVAILABLE, "Asterisk is restarting");
    }
    let (tx, rx) = mpsc::unbounded_channel();
    s.inner.lock().unwrap().clients.push(tx);
    ws.on_upgrade(move |socket| pump(socket, rx))
}

async fn pump(mut socket: WebSocket, mut rx: mpsc::UnboundedReceiver<Option<String>>) {
    while let Some(m) = rx.recv().await {
        match m {
            Some(text) => {
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            None => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}

async fn originate(State(s): State<S>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, format!("POST /channels {q:?}"));
    let Some(endpoint) = q.get("endpoint").cloned() else {
        return message(StatusCode::BAD_REQUEST, "Endpoint must be specified");
    };
    if q.get("app").map(String::as_str) != Some(s.app.as_str()) {
        return message(StatusCode::BAD_REQUEST, "Application must be specified");
    }
    inner.seq += 1;
    let id = q
        .get("channelId")
        .cloned()
        .unwrap_or_else(|| format!("1795936809.{}", 100 + inner.seq * 2));
    if inner.channels.contains_key(&id) {
        return message(
            StatusCode::CONFLICT,
            "Channel with given unique ID already exists",
        );
    }
    let timeout = q
        .get("timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(30);
    let local = endpoint.starts_with("Local/");
    let chan = Chan {
        id: id.clone(),
        name: if local {
            format!("{endpoint}-{:08x};1", inner.seq)
        } else {
            format!("{endpoint}-{:08x}", inner.seq)
        },
        state: "Down".into(),
        in_stasis: false,
        bridge: None,
        originated: true,
        args: q
            .get("appArgs")
            .map(|a| a.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        number: "800".into(),
        context: "default".into(),
        app: String::new(),
    };
    inner.channels.insert(id.clone(), chan.clone());
    inner.endpoints_rung.push(endpoint.clone());
    let phone = inner
        .phones
        .get(&endpoint)
        .copied()
        .unwrap_or(Phone::NoAnswer);
    drop(inner);
    tokio::spawn(ring(
        s.clone(),
        id,
        endpoint,
        phone,
        Duration::from_secs(timeout),
    ));
    (StatusCode::OK, Json(chan_json(&chan))).into_response()
}

/// What a phone does after an originate, step by step; stops when the channel is gone.
async fn ring(s: S, id: String, endpoint: String, phone: Phone, timeout: Duration) {
    let step = |f: &dyn Fn(&mut Inner, &mut Chan) -> Vec<Value>| -> bool {
        let mut inner = s.inner.lock().unwrap();
        let Some(mut c) = inner.channels.get(&id).cloned() else {
            return false;
        };
        let evs = f(&mut inner, &mut c);
        if inner.channels.contains_key(&id) {
            inner.channels.insert(id.clone(), c);
        }
        for ev in evs {
            emit(&s, &mut inner, ev);
        }
        true
    };
    let dialstring = endpoint
        .split_once('/')
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    let local = endpoint.starts_with("Local/");
    // A Local channel's ;2 half shows up under its own id first.
    let other = format!("{id}-2");
    let dial = |status: &str, c: &Chan| json!({"type": "Dial", "dialstatus": status, "forward": "", "dialstring": dialstring, "peer": chan_json(c)});
    if !step(&|_, c| {
        let mut evs = Vec::new();
        if local {
            let half = Chan {
                id: other.clone(),
                name: c.name.replace(";1", ";2"),
                ..c.clone()
            };
            evs.push(json!({"type": "ChannelCallerId", "caller_presentation": 0, "caller_presentation_txt": "Presentation Allowed, Not Screened", "channel": chan_json(&half)}));
        }
        evs.push(dial("", c));
        evs
    }) {
        return;
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    if phone == Phone::Busy {
        let cause = if local { 0 } else { 17 };
        step(&|inner, c| {
            inner.channels.remove(&c.id);
            vec![
                dial("BUSY", c),
                json!({"type": "ChannelHangupRequest", "cause": cause, "channel": chan_json(c)}),
                json!({"type": "ChannelDestroyed", "cause": cause, "cause_txt": if local { "Unknown" } else { "User busy" }, "channel": chan_json(c)}),
            ]
        });
        return;
    }
    step(&|_, c| {
        c.state = "Ringing".into();
        vec![
            json!({"type": "ChannelStateChange", "channel": chan_json(c)}),
            dial("RINGING", c),
        ]
    });
    let ring_for = match phone {
        Phone::Accepts { ring, .. } => Some(ring),
        Phone::Declines | Phone::Silent | Phone::AcceptsThenHangsUp { .. } => {
            Some(Duration::from_millis(50))
        }
        Phone::NoAnswer | Phone::Busy => None,
    };
    match ring_for {
        Some(r) if r < timeout => tokio::time::sleep(r).await,
        _ => {
            tokio::time::sleep(timeout).await;
            step(&|inner, c| {
                inner.channels.remove(&c.id);
                vec![
                    json!({"type": "ChannelHangupRequest", "cause": 19, "channel": chan_json(c)}),
                    json!({"type": "ChannelDestroyed", "cause": 19, "cause_txt": "User alerting, no answer", "channel": chan_json(c)}),
                ]
            });
            return;
        }
    }
    if !step(&|_, c| {
        c.state = "Up".into();
        c.in_stasis = true;
        vec![
            json!({"type": "ChannelStateChange", "channel": chan_json(c)}),
            dial("ANSWER", c),
            json!({"type": "ChannelVarset", "variable": "STASISSTATUS", "value": "", "channel": chan_json(c)}),
            json!({"type": "StasisStart", "args": c.args, "channel": chan_json(c)}),
        ]
    }) {
        return;
    }
    let (digit, think) = match phone {
        Phone::Accepts { think, .. } => ('1', think),
        Phone::AcceptsThenHangsUp { .. } => ('1', Duration::from_millis(100)),
        Phone::Declines => ('2', Duration::from_millis(100)),
        _ => return,
    };
    tokio::time::sleep(think).await;
    if !step(&|_, c| {
        vec![
            json!({"type": "ChannelDtmfReceived", "digit": digit.to_string(), "duration_ms": 100, "channel": chan_json(c)}),
        ]
    }) {
        return;
    }
    if let Phone::AcceptsThenHangsUp { after } = phone {
        tokio::time::sleep(after).await;
        let mut inner = s.inner.lock().unwrap();
        remote_hangup(&s, &mut inner, &id, 16);
    }
}

async fn list_channels(State(s): State<S>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, "GET /channels".into());
    let list: Vec<Value> = inner.channels.values().map(chan_json).collect();
    Json(list).into_response()
}

async fn hangup(State(s): State<S>, Path(id): Path<String>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    let found = inner.channels.contains_key(&id);
    record(
        &mut inner,
        format!("DELETE /channels/{id} -> {}", if found { 204 } else { 404 }),
    );
    if !found {
        return message(StatusCode::NOT_FOUND, "Channel not found");
    }
    remote_hangup(&s, &mut inner, &id, 32);
    StatusCode::NO_CONTENT.into_response()
}

async fn answer(State(s): State<S>, Path(id): Path<String>) -> Response {
    let delay = {
        let mut inner = s.inner.lock().unwrap();
        record(&mut inner, format!("POST /channels/{id}/answer"));
        inner.answer_delay.take()
    };
    // A PBX under load answers late.
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut inner = s.inner.lock().unwrap();
    let mut c = match in_stasis(&inner, &id) {
        Ok(c) => c,
        Err((status, m)) => return message(status, m),
    };
    c.state = "Up".into();
    inner.channels.insert(id.clone(), c.clone());
    emit(
        &s,
        &mut inner,
        json!({"type": "ChannelStateChange", "channel": chan_json(&c)}),
    );
    StatusCode::NO_CONTENT.into_response()
}

async fn play(
    State(s): State<S>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, format!("POST /channels/{id}/play {q:?}"));
    if let Err((status, m)) = in_stasis(&inner, &id) {
        return message(status, m);
    }
    let Some(media) = q.get("media") else {
        return message(StatusCode::BAD_REQUEST, "media: Missing required field");
    };
    let playback = json!({
        "id": q.get("playbackId").cloned().unwrap_or_else(|| format!("pb-{id}")),
        "media_uri": media,
        "target_uri": format!("channel:{id}"),
        "language": q.get("lang").cloned().unwrap_or_else(|| "en".into()),
        "state": "playing",
    });
    emit(
        &s,
        &mut inner,
        json!({"type": "PlaybackStarted", "playback": playback}),
    );
    let pid = playback["id"].as_str().unwrap_or_default().to_string();
    if inner.missing_media.iter().any(|m| m == media) {
        // Asterisk: a sound it cannot find fails at once, and the caller hears nothing.
        let mut failed = playback.clone();
        failed["state"] = json!("failed");
        emit(
            &s,
            &mut inner,
            json!({"type": "PlaybackFinished", "playback": failed}),
        );
        return (StatusCode::CREATED, Json(playback)).into_response();
    }
    inner.playing.insert(pid.clone(), id.clone());
    let length = inner.prompt_length;
    let s2 = s.clone();
    let done = playback.clone();
    tokio::spawn(async move {
        tokio::time::sleep(length).await;
        finish_playback(&s2, &pid, done);
    });
    (StatusCode::CREATED, Json(playback)).into_response()
}

/// End a prompt (played out or stopped) once: `PlaybackFinished`, and whoever waits for
/// the channel to be free of it goes on.
fn finish_playback(s: &S, pid: &str, mut playback: Value) {
    let mut inner = s.inner.lock().unwrap();
    if inner.playing.remove(pid).is_none() {
        return;
    }
    playback["state"] = json!("done");
    emit(
        s,
        &mut inner,
        json!({"type": "PlaybackFinished", "playback": playback}),
    );
    drop(inner);
    s.prompt_over.notify_waiters();
}

async fn stop_playback(State(s): State<S>, Path(id): Path<String>) -> Response {
    let channel = {
        let mut inner = s.inner.lock().unwrap();
        record(&mut inner, format!("DELETE /playbacks/{id}"));
        inner.playing.get(&id).cloned()
    };
    let Some(channel) = channel else {
        return message(StatusCode::NOT_FOUND, "Playback not found");
    };
    let playback =
        json!({"id": id, "target_uri": format!("channel:{channel}"), "state": "playing"});
    finish_playback(&s, &id, playback);
    StatusCode::NO_CONTENT.into_response()
}

async fn continue_in_dialplan(State(s): State<S>, Path(id): Path<String>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, format!("POST /channels/{id}/continue"));
    let c = match in_stasis(&inner, &id) {
        Ok(c) => c,
        Err((status, m)) => return message(status, m),
    };
    leave_bridge(&s, &mut inner, &id);
    emit(
        &s,
        &mut inner,
        json!({"type": "StasisEnd", "channel": chan_json(&c)}),
    );
    // The dialplan has it now (and sends puente nothing more about it).
    inner.channels.remove(&id);
    inner.handed_back.push(id);
    StatusCode::NO_CONTENT.into_response()
}

async fn create_bridge(State(s): State<S>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, format!("POST /bridges {q:?}"));
    inner.seq += 1;
    let id = q
        .get("bridgeId")
        .cloned()
        .unwrap_or_else(|| format!("47a18182-3a76-4efb-a757-{:012x}", inner.seq));
    let b = Br {
        id: id.clone(),
        name: q.get("name").cloned().unwrap_or_default(),
        channels: Vec::new(),
    };
    inner.bridges.insert(id, b.clone());
    let body = bridge_json(&inner, &b);
    Json(body).into_response()
}

async fn list_bridges(State(s): State<S>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, "GET /bridges".into());
    let list: Vec<Value> = inner
        .bridges
        .values()
        .map(|b| bridge_json(&inner, b))
        .collect();
    Json(list).into_response()
}

async fn get_bridge(State(s): State<S>, Path(id): Path<String>) -> Response {
    let inner = s.inner.lock().unwrap();
    match inner.bridges.get(&id) {
        Some(b) => Json(bridge_json(&inner, b)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Bridge not found"),
    }
}

async fn destroy_bridge(State(s): State<S>, Path(id): Path<String>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, format!("DELETE /bridges/{id}"));
    if !destroy(&s, &mut inner, &id) {
        return message(StatusCode::NOT_FOUND, "Bridge not found");
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Empty a bridge and destroy it; false if there is no such bridge.
fn destroy(shared: &Shared, inner: &mut Inner, id: &str) -> bool {
    let Some(b) = inner.bridges.get(id).cloned() else {
        return false;
    };
    for c in &b.channels {
        leave_bridge(shared, inner, c);
    }
    let b = inner.bridges.remove(id).unwrap_or(b);
    let ev = json!({"type": "BridgeDestroyed", "bridge": bridge_json(inner, &b)});
    emit(shared, inner, ev);
    true
}

async fn add_channel(
    State(s): State<S>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Asterisk answers addChannel only once the channel's playback is over (measured on
    // Asterisk 22: 2.8 s with a 4 s prompt): wait as it does.
    if let Some(ch) = q.get("channel") {
        loop {
            let over = s.prompt_over.notified();
            tokio::pin!(over);
            over.as_mut().enable();
            if !s.inner.lock().unwrap().playing.values().any(|c| c == ch) {
                break;
            }
            over.await;
        }
    }
    let mut inner = s.inner.lock().unwrap();
    record(&mut inner, format!("POST /bridges/{id}/addChannel {q:?}"));
    let Some(ch) = q.get("channel").cloned() else {
        return message(StatusCode::BAD_REQUEST, "channel: Missing required field");
    };
    if !inner.bridges.contains_key(&id) {
        return message(StatusCode::NOT_FOUND, "Bridge not found");
    }
    let Some(c) = inner.channels.get(&ch).cloned() else {
        return message(StatusCode::BAD_REQUEST, "Channel not found");
    };
    if !c.in_stasis {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Channel not in Stasis application",
        );
    }
    leave_bridge(&s, &mut inner, &ch);
    if let Some(c) = inner.channels.get_mut(&ch) {
        c.bridge = Some(id.clone());
    }
    let b = {
        let b = inner.bridges.get_mut(&id).expect("checked above");
        b.channels.push(ch.clone());
        b.clone()
    };
    let ev = json!({"type": "ChannelEnteredBridge", "bridge": bridge_json(&inner, &b), "channel": chan_json(&c)});
    emit(&s, &mut inner, ev);
    StatusCode::NO_CONTENT.into_response()
}

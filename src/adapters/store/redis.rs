//! The Redis store: the roster, requests and offers in Redis, so that several router
//! instances share them and a restarted instance loses nothing.
//!
//! Every transition is one Lua script (`redis/*.lua`, each prefixed with
//! `redis/prelude.lua`), so no read-modify-write spans round trips: two instances racing to
//! accept, expire or claim the same thing cannot both win. Only this file and its scripts
//! know key names. Every key starts with the store's prefix, a Redis Cluster hash tag
//! (`{puente}`), so every script touches a single slot.
//!
//! Keys (after the prefix): `it:<id>` interpreter JSON, `its` set of ids, `tok`/`tokof`
//! token hash ↔ id, `spk:<tag>` speakers of a language, `free:<tag>` free speakers best
//! first, `oncall:<tag>` available speakers, `rq:<id>` request JSON, `rqs` requests by
//! creation time, `pend` waiting requests, `pq:<tag>` waiting requests of a language in
//! serving order (matching reads only their heads), `pqs` languages with a queue,
//! `of:<id>` offer JSON, `open` open offers by deadline (what every
//! instance's dispatcher sweeps), `openr:<id>` / `openi:<id>` open offers of a request /
//! an interpreter, `ofr:<id>` / `ofi:<id>` every offer of a request / an interpreter,
//! `readyms` when each interpreter's wrap-up ends, `memo:<key>` (with expiry; claims are
//! memos too), `chat:<request>` a conversation (sealed texts), and the pub/sub channel
//! `events` (each script publishes its own changes).

use ::redis::aio::{ConnectionLike, ConnectionManager};
use ::redis::cluster_async::ClusterConnection;
use ::redis::{AsyncCommands, Client, Cmd, Pipeline, RedisFuture, Script, Value};
use async_trait::async_trait;
use jiff::Timestamp;

use std::collections::HashMap;

use super::listing::{Listing, Page};
use super::{
    Change, Conflict, Failure, Finish, Focus, Joined, QueueInfo, Reason, Result, Rules, Scope,
    Store, StoreError,
};
use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::ids::TokenHash;
use crate::domain::language::LanguageTag;
use crate::domain::named::Named;
use crate::domain::offer::{Offer, Outcome};
use crate::domain::request::{Request, RequestState};
use crate::domain::roster::{Availability, Interpreter, Profile};
use crate::logic::matcher::{FreeInterpreter, OpenOffer, PendingRequest, Snapshot};
use crate::logic::routing::Routing;

const PRELUDE: &str = include_str!("redis/prelude.lua");

struct Scripts {
    insert_interpreter: Script,
    update_interpreter: Script,
    add_time_off: Script,
    remove_interpreter: Script,
    set_availability: Script,
    insert_request: Script,
    finish_request: Script,
    open_offer: Script,
    accept_offer: Script,
    close_offer: Script,
    snapshot: Script,
    places: Script,
    widen: Script,
    set_routing: Script,
    broadcast_alert: Script,
    bridge: Script,
    memo_swap: Script,
    append_chat: Script,
    join_conversation: Script,
    lapsed_calls: Script,
    migrate: Script,
    offer_seen: Script,
    list_requests: Script,
    prune_requests: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            insert_interpreter: script(include_str!("redis/insert_interpreter.lua")),
            update_interpreter: script(include_str!("redis/update_interpreter.lua")),
            add_time_off: script(include_str!("redis/add_time_off.lua")),
            remove_interpreter: script(include_str!("redis/remove_interpreter.lua")),
            set_availability: script(include_str!("redis/set_availability.lua")),
            insert_request: script(include_str!("redis/insert_request.lua")),
            finish_request: script(include_str!("redis/finish_request.lua")),
            open_offer: script(include_str!("redis/open_offer.lua")),
            accept_offer: script(include_str!("redis/accept_offer.lua")),
            close_offer: script(include_str!("redis/close_offer.lua")),
            snapshot: script(include_str!("redis/snapshot.lua")),
            places: script(include_str!("redis/places.lua")),
            widen: script(include_str!("redis/widen.lua")),
            set_routing: script(include_str!("redis/set_routing.lua")),
            broadcast_alert: script(include_str!("redis/broadcast_alert.lua")),
            bridge: script(include_str!("redis/bridge.lua")),
            memo_swap: script(include_str!("redis/memo_swap.lua")),
            append_chat: script(include_str!("redis/append_chat.lua")),
            join_conversation: script(include_str!("redis/join_conversation.lua")),
            lapsed_calls: script(include_str!("redis/lapsed_calls.lua")),
            migrate: script(include_str!("redis/migrate.lua")),
            offer_seen: script(include_str!("redis/offer_seen.lua")),
            list_requests: script(include_str!("redis/list_requests.lua")),
            prune_requests: script(include_str!("redis/prune_requests.lua")),
        }
    }
}

/// Round trips to Redis made by this process, for benchmarks (`benches/redis.rs`).
pub static ROUND_TRIPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One server (reconnecting by itself) or a Redis Cluster.
#[derive(Clone)]
enum Link {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A connection whose every round trip ends within `timeout`: with Redis down or paused,
/// a caller gets an answer (503) in seconds instead of waiting for reconnection attempts.
#[derive(Clone)]
struct Conn {
    link: Link,
    timeout: std::time::Duration,
}

fn timed_out() -> ::redis::RedisError {
    ::redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "Redis did not answer in time",
    ))
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        ROUND_TRIPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let timeout = self.timeout;
        let call = match &mut self.link {
            Link::Single(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
        };
        Box::pin(async move {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| Err(timed_out()))
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        ROUND_TRIPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let timeout = self.timeout;
        let call = match &mut self.link {
            Link::Single(c) => c.req_packed_commands(cmd, offset, count),
            Link::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        };
        Box::pin(async move {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| Err(timed_out()))
        })
    }

    fn get_db(&self) -> i64 {
        match &self.link {
            Link::Single(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
        }
    }
}

pub struct RedisStore {
    /// For pub/sub: a plain connection to one node (cluster pub/sub reaches every node).
    client: Client,
    conn: Conn,
    prefix: String,
    scripts: Scripts,
    /// This instance's id, published with every change it makes.
    instance: String,
}

/// A Redis error: unreachable, dropped or too slow is `Unavailable` (the API says 503 and
/// the operator can try again); anything else is a backend failure.
fn redis_failed(e: ::redis::RedisError) -> StoreError {
    if e.is_timeout() || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        StoreError::Unavailable(Failure::caused_by(e))
    } else {
        StoreError::Backend(Failure::caused_by(e))
    }
}

/// Milliseconds from `now` to `until`; 0 when `until` has passed (the scripts delete then:
/// `PEXPIRE` with 0 does, `SET … PX 0` would be refused).
fn lifetime_ms(until: Timestamp, now: Timestamp) -> String {
    ms_until(until, now, 0).to_string()
}

/// `until - now` for `PX`, which takes no 0: what ends at once lasts a millisecond.
fn positive_ms(until: Timestamp, now: Timestamp) -> i64 {
    ms_until(until, now, 1)
}

/// Milliseconds from `now` to `until`, at least `min`.
fn ms_until(until: Timestamp, now: Timestamp, min: i64) -> i64 {
    until
        .duration_since(now)
        .as_millis()
        .clamp(i128::from(min), i64::MAX as i128) as i64
}

/// A failure the store found in what Redis answered.
fn backend(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(Failure::new(what.to_string()))
}

/// A failure caused by another error, kept as its source.
fn caused(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Failure::caused_by(e))
}

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Backend(Failure::context(
            format!("stored JSON does not parse: {e}"),
            e,
        ))
    })
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types serialise")
}

impl RedisStore {
    /// Connect to `url`, or to a Redis Cluster when `url` lists several nodes separated
    /// by commas. Every key starts with `{namespace}` (a cluster hash tag).
    pub async fn connect(
        url: &str,
        namespace: &str,
        timeout: std::time::Duration,
    ) -> Result<RedisStore> {
        let nodes: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let first = nodes.first().ok_or_else(|| backend("no Redis URL"))?;
        let client = Client::open(*first).map_err(redis_failed)?;
        let link = if nodes.len() > 1 {
            let cluster = ::redis::cluster::ClusterClientBuilder::new(nodes.clone())
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .build()
                .map_err(redis_failed)?;
            Link::Cluster(cluster.get_async_connection().await.map_err(redis_failed)?)
        } else {
            // Reconnect quickly when Redis comes back: attempts at most 500 ms apart
            // (the default backoff grows to seconds, and requests wait on it).
            let manager = ::redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(timeout)
                .set_response_timeout(timeout)
                .set_number_of_retries(2)
                .set_factor(100)
                .set_max_delay(500);
            Link::Single(
                ConnectionManager::new_with_config(client.clone(), manager)
                    .await
                    .map_err(redis_failed)?,
            )
        };
        let conn = Conn { link, timeout };
        let store = RedisStore {
            client,
            conn,
            prefix: format!("{{{namespace}}}"),
            scripts: Scripts::new(),
            instance: crate::domain::ids::random_hex(8),
        };
        store.run(&store.scripts.migrate, &[]).await?;
        Ok(store)
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The pub/sub channel that carries every change to every instance.
    pub fn events_channel(&self) -> String {
        self.key("events")
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This instance's id, as carried by the changes it publishes.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Read a message of the events channel: the instance that made the change, and the
    /// change. Every transition script publishes what it changed there itself.
    pub fn decode_event(payload: &str) -> Result<(String, Change)> {
        let (origin, json) = payload
            .split_once('\n')
            .ok_or_else(|| backend("event without origin"))?;
        let items: Vec<String> = decode(json)?;
        Ok((
            origin.to_string(),
            parse_change(items.get(1..).unwrap_or(&[]))?,
        ))
    }

    async fn run(&self, script: &Script, args: &[String]) -> Result<Vec<String>> {
        let mut conn = self.conn.clone();
        let mut inv = script.key(&self.prefix);
        for a in args {
            inv.arg(a);
        }
        inv.arg(&self.instance);
        let reply: Vec<String> = inv.invoke_async(&mut conn).await.map_err(redis_failed)?;
        match reply.first().map(String::as_str) {
            Some("ok") => Ok(reply.into_iter().skip(1).collect()),
            Some("err") => Err(error(
                reply.get(1).map_or("", String::as_str),
                reply.get(2).map_or("", String::as_str),
            )?),
            _ => Err(backend("a script answered neither ok nor err")),
        }
    }

    async fn transition(&self, script: &Script, args: &[String]) -> Result<Change> {
        let items = self.run(script, args).await?;
        parse_change(&items)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, key: String) -> Result<Option<T>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn.get(key).await.map_err(redis_failed)?;
        raw.map(|r| decode(&r)).transpose()
    }

    async fn mget_json<T: serde::de::DeserializeOwned>(&self, keys: Vec<String>) -> Result<Vec<T>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let raw: Vec<Option<String>> = ::redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .map_err(redis_failed)?;
        raw.into_iter().flatten().map(|r| decode(&r)).collect()
    }
}

/// Turn a script's `err` answer into the store error it stands for.
fn error(kind: &str, detail: &str) -> Result<StoreError> {
    Ok(match kind {
        "exists" => StoreError::AlreadyExists(detail.to_string()),
        "not_found" => StoreError::NotFound(detail.to_string()),
        "in_session" => {
            StoreError::Conflict(Conflict::InterpreterInSession(RequestId::from_path(detail)))
        }
        "offer_closed" => StoreError::Conflict(Conflict::OfferClosed(Box::new(decode(detail)?))),
        "not_yours" => StoreError::Conflict(Conflict::OfferNotYours),
        "request_state" => StoreError::Conflict(Conflict::RequestState(
            RequestState::parse(detail)
                .ok_or_else(|| backend(format!("unknown state {detail}")))?,
        )),
        "not_free" => StoreError::Conflict(Conflict::InterpreterNotFree),
        "busy" => StoreError::Conflict(Conflict::InterpreterBusy),
        "request_busy" => StoreError::Conflict(Conflict::RequestBusy),
        "stale_profile" => StoreError::Conflict(Conflict::StaleProfile),
        "chat_seq" => StoreError::Conflict(Conflict::ChatSeq(
            detail
                .parse()
                .map_err(|_| backend(format!("bad chat number {detail}")))?,
        )),
        other => backend(format!("unknown script error {other}: {detail}")),
    })
}

fn parse_change(items: &[String]) -> Result<Change> {
    let mut change = Change::default();
    let mut it = items.iter();
    while let Some(kind) = it.next() {
        let json = it.next().ok_or_else(|| backend("truncated change"))?;
        match kind.as_str() {
            "r" => change.requests.push(decode(json)?),
            "o" => change.offers.push(decode(json)?),
            "g" => change.routing = Some(decode(json)?),
            "x" => change.alerts.push(decode(json)?),
            "d" => change.removed.push(decode(json)?),
            "m" => change.messages.push(decode(json)?),
            "n" => change.nothing_waits = true,
            "p" => {
                let r = change
                    .requests
                    .last()
                    .ok_or_else(|| backend("a place before its request"))?;
                change.places.push((r.id.clone(), parse_place(json)?));
            }
            "i" => {
                let reason = match it.next().map(String::as_str) {
                    Some("missed_offers") => Reason::MissedOffers,
                    Some("schedule") => Reason::Schedule,
                    _ => Reason::Requested,
                };
                change.interpreters.push((decode(json)?, reason));
            }
            other => return Err(backend(format!("unknown change kind {other}"))),
        }
    }
    Ok(change)
}

/// "position,on call,open offers", as the scripts give where a waiting request stands.
fn parse_place(s: &str) -> Result<QueueInfo> {
    let mut n = s.split(',').map(str::parse::<usize>);
    let mut next = || {
        n.next()
            .and_then(|x| x.ok())
            .ok_or_else(|| backend(format!("bad place {s}")))
    };
    Ok(QueueInfo {
        position: next()?,
        on_call: next()?,
        open_offers: next()?,
    })
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Accepted => "accepted",
        Outcome::Declined => "declined",
        Outcome::Expired => "expired",
        Outcome::Withdrawn => "withdrawn",
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn insert_interpreter(&self, it: Interpreter, token: Option<TokenHash>) -> Result<()> {
        let token = token.map(|t| t.as_hex().to_string()).unwrap_or_default();
        let idle = it.idle_since.as_millisecond().to_string();
        self.run(
            &self.scripts.insert_interpreter,
            &[encode(&it), token, idle],
        )
        .await
        .map(drop)
    }

    async fn interpreter(&self, id: &InterpreterId) -> Result<Option<Interpreter>> {
        self.get_json(self.key(&format!("it:{id}"))).await
    }

    async fn interpreters(&self) -> Result<Vec<Interpreter>> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn.smembers(self.key("its")).await.map_err(redis_failed)?;
        let keys = ids.iter().map(|id| self.key(&format!("it:{id}"))).collect();
        let mut all: Vec<Interpreter> = self.mget_json(keys).await?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = ::redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(redis_failed)?;
        Ok(())
    }

    async fn interpreter_for_token(&self, token: &TokenHash) -> Result<Option<InterpreterId>> {
        let mut conn = self.conn.clone();
        let id: Option<String> = conn
            .hget(self.key("tok"), token.as_hex())
            .await
            .map_err(redis_failed)?;
        Ok(id.and_then(|i| InterpreterId::parse(&i).ok()))
    }

    async fn update_interpreter(
        &self,
        id: &InterpreterId,
        profile: Profile,
        expected: Option<u64>,
        now: Timestamp,
    ) -> Result<Change> {
        let expected = expected.map(|r| r.to_string()).unwrap_or_default();
        let args = [id.to_string(), encode(&profile), now.to_string(), expected];
        self.transition(&self.scripts.update_interpreter, &args)
            .await
    }

    async fn add_time_off(
        &self,
        id: &InterpreterId,
        off: crate::domain::schedule::Exception,
        _now: Timestamp,
    ) -> Result<Change> {
        let args = [
            id.to_string(),
            encode(&off),
            encode(&crate::domain::schedule::Schedule::time_off_only()),
        ];
        self.transition(&self.scripts.add_time_off, &args).await
    }

    async fn remove_interpreter(&self, id: &InterpreterId, now: Timestamp) -> Result<Change> {
        let args = [id.to_string(), now.to_string()];
        self.transition(&self.scripts.remove_interpreter, &args)
            .await
    }

    async fn set_availability(
        &self,
        id: &InterpreterId,
        availability: Availability,
        now: Timestamp,
        reason: Reason,
    ) -> Result<Change> {
        let a = availability.name();
        let args = [
            id.to_string(),
            a.to_string(),
            now.to_string(),
            now.as_millisecond().to_string(),
            reason.as_str().to_string(),
        ];
        self.transition(&self.scripts.set_availability, &args).await
    }

    async fn insert_request(&self, req: Request) -> Result<QueueInfo> {
        let args = [
            encode(&req),
            req.created_at.as_millisecond().to_string(),
            req.created_at.as_microsecond().to_string(),
        ];
        let change = self.transition(&self.scripts.insert_request, &args).await?;
        // The change (already published) carries where the request stands.
        change
            .place(&req.id)
            .ok_or_else(|| backend("insert_request gave no place"))
    }

    async fn places(&self, requests: &[Request]) -> Result<HashMap<RequestId, QueueInfo>> {
        let waiting: Vec<serde_json::Value> = requests
            .iter()
            .filter(|r| r.state.is_pending())
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "language": r.language, "group": r.group, "state": r.state.name(),
                })
            })
            .collect();
        if waiting.is_empty() {
            return Ok(HashMap::new());
        }
        let items = self.run(&self.scripts.places, &[encode(&waiting)]).await?;
        let mut out = HashMap::new();
        for chunk in items.chunks(3) {
            let [_, id, place] = chunk else {
                return Err(backend("truncated places"));
            };
            out.insert(RequestId::from_path(id), parse_place(place)?);
        }
        Ok(out)
    }

    async fn request(&self, id: &RequestId) -> Result<Option<Request>> {
        self.get_json(self.key(&format!("rq:{id}"))).await
    }

    async fn requests(&self, listing: &Listing) -> Result<Page> {
        let states = if listing.states.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = listing.states().iter().map(|s| s.name()).collect();
            names.join(",")
        };
        let us = |t: Option<Timestamp>| t.map_or(String::new(), |t| t.as_microsecond().to_string());
        let (cursor_us, cursor_id) = match &listing.after {
            Some(c) => (c.created_us.to_string(), c.id.to_string()),
            None => (String::new(), String::new()),
        };
        let limit = listing.limit();
        let args = [
            states,
            us(listing.since),
            us(listing.until),
            cursor_us,
            cursor_id,
            (limit + 1).to_string(),
        ];
        let rows = self.run(&self.scripts.list_requests, &args).await?;
        let found = rows
            .iter()
            .map(|r| decode(r))
            .collect::<Result<Vec<Request>>>()?;
        Ok(Page::of(found, limit))
    }

    async fn prune_requests(&self, before: Timestamp, max: usize) -> Result<usize> {
        let args = [before.as_microsecond().to_string(), max.to_string()];
        let reply = self.run(&self.scripts.prune_requests, &args).await?;
        reply
            .first()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| backend("prune answered no count"))
    }

    async fn finish_request(
        &self,
        id: &RequestId,
        how: Finish,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<Change> {
        let how_s = match how {
            Finish::Complete => "complete",
            Finish::Cancel => "cancel",
            Finish::GiveUp => "give_up",
            Finish::Lost => "lost",
        };
        let (ready_at, ready_ms) = match rules.ready_at(now) {
            Some(at) => (at.to_string(), at.as_millisecond().to_string()),
            None => (String::new(), String::new()),
        };
        let args = [
            id.to_string(),
            how_s.to_string(),
            now.to_string(),
            ready_at,
            now.as_millisecond().to_string(),
            ready_ms,
        ];
        self.transition(&self.scripts.finish_request, &args).await
    }

    async fn renew_lease(
        &self,
        instance: &str,
        _now: Timestamp,
        ttl: std::time::Duration,
    ) -> Result<()> {
        // Redis' own clock times the lease: instances need not agree on the time.
        let mut conn = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = ::redis::cmd("SET")
            .arg(self.key(&format!("lease:{instance}")))
            .arg(1)
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await
            .map_err(redis_failed)?;
        Ok(())
    }

    async fn drop_lease(&self, instance: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: () = conn
            .del(self.key(&format!("lease:{instance}")))
            .await
            .map_err(redis_failed)?;
        Ok(())
    }

    async fn lapsed_calls(&self, _now: Timestamp) -> Result<Vec<RequestId>> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = self
            .scripts
            .lapsed_calls
            .key(&self.prefix)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_failed)?;
        Ok(ids.iter().map(|i| RequestId::from_path(i)).collect())
    }

    async fn offer(&self, id: &OfferId) -> Result<Option<Offer>> {
        self.get_json(self.key(&format!("of:{id}"))).await
    }

    async fn offers_for(&self, interpreter: &InterpreterId, open_only: bool) -> Result<Vec<Offer>> {
        let mut conn = self.conn.clone();
        // Open ones from their own index; all of them from the history list.
        let ids: Vec<String> = if open_only {
            let mut ids: Vec<String> = conn
                .smembers(self.key(&format!("openi:{interpreter}")))
                .await
                .map_err(redis_failed)?;
            ids.sort();
            ids
        } else {
            conn.lrange(self.key(&format!("ofi:{interpreter}")), 0, -1)
                .await
                .map_err(redis_failed)?
        };
        let keys = ids
            .iter()
            .rev()
            .map(|id| self.key(&format!("of:{id}")))
            .collect();
        let all: Vec<Offer> = self.mget_json(keys).await?;
        Ok(all
            .into_iter()
            .filter(|o| !open_only || o.is_open())
            .collect())
    }

    async fn open_offer(&self, offer: Offer, exclusive: bool) -> Result<Change> {
        let args = [
            encode(&offer),
            offer.deadline.as_millisecond().to_string(),
            if exclusive { "1" } else { "0" }.to_string(),
        ];
        self.transition(&self.scripts.open_offer, &args).await
    }

    async fn accept_offer(
        &self,
        id: &OfferId,
        by: &InterpreterId,
        now: Timestamp,
    ) -> Result<Change> {
        let args = [
            id.to_string(),
            by.to_string(),
            now.to_string(),
            now.as_millisecond().to_string(),
        ];
        self.transition(&self.scripts.accept_offer, &args).await
    }

    async fn close_offer(
        &self,
        id: &OfferId,
        outcome: Outcome,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<Change> {
        let args = [
            id.to_string(),
            outcome_str(outcome).to_string(),
            now.to_string(),
            rules.max_missed_offers.to_string(),
        ];
        self.transition(&self.scripts.close_offer, &args).await
    }

    async fn offer_seen(&self, id: &OfferId, now: Timestamp) -> Result<()> {
        let args = [id.to_string(), now.as_millisecond().to_string()];
        self.run(&self.scripts.offer_seen, &args).await.map(drop)
    }

    async fn on_call(&self, language: &LanguageTag, group: Option<&LanguageTag>) -> Result<usize> {
        let mut conn = self.conn.clone();
        let exact = self.key(&format!("oncall:{language}"));
        match group {
            Some(g) => {
                let all: Vec<String> = conn
                    .sunion(&[exact, self.key(&format!("oncall:g:{g}"))])
                    .await
                    .map_err(redis_failed)?;
                Ok(all.len())
            }
            None => conn.scard(exact).await.map_err(redis_failed),
        }
    }

    // Memos and chats expire by Redis itself, after the lifetime the service's clock
    // gives them (`until - now`), so a skewed or paused service clock does not shorten
    // or stretch them.
    async fn memo(&self, key: &str, _now: Timestamp) -> Result<Option<String>> {
        let mut conn = self.conn.clone();
        conn.get(self.key(&format!("memo:{key}")))
            .await
            .map_err(redis_failed)
    }

    async fn memo_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        let args = [
            key.to_string(),
            if expected.is_some() { "1" } else { "0" }.to_string(),
            expected.unwrap_or("").to_string(),
            value.to_string(),
            lifetime_ms(until, now),
        ];
        let reply = self.run(&self.scripts.memo_swap, &args).await?;
        Ok(reply.first().map(String::as_str) == Some("1"))
    }

    async fn join_conversation(
        &self,
        caller: &str,
        fresh: &RequestId,
        reply: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Joined> {
        let args = [
            super::conversation_memo(caller),
            fresh.to_string(),
            super::REPLY_MEMO.to_string(),
            reply.to_string(),
            positive_ms(until, now).to_string(),
        ];
        let reply = self.run(&self.scripts.join_conversation, &args).await?;
        let [id, opened, has_reply, next, request] = reply.as_slice() else {
            return Err(backend("join_conversation answered in another shape"));
        };
        Ok(Joined {
            id: RequestId::from_path(id),
            opened: opened == "1",
            has_reply: has_reply == "1",
            next_seq: next
                .parse()
                .map_err(|_| backend("join_conversation: a message number that is not one"))?,
            request: match request.as_str() {
                "" => None,
                json => Some(decode(json)?),
            },
        })
    }

    async fn keep_reply_address(
        &self,
        id: &RequestId,
        reply: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let mut conn = self.conn.clone();
        ::redis::cmd("SET")
            .arg(self.key(&format!("memo:{}", super::reply_memo(id))))
            .arg(reply)
            .arg("PX")
            .arg(positive_ms(until, now))
            .query_async::<()>(&mut conn)
            .await
            .map_err(redis_failed)
    }

    async fn append_chat(
        &self,
        msg: crate::domain::chat::ChatMessage,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Change> {
        let args = [
            encode(&msg),
            until.as_millisecond().to_string(),
            lifetime_ms(until, now),
        ];
        self.transition(&self.scripts.append_chat, &args).await
    }

    async fn chat(
        &self,
        request: &RequestId,
        _now: Timestamp,
    ) -> Result<Vec<crate::domain::chat::ChatMessage>> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = conn
            .lrange(self.key(&format!("chat:{request}")), 0, -1)
            .await
            .map_err(redis_failed)?;
        raw.iter().map(|r| decode(r)).collect()
    }

    async fn conversations(&self, now: Timestamp) -> Result<Vec<RequestId>> {
        let mut conn = self.conn.clone();
        let now = now.as_millisecond();
        let key = self.key("chats");
        // Expired ones leave the index as it is read.
        let (ids,): (Vec<String>,) = ::redis::pipe()
            .atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(now)
            .ignore()
            .cmd("ZREVRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .map_err(redis_failed)?;
        Ok(ids.iter().map(|i| RequestId::from_path(i)).collect())
    }

    async fn broadcast_alert(&self, alert: &crate::domain::alert::Alert) -> Result<Change> {
        self.transition(&self.scripts.broadcast_alert, &[encode(alert)])
            .await
    }

    async fn routing(&self) -> Result<Option<Routing>> {
        self.get_json(self.key("routing")).await
    }

    async fn set_routing(&self, routing: &Routing) -> Result<Change> {
        self.transition(&self.scripts.set_routing, &[encode(routing)])
            .await
    }

    async fn bridge(&self, req: &Request, connected: bool, now: Timestamp) -> Result<Change> {
        let args = [
            req.id.to_string(),
            if connected { "connected" } else { "failed" }.to_string(),
            now.to_string(),
            now.as_millisecond().to_string(),
            req.created_at.as_millisecond().to_string(),
        ];
        self.transition(&self.scripts.bridge, &args).await
    }

    async fn widen(&self, id: &RequestId, tier: u8, now: Timestamp) -> Result<Change> {
        let args = [id.to_string(), tier.to_string(), now.to_string()];
        self.transition(&self.scripts.widen, &args).await
    }

    async fn snapshot(
        &self,
        scope: Scope,
        focus: &Focus,
        routing: &Routing,
        now: Timestamp,
    ) -> Result<Snapshot> {
        let scope = match scope {
            Scope::Best => "best",
            Scope::Everyone => "everyone",
        };
        // Sizes the `best` walk (who counts as able to take an offer now), finds the
        // offers past their deadline.
        let now = now.as_millisecond().to_string();
        // An empty Lua table encodes as `{}`: an object either way.
        let intelligible = serde_json::to_string(&routing.intelligible).map_err(caused)?;
        let focus = serde_json::json!({
            "everything": focus.everything,
            "languages": focus.languages,
            "interpreters": focus.interpreters,
            "groups": focus.groups,
        });
        let items = self
            .run(
                &self.scripts.snapshot,
                &[scope.to_string(), now, intelligible, encode(&focus)],
            )
            .await?;
        let mut requests: Vec<PendingRequest> = Vec::new();
        let mut interpreters: Vec<FreeInterpreter> = Vec::new();
        let mut offers: Vec<OpenOffer> = Vec::new();
        let mut languages = Vec::new();
        let mut next_deadline = None;
        let mut more_waiting = false;
        let mut i = 0;
        let next = |i: &mut usize| -> Result<&String> {
            let v = items.get(*i).ok_or_else(|| backend("truncated snapshot"))?;
            *i += 1;
            Ok(v)
        };
        while i < items.len() {
            match next(&mut i)?.as_str() {
                "r" => {
                    let r: Request = decode(next(&mut i)?)?;
                    requests.push(PendingRequest::of(&r));
                }
                "a" => {
                    let o: Offer = decode(next(&mut i)?)?;
                    requests
                        .last_mut()
                        .ok_or_else(|| backend("offer before its request"))?
                        .record(&o);
                    if o.is_open() {
                        offers.push(OpenOffer {
                            id: o.id,
                            request: o.request,
                            interpreter: o.interpreter,
                            deadline: o.deadline,
                        });
                    }
                }
                "i" => {
                    let it: Interpreter = decode(next(&mut i)?)?;
                    interpreters.push(FreeInterpreter::of(&it));
                }
                "h" => {
                    interpreters
                        .last_mut()
                        .ok_or_else(|| backend("a mark before its interpreter"))?
                        .holds_offer = true;
                }
                "l" => languages.push(next(&mut i)?.parse().map_err(backend)?),
                "w" => {
                    let ms: f64 = next(&mut i)?.parse().map_err(caused)?;
                    next_deadline = Some(Timestamp::from_millisecond(ms as i64).map_err(caused)?);
                }
                "o" => {
                    let id = OfferId::from_path(next(&mut i)?);
                    let request = RequestId::from_path(next(&mut i)?);
                    let interpreter = InterpreterId::parse(next(&mut i)?).map_err(backend)?;
                    let deadline: Timestamp = next(&mut i)?.parse().map_err(caused)?;
                    // Past its deadline; perhaps carried already with its request.
                    if !offers.iter().any(|o| o.id == id) {
                        offers.push(OpenOffer {
                            id,
                            request,
                            interpreter,
                            deadline,
                        });
                    }
                }
                "m" => more_waiting = true,
                other => return Err(backend(format!("unknown snapshot item {other}"))),
            }
        }
        let mut snapshot = Snapshot::new(requests, interpreters, offers);
        snapshot.more_waiting = more_waiting;
        snapshot.languages = languages;
        snapshot.next_deadline = next_deadline;
        Ok(snapshot)
    }
}

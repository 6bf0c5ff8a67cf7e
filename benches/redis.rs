//! Two instances on one Redis, driven over HTTP: `scripts/bench-redis.sh` runs this with
//! `--bench` against a Redis it starts, and prints one summary line.
//!
//! Measures, in one run:
//! - creation-to-offer latency at a steady 500 requests per second (POST on alternating
//!   instances → the offer arriving on instance A's event bus, through Redis pub/sub);
//! - the flood: 64 operators at once over HTTP, each creating a request as soon as their
//!   last one was offered: dispatches per second, Redis round trips per dispatch (counted by
//!   the client) and Redis commands per dispatch (the server's `INFO commandstats`,
//!   commands inside scripts included); with an empty queue, then with 2,000 requests
//!   waiting in languages nobody covers;
//! - the same flood in process (the `Service` API driven directly, no HTTP), beside
//!   `redis-benchmark` EVALSHA of a one-line script on the same server;
//! - the HTTP ceiling (the same client and workers on `GET /healthz`, which does nothing);
//! - what 500 open operator streams add to each request change, in Redis commands.
//!
//! Every offer is answered by cancelling its request at once, to free the interpreter;
//! those cancels are counted in the per-dispatch figures.
//!
//! Without `--bench` (under `cargo test --all-targets`) it does a short smoke run when
//! `PUENTE_TEST_REDIS_URL` is set, and nothing otherwise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use puente::adapters::store::redis::ROUND_TRIPS;
use puente::app::auth::Principal;
use puente::app::service::{NewInterpreter, Notice, Service};
use puente::domain::ids::InterpreterId;
use puente::domain::ids::RequestId;
use puente::domain::request::{Channel, Priority};
use puente::domain::roster::{Availability, LanguageSkill, PhoneNumber, Proficiency};

const LANGS: [&str; 10] = [
    "tzo",
    "tzh",
    "yua",
    "nah",
    "zap",
    "und-mixteco",
    "und-otomi",
    "ctu",
    "tsz",
    "hch",
];

fn main() {
    let Some((full, url)) = support::target("redis bench", "scripts/bench-redis.sh") else {
        return;
    };
    let rt = support::runtime();
    let (secs, interpreters) = if full { (5, 400) } else { (1, 40) };
    rt.block_on(run(&url, secs, interpreters, full));
}

fn redis_benchmark_evalsha(url: &str) -> Option<f64> {
    let port = url.rsplit(':').next()?.split('/').next()?.to_string();
    let load = std::process::Command::new("redis-cli")
        .args(["-p", &port, "script", "load", "return 1"])
        .output()
        .ok()?;
    let sha = String::from_utf8_lossy(&load.stdout).trim().to_string();
    let out = std::process::Command::new("redis-benchmark")
        .args([
            "-p", &port, "-n", "200000", "-c", "50", "-q", "evalsha", &sha, "0",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "evalsha ...: 123456.79 requests per second, p50=..."
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("requests per second"))?;
    let line = line.rsplit('\r').next()?;
    line.split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn run(url: &str, secs: u64, n_interpreters: usize, full: bool) {
    let ns = format!("bench-{}", puente::domain::ids::random_hex(4));
    let a = support::instance(url, &ns, &[]).await;
    let b = support::instance(url, &ns, &[]).await;
    for i in 0..n_interpreters {
        let new = NewInterpreter {
            id: InterpreterId::parse(&format!("i{i}")).unwrap(),
            name: format!("Interpreter {i}"),
            phone: PhoneNumber::parse("+525550001234").unwrap(),
            languages: vec![LanguageSkill {
                tag: LANGS[i % LANGS.len()].parse().unwrap(),
                proficiency: Proficiency::new(4).unwrap(),
                certification: None,
                group: None,
            }],
            availability: Availability::Available,
            schedule: None,
            certification: None,
        };
        a.svc.load_interpreter(new, None).await.unwrap();
    }
    // Offers as they reach instance A (whichever instance made them): cancel the request
    // at once to free the interpreter, note when the offer was seen, tell the waiting.
    let seen: Seen = Arc::default();
    let offered = Arc::new(tokio::sync::Notify::new());
    let mut rx = a.svc.bus.subscribe();
    let (seen2, offered2, svc) = (seen.clone(), offered.clone(), a.svc.clone());
    let operator = Arc::new(svc.authenticate(Some("bench-operator")).await.unwrap());
    let watcher = tokio::spawn(async move {
        while let Ok(n) = rx.recv().await {
            if let Notice::Offer(o) = &*n {
                if o.is_open() {
                    seen2
                        .lock()
                        .unwrap()
                        .entry(o.request.to_string())
                        .or_insert_with(Instant::now);
                    offered2.notify_waiters();
                    let (svc, operator) = (svc.clone(), operator.clone());
                    let id = o.request.clone();
                    tokio::spawn(async move {
                        let _ = svc
                            .cancel_request(
                                operator.operator().unwrap(),
                                &RequestId::from_path(id.as_str()),
                            )
                            .await;
                    });
                }
            }
        }
    });
    let post = Post {
        client: reqwest::Client::new(),
    };

    // 1. Steady 500 requests per second, alternating instances.
    let steady_rt0 = ROUND_TRIPS.load(Ordering::Relaxed);
    let rate = 500u64;
    let total = rate * secs;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        let at = start + Duration::from_micros(i * 1_000_000 / rate);
        tokio::time::sleep_until(at.into()).await;
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (post, base) = (post.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            post.create(&base, LANGS[i as usize % LANGS.len()]).await
        }));
    }
    let mut started: Vec<(String, Instant)> = Vec::new();
    for t in tasks {
        started.push(t.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat: Vec<Duration> = {
        let seen = seen.lock().unwrap();
        started
            .iter()
            .filter_map(|(id, t0)| seen.get(id).map(|t1| t1.saturating_duration_since(*t0)))
            .collect()
    };
    lat.sort();
    let steady_offered = lat.len();
    let steady_rts =
        (ROUND_TRIPS.load(Ordering::Relaxed) - steady_rt0) as f64 / steady_offered.max(1) as f64;
    let pct = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
    };

    // 2. The flood over HTTP, with an empty queue.
    let bases = [a.base.clone(), b.base.clone()];
    let http = Flood {
        seen: seen.clone(),
        offered: offered.clone(),
        create: Create::Http(post.clone(), bases.clone()),
    };
    let empty = http.clone().run(url, secs).await;

    // 3. The same with 2,000 requests waiting in languages nobody covers.
    let waiting = if full { 2000 } else { 100 };
    for i in 0..waiting {
        post.create(&bases[i % 2], BACKLOG[i % BACKLOG.len()]).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let backlog = http.run(url, secs).await;

    // 4. In process: the service driven directly, without HTTP.
    let operators = [
        Arc::new(a.svc.authenticate(Some("bench-operator")).await.unwrap()),
        Arc::new(b.svc.authenticate(Some("bench-operator")).await.unwrap()),
    ];
    let direct = Flood {
        seen: seen.clone(),
        offered: offered.clone(),
        create: Create::Direct([a.svc.clone(), b.svc.clone()], operators),
    }
    .run(url, secs)
    .await;

    // 5. The HTTP ceiling: the same number of workers and the same client on a handler
    // that does nothing (GET /healthz), so no dispatch can go faster through HTTP here.
    let done = Arc::new(AtomicU64::new(0));
    let ceiling_start = Instant::now();
    let deadline = ceiling_start + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let bases = bases.clone();
        let (client, done) = (post.client.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < deadline {
                let res = client
                    .get(format!("{}/healthz", bases[i % 2]))
                    .send()
                    .await
                    .unwrap();
                let _ = res.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let ceiling = done.load(Ordering::Relaxed) as f64 / ceiling_start.elapsed().as_secs_f64();

    // 6. What 500 operator streams (half on each instance) add to a request change.
    let n_streams = if full { 500 } else { 20 };
    let quiet = stream_cost(url, &post, &bases, &seen, &offered, 0).await;
    let streamed = stream_cost(url, &post, &bases, &seen, &offered, n_streams).await;
    watcher.abort();
    a.app.shutdown().await.unwrap();
    b.app.shutdown().await.unwrap();

    let evalsha = if full {
        redis_benchmark_evalsha(url)
    } else {
        None
    };
    let ratio = |x: f64| {
        evalsha
            .map(|e| format!("{:.3}", x / e))
            .unwrap_or_else(|| "n/a".into())
    };
    println!(
        "redis bench: {steady_offered}/{total} offered at {rate}/s, creation→offer p50 {:.2?} p99 {:.2?}, {steady_rts:.2} round trips per dispatch; \
         flood {:.0} dispatches/s, {:.2} round trips and {:.1} Redis commands per dispatch (cancels included); \
         with {waiting} waiting {:.0} dispatches/s, {:.1} Redis commands per dispatch; \
         in process {:.0} dispatches/s, {:.1} Redis commands per dispatch; \
         redis-benchmark EVALSHA {} /s (in-process ratio {}); \
         HTTP ceiling {ceiling:.0} GET /healthz per second (flood ratio {:.3}); \
         {n_streams} operator streams add {:.1} Redis commands per request change",
        pct(0.5),
        pct(0.99),
        empty.per_sec,
        empty.round_trips,
        empty.commands,
        backlog.per_sec,
        backlog.commands,
        direct.per_sec,
        direct.commands,
        evalsha.map(|e| format!("{e:.0}")).unwrap_or_else(|| "n/a".into()),
        ratio(direct.per_sec),
        empty.per_sec / ceiling,
        streamed - quiet,
    );
}

type Seen = Arc<Mutex<HashMap<String, Instant>>>;

/// Operators working at once in a flood.
const WORKERS: usize = 64;

/// Languages nobody in the bench's roster speaks.
const BACKLOG: [&str; 4] = [
    "und-totonaco",
    "und-mazateco",
    "und-huasteco",
    "und-mazahua",
];

#[derive(Clone)]
struct Post {
    client: reqwest::Client,
}

impl Post {
    /// Create a request over HTTP: its id, and when the POST was sent.
    async fn create(&self, base: &str, lang: &str) -> (String, Instant) {
        let started = Instant::now();
        let res = self
            .client
            .post(format!("{base}/api/v1/requests"))
            .bearer_auth("bench-operator")
            .json(&serde_json::json!({"language": lang, "priority": "normal", "channel": "phone"}))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = res.json().await.unwrap();
        (v["id"].as_str().unwrap_or_default().to_string(), started)
    }
}

/// How a flood's operators create their requests: over HTTP, or through the service.
#[derive(Clone)]
enum Create {
    Http(Post, [String; 2]),
    Direct([Arc<Service>; 2], [Arc<Principal>; 2]),
}

impl Create {
    async fn one(&self, i: usize) -> String {
        let lang = LANGS[i % LANGS.len()];
        match self {
            Create::Http(post, bases) => post.create(&bases[i % 2], lang).await.0,
            Create::Direct(svcs, operators) => svcs[i % 2]
                .create_request(
                    operators[i % 2].operator().unwrap(),
                    lang,
                    Priority::Normal,
                    Channel::Phone,
                )
                .await
                .unwrap()
                .id
                .to_string(),
        }
    }
}

#[derive(Clone)]
struct Flood {
    seen: Seen,
    offered: Arc<tokio::sync::Notify>,
    create: Create,
}

struct Figures {
    per_sec: f64,
    round_trips: f64,
    commands: f64,
}

/// Wait (at most 5 s) until request `id` was offered.
async fn offered(seen: &Seen, notify: &tokio::sync::Notify, id: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let woken = notify.notified();
        if seen.lock().unwrap().contains_key(id) {
            return true;
        }
        if tokio::time::timeout_at(deadline, woken).await.is_err() {
            return false;
        }
    }
}

impl Flood {
    /// `WORKERS` operators at once, each creating a request as soon as their last one was
    /// offered, for `secs` seconds: every request counted is one dispatch.
    async fn run(self, url: &str, secs: u64) -> Figures {
        let rt0 = ROUND_TRIPS.load(Ordering::Relaxed);
        let cmd0 = support::command_calls(url);
        let dispatched = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        let mut workers = Vec::new();
        for w in 0..WORKERS {
            let (ctx, dispatched) = (self.clone(), dispatched.clone());
            workers.push(tokio::spawn(async move {
                let mut i = w;
                while Instant::now() < deadline {
                    let id = ctx.create.one(i).await;
                    if offered(&ctx.seen, &ctx.offered, &id).await {
                        dispatched.fetch_add(1, Ordering::Relaxed);
                    }
                    i += WORKERS;
                }
            }));
        }
        for w in workers {
            w.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        // Let the last cancels land before counting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let n = dispatched.load(Ordering::Relaxed).max(1) as f64;
        Figures {
            per_sec: n / elapsed,
            round_trips: (ROUND_TRIPS.load(Ordering::Relaxed) - rt0) as f64 / n,
            commands: (support::command_calls(url) - cmd0) as f64 / n,
        }
    }
}

/// Redis commands per request change, one request at a time (created, offered,
/// cancelled: three changes), with `n` operator streams open over HTTP.
async fn stream_cost(
    url: &str,
    post: &Post,
    bases: &[String; 2],
    seen: &Seen,
    notify: &tokio::sync::Notify,
    n: usize,
) -> f64 {
    let mut readers = Vec::new();
    for i in 0..n {
        let res = post
            .client
            .get(format!("{}/api/v1/events", bases[i % 2]))
            .bearer_auth("bench-operator")
            .send()
            .await
            .unwrap();
        readers.push(tokio::spawn(async move {
            let mut body = res.bytes_stream();
            while let Some(Ok(_)) = futures_util::StreamExt::next(&mut body).await {}
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rounds = 100;
    let cmd0 = support::command_calls(url);
    for i in 0..rounds {
        let (id, _) = post.create(&bases[i % 2], LANGS[0]).await;
        offered(seen, notify, &id).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let per = (support::command_calls(url) - cmd0) as f64 / (rounds * 3) as f64;
    for r in readers {
        r.abort();
    }
    per
}

//! Two instances on one Redis, driven over HTTP: `scripts/bench-redis.sh` runs this with
//! `--bench` against a Redis it starts, and prints one summary line.
//!
//! Measures, in one run: creation-to-offer latency at a steady 500 requests per second
//! (POST on alternating instances → the offer arriving on instance A's event bus, through
//! Redis pub/sub); dispatches per second when flooding; Redis round trips per dispatch
//! (counted by the client) and Redis commands per dispatch (the server's
//! `INFO commandstats`, commands inside scripts included); and `redis-benchmark` EVALSHA
//! of a one-line script on the same server, for the ratio; and the HTTP ceiling (the same
//! client and workers on `GET /healthz`, which does nothing), to show how much of the gap
//! to EVALSHA is HTTP itself.
//!
//! Every offer is answered by cancelling its request at once, to free the interpreter;
//! those cancels are counted in the per-dispatch figures (so they are upper bounds).
//!
//! Without `--bench` (under `cargo test --all-targets`) it does a short smoke run when
//! `PUENTE_TEST_REDIS_URL` is set, and nothing otherwise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use puente::adapters::store::redis::ROUND_TRIPS;
use puente::app::service::{Clock, NewInterpreter, Notice, Service};
use puente::domain::ids::InterpreterId;
use puente::domain::ids::RequestId;
use puente::domain::roster::{Availability, LanguageSkill, PhoneNumber, Proficiency};
use puente::setup::config::Config;

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
    let full = std::env::args().any(|a| a == "--bench");
    let url = std::env::var("PUENTE_BENCH_REDIS_URL")
        .or_else(|_| std::env::var("PUENTE_TEST_REDIS_URL"))
        .ok();
    let Some(url) = url else {
        println!(
            "redis bench: skipped (set PUENTE_BENCH_REDIS_URL, or run scripts/bench-redis.sh)"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (secs, interpreters) = if full { (5, 400) } else { (1, 40) };
    rt.block_on(run(&url, secs, interpreters, full));
}

struct Instance {
    svc: Arc<Service>,
    base: String,
    app: puente::setup::startup::App,
}

async fn instance(url: &str, ns: &str) -> Instance {
    let config = Config::from_vars([
        ("PUENTE_REDIS_URL", url),
        ("PUENTE_REDIS_NAMESPACE", ns),
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", "bench-operator"),
    ])
    .unwrap();
    let svc = puente::setup::startup::build(&config, Clock::new())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = puente::setup::startup::serve(svc.clone(), &config, listener).unwrap();
    Instance {
        base: format!("http://{}", app.addr),
        svc,
        app,
    }
}

fn command_calls(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut con)
        .unwrap();
    info.lines()
        .filter_map(|l| l.split("calls=").nth(1))
        .filter_map(|rest| rest.split(',').next())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
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
    let a = instance(url, &ns).await;
    let b = instance(url, &ns).await;
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
    // at once to free the interpreter, and note when the offer was seen.
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut rx = a.svc.bus.subscribe();
    let (seen2, svc) = (seen.clone(), a.svc.clone());
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
    let client = reqwest::Client::new();
    let post = move |base: String, lang: &'static str| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            let res = client
                .post(format!("{base}/api/v1/requests"))
                .bearer_auth("bench-operator")
                .json(&serde_json::json!({"language": lang, "priority": "normal", "channel": "phone"}))
                .send()
                .await
                .unwrap();
            let v: serde_json::Value = res.json().await.unwrap();
            (v["id"].as_str().unwrap_or_default().to_string(), started)
        }
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
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        tasks.push(tokio::spawn(post(base, LANGS[i as usize % LANGS.len()])));
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
    let offered = lat.len();
    let steady_rts =
        (ROUND_TRIPS.load(Ordering::Relaxed) - steady_rt0) as f64 / offered.max(1) as f64;
    let pct = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
    };

    // 2. Flood: 64 at a time, as fast as it goes.
    let rt0 = ROUND_TRIPS.load(Ordering::Relaxed);
    let cmd0 = command_calls(url.split(',').next().unwrap());
    let seen_before = seen.lock().unwrap().len();
    let flood_start = Instant::now();
    let deadline = flood_start + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for w in 0..64usize {
        let (ab, bb) = (a.base.clone(), b.base.clone());
        let post = post.clone();
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < deadline {
                let base = if i % 2 == 0 { ab.clone() } else { bb.clone() };
                post(base, LANGS[i % LANGS.len()]).await;
                i += 64;
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flood_secs = flood_start.elapsed().as_secs_f64() - 0.5;
    let dispatched = seen.lock().unwrap().len() - seen_before;
    let rts = ROUND_TRIPS.load(Ordering::Relaxed) - rt0;
    let cmds = command_calls(url.split(',').next().unwrap()) - cmd0;
    let per_sec = dispatched as f64 / flood_secs;

    // 3. The HTTP ceiling: the same 64 workers and client on a handler that does nothing
    // (GET /healthz), so no dispatch can go faster through HTTP on this machine.
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let ceiling_start = Instant::now();
    let deadline = ceiling_start + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for w in 0..64usize {
        let (ab, bb) = (a.base.clone(), b.base.clone());
        let (client, done) = (client.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < deadline {
                let base = if i % 2 == 0 { &ab } else { &bb };
                let res = client.get(format!("{base}/healthz")).send().await.unwrap();
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
    watcher.abort();
    a.app.shutdown().await.unwrap();
    b.app.shutdown().await.unwrap();

    let evalsha = if full {
        redis_benchmark_evalsha(url)
    } else {
        None
    };
    let ratio = evalsha
        .map(|e| format!("{:.3}", per_sec / e))
        .unwrap_or_else(|| "n/a".into());
    let ceiling_ratio = evalsha
        .map(|e| format!("{:.3}", ceiling / e))
        .unwrap_or_else(|| "n/a".into());
    println!(
        "redis bench: {offered}/{total} offered at {rate}/s, creation→offer p50 {:.2?} p99 {:.2?}, {steady_rts:.2} round trips per dispatch; flood {per_sec:.0} dispatches/s, {:.2} round trips and {:.1} Redis commands per dispatch (cancels included); redis-benchmark EVALSHA {} /s; ratio {ratio}; HTTP ceiling {ceiling:.0} GET /healthz per second (ratio {ceiling_ratio})",
        pct(0.5),
        pct(0.99),
        rts as f64 / dispatched.max(1) as f64,
        cmds as f64 / dispatched.max(1) as f64,
        evalsha.map(|e| format!("{e:.0}")).unwrap_or_else(|| "n/a".into()),
    );
}

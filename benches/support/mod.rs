//! What the Redis benchmarks share: an instance of puente on a Redis, and Redis's own
//! counters.

// Each benchmark uses part of this.
#![allow(dead_code)]

use std::sync::Arc;

use puente::app::service::{Clock, Service};
use puente::setup::config::Config;

pub struct Instance {
    pub svc: Arc<Service>,
    pub base: String,
    pub app: puente::setup::startup::App,
}

/// An instance serving HTTP on a free port, on Redis at `url` in namespace `ns`, with an
/// operator token `bench-operator`, a coordinator token `bench-coordinator`, and `extra`.
pub async fn instance(url: &str, ns: &str, extra: &[(&str, &str)]) -> Instance {
    let mut vars = vec![
        ("PUENTE_REDIS_URL", url),
        ("PUENTE_REDIS_NAMESPACE", ns),
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", "bench-operator"),
        ("PUENTE_COORDINATOR_TOKENS", "bench-coordinator"),
    ];
    vars.extend_from_slice(extra);
    let config = Config::from_vars(vars).unwrap();
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

/// `INFO <section>` of the first node in `url`.
pub fn redis_info(url: &str, section: &str) -> String {
    let client = redis::Client::open(url.split(',').next().unwrap()).unwrap();
    let mut con = client.get_connection().unwrap();
    redis::cmd("INFO").arg(section).query(&mut con).unwrap()
}

/// Commands Redis has run so far (commands inside scripts included).
pub fn command_calls(url: &str) -> u64 {
    redis_info(url, "commandstats")
        .lines()
        .filter_map(|l| l.split("calls=").nth(1))
        .filter_map(|rest| rest.split(',').next())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

/// Whether this is a full run (`--bench`), and the Redis to run on
/// (`PUENTE_BENCH_REDIS_URL`, else the tests' `PUENTE_TEST_REDIS_URL` for a short run);
/// none (and a line saying so) when there is no Redis.
pub fn target(name: &str, script: &str) -> Option<(bool, String)> {
    let full = std::env::args().any(|a| a == "--bench");
    let url = std::env::var("PUENTE_BENCH_REDIS_URL")
        .or_else(|_| std::env::var("PUENTE_TEST_REDIS_URL"))
        .ok();
    if url.is_none() {
        println!("{name}: skipped (set PUENTE_BENCH_REDIS_URL, or run {script})");
    }
    Some((full, url?))
}

/// Two worker threads: the machines this runs on have two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

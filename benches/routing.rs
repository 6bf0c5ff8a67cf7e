//! Routing benchmarks: `cargo bench --bench routing`.
//!
//! 1. The matcher: one decision against a roster of 10,000 free interpreters across 68
//!    languages with 1,000 requests waiting; and a full plan that offers all 1,000 at once.
//! 2. End to end, in process: from `POST /api/v1/requests` to the offer arriving on the
//!    interpreter's live event stream, over real HTTP on loopback, with a 10,000-strong
//!    roster in the in-memory store.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs each part once with
//! small sizes, so the code stays compiled and working without slowing the test suite.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use puente::domain::ids::InterpreterId;
use puente::domain::ids::OfferId;
use puente::domain::ids::RequestId;
use puente::domain::language::LanguageTag;
use puente::domain::request::Priority;
use puente::domain::roster::Proficiency;
use puente::logic::matcher::{decide, Attempt, FreeInterpreter, PendingRequest, Policy, Snapshot};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (interpreters, requests, samples) = if full {
        (10_000, 1_000, 2_000)
    } else {
        (500, 50, 20)
    };
    matcher_bench(interpreters, requests, if full { 200 } else { 3 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(end_to_end(interpreters, samples));
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn language_tags(n: usize) -> Vec<LanguageTag> {
    // 68 synthetic three-letter tags, as many as INALI's agrupaciones.
    (0..n)
        .map(|i| {
            let code: String = [b'a' + (i / 26) as u8, b'a' + (i % 26) as u8, b'x']
                .iter()
                .map(|&b| b as char)
                .collect();
            LanguageTag::parse(&code).unwrap()
        })
        .collect()
}

fn roster(n: usize, tags: &[LanguageTag], rng: &mut Rng) -> Vec<FreeInterpreter> {
    (0..n)
        .map(|i| {
            let k = 1 + rng.below(2) as usize;
            let languages = (0..k)
                .map(|_| {
                    let tag = tags[rng.below(tags.len() as u64) as usize].clone();
                    (tag, Proficiency::new(1 + rng.below(5) as i64).unwrap())
                })
                .collect();
            FreeInterpreter {
                id: InterpreterId::parse(&format!("i{i}")).unwrap(),
                languages,
                groups: Vec::new(),
                idle_since: t(-(rng.below(10_000) as i64)),
                ready_at: None,
                holds_offer: false,
            }
        })
        .collect()
}

fn pending(n: usize, tags: &[LanguageTag], rng: &mut Rng) -> Vec<PendingRequest> {
    (0..n)
        .map(|i| PendingRequest {
            id: RequestId::from_path(&format!("r{i}")),
            language: tags[rng.below(tags.len() as u64) as usize].clone(),
            group: None,
            tier: 0,
            priority: if rng.below(5) == 0 {
                Priority::Urgent
            } else {
                Priority::Normal
            },
            created_at: t(-(rng.below(600) as i64)),
            attempts: Vec::new(),
        })
        .collect()
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "{name:<58} n={:<5} median {:>9.1?}  p99 {:>9.1?}  min {:>9.1?}",
        times.len(),
        pct(0.5),
        pct(0.99),
        times[0]
    );
}

fn matcher_bench(n_interpreters: usize, n_requests: usize, iters: usize) {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let tags = language_tags(68);
    let its = roster(n_interpreters, &tags, &mut rng);
    let mut reqs = pending(n_requests, &tags, &mut rng);
    let policy = Policy::default();
    let now = t(0);

    // Snapshot construction (index by language, sort), which the store does per step.
    let mut build = Vec::new();
    for _ in 0..iters {
        let start = Instant::now();
        let s = Snapshot::new(reqs.clone(), its.clone(), Vec::new());
        build.push(start.elapsed());
        std::hint::black_box(s);
    }
    report(
        &format!("snapshot build ({n_interpreters} interpreters, {n_requests} requests)"),
        build,
    );

    // A full plan: every waiting request gets an offer at once.
    let snap = Snapshot::new(reqs.clone(), its.clone(), Vec::new());
    let mut full = Vec::new();
    let mut decisions = 0;
    for _ in 0..iters {
        let start = Instant::now();
        let plan = decide(&snap, now, &policy);
        full.push(start.elapsed());
        decisions = plan.decisions.len();
    }
    let per = full.iter().map(|d| *d / decisions.max(1) as u32).collect();
    report(&format!("decide: full plan ({decisions} offers)"), full);
    report("decide: full plan, per offer", per);

    // One decision: the 1,000 waiting requests already hold open offers (sequential waits
    // for them), and one new request arrives.
    for (i, r) in reqs.iter_mut().enumerate() {
        r.attempts.push(Attempt {
            interpreter: InterpreterId::parse(&format!("i{i}")).unwrap(),
            count: 1,
            last_closed_at: None,
            open: true,
        });
    }
    let offers = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| puente::logic::matcher::OpenOffer {
            id: OfferId::from_path(&format!("o{i}")),
            request: r.id.clone(),
            interpreter: InterpreterId::parse(&format!("i{i}")).unwrap(),
            deadline: t(30),
        })
        .collect();
    let mut new = pending(1, &tags, &mut rng);
    new[0].id = RequestId::from_path("r-new");
    reqs.extend(new);
    let snap = Snapshot::new(reqs, its, offers);
    let mut one = Vec::new();
    for _ in 0..iters * 10 {
        let start = Instant::now();
        let plan = decide(&snap, now, &policy);
        one.push(start.elapsed());
        assert_eq!(plan.decisions.len(), 1);
    }
    report(
        &format!("decide: one new request ({n_requests} waiting with open offers)"),
        one,
    );
}

async fn end_to_end(n_interpreters: usize, samples: usize) {
    use puente::app::service::{Clock, NewInterpreter};
    use puente::domain::roster::{Availability, LanguageSkill, PhoneNumber};
    use puente::setup::config::Config;

    let config = Config::from_vars([
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", "bench-operator"),
    ])
    .unwrap();
    let svc = puente::setup::startup::build(&config, Clock::new())
        .await
        .unwrap();
    let tags: Vec<LanguageTag> = svc
        .catalogue
        .languages()
        .iter()
        .map(|l| l.tag.clone())
        .collect();
    let mut rng = Rng(42);
    // Everybody but the probe interpreter works in other languages than the probe's.
    let probe_tag = LanguageTag::parse("tzo").unwrap();
    let others: Vec<_> = tags.iter().filter(|t| **t != probe_tag).cloned().collect();
    for i in 0..n_interpreters {
        let tag = if i == 0 {
            probe_tag.clone()
        } else {
            others[rng.below(others.len() as u64) as usize].clone()
        };
        let new = NewInterpreter {
            id: InterpreterId::parse(&format!("i{i}")).unwrap(),
            name: format!("Interpreter {i}"),
            phone: PhoneNumber::parse("+525550001234").unwrap(),
            languages: vec![LanguageSkill {
                tag,
                proficiency: Proficiency::new(4).unwrap(),
                certification: None,
                group: None,
            }],
            availability: Availability::Available,
            schedule: None,
            certification: None,
        };
        let token = (i == 0).then(|| puente::domain::ids::TokenHash::of("bench-probe-token"));
        svc.load_interpreter(new, token).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = puente::setup::startup::serve(svc.clone(), &config, listener).unwrap();
    let base = format!("http://{}", app.addr);
    let client = reqwest::Client::new();
    let mut stream = client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth("bench-probe-token")
        .send()
        .await
        .unwrap();
    let operator = svc.authenticate(Some("bench-operator")).await.unwrap();
    let mut buf = String::new();
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + 20 {
        let start = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/requests"))
            .bearer_auth("bench-operator")
            .json(&serde_json::json!({"language": "tzo", "priority": "urgent", "channel": "phone"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let req: serde_json::Value = res.json().await.unwrap();
        // Wait for this request's offer on the interpreter's stream.
        let needle = format!("\"request_id\":\"{}\"", req["id"].as_str().unwrap());
        loop {
            if let Some(pos) = buf.find(&needle) {
                buf.drain(..pos + needle.len());
                break;
            }
            let chunk = stream.chunk().await.unwrap().expect("stream open");
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }
        let took = start.elapsed();
        if i >= 20 {
            times.push(took); // The first few warm up connections and caches.
        }
        // Free the interpreter for the next sample.
        let id = req["id"].as_str().unwrap();
        svc.cancel_request(
            operator.operator().unwrap(),
            &puente::domain::ids::RequestId::from_path(id),
        )
        .await
        .unwrap();
    }
    report(
        &format!("end to end: POST request → offer on stream ({n_interpreters} roster)"),
        times,
    );
    drop(stream);
    app.shutdown().await.unwrap();
}

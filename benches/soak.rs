//! The soak: two instances on one Redis under twice the roster's capacity, with the
//! invariants checked from the store at every sample. `scripts/soak.sh` runs it (5 minutes
//! by default, `SOAK_SECS` and `SOAK_RATE` to change); under `cargo test --all-targets`
//! with `PUENTE_TEST_REDIS_URL` set it runs for 10 s.
//!
//! The load: 30 interpreters in six languages, each accepting 80% of their offers (after
//! 0.1–0.5 s), declining 10% and letting 10% expire, completing a call 1–3 s after
//! accepting (about 9 calls a second in all); operators create 20 requests a second,
//! alternating instances, and cancel 5% of them; 20 operator streams follow the bus.
//!
//! Every second: no interpreter in two sessions, no request connected to two
//! interpreters, every session's request connected to it, no open offer more than a second
//! past its deadline; every ten seconds, the requests by state add up to those created.
//! Prints one summary line and exits 1 on any violation.

#[path = "support/rng.rs"]
mod rng;
#[path = "support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use puente::adapters::store::listing::Listing;
use puente::app::auth::Principal;
use puente::app::service::{NewInterpreter, Notice, Service};
use puente::domain::ids::{InterpreterId, RequestId};
use puente::domain::named::Named;
use puente::domain::request::{Channel, Priority, RequestState};
use puente::domain::roster::{Availability, LanguageSkill, PhoneNumber, Proficiency};
use rng::Rng;

const LANGS: [&str; 6] = ["tzo", "tzh", "yua", "nah", "zap", "und-mixteco"];

fn main() {
    let Some((full, url)) = support::target("soak", "scripts/soak.sh") else {
        return;
    };
    let number = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let secs = number("SOAK_SECS", if full { 300 } else { 10 });
    let rate = number("SOAK_RATE", 20);
    let violations = support::runtime().block_on(run(&url, secs, rate));
    std::process::exit(if violations == 0 { 0 } else { 1 });
}

/// What the soak saw: creation and first-offer instants, outcomes, violations.
#[derive(Default)]
struct Seen {
    created: HashMap<RequestId, Instant>,
    offered: HashMap<RequestId, Instant>,
    /// Interpreters who ended a call, since when (until their next offer).
    freed: HashMap<InterpreterId, Instant>,
    /// When an interpreter was freed, and how long until their next offer: the
    /// dispatcher's latency, whatever the backlog (which lengthens waits, not this).
    reoffered: Vec<(Instant, Duration)>,
    violations: Vec<String>,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn redis_memory(url: &str) -> u64 {
    support::redis_info(url, "memory")
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok())
        .unwrap_or(0)
}

async fn run(url: &str, secs: u64, rate: u64) -> usize {
    let ns = format!("soak-{}", puente::domain::ids::random_hex(4));
    let a = support::instance(url, &ns, &[]).await;
    let b = support::instance(url, &ns, &[]).await;
    let svcs = [a.svc.clone(), b.svc.clone()];
    let coordinator = a.svc.authenticate(Some("bench-coordinator")).await.unwrap();
    let coordinator = coordinator.coordinator().unwrap().clone();
    let operators: Vec<Arc<Principal>> = futures_util::future::join_all(
        svcs.iter()
            .map(|s| async { Arc::new(s.authenticate(Some("bench-operator")).await.unwrap()) }),
    )
    .await;
    let seen: Arc<Mutex<Seen>> = Arc::default();

    // The interpreters: each follows its offers on A's bus (every instance's changes reach
    // it), and answers as people would.
    let mut inbox: HashMap<InterpreterId, tokio::sync::mpsc::UnboundedSender<Notice>> =
        HashMap::new();
    let mut people = Vec::new();
    for i in 0..30usize {
        let id = InterpreterId::parse(&format!("i{i:02}")).unwrap();
        let new = NewInterpreter {
            id: id.clone(),
            name: format!("Interpreter {i}"),
            phone: PhoneNumber::parse("+525550001234").unwrap(),
            languages: vec![LanguageSkill {
                tag: LANGS[i % LANGS.len()].parse().unwrap(),
                proficiency: Proficiency::new(3 + (i % 3) as i64).unwrap(),
                certification: None,
                group: None,
            }],
            availability: Availability::Available,
            schedule: None,
            certification: None,
        };
        let (_, token) = a.svc.create_interpreter(&coordinator, new).await.unwrap();
        let me = Arc::new(a.svc.authenticate(Some(&token)).await.unwrap());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Notice>();
        inbox.insert(id, tx);
        let svc = svcs[i % 2].clone();
        let seen_by = seen.clone();
        let mut dice = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
        people.push(tokio::spawn(async move {
            while let Some(Notice::Offer(o)) = rx.recv().await {
                if !o.is_open() {
                    continue;
                }
                let me_ = me.me().unwrap();
                svc.offers_seen(me_, std::slice::from_ref(&o)).await;
                match dice.below(10) {
                    0 => continue, // lets it expire
                    1 => {
                        let _ = svc.decline_offer(me_, &o.id).await;
                    }
                    _ => {
                        tokio::time::sleep(Duration::from_millis(100 + dice.below(400))).await;
                        if svc.accept_offer(me_, &o.id).await.is_ok() {
                            tokio::time::sleep(Duration::from_millis(1000 + dice.below(2000)))
                                .await;
                            if svc.complete_request(&me, &o.request).await.is_ok() {
                                let mut s = seen_by.lock().unwrap();
                                s.freed.insert(o.interpreter.clone(), Instant::now());
                            }
                        }
                    }
                }
            }
        }));
    }
    let mut rx = a.svc.bus.subscribe();
    let (seen2, inbox) = (seen.clone(), inbox);
    let lagged = Arc::new(AtomicU64::new(0));
    let lagged2 = lagged.clone();
    let router = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(n) => {
                    if let Notice::Offer(o) = &*n {
                        if o.is_open() {
                            let mut s = seen2.lock().unwrap();
                            let now = Instant::now();
                            s.offered.entry(o.request.clone()).or_insert(now);
                            if let Some(t) = s.freed.remove(&o.interpreter) {
                                s.reoffered.push((t, now.duration_since(t)));
                            }
                        }
                        if let Some(tx) = inbox.get(&o.interpreter) {
                            let _ = tx.send(Notice::Offer(o.clone()));
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    lagged2.fetch_add(n, Ordering::Relaxed);
                }
                Err(_) => return,
            }
        }
    });
    // 20 operator streams, as consoles would follow them (10 on each instance).
    let mut streams = Vec::new();
    for i in 0..20 {
        let mut rx = svcs[i % 2].bus.subscribe();
        let lagged = lagged.clone();
        streams.push(tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        lagged.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(_) => return,
                }
            }
        }));
    }

    let rss0 = rss_kib();
    let redis0 = redis_memory(url);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);

    // Operators: `rate` requests a second, alternating instances; 5% cancelled later.
    let (svcs2, ops2, seen3) = (svcs.clone(), operators.clone(), seen.clone());
    let operators_task = tokio::spawn(async move {
        let mut dice = Rng(0xD1B5_4A32_D192_ED03);
        let mut i = 0u64;
        // Reaped as they finish: a finished task's handle keeps its memory until then,
        // which would read as the instances' memory growing.
        let mut tasks = tokio::task::JoinSet::new();
        while Instant::now() < deadline {
            let at = start + Duration::from_micros(i * 1_000_000 / rate);
            tokio::time::sleep_until(at.into()).await;
            let k = (i % 2) as usize;
            let (svc, op) = (svcs2[k].clone(), ops2[k].clone());
            let lang = LANGS[dice.below(LANGS.len() as u64) as usize];
            let cancel = dice.below(20) == 0;
            let later = Duration::from_millis(dice.below(5000));
            let seen = seen3.clone();
            while tasks.try_join_next().is_some() {}
            tasks.spawn(async move {
                let t0 = Instant::now();
                let Ok(r) = svc
                    .create_request(
                        op.operator().unwrap(),
                        lang,
                        Priority::Normal,
                        Channel::Phone,
                    )
                    .await
                else {
                    return;
                };
                seen.lock().unwrap().created.insert(r.id.clone(), t0);
                if cancel {
                    tokio::time::sleep(later).await;
                    let _ = svc.cancel_request(op.operator().unwrap(), &r.id).await;
                }
            });
            i += 1;
        }
        while tasks.join_next().await.is_some() {}
    });

    // The samples, from the store.
    let operator = operators[0].clone();
    let mut samples = 0u64;
    // The level after warm-up: a fifth of the run, a minute at most.
    let warm = Duration::from_secs((secs / 5).clamp(1, 60));
    let mut rss_warm = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples += 1;
        if rss_warm.is_none() && start.elapsed() >= warm {
            rss_warm = Some(rss_kib());
        }
        let found = check(&a.svc, &coordinator, &operator, samples % 10 == 0, &seen).await;
        seen.lock().unwrap().violations.extend(found);
    }
    operators_task.await.unwrap();
    // Let the last calls end (3 s at most) and check once more, counts included.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let found = check(&a.svc, &coordinator, &operator, true, &seen).await;
    seen.lock().unwrap().violations.extend(found);

    let by_state: BTreeMap<&str, usize> = {
        let mut m = BTreeMap::new();
        for (_, state) in stored(&a.svc, &operator).await.unwrap_or_default() {
            *m.entry(state.name()).or_default() += 1;
        }
        m
    };
    let offline = a
        .svc
        .interpreters(&coordinator)
        .await
        .unwrap()
        .iter()
        .filter(|i| i.availability == Availability::Offline)
        .count();
    // Per minute of the run: p50 and p99 of (instant, duration) pairs.
    let per_minute = |pairs: Vec<(Instant, Duration)>| {
        let mut per: BTreeMap<u64, Vec<Duration>> = BTreeMap::new();
        for (t, d) in pairs {
            per.entry(t.duration_since(start).as_secs() / 60)
                .or_default()
                .push(d);
        }
        per.into_iter()
            .map(|(m, mut v)| {
                v.sort();
                let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
                format!("min {}: p50 {:.1?} p99 {:.1?}", m + 1, p(0.5), p(0.99))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (minutes, reoffer) = {
        let s = seen.lock().unwrap();
        let waits = s
            .created
            .iter()
            .filter_map(|(id, t0)| Some((*t0, s.offered.get(id)?.saturating_duration_since(*t0))))
            .collect();
        (per_minute(waits), per_minute(s.reoffered.clone()))
    };
    // The shift ends: what still waits is cancelled, and the instances settle.
    let waiting = a
        .svc
        .every_request(Listing::waiting())
        .await
        .unwrap_or_default();
    for r in &waiting {
        let _ = a
            .svc
            .cancel_request(operator.operator().unwrap(), &r.id)
            .await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss1, redis1) = (rss_kib(), redis_memory(url));
    // What Redis holds beyond the history: forget every finished request and look again.
    let forgotten = a
        .svc
        .forget_finished_before(a.svc.now() + jiff::SignedDuration::from_secs(1))
        .await
        .unwrap_or(0);
    let redis2 = redis_memory(url);
    let per_request = redis1.saturating_sub(redis2) / forgotten.max(1) as u64;
    let rss_warm = rss_warm.unwrap_or(rss0);
    // Flat: back within 20% of the level after warm-up (judged on runs long enough to
    // have one).
    if secs >= 120 && rss1 * 10 > rss_warm * 12 {
        seen.lock().unwrap().violations.push(format!(
            "RSS grew from {} MiB after warm-up to {} MiB",
            rss_warm / 1024,
            rss1 / 1024
        ));
    }
    router.abort();
    for s in streams {
        s.abort();
    }
    for p in people {
        p.abort();
    }
    a.app.shutdown().await.unwrap();
    b.app.shutdown().await.unwrap();
    let s = seen.lock().unwrap();
    println!(
        "soak: {secs} s at {rate} requests/s, {} created; by state {by_state:?}; create→offer {minutes}; \
         call ended→next offer {reoffer}; \
         {offline} interpreters offline at the end; {} stream events missed; \
         RSS {} → {} (after warm-up) → {} MiB (backlog cancelled); Redis {} → {} MiB, {} MiB once the {forgotten} \
         finished requests are forgotten ({per_request} bytes each); {} invariant violations{}",
        s.created.len(),
        lagged.load(Ordering::Relaxed),
        rss0 / 1024,
        rss_warm / 1024,
        rss1 / 1024,
        redis0 / (1 << 20),
        redis1 / (1 << 20),
        redis2 / (1 << 20),
        s.violations.len(),
        s.violations
            .iter()
            .take(5)
            .map(|v| format!("\n  {v}"))
            .collect::<String>(),
    );
    s.violations.len()
}

/// Every request in the store, id and state, read a page at a time (the checker keeps no
/// more than that of the history).
async fn stored(
    svc: &Service,
    operator: &Principal,
) -> Result<Vec<(RequestId, RequestState)>, puente::app::service::ServiceError> {
    let staff = operator.staff()?;
    let mut listing = Listing {
        limit: puente::adapters::store::listing::MAX_LIMIT,
        ..Listing::all()
    };
    let mut out = Vec::new();
    loop {
        let page = svc.requests(&staff, &listing).await?;
        out.extend(page.requests.into_iter().map(|r| (r.id, r.state)));
        match page.next {
            Some(c) => listing.after = Some(c),
            None => return Ok(out),
        }
    }
}

/// Whether request `rid` and interpreter `iid` agree (the request is no longer connected,
/// or the interpreter's session is it) within a few re-reads: two reads are two instants,
/// and a connection or an end may fall between them; a real disagreement stays.
async fn settles(
    svc: &Service,
    coordinator: &puente::app::auth::Coordinator,
    operator: &Principal,
    iid: &InterpreterId,
    rid: &RequestId,
) -> bool {
    for _ in 0..5 {
        let it = svc.interpreter(&coordinator.for_interpreter(iid)).await;
        let r = svc.request(operator, rid).await;
        match (it, r) {
            (Ok(it), Ok(r))
                if r.state != RequestState::Connected || it.session.as_ref() == Some(rid) =>
            {
                return true
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    false
}

/// The invariants, read from the store; with `counts`, the requests by state add up to
/// those created (every request created is in the store, exactly once).
async fn check(
    svc: &Service,
    coordinator: &puente::app::auth::Coordinator,
    operator: &Principal,
    counts: bool,
    seen: &Mutex<Seen>,
) -> Vec<String> {
    let mut found = Vec::new();
    let (Ok(its), Ok(connected)) = (
        svc.interpreters(coordinator).await,
        svc.every_request(Listing::of_states(&[RequestState::Connected]))
            .await,
    ) else {
        return vec!["the store did not answer a sample".into()];
    };
    let now = svc.now();
    // A request connected to one interpreter, who is in that session.
    let mut holders: HashMap<&InterpreterId, &RequestId> = HashMap::new();
    for r in &connected {
        let Some(iid) = &r.interpreter else {
            found.push(format!("request {} connected to nobody", r.id));
            continue;
        };
        if let Some(other) = holders.insert(iid, &r.id) {
            found.push(format!("{iid} connected to {other} and {}", r.id));
        }
        let session = its
            .iter()
            .find(|i| &i.id == iid)
            .and_then(|i| i.session.clone());
        if session.as_ref() != Some(&r.id) && !settles(svc, coordinator, operator, iid, &r.id).await
        {
            found.push(format!(
                "request {} connected to {iid}, whose session is {session:?}",
                r.id
            ));
        }
    }
    for it in &its {
        for o in svc
            .offer_history(&coordinator.for_interpreter(&it.id))
            .await
            .unwrap_or_default()
        {
            if o.is_open() && o.deadline + jiff::SignedDuration::from_secs(1) < now {
                found.push(format!(
                    "offer {} open {} past its deadline",
                    o.id,
                    now.duration_since(o.deadline)
                ));
            }
        }
    }
    if counts {
        let created: HashSet<RequestId> = seen.lock().unwrap().created.keys().cloned().collect();
        if let Ok(all) = stored(svc, operator).await {
            let stored: HashSet<&RequestId> = all.iter().map(|(id, _)| id).collect();
            if stored.len() != all.len() {
                found.push("a request is listed twice".into());
            }
            if let Some(lost) = created.iter().find(|id| !stored.contains(id)) {
                found.push(format!(
                    "request {lost} was created and is not in the store"
                ));
            }
        }
    }
    found
}

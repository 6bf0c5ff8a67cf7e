//! On-call schedules driving availability, with tokio's clock paused and the date set by
//! hand: no test here sleeps in real time.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use puente::adapters::store::memory::MemoryStore;
use puente::adapters::store::{Reason, Store};
use puente::app::auth::{Coordinator, Principal};
use puente::app::service::{Clock, NewInterpreter, Notice, Service};
use puente::domain::ids::InterpreterId;
use puente::domain::request::{Channel, Priority, RequestState};
use puente::domain::roster::{Availability, LanguageSkill, PhoneNumber, Proficiency};
use puente::domain::schedule::Schedule;
use puente::setup::config::Config;

/// A civil time in Mexico City.
fn mx(civil: &str) -> Timestamp {
    let dt: DateTime = civil.parse().unwrap();
    dt.to_zoned(TimeZone::get("America/Mexico_City").unwrap())
        .unwrap()
        .timestamp()
}

async fn service_at(start: Timestamp) -> Arc<Service> {
    service_on(start, Arc::new(MemoryStore::new())).await
}

/// The service on `store`, which the test keeps to write history into, as another
/// instance would.
async fn service_on(start: Timestamp, store: Arc<MemoryStore>) -> Arc<Service> {
    let config = Config::from_vars([
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", OPERATOR_TOKEN),
        ("PUENTE_COORDINATOR_TOKENS", COORDINATOR_TOKEN),
    ])
    .unwrap();
    let parts = puente::setup::startup::parts(&config, store, Clock::starting_at(start));
    let svc = Arc::new(Service::new(parts));
    tokio::spawn(puente::app::dispatch::run(
        svc.clone(),
        std::future::pending(),
    ));
    tokio::spawn(puente::app::scheduler::run(
        svc.clone(),
        std::future::pending(),
    ));
    settle().await;
    svc
}

const OPERATOR_TOKEN: &str = "test-operator-token-1";
const COORDINATOR_TOKEN: &str = "test-coordinator-token-1";

async fn operator(svc: &Service) -> Principal {
    svc.authenticate(Some(OPERATOR_TOKEN)).await.unwrap()
}

async fn coordinator(svc: &Service) -> Coordinator {
    let who = svc.authenticate(Some(COORDINATOR_TOKEN)).await.unwrap();
    who.coordinator().unwrap().clone()
}

/// Let the scheduler and the dispatcher finish what is due. Not an awaited event: the
/// tests also check what did *not* happen; see `settle` in tests/deadlines.rs.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Move the clock to `t` (in steps, as time passes), letting timers fire on the way.
async fn until(svc: &Service, t: Timestamp) {
    let ahead = t.duration_since(svc.now());
    if let Ok(d) = Duration::try_from(ahead) {
        tokio::time::advance(d).await;
    }
    settle().await;
}

fn weekdays_8_to_16() -> Schedule {
    serde_json::from_value(serde_json::json!({
        "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "16:00"}]
    }))
    .unwrap()
}

/// Add an interpreter; returns their id and who they are, by their token.
async fn add(svc: &Service, id: &str, schedule: Schedule) -> (InterpreterId, Principal) {
    let new = NewInterpreter {
        id: InterpreterId::parse(id).unwrap(),
        name: id.into(),
        phone: PhoneNumber::parse("+525550001234").unwrap(),
        languages: vec![LanguageSkill {
            tag: "tzo".parse().unwrap(),
            proficiency: Proficiency::new(5).unwrap(),
            certification: None,
            group: None,
        }],
        availability: Availability::Available,
        schedule: Some(schedule),
        certification: None,
    };
    let (it, token) = svc
        .create_interpreter(&coordinator(svc).await, new)
        .await
        .unwrap();
    settle().await;
    (it.id, svc.authenticate(Some(&token)).await.unwrap())
}

async fn availability(svc: &Service, id: &InterpreterId) -> Availability {
    svc.interpreter(&coordinator(svc).await.for_interpreter(id))
        .await
        .unwrap()
        .availability
}

#[tokio::test(start_paused = true)]
async fn availability_follows_the_windows_and_not_now_holds_until_the_next_one() {
    // Monday 2026-11-30, 07:59 in Mexico City.
    let svc = service_at(mx("2026-11-30T07:59")).await;
    let mut events = svc.bus.subscribe();
    let (ana, me) = add(&svc, "ana", weekdays_8_to_16()).await;
    let me = me.for_interpreter(&ana).unwrap();
    assert_eq!(
        availability(&svc, &ana).await,
        Availability::Offline,
        "before the window"
    );

    until(&svc, mx("2026-11-30T08:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Available);
    let mut reasons = Vec::new();
    while let Ok(n) = events.try_recv() {
        if let Notice::Interpreter(it, reason) = &*n {
            reasons.push((it.availability, *reason));
        }
    }
    assert!(
        reasons.contains(&(Availability::Available, Reason::Schedule)),
        "an event with its reason: {reasons:?}"
    );

    // "Not now" at 09:00: holds through the end of the window and the night...
    until(&svc, mx("2026-11-30T09:00")).await;
    svc.set_availability(&me, Availability::Offline)
        .await
        .unwrap();
    until(&svc, mx("2026-12-01T07:59")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Offline);
    // ...and ends when the next window starts.
    until(&svc, mx("2026-12-01T08:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Available);

    // On call outside any window holds until the next window's end.
    until(&svc, mx("2026-12-01T16:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Offline);
    svc.set_availability(&me, Availability::Available)
        .await
        .unwrap();
    until(&svc, mx("2026-12-02T15:59")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Available);
    until(&svc, mx("2026-12-02T16:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Offline);
}

#[tokio::test(start_paused = true)]
async fn a_window_end_closes_open_offers_and_time_off_overrides_a_window() {
    let svc = service_at(mx("2026-11-30T15:59:30")).await;
    let mut s = weekdays_8_to_16();
    s.exceptions = serde_json::from_value(serde_json::json!([
        {"kind": "off", "from": "2026-12-01T00:00", "to": "2026-12-02T00:00"}
    ]))
    .unwrap();
    let (ana, me) = add(&svc, "ana", s).await;
    let me = me.for_interpreter(&ana).unwrap();
    assert_eq!(availability(&svc, &ana).await, Availability::Available);
    let r = svc
        .create_request(
            operator(&svc).await.operator().unwrap(),
            "tzo",
            Priority::Normal,
            Channel::Phone,
        )
        .await
        .unwrap();
    settle().await;
    assert_eq!(svc.open_offers(&me).await.unwrap().len(), 1);

    until(&svc, mx("2026-11-30T16:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Offline);
    assert!(
        svc.open_offers(&me).await.unwrap().is_empty(),
        "closed at the end"
    );
    let state = svc
        .request(&operator(&svc).await, &r.id)
        .await
        .unwrap()
        .state;
    assert_eq!(state, RequestState::Queued);

    // Tuesday is time off: no window today; Wednesday as usual.
    until(&svc, mx("2026-12-01T12:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Offline);
    until(&svc, mx("2026-12-02T08:00")).await;
    assert_eq!(availability(&svc, &ana).await, Availability::Available);
}

#[tokio::test(start_paused = true)]
async fn a_coverage_gap_of_a_language_in_demand_is_announced_once() {
    use puente::domain::request::Request;
    // Tsotsil was asked for last week; its one interpreter is on call 08:00–16:00.
    let mut past = Request::new(
        "tzo".parse().unwrap(),
        Priority::Normal,
        Channel::Phone,
        mx("2026-11-23T10:00"),
    );
    past.state = RequestState::Unfilled;
    let store = Arc::new(MemoryStore::new());
    let svc = service_on(mx("2026-11-30T07:30"), store.clone()).await;
    let mut events = svc.bus.subscribe();
    store.insert_request(past).await.unwrap();
    add(&svc, "ana", weekdays_8_to_16()).await;
    let alerts = |events: &mut tokio::sync::broadcast::Receiver<Arc<Notice>>| {
        let mut out = Vec::new();
        while let Ok(n) = events.try_recv() {
            if let Notice::Alert(a) = &*n {
                let a = serde_json::json!(a);
                out.push((
                    a["language"]["tag"].clone(),
                    a["from"].clone(),
                    a["to"].clone(),
                ));
            }
        }
        out
    };
    // Within the next 12 hours: now until 08:00, and from 16:00 (until 08:00 tomorrow),
    // looked for again within a minute of the roster changing.
    until(&svc, mx("2026-11-30T07:31:30")).await;
    let first = alerts(&mut events);
    let json = |t: Timestamp| serde_json::json!(t);
    assert_eq!(
        first,
        vec![
            (
                "tzo".into(),
                json(mx("2026-11-30T07:00")),
                json(mx("2026-11-30T08:00"))
            ),
            (
                "tzo".into(),
                json(mx("2026-11-30T16:00")),
                json(mx("2026-12-01T08:00"))
            ),
        ]
    );
    // Hours of checks later, the same gaps are not announced again.
    until(&svc, mx("2026-11-30T15:00")).await;
    assert_eq!(alerts(&mut events), vec![]);
    // Tuesday evening's gap comes within the horizon on Tuesday morning.
    until(&svc, mx("2026-12-01T07:00")).await;
    let later = alerts(&mut events);
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].1, json(mx("2026-12-01T16:00")));
}

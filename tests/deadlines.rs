//! Deadlines, retries, give-ups and wrap-up time, with tokio's clock paused and advanced by
//! hand: no test here sleeps in real time.

use std::sync::Arc;
use std::time::Duration;

use puente::app::auth::{Coordinator, Operator, Principal};
use puente::app::service::{Clock, NewInterpreter, Service};
use puente::domain::ids::InterpreterId;
use puente::domain::offer::Offer;
use puente::domain::request::{Channel, Priority, Request, RequestState};
use puente::domain::roster::{Availability, LanguageSkill, PhoneNumber, Proficiency};
use puente::setup::config::Config;

struct Harness {
    svc: Arc<Service>,
    /// The operators' and the coordinators' tokens, as the service knows them.
    operator: Principal,
    coordinator: Coordinator,
}

const OPERATOR_TOKEN: &str = "test-operator-token-1";
const COORDINATOR_TOKEN: &str = "test-coordinator-token-1";

async fn harness(vars: &[(&str, &str)]) -> Harness {
    let mut all = vec![
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", OPERATOR_TOKEN),
        ("PUENTE_COORDINATOR_TOKENS", COORDINATOR_TOKEN),
    ];
    all.extend_from_slice(vars);
    let config = Config::from_vars(all).unwrap();
    let svc = puente::setup::startup::build(&config, Clock::new())
        .await
        .unwrap();
    tokio::spawn(puente::app::dispatch::run(
        svc.clone(),
        std::future::pending(),
    ));
    settle().await;
    let operator = svc.authenticate(Some(OPERATOR_TOKEN)).await.unwrap();
    let coordinator = svc.authenticate(Some(COORDINATOR_TOKEN)).await.unwrap();
    let coordinator = coordinator.coordinator().unwrap().clone();
    Harness {
        svc,
        operator,
        coordinator,
    }
}

/// Let the dispatcher run everything that is due now.
///
/// Not an awaited event on purpose: these tests also assert that nothing happened yet
/// ("not before its deadline"), which no event can show. With the clock paused, tokio
/// moves it (the 1 ms sleep) only once every task is idle, so the sleep returns when the
/// dispatcher has nothing left to do; the yields let the tasks it woke at that instant run.
async fn settle() {
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
}

async fn advance(secs: u64) {
    tokio::time::advance(Duration::from_secs(secs)).await;
    settle().await;
}

impl Harness {
    async fn add(&self, id: &str, lang: &str) -> Principal {
        let new = NewInterpreter {
            id: InterpreterId::parse(id).unwrap(),
            name: id.into(),
            phone: PhoneNumber::parse("+525550001234").unwrap(),
            languages: vec![LanguageSkill {
                tag: lang.parse().unwrap(),
                proficiency: Proficiency::new(5).unwrap(),
                certification: None,
                group: None,
            }],
            availability: Availability::Available,
            schedule: None,
            certification: None,
        };
        let (_, token) = self
            .svc
            .create_interpreter(&self.coordinator, new)
            .await
            .unwrap();
        settle().await;
        self.svc.authenticate(Some(&token)).await.unwrap()
    }

    fn operator(&self) -> &Operator {
        self.operator.operator().unwrap()
    }

    async fn request(&self, lang: &str) -> Request {
        let r = self
            .svc
            .create_request(self.operator(), lang, Priority::Normal, Channel::Phone)
            .await
            .unwrap();
        settle().await;
        r
    }

    async fn offers(&self, who: &Principal) -> Vec<Offer> {
        let me = who.me().unwrap();
        let mine = who.for_interpreter(me.id()).unwrap();
        self.svc.open_offers(&mine).await.unwrap()
    }

    async fn state(&self, r: &Request) -> RequestState {
        self.svc.request(&self.operator, &r.id).await.unwrap().state
    }
}

#[tokio::test(start_paused = true)]
async fn an_offer_closes_at_its_deadline_and_not_before() {
    let h = harness(&[("PUENTE_OFFER_TIMEOUT_SECS", "30")]).await;
    let ana = h.add("ana", "tzo").await;
    let r = h.request("tzo").await;
    let first = h.offers(&ana).await.pop().expect("offered at once");
    advance(29).await;
    assert_eq!(h.offers(&ana).await, vec![first.clone()]);
    assert_eq!(h.state(&r).await, RequestState::Offered);
    advance(1).await;
    assert!(h.offers(&ana).await.is_empty());
    assert_eq!(h.state(&r).await, RequestState::Queued);
    // The lone interpreter is asked again once the retry delay (the offer timeout) passes.
    advance(29).await;
    assert!(h.offers(&ana).await.is_empty());
    advance(1).await;
    let again = h.offers(&ana).await.pop().expect("asked again");
    assert_ne!(again.id, first.id);
}

#[tokio::test(start_paused = true)]
async fn after_a_timeout_the_others_are_tried_first() {
    let h = harness(&[("PUENTE_OFFER_TIMEOUT_SECS", "10")]).await;
    let ana = h.add("ana", "yua").await;
    let beto = h.add("beto", "yua").await;
    h.request("yua").await;
    let (first, second) = if h.offers(&ana).await.is_empty() {
        (beto, ana)
    } else {
        (ana, beto)
    };
    assert_eq!(h.offers(&first).await.len(), 1);
    assert!(h.offers(&second).await.is_empty());
    advance(10).await;
    assert!(h.offers(&first).await.is_empty());
    assert_eq!(
        h.offers(&second).await.len(),
        1,
        "the other interpreter is next"
    );
}

#[tokio::test(start_paused = true)]
async fn no_request_is_unfilled_in_its_first_five_minutes_whatever_happens() {
    let h = harness(&[
        ("PUENTE_OFFER_TIMEOUT_SECS", "5"),
        ("PUENTE_MAX_MISSED_OFFERS", "1000"),
    ])
    .await;
    let ana = h.add("ana", "nah").await;
    let r = h.request("nah").await;
    for _ in 0..30 {
        for o in h.offers(&ana).await {
            h.svc.decline_offer(ana.me().unwrap(), &o.id).await.unwrap();
        }
        advance(10).await;
    }
    assert!(!h.state(&r).await.is_final(), "still waiting after 300 s");
    // The default policy gives up after 15 minutes with nobody accepting.
    let empty = h.request("zap").await;
    advance(15 * 60).await;
    assert_eq!(h.state(&empty).await, RequestState::Unfilled);
}

#[tokio::test(start_paused = true)]
async fn wrap_up_time_delays_the_next_offer() {
    let h = harness(&[("PUENTE_WRAPUP_SECS", "60")]).await;
    let ana = h.add("ana", "tzo").await;
    let r1 = h.request("tzo").await;
    let r2 = h.request("tzo").await;
    let o = h.offers(&ana).await.pop().unwrap();
    assert_eq!(o.request, r1.id);
    h.svc.accept_offer(ana.me().unwrap(), &o.id).await.unwrap();
    h.svc.complete_request(&h.operator, &r1.id).await.unwrap();
    settle().await;
    assert!(h.offers(&ana).await.is_empty(), "wrapping up");
    advance(59).await;
    assert!(h.offers(&ana).await.is_empty());
    advance(1).await;
    assert_eq!(h.offers(&ana).await.pop().unwrap().request, r2.id);
}

#[tokio::test(start_paused = true)]
async fn missing_three_offers_in_a_row_sets_offline_with_an_event() {
    let h = harness(&[
        ("PUENTE_OFFER_TIMEOUT_SECS", "10"),
        ("PUENTE_RETRY_AFTER_SECS", "0"),
    ])
    .await;
    let mut events = h.svc.bus.subscribe();
    let ana = h.add("ana", "tzo").await;
    h.request("tzo").await;
    for _ in 0..3 {
        // She is shown each offer (her list), and lets it expire.
        let offers = h.offers(&ana).await;
        assert_eq!(offers.len(), 1);
        h.svc.offers_seen(ana.me().unwrap(), &offers).await;
        advance(10).await;
    }
    let id = ana.me().unwrap().id();
    let it = h
        .svc
        .interpreter(&h.coordinator.for_interpreter(id))
        .await
        .unwrap();
    assert_eq!(it.availability, Availability::Offline);
    let mut saw = false;
    while let Ok(n) = events.try_recv() {
        if let puente::app::service::Notice::Interpreter(i, reason) = &*n {
            saw |= &i.id == id && *reason == puente::adapters::store::Reason::MissedOffers;
        }
    }
    assert!(saw, "an event says why");
}

/// The widening search with the default tiers (exact 30 s, intelligible 60 s, agrupación):
/// Isthmus Zapotec asked for by name; a coordinator lists the Isthmus mountain variant as
/// intelligible with it.
#[tokio::test(start_paused = true)]
async fn a_variant_request_widens_to_an_intelligible_variant_after_the_first_tier_only() {
    let h = harness(&[("PUENTE_OFFER_TIMEOUT_SECS", "300")]).await;
    let mut routing = puente::logic::routing::Routing::default();
    routing.intelligible.insert(
        "zap-x-planicie-costera".parse().unwrap(),
        vec!["zap-x-montana-istmo-alto".parse().unwrap()],
    );
    h.svc.set_routing(&h.coordinator, routing).await.unwrap();
    let montana = h.add("montana", "zap-x-montana-istmo-alto").await;
    let sierra = h.add("sierra", "zap-x-sierra-sur-noroeste-bajo").await;
    let maya = h.add("maya", "yua").await;
    let r = h.request("zapoteco del istmo").await;
    assert_eq!(r.language.as_str(), "zap-x-planicie-costera");

    // Tier 1 (30 s): nobody speaks the variant itself, so nobody is asked.
    advance(29).await;
    for who in [&montana, &sierra, &maya] {
        assert!(h.offers(who).await.is_empty());
    }
    // Tier 2: the intelligible variant, and only it.
    advance(1).await;
    let offer = h.offers(&montana).await.pop().expect("offered at 30 s");
    assert!(h.offers(&sierra).await.is_empty() && h.offers(&maya).await.is_empty());
    let widened = h.svc.request(&h.operator, &r.id).await.unwrap();
    assert_eq!(
        widened.tier, 1,
        "the widening is recorded (and was an event)"
    );
    let connected = h
        .svc
        .accept_offer(montana.me().unwrap(), &offer.id)
        .await
        .unwrap();
    assert_eq!(connected.state, RequestState::Connected);
    assert_eq!(
        connected.interpreter.as_ref().map(|i| i.as_str()),
        Some("montana")
    );

    // Another one, with the intelligible interpreter busy: the rest of the agrupación only
    // after 90 s, never the Maya interpreter.
    let r2 = h.request("zap-x-planicie-costera").await;
    advance(89).await;
    assert!(h.offers(&sierra).await.is_empty());
    advance(1).await;
    assert_eq!(
        h.offers(&sierra).await.len(),
        1,
        "the whole agrupación at 90 s"
    );
    assert!(
        h.offers(&maya).await.is_empty(),
        "never outside the agrupación"
    );
    assert_eq!(h.state(&r2).await, RequestState::Offered);
}

#[tokio::test(start_paused = true)]
async fn a_last_tier_with_a_duration_ends_in_unfilled() {
    let h = harness(&[]).await;
    let routing: puente::logic::routing::Routing = serde_json::from_value(serde_json::json!({
        "tiers": [{"reach": "exact", "secs": 10}, {"reach": "agrupacion", "secs": 20}]
    }))
    .unwrap();
    h.svc.set_routing(&h.coordinator, routing).await.unwrap();
    let r = h.request("tsotsil del centro").await;
    advance(29).await;
    assert_eq!(h.state(&r).await, RequestState::Queued);
    advance(1).await;
    assert_eq!(h.state(&r).await, RequestState::Unfilled);
}

/// Demand twice what one interpreter serves: the estimate follows the rate of
/// connections, and coordinators are told once that demand exceeds the roster.
#[tokio::test(start_paused = true)]
async fn a_growing_backlog_gets_an_estimate_and_one_overload_alert() {
    let h = harness(&[("PUENTE_MAX_MISSED_OFFERS", "1000")]).await;
    let mut alerts = h.svc.bus.subscribe();
    let ana = h.add("ana", "tzo").await;
    let mut announced = std::collections::HashSet::new();
    // A request every 30 s; Ana takes one a minute (a 50 s call).
    let tzo: puente::domain::language::LanguageTag = "tzo".parse().unwrap();
    let mut estimates = Vec::new();
    for minute in 0..8 {
        h.request("tzo").await;
        advance(5).await;
        if let Some(o) = h.offers(&ana).await.pop() {
            h.svc.accept_offer(ana.me().unwrap(), &o.id).await.unwrap();
            advance(25).await;
            h.request("tzo").await;
            advance(25).await;
            h.svc
                .complete_request(&h.operator, &o.request)
                .await
                .unwrap();
        } else {
            advance(25).await;
            h.request("tzo").await;
            advance(25).await;
        }
        advance(5).await;
        estimates.push(h.svc.wait_estimate(&tzo, 4));
        h.svc.watch_overload(&mut announced).await.unwrap();
        assert!(minute > 1 || estimates[minute].is_none(), "{estimates:?}");
    }
    // One connection a minute: the fourth in line waits about four minutes.
    let last = estimates.last().unwrap().expect("an estimate");
    assert!(
        (200..=300).contains(&last.as_secs()),
        "{last:?} of {estimates:?}"
    );
    let mut overloads = 0;
    while let Ok(n) = alerts.try_recv() {
        if let puente::app::service::Notice::Alert(a) = &*n {
            assert_eq!(a.kind(), "demand_exceeds_roster");
            overloads += 1;
        }
    }
    assert_eq!(overloads, 1, "one alert for the language, not one per look");
}

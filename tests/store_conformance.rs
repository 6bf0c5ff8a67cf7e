//! One conformance suite for every store backend: each behaviour is a function taking
//! `&dyn Store`, called once per backend: memory, and a real Redis server.

mod common;

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use puente::adapters::store::listing::Listing;
use puente::adapters::store::memory::MemoryStore;
use puente::adapters::store::redis::RedisStore;
use puente::adapters::store::{
    Conflict, Finish, Focus, QueueInfo, Reason, Rules, Scope, Store, StoreError,
};
use puente::domain::ids::InterpreterId;
use puente::domain::ids::OfferId;
use puente::domain::ids::RequestId;
use puente::domain::ids::TokenHash;
use puente::domain::language::LanguageTag;
use puente::domain::offer::{Offer, Outcome};
use puente::domain::request::{Channel, Priority, Request, RequestState};
use puente::domain::roster::{
    Availability, Interpreter, LanguageSkill, PhoneNumber, Proficiency, Profile,
};
use puente::logic::routing::Routing;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn interpreter(id: &str, lang: &str) -> Interpreter {
    Interpreter {
        id: InterpreterId::parse(id).unwrap(),
        name: id.to_uppercase(),
        phone: PhoneNumber::parse("+525550001234").unwrap(),
        languages: vec![skill(lang, 4, None)],
        availability: Availability::Available,
        session: None,
        idle_since: t(0),
        ready_at: None,
        missed_in_row: 0,
        schedule: None,
        created_at: t(0),
        certification: None,
        revision: 1,
    }
}

/// A language skill (of agrupación `group`, if given).
fn skill(lang: &str, proficiency: i64, group: Option<&str>) -> LanguageSkill {
    LanguageSkill {
        tag: LanguageTag::parse(lang).unwrap(),
        proficiency: Proficiency::new(proficiency).unwrap(),
        certification: None,
        group: group.map(|g| LanguageTag::parse(g).unwrap()),
    }
}

fn request(lang: &str, at: i64) -> Request {
    Request::new(
        LanguageTag::parse(lang).unwrap(),
        Priority::Normal,
        Channel::Phone,
        t(at),
    )
}

fn offer(r: &Request, it: &Interpreter, at: i64, deadline: i64) -> Offer {
    Offer {
        id: OfferId::generate(),
        request: r.id.clone(),
        interpreter: it.id.clone(),
        language: r.language.clone(),
        priority: r.priority,
        created_at: t(at),
        deadline: t(deadline),
        outcome: None,
        closed_at: None,
    }
}

async fn state_of(store: &dyn Store, r: &Request) -> RequestState {
    store.request(&r.id).await.unwrap().unwrap().state
}

async fn calls_of_an_instance_whose_lease_lapsed_are_settled_as_lost(store: &dyn Store) {
    use puente::domain::request::EndReason;
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let mut connected = request("tzo", 0);
    connected.held_by = Some("inst-a".into());
    let mut waiting = request("tzo", 1);
    waiting.held_by = Some("inst-a".into());
    let mut other = request("tzo", 2);
    other.held_by = Some("inst-b".into());
    let unheld = request("tzo", 3);
    for r in [&connected, &waiting, &other, &unheld] {
        store.insert_request(r.clone()).await.unwrap();
    }
    let o = offer(&connected, &ana, 4, 60);
    store.open_offer(o.clone(), true).await.unwrap();
    store.accept_offer(&o.id, &ana.id, t(5)).await.unwrap();
    let lease = std::time::Duration::from_secs(30);
    store.renew_lease("inst-a", t(5), lease).await.unwrap();
    store.renew_lease("inst-b", t(5), lease).await.unwrap();
    assert!(
        store.lapsed_calls(t(6)).await.unwrap().is_empty(),
        "both alive"
    );

    // inst-a stops (or its lease runs out): its calls, and only its, have lapsed.
    store.drop_lease("inst-a").await.unwrap();
    let mut lapsed = store.lapsed_calls(t(7)).await.unwrap();
    lapsed.sort();
    let mut expected = vec![connected.id.clone(), waiting.id.clone()];
    expected.sort();
    assert_eq!(lapsed, expected);

    let rules = Rules::default();
    let change = store
        .finish_request(&connected.id, Finish::Lost, t(8), &rules)
        .await
        .unwrap();
    let done = store.request(&connected.id).await.unwrap().unwrap();
    assert_eq!(done.state, RequestState::Completed);
    assert_eq!(done.end_reason, Some(EndReason::BridgeLost));
    assert!(
        change
            .interpreters
            .iter()
            .any(|(i, _)| i.id == ana.id && i.session.is_none()),
        "the interpreter is freed in the same step"
    );
    let ana_now = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert!(ana_now.session.is_none());
    store
        .finish_request(&waiting.id, Finish::Lost, t(8), &rules)
        .await
        .unwrap();
    let w = store.request(&waiting.id).await.unwrap().unwrap();
    assert_eq!(w.state, RequestState::Cancelled);
    assert_eq!(w.end_reason, Some(EndReason::BridgeLost));
    // Settling twice (two instances at once) changes nothing more.
    let again = store
        .finish_request(&connected.id, Finish::Lost, t(9), &rules)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert!(store.lapsed_calls(t(9)).await.unwrap().is_empty());
    assert_eq!(state_of(store, &other).await, RequestState::Queued);
}

async fn roster_ids_tokens_and_duplicates(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store
        .insert_interpreter(ana.clone(), Some(TokenHash::of("tok-ana")))
        .await
        .unwrap();
    let dup = store
        .insert_interpreter(interpreter("ana", "yua"), None)
        .await;
    assert!(matches!(dup, Err(StoreError::AlreadyExists(_))));
    assert_eq!(
        store
            .interpreter_for_token(&TokenHash::of("tok-ana"))
            .await
            .unwrap(),
        Some(ana.id.clone())
    );
    assert_eq!(
        store
            .interpreter_for_token(&TokenHash::of("other"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.interpreter(&ana.id).await.unwrap().unwrap().languages,
        ana.languages
    );
    store.remove_interpreter(&ana.id, t(1)).await.unwrap();
    assert_eq!(store.interpreter(&ana.id).await.unwrap(), None);
    assert_eq!(
        store
            .interpreter_for_token(&TokenHash::of("tok-ana"))
            .await
            .unwrap(),
        None
    );
}

async fn open_offer_claims_the_interpreter_once(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let (r1, r2) = (request("tzo", 0), request("tzo", 1));
    store.insert_request(r1.clone()).await.unwrap();
    store.insert_request(r2.clone()).await.unwrap();
    store
        .open_offer(offer(&r1, &ana, 2, 30), true)
        .await
        .unwrap();
    assert_eq!(state_of(store, &r1).await, RequestState::Offered);
    let second = store.open_offer(offer(&r2, &ana, 2, 30), true).await;
    assert_eq!(second, Err(StoreError::Conflict(Conflict::InterpreterBusy)));
    assert_eq!(state_of(store, &r2).await, RequestState::Queued);
}

async fn open_offer_refuses_offline_and_connected_interpreters(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    store
        .set_availability(&ana.id, Availability::Offline, t(1), Reason::Requested)
        .await
        .unwrap();
    let refused = store.open_offer(offer(&r, &ana, 2, 30), true).await;
    assert_eq!(
        refused,
        Err(StoreError::Conflict(Conflict::InterpreterNotFree))
    );
    store
        .set_availability(&ana.id, Availability::Available, t(3), Reason::Requested)
        .await
        .unwrap();
    let o = offer(&r, &ana, 4, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    store.accept_offer(&o.id, &ana.id, t(5)).await.unwrap();
    let r2 = request("tzo", 6);
    store.insert_request(r2.clone()).await.unwrap();
    let refused = store.open_offer(offer(&r2, &ana, 7, 30), true).await;
    assert_eq!(
        refused,
        Err(StoreError::Conflict(Conflict::InterpreterNotFree))
    );
}

async fn accept_connects_once_and_withdraws_the_rest(store: &dyn Store) {
    let (ana, beto) = (interpreter("ana", "tzo"), interpreter("beto", "tzo"));
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    store.insert_interpreter(beto.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let (oa, ob) = (offer(&r, &ana, 1, 30), offer(&r, &beto, 1, 30));
    store.open_offer(oa.clone(), false).await.unwrap();
    store.open_offer(ob.clone(), false).await.unwrap();
    let change = store.accept_offer(&ob.id, &beto.id, t(2)).await.unwrap();
    assert!(change
        .offers
        .iter()
        .any(|o| o.id == oa.id && o.outcome == Some(Outcome::Withdrawn)));
    let got = store.request(&r.id).await.unwrap().unwrap();
    assert_eq!(got.state, RequestState::Connected);
    assert_eq!(got.interpreter, Some(beto.id.clone()));
    let late = store.accept_offer(&oa.id, &ana.id, t(3)).await;
    assert!(matches!(
        late,
        Err(StoreError::Conflict(Conflict::OfferClosed(_)))
    ));
    let wrong = store.accept_offer(&ob.id, &ana.id, t(3)).await;
    assert_eq!(wrong, Err(StoreError::Conflict(Conflict::OfferNotYours)));
    assert_eq!(
        store.interpreter(&beto.id).await.unwrap().unwrap().session,
        Some(r.id.clone())
    );
}

async fn an_offer_past_its_deadline_cannot_be_accepted(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let o = offer(&r, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    let late = store.accept_offer(&o.id, &ana.id, t(30)).await;
    assert!(matches!(
        late,
        Err(StoreError::Conflict(Conflict::OfferClosed(_)))
    ));
    assert_eq!(
        state_of(store, &r).await,
        RequestState::Offered,
        "the dispatcher expires it"
    );
}

async fn closing_the_last_offer_requeues_and_misses_set_offline(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let rules = Rules {
        max_missed_offers: 2,
        wrap_up: SignedDuration::ZERO,
    };
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    // Offers Ana was never shown expire: they are not hers to have missed.
    for at in [0, 1] {
        let unseen = offer(&r, &ana, at, at + 1);
        store.open_offer(unseen.clone(), true).await.unwrap();
        store
            .close_offer(&unseen.id, Outcome::Expired, t(at + 1), &rules)
            .await
            .unwrap();
    }
    let it = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert_eq!(it.availability, Availability::Available, "unseen expiries");
    assert_eq!(it.missed_in_row, 0);
    // Offers she was shown count.
    let o1 = offer(&r, &ana, 1, 30);
    store.open_offer(o1.clone(), true).await.unwrap();
    store.offer_seen(&o1.id, t(2)).await.unwrap();
    store
        .close_offer(&o1.id, Outcome::Expired, t(30), &rules)
        .await
        .unwrap();
    assert_eq!(state_of(store, &r).await, RequestState::Queued);
    let again = store
        .close_offer(&o1.id, Outcome::Expired, t(31), &rules)
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(Conflict::OfferClosed(_)))),
        "closing is idempotent-safe"
    );
    let o2 = offer(&r, &ana, 31, 60);
    store.open_offer(o2.clone(), true).await.unwrap();
    store.offer_seen(&o2.id, t(32)).await.unwrap();
    let change = store
        .close_offer(&o2.id, Outcome::Expired, t(60), &rules)
        .await
        .unwrap();
    assert!(!change.interpreters.is_empty());
    let it = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert_eq!(it.availability, Availability::Offline);
}

async fn a_decline_resets_the_miss_count(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let rules = Rules {
        max_missed_offers: 2,
        wrap_up: SignedDuration::ZERO,
    };
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    for (i, outcome) in [Outcome::Expired, Outcome::Declined, Outcome::Expired]
        .into_iter()
        .enumerate()
    {
        let o = offer(&r, &ana, i as i64 * 40, i as i64 * 40 + 30);
        store.open_offer(o.clone(), true).await.unwrap();
        store.offer_seen(&o.id, t(i as i64 * 40)).await.unwrap();
        store
            .close_offer(&o.id, outcome, t(i as i64 * 40 + 30), &rules)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .interpreter(&ana.id)
            .await
            .unwrap()
            .unwrap()
            .availability,
        Availability::Available
    );
}

async fn going_offline_declines_open_offers(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let o = offer(&r, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    store
        .set_availability(&ana.id, Availability::Offline, t(2), Reason::Requested)
        .await
        .unwrap();
    let closed = store.offer(&o.id).await.unwrap().unwrap();
    assert_eq!(closed.outcome, Some(Outcome::Declined));
    assert_eq!(state_of(store, &r).await, RequestState::Queued);
    assert!(store.offers_for(&ana.id, true).await.unwrap().is_empty());
}

async fn complete_frees_the_interpreter_after_wrap_up(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let rules = Rules {
        max_missed_offers: 3,
        wrap_up: SignedDuration::from_secs(20),
    };
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let o = offer(&r, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    // Only a connected request completes.
    let early = store
        .finish_request(&r.id, Finish::Complete, t(2), &rules)
        .await;
    assert_eq!(
        early,
        Err(StoreError::Conflict(Conflict::RequestState(
            RequestState::Offered
        )))
    );
    store.accept_offer(&o.id, &ana.id, t(2)).await.unwrap();
    store
        .finish_request(&r.id, Finish::Complete, t(100), &rules)
        .await
        .unwrap();
    let it = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert_eq!(it.session, None);
    assert_eq!(it.ready_at, Some(t(120)));
    assert_eq!(it.idle_since, t(100));
    // Repeating is harmless; a different ending is not.
    assert!(store
        .finish_request(&r.id, Finish::Complete, t(101), &rules)
        .await
        .unwrap()
        .is_empty());
    let cancel = store
        .finish_request(&r.id, Finish::Cancel, t(101), &rules)
        .await;
    assert!(matches!(cancel, Err(StoreError::Conflict(_))));
}

async fn cancel_withdraws_offers_and_leaves_the_queue(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let o = offer(&r, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    store
        .finish_request(&r.id, Finish::Cancel, t(2), &Rules::default())
        .await
        .unwrap();
    assert_eq!(
        store.offer(&o.id).await.unwrap().unwrap().outcome,
        Some(Outcome::Withdrawn)
    );
    assert!(store
        .snapshot(
            Scope::Everyone,
            &Focus::everything(),
            &Routing::default(),
            t(0)
        )
        .await
        .unwrap()
        .requests()
        .is_empty());
    let refused = store.open_offer(offer(&r, &ana, 3, 30), true).await;
    assert_eq!(
        refused,
        Err(StoreError::Conflict(Conflict::RequestState(
            RequestState::Cancelled
        )))
    );
}

async fn a_new_request_learns_its_place_and_who_is_on_call(store: &dyn Store) {
    let (ana, beto) = (interpreter("ana", "tzo"), interpreter("beto", "tzo"));
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    store.insert_interpreter(beto.clone(), None).await.unwrap();
    store
        .set_availability(&beto.id, Availability::Offline, t(0), Reason::Requested)
        .await
        .unwrap();
    let first = store.insert_request(request("tzo", 1)).await.unwrap();
    assert_eq!((first.position, first.on_call), (1, 1));
    let second = store.insert_request(request("tzo", 2)).await.unwrap();
    assert_eq!(second.position, 2);
    let mut urgent = request("tzo", 3);
    urgent.priority = Priority::Urgent;
    assert_eq!(
        store.insert_request(urgent).await.unwrap().position,
        1,
        "urgent goes first"
    );
    assert_eq!(
        store
            .insert_request(request("yua", 4))
            .await
            .unwrap()
            .position,
        1
    );
    assert_eq!(
        store
            .insert_request(request("yua", 5))
            .await
            .unwrap()
            .on_call,
        0
    );
}

async fn snapshots_carry_the_best_free_interpreters_of_waiting_languages(store: &dyn Store) {
    for i in 0..20 {
        let mut it = interpreter(&format!("i{i:02}"), "tzo");
        it.languages[0].proficiency = Proficiency::new(1 + (i % 5)).unwrap();
        it.idle_since = t(i);
        store.insert_interpreter(it, None).await.unwrap();
    }
    store
        .insert_interpreter(interpreter("nobody-waits", "yua"), None)
        .await
        .unwrap();
    let mut busy = interpreter("busy", "tzo");
    busy.languages[0].proficiency = Proficiency::new(5).unwrap();
    store.insert_interpreter(busy.clone(), None).await.unwrap();
    store
        .set_availability(&busy.id, Availability::Offline, t(30), Reason::Requested)
        .await
        .unwrap();
    store.insert_request(request("tzo", 40)).await.unwrap();

    let ids = |s: &puente::logic::matcher::Snapshot| {
        let mut v: Vec<String> = s.free_interpreters().map(|i| i.id.to_string()).collect();
        v.sort();
        v
    };
    let all = store
        .snapshot(
            Scope::Everyone,
            &Focus::everything(),
            &Routing::default(),
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&all).len(),
        20,
        "every free tzo speaker, nobody offline, no yua"
    );
    let best = ids(&store
        .snapshot(Scope::Best, &Focus::everything(), &Routing::default(), t(0))
        .await
        .unwrap());
    // The most proficient, longest idle: i04 (proficiency 5, idle since t(4)).
    assert!(best.contains(&"i04".to_string()), "{best:?}");
    assert!(
        !best.is_empty(),
        "at least as many as the waiting requests: {best:?}"
    );
    assert!(!best.contains(&"busy".to_string()) && !best.contains(&"nobody-waits".to_string()));
}

async fn interpreters_busy_with_other_offers_do_not_hide_a_free_one(store: &dyn Store) {
    use puente::logic::matcher::{decide, Policy};
    // 40 excellent bilingual interpreters, each holding an offer for a Maya request...
    for i in 0..40 {
        let mut it = interpreter(&format!("b{i:02}"), "tzo");
        it.languages.push(skill("yua", 5, None));
        it.languages[0].proficiency = Proficiency::new(5).unwrap();
        store.insert_interpreter(it.clone(), None).await.unwrap();
        let r = request("yua", i);
        store.insert_request(r.clone()).await.unwrap();
        store
            .open_offer(offer(&r, &it, i, 1000), true)
            .await
            .unwrap();
    }
    // ...and one modest Tsotsil interpreter, free.
    let mut low = interpreter("low", "tzo");
    low.languages[0].proficiency = Proficiency::new(1).unwrap();
    store.insert_interpreter(low, None).await.unwrap();
    let r = request("tzo", 50);
    store.insert_request(r.clone()).await.unwrap();
    let snap = store
        .snapshot(Scope::Best, &Focus::everything(), &Routing::default(), t(0))
        .await
        .unwrap();
    let plan = decide(&snap, t(60), &Policy::default());
    let offered: Vec<_> = offers_in(&plan)
        .into_iter()
        .filter(|(request, _)| *request == r.id)
        .collect();
    assert_eq!(offered, [(r.id.clone(), "low".to_string())]);
}

/// The offers a plan makes: request, interpreter.
fn offers_in(plan: &puente::logic::matcher::Plan) -> Vec<(puente::domain::ids::RequestId, String)> {
    use puente::logic::matcher::Decision;
    plan.decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Offer {
                request,
                interpreter,
                ..
            } => Some((request.clone(), interpreter.to_string())),
            _ => None,
        })
        .collect()
}

/// Every request of a listing, page by page (pages of `limit`), in the order listed.
async fn listed(store: &dyn Store, mut listing: Listing) -> Vec<Request> {
    let mut all = Vec::new();
    loop {
        let page = store.requests(&listing).await.unwrap();
        assert!(page.requests.len() <= listing.limit, "{page:?}");
        all.extend(page.requests);
        match page.next {
            Some(c) => listing.after = Some(c),
            None => return all,
        }
    }
}

fn ids(reqs: &[Request]) -> Vec<RequestId> {
    reqs.iter().map(|r| r.id.clone()).collect()
}

async fn every_request(store: &dyn Store) -> Vec<Request> {
    listed(store, Listing::all()).await
}

async fn requests_list_most_recent_first_and_filter(store: &dyn Store) {
    let (a, b, c) = (request("tzo", 0), request("yua", 1), request("nah", 2));
    for r in [&a, &b, &c] {
        store.insert_request(r.clone()).await.unwrap();
    }
    store
        .finish_request(&b.id, Finish::Cancel, t(3), &Rules::default())
        .await
        .unwrap();
    let all = every_request(store).await;
    assert_eq!(ids(&all), vec![c.id.clone(), b.id.clone(), a.id.clone()]);
    let queued = listed(store, Listing::of_states(&[RequestState::Queued])).await;
    assert_eq!(ids(&queued), vec![c.id, a.id]);
}

/// Requests created in the same millisecond, several states, pages of two: every page
/// follows the last, whatever is created or changes state between pages.
async fn listings_page_in_order_by_state_and_time(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    // Seconds 0, 1, 1, 1, 2, 3, 4: three of them in the same millisecond.
    let reqs: Vec<Request> = [0, 1, 1, 1, 2, 3, 4]
        .into_iter()
        .map(|s| request("tzo", s))
        .collect();
    for r in &reqs {
        store.insert_request(r.clone()).await.unwrap();
    }
    let rules = Rules::default();
    store
        .finish_request(&reqs[1].id, Finish::Cancel, t(5), &rules)
        .await
        .unwrap();
    store
        .finish_request(&reqs[4].id, Finish::Cancel, t(5), &rules)
        .await
        .unwrap();
    store
        .open_offer(offer(&reqs[2], &ana, 5, 60), true)
        .await
        .unwrap();
    // The order: newest first, then the greater id.
    let mut expect = reqs.clone();
    expect.sort_by(|x, y| (y.created_at, &y.id).cmp(&(x.created_at, &x.id)));
    let paged = |states: &[RequestState]| Listing {
        limit: 2,
        ..Listing::of_states(states)
    };
    assert_eq!(ids(&listed(store, paged(&[])).await), ids(&expect));
    let waiting: Vec<Request> = expect
        .iter()
        .filter(|r| r.id != reqs[1].id && r.id != reqs[4].id)
        .cloned()
        .collect();
    let both = [RequestState::Queued, RequestState::Offered];
    assert_eq!(ids(&listed(store, paged(&both)).await), ids(&waiting));
    let offered = listed(store, paged(&[RequestState::Offered])).await;
    assert_eq!(ids(&offered), vec![reqs[2].id.clone()]);
    assert_eq!(offered[0].state, RequestState::Offered);
    // A time range: created at second 1 up to (not including) second 3.
    let range = Listing {
        since: Some(t(1)),
        until: Some(t(3)),
        ..paged(&[])
    };
    let in_range: Vec<RequestId> = expect
        .iter()
        .filter(|r| r.created_at >= t(1) && r.created_at < t(3))
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(ids(&listed(store, range.clone()).await), in_range);
    // A page, then a new request and a change of state: the next page goes on from where
    // the first ended, neither repeating nor skipping.
    let first = store.requests(&paged(&[])).await.unwrap();
    assert_eq!(ids(&first.requests), ids(&expect[..2]));
    store.insert_request(request("tzo", 9)).await.unwrap();
    store
        .finish_request(&expect[3].id, Finish::Cancel, t(6), &rules)
        .await
        .unwrap();
    let rest = listed(
        store,
        Listing {
            after: first.next.clone(),
            ..paged(&[])
        },
    )
    .await;
    assert_eq!(ids(&rest), ids(&expect[2..]));
    // The last page says nothing follows.
    let last = store
        .requests(&Listing {
            limit: 1000,
            ..Listing::all()
        })
        .await
        .unwrap();
    assert_eq!(last.next, None);
    assert_eq!(last.requests.len(), reqs.len() + 1);
}

/// Finished requests older than the retention go, with their offers; what still goes on
/// stays however old, and so does what finished within the retention.
async fn pruning_forgets_old_finished_requests_only(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let rules = Rules::default();
    let old_done = request("tzo", 0);
    let old_waiting = request("tzo", 1);
    let old_connected = request("tzo", 2);
    let recent_done = request("tzo", 100);
    for r in [&old_done, &old_waiting, &old_connected, &recent_done] {
        store.insert_request(r.clone()).await.unwrap();
    }
    let declined = offer(&old_done, &ana, 3, 60);
    store.open_offer(declined.clone(), true).await.unwrap();
    store
        .close_offer(&declined.id, Outcome::Declined, t(4), &rules)
        .await
        .unwrap();
    store
        .finish_request(&old_done.id, Finish::Cancel, t(5), &rules)
        .await
        .unwrap();
    let taken = offer(&old_connected, &ana, 6, 60);
    store.open_offer(taken.clone(), true).await.unwrap();
    store.accept_offer(&taken.id, &ana.id, t(7)).await.unwrap();
    store
        .finish_request(&recent_done.id, Finish::Cancel, t(101), &rules)
        .await
        .unwrap();
    // Batches: one at a time, then nothing left to prune.
    assert_eq!(store.prune_requests(t(50), 1).await.unwrap(), 1);
    assert_eq!(store.prune_requests(t(50), 10).await.unwrap(), 0);
    assert!(store.request(&old_done.id).await.unwrap().is_none());
    assert!(store.offer(&declined.id).await.unwrap().is_none());
    let left = every_request(store).await;
    assert_eq!(
        ids(&left),
        vec![
            recent_done.id.clone(),
            old_connected.id.clone(),
            old_waiting.id.clone()
        ]
    );
    let cancelled = listed(store, Listing::of_states(&[RequestState::Cancelled])).await;
    assert_eq!(ids(&cancelled), vec![recent_done.id.clone()]);
    // The interpreter's offers are those of requests still kept.
    let history: Vec<OfferId> = store
        .offers_for(&ana.id, false)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(history, vec![taken.id.clone()]);
    assert!(store.offer(&taken.id).await.unwrap().is_some());
}

async fn a_sequential_offer_is_refused_while_another_is_open(store: &dyn Store) {
    let (ana, beto) = (interpreter("ana", "tzo"), interpreter("beto", "tzo"));
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    store.insert_interpreter(beto.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    store
        .open_offer(offer(&r, &ana, 1, 30), true)
        .await
        .unwrap();
    // Two dispatchers racing under the sequential policy: the second loses.
    let second = store.open_offer(offer(&r, &beto, 1, 30), true).await;
    assert_eq!(second, Err(StoreError::Conflict(Conflict::RequestBusy)));
    // The parallel policy asks for a non-exclusive offer, which is fine.
    store
        .open_offer(offer(&r, &beto, 1, 30), false)
        .await
        .unwrap();
}

/// Ana (Tsotsil), a Tsotsil request made at 0, offered at 1, accepted at 2.
async fn ana_connected_to_a_tsotsil_request(store: &dyn Store) -> (Interpreter, Request) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let o = offer(&r, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    store.accept_offer(&o.id, &ana.id, t(2)).await.unwrap();
    (ana, r)
}

async fn a_connected_interpreter_cannot_be_removed(store: &dyn Store) {
    let (ana, r) = ana_connected_to_a_tsotsil_request(store).await;
    let refused = store.remove_interpreter(&ana.id, t(3)).await;
    assert_eq!(
        refused,
        Err(StoreError::Conflict(Conflict::InterpreterInSession(
            r.id.clone()
        )))
    );
}

async fn updating_a_profile_reindexes_languages_and_keeps_live_state(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let tzo = request("tzo", 0);
    store.insert_request(tzo.clone()).await.unwrap();
    let o = offer(&tzo, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();

    // Ana now works in Maya only: the Tsotsil offer is withdrawn, the request waits again.
    let profile = Profile {
        name: "Ana María".into(),
        phone: PhoneNumber::parse("+529991112233").unwrap(),
        languages: vec![LanguageSkill {
            tag: LanguageTag::parse("yua").unwrap(),
            proficiency: Proficiency::new(5).unwrap(),
            certification: Some("PANITLI".into()),
            group: None,
        }],
        schedule: Some(
            serde_json::from_value(serde_json::json!({
                "time_zone": "America/Cancun",
                "windows": [{"days": ["mon", "tue"], "start": "08:00", "end": "02:00"}],
                "exceptions": [{"kind": "off", "from": "2026-12-24T00:00", "to": "2026-12-26T00:00"}],
            }))
            .unwrap(),
        ),
        certification: Some("PANITLI EC0015".into()),
    };
    let change = store
        .update_interpreter(&ana.id, profile.clone(), None, t(2))
        .await
        .unwrap();
    let (updated, _) = &change.interpreters[0];
    assert_eq!(updated.name, "Ana María");
    assert_eq!(updated.languages, profile.languages);
    assert_eq!(
        updated.availability,
        Availability::Available,
        "live state kept"
    );
    let closed = store.offer(&o.id).await.unwrap().unwrap();
    assert_eq!(closed.outcome, Some(Outcome::Withdrawn));
    assert_eq!(state_of(store, &tzo).await, RequestState::Queued);
    assert_eq!(store.on_call(&tzo.language, None).await.unwrap(), 0);

    // The indexes follow: a Maya request sees her on call and free; Tsotsil does not.
    let yua = request("yua", 3);
    let placed = store.insert_request(yua.clone()).await.unwrap();
    assert_eq!(placed.on_call, 1);
    let snap = store
        .snapshot(
            Scope::Everyone,
            &Focus::everything(),
            &Routing::default(),
            t(0),
        )
        .await
        .unwrap();
    let free: Vec<_> = snap.free_interpreters().map(|i| i.id.to_string()).collect();
    assert_eq!(free, ["ana"]);
    store
        .open_offer(offer(&yua, &ana, 4, 30), true)
        .await
        .unwrap();

    let missing = InterpreterId::parse("nobody").unwrap();
    assert!(matches!(
        store
            .update_interpreter(&missing, profile, None, t(5))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_profile_edit_from_a_stale_revision_is_refused_and_changes_nothing(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let read = store.interpreter(&ana.id).await.unwrap().unwrap();
    let profile = |name: &str| Profile {
        name: name.into(),
        phone: ana.phone.clone(),
        languages: ana.languages.clone(),
        schedule: None,
        certification: Some("PANITLI EC0015".into()),
    };
    let change = store
        .update_interpreter(&ana.id, profile("Ana M."), Some(read.revision), t(1))
        .await
        .unwrap();
    let (first, _) = &change.interpreters[0];
    assert_eq!(first.revision, read.revision + 1);
    assert_eq!(first.certification.as_deref(), Some("PANITLI EC0015"));
    // A second editor still holds the first revision.
    assert!(matches!(
        store
            .update_interpreter(&ana.id, profile("stale"), Some(read.revision), t(2))
            .await,
        Err(StoreError::Conflict(Conflict::StaleProfile))
    ));
    let now = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert_eq!(now.name, "Ana M.", "the stale edit changed nothing");
    // Time off is an edit of the profile too.
    let off = puente::domain::schedule::Exception {
        kind: puente::domain::schedule::ExceptionKind::Off,
        from: jiff::civil::date(2026, 12, 1).at(0, 0, 0, 0),
        to: jiff::civil::date(2026, 12, 2).at(0, 0, 0, 0),
    };
    store.add_time_off(&ana.id, off, t(3)).await.unwrap();
    let after = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert_eq!(after.revision, now.revision + 1);
    assert_eq!(after.certification.as_deref(), Some("PANITLI EC0015"));
}

async fn time_off_is_appended_without_losing_what_lands_meanwhile(store: &dyn Store) {
    use puente::domain::schedule::{Exception, ExceptionKind};
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let off = |day: u32| Exception {
        kind: ExceptionKind::Off,
        from: jiff::civil::date(2026, 12, day as i8).at(0, 0, 0, 0),
        to: jiff::civil::date(2026, 12, day as i8 + 1).at(0, 0, 0, 0),
    };
    // Without a schedule, time off makes one (default zone, no windows).
    let change = store.add_time_off(&ana.id, off(1), t(1)).await.unwrap();
    let (it, _) = &change.interpreters[0];
    let schedule = it.schedule.clone().unwrap();
    assert_eq!(
        schedule.time_zone,
        puente::domain::schedule::DEFAULT_TIME_ZONE
    );
    assert_eq!(schedule.exceptions, [off(1)]);

    // The interpreter and a coordinator add time off at the same moment, and the
    // coordinator renames her: nothing is lost.
    let rename = Profile {
        name: "Ana María".into(),
        phone: ana.phone.clone(),
        languages: ana.languages.clone(),
        schedule: it.schedule.clone(),
        certification: None,
    };
    let (a, b) = tokio::join!(
        store.add_time_off(&ana.id, off(10), t(2)),
        store.add_time_off(&ana.id, off(20), t(2)),
    );
    a.unwrap();
    b.unwrap();
    let now = store.interpreter(&ana.id).await.unwrap().unwrap();
    let mut days: Vec<_> = now.schedule.unwrap().exceptions;
    days.sort_by_key(|e| e.from);
    assert_eq!(days, [off(1), off(10), off(20)]);
    store
        .update_interpreter(&ana.id, rename, None, t(3))
        .await
        .unwrap();
    store.add_time_off(&ana.id, off(24), t(4)).await.unwrap();
    let now = store.interpreter(&ana.id).await.unwrap().unwrap();
    assert_eq!(
        now.name, "Ana María",
        "time off does not write the name back"
    );
    assert_eq!(now.schedule.unwrap().exceptions.last(), Some(&off(24)));

    let missing = InterpreterId::parse("nobody").unwrap();
    assert!(matches!(
        store.add_time_off(&missing, off(2), t(5)).await,
        Err(StoreError::NotFound(_))
    ));
}

fn in_group(id: &str, lang: &str, group: &str) -> Interpreter {
    let mut it = interpreter(id, lang);
    it.languages[0].group = Some(LanguageTag::parse(group).unwrap());
    it
}

async fn agrupaciones_and_intelligible_variants_widen_what_a_snapshot_carries(store: &dyn Store) {
    let istmo = "zap-x-planicie-costera";
    let montana = "zap-x-montana-istmo-alto";
    for it in [
        in_group("group", "zap", "zap"),
        in_group("sierra", "zap-x-sierra-sur-noroeste-bajo", "zap"),
        in_group("montana", montana, "zap"),
        in_group("maya", "yua", "yua"),
        interpreter("nogroup", istmo),
    ] {
        store.insert_interpreter(it, None).await.unwrap();
    }
    let mut r = request(istmo, 0);
    r.group = Some(LanguageTag::parse("zap").unwrap());
    let placed = store.insert_request(r.clone()).await.unwrap();
    assert_eq!(placed.on_call, 4, "everyone the widest tier reaches");
    let zap = LanguageTag::parse("zap").unwrap();
    assert_eq!(store.on_call(&r.language, Some(&zap)).await.unwrap(), 4);
    assert_eq!(store.on_call(&r.language, None).await.unwrap(), 1);

    let mut routing = Routing::default();
    routing.intelligible.insert(
        LanguageTag::parse(istmo).unwrap(),
        vec![LanguageTag::parse(montana).unwrap()],
    );
    // Everyone every tier reaches; the best of each reach at least (the variant, the
    // intelligible one, the one registered for the whole agrupación: the matcher's order).
    for (scope, expect) in [
        (
            Scope::Everyone,
            &["group", "montana", "nogroup", "sierra"][..],
        ),
        (Scope::Best, &["group", "montana", "nogroup"][..]),
    ] {
        let snap = store
            .snapshot(scope, &Focus::everything(), &routing, t(0))
            .await
            .unwrap();
        let ids: BTreeSet<String> = snap.free_interpreters().map(|i| i.id.to_string()).collect();
        for id in expect {
            assert!(ids.contains(*id), "{scope:?} carries {id}: {ids:?}");
        }
        assert_eq!(snap.requests()[0].group, r.group);
    }

    // Widening is recorded once, forwards only, and only while the request waits.
    let change = store.widen(&r.id, 1, t(30)).await.unwrap();
    assert_eq!(change.requests.len(), 1);
    assert_eq!(change.requests[0].tier, 1);
    assert!(store.widen(&r.id, 1, t(31)).await.unwrap().is_empty());
    assert!(store.widen(&r.id, 0, t(31)).await.unwrap().is_empty());
    assert_eq!(store.request(&r.id).await.unwrap().unwrap().tier, 1);
    store
        .finish_request(&r.id, Finish::Cancel, t(40), &Rules::default())
        .await
        .unwrap();
    assert!(store.widen(&r.id, 2, t(41)).await.unwrap().is_empty());

    // Leaving a language leaves its agrupación's indexes too.
    store
        .set_availability(
            &InterpreterId::parse("sierra").unwrap(),
            Availability::Offline,
            t(50),
            Reason::Requested,
        )
        .await
        .unwrap();
    assert_eq!(store.on_call(&r.language, Some(&zap)).await.unwrap(), 3);
    let removed = store
        .remove_interpreter(&InterpreterId::parse("group").unwrap(), t(51))
        .await
        .unwrap();
    assert_eq!(removed.removed, [InterpreterId::parse("group").unwrap()]);
    assert_eq!(store.on_call(&r.language, Some(&zap)).await.unwrap(), 2);
}

async fn a_failed_manual_bridge_requeues_and_frees_a_confirmed_one_stays(store: &dyn Store) {
    let (ana, r) = ana_connected_to_a_tsotsil_request(store).await;

    // The operator could not reach Ana: the request waits again and Ana is free.
    let change = store.bridge(&r, false, t(3)).await.unwrap();
    let back = &change.requests[0];
    assert_eq!(back.state, RequestState::Queued);
    assert_eq!(back.interpreter, None);
    let snap = store
        .snapshot(
            Scope::Everyone,
            &Focus::everything(),
            &Routing::default(),
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(snap.requests().len(), 1);
    assert_eq!(
        snap.requests()[0].attempts.len(),
        1,
        "Ana's offer is remembered"
    );
    let free: Vec<_> = snap.free_interpreters().map(|i| i.id.to_string()).collect();
    assert_eq!(free, ["ana"]);
    assert_eq!(
        store.interpreter(&ana.id).await.unwrap().unwrap().session,
        None
    );
    assert!(matches!(
        store.bridge(&r, true, t(4)).await,
        Err(StoreError::Conflict(Conflict::RequestState(
            RequestState::Queued
        )))
    ));

    // Second try: confirmed, once.
    let o2 = offer(&r, &ana, 5, 30);
    store.open_offer(o2.clone(), true).await.unwrap();
    store.accept_offer(&o2.id, &ana.id, t(6)).await.unwrap();
    let confirmed = store.bridge(&r, true, t(7)).await.unwrap();
    assert_eq!(confirmed.requests[0].bridged_at, Some(t(7)));
    assert_eq!(confirmed.requests[0].state, RequestState::Connected);
    assert!(matches!(
        store.bridge(&r, false, t(8)).await,
        Err(StoreError::Conflict(Conflict::RequestState(_)))
    ));
}

async fn memos_swap_only_from_what_the_caller_expects(store: &dyn Store) {
    let now = Timestamp::now();
    let later = now + SignedDuration::from_hours(1);
    assert_eq!(store.memo("wa:conv:x", now).await.unwrap(), None);
    // Two deliveries race to open a conversation: one wins.
    assert!(store
        .memo_swap("wa:conv:x", None, "req_a", later, now)
        .await
        .unwrap());
    assert!(!store
        .memo_swap("wa:conv:x", None, "req_b", later, now)
        .await
        .unwrap());
    assert_eq!(
        store.memo("wa:conv:x", now).await.unwrap().as_deref(),
        Some("req_a")
    );
    // Replacing needs the current value.
    assert!(!store
        .memo_swap("wa:conv:x", Some("req_b"), "req_c", later, now)
        .await
        .unwrap());
    assert!(store
        .memo_swap("wa:conv:x", Some("req_a"), "req_c", later, now)
        .await
        .unwrap());
    assert_eq!(
        store.memo("wa:conv:x", now).await.unwrap().as_deref(),
        Some("req_c")
    );
    // An expired memo is gone.
    let past = now - SignedDuration::from_secs(1);
    assert!(store
        .memo_swap("wa:conv:x", Some("req_c"), "req_d", past, now)
        .await
        .unwrap());
    assert_eq!(store.memo("wa:conv:x", now).await.unwrap(), None);
    assert!(store
        .memo_swap("wa:conv:x", None, "req_e", later, now)
        .await
        .unwrap());
}

async fn chat_messages_are_numbered_in_order_and_expire(store: &dyn Store) {
    use puente::domain::chat::{Author, ChatMessage};
    let r = request("yua", 0);
    let now = Timestamp::now();
    let later = now + SignedDuration::from_hours(1);
    let msg = |from, sealed: &str, seq| ChatMessage {
        request: r.id.clone(),
        seq,
        from,
        at: t(1),
        interpreter: None,
        sealed: sealed.to_string(),
    };
    let first = store
        .append_chat(msg(Author::Caller, "c2VhbGVkMQ", 1), later, now)
        .await
        .unwrap();
    assert_eq!(first.messages.len(), 1);
    assert_eq!(first.messages[0].seq, 1);
    // A message numbered for a place already taken (sealed to that number) is refused
    // with the next number, and nothing is stored.
    assert!(matches!(
        store
            .append_chat(msg(Author::Operator, "c2VhbGVkMg", 1), later, now)
            .await,
        Err(StoreError::Conflict(Conflict::ChatSeq(2)))
    ));
    let second = store
        .append_chat(msg(Author::Operator, "c2VhbGVkMg", 2), later, now)
        .await
        .unwrap();
    assert_eq!(second.messages[0].seq, 2);
    let all = store.chat(&r.id, now).await.unwrap();
    assert_eq!(
        all.iter().map(|m| (m.seq, m.from)).collect::<Vec<_>>(),
        vec![(1, Author::Caller), (2, Author::Operator)]
    );
    assert_eq!(all[1].sealed, "c2VhbGVkMg");
    assert!(store
        .chat(&request("yua", 0).id, now)
        .await
        .unwrap()
        .is_empty());
    // Live conversations, most recently renewed first.
    let other = request("tzo", 0);
    store
        .append_chat(
            ChatMessage {
                request: other.id.clone(),
                ..msg(Author::Caller, "c2VhbGVkNA", 1)
            },
            later + SignedDuration::from_secs(1),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store.conversations(now).await.unwrap(),
        vec![other.id.clone(), r.id.clone()]
    );
    // Each message renews the conversation's expiry; one already past ends it.
    let past = now - SignedDuration::from_secs(1);
    store
        .append_chat(msg(Author::Caller, "c2VhbGVkMw", 3), past, now)
        .await
        .unwrap();
    assert!(store.chat(&r.id, now).await.unwrap().is_empty());
    assert_eq!(store.conversations(now).await.unwrap(), vec![other.id]);
}

async fn a_callers_messages_join_one_conversation_until_its_request_ends(store: &dyn Store) {
    use puente::domain::chat::{Author, ChatMessage};
    use puente::domain::ids::RequestId;
    let now = t(100);
    let until = now + SignedDuration::from_hours(1);
    let (a, b, c) = (
        RequestId::generate(),
        RequestId::generate(),
        RequestId::generate(),
    );
    let first = store
        .join_conversation("caller-1", &a, "sealed-a", until, now)
        .await
        .unwrap();
    assert_eq!(
        (first.id.clone(), first.opened, first.has_reply),
        (a.clone(), true, true)
    );
    assert_eq!((first.next_seq, first.request.clone()), (1, None));
    assert_eq!(
        store.reply_address(&a, now).await.unwrap().as_deref(),
        Some("sealed-a")
    );
    let msg = ChatMessage {
        request: a.clone(),
        seq: 1,
        from: Author::Caller,
        at: now,
        interpreter: None,
        sealed: "c2VhbGVkMQ".into(),
    };
    store.append_chat(msg, until, now).await.unwrap();

    // The next message joins it: same id, its number, the first reply address kept.
    let again = store
        .join_conversation("caller-1", &b, "sealed-b", until, now)
        .await
        .unwrap();
    assert_eq!(
        (again.id.clone(), again.opened, again.next_seq),
        (a.clone(), false, 2)
    );
    assert_eq!(
        store.reply_address(&a, now).await.unwrap().as_deref(),
        Some("sealed-a")
    );
    assert_eq!(store.reply_address(&b, now).await.unwrap(), None);
    // Another caller has their own.
    let other = store
        .join_conversation("caller-2", &b, "sealed-b", until, now)
        .await
        .unwrap();
    assert_eq!((other.id, other.opened), (b.clone(), true));

    // Once its request exists the join carries it; once it is over, a new one opens.
    let mut req = request("yua", 100);
    req.id = a.clone();
    req.channel = Channel::Chat;
    store.insert_request(req).await.unwrap();
    let live = store
        .join_conversation("caller-1", &c, "sealed-c", until, now)
        .await
        .unwrap();
    assert_eq!(live.request.map(|r| r.state), Some(RequestState::Queued));
    store
        .finish_request(&a, Finish::Cancel, t(101), &Rules::default())
        .await
        .unwrap();
    let next = store
        .join_conversation("caller-1", &c, "sealed-c", until, t(102))
        .await
        .unwrap();
    assert_eq!(
        (next.id.clone(), next.opened, next.next_seq),
        (c.clone(), true, 1)
    );
    assert_eq!(next.request, None);

    // A reply address can be kept again.
    store
        .keep_reply_address(&c, "sealed-c2", until, t(102))
        .await
        .unwrap();
    assert_eq!(
        store.reply_address(&c, t(102)).await.unwrap().as_deref(),
        Some("sealed-c2")
    );
}

/// Memos and conversations last as long as the caller's clock says, however far that
/// clock is from the wall clock (a paused test clock, a skewed host): the store never
/// reads the time itself.
async fn memos_and_chats_follow_the_callers_clock(store: &dyn Store) {
    use puente::domain::chat::{Author, ChatMessage};
    let now: Timestamp = "2020-03-01T12:00:00Z".parse().unwrap();
    let later = now + SignedDuration::from_hours(1);
    assert!(store
        .memo_swap("wa:msg:1", None, "1", later, now)
        .await
        .unwrap());
    assert_eq!(
        store.memo("wa:msg:1", now).await.unwrap().as_deref(),
        Some("1")
    );
    assert!(
        !store.claim_once("wa:msg:1", later, now).await.unwrap(),
        "claimed already"
    );
    let r = request("yua", 0);
    let msg = ChatMessage {
        request: r.id.clone(),
        seq: 1,
        from: Author::Caller,
        at: now,
        interpreter: None,
        sealed: "c2VhbGVkMQ".into(),
    };
    store.append_chat(msg, later, now).await.unwrap();
    assert_eq!(store.chat(&r.id, now).await.unwrap().len(), 1);
    assert_eq!(store.conversations(now).await.unwrap(), vec![r.id]);
}

async fn matching_sees_the_head_of_a_long_queue_and_positions_see_all_of_it(store: &dyn Store) {
    // 250 callers waiting for Tsotsil, oldest first, one urgent at the end.
    let mut made = Vec::new();
    for i in 0..250 {
        let mut r = request("tzo", i);
        if i == 249 {
            r.priority = Priority::Urgent;
        }
        store.insert_request(r.clone()).await.unwrap();
        made.push(r.id);
    }
    let routing = Routing::default();
    // Every place is known, from the indexes: the urgent one first, then by age.
    let mut reqs: Vec<Request> = Vec::new();
    for id in &made {
        reqs.push(store.request(id).await.unwrap().unwrap());
    }
    let places = store.places(&reqs).await.unwrap();
    assert_eq!(places.len(), 250);
    assert_eq!(places[&made[249]].position, 1);
    assert_eq!(places[&made[0]].position, 2);
    assert_eq!(places[&made[248]].position, 250);
    let best = store
        .snapshot(Scope::Best, &Focus::everything(), &routing, t(0))
        .await
        .unwrap();
    let seen: Vec<_> = best.requests().iter().map(|r| r.id.clone()).collect();
    // Served urgent first, then oldest: matching sees those (at least a few), and is told
    // when there are more behind them.
    assert!(seen.contains(&made[249]));
    for id in &made[..15] {
        assert!(seen.contains(id));
    }
    assert!(best.more_waiting || seen.len() == 250, "{}", seen.len());
}

/// Every behaviour, against a fresh store from `make`.
async fn conformance<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Box<dyn Store>>,
{
    roster_ids_tokens_and_duplicates(&*make().await).await;
    calls_of_an_instance_whose_lease_lapsed_are_settled_as_lost(&*make().await).await;
    open_offer_claims_the_interpreter_once(&*make().await).await;
    open_offer_refuses_offline_and_connected_interpreters(&*make().await).await;
    accept_connects_once_and_withdraws_the_rest(&*make().await).await;
    an_offer_past_its_deadline_cannot_be_accepted(&*make().await).await;
    closing_the_last_offer_requeues_and_misses_set_offline(&*make().await).await;
    a_decline_resets_the_miss_count(&*make().await).await;
    going_offline_declines_open_offers(&*make().await).await;
    complete_frees_the_interpreter_after_wrap_up(&*make().await).await;
    cancel_withdraws_offers_and_leaves_the_queue(&*make().await).await;
    requests_list_most_recent_first_and_filter(&*make().await).await;
    listings_page_in_order_by_state_and_time(&*make().await).await;
    pruning_forgets_old_finished_requests_only(&*make().await).await;
    a_connected_interpreter_cannot_be_removed(&*make().await).await;
    a_sequential_offer_is_refused_while_another_is_open(&*make().await).await;
    a_new_request_learns_its_place_and_who_is_on_call(&*make().await).await;
    snapshots_carry_the_best_free_interpreters_of_waiting_languages(&*make().await).await;
    interpreters_busy_with_other_offers_do_not_hide_a_free_one(&*make().await).await;
    updating_a_profile_reindexes_languages_and_keeps_live_state(&*make().await).await;
    a_profile_edit_from_a_stale_revision_is_refused_and_changes_nothing(&*make().await).await;
    time_off_is_appended_without_losing_what_lands_meanwhile(&*make().await).await;
    agrupaciones_and_intelligible_variants_widen_what_a_snapshot_carries(&*make().await).await;
    a_failed_manual_bridge_requeues_and_frees_a_confirmed_one_stays(&*make().await).await;
    memos_and_chats_follow_the_callers_clock(&*make().await).await;
    memos_swap_only_from_what_the_caller_expects(&*make().await).await;
    chat_messages_are_numbered_in_order_and_expire(&*make().await).await;
    a_callers_messages_join_one_conversation_until_its_request_ends(&*make().await).await;
    matching_sees_the_head_of_a_long_queue_and_positions_see_all_of_it(&*make().await).await;
    changes_carry_where_waiting_requests_stand(&*make().await).await;
    a_focus_on_an_interpreter_reaches_every_queue_that_may_reach_them(&*make().await).await;
    a_focused_snapshot_marks_who_holds_an_offer_it_does_not_carry(&*make().await).await;
    offers_past_their_deadline_are_in_every_snapshot(&*make().await).await;
}

async fn changes_carry_where_waiting_requests_stand(store: &dyn Store) {
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let first = request("tzo", 0);
    let second = request("tzo", 1);
    store.insert_request(first.clone()).await.unwrap();
    let placed = store.insert_request(second.clone()).await.unwrap();
    assert_eq!((placed.position, placed.on_call), (2, 1));
    let change = store
        .open_offer(offer(&second, &ana, 2, 30), true)
        .await
        .unwrap();
    let expect = QueueInfo {
        position: 2,
        on_call: 1,
        open_offers: 1,
    };
    assert_eq!(change.place(&second.id), Some(expect), "{change:?}");
    // Cancelling the first moves the second up; a finished request has no place.
    let change = store
        .finish_request(&first.id, Finish::Cancel, t(3), &Rules::default())
        .await
        .unwrap();
    assert_eq!(change.place(&first.id), None);
    let places = store
        .places(&[first.clone(), second.clone()])
        .await
        .unwrap();
    assert_eq!(places.get(&first.id), None);
    assert_eq!(places[&second.id].position, 1);
    // A declined offer requeues the request, and the change says where it stands.
    let id = store.offers_for(&ana.id, true).await.unwrap()[0].id.clone();
    let change = store
        .close_offer(&id, Outcome::Declined, t(4), &Rules::default())
        .await
        .unwrap();
    assert_eq!(
        change.place(&second.id),
        Some(QueueInfo {
            position: 1,
            on_call: 1,
            open_offers: 0
        })
    );
}

async fn a_focus_on_an_interpreter_reaches_every_queue_that_may_reach_them(store: &dyn Store) {
    // Maya is intelligible with Tsotsil here (a made-up rule); Zapotec of the Planicie
    // Costera is another variant of the interpreter's agrupación.
    let routing = Routing {
        intelligible: [(
            LanguageTag::parse("yua").unwrap(),
            vec![LanguageTag::parse("tzo").unwrap()],
        )]
        .into(),
        ..Routing::default()
    };
    let mut ana = interpreter("ana", "tzo");
    ana.languages
        .push(skill("zap-x-sierra-sur", 4, Some("zap")));
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let mut variant = request("zap-x-planicie-costera", 0);
    variant.group = Some(LanguageTag::parse("zap").unwrap());
    for r in [request("tzo", 0), request("yua", 1), variant] {
        store.insert_request(r).await.unwrap();
    }
    let focus = Focus {
        interpreters: [ana.id.clone()].into(),
        ..Focus::default()
    };
    let snap = store
        .snapshot(Scope::Best, &focus, &routing, t(5))
        .await
        .unwrap();
    let mut langs: Vec<String> = snap
        .requests()
        .iter()
        .map(|r| r.language.to_string())
        .collect();
    langs.sort();
    assert_eq!(langs, ["tzo", "yua", "zap-x-planicie-costera"], "{langs:?}");
    for l in &langs {
        assert!(
            snap.languages.iter().any(|t| &t.to_string() == l),
            "{l} is said to be looked at: {:?}",
            snap.languages
        );
    }
    assert!(snap.free_interpreters().any(|i| i.id == ana.id));
}

async fn a_focused_snapshot_marks_who_holds_an_offer_it_does_not_carry(store: &dyn Store) {
    use puente::logic::matcher::{decide, Policy};
    // Ana (better) holds an offer of a Maya request; Beto is free. A focus on Tsotsil
    // alone need not carry the Maya offer, but must not offer Ana anything.
    let mut ana = interpreter("ana", "tzo");
    ana.languages[0].proficiency = Proficiency::new(5).unwrap();
    ana.languages.push(skill("yua", 5, None));
    let beto = interpreter("beto", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    store.insert_interpreter(beto.clone(), None).await.unwrap();
    let maya = request("yua", 0);
    store.insert_request(maya.clone()).await.unwrap();
    store
        .open_offer(offer(&maya, &ana, 1, 100), true)
        .await
        .unwrap();
    let tsotsil = request("tzo", 2);
    store.insert_request(tsotsil.clone()).await.unwrap();
    let focus = Focus {
        languages: [LanguageTag::parse("tzo").unwrap()].into(),
        ..Focus::default()
    };
    let snap = store
        .snapshot(Scope::Best, &focus, &Routing::default(), t(3))
        .await
        .unwrap();
    let plan = decide(&snap, t(3), &Policy::default());
    let offers = offers_in(&plan);
    assert_eq!(
        offers,
        [(tsotsil.id.clone(), "beto".to_string())],
        "{plan:?}"
    );
}

async fn offers_past_their_deadline_are_in_every_snapshot(store: &dyn Store) {
    use puente::logic::matcher::{decide, Decision, Policy};
    let ana = interpreter("ana", "tzo");
    store.insert_interpreter(ana.clone(), None).await.unwrap();
    let r = request("tzo", 0);
    store.insert_request(r.clone()).await.unwrap();
    let o = offer(&r, &ana, 1, 30);
    store.open_offer(o.clone(), true).await.unwrap();
    // Before the deadline a snapshot with nothing in focus knows when it falls due (or
    // carries the offer itself).
    let before = store
        .snapshot(Scope::Best, &Focus::default(), &Routing::default(), t(10))
        .await
        .unwrap();
    let plan = decide(&before, t(10), &Policy::default());
    assert!(plan.decisions.is_empty(), "{plan:?}");
    assert_eq!(
        before.next_deadline.or(plan.wake_at),
        Some(t(30)),
        "the next deadline is known"
    );
    // After it, the same empty focus expires it.
    let after = store
        .snapshot(Scope::Best, &Focus::default(), &Routing::default(), t(31))
        .await
        .unwrap();
    let plan = decide(&after, t(31), &Policy::default());
    assert!(
        plan.decisions.contains(&Decision::Expire(o.id.clone())),
        "{plan:?}"
    );
}

#[tokio::test]
async fn the_memory_store_conforms() {
    conformance(|| async { Box::new(MemoryStore::new()) as Box<dyn Store> }).await;
}

async fn redis_store(url: &str, name: &str) -> Box<dyn Store> {
    let ns = common::namespace(name);
    Box::new(
        RedisStore::connect(url, &ns, std::time::Duration::from_secs(5))
            .await
            .expect("Redis is reachable"),
    )
}

#[tokio::test]
async fn the_redis_store_conforms() {
    let (url, _server) = common::redis();
    conformance(|| redis_store(&url, "conformance")).await;
}

/// Data written before requests were listed per state gets those lists when an instance
/// connects.
#[tokio::test]
async fn a_redis_store_written_before_state_listings_is_migrated() {
    let (url, _server) = common::redis();
    let ns = common::namespace("migrate");
    let connect = || async {
        RedisStore::connect(&url, &ns, std::time::Duration::from_secs(5))
            .await
            .expect("Redis is reachable")
    };
    let store = connect().await;
    let (a, b) = (request("tzo", 0), request("tzo", 1));
    store.insert_request(a.clone()).await.unwrap();
    store.insert_request(b.clone()).await.unwrap();
    store
        .finish_request(&a.id, Finish::Cancel, t(2), &Rules::default())
        .await
        .unwrap();
    // As an older version left it: no per-state lists, no mark, creation in ms.
    let mut conn = store
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for key in ["rqs:v3", "rqs:queued", "rqs:cancelled"] {
        let _: () = redis::cmd("DEL")
            .arg(format!("{{{ns}}}:{key}"))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    for r in [&a, &b] {
        let _: () = redis::cmd("ZADD")
            .arg(format!("{{{ns}}}:rqs"))
            .arg(r.created_at.as_millisecond())
            .arg(r.id.as_str())
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert!(listed(&store, Listing::of_states(&[RequestState::Queued]))
        .await
        .is_empty());
    let store = connect().await;
    let queued = listed(&store, Listing::of_states(&[RequestState::Queued])).await;
    assert_eq!(ids(&queued), vec![b.id.clone()]);
    let cancelled = listed(&store, Listing::of_states(&[RequestState::Cancelled])).await;
    assert_eq!(ids(&cancelled), vec![a.id.clone()]);
    // Creation times in µs again: a range finds them where they are.
    let range = Listing {
        since: Some(t(1)),
        until: Some(t(2)),
        ..Listing::all()
    };
    assert_eq!(ids(&listed(&store, range).await), vec![b.id.clone()]);
}

#[tokio::test]
async fn the_redis_store_conforms_on_a_three_master_cluster() {
    let (url, _cluster) = common::redis_cluster();
    conformance(|| redis_store(&url, "cluster")).await;
}

// --- Invariants under random operation sequences -----------------------------------------

mod model {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use puente::logic::matcher::{decide, Decision, Policy};

    use super::*;

    #[derive(Debug, Clone)]
    pub enum Op {
        Request(usize),
        Availability(usize, bool),
        Decide(i64),
        Accept(usize),
        Decline(usize),
        Complete(usize),
        Cancel(usize),
    }

    const LANGS: [&str; 3] = ["tzo", "yua", "nah"];

    pub fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..LANGS.len()).prop_map(Op::Request),
            (0..4usize, any::<bool>()).prop_map(|(i, a)| Op::Availability(i, a)),
            (0..40i64).prop_map(Op::Decide),
            (0..8usize).prop_map(Op::Accept),
            (0..8usize).prop_map(Op::Decline),
            (0..8usize).prop_map(Op::Complete),
            (0..8usize).prop_map(Op::Cancel),
        ]
    }

    /// Check every invariant of API.md that the store must keep.
    async fn check(store: &dyn Store) {
        let its = store.interpreters().await.unwrap();
        let reqs = every_request(store).await;
        let mut sessions = HashMap::new();
        for it in &its {
            let open = store.offers_for(&it.id, true).await.unwrap();
            assert!(
                open.len() <= 1,
                "{} holds {} open offers",
                it.id,
                open.len()
            );
            if !open.is_empty() {
                assert_eq!(
                    it.availability,
                    Availability::Available,
                    "offer to offline {}",
                    it.id
                );
                assert!(it.session.is_none(), "offer to connected {}", it.id);
            }
            if let Some(r) = &it.session {
                let req = reqs.iter().find(|x| &x.id == r).unwrap();
                assert_eq!(req.state, RequestState::Connected);
                assert_eq!(req.interpreter.as_ref(), Some(&it.id));
                assert!(
                    sessions.insert(r.clone(), it.id.clone()).is_none(),
                    "two interpreters on {r}"
                );
            }
        }
        for r in &reqs {
            if r.state == RequestState::Connected {
                let who = r
                    .interpreter
                    .as_ref()
                    .expect("connected has an interpreter");
                assert_eq!(
                    sessions.get(&r.id),
                    Some(who),
                    "{} connected but {} not in session",
                    r.id,
                    who
                );
            }
        }
    }

    pub async fn run(store: &dyn Store, ops: Vec<Op>) {
        let rules = Rules::default();
        let policy = Policy::default();
        let mut now = 0i64;
        for i in 0..4 {
            let lang = LANGS[i % LANGS.len()];
            let mut it = interpreter(&format!("i{i}"), lang);
            it.languages
                .push(skill(LANGS[(i + 1) % LANGS.len()], 3, None));
            store.insert_interpreter(it, None).await.unwrap();
        }
        for op in ops {
            now += 1;
            let open: Vec<Offer> = {
                let mut all = Vec::new();
                for it in store.interpreters().await.unwrap() {
                    all.extend(store.offers_for(&it.id, true).await.unwrap());
                }
                all
            };
            let reqs = every_request(store).await;
            // Results are ignored: refusing an operation that no longer applies is fine;
            // what matters is that the invariants hold afterwards.
            match op {
                Op::Request(l) => {
                    store.insert_request(request(LANGS[l], now)).await.unwrap();
                }
                Op::Availability(i, a) => {
                    let id = InterpreterId::parse(&format!("i{i}")).unwrap();
                    let av = if a {
                        Availability::Available
                    } else {
                        Availability::Offline
                    };
                    let _ = store
                        .set_availability(&id, av, t(now), Reason::Requested)
                        .await;
                }
                Op::Decide(dt) => {
                    now += dt;
                    let (all, routing) = (Focus::everything(), Routing::default());
                    let snapshot = |scope| store.snapshot(scope, &all, &routing, t(now));
                    let plan = decide(&snapshot(Scope::Best).await.unwrap(), t(now), &policy);
                    // The few best the store reads decide as everyone would.
                    let everyone =
                        decide(&snapshot(Scope::Everyone).await.unwrap(), t(now), &policy);
                    assert_eq!(plan, everyone, "a Best snapshot decides as Everyone");
                    for d in plan.decisions {
                        let _ = match d {
                            Decision::Expire(o) => {
                                store
                                    .close_offer(&o, Outcome::Expired, t(now), &rules)
                                    .await
                            }
                            Decision::GiveUp(r) => {
                                store
                                    .finish_request(&r, Finish::GiveUp, t(now), &rules)
                                    .await
                            }
                            Decision::Widen { request, tier } => {
                                store.widen(&request, tier, t(now)).await
                            }
                            Decision::Offer {
                                request,
                                interpreter,
                                deadline,
                            } => {
                                let r = store.request(&request).await.unwrap().unwrap();
                                let it = store.interpreter(&interpreter).await.unwrap().unwrap();
                                let mut o = offer(&r, &it, now, 0);
                                o.deadline = deadline;
                                store.open_offer(o, true).await
                            }
                        };
                    }
                }
                Op::Accept(k) if !open.is_empty() => {
                    let o = &open[k % open.len()];
                    let _ = store.accept_offer(&o.id, &o.interpreter, t(now)).await;
                }
                Op::Decline(k) if !open.is_empty() => {
                    let o = &open[k % open.len()];
                    let _ = store
                        .close_offer(&o.id, Outcome::Declined, t(now), &rules)
                        .await;
                }
                Op::Complete(k) if !reqs.is_empty() => {
                    let r = &reqs[k % reqs.len()];
                    let _ = store
                        .finish_request(&r.id, Finish::Complete, t(now), &rules)
                        .await;
                }
                Op::Cancel(k) if !reqs.is_empty() => {
                    let r = &reqs[k % reqs.len()];
                    let _ = store
                        .finish_request(&r.id, Finish::Cancel, t(now), &rules)
                        .await;
                }
                _ => {}
            }
            check(store).await;
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn the_memory_store_keeps_every_invariant_under_random_operations(
        ops in proptest::collection::vec(model::op(), 1..80)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(model::run(&MemoryStore::new(), ops));
    }

}

#[test]
fn the_redis_store_keeps_every_invariant_under_random_operations() {
    use proptest::strategy::Strategy;
    use proptest::test_runner::{Config, TestRunner};
    // One server for every case, stopped when this test ends.
    let (url, _server) = common::redis();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config::with_cases(64));
    let strategy = proptest::collection::vec(model::op(), 1..40).boxed();
    runner
        .run(&strategy, |ops| {
            rt.block_on(async {
                let store = redis_store(&url, "model").await;
                model::run(&*store, ops).await;
            });
            Ok(())
        })
        .unwrap();
}

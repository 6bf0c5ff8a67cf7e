//! Matcher tests: scenarios as data (snapshot in, decisions out) and properties over
//! generated rosters.

use std::collections::{HashMap, HashSet};

use jiff::SignedDuration;
use proptest::prelude::*;

use super::*;
use crate::testing::{t, tag};

fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).unwrap()
}

fn rid(s: &str) -> RequestId {
    RequestId::from_path(s)
}

fn catalogue() -> &'static crate::domain::language::Catalogue {
    static CAT: std::sync::OnceLock<crate::domain::language::Catalogue> =
        std::sync::OnceLock::new();
    CAT.get_or_init(crate::domain::language::Catalogue::embedded)
}

/// An interpreter as the store would give it: skills with their agrupación filled in.
fn free(id: &str, langs: &[(&str, i64)], idle: i64) -> FreeInterpreter {
    let it = crate::domain::roster::Interpreter {
        id: iid(id),
        name: id.into(),
        phone: crate::domain::roster::PhoneNumber::parse("+525550001234").unwrap(),
        languages: langs
            .iter()
            .map(|(l, p)| crate::domain::roster::LanguageSkill {
                tag: tag(l),
                proficiency: Proficiency::new(*p).unwrap(),
                certification: None,
                group: catalogue().group_of(&tag(l)).cloned(),
            })
            .collect(),
        availability: crate::domain::roster::Availability::Available,
        session: None,
        idle_since: t(idle),
        ready_at: None,
        missed_in_row: 0,
        schedule: None,
        created_at: t(0),
        certification: None,
        revision: 1,
    };
    FreeInterpreter::of(&it)
}

fn req(id: &str, lang: &str, priority: Priority, created: i64) -> PendingRequest {
    PendingRequest {
        id: rid(id),
        language: tag(lang),
        group: catalogue().group_of(&tag(lang)).cloned(),
        tier: 0,
        priority,
        created_at: t(created),
        attempts: Vec::new(),
    }
}

/// The plan as short lines: `offer r1 -> ana`, `expire o1`, `give up r2`.
fn check(snap: Snapshot, now: i64, policy: Policy, expect: &[&str]) {
    let plan = decide(&snap, t(now), &policy);
    let got: Vec<String> = plan
        .decisions
        .iter()
        .map(|d| match d {
            Decision::Expire(o) => format!("expire {o}"),
            Decision::GiveUp(r) => format!("give up {r}"),
            Decision::Widen { request, tier } => format!("widen {request} to {tier}"),
            Decision::Offer {
                request,
                interpreter,
                ..
            } => format!("offer {request} -> {interpreter}"),
        })
        .collect();
    assert_eq!(got, expect);
}

fn policy() -> Policy {
    Policy::default()
}

#[test]
fn urgent_goes_before_normal_and_oldest_first_within_a_priority() {
    let snap = Snapshot::new(
        vec![
            req("r-old-normal", "tzo", Priority::Normal, 0),
            req("r-new-urgent", "tzo", Priority::Urgent, 50),
            req("r-old-urgent", "tzo", Priority::Urgent, 10),
        ],
        vec![
            free("ana", &[("tzo", 3)], 0),
            free("beto", &[("tzo", 3)], 5),
        ],
        vec![],
    );
    check(
        snap,
        60,
        policy(),
        &["offer r-old-urgent -> ana", "offer r-new-urgent -> beto"],
    );
}

#[test]
fn higher_proficiency_first_then_the_longest_idle() {
    let snap = Snapshot::new(
        vec![req("r1", "yua", Priority::Normal, 0)],
        vec![
            free("ana", &[("yua", 3)], 0),
            free("beto", &[("yua", 5)], 30),
            free("caro", &[("yua", 5)], 10),
        ],
        vec![],
    );
    check(snap, 60, policy(), &["offer r1 -> caro"]);
}

#[test]
fn nobody_without_the_language_is_offered() {
    let snap = Snapshot::new(
        vec![req("r1", "yua", Priority::Normal, 0)],
        vec![free("ana", &[("tzo", 5)], 0)],
        vec![],
    );
    check(snap, 60, policy(), &[]);
}

#[test]
fn others_are_tried_before_anyone_is_asked_again() {
    let mut r = req("r1", "tzo", Priority::Normal, 0);
    r.attempts.push(Attempt {
        interpreter: iid("ana"),
        count: 1,
        last_closed_at: Some(t(1)),
        open: false,
    });
    let snap = Snapshot::new(
        vec![r],
        vec![
            free("ana", &[("tzo", 5)], 0),
            free("beto", &[("tzo", 2)], 0),
        ],
        vec![],
    );
    check(snap, 100, policy(), &["offer r1 -> beto"]);
}

#[test]
fn a_lone_interpreter_is_asked_again_only_after_the_retry_delay() {
    let mut r = req("r1", "tzo", Priority::Normal, 0);
    r.attempts.push(Attempt {
        interpreter: iid("ana"),
        count: 1,
        last_closed_at: Some(t(40)),
        open: false,
    });
    let snap = Snapshot::new(vec![r], vec![free("ana", &[("tzo", 5)], 0)], vec![]);
    let plan = decide(&snap, t(50), &policy());
    assert!(plan.decisions.is_empty());
    assert_eq!(plan.wake_at, Some(t(70)), "wakes when the retry delay ends");
    check(snap, 70, policy(), &["offer r1 -> ana"]);
}

#[test]
fn sequential_waits_for_the_open_offer_and_parallel_offers_everyone() {
    let mut r = req("r1", "tzo", Priority::Normal, 0);
    r.attempts.push(Attempt {
        interpreter: iid("ana"),
        count: 1,
        last_closed_at: None,
        open: true,
    });
    let offers = vec![OpenOffer {
        id: OfferId::from_path("o1"),
        request: rid("r1"),
        interpreter: iid("ana"),
        deadline: t(100),
    }];
    let roster = vec![
        free("ana", &[("tzo", 5)], 0),
        free("beto", &[("tzo", 4)], 0),
        free("caro", &[("tzo", 3)], 0),
    ];
    let snap = Snapshot::new(vec![r], roster, offers);
    check(snap.clone(), 50, policy(), &[]);
    let parallel = Policy {
        mode: OfferMode::Parallel,
        ..policy()
    };
    check(
        snap,
        50,
        parallel,
        &["offer r1 -> beto", "offer r1 -> caro"],
    );
}

#[test]
fn deadlines_expire_and_long_waits_give_up() {
    let offers = vec![OpenOffer {
        id: OfferId::from_path("o1"),
        request: rid("r1"),
        interpreter: iid("ana"),
        deadline: t(30),
    }];
    let snap = Snapshot::new(
        vec![
            req("r1", "tzo", Priority::Normal, 0),
            req("r2", "yua", Priority::Normal, 0),
        ],
        vec![free("ana", &[("tzo", 5)], 0)],
        offers,
    );
    let p = Policy {
        give_up_after: SignedDuration::from_secs(600),
        ..policy()
    };
    let plan = decide(&snap, t(29), &p);
    assert!(plan.decisions.is_empty());
    assert_eq!(plan.wake_at, Some(t(30)));
    // At the deadline the offer expires; ana is not re-offered in the same pass.
    check(snap.clone(), 30, p.clone(), &["expire o1"]);
    // After the give-up time, a request with nothing open is unfilled.
    check(snap, 600, p, &["expire o1", "give up r1", "give up r2"]);
}

#[test]
fn a_request_kept_past_its_give_up_time_by_an_open_offer_wakes_at_the_deadline() {
    // The offer opened just before the give-up time: until its deadline the request is
    // neither given up nor a reason to wake at once (a wake in the past spins the loop).
    let offers = vec![OpenOffer {
        id: OfferId::from_path("o1"),
        request: rid("r1"),
        interpreter: iid("ana"),
        deadline: t(620),
    }];
    let snap = Snapshot::new(vec![req("r1", "tzo", Priority::Normal, 0)], vec![], offers);
    let p = Policy {
        give_up_after: SignedDuration::from_secs(600),
        ..policy()
    };
    let plan = decide(&snap, t(610), &p);
    assert!(plan.decisions.is_empty(), "{:?}", plan.decisions);
    assert_eq!(plan.wake_at, Some(t(620)));
}

#[test]
fn an_interpreter_holding_an_offer_the_snapshot_does_not_carry_is_not_asked() {
    // A focused snapshot leaves out offers of other languages: the store marks who holds one.
    let mut ana = free("ana", &[("tzo", 5), ("tzh", 5)], 0);
    ana.holds_offer = true;
    let beto = free("beto", &[("tzo", 3)], 0);
    let snap = Snapshot::new(
        vec![req("r1", "tzo", Priority::Normal, 0)],
        vec![ana, beto],
        vec![],
    );
    check(snap, 10, policy(), &["offer r1 -> beto"]);
}

#[test]
fn wrap_up_time_keeps_an_interpreter_out_until_it_ends() {
    let mut ana = free("ana", &[("tzo", 5)], 0);
    ana.ready_at = Some(t(20));
    let snap = Snapshot::new(
        vec![req("r1", "tzo", Priority::Normal, 0)],
        vec![ana],
        vec![],
    );
    let plan = decide(&snap, t(10), &policy());
    assert!(plan.decisions.is_empty());
    assert_eq!(plan.wake_at, Some(t(20)));
    check(snap, 20, policy(), &["offer r1 -> ana"]);
}

// --- Properties ------------------------------------------------------------------------------

const LANGS: [&str; 4] = ["tzo", "yua", "nah", "zap"];

prop_compose! {
    fn arb_interpreter(i: usize)(
        langs in proptest::sample::subsequence(LANGS.to_vec(), 1..=3),
        profs in proptest::collection::vec(1i64..=5, 3),
        idle in 0i64..100,
        wrap in proptest::option::of(0i64..200),
    ) -> FreeInterpreter {
        let pairs: Vec<(&str, i64)> = langs.iter().zip(profs).map(|(l, p)| (*l, p)).collect();
        let mut it = free(&format!("i{i}"), &pairs, idle);
        it.ready_at = wrap.map(t);
        it
    }
}

fn arb_snapshot() -> impl Strategy<
    Value = (
        Snapshot,
        Vec<PendingRequest>,
        Vec<FreeInterpreter>,
        Vec<OpenOffer>,
    ),
> {
    (1usize..12, 0usize..15).prop_flat_map(|(n_int, n_req)| {
        let its: Vec<_> = (0..n_int).map(arb_interpreter).collect();
        let reqs = proptest::collection::vec(
            (
                proptest::sample::select(LANGS.to_vec()),
                any::<bool>(),
                0i64..100,
            ),
            n_req,
        );
        // Some interpreters hold an open offer of some request.
        let offers = proptest::collection::vec((0..n_int, 0..n_req.max(1), 50i64..150), 0..4);
        (its, reqs, offers).prop_map(|(its, reqs, offer_specs)| {
            let requests: Vec<PendingRequest> = reqs
                .into_iter()
                .enumerate()
                .map(|(i, (l, urgent, c))| {
                    let p = if urgent {
                        Priority::Urgent
                    } else {
                        Priority::Normal
                    };
                    req(&format!("r{i}"), l, p, c)
                })
                .collect();
            let mut offers = Vec::new();
            let mut holders = HashSet::new();
            for (k, (i, r, deadline)) in offer_specs.into_iter().enumerate() {
                if r < requests.len() && holders.insert(i) {
                    offers.push(OpenOffer {
                        id: OfferId::from_path(&format!("o{k}")),
                        request: requests[r].id.clone(),
                        interpreter: its[i].id.clone(),
                        deadline: t(deadline),
                    });
                }
            }
            let mut requests = requests;
            for o in &offers {
                let r = requests.iter_mut().find(|r| r.id == o.request).unwrap();
                r.attempts.push(Attempt {
                    interpreter: o.interpreter.clone(),
                    count: 1,
                    last_closed_at: None,
                    open: true,
                });
            }
            let snap = Snapshot::new(requests.clone(), its.clone(), offers.clone());
            (snap, requests, its, offers)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn offers_respect_language_readiness_and_one_open_offer_per_interpreter(
        (snap, requests, its, offers) in arb_snapshot(),
        now in 0i64..200,
        parallel in any::<bool>(),
    ) {
        let p = Policy {
            mode: if parallel { OfferMode::Parallel } else { OfferMode::Sequential },
            ..Policy::default()
        };
        let plan = decide(&snap, t(now), &p);
        let by_id: HashMap<_, _> = its.iter().map(|i| (i.id.clone(), i)).collect();
        let req_by_id: HashMap<_, _> = requests.iter().map(|r| (r.id.clone(), r)).collect();
        let mut offered_now: HashMap<InterpreterId, u32> = HashMap::new();
        let mut per_request: HashMap<RequestId, u32> = HashMap::new();
        for d in &plan.decisions {
            if let Decision::Offer { request, interpreter, deadline } = d {
                let it = by_id[interpreter];
                let r = req_by_id[request];
                // Never an interpreter who lacks the language.
                prop_assert!(it.languages.iter().any(|(l, _)| *l == r.language));
                // Never one still in wrap-up.
                prop_assert!(it.ready_at.is_none_or(|w| w <= t(now)));
                // Never one who holds an open offer (expired ones included, for this pass).
                prop_assert!(!offers.iter().any(|o| &o.interpreter == interpreter));
                prop_assert!(*deadline > t(now));
                *offered_now.entry(interpreter.clone()).or_default() += 1;
                *per_request.entry(request.clone()).or_default() += 1;
            }
        }
        // Never two offers to one interpreter.
        prop_assert!(offered_now.values().all(|&n| n == 1));
        if !parallel {
            // Sequential: one offer per request, none to a request with an open offer.
            for (r, n) in &per_request {
                prop_assert_eq!(*n, 1);
                let still_open = offers.iter().any(|o| &o.request == r && o.deadline > t(now));
                prop_assert!(!still_open);
            }
        }
    }

    #[test]
    fn priority_and_age_order_hold(
        (_, mut requests, its, _) in arb_snapshot(),
        now in 0i64..200,
    ) {
        // With no offers open or made before, if a request got an offer, every earlier
        // request of the same language got one too.
        for r in &mut requests {
            r.attempts.clear();
        }
        let snap = Snapshot::new(requests.clone(), its, vec![]);
        let plan = decide(&snap, t(now), &Policy::default());
        let order = |r: &PendingRequest| (r.priority, r.created_at, r.id.clone());
        let served: HashMap<RequestId, InterpreterId> = plan.decisions.iter().filter_map(|d| match d {
            Decision::Offer { request, interpreter, .. } => Some((request.clone(), interpreter.clone())),
            _ => None,
        }).collect();
        for (r_id, it_id) in &served {
            let r = requests.iter().find(|x| &x.id == r_id).unwrap();
            for earlier in requests.iter().filter(|x| order(x) < order(r) && x.language == r.language) {
                prop_assert!(served.contains_key(&earlier.id),
                    "{} was served by {} before earlier {}", r_id, it_id, earlier.id);
            }
        }
    }
}

/// Isthmus Zapotec (a variant), the coordinator listing the Isthmus mountain variant as
/// intelligible with it; interpreters at every level.
fn zapotec_snapshot() -> (Snapshot, Policy) {
    let istmo = "zap-x-planicie-costera";
    let montana = "zap-x-montana-istmo-alto";
    let mut routing = crate::logic::routing::Routing::default();
    routing.intelligible.insert(tag(istmo), vec![tag(montana)]);
    let policy = Policy {
        routing: std::sync::Arc::new(routing),
        ..Policy::default()
    };
    let snap = Snapshot::new(
        vec![req("r1", istmo, Priority::Normal, 0)],
        vec![
            free("sierra", &[("zap-x-sierra-sur-noroeste-bajo", 5)], 1),
            free("group", &[("zap", 5)], 2),
            free("montana", &[(montana, 3)], 3),
            free("maya", &[("yua", 5)], 0),
        ],
        vec![],
    );
    (snap, policy)
}

#[test]
fn a_variant_nobody_speaks_waits_its_first_tier_then_widens_to_intelligible_variants() {
    let (snap, p) = zapotec_snapshot();
    // Nobody speaks the variant itself: nothing is offered in the first 30 s, and the plan
    // wakes when the tier widens.
    let plan = decide(&snap, t(10), &p);
    assert!(plan.decisions.is_empty(), "{:?}", plan.decisions);
    assert_eq!(plan.wake_at, Some(t(30)));
    // Then the listed intelligible variant, before anyone else of the agrupación.
    check(
        snap.clone(),
        30,
        p.clone(),
        &["widen r1 to 1", "offer r1 -> montana"],
    );
    // After 90 s the whole agrupación; never the Maya interpreter.
    let plan = decide(&snap, t(90), &p);
    assert!(plan.decisions.contains(&Decision::Widen {
        request: rid("r1"),
        tier: 2
    }));
    let mut parallel = p.clone();
    parallel.mode = OfferMode::Parallel;
    check(
        snap,
        90,
        parallel,
        &[
            "widen r1 to 2",
            "offer r1 -> montana",
            "offer r1 -> group",
            "offer r1 -> sierra",
        ],
    );
}

#[test]
fn an_exact_interpreter_goes_first_and_a_widened_request_is_not_widened_again() {
    let (mut snap, p) = zapotec_snapshot();
    let exact = free("istmo", &[("zap-x-planicie-costera", 2)], 9);
    let mut requests = snap.requests().to_vec();
    requests[0].tier = 2;
    let mut interpreters: Vec<FreeInterpreter> = snap.free_interpreters().cloned().collect();
    interpreters.push(exact);
    snap = Snapshot::new(requests, interpreters, vec![]);
    // Even at the widest tier, the interpreter of the exact variant is asked first, though
    // less proficient and less idle than the others.
    check(snap, 200, p, &["offer r1 -> istmo"]);
}

#[test]
fn a_request_for_a_whole_agrupacion_reaches_its_variants_at_once() {
    let snap = Snapshot::new(
        vec![req("r1", "zap", Priority::Normal, 0)],
        vec![
            free("sierra", &[("zap-x-sierra-sur-noroeste-bajo", 4)], 1),
            free("maya", &[("yua", 5)], 0),
        ],
        vec![],
    );
    check(snap, 0, policy(), &["offer r1 -> sierra"]);
}

//! The Asterisk bridge, end to end: puente against the ARI test double (`tests/common/ari.rs`,
//! real HTTP and WebSocket), every flow of the recordings, each ending with nothing of
//! puente's left in the PBX.

use std::time::Duration;

use puente::domain::ids::InterpreterId;
use puente::domain::offer::Outcome;
use serde_json::Value;

use crate::common::ari::{AriDouble, Phone, CALLER_NUMBER};
use crate::helpers::{spawn_app, Events, TestApp, COORDINATOR, OPERATOR};

async fn start(extra: &[(&str, &str)]) -> (AriDouble, TestApp) {
    start_on(AriDouble::start().await, extra).await
}

async fn start_on(ari: AriDouble, extra: &[(&str, &str)]) -> (AriDouble, TestApp) {
    let mut vars: Vec<(&str, String)> = ari.vars();
    vars.push(("PUENTE_OFFER_TIMEOUT_SECS", "2".into()));
    for (k, v) in extra {
        vars.retain(|(k2, _)| k2 != k);
        vars.push((k, v.to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    ari.until(5, "puente to connect", |a| a.connected() == 1)
        .await;
    (ari, app)
}

/// The phone request a caller became.
async fn caller_request(app: &TestApp) -> Value {
    app.wait_for(5, || async {
        let all = app.get("/api/v1/requests", OPERATOR).await.expect(200);
        all["requests"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["channel"] == "phone").cloned())
    })
    .await
    .expect("the caller became a request")
}

/// A caller calls with `args`; returns their channel and the request they became.
async fn call_in(ari: &AriDouble, app: &TestApp, args: &[&str]) -> (String, String) {
    let caller = ari.caller_arrives(args);
    let id = caller_request(app).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (caller, id)
}

/// Wait until the first offer made to `who` closed as `outcome`.
async fn first_offer_closed(app: &TestApp, who: &str, outcome: Outcome) {
    app.wait_for(10, || async {
        let o = outcomes(app, who).await;
        (o.first() == Some(&Some(outcome))).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{who}'s first offer never {outcome:?}"));
}

async fn wait_state(app: &TestApp, id: &str, state: &str) -> Value {
    match app
        .wait_for(10, || async {
            let r = app.request(id).await;
            (r["state"] == state).then_some(r)
        })
        .await
    {
        Some(r) => r,
        None => panic!("request never {state}: {}", app.request(id).await),
    }
}

/// How every offer made to `id` so far ended.
async fn outcomes(app: &TestApp, id: &str) -> Vec<Option<Outcome>> {
    let service = &app.app.as_ref().unwrap().service;
    let id = InterpreterId::parse(id).unwrap();
    let who = service.authenticate(Some(COORDINATOR)).await.unwrap();
    let coordinator = who.coordinator().unwrap();
    let mut offers = service
        .offer_history(&coordinator.for_interpreter(&id))
        .await
        .unwrap();
    offers.sort_by_key(|o| o.created_at);
    offers.into_iter().map(|o| o.outcome).collect()
}

async fn nothing_left(ari: &AriDouble) {
    ari.until(5, "no channel or bridge of puente's left", |a| {
        a.channels_in_stasis().is_empty() && a.bridges().is_empty()
    })
    .await;
}

#[tokio::test]
async fn busy_no_answer_and_decline_close_offers_then_1_bridges_a_three_way_call() {
    let (ari, app) = start(&[("PUENTE_ARI_OPERATOR_ENDPOINT", "PJSIP/operator")]).await;
    ari.phone("PJSIP/ana", Phone::Busy);
    ari.phone("PJSIP/ben", Phone::NoAnswer);
    ari.phone("PJSIP/cruz", Phone::Declines);
    ari.phone("PJSIP/dora", Phone::accepts());
    ari.phone("PJSIP/operator", Phone::accepts());
    let mut tokens = Vec::new();
    for id in ["ana", "ben", "cruz"] {
        tokens.push((id, app.add_interpreter(id, &[("tzo", 5)]).await));
    }
    let dora = app.add_interpreter("dora", &[("tzo", 5)]).await;
    app.set_availability("dora", &dora, "offline")
        .await
        .expect(200);

    let mut events = Events::open(&app, COORDINATOR).await;

    let caller = ari.caller_arrives(&["tsotsil"]);
    let req = caller_request(&app).await;
    let id = req["id"].as_str().unwrap().to_string();
    assert_eq!(req["language"]["tag"], "tzo");
    assert_eq!(req["priority"], "normal");
    // The caller waits answered, alone in a mixing bridge.
    ari.until(5, "the caller in a bridge", |a| {
        a.bridges().iter().any(|(_, chans)| chans.len() == 1)
    })
    .await;

    // Each interpreter's phone rings in turn; each way of not taking it closes the offer.
    for who in ["ana", "ben", "cruz"] {
        events
            .until("offer", 15, |o| {
                o["interpreter_id"] == who && o["state"] != "open"
            })
            .await;
    }
    let mut closed = Vec::new();
    for who in ["ana", "ben", "cruz"] {
        closed.push(outcomes(&app, who).await.first().copied().flatten());
    }
    assert_eq!(
        closed,
        vec![
            Some(Outcome::Declined), // busy
            Some(Outcome::Expired),  // no answer
            Some(Outcome::Declined), // pressed 2
        ]
    );
    for (who, token) in &tokens {
        app.set_availability(who, token, "offline")
            .await
            .expect(200);
    }

    // Dora answers, hears the prompt and presses 1: she joins the caller, then the operator.
    app.set_availability("dora", &dora, "available")
        .await
        .expect(200);
    let connected = wait_state(&app, &id, "connected").await;
    assert_eq!(connected["interpreter"]["id"], "dora");
    ari.until(5, "a three-way bridge", |a| {
        a.bridges().iter().any(|(_, chans)| chans.len() == 3)
    })
    .await;
    let r = app.request(&id).await;
    assert!(r["bridged_at"].is_string(), "{r}");
    assert!(ari
        .log()
        .iter()
        .any(|l| l.contains("/play") && l.contains("sound:puente-offer") && l.contains("es_MX")));

    // The interpreter never learns the caller's number, on any path.
    let seen = [
        app.get(&format!("/api/v1/requests/{id}"), &dora)
            .await
            .expect(200),
        app.get("/api/v1/interpreters/dora/offers", &dora)
            .await
            .expect(200),
        app.get("/api/v1/me", &dora).await.expect(200),
    ];
    for body in seen {
        assert!(!body.to_string().contains(CALLER_NUMBER), "{body}");
        assert!(!body.to_string().contains(&CALLER_NUMBER[3..]), "{body}");
    }

    // The caller hangs up: the request is completed and puente removes everything.
    ari.hang_up(&caller);
    wait_state(&app, &id, "completed").await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn the_interpreter_hanging_up_completes_the_request_and_ends_the_call() {
    let (ari, app) = start(&[]).await;
    ari.phone(
        "PJSIP/dora",
        Phone::AcceptsThenHangsUp {
            after: Duration::from_millis(300),
        },
    );
    app.add_interpreter("dora", &[("tzo", 4)]).await;
    let (caller, id) = call_in(&ari, &app, &["tzo"]).await;
    wait_state(&app, &id, "connected").await;
    wait_state(&app, &id, "completed").await;
    nothing_left(&ari).await;
    // puente hung the caller up (the PBX did not).
    assert!(ari
        .log()
        .iter()
        .any(|l| l.starts_with(&format!("DELETE /channels/{caller} -> 204"))));
    app.shutdown().await;
}

/// Dora (who presses 1) on a call with a Tsotsil caller: the double, puente, the caller's
/// channel and the request.
async fn dora_on_a_call() -> (AriDouble, TestApp, String, String) {
    let (ari, app) = start(&[]).await;
    ari.phone("PJSIP/dora", Phone::accepts());
    app.add_interpreter("dora", &[("tzo", 4)]).await;
    let (caller, id) = call_in(&ari, &app, &["tzo"]).await;
    wait_state(&app, &id, "connected").await;
    ari.until(5, "the interpreter in the bridge", |a| {
        a.bridges().iter().any(|(_, chans)| chans.len() == 2)
    })
    .await;
    (ari, app, caller, id)
}

#[tokio::test]
async fn a_dropped_event_connection_mid_call_is_resynchronised() {
    let (ari, app, caller, id) = dora_on_a_call().await;

    // Asterisk goes away; the caller hangs up meanwhile (puente hears nothing of it).
    ari.drop_connections(true);
    ari.hang_up(&caller);
    // The hang-up went nowhere (the connection was closed first): nothing changed.
    assert_eq!(app.request(&id).await["state"], "connected");

    // Back: puente reconnects, asks what is left, and finishes the call.
    ari.accept_connections();
    ari.until(10, "puente to reconnect", |a| a.connected() == 1)
        .await;
    wait_state(&app, &id, "completed").await;
    nothing_left(&ari).await;
    // Once at start (leftovers of an earlier run), once on reconnecting.
    assert_eq!(
        ari.log().iter().filter(|l| *l == "GET /channels").count(),
        2
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_bridge_lost_while_disconnected_is_rebuilt_with_everyone_in_it() {
    let (ari, app, caller, id) = dora_on_a_call().await;

    ari.drop_connections(true);
    ari.destroy_bridges();
    ari.accept_connections();
    ari.until(5, "a new bridge with caller and interpreter", |a| {
        a.bridges().iter().any(|(_, chans)| chans.len() == 2)
    })
    .await;
    assert_eq!(app.request(&id).await["state"], "connected");
    assert_eq!(ari.log().iter().filter(|l| *l == "GET /bridges").count(), 2);

    ari.hang_up(&caller);
    wait_state(&app, &id, "completed").await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_caller_hanging_up_while_the_phone_rings_cancels_and_stops_the_ringing() {
    let (ari, app) = start(&[("PUENTE_OFFER_TIMEOUT_SECS", "30")]).await;
    ari.phone("PJSIP/ben", Phone::NoAnswer);
    app.add_interpreter("ben", &[("tzo", 4)]).await;
    let caller = ari.caller_arrives(&["tzo", "urgent"]);
    let req = caller_request(&app).await;
    assert_eq!(req["priority"], "urgent");
    let id = req["id"].as_str().unwrap().to_string();
    ari.until(5, "ben's phone ringing", |a| {
        a.channels_in_stasis()
            .iter()
            .any(|c| c.starts_with("PJSIP/ben"))
    })
    .await;
    ari.hang_up(&caller);
    wait_state(&app, &id, "cancelled").await;
    nothing_left(&ari).await;
    assert_eq!(outcomes(&app, "ben").await, vec![Some(Outcome::Withdrawn)]);
    app.shutdown().await;
}

#[tokio::test]
async fn silence_lets_the_offer_lapse_and_hangs_the_phone_up() {
    let (ari, app) = start(&[]).await;
    ari.phone("PJSIP/cruz", Phone::Silent);
    let cruz = app.add_interpreter("cruz", &[("tzo", 4)]).await;
    let (caller, id) = call_in(&ari, &app, &["tzo"]).await;
    first_offer_closed(&app, "cruz", Outcome::Expired).await;
    // The phone is hung up; the caller still waits, answered, in the bridge.
    app.set_availability("cruz", &cruz, "offline")
        .await
        .expect(200);
    ari.until(5, "cruz's phone hung up", |a| {
        a.channels_in_stasis()
            .iter()
            .all(|c| !c.starts_with("PJSIP/cruz"))
    })
    .await;
    assert_eq!(app.request(&id).await["state"], "queued");
    assert_eq!(ari.bridges().len(), 1);
    ari.hang_up(&caller);
    wait_state(&app, &id, "cancelled").await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn busy_on_a_local_channel_reads_the_dial_status_not_the_cause() {
    let (ari, app) = start(&[("PUENTE_ARI_ENDPOINT", "Local/{id}@interpreters")]).await;
    ari.phone("Local/ana@interpreters", Phone::Busy);
    app.add_interpreter("ana", &[("tzo", 4)]).await;
    let (caller, id) = call_in(&ari, &app, &["tzo"]).await;
    first_offer_closed(&app, "ana", Outcome::Declined).await;
    ari.hang_up(&caller);
    wait_state(&app, &id, "cancelled").await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_language_puente_cannot_resolve_goes_back_to_the_dialplan() {
    let (ari, app) = start(&[]).await;
    let caller = ari.caller_arrives(&["klingon"]);
    ari.until(5, "the caller handed back", |a| {
        a.handed_back().contains(&caller)
    })
    .await;
    let all = app.get("/api/v1/requests", OPERATOR).await.expect(200);
    assert_eq!(all["requests"].as_array().unwrap().len(), 0);
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn an_operator_cancelling_gives_the_caller_back_to_the_dialplan() {
    let (ari, app) = start(&[]).await;
    let (caller, id) = call_in(&ari, &app, &["maya"]).await;
    ari.until(5, "the caller in a bridge", |a| a.bridges().len() == 1)
        .await;
    app.post(
        &format!("/api/v1/requests/{id}/cancel"),
        OPERATOR,
        serde_json::json!({}),
    )
    .await
    .expect(200);
    ari.until(5, "the caller handed back", |a| {
        a.handed_back().contains(&caller)
    })
    .await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

/// puente crashed mid-call: when it starts again, the caller goes back to the dialplan and
/// nothing of the earlier run stays in Asterisk.
#[tokio::test]
async fn what_a_crashed_run_left_is_cleared_and_the_caller_handed_back() {
    let ari = AriDouble::start().await;
    let caller = ari.left_behind();
    let (ari, app) = start_on(ari, &[]).await;
    ari.until(5, "the caller handed back", |a| {
        a.handed_back().contains(&caller)
    })
    .await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn pressing_1_during_a_long_prompt_stops_it_and_joins_at_once() {
    let (ari, app) = start(&[("PUENTE_OFFER_TIMEOUT_SECS", "20")]).await;
    // A nine-second prompt; the interpreter presses 1 a moment after answering. Asterisk
    // holds addChannel until the channel's playback is over, as the double does.
    ari.prompt_length(Duration::from_secs(9));
    ari.phone("PJSIP/dora", Phone::accepts());
    app.add_interpreter("dora", &[("tzo", 4)]).await;
    let (caller, id) = call_in(&ari, &app, &["tzo"]).await;
    wait_state(&app, &id, "connected").await;
    ari.until(1, "the interpreter in the bridge within a second", |a| {
        a.bridges().iter().any(|(_, chans)| chans.len() == 2)
    })
    .await;
    assert!(
        ari.log()
            .iter()
            .any(|l| l.starts_with("DELETE /playbacks/")),
        "{:?}",
        ari.log()
    );
    ari.hang_up(&caller);
    wait_state(&app, &id, "completed").await;
    nothing_left(&ari).await;
    app.shutdown().await;
}

#[tokio::test]
async fn one_calls_slow_request_to_the_pbx_does_not_hold_up_another_call() {
    let (ari, app) = start(&[]).await;
    ari.delay_next_answer(Duration::from_secs(5));
    let slow = ari.caller_arrives(&["tzo"]);
    let answering = format!("POST /channels/{slow}/answer");
    ari.until(5, "puente to answer the first caller", |a| {
        a.log().contains(&answering)
    })
    .await;
    // While Asterisk takes its time over the first caller, a second one calls.
    let quick = ari.caller_arrives(&["yua"]);
    let held = format!("/addChannel {{\"channel\": \"{quick}\"}}");
    ari.until(1, "the second caller held at once", |a| {
        a.log().iter().any(|l| l.ends_with(&held))
    })
    .await;
    let all = app.get("/api/v1/requests", OPERATOR).await.expect(200);
    assert_eq!(all["requests"].as_array().unwrap().len(), 2, "{all}");
    ari.hang_up(&slow);
    ari.hang_up(&quick);
    nothing_left(&ari).await;
    app.shutdown().await;
}

//! The whole loop: request → offer → accept → connected → complete → free again.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn an_operator_request_is_offered_accepted_connected_and_completed() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;

    let req = app.post_request("tsotsil", "urgent").await;
    assert_eq!(req["language"]["tag"], "tzo");
    let id = req["id"].as_str().unwrap();

    let offer = app.wait_offer("ana", &ana, 1).await;
    assert_eq!(offer["request_id"], id);
    assert_eq!(offer["language"]["tag"], "tzo");
    assert!(offer["expires_at"].as_str().is_some());
    assert_eq!(app.request(id).await["state"], "offered");

    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let r = app.request(id).await;
    assert_eq!(r["state"], "connected");
    assert_eq!(r["interpreter"]["id"], "ana");
    let me = app.get("/api/v1/interpreters/ana", &ana).await.expect(200);
    assert_eq!(me["status"], "connected");

    app.post(
        &format!("/api/v1/requests/{id}/complete"),
        OPERATOR,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(app.request(id).await["state"], "completed");
    let me = app.get("/api/v1/interpreters/ana", &ana).await.expect(200);
    assert_eq!(me["status"], "available");
    app.shutdown().await;
}

#[tokio::test]
async fn the_connected_interpreter_may_complete_and_gets_the_next_waiting_request() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("yua", 4)]).await;
    let first = app.post_request("maya", "normal").await;
    let second = app.post_request("yua", "normal").await;
    let offer = app.wait_offer("ana", &ana, 1).await;
    assert_eq!(offer["request_id"], first["id"]);
    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    assert_eq!(
        app.request(second["id"].as_str().unwrap()).await["state"],
        "queued"
    );

    let path = format!(
        "/api/v1/requests/{}/complete",
        first["id"].as_str().unwrap()
    );
    app.post(&path, &ana, json!({})).await.expect(200);
    let next = app.wait_offer("ana", &ana, 1).await;
    assert_eq!(next["request_id"], second["id"]);
    app.shutdown().await;
}

#[tokio::test]
async fn urgent_requests_are_offered_before_older_normal_ones() {
    let app = spawn_app(&[]).await;
    let normal = app.post_request("nahuatl", "normal").await;
    let urgent = app.post_request("nahuatl", "urgent").await;
    let queued = app.request(normal["id"].as_str().unwrap()).await;
    assert_eq!(
        queued["queue"]["position"], 2,
        "the urgent one goes first: {queued}"
    );
    let beto = app.add_interpreter("beto", &[("nah", 3)]).await;
    let offer = app.wait_offer("beto", &beto, 1).await;
    assert_eq!(offer["request_id"], urgent["id"]);
    app.shutdown().await;
}

/// Wait until matching has looked at every request made so far, instead of sleeping: a
/// probe request, made now for a probe interpreter nobody else can take, is offered by
/// a pass that saw every earlier request too (a pass reads every waiting request).
async fn matching_passed(app: &crate::helpers::TestApp) {
    let probe = app.add_interpreter("probe", &[("yua", 5)]).await;
    app.post_request("yua", "urgent").await;
    app.wait_offer("probe", &probe, 1).await;
}

#[tokio::test]
async fn an_interpreter_who_becomes_available_is_offered_a_waiting_request() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("zap", 5)]).await;
    app.set_availability("ana", &ana, "offline")
        .await
        .expect(200);
    let req = app.post_request("zapoteco", "normal").await;
    matching_passed(&app).await;
    assert!(
        app.offers("ana", &ana).await.is_empty(),
        "offline interpreters get nothing"
    );
    assert_eq!(
        app.request(req["id"].as_str().unwrap()).await["state"],
        "queued"
    );

    app.set_availability("ana", &ana, "available")
        .await
        .expect(200);
    let offer = app.wait_offer("ana", &ana, 1).await;
    assert_eq!(offer["request_id"], req["id"]);
    app.shutdown().await;
}

#[tokio::test]
async fn going_offline_closes_open_offers_at_once_and_requeues() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let req = app.post_request("tzo", "normal").await;
    let id = req["id"].as_str().unwrap();
    let offer = app.wait_offer("ana", &ana, 1).await;
    let reply = app
        .set_availability("ana", &ana, "offline")
        .await
        .expect(200);
    assert_eq!(reply["status"], "offline");
    assert!(app.offers("ana", &ana).await.is_empty());
    assert_eq!(app.request(id).await["state"], "queued");
    let late = app.accept(offer["id"].as_str().unwrap(), &ana).await;
    assert_eq!(late.status, 409);
    assert_eq!(late.code(), "offer_closed");
    app.shutdown().await;
}

#[tokio::test]
async fn a_decline_moves_the_request_on_to_the_next_interpreter() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let beto = app.add_interpreter("beto", &[("tzo", 3)]).await;
    let req = app.post_request("tsotsil", "normal").await;
    let first = app.wait_offer("ana", &ana, 1).await;
    assert!(
        app.offers("beto", &beto).await.is_empty(),
        "sequential: one at a time"
    );
    app.decline(first["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let second = app.wait_offer("beto", &beto, 1).await;
    assert_eq!(second["request_id"], req["id"]);
    app.accept(second["id"].as_str().unwrap(), &beto)
        .await
        .expect(200);
    assert_eq!(
        app.request(req["id"].as_str().unwrap()).await["interpreter"]["id"],
        "beto"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_offer_expires_and_is_offered_again() {
    let app = spawn_app(&[("PUENTE_OFFER_TIMEOUT_SECS", "1")]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let req = app.post_request("tzo", "normal").await;
    let id = req["id"].as_str().unwrap();
    let first = app.wait_offer("ana", &ana, 1).await;
    // After the deadline the offer is gone and cannot be accepted.
    app.wait_for(3, || async {
        let open = app.offers("ana", &ana).await;
        (open.first().map(|o| o["id"].clone()) != Some(first["id"].clone())).then_some(())
    })
    .await
    .expect("the offer closed");
    let late = app.accept(first["id"].as_str().unwrap(), &ana).await;
    assert_eq!(late.status, 409);
    // With nobody else, the same interpreter is asked again later.
    let again = app.wait_offer("ana", &ana, 4).await;
    assert_ne!(again["id"], first["id"]);
    assert_eq!(again["request_id"], id);
    app.shutdown().await;
}

#[tokio::test]
async fn parallel_offers_go_to_everyone_and_the_first_accept_wins() {
    let app = spawn_app(&[("PUENTE_OFFER_POLICY", "parallel")]).await;
    let ana = app.add_interpreter("ana", &[("und-mixteco", 5)]).await;
    let beto = app.add_interpreter("beto", &[("und-mixteco", 4)]).await;
    let req = app.post_request("mixteco", "urgent").await;
    let a = app.wait_offer("ana", &ana, 1).await;
    let b = app.wait_offer("beto", &beto, 1).await;
    app.accept(b["id"].as_str().unwrap(), &beto)
        .await
        .expect(200);
    let lost = app.accept(a["id"].as_str().unwrap(), &ana).await;
    assert_eq!(lost.status, 409);
    assert_eq!(lost.code(), "offer_closed");
    let r = app.request(req["id"].as_str().unwrap()).await;
    assert_eq!(r["state"], "connected");
    assert_eq!(r["interpreter"]["id"], "beto");
    app.shutdown().await;
}

#[tokio::test]
async fn a_connected_interpreter_is_not_offered_anything_else() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5), ("tzh", 4)]).await;
    app.post_request("tzo", "normal").await;
    let offer = app.wait_offer("ana", &ana, 1).await;
    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let other = app.post_request("tseltal", "urgent").await;
    matching_passed(&app).await;
    assert!(app.offers("ana", &ana).await.is_empty());
    assert_eq!(
        app.request(other["id"].as_str().unwrap()).await["state"],
        "queued"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn cancelling_withdraws_the_offer_and_lists_filter_by_state() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("hch", 5)]).await;
    let req = app.post_request("huichol", "normal").await;
    let id = req["id"].as_str().unwrap();
    let offer = app.wait_offer("ana", &ana, 1).await;
    app.post(
        &format!("/api/v1/requests/{id}/cancel"),
        OPERATOR,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(app.request(id).await["state"], "cancelled");
    assert!(app.offers("ana", &ana).await.is_empty());
    assert_eq!(
        app.accept(offer["id"].as_str().unwrap(), &ana).await.status,
        409
    );

    let other = app.post_request("wixarika", "normal").await;
    let all = app.get("/api/v1/requests", OPERATOR).await.expect(200);
    let ids: Vec<_> = all["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![other["id"].clone(), req["id"].clone()],
        "most recent first"
    );
    let cancelled = app
        .get("/api/v1/requests?state=cancelled", COORDINATOR)
        .await
        .expect(200);
    assert_eq!(cancelled["requests"].as_array().unwrap().len(), 1);
    assert_eq!(cancelled["requests"][0]["id"], req["id"]);
    app.shutdown().await;
}

/// The ids of a listing's page, and its cursor to the next.
fn page_of(v: &Value) -> (Vec<String>, Option<String>) {
    let ids = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    (ids, v["next"].as_str().map(str::to_string))
}

#[tokio::test]
async fn request_listings_page_with_a_cursor_and_filter_by_states_and_time() {
    let app = spawn_app(&[]).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(
            app.post_request("tzo", "normal").await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let cancel = &made[1];
    app.post(
        &format!("/api/v1/requests/{cancel}/cancel"),
        OPERATOR,
        json!({}),
    )
    .await
    .expect(200);
    // Pages of two, newest first, each going on from the last.
    let mut seen = Vec::new();
    let mut path = "/api/v1/requests?limit=2".to_string();
    loop {
        let (ids, next) = page_of(&app.get(&path, OPERATOR).await.expect(200));
        assert!(ids.len() <= 2);
        seen.extend(ids);
        match next {
            Some(c) => path = format!("/api/v1/requests?limit=2&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    // Several states at once.
    let v = app
        .get(
            "/api/v1/requests?state=cancelled,queued&limit=1000",
            COORDINATOR,
        )
        .await
        .expect(200);
    assert_eq!(page_of(&v), (newest_first.clone(), None));
    let (cancelled, _) = page_of(
        &app.get("/api/v1/requests?state=cancelled", OPERATOR)
            .await
            .expect(200),
    );
    assert_eq!(cancelled, vec![cancel.clone()]);
    // A time range: nothing was created before the start of the test, everything before
    // a minute from now.
    let now = jiff::Timestamp::now();
    let later = now + jiff::SignedDuration::from_mins(1);
    let v = app
        .get(&format!("/api/v1/requests?until={later}"), OPERATOR)
        .await
        .expect(200);
    assert_eq!(page_of(&v).0.len(), 5);
    let v = app
        .get(&format!("/api/v1/requests?since={later}"), OPERATOR)
        .await
        .expect(200);
    assert_eq!(page_of(&v), (vec![], None));
    // What cannot be a listing is a 400 that says why, in Spanish first.
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=diez",
        "cursor=nada",
        "since=ayer",
        "until=2026-13-01",
        "state=queued,perdida",
    ] {
        let r = app.get(&format!("/api/v1/requests?{bad}"), OPERATOR).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.code(), "invalid_query", "{bad}");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("limit")
                || message.contains("cursor")
                || message.contains("RFC 3339")
                || message.contains("consulta"),
            "{bad}: {message}"
        );
        // (A state's refusal names the choices in English still: see `Named::refusal`.)
        if !bad.starts_with("state") {
            assert!(!message.contains(" is "), "{bad}: English in {message}");
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn three_missed_offers_in_a_row_set_an_interpreter_offline() {
    let app = spawn_app(&[
        ("PUENTE_OFFER_TIMEOUT_SECS", "1"),
        ("PUENTE_RETRY_AFTER_SECS", "0"),
    ])
    .await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    // Her console is open: the offers reach her on its live stream.
    let mut console = Events::open(&app, &ana).await;
    console.until("ready", 2, |_| true).await;
    app.post_request("tzo", "normal").await;
    let me = app
        .wait_for(8, || async {
            let me = app.get("/api/v1/interpreters/ana", &ana).await.expect(200);
            (me["status"] == "offline").then_some(me)
        })
        .await
        .expect("ana was set offline after missing three offers");
    assert_eq!(me["availability"], "offline");
    app.shutdown().await;
}

/// An offer that never reached the interpreter (no console open, the list never read, no
/// phone rung: an overloaded server, a client that lost its connection) is not theirs to
/// have missed: its expiry does not switch them off.
#[tokio::test]
async fn offers_that_never_reached_an_interpreter_do_not_switch_them_off() {
    let app = spawn_app(&[
        ("PUENTE_OFFER_TIMEOUT_SECS", "1"),
        ("PUENTE_RETRY_AFTER_SECS", "0"),
    ])
    .await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let mut staff = Events::open(&app, COORDINATOR).await;
    staff.until("ready", 2, |_| true).await;
    app.post_request("tzo", "normal").await;
    // Four offers open and expire unseen.
    for _ in 0..4 {
        staff.until("offer", 3, |o| o["state"] == "expired").await;
    }
    let me = app.get("/api/v1/interpreters/ana", &ana).await.expect(200);
    assert_eq!(me["status"], "available", "{me}");
    app.shutdown().await;
}

#[tokio::test]
async fn requests_and_offers_carry_messages_in_the_negotiated_language() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let es = app.post_request("tsotsil", "urgent").await;
    assert!(es["message"].as_str().unwrap().contains("tsotsil"), "{es}");
    let offer = app.wait_offer("ana", &ana, 1).await;
    assert_eq!(offer["message"], "Llamada en tsotsil, urgente. ¿Aceptas?");
    let en = app
        .client
        .get(format!("{}/api/v1/interpreters/ana/offers", app.base))
        .bearer_auth(&ana)
        .header("Accept-Language", "en-US,en;q=0.8")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        en["offers"][0]["message"],
        "Urgent call in Tzotzil. Will you take it?"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_an_interpreter_withdraws_their_offers_and_their_token() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let req = app.post_request("tzo", "normal").await;
    app.wait_offer("ana", &ana, 1).await;
    let r = app.delete("/api/v1/interpreters/ana", COORDINATOR).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.request(req["id"].as_str().unwrap()).await["state"],
        "queued"
    );
    assert_eq!(
        app.get("/api/v1/interpreters/ana", COORDINATOR)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get("/api/v1/interpreters/ana/offers", &ana)
            .await
            .status,
        401
    );
    app.shutdown().await;
}

#[tokio::test]
async fn when_many_accept_at_once_exactly_one_is_connected() {
    let app = spawn_app(&[("PUENTE_OFFER_POLICY", "parallel")]).await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        let id = format!("i{i}");
        tokens.push((id.clone(), app.add_interpreter(&id, &[("zap", 3)]).await));
    }
    let req = app.post_request("zapoteco", "urgent").await;
    let mut offers = Vec::new();
    for (id, token) in &tokens {
        offers.push((app.wait_offer(id, token, 1).await, token.clone()));
    }
    let accepts = offers
        .iter()
        .map(|(o, token)| app.accept(o["id"].as_str().unwrap(), token));
    let replies = futures_util::future::join_all(accepts).await;
    let winners = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(winners, 1, "exactly one accept wins");
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 409));
    let r = app.request(req["id"].as_str().unwrap()).await;
    assert_eq!(r["state"], "connected");
    app.shutdown().await;
}

/// The manual bridge (the default): the operator calls the interpreter's number and joins
/// them to the caller, then says whether it worked.
#[tokio::test]
async fn the_manual_bridge_confirms_or_requeues() {
    use reqwest::Method;
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let bea = app.add_interpreter("bea", &[("tzo", 4)]).await;
    let r = app.post_request("tsotsil", "normal").await;
    let id = r["id"].as_str().unwrap();
    let offer = app.wait_offer("ana", &ana, 2).await;
    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let connected = app.request(id).await;
    assert_eq!(
        connected["interpreter"]["phone"], "+525550001234",
        "the number to call"
    );
    let path = format!("/api/v1/requests/{id}/bridge");
    let bridge = |outcome: &'static str, token: String| {
        let path = path.clone();
        let app = &app;
        async move {
            app.call(
                Method::POST,
                &path,
                Some(&token),
                Some(json!({ "outcome": outcome })),
            )
            .await
        }
    };
    assert_eq!(bridge("connected", ana.clone()).await.status.as_u16(), 403);
    let bad = bridge("maybe", OPERATOR.into()).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_field"));

    // Ana's phone did not answer: the request waits again and Bea is asked next.
    let failed = bridge("failed", OPERATOR.into()).await.expect(200);
    assert!(matches!(
        failed["state"].as_str(),
        Some("queued" | "offered")
    ));
    assert!(failed["interpreter"].is_null());
    let next = app.wait_offer("bea", &bea, 2).await;
    app.accept(next["id"].as_str().unwrap(), &bea)
        .await
        .expect(200);
    let ok = bridge("connected", OPERATOR.into()).await.expect(200);
    assert_eq!(ok["state"], "connected");
    assert!(ok["bridged_at"].is_string());
    let again = bridge("failed", OPERATOR.into()).await;
    assert_eq!(
        again.status.as_u16(),
        409,
        "a confirmed call is completed, not failed"
    );
    app.shutdown().await;
}

//! The live event stream (server-sent events).

use crate::helpers::*;

#[tokio::test]
async fn operators_see_state_changes_and_interpreters_their_offers_live() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let beto = app.add_interpreter("beto", &[("yua", 5)]).await;
    let mut op = Events::open(&app, OPERATOR).await;
    let mut ana_events = Events::open(&app, &ana).await;
    let mut beto_events = Events::open(&app, &beto).await;
    op.until("ready", 2, |_| true).await;
    ana_events.until("ready", 2, |_| true).await;
    beto_events.until("ready", 2, |_| true).await;

    let req = app.post_request("tsotsil", "urgent").await;
    let id = req["id"].clone();
    op.until("request", 2, |r| r["id"] == id && r["state"] == "queued")
        .await;
    let offer = ana_events
        .until("offer", 2, |o| {
            o["request_id"] == id && o["state"] == "open"
        })
        .await;
    op.until("request", 2, |r| r["id"] == id && r["state"] == "offered")
        .await;

    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let connected = op
        .until("request", 2, |r| r["id"] == id && r["state"] == "connected")
        .await;
    assert_eq!(connected["interpreter"]["id"], "ana");
    assert!(connected["message"]
        .as_str()
        .unwrap()
        .contains("Interpreter ana"));

    // Beto saw none of it: interpreters only see their own offers.
    app.post_request("maya", "normal").await;
    let own = beto_events.until("offer", 2, |_| true).await;
    assert_eq!(own["interpreter_id"], "beto");
    app.shutdown().await;
}

#[tokio::test]
async fn coordinators_see_interpreters_leave_the_roster_and_routing_change() {
    use reqwest::Method;
    let app = spawn_app(&[]).await;
    app.add_interpreter("ana", &[("tzo", 5)]).await;
    let mut desk = Events::open(&app, COORDINATOR).await;
    desk.until("ready", 2, |_| true).await;
    let gone = app.delete("/api/v1/interpreters/ana", COORDINATOR).await;
    assert_eq!(gone.status.as_u16(), 204);
    desk.until("interpreter_removed", 2, |e| e["id"] == "ana")
        .await;
    app.call(
        Method::PUT,
        "/api/v1/routing",
        Some(COORDINATOR),
        Some(serde_json::json!({"tiers": [{"reach": "agrupacion"}]})),
    )
    .await
    .expect(200);
    desk.until("routing", 2, |r| r["tiers"][0]["reach"] == "agrupacion")
        .await;
    app.shutdown().await;
}

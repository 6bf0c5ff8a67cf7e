//! Several instances on one Redis: any instance serves anything, events reach every
//! instance, deadlines survive the instance that set them, and a Redis restart loses
//! nothing (append-only file).

use std::time::Duration;

use serde_json::json;

use crate::common;
use crate::helpers::*;

/// An instance on Redis at `url`, namespace `ns`.
async fn instance(url: &str, ns: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("PUENTE_REDIS_URL", url), ("PUENTE_REDIS_NAMESPACE", ns)];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

/// Two instances sharing a fresh namespace.
async fn pair(url: &str, extra: &[(&str, &str)]) -> (String, TestApp, TestApp) {
    let ns = common::namespace("pair");
    let a = instance(url, &ns, extra).await;
    let b = instance(url, &ns, extra).await;
    (ns, a, b)
}

#[tokio::test]
async fn two_instances_share_roster_requests_offers_and_events() {
    let (url, _server) = common::redis();
    two_instances_share_everything(&url).await;
}

#[tokio::test]
async fn two_instances_share_everything_on_a_redis_cluster_too() {
    let (url, _cluster) = common::redis_cluster();
    two_instances_share_everything(&url).await;
}

async fn two_instances_share_everything(url: &str) {
    let (_, a, b) = pair(url, &[]).await;
    // Created on A, the interpreter's token works on B.
    let ana = a.add_interpreter("ana", &[("tzo", 5)]).await;
    b.get("/api/v1/interpreters/ana", &ana).await.expect(200);

    let mut a_events = Events::open(&a, OPERATOR).await;
    a_events.until("ready", 2, |_| true).await;

    // Requested on B, offered (by whichever dispatcher wins) and visible on A.
    let req = b.post_request("tsotsil", "urgent").await;
    let id = req["id"].as_str().unwrap();
    let offer = a.wait_offer("ana", &ana, 1).await;
    assert_eq!(offer["request_id"], id);
    assert_eq!(
        b.offers("ana", &ana).await.len(),
        1,
        "exactly one offer, not one per instance"
    );

    // Accepted through B; A's operator stream sees it.
    b.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let seen = a_events
        .until("request", 3, |r| r["id"] == id && r["state"] == "connected")
        .await;
    assert_eq!(seen["interpreter"]["id"], "ana");
    assert_eq!(a.request(id).await["state"], "connected");

    a.post(
        &format!("/api/v1/requests/{id}/complete"),
        OPERATOR,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(b.request(id).await["state"], "completed");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn concurrent_accepts_through_different_instances_connect_exactly_one() {
    let (url, _server) = common::redis();
    let (_, a, b) = pair(&url, &[("PUENTE_OFFER_POLICY", "parallel")]).await;
    let mut tokens = Vec::new();
    for i in 0..6 {
        let id = format!("i{i}");
        tokens.push((id.clone(), a.add_interpreter(&id, &[("zap", 3)]).await));
    }
    let req = a.post_request("zapoteco", "urgent").await;
    let mut accepts = Vec::new();
    for (n, (id, token)) in tokens.iter().enumerate() {
        let offer = b.wait_offer(id, token, 2).await;
        let via = if n % 2 == 0 { &a } else { &b };
        accepts.push(async move { via.accept(offer["id"].as_str().unwrap(), token).await });
    }
    let replies = futures_util::future::join_all(accepts).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 409));
    let r = b.request(req["id"].as_str().unwrap()).await;
    assert_eq!(r["state"], "connected");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn an_offer_expires_on_time_even_when_its_instance_is_gone() {
    let (url, _server) = common::redis();
    let timeout = [("PUENTE_OFFER_TIMEOUT_SECS", "1")];
    let (ns, a, b) = pair(&url, &timeout).await;
    let ana = a.add_interpreter("ana", &[("yua", 5)]).await;
    let beto = a.add_interpreter("beto", &[("yua", 4)]).await;
    // Only A runs when the request comes, so A opens the offer (to ana, more proficient).
    b.shutdown().await;
    let req = a.post_request("maya", "normal").await;
    let first = a.wait_offer("ana", &ana, 1).await;
    assert_eq!(first["request_id"], req["id"]);
    // A stops with the offer open; another instance must expire it on time and move on.
    a.shutdown().await;
    let c = instance(&url, &ns, &timeout).await;
    let second = c.wait_offer("beto", &beto, 4).await;
    assert_eq!(second["request_id"], req["id"]);
    let closed = c.accept(first["id"].as_str().unwrap(), &ana).await;
    assert_eq!(closed.status, 409);
    c.shutdown().await;
}

/// Each language keeps its own timer: a request nobody can serve gives up on time though no
/// change names its language again, while the dispatchers are kept busy by another one.
#[tokio::test]
async fn a_request_nobody_serves_gives_up_on_time_while_other_languages_are_busy() {
    let (url, _server) = common::redis();
    let (_, a, b) = pair(&url, &[("PUENTE_UNFILLED_AFTER_SECS", "2")]).await;
    let ana = b.add_interpreter("ana", &[("tzo", 5)]).await;
    let maya = a.post_request("maya", "normal").await;
    let id = maya["id"].as_str().unwrap().to_string();
    let start = tokio::time::Instant::now();
    let mut gave_up = None;
    // For 4 s, Tsotsil requests come and go on B: offered to ana, then cancelled.
    while start.elapsed() < Duration::from_secs(4) {
        let r = b.post_request("tsotsil", "normal").await;
        b.wait_offer("ana", &ana, 2).await;
        let cancel = format!("/api/v1/requests/{}/cancel", r["id"].as_str().unwrap());
        b.call(reqwest::Method::POST, &cancel, Some(OPERATOR), None)
            .await
            .expect(200);
        if gave_up.is_none() && a.request(&id).await["state"] == "unfilled" {
            gave_up = Some(start.elapsed());
        }
    }
    let at = gave_up.expect("the Maya request gave up within 4 s");
    assert!(
        at < Duration::from_millis(3500),
        "gave up {at:?} after a 2 s limit"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_redis_restart_loses_neither_the_roster_nor_waiting_requests() {
    // A server of our own, with the append-only file on, that we can kill.
    let server = common::RedisServer::start();
    let ns = common::namespace("restart");
    let app = instance(&server.url, &ns, &[]).await;
    let ana = app.add_interpreter("ana", &[("tzh", 5)]).await;
    app.set_availability("ana", &ana, "offline")
        .await
        .expect(200);
    let req = app.post_request("tseltal", "urgent").await;
    let id = req["id"].as_str().unwrap();

    server.restart();
    // The same instance reconnects by itself; a new one sees the same state.
    let state = app
        .wait_for(10, || async {
            let r = app.get(&format!("/api/v1/requests/{id}"), OPERATOR).await;
            (r.status == 200).then_some(r.body)
        })
        .await
        .expect("the instance reconnects to Redis");
    assert_eq!(state["state"], "queued");
    let fresh = instance(&server.url, &ns, &[]).await;
    fresh
        .get("/api/v1/interpreters/ana", &ana)
        .await
        .expect(200);
    assert_eq!(fresh.request(id).await["language"]["tag"], "tzh");
    // And routing goes on: ana comes back and gets the waiting request.
    fresh
        .set_availability("ana", &ana, "available")
        .await
        .expect(200);
    let offer = fresh.wait_offer("ana", &ana, 3).await;
    assert_eq!(offer["request_id"], id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.shutdown().await;
    fresh.shutdown().await;
}

//! `kill -9` of an instance: what it created lives on in Redis and the survivor serves it.

mod common;

use std::time::Duration;

use common::Puente;
use serde_json::{json, Value};

async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_survivor_offers_a_request_whose_instance_was_killed() {
    use reqwest::Method;
    let (url, _server) = common::redis();
    let ns = common::namespace("failover");
    let vars = [
        ("PUENTE_REDIS_URL", url.as_str()),
        ("PUENTE_REDIS_NAMESPACE", ns.as_str()),
        ("PUENTE_ROSTER", "none"),
        ("PUENTE_OPERATOR_TOKENS", "operator-token-1"),
        ("PUENTE_COORDINATOR_TOKENS", "coordinator-token-1"),
    ];
    let mut a = Puente::spawn(&vars);
    let b = Puente::spawn(&vars);

    let (s, created) = call(
        Method::POST,
        format!("{}/api/v1/interpreters", a.base),
        "coordinator-token-1",
        Some(json!({"id": "ana", "name": "Ana", "phone": "+525550001234", "languages": [{"tag": "tzo", "proficiency": 5}]})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let ana = created["token"].as_str().unwrap().to_string();
    let (s, req) = call(
        Method::POST,
        format!("{}/api/v1/requests", a.base),
        "operator-token-1",
        Some(json!({"language": "tsotsil", "priority": "urgent", "channel": "phone"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = req["id"].as_str().unwrap().to_string();

    a.kill();

    // The interpreter comes on call through the survivor, which must offer the request.
    let (s, _) = call(
        Method::PUT,
        format!("{}/api/v1/interpreters/ana/availability", b.base),
        &ana,
        Some(json!({"status": "available"})),
    )
    .await;
    assert_eq!(s, 200);
    let mut offer = Value::Null;
    for _ in 0..100 {
        let (_, offers) = call(
            Method::GET,
            format!("{}/api/v1/interpreters/ana/offers", b.base),
            &ana,
            None,
        )
        .await;
        if let Some(o) = offers["offers"].as_array().and_then(|a| a.first()) {
            offer = o.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        offer["request_id"],
        id.as_str(),
        "the survivor offered the request within 2 s"
    );
    let (s, _) = call(
        Method::POST,
        format!(
            "{}/api/v1/offers/{}/accept",
            b.base,
            offer["id"].as_str().unwrap()
        ),
        &ana,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (_, r) = call(
        Method::GET,
        format!("{}/api/v1/requests/{id}", b.base),
        "operator-token-1",
        None,
    )
    .await;
    assert_eq!(r["state"], "connected");
}

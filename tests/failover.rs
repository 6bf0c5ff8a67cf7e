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

/// One `puente` process on Redis (and on the ARI double, when given), with a short lease.
fn instance(redis: &str, ns: &str, ari: Option<&common::ari::AriDouble>) -> Puente {
    let mut vars: Vec<(&str, String)> = vec![
        ("PUENTE_REDIS_URL", redis.into()),
        ("PUENTE_REDIS_NAMESPACE", ns.into()),
        ("PUENTE_ROSTER", "none".into()),
        ("PUENTE_OPERATOR_TOKENS", "operator-token-1".into()),
        ("PUENTE_COORDINATOR_TOKENS", "coordinator-token-1".into()),
        ("PUENTE_OFFER_TIMEOUT_SECS", "20".into()),
        ("PUENTE_CALL_LEASE_SECS", "2".into()),
    ];
    if let Some(a) = ari {
        vars.extend(a.vars());
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Puente::spawn(&vars)
}

/// Poll `GET {path}` (operator) until `pred` holds, for up to `secs`.
async fn until(base: &str, path: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, v) = call(
            reqwest::Method::GET,
            format!("{base}{path}"),
            "coordinator-token-1",
            None,
        )
        .await;
        if pred(&v) {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} within {secs} s: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Add `id` (Tsotsil), on call; returns the token.
async fn on_call(base: &str, id: &str) -> String {
    let (s, created) = call(
        reqwest::Method::POST,
        format!("{base}/api/v1/interpreters"),
        "coordinator-token-1",
        Some(json!({"id": id, "name": id, "phone": "+525550001234", "languages": [{"tag": "tzo", "proficiency": 5}]})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    let (s, _) = call(
        reqwest::Method::PUT,
        format!("{base}/api/v1/interpreters/{id}/availability"),
        &token,
        Some(json!({"status": "available"})),
    )
    .await;
    assert_eq!(s, 200);
    token
}

/// The phone request a caller of the ARI double became.
async fn phone_request(base: &str) -> String {
    let all = until(base, "/api/v1/requests", 5, |v| {
        v["requests"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    all["requests"][0]["id"].as_str().unwrap().to_string()
}

fn interpreter_free(v: &Value) -> bool {
    v["status"] == "available" && v["session"].is_null()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_no_call_connected_and_no_interpreter_busy() {
    use common::ari::{AriDouble, Phone};
    let (url, _server) = common::redis();
    let lease_and_5 = 2 + 5;

    // Through the PBX, kill -9 of the instance that holds the call while the caller
    // waits (nobody on call), while an interpreter's phone rings, and while connected:
    // the call is gone with it, so the request is finished (cancelled while waiting,
    // completed once connected), with the reason, and the interpreter is free.
    for (phase, phone, ends) in [
        ("queued", None, "cancelled"),
        ("offered", Some(Phone::NoAnswer), "cancelled"),
        ("connected", Some(Phone::accepts()), "completed"),
    ] {
        let ns = common::namespace(&format!("lease-{phase}"));
        let ari = AriDouble::start().await;
        let mut first = instance(&url, &ns, Some(&ari));
        ari.until(10, "puente to connect", |a| a.connected() == 1)
            .await;
        if let Some(p) = phone {
            ari.phone("PJSIP/dora", p);
            on_call(&first.base, "dora").await;
        }
        ari.caller_arrives(&["tzo"]);
        let id = phone_request(&first.base).await;
        until(&first.base, &format!("/api/v1/requests/{id}"), 10, |r| {
            r["state"] == phase
        })
        .await;
        first.kill();
        let second = instance(&url, &ns, Some(&ari));
        let r = until(
            &second.base,
            &format!("/api/v1/requests/{id}"),
            lease_and_5,
            |r| r["state"] == ends,
        )
        .await;
        assert_eq!(r["end_reason"], "bridge_lost", "{phase}: {r}");
        let message = r["message"].as_str().unwrap();
        assert!(message.contains("Se perdió la llamada"), "{phase}: {r}");
        if phone.is_some() {
            until(
                &second.base,
                "/api/v1/interpreters/dora",
                2,
                interpreter_free,
            )
            .await;
        }
        ari.until(5, "nothing of puente's left in the PBX", |a| {
            a.channels_in_stasis().is_empty() && a.bridges().is_empty()
        })
        .await;
    }

    // Connected through the manual bridge: the people are on the phone, not in puente.
    // After the kill the request stays connected and is completed as usual, and the
    // interpreter is free again.
    let ns = common::namespace("lease-manual");
    let mut first = instance(&url, &ns, None);
    let fer = on_call(&first.base, "fer").await;
    let (s, req) = call(
        reqwest::Method::POST,
        format!("{}/api/v1/requests", first.base),
        "operator-token-1",
        Some(json!({"language": "tzo", "priority": "urgent", "channel": "phone"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = req["id"].as_str().unwrap().to_string();
    let offers = until(&first.base, "/api/v1/interpreters/fer/offers", 5, |v| {
        v["offers"].as_array().is_some_and(|o| !o.is_empty())
    })
    .await;
    let offer = offers["offers"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        reqwest::Method::POST,
        format!("{}/api/v1/offers/{offer}/accept", first.base),
        &fer,
        None,
    )
    .await;
    assert_eq!(s, 200);
    first.kill();
    let second = instance(&url, &ns, None);
    tokio::time::sleep(Duration::from_secs(lease_and_5 - 4)).await;
    let (_, r) = call(
        reqwest::Method::GET,
        format!("{}/api/v1/requests/{id}", second.base),
        "operator-token-1",
        None,
    )
    .await;
    assert_eq!(
        r["state"], "connected",
        "a manual bridge is not puente's to lose: {r}"
    );
    let (s, _) = call(
        reqwest::Method::POST,
        format!("{}/api/v1/requests/{id}/complete", second.base),
        "operator-token-1",
        None,
    )
    .await;
    assert_eq!(s, 200);
    until(
        &second.base,
        "/api/v1/interpreters/fer",
        2,
        interpreter_free,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_offer_prompt_is_a_warning_naming_it_once_per_start() {
    use common::ari::{AriDouble, Phone};
    let (url, _server) = common::redis();
    let ns = common::namespace("no-prompt");
    let ari = AriDouble::start().await;
    ari.without_media("sound:puente-offer");
    ari.phone("PJSIP/dora", Phone::Silent);
    ari.phone("PJSIP/eli", Phone::Silent);
    let puente = instance(&url, &ns, Some(&ari));
    ari.until(10, "puente to connect", |a| a.connected() == 1)
        .await;
    on_call(&puente.base, "dora").await;
    on_call(&puente.base, "eli").await;
    // Two callers, two phones answered, two prompts that cannot play: one warning.
    ari.caller_arrives(&["tzo"]);
    ari.caller_arrives(&["tzo"]);
    ari.until(10, "both prompts tried", |a| {
        a.log().iter().filter(|l| l.contains("/play ")).count() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let warned = loop {
        let w = puente.logged("the offer prompt cannot be played");
        if !w.is_empty() || std::time::Instant::now() > deadline {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("WARN") && warned[0].contains("sound:puente-offer"),
        "{warned:?}"
    );
}

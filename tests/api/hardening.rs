//! What a hostile client, a crashed store or a careless edit must not do: hold the server,
//! leave a hanging request, keep a revoked token's stream, delete what an edit did not name.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common;
use crate::helpers::*;

/// `PATCH` (or another method) with headers, returning the reply and its headers.
async fn call_with(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (Reply, reqwest::header::HeaderMap) {
    let mut rb = app
        .client
        .request(method, format!("{}{}", app.base, path))
        .bearer_auth(COORDINATOR);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (Reply { status, body }, headers)
}

async fn patch_rosa(app: &TestApp, patch: Value) -> Reply {
    call_with(
        app,
        Method::PATCH,
        "/api/v1/interpreters/rosa",
        &[],
        Some(patch),
    )
    .await
    .0
}

fn etag_of(headers: &reqwest::header::HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_patch_changes_only_what_it_names_and_null_removes() {
    let app = spawn_app(&[]).await;
    app.post(
        "/api/v1/interpreters",
        COORDINATOR,
        json!({
            "id": "rosa", "name": "Rosa", "phone": "+529671234567",
            "certification": "PANITLI EC0015",
            "languages": [{"tag": "tzo", "proficiency": 5, "certification": "EC0015 tzo"}],
            "schedule": {"time_zone": "America/Mexico_City",
                         "windows": [{"days": ["mon"], "start": "08:00", "end": "14:00"}]},
        }),
    )
    .await
    .expect(201);
    let r = patch_rosa(&app, json!({"name": "Rosa María"})).await;
    let v = r.expect(200);
    assert_eq!(v["name"], "Rosa María");
    assert_eq!(v["certification"], "PANITLI EC0015", "kept: {v}");
    assert_eq!(v["languages"][0]["certification"], "EC0015 tzo");
    assert_eq!(
        v["schedule"]["windows"][0]["start"], "08:00:00",
        "kept: {v}"
    );

    let r = patch_rosa(&app, json!({"certification": null})).await;
    let v = r.expect(200);
    assert!(v["certification"].is_null(), "null removes: {v}");
    assert_eq!(v["name"], "Rosa María");

    let r = patch_rosa(&app, json!({"name": null})).await;
    assert_eq!(r.status, 422, "a name cannot be removed: {}", r.body);
    assert_eq!(r.body["error"]["field"], "name");
    app.shutdown().await;
}

#[tokio::test]
async fn an_edit_from_a_stale_etag_is_412_stale_profile() {
    let app = spawn_app(&[]).await;
    app.add_interpreter("rosa", &[("tzo", 5)]).await;
    let (r, h) = call_with(&app, Method::GET, "/api/v1/interpreters/rosa", &[], None).await;
    r.expect(200);
    let first = etag_of(&h);
    // Another coordinator saves first.
    let (r, h) = call_with(
        &app,
        Method::PATCH,
        "/api/v1/interpreters/rosa",
        &[("if-match", &first)],
        Some(json!({"name": "Rosa M."})),
    )
    .await;
    r.expect(200);
    assert_ne!(etag_of(&h), first, "a new revision");
    for method in [Method::PATCH, Method::PUT] {
        let body = json!({"name": "stale", "phone": "+525550001234",
                          "languages": [{"tag": "tzo", "proficiency": 5}]});
        let (r, _) = call_with(
            &app,
            method,
            "/api/v1/interpreters/rosa",
            &[("if-match", &first)],
            Some(body),
        )
        .await;
        assert_eq!(r.status, 412, "{}", r.body);
        assert_eq!(r.code(), "stale_profile");
        assert!(r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Vuelva a cargar"));
    }
    let v = app
        .get("/api/v1/interpreters/rosa", COORDINATOR)
        .await
        .expect(200);
    assert_eq!(v["name"], "Rosa M.", "nothing stale was saved");
    app.shutdown().await;
}

#[tokio::test]
async fn personal_data_is_not_cached() {
    let app = spawn_app(&[]).await;
    app.add_interpreter("rosa", &[("tzo", 5)]).await;
    for path in [
        "/api/v1/interpreters/rosa",
        "/api/v1/requests",
        "/api/v1/interpreters",
    ] {
        let (r, h) = call_with(&app, Method::GET, path, &[], None).await;
        assert!(r.status.is_success(), "{path}: {}", r.body);
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_removed_interpreters_stream_ends_and_never_sees_a_namesakes_offers() {
    let app = spawn_app(&[]).await;
    let token = app.add_interpreter("rosa", &[("tzo", 5)]).await;
    let mut old = app
        .client
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 200);
    app.set_availability("rosa", &token, "offline")
        .await
        .expect(200);
    app.delete("/api/v1/interpreters/rosa", COORDINATOR)
        .await
        .expect(204);
    // The same id, a new person with a new token.
    app.add_interpreter("rosa", &[("tzo", 5)]).await;
    app.post_request("tzo", "urgent").await;
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        let mut seen = String::new();
        loop {
            match old.chunk().await {
                Ok(Some(c)) => seen.push_str(&String::from_utf8_lossy(&c)),
                _ => return seen,
            }
        }
    })
    .await
    .expect("the removed interpreter's stream ends within 2 s");
    assert!(!ended.contains("event: offer"), "{ended}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_token_may_hold_only_so_many_live_streams() {
    let app = spawn_app(&[("PUENTE_STREAMS_PER_TOKEN", "2")]).await;
    let a = Events::open(&app, OPERATOR).await;
    let _b = Events::open(&app, OPERATOR).await;
    let r = app.get("/api/v1/events", OPERATOR).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.code(), "too_many_streams");
    // Another token is not affected, and a closed stream frees its place.
    let _c = Events::open(&app, COORDINATOR).await;
    drop(a);
    let again = app
        .wait_for(5, || async {
            let res = app
                .client
                .get(format!("{}/api/v1/events", app.base))
                .bearer_auth(OPERATOR)
                .send()
                .await
                .unwrap();
            (res.status() == 200).then_some(res)
        })
        .await;
    assert!(again.is_some(), "a closed stream gives its place back");
    app.shutdown().await;
}

#[tokio::test]
async fn failed_authentications_are_throttled_per_address() {
    let app = spawn_app(&[("PUENTE_AUTH_FAILURES_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        let r = app.get("/api/v1/requests", "guess-guess-guess").await;
        assert_eq!(r.status, 401);
    }
    // Past the limit even the right token waits: guessing gains nothing.
    let r = app.get("/api/v1/requests", OPERATOR).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.code(), "too_many_attempts");
    app.shutdown().await;
}

#[tokio::test]
async fn framework_errors_are_json_too() {
    let app = spawn_app(&[]).await;
    let r = app.get("/api/v1/requests/%ff", OPERATOR).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "bad_request");
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(70_000));
    let res = app
        .client
        .post(format!("{}/webhooks/whatsapp", app.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let v: Value = res.json().await.expect("a JSON body");
    assert_eq!(v["error"]["code"], "payload_too_large");
    app.shutdown().await;
}

/// A connection that sends half a request and then nothing.
fn half_sent(base: &str) -> std::net::TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    s
}

fn closed_by_server(s: &mut std::net::TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        // A shed connection may get an answer or a reset; either way the server let go.
        Ok(_) => matches!(s.read(&mut buf), Ok(0) | Err(_)),
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[tokio::test]
async fn half_sent_requests_are_closed_and_cannot_keep_others_out() {
    let app = spawn_app(&[
        ("PUENTE_HEADER_TIMEOUT_SECS", "2"),
        ("PUENTE_MAX_CONNECTIONS", "16"),
    ])
    .await;
    let base = app.base.clone();
    let mut held: Vec<_> =
        tokio::task::spawn_blocking(move || (0..40).map(|_| half_sent(&base)).collect())
            .await
            .unwrap();
    // Far more half-sent requests than the cap: the server still answers.
    let r = tokio::time::timeout(Duration::from_secs(2), app.get("/healthz", OPERATOR))
        .await
        .expect("/healthz answers while the cap is full of half-sent requests");
    assert_eq!(r.status, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let closed = held.iter_mut().map(closed_by_server).filter(|c| *c).count();
    assert_eq!(
        closed,
        held.len(),
        "each is closed by the header-read timeout"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn with_redis_down_requests_fail_fast_with_503_and_recover_by_themselves() {
    let redis = common::RedisServer::start();
    let ns = common::namespace("down");
    let app = spawn_app(&[
        ("PUENTE_REDIS_URL", &redis.url),
        ("PUENTE_REDIS_NAMESPACE", &ns),
    ])
    .await;
    let token = app.add_interpreter("rosa", &[("tzo", 5)]).await;
    assert_eq!(app.get("/readyz", OPERATOR).await.status, 200);

    // Paused first: the connection stays open and nothing answers.
    redis.pause();
    let started = Instant::now();
    let r = app.get("/api/v1/requests", OPERATOR).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.code(), "store_unavailable", "{}", r.body);
    redis.resume();
    app.wait_for(5, || async {
        (app.get("/api/v1/requests", OPERATOR).await.status == 200).then_some(())
    })
    .await
    .expect("answers again once Redis goes on");

    redis.kill();

    let started = Instant::now();
    let r = app
        .post(
            "/api/v1/requests",
            OPERATOR,
            json!({"language": "tzo", "priority": "urgent", "channel": "phone"}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "store_unavailable");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("No se registró nada"));
    let ready = app.get("/readyz", OPERATOR).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.code(), "store_unavailable");
    assert_eq!(
        app.get("/healthz", OPERATOR).await.status,
        200,
        "still alive"
    );

    redis.start_again();
    let back = Instant::now();
    let created = app
        .wait_for(10, || async {
            let r = app
                .post(
                    "/api/v1/requests",
                    OPERATOR,
                    json!({"language": "tzo", "priority": "urgent", "channel": "phone"}),
                )
                .await;
            (r.status == 201).then_some(r.body)
        })
        .await
        .expect("requests succeed again");
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "{:?}",
        back.elapsed()
    );
    // The dispatcher resumed by itself: the request is offered.
    let offer = app.wait_offer("rosa", &token, 5).await;
    assert_eq!(offer["request_id"], created["id"]);
    app.shutdown().await;
}

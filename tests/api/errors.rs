//! Every error is JSON with a code and a message that says what to do.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

fn assert_error_shape(body: &serde_json::Value) {
    let err = &body["error"];
    assert!(
        err["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(
        err["message"].as_str().is_some_and(|m| m.len() > 10),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_json_body() {
    let app = spawn_app(&[]).await;
    let res = app
        .client
        .post(format!("{}/api/v1/requests", app.base))
        .bearer_auth(OPERATOR)
        .header("content-type", "application/json")
        .body("{\"language\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");
    assert_error_shape(&body);
    app.shutdown().await;
}

#[tokio::test]
async fn a_missing_content_type_and_an_oversized_body_are_json_errors() {
    let app = spawn_app(&[]).await;
    let res = app
        .client
        .post(format!("{}/api/v1/requests", app.base))
        .bearer_auth(OPERATOR)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_error_shape(&res.json().await.unwrap());

    let huge = "x".repeat(200_000);
    let r = app
        .post("/api/v1/requests", OPERATOR, json!({"language": huge}))
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "payload_too_large");
    assert_error_shape(&r.body);
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_and_ambiguous_languages_are_422_with_candidates() {
    let app = spawn_app(&[]).await;
    let r = app
        .post("/api/v1/requests", OPERATOR, json!({"language": "klingon"}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "unknown_language");
    assert_error_shape(&r.body);

    let r = app
        .post(
            "/api/v1/requests",
            OPERATOR,
            json!({"language": "tepehuano"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "ambiguous_language");
    let tags: Vec<_> = r.body["error"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tag"].as_str().unwrap().to_string())
        .collect();
    assert!(
        tags.contains(&"ntp".to_string()) && tags.len() == 2,
        "{tags:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn bad_fields_are_named() {
    let app = spawn_app(&[]).await;
    let cases = [
        (json!({"language": "tzo", "priority": "asap"}), "priority"),
        (json!({"language": "tzo", "channel": "fax"}), "channel"),
        (json!({"language": ""}), "language"),
        (json!({}), "language"),
    ];
    for (body, field) in cases {
        let r = app.post("/api/v1/requests", OPERATOR, body.clone()).await;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
        assert_error_shape(&r.body);
    }
    let base = json!({"id": "ana", "name": "Ana", "phone": "+525550001234", "languages": [{"tag": "tzo", "proficiency": 5}]});
    let bad = [
        ("id", json!("Ana López")),
        ("name", json!("  ")),
        ("phone", json!("5550001234")),
        ("languages", json!([])),
        (
            "languages",
            json!([{"tag": "xx-notreal", "proficiency": 3}]),
        ),
        (
            "languages[0].proficiency",
            json!([{"tag": "tzo", "proficiency": 9}]),
        ),
    ];
    for (field, value) in bad {
        let mut body = base.clone();
        let key = field.split('[').next().unwrap();
        body[key] = value;
        let r = app
            .post("/api/v1/interpreters", COORDINATOR, body.clone())
            .await;
        assert_eq!(r.status, 422, "{body} → {}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    let r = app
        .post("/api/v1/interpreters", COORDINATOR, json!({"id": "ana"}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "invalid_body");
    app.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_interpreter_id_is_409() {
    let app = spawn_app(&[]).await;
    app.add_interpreter("ana", &[("tzo", 5)]).await;
    let r = app
        .post(
            "/api/v1/interpreters",
            COORDINATOR,
            json!({"id": "ana", "name": "Ana 2", "phone": "+525550001235", "languages": [{"tag": "yua", "proficiency": 2}]}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "already_exists");
    app.shutdown().await;
}

#[tokio::test]
async fn unknown_things_are_404_and_wrong_methods_405() {
    let app = spawn_app(&[]).await;
    assert_eq!(
        app.get("/api/v1/requests/req_nope", OPERATOR).await.status,
        404
    );
    assert_eq!(
        app.get("/api/v1/interpreters/nobody", COORDINATOR)
            .await
            .status,
        404
    );
    let r = app
        .call(
            Method::POST,
            "/api/v1/requests/req_nope/cancel",
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .call(Method::GET, "/api/v1/nothing-here", Some(OPERATOR), None)
        .await;
    assert_eq!(r.status, 404);
    assert_error_shape(&r.body);
    let r = app
        .call(Method::DELETE, "/api/v1/requests", Some(OPERATOR), None)
        .await;
    assert_eq!(r.status, 405);
    assert_error_shape(&r.body);
    let r = app.get("/api/v1/requests?state=lost", OPERATOR).await;
    assert_eq!(r.status, 400);
    assert_error_shape(&r.body);
    app.shutdown().await;
}

#[tokio::test]
async fn completing_a_request_that_is_not_connected_is_409() {
    let app = spawn_app(&[]).await;
    let req = app.post_request("tzo", "normal").await;
    let id = req["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/requests/{id}/complete"),
            OPERATOR,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "invalid_state");
    app.post(
        &format!("/api/v1/requests/{id}/cancel"),
        OPERATOR,
        json!({}),
    )
    .await
    .expect(200);
    // Cancelling twice is harmless; completing a cancelled request is not possible.
    app.post(
        &format!("/api/v1/requests/{id}/cancel"),
        OPERATOR,
        json!({}),
    )
    .await
    .expect(200);
    let r = app
        .post(
            &format!("/api/v1/requests/{id}/complete"),
            OPERATOR,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409);
    app.shutdown().await;
}

#[tokio::test]
async fn the_health_check_needs_no_token() {
    let app = spawn_app(&[]).await;
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, 200);
    app.shutdown().await;
}

#[tokio::test]
async fn an_interpreter_in_a_call_cannot_be_removed() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let req = app.post_request("tzo", "normal").await;
    let offer = app.wait_offer("ana", &ana, 1).await;
    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    let r = app.delete("/api/v1/interpreters/ana", COORDINATOR).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "interpreter_in_session");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(req["id"].as_str().unwrap()));
    app.shutdown().await;
}

//! Who may do what: 401 without a valid token, 403 with the wrong role.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn no_token_or_an_unknown_token_is_401_everywhere() {
    let app = spawn_app(&[]).await;
    let paths = [
        (Method::GET, "/api/v1/languages?q=maya"),
        (Method::POST, "/api/v1/requests"),
        (Method::GET, "/api/v1/requests"),
        (Method::GET, "/api/v1/interpreters/ana"),
        (Method::GET, "/api/v1/events"),
    ];
    for (m, p) in paths {
        let r = app
            .call(m.clone(), p, None, Some(json!({"language": "tzo"})))
            .await;
        assert_eq!(r.status, 401, "{m} {p} without token");
        assert_eq!(r.code(), "unauthorized");
        let r = app
            .call(
                m.clone(),
                p,
                Some("not-a-real-token"),
                Some(json!({"language": "tzo"})),
            )
            .await;
        assert_eq!(r.status, 401, "{m} {p} with a bad token");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn each_role_is_kept_to_its_own_actions() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let beto = app.add_interpreter("beto", &[("yua", 5)]).await;
    let new = json!({"id": "zoe", "name": "Zoe", "phone": "+525550001299", "languages": [{"tag": "tzo", "proficiency": 2}]});

    // Only coordinators manage the roster.
    assert_eq!(
        app.post("/api/v1/interpreters", OPERATOR, new.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        app.post("/api/v1/interpreters", &ana, new.clone())
            .await
            .status,
        403
    );
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/interpreters/beto",
            Some(OPERATOR),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/interpreters/beto",
            Some(&ana),
            None,
        )
        .await;
    assert_eq!(r.status, 403);

    // The role is checked before the body: a wrong role with a bad body is still 403.
    let r = app
        .call(
            Method::POST,
            "/api/v1/interpreters",
            Some(OPERATOR),
            Some(json!({"x": 1})),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .call(
            Method::POST,
            "/api/v1/requests",
            Some(COORDINATOR),
            Some(json!("nope")),
        )
        .await;
    assert_eq!(r.status, 403);

    // Only operators ask for interpreters.
    assert_eq!(
        app.post("/api/v1/requests", COORDINATOR, json!({"language": "tzo"}))
            .await
            .status,
        403
    );
    assert_eq!(
        app.post("/api/v1/requests", &ana, json!({"language": "tzo"}))
            .await
            .status,
        403
    );
    assert_eq!(app.get("/api/v1/requests", &ana).await.status, 403);
    app.get("/api/v1/requests", COORDINATOR).await.expect(200);

    // An interpreter acts on itself only.
    assert_eq!(app.get("/api/v1/interpreters/beto", &ana).await.status, 403);
    app.get("/api/v1/interpreters/ana", &ana).await.expect(200);
    app.get("/api/v1/interpreters/ana", COORDINATOR)
        .await
        .expect(200);
    assert_eq!(
        app.get("/api/v1/interpreters/ana", OPERATOR).await.status,
        403
    );
    assert_eq!(
        app.set_availability("beto", &ana, "offline").await.status,
        403
    );
    app.set_availability("beto", COORDINATOR, "offline")
        .await
        .expect(200);
    assert_eq!(
        app.set_availability("ana", OPERATOR, "offline")
            .await
            .status,
        403
    );
    assert_eq!(
        app.get("/api/v1/interpreters/beto/offers", &ana)
            .await
            .status,
        403
    );

    // Offers belong to the interpreter they were made to.
    let req = app.post_request("tzo", "normal").await;
    let offer = app.wait_offer("ana", &ana, 1).await;
    let oid = offer["id"].as_str().unwrap();
    assert_eq!(app.accept(oid, &beto).await.status, 403);
    assert_eq!(app.accept(oid, OPERATOR).await.status, 403);
    assert_eq!(app.decline(oid, COORDINATOR).await.status, 403);
    app.accept(oid, &ana).await.expect(200);

    // Only the operator or the connected interpreter completes.
    let id = req["id"].as_str().unwrap();
    let path = format!("/api/v1/requests/{id}/complete");
    assert_eq!(app.post(&path, &beto, json!({})).await.status, 403);
    assert_eq!(app.post(&path, COORDINATOR, json!({})).await.status, 403);
    assert_eq!(
        app.post(&format!("/api/v1/requests/{id}/cancel"), &ana, json!({}))
            .await
            .status,
        403
    );
    app.post(&path, &ana, json!({})).await.expect(200);
    app.shutdown().await;
}

#[tokio::test]
async fn an_interpreter_token_is_returned_once_and_never_shown_again() {
    let app = spawn_app(&[]).await;
    let created = app
        .post(
            "/api/v1/interpreters",
            COORDINATOR,
            json!({"id": "ana", "name": "Ana", "phone": "+525550001234", "languages": [{"tag": "tzo", "proficiency": 5}]}),
        )
        .await
        .expect(201);
    let token = created["token"].as_str().unwrap();
    assert!(token.len() >= 32);
    let again = app
        .get("/api/v1/interpreters/ana", COORDINATOR)
        .await
        .expect(200);
    assert!(again.get("token").is_none());
    assert!(!again.to_string().contains(token));
    app.shutdown().await;
}

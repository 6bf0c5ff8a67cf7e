//! `POST /api/v1/detect` and requests created from the caller's text.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn detect_names_the_language_when_sure_and_lists_candidates() {
    let app = spawn_app(&[]).await;
    let es = app
        .post(
            "/api/v1/detect",
            OPERATOR,
            json!({"text": "hola necesito ayuda, no me dejan salir de la casa"}),
        )
        .await
        .expect(200);
    assert_eq!(es["language"]["tag"], "spa");
    assert_eq!(es["candidates"][0]["tag"], "spa");
    let c = es["candidates"][0]["confidence"].as_f64().unwrap();
    assert!(c > 0.5 && c <= 1.0);

    let nah = app
        .post(
            "/api/v1/detect",
            OPERATOR,
            json!({"text": "Nochi tlakamej uan siuamej kipiaj ininkuali ipan ni altepetl"}),
        )
        .await
        .expect(200);
    assert_eq!(nah["candidates"][0]["tag"], "nah", "{nah}");

    // Any role may detect; a very short text still gets candidates.
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let short = app
        .post("/api/v1/detect", &ana, json!({"text": "ok"}))
        .await
        .expect(200);
    assert!(!short["candidates"].as_array().unwrap().is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn empty_or_letterless_text_is_422() {
    let app = spawn_app(&[]).await;
    for text in ["", "   ", "12345 !!!", "😀😀"] {
        let r = app
            .post("/api/v1/detect", OPERATOR, json!({"text": text}))
            .await;
        assert_eq!(r.status, 422, "{text:?}: {}", r.body);
        assert_eq!(r.code(), "no_letters");
    }
    let r = app.post("/api/v1/detect", OPERATOR, json!({})).await;
    assert_eq!(r.status, 422);
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_can_carry_the_callers_text_instead_of_a_language() {
    let app = spawn_app(&[]).await;
    let r = app
        .post(
            "/api/v1/requests",
            OPERATOR,
            json!({"text": "Nochi tlakamej uan siuamej kipiaj ininkuali ipan ni altepetl, kipiaj tlamatilistli", "priority": "urgent", "channel": "chat"}),
        )
        .await
        .expect(201);
    assert_eq!(r["language"]["tag"], "nah", "{r}");

    // Spanish needs no interpreter.
    let r = app
        .post(
            "/api/v1/requests",
            OPERATOR,
            json!({"text": "hola buenas noches, necesito ayuda por favor"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "no_interpreter_needed");

    // Not sure: the operator chooses among candidates.
    let r = app
        .post("/api/v1/requests", OPERATOR, json!({"text": "ta"}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.code(), "ambiguous_language");
    assert!(!r.body["error"]["candidates"].as_array().unwrap().is_empty());
    app.shutdown().await;
}

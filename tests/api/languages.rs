//! `GET /api/v1/languages`: names, variants and places over HTTP.

use crate::helpers::{spawn_app, OPERATOR};

#[tokio::test]
async fn places_and_variants_over_http() {
    let app = spawn_app(&[]).await;
    let chamula = app
        .get("/api/v1/languages?place=Chamula", OPERATOR)
        .await
        .expect(200);
    assert_eq!(chamula["places"][0]["name"], "Chamula");
    assert_eq!(chamula["places"][0]["state"], "Chiapas");
    let first = &chamula["results"][0];
    assert_eq!(first["group"], "tzo", "Tsotsil first: {first}");
    assert_eq!(first["level"], "variant");
    assert_eq!(first["score"], 1.0);

    let nowhere = app
        .get("/api/v1/languages?place=Springfield", OPERATOR)
        .await
        .expect(200);
    assert_eq!(nowhere["results"].as_array().unwrap().len(), 0);

    let istmo = app
        .get("/api/v1/languages?q=de%20Juchit%C3%A1n", OPERATOR)
        .await
        .expect(200);
    assert_eq!(istmo["results"][0]["tag"], "zap-x-planicie-costera");
    assert_eq!(istmo["results"][0]["match"]["kind"], "place");

    let groups = app
        .get("/api/v1/languages?level=agrupacion", OPERATOR)
        .await
        .expect(200);
    assert_eq!(groups["results"].as_array().unwrap().len(), 68);
    let bad = app.get("/api/v1/languages?level=planet", OPERATOR).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_field"));
    let both = app
        .get("/api/v1/languages?q=maya&place=Peto", OPERATOR)
        .await;
    assert_eq!(both.status.as_u16(), 422);
    app.shutdown().await;
}

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

#[tokio::test]
async fn coordinators_set_the_widening_search_and_requests_show_their_tier() {
    use crate::helpers::COORDINATOR;
    use reqwest::Method;
    use serde_json::json;
    let app = spawn_app(&[]).await;
    let default = app.get("/api/v1/routing", OPERATOR).await.expect(200);
    assert_eq!(default["tiers"][0], json!({"reach": "exact", "secs": 30}));
    let token = app.add_interpreter("ana", &[("tzo", 5)]).await;
    assert_eq!(
        app.get("/api/v1/routing", &token).await.status.as_u16(),
        403
    );

    let put = |body: serde_json::Value, who: &'static str| {
        app.call(Method::PUT, "/api/v1/routing", Some(who), Some(body))
    };
    let narrowing = put(
        json!({"tiers": [{"reach": "agrupacion", "secs": 10}, {"reach": "exact"}]}),
        COORDINATOR,
    )
    .await;
    assert_eq!(
        (narrowing.status.as_u16(), narrowing.code()),
        (422, "invalid_field")
    );
    assert!(narrowing.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("widen"));
    let unknown = put(
        json!({"intelligible": {"zap-x-planicie-costera": ["xx-x-nowhere"]}}),
        COORDINATOR,
    )
    .await;
    assert_eq!(unknown.status.as_u16(), 422);
    assert_eq!(put(json!({}), OPERATOR).await.status.as_u16(), 403);

    let mine = json!({
        "tiers": [{"reach": "exact", "secs": 45}, {"reach": "agrupacion"}],
        "intelligible": {"zap-x-planicie-costera": ["zap-x-montana-istmo-alto"]},
    });
    let set = put(mine.clone(), COORDINATOR).await.expect(200);
    assert_eq!(set["tiers"][0]["secs"], 45);
    let now = app.get("/api/v1/routing", COORDINATOR).await.expect(200);
    assert_eq!(now["intelligible"], mine["intelligible"]);

    let r = app.post_request("zapoteco del istmo", "normal").await;
    assert_eq!(r["language"]["tag"], "zap-x-planicie-costera");
    assert_eq!(r["group"], "zap");
    assert_eq!(r["routing"]["tier"], 0);
    assert_eq!(r["routing"]["reach"], "exact");
    assert!(r["routing"]["widens_at"].is_string());
    app.shutdown().await;
}

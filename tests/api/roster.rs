//! What the consoles build on: who a token is, editing an interpreter, coverage.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, COORDINATOR, OPERATOR};

#[tokio::test]
async fn me_names_the_role_of_every_token() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let role = |b: serde_json::Value| b["role"].as_str().unwrap().to_string();
    assert_eq!(
        role(app.get("/api/v1/me", OPERATOR).await.expect(200)),
        "operator"
    );
    assert_eq!(
        role(app.get("/api/v1/me", COORDINATOR).await.expect(200)),
        "coordinator"
    );
    let me = app.get("/api/v1/me", &ana).await.expect(200);
    assert_eq!(me["role"], "interpreter");
    assert_eq!(me["interpreter"]["id"], "ana");
    assert_eq!(me["interpreter"]["status"], "available");
    let nobody = app.get("/api/v1/me", "not-a-token").await;
    assert_eq!(
        (nobody.status.as_u16(), nobody.code()),
        (401, "unauthorized")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_coordinator_edits_an_interpreter_and_routing_follows() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    let maya = app.post_request("maya", "normal").await;
    let edit = |body: serde_json::Value, token: &'static str| {
        app.call(
            Method::PUT,
            "/api/v1/interpreters/ana",
            Some(token),
            Some(body),
        )
    };
    let body = json!({"name": "Ana María López", "phone": "+52 967 123 4567",
        "languages": [{"tag": "tzo", "proficiency": 4}, {"tag": "yua", "proficiency": 5}]});
    let updated = edit(body.clone(), COORDINATOR).await.expect(200);
    assert_eq!(updated["name"], "Ana María López");
    assert_eq!(updated["phone"], "+529671234567");
    assert_eq!(updated["status"], "available", "availability kept");
    assert_eq!(updated["languages"][1]["tag"], "yua");
    // Now a Maya speaker, Ana is offered the waiting Maya request, and her token still works.
    let offer = app.wait_offer("ana", &ana, 2).await;
    assert_eq!(offer["request_id"], maya["id"]);

    let forbidden = edit(body.clone(), OPERATOR).await;
    assert_eq!(forbidden.status.as_u16(), 403);
    let bad = edit(
        json!({"name": "Ana", "phone": "12", "languages": []}),
        COORDINATOR,
    )
    .await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_field"));
    assert!(bad.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("phone"));
    let renamed = edit(
        json!({"id": "bea", "name": "Ana", "phone": "+529671234567",
               "languages": [{"tag": "tzo", "proficiency": 4}]}),
        COORDINATOR,
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 422);
    let missing = app
        .call(
            Method::PUT,
            "/api/v1/interpreters/zoe",
            Some(COORDINATOR),
            Some(body),
        )
        .await;
    assert_eq!(
        (missing.status.as_u16(), missing.code()),
        (404, "not_found")
    );
    let unchanged = app
        .get("/api/v1/interpreters/ana", COORDINATOR)
        .await
        .expect(200);
    assert_eq!(
        unchanged["name"], "Ana María López",
        "bad edits lose nothing"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn coverage_shows_supply_and_unmet_demand() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    app.add_interpreter("bea", &[("tzo", 3)]).await;
    let r = app.post_request("tsotsil", "normal").await;
    let offer = app.wait_offer("ana", &ana, 2).await;
    app.accept(offer["id"].as_str().unwrap(), &ana)
        .await
        .expect(200);
    app.post_request("maya", "urgent").await;

    let forbidden = app.get("/api/v1/coverage", OPERATOR).await;
    assert_eq!(forbidden.status.as_u16(), 403);
    let table = app.get("/api/v1/coverage", COORDINATOR).await.expect(200);
    let lines = table["languages"].as_array().unwrap();
    // Maya: someone waiting and nobody on call, so first.
    assert_eq!(lines[0]["language"]["tag"], "yua");
    assert_eq!(lines[0]["uncovered"], true);
    assert_eq!(lines[0]["waiting"], 1);
    assert_eq!(lines[0]["registered"], 0);
    let tzo = lines
        .iter()
        .find(|l| l["language"]["tag"] == "tzo")
        .unwrap();
    assert_eq!(tzo["registered"], 2);
    assert_eq!(tzo["on_call"], 2);
    assert_eq!(tzo["available"], 1, "ana is in a session");
    assert_eq!(tzo["last_7_days"]["total"], 1);
    assert_eq!(tzo["last_7_days"]["connected"], 1);
    assert!(tzo["last_7_days"]["median_wait_secs"].is_number());
    assert_eq!(r["state"], "queued");
    app.shutdown().await;
}

/// A short on-call window, in real time: availability switches within a second of each
/// boundary, through the whole server.
#[tokio::test]
async fn availability_switches_within_a_second_of_a_window_boundary() {
    use jiff::tz::TimeZone;
    use jiff::{SignedDuration, Timestamp};
    let app = spawn_app(&[]).await;
    let tz = TimeZone::get("America/Mexico_City").unwrap();
    let start = Timestamp::now() + SignedDuration::from_secs(2);
    let end = start + SignedDuration::from_secs(2);
    let civil = |t: Timestamp| tz.to_datetime(t).time().round(jiff::Unit::Second).unwrap();
    let day = match tz.to_datetime(start).date().weekday() {
        jiff::civil::Weekday::Monday => "mon",
        jiff::civil::Weekday::Tuesday => "tue",
        jiff::civil::Weekday::Wednesday => "wed",
        jiff::civil::Weekday::Thursday => "thu",
        jiff::civil::Weekday::Friday => "fri",
        jiff::civil::Weekday::Saturday => "sat",
        jiff::civil::Weekday::Sunday => "sun",
    };
    let body = json!({"id": "ana", "name": "Ana", "phone": "+529671234567",
        "languages": [{"tag": "tzo", "proficiency": 5}],
        "schedule": {"windows": [{"days": [day], "start": civil(start).to_string(), "end": civil(end).to_string()}]}});
    let created = app
        .post("/api/v1/interpreters", COORDINATOR, body)
        .await
        .expect(201);
    assert_eq!(created["status"], "offline");
    assert_eq!(created["schedule"]["time_zone"], "America/Mexico_City");
    // The boundaries as the schedule has them (whole seconds).
    let boundary = |t: Timestamp| t.round(jiff::Unit::Second).unwrap();
    for (want, at) in [("available", boundary(start)), ("offline", boundary(end))] {
        let seen = app
            .wait_for(6, || async {
                let it = app
                    .get("/api/v1/interpreters/ana", COORDINATOR)
                    .await
                    .expect(200);
                (it["status"] == want).then(Timestamp::now)
            })
            .await
            .unwrap_or_else(|| panic!("never {want}"));
        let late = seen.duration_since(at);
        assert!(
            late < SignedDuration::from_secs(1) && late > SignedDuration::from_millis(-50),
            "{want} {late:?} after the boundary"
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn interpreters_add_time_off_and_coordinators_see_the_schedule_grid() {
    let app = spawn_app(&[]).await;
    let ana = app.add_interpreter("ana", &[("tzo", 5)]).await;
    app.post_request("tsotsil", "normal").await;
    app.post_request("maya", "normal").await;

    // Ana takes the rest of today off (she is on call, so she goes offline at once).
    let now =
        jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("America/Mexico_City").unwrap());
    let from = now.datetime() - jiff::SignedDuration::from_mins(1);
    let to = from + jiff::SignedDuration::from_hours(4);
    let it = app
        .post(
            "/api/v1/interpreters/ana/time-off",
            &ana,
            json!({"from": from.to_string(), "to": to.to_string()}),
        )
        .await
        .expect(200);
    assert_eq!(it["schedule"]["exceptions"][0]["kind"], "off");
    assert_eq!(it["status"], "offline");
    let bad = app
        .post(
            "/api/v1/interpreters/ana/time-off",
            &ana,
            json!({"from": to.to_string(), "to": from.to_string()}),
        )
        .await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_field"));
    let other = app.add_interpreter("bea", &[("yua", 5)]).await;
    let forbidden = app
        .post(
            "/api/v1/interpreters/ana/time-off",
            &other,
            json!({"from": from.to_string(), "to": to.to_string()}),
        )
        .await;
    assert_eq!(forbidden.status.as_u16(), 403);

    let grid = app
        .get("/api/v1/coverage/schedule?days=2", COORDINATOR)
        .await
        .expect(200);
    assert_eq!(grid["hours"], 48);
    assert_eq!(grid["time_zone"], "America/Mexico_City");
    let langs = grid["languages"].as_array().unwrap();
    let yua = langs
        .iter()
        .find(|l| l["language"]["tag"] == "yua")
        .unwrap();
    assert_eq!(yua["on_call"].as_array().unwrap().len(), 48);
    assert!(
        yua["on_call"].as_array().unwrap().iter().all(|n| n == 1),
        "bea is on call"
    );
    // Tsotsil is in demand and Ana is off: a gap starting now, soonest first.
    let gaps = grid["gaps"].as_array().unwrap();
    assert_eq!(gaps[0]["language"]["tag"], "tzo", "{gaps:?}");
    assert!(gaps.iter().all(|g| g["language"]["tag"] != "yua"));
    assert_eq!(
        app.get("/api/v1/coverage/schedule?days=30", COORDINATOR)
            .await
            .status
            .as_u16(),
        422
    );
    assert_eq!(
        app.get("/api/v1/coverage/schedule", OPERATOR)
            .await
            .status
            .as_u16(),
        403
    );
    app.shutdown().await;
}

//! The WhatsApp webhook, as Meta calls it: the handshake and signed deliveries.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, COORDINATOR, OPERATOR};

const SECRET: &str = "test-app-secret";
const VERIFY: &str = "test-verify-token";
const CALLER: &str = "5219671234567";

fn delivery(id: &str, from: &str, text: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "123"},
        "contacts": [{"profile": {"name": "Caller"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}]
    }}]}]})
}

async fn post(app: &TestApp, body: &Value, signature: Option<String>) -> (u16, Value) {
    let raw = body.to_string();
    let mut rb = app
        .client
        .post(format!("{}/webhooks/whatsapp", app.base))
        .header("content-type", "application/json")
        .body(raw.clone());
    if let Some(s) = signature {
        rb = rb.header("x-hub-signature-256", s);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn sign(body: &Value) -> String {
    let mac = puente::whatsapp::hmac_sha256(SECRET.as_bytes(), body.to_string().as_bytes());
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

const MAYA: &str = "Bix a beel? Teen ku kaajtal tu kaajil Valladolid, kʼaʼabet in wáantaʼal tumeen yaan talamil ichil in naajil";

#[tokio::test]
async fn a_signed_maya_message_opens_one_chat_request_and_the_number_stays_hidden() {
    let app = spawn_app(&[
        ("PUENTE_WHATSAPP_VERIFY_TOKEN", VERIFY),
        ("PUENTE_WHATSAPP_APP_SECRET", SECRET),
    ])
    .await;
    // The handshake.
    let url = |token: &str| {
        format!("{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", app.base)
    };
    let ok = app.client.get(url(VERIFY)).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app.client.get(url("guess")).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 403);

    let carmen = app.add_interpreter("carmen", &[("yua", 5)]).await;
    let requests = || async {
        app.get("/api/v1/requests", OPERATOR).await.expect(200)["requests"]
            .as_array()
            .unwrap()
            .len()
    };

    // A bad or missing signature: 401, nothing created.
    let body = delivery("wamid.1", CALLER, MAYA);
    let (status, err) = post(&app, &body, Some("sha256=00".into())).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (401, Some("invalid_signature"))
    );
    assert_eq!(post(&app, &body, None).await.0, 401);
    let tampered = delivery("wamid.1", CALLER, "otra cosa");
    assert_eq!(post(&app, &tampered, Some(sign(&body))).await.0, 401);
    assert_eq!(requests().await, 0);

    // Signed: a chat request in Maya, offered to Carmen.
    let (status, answer) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["requests"].as_array().unwrap().len(), 1);
    let id = answer["requests"][0].as_str().unwrap().to_string();
    let req = app.request(&id).await;
    assert_eq!(req["channel"], "chat");
    assert_eq!(req["language"]["tag"], "yua");
    let offer = app.wait_offer("carmen", &carmen, 2).await;

    // WhatsApp retries the same delivery; the caller writes again: still one request.
    let (_, again) = post(&app, &body, Some(sign(&body))).await;
    assert_eq!(again["handled"], 0);
    let more = delivery("wamid.2", CALLER, MAYA);
    let (_, more) = post(&app, &more, Some(sign(&more))).await;
    assert_eq!(
        (
            more["handled"].as_i64(),
            more["requests"].as_array().unwrap().len()
        ),
        (Some(1), 0)
    );
    // Spanish needs no interpreter.
    let es = delivery(
        "wamid.3",
        "5215512345678",
        "Hola, necesito ayuda, me tienen encerrada y no me dejan salir",
    );
    let (_, es) = post(&app, &es, Some(sign(&es))).await;
    assert_eq!(es["requests"].as_array().unwrap().len(), 0);
    assert_eq!(requests().await, 1);

    // Whatever the interpreter can read never carries the caller's number.
    app.accept(offer["id"].as_str().unwrap(), &carmen)
        .await
        .expect(200);
    let seen = [
        offer.to_string(),
        app.get(&format!("/api/v1/requests/{id}"), &carmen)
            .await
            .expect(200)
            .to_string(),
        app.get("/api/v1/interpreters/carmen", &carmen)
            .await
            .expect(200)
            .to_string(),
        app.get("/api/v1/requests", COORDINATOR)
            .await
            .expect(200)
            .to_string(),
    ];
    for s in seen {
        assert!(!s.contains("9671234567"), "the caller's number leaked: {s}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn without_whatsapp_settings_the_webhook_does_not_exist() {
    let app = spawn_app(&[]).await;
    let res = app
        .client
        .post(format!("{}/webhooks/whatsapp", app.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    app.shutdown().await;
}

//! A double of the WhatsApp Cloud API's messages endpoint (`POST /{phone-number-id}/messages`),
//! as much of it as puente uses: it checks the bearer token and the body's shape, answers as
//! Meta documents, and keeps what it was sent.
//!
//! Hand-written on axum (already a dev-dependency) rather than with wiremock: the checks
//! and Meta's error bodies need a custom responder either way, and the tests wait on what
//! was sent (a `watch` channel) instead of polling a recorder.

use std::sync::Arc;
use tokio::sync::watch;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Value};

/// The Graph API's messages endpoint, as much of it as puente uses: checks the bearer
/// token and the body's shape, answers like Meta, and keeps what it was sent.
pub struct Graph {
    pub base: String,
    sent: Arc<watch::Sender<Vec<Value>>>,
}

pub const ACCESS_TOKEN: &str = "EAAG-test-access-token";
pub const PHONE_NUMBER_ID: &str = "106540352242922";

impl Graph {
    pub async fn start() -> Graph {
        let sent = Arc::new(watch::Sender::new(Vec::new()));
        let app = axum::Router::new()
            .route(
                "/v21.0/{phone}/messages",
                axum::routing::post(graph_messages),
            )
            .with_state(sent.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v21.0", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Graph { base, sent }
    }

    /// The variables that turn WhatsApp on, sending through this double.
    pub fn vars(&self, verify: &str, secret: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PUENTE_WHATSAPP_VERIFY_TOKEN", verify.into()),
            ("PUENTE_WHATSAPP_APP_SECRET", secret.into()),
            ("PUENTE_WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN.into()),
            ("PUENTE_WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID.into()),
            ("PUENTE_WHATSAPP_API_BASE", self.base.clone()),
        ]
    }

    pub fn sent(&self) -> Vec<Value> {
        self.sent.borrow().clone()
    }

    /// Wait (5 s at most) for the `n`th message sent (1-based) and return it.
    pub async fn nth(&self, n: usize) -> Value {
        let mut rx = self.sent.subscribe();
        let waited = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            rx.wait_for(|sent| sent.len() >= n),
        )
        .await;
        match waited {
            Ok(Ok(sent)) => sent[n - 1].clone(),
            _ => panic!(
                "only {} messages sent: {:?}",
                self.sent().len(),
                self.sent()
            ),
        }
    }
}

async fn graph_messages(
    State(sent): State<Arc<watch::Sender<Vec<Value>>>>,
    Path(phone): Path<String>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {ACCESS_TOKEN}")) || phone != PHONE_NUMBER_ID {
        let err = json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token", "type": "OAuthException", "code": 190, "fbtrace_id": "AbC"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(err)).into_response();
    }
    let v: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let shaped = v["messaging_product"] == "whatsapp"
        && v["type"] == "text"
        && v["to"].is_string()
        && v["text"]["body"].is_string();
    if !shaped {
        let err = json!({"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100, "fbtrace_id": "AbC"}});
        return (StatusCode::BAD_REQUEST, axum::Json(err)).into_response();
    }
    let to = v["to"].clone();
    let mut count = 0;
    sent.send_modify(|sent| {
        sent.push(v);
        count = sent.len();
    });
    let id = format!("wamid.out.{count}");
    axum::Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}))
        .into_response()
}

/// A webhook delivery of one text message, as Meta sends it.
pub fn delivery(id: &str, from: &str, text: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Caller"}, "wa_id": from}],
        "messages": [{"from": from, "id": id, "timestamp": "1700000000", "type": "text", "text": {"body": text}}]
    }}]}]})
}

/// Meta's `X-Hub-Signature-256` of a body.
pub fn sign(secret: &str, body: &Value) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body.to_string().as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

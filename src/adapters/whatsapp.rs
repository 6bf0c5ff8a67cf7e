//! WhatsApp Cloud API, inbound: the webhook's signature (`X-Hub-Signature-256`: HMAC-SHA256
//! of the raw body with the app secret, compared in constant time), the text messages in
//! Meta's webhook JSON, and the keyed hash that stands for a caller's number.
//!
//! Pure except [`Sender`], which posts messages to the Graph API. `http::whatsapp` is the
//! webhook; `relay` holds the conversations.

use hmac::Mac;
use serde::Deserialize;
use sha2::Sha256;

use secrecy::{ExposeSecret, SecretString};

/// The deployment's WhatsApp settings (`PUENTE_WHATSAPP_*`).
#[derive(Debug, Clone)]
pub struct WhatsAppConfig {
    pub verify_token: SecretString,
    pub app_secret: SecretString,
    pub access_token: Option<SecretString>,
    pub phone_number_id: Option<String>,
    pub api_base: String,
}

pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v21.0";

/// Sends text messages through the Cloud API (`POST {base}/{phone-number-id}/messages`).
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    url: String,
    token: SecretString,
}

impl Sender {
    /// A sender, when the deployment has an access token and a phone number id.
    pub fn new(config: &WhatsAppConfig) -> Option<Sender> {
        let (Some(token), Some(phone)) = (&config.access_token, &config.phone_number_id) else {
            return None;
        };
        Some(Sender {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            url: format!("{}/{phone}/messages", config.api_base),
            token: token.clone(),
        })
    }
}

#[async_trait::async_trait]
impl crate::adapters::bridge::ChatBridge for Sender {
    /// Send `body` to the WhatsApp number `to`. An error says what failed without the
    /// number or the text.
    async fn send_text(
        &self,
        to: &str,
        body: &str,
    ) -> Result<(), crate::adapters::bridge::BridgeError> {
        use crate::adapters::bridge::BridgeError::Unavailable;
        let res = self
            .http
            .post(&self.url)
            .bearer_auth(self.token.expose_secret())
            .json(&serde_json::json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"preview_url": false, "body": body},
            }))
            .send()
            .await
            .map_err(|e| Unavailable(format!("cannot reach the Graph API: {}", e.without_url())))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        // Graph errors carry a numeric code; their messages may quote the recipient.
        let code = res
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["error"]["code"].as_i64());
        Err(Unavailable(format!(
            "Graph API answered {status} (error code {code:?})"
        )))
    }
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

type HmacSha256 = hmac::Hmac<Sha256>;

/// Whether `header` (`sha256=<hex>`) signs `body` with `secret`. Compared in constant time
/// (`hmac`'s `verify_slice`).
pub fn signature_ok(secret: &SecretString, body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The keyed hash that stands for a caller's WhatsApp number: the same caller always gets
/// the same one, and nobody without the app secret can tell the number from it.
pub fn caller_key(secret: &SecretString, number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    hex::encode(hmac_sha256(
        secret.expose_secret().as_bytes(),
        format!("puente caller {digits}").as_bytes(),
    ))
}

/// One text message from a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// WhatsApp's message id (`wamid…`): the same on a retried delivery.
    pub id: String,
    /// The sender's number, as WhatsApp gives it (to be hashed, never kept or logged).
    pub from: String,
    pub text: String,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<ChangeEntry>,
}

#[derive(Deserialize)]
struct ChangeEntry {
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    from: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

/// The text messages in a webhook body (statuses and other kinds are ignored).
pub fn text_messages(body: &[u8]) -> Result<Vec<Incoming>, String> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(payload
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .flat_map(|c| c.value.messages)
        .filter(|m| m.kind == "text")
        .filter_map(|m| {
            m.text.map(|t| Incoming {
                id: m.id,
                from: m.from,
                text: t.body,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signatures_are_checked_whole() {
        let secret = SecretString::from("app-secret");
        let body = br#"{"entry":[]}"#;
        let good = format!("sha256={}", hex::encode(hmac_sha256(b"app-secret", body)));
        assert!(signature_ok(&secret, body, Some(&good)));
        assert!(signature_ok(
            &secret,
            body,
            Some(&good.to_uppercase().replace("SHA256", "sha256"))
        ));
        assert!(!signature_ok(&secret, b"{}", Some(&good)));
        assert!(!signature_ok(&secret, body, Some(&good[..good.len() - 1])));
        assert!(!signature_ok(&secret, body, Some("sha1=abc")));
        assert!(!signature_ok(&secret, body, None));
    }

    #[test]
    fn callers_are_keyed_hashes() {
        let s = SecretString::from("app-secret");
        let a = caller_key(&s, "5219671234567");
        assert_eq!(a, caller_key(&s, "+52 1 967 123 4567"));
        assert_ne!(a, caller_key(&s, "5219671234568"));
        assert_ne!(a, caller_key(&SecretString::from("other"), "5219671234567"));
        assert!(!a.contains("9671234567"));
    }

    #[test]
    fn text_messages_are_read_from_meta_webhook_json() {
        let body = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": "123"},
                "contacts": [{"profile": {"name": "X"}, "wa_id": "5219671234567"}],
                "messages": [
                    {"from": "5219671234567", "id": "wamid.A", "timestamp": "1", "type": "text", "text": {"body": "hola"}},
                    {"from": "5219671234567", "id": "wamid.B", "timestamp": "2", "type": "image", "image": {"id": "9"}}
                ]
            }}]}]
        });
        let got = text_messages(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            got,
            vec![Incoming {
                id: "wamid.A".into(),
                from: "5219671234567".into(),
                text: "hola".into()
            }]
        );
        let statuses = br#"{"entry":[{"changes":[{"value":{"statuses":[{"id":"x"}]}}]}]}"#;
        assert_eq!(text_messages(statuses).unwrap(), vec![]);
        assert!(text_messages(b"not json").is_err());
    }
}

//! `GET`/`POST /webhooks/whatsapp`: Meta's verification handshake, and signed deliveries.
//!
//! A delivery is checked against `X-Hub-Signature-256` before anything is read; a bad one
//! is `401`, logged without the body, and changes nothing. Each text message is handled
//! once, however often WhatsApp retries it (its id is claimed in the store). `relay` takes
//! it from there: it extends the caller's open conversation, or opens a `chat` request when
//! its language needs an interpreter. Nothing logs a number or a text.

use secrecy::ExposeSecret;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::AppError;
use crate::adapters::whatsapp::{caller_key, signature_ok, text_messages};
use crate::app::service::{Service, ServiceError};

fn not_configured() -> AppError {
    AppError::not_found(
        "WhatsApp webhook (set PUENTE_WHATSAPP_VERIFY_TOKEN and PUENTE_WHATSAPP_APP_SECRET)",
    )
}

/// The handshake's query: `hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`.
#[derive(serde::Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's handshake: answer `C` when the token is ours.
pub async fn verify(
    State(svc): State<Arc<Service>>,
    Query(Handshake {
        mode,
        token,
        challenge,
    }): Query<Handshake>,
) -> Result<Response, AppError> {
    let wa = svc.whatsapp.as_ref().ok_or_else(not_configured)?;
    let expected = wa.verify_token.expose_secret().as_bytes();
    let matches = token
        .as_deref()
        .is_some_and(|t| bool::from(subtle::ConstantTimeEq::ct_eq(t.as_bytes(), expected)));
    match (mode.as_deref(), matches, challenge) {
        (Some("subscribe"), true, Some(c)) => {
            Ok((StatusCode::OK, [("content-type", "text/plain")], c).into_response())
        }
        _ => {
            tracing::warn!("WhatsApp verification with a wrong token");
            Err(ServiceError::Forbidden.into())
        }
    }
}

/// A signed delivery from Meta.
pub async fn deliver(
    State(svc): State<Arc<Service>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let wa = svc.whatsapp.as_ref().ok_or_else(not_configured)?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature_ok(&wa.app_secret, &body, signature) {
        tracing::warn!(
            bytes = body.len(),
            "WhatsApp delivery with a bad signature refused"
        );
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "error-invalid-signature",
        ));
    }
    let messages = text_messages(&body).map_err(|detail| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "error-malformed-json",
        )
        .arg("detail", detail)
    })?;
    let mut requests = Vec::new();
    let mut handled = 0;
    for m in messages {
        // Claimed for as long as WhatsApp may retry it; released if handling it fails, so
        // that the retry (after our error status) is handled rather than dropped.
        if !svc.claim_delivery(&m.id).await? {
            continue; // a retried delivery
        }
        handled += 1;
        let caller = caller_key(&wa.app_secret, &m.from);
        match svc.chat_from_caller(&caller, &m.from, &m.text).await {
            Ok(Some(req)) => requests.push(req.id.to_string()),
            Ok(None) => {}
            Err(e) => {
                if let Err(release) = svc.release_delivery(&m.id).await {
                    tracing::error!(error = %release, "cannot release a WhatsApp message for its retry");
                }
                return Err(e.into());
            }
        }
    }
    Ok(axum::Json(json!({ "handled": handled, "requests": requests })).into_response())
}

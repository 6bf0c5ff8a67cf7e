//! API errors: one [`AppError`] type, one table of codes → statuses, and a middleware that
//! renders the human message in the caller's language.
//!
//! Every non-2xx response has the body `{"error": {"code", "message", ...}}`. Handlers and
//! extractors return `AppError`; its `IntoResponse` only sets the status and stashes the
//! error in the response's extensions, and [`render`] (which sees the request's
//! `Accept-Language`) writes the body. 5xx errors say "internal error" to the client and log
//! the cause with the request id.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fluent_bundle::FluentValue;
use serde_json::{json, Map, Value};

use crate::adapters::store::StoreError;
use crate::app::service::{Service, ServiceError};
use crate::domain::named::Named;

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    /// Fluent message id and its arguments.
    pub message_id: &'static str,
    pub args: Vec<(&'static str, String)>,
    /// More fields for the error object (`field`, `candidates`, …).
    pub extra: Map<String, Value>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message_id: &'static str) -> AppError {
        AppError {
            status,
            code,
            message_id,
            args: Vec::new(),
            extra: Map::new(),
        }
    }

    pub fn arg(mut self, k: &'static str, v: impl Into<String>) -> AppError {
        self.args.push((k, v.into()));
        self
    }

    pub fn field(mut self, k: &str, v: Value) -> AppError {
        self.extra.insert(k.to_string(), v);
        self
    }

    pub fn invalid_field(field: &str, detail: impl Into<String>) -> AppError {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "error-invalid-field",
        )
        .arg("field", field)
        .arg("detail", detail)
        .field("field", json!(field))
    }

    pub fn not_found(what: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "error-not-found").arg("what", what)
    }

    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "error-internal",
        )
    }
}

impl From<crate::app::auth::Forbidden> for AppError {
    fn from(_: crate::app::auth::Forbidden) -> AppError {
        ServiceError::Forbidden.into()
    }
}

// One piece on purpose: the table of every service error to its status, code and
// message, the only place that maps them (an invariant of ARCHITECTURE.md).
impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> AppError {
        use StatusCode as S;
        match e {
            ServiceError::Unauthorized => {
                AppError::new(S::UNAUTHORIZED, "unauthorized", "error-unauthorized")
            }
            ServiceError::Forbidden => AppError::new(S::FORBIDDEN, "forbidden", "error-forbidden"),
            ServiceError::NotFound(what) => AppError::not_found(what),
            ServiceError::AlreadyExists(what) => {
                AppError::new(S::CONFLICT, "already_exists", "error-already-exists")
                    .arg("what", what)
            }
            ServiceError::InvalidField { field, detail } => AppError::invalid_field(&field, detail),
            ServiceError::UnknownLanguage(q) => AppError::new(
                S::UNPROCESSABLE_ENTITY,
                "unknown_language",
                "error-unknown-language",
            )
            .arg("query", q),
            ServiceError::AmbiguousLanguage { query, candidates } => with_candidates(
                AppError::new(
                    S::UNPROCESSABLE_ENTITY,
                    "ambiguous_language",
                    "error-ambiguous-language",
                )
                .arg("query", query),
                &candidates,
            ),
            ServiceError::OfferClosed(o) => {
                let outcome = o
                    .outcome
                    .map(|x| serde_json::to_value(x).unwrap_or_default())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "expired".into());
                AppError::new(S::CONFLICT, "offer_closed", "error-offer-closed")
                    .arg("outcome", outcome.clone())
                    .field("outcome", json!(outcome))
            }
            ServiceError::InvalidState(st) => {
                AppError::new(S::CONFLICT, "invalid_state", "error-invalid-state")
                    .arg("state", st.name())
                    .field("state", json!(st.name()))
            }
            ServiceError::UncertainText(candidates) => with_candidates(
                AppError::new(
                    S::UNPROCESSABLE_ENTITY,
                    "ambiguous_language",
                    "error-uncertain-text",
                ),
                &candidates,
            ),
            ServiceError::NoLetters => {
                AppError::new(S::UNPROCESSABLE_ENTITY, "no_letters", "error-no-letters")
                    .field("field", json!("text"))
            }
            ServiceError::NoInterpreterNeeded(tag) => AppError::new(
                S::UNPROCESSABLE_ENTITY,
                "no_interpreter_needed",
                "error-no-interpreter-needed",
            )
            .arg("tag", tag.to_string())
            .field("candidates", json!([{"tag": tag}])),
            ServiceError::InterpreterInSession(r) => AppError::new(
                S::CONFLICT,
                "interpreter_in_session",
                "error-interpreter-in-session",
            )
            .arg("request", r.to_string()),
            ServiceError::NotAChat(r) => {
                AppError::new(S::CONFLICT, "not_a_chat", "error-not-a-chat")
                    .arg("request", r.to_string())
            }
            ServiceError::TooManyAttempts => AppError::new(
                S::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "error-too-many-attempts",
            ),
            ServiceError::TooManyStreams(limit) => AppError::new(
                S::TOO_MANY_REQUESTS,
                "too_many_streams",
                "error-too-many-streams",
            )
            .arg("limit", limit.to_string()),
            ServiceError::StaleProfile => AppError::new(
                S::PRECONDITION_FAILED,
                "stale_profile",
                "error-stale-profile",
            ),
            ServiceError::Store(StoreError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "store unavailable");
                AppError::new(
                    S::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "error-store-unavailable",
                )
            }
            ServiceError::Store(StoreError::Backend(cause)) => AppError::internal(cause),
            ServiceError::Store(other) => AppError::internal(other),
        }
    }
}

/// List candidate languages in the message and, as `{"tag"}` objects, in the body (the
/// handler that knows the caller's locale may replace them with named ones).
fn with_candidates(e: AppError, candidates: &[crate::domain::language::LanguageTag]) -> AppError {
    let list = candidates
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    e.arg("candidates", list).field(
        "candidates",
        Value::Array(candidates.iter().map(|t| json!({"tag": t})).collect()),
    )
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        res.extensions_mut().insert(Arc::new(self));
        res
    }
}

/// An error response made by the framework or a layer rather than a handler (a path that
/// is not UTF-8, a body over the limit, a timeout): the same JSON body as every other
/// error. None when the response already is JSON.
async fn framework_error(res: &mut Response) -> Option<AppError> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return None;
    }
    let body = std::mem::take(res.body_mut());
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let status = res.status();
    let err = match status {
        StatusCode::PAYLOAD_TOO_LARGE => super::extract::payload_too_large(),
        StatusCode::REQUEST_TIMEOUT => {
            AppError::new(status, "request_timeout", "error-request-timeout")
        }
        StatusCode::NOT_FOUND => AppError::new(status, "not_found", "error-route-not-found"),
        StatusCode::METHOD_NOT_ALLOWED => {
            AppError::new(status, "method_not_allowed", "error-method-not-allowed")
        }
        s if s.is_client_error() => {
            AppError::new(status, "bad_request", "error-bad-request").field("detail", json!(text))
        }
        _ => AppError::internal(format!("{status}: {text}")),
    };
    Some(err)
}

/// Middleware: write error bodies in the caller's language. The request id and the log
/// span come from the layers outside it ([`super::router`]).
pub async fn render(State(service): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let request_id = super::request_id(&req).to_string();
    let locale = service.prompts.negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut res = next.run(req).await;
    let err = match res.extensions_mut().remove::<Arc<AppError>>() {
        Some(err) => err,
        None if res.status().is_client_error() || res.status().is_server_error() => {
            match framework_error(&mut res).await {
                Some(err) => Arc::new(err),
                None => return res,
            }
        }
        None => return res,
    };
    let mut args: Vec<(&str, FluentValue<'_>)> = err
        .args
        .iter()
        .map(|(k, v)| (*k, FluentValue::from(v.as_str())))
        .collect();
    args.push(("request_id", FluentValue::from(request_id.as_str())));
    let message = service.prompts.render(locale, err.message_id, &args);
    let mut body = err.extra.clone();
    body.insert("code".into(), json!(err.code));
    body.insert("message".into(), json!(message));
    let status = err.status;
    let mut out = (status, axum::Json(json!({ "error": body }))).into_response();
    for (k, v) in res.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

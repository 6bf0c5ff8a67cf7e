//! Extractors that fail with [`AppError`] (never a plain-text framework error): the JSON
//! body, the caller's identity from the bearer token, and the negotiated locale.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::BODY_LIMIT;
use crate::app::auth::{Coordinator, Operator, Principal};
use crate::app::service::{Service, ServiceError};
use crate::logic::prompts::Locale;

/// A JSON body; malformed JSON is `400 malformed_json`, a wrong shape `422 invalid_body`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> AppError {
    match r {
        JsonRejection::JsonSyntaxError(e) => AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "error-malformed-json",
        )
        .arg("detail", source_text(&e)),
        JsonRejection::JsonDataError(e) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "error-invalid-body",
        )
        .arg("detail", source_text(&e)),
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "error-unsupported-media-type",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            payload_too_large()
        }
        other => AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "error-malformed-json",
        )
        .arg("detail", other.body_text()),
    }
}

pub fn payload_too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "error-payload-too-large",
    )
    .arg("limit", BODY_LIMIT.to_string())
}

/// serde's own words (line and column, what was expected), without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Query parameters; a bad one is `400 invalid_query`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "error-invalid-query",
            )
            .arg("detail", source_text(&e))),
            Err(other) => Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "error-invalid-query",
            )
            .arg("detail", other.body_text())),
        }
    }
}

/// The authenticated caller. No token or an unknown one is `401`.
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<Service>> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<super::serve::Peer>()
            .map(|p| p.0.ip());
        let now = std::time::Instant::now();
        if peer.is_some_and(|ip| service.throttle.blocked(ip, now)) {
            return Err(ServiceError::TooManyAttempts.into());
        }
        match service.authenticate(bearer(parts)).await {
            Err(ServiceError::Unauthorized) => {
                if let Some(ip) = peer {
                    service.throttle.failed(ip, now);
                    // The address, never the token.
                    tracing::warn!(client = %ip, "authentication failed");
                }
                Err(ServiceError::Unauthorized.into())
            }
            Err(e) => Err(e.into()),
            Ok(who) => Ok(Caller(who)),
        }
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
}

/// The caller's token, hashed (for checks that outlive the request, such as a stream's).
pub struct Token(pub Option<crate::domain::ids::TokenHash>);

impl<S: Send + Sync> FromRequestParts<S> for Token {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Token(bearer(parts).map(crate::domain::ids::TokenHash::of)))
    }
}

/// The locale negotiated from `Accept-Language`.
pub struct Lang(pub Locale);

impl FromRequestParts<Arc<Service>> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(Lang(service.prompts.negotiate(header)))
    }
}

/// A caller who must be an operator: `403` before the body is even read otherwise.
pub struct OperatorCaller(pub Operator);

/// A caller who must be a coordinator: `403` before the body is even read otherwise.
pub struct CoordinatorCaller(pub Coordinator);

impl FromRequestParts<Arc<Service>> for OperatorCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        let Caller(who) = Caller::from_request_parts(parts, service).await?;
        Ok(OperatorCaller(who.operator()?.clone()))
    }
}

impl FromRequestParts<Arc<Service>> for CoordinatorCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Self, Self::Rejection> {
        let Caller(who) = Caller::from_request_parts(parts, service).await?;
        Ok(CoordinatorCaller(who.coordinator()?.clone()))
    }
}

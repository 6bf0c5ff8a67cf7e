//! The HTTP API of API.md (`/api/v1`), its error bodies, and the live event stream.
//!
//! Layout: `handlers` (one function per endpoint), `extract` (body, token and locale
//! extractors that fail with JSON errors), `views` (JSON for each domain object),
//! `events` (server-sent events), `error` (codes, statuses, localised messages).

mod console;
pub(crate) mod error;
mod events;
mod extract;
mod handlers;
pub(crate) mod serve;
mod views;
mod whatsapp;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use std::time::Duration;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::service::Service;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Limits on what one client may hold of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's head must arrive within this (slow clients are closed).
    pub header_read_timeout: std::time::Duration,
    /// A non-streaming request must be answered within this.
    pub request_timeout: std::time::Duration,
    /// Open connections at most (also kept below the process's descriptor limit).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

pub fn router(service: Arc<Service>, limits: &Limits) -> Router {
    use handlers as h;
    let api = Router::new()
        .route("/me", get(h::me))
        .route("/coverage", get(h::coverage))
        .route("/coverage/schedule", get(h::schedule_grid))
        .route("/interpreters/{id}/time-off", post(h::add_time_off))
        .route("/routing", get(h::routing).put(h::set_routing))
        .route("/languages", get(h::languages))
        .route("/detect", post(h::detect))
        .route(
            "/interpreters",
            post(h::create_interpreter).get(h::list_interpreters),
        )
        .route(
            "/interpreters/{id}",
            get(h::get_interpreter)
                .put(h::update_interpreter)
                .patch(h::patch_interpreter)
                .delete(h::delete_interpreter),
        )
        .route("/interpreters/{id}/availability", put(h::set_availability))
        .route("/interpreters/{id}/offers", get(h::interpreter_offers))
        .route("/offers/{id}/accept", post(h::accept_offer))
        .route("/offers/{id}/decline", post(h::decline_offer))
        .route("/requests", post(h::create_request).get(h::list_requests))
        .route("/requests/{id}", get(h::get_request))
        .route("/requests/{id}/cancel", post(h::cancel_request))
        .route("/requests/{id}/complete", post(h::complete_request))
        .route("/requests/{id}/bridge", post(h::bridge_request))
        .route(
            "/requests/{id}/messages",
            get(h::chat_messages).post(h::send_chat),
        )
        .route("/conversations", get(h::conversations))
        .route(
            "/conversations/{id}/messages",
            get(h::chat_messages).post(h::send_chat),
        )
        .route("/conversations/{id}/request", post(h::ask_interpreter))
        .route("/events", get(events::stream));
    Router::new()
        .route("/healthz", get(h::healthz))
        .route("/readyz", get(h::readyz))
        .route(
            "/webhooks/whatsapp",
            get(whatsapp::verify).post(whatsapp::deliver),
        )
        .nest("/api/v1", api)
        .merge(console::router())
        .fallback(h::no_route)
        .method_not_allowed_fallback(h::wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A response must start within the limit; an event stream's body is not timed.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            service.clone(),
            error::render,
        ))
        // Requests, conversations and interpreters are personal data: no cache keeps any
        // answer but the console's script and stylesheet (which say `no-cache` themselves).
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_request(())
                .on_response(log_response)
                .on_failure(()),
        )
        // Outermost: the id is set before the span opens. An id a proxy sent is kept.
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(service)
}

/// One log span per HTTP request, with its id. The path only: query strings may carry what
/// an operator typed.
fn span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request_id(req);
    tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path())
}

/// The id [`SetRequestIdLayer`] gave `req` ("-" outside that layer).
pub(crate) fn request_id<B>(req: &axum::http::Request<B>) -> &str {
    req.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
}

fn log_response<B>(res: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
    let status = res.status().as_u16();
    let micros = latency.as_micros() as u64;
    if res.status().is_server_error() {
        tracing::error!(status, micros, "request failed");
    } else {
        tracing::debug!(status, micros, "request done");
    }
}

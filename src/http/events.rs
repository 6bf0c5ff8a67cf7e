//! `GET /api/v1/events`: the live stream (server-sent events).
//!
//! Operators and coordinators see every request change; coordinators also see roster
//! changes (`interpreter`, `interpreter_removed`), routing changes (`routing`) and an
//! `alert` when a request goes unfilled or a coverage gap nears; an
//! interpreter sees its own offers, its own status and the requests it is connected to.
//! Each event's data is the same JSON as the matching GET endpoint, rendered in the
//! subscriber's locale. A subscriber too slow to keep up gets a `lagged` event and should
//! re-read the state it shows.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::error::AppError;
use super::extract::{Caller, Lang, Token};
use super::views;
use crate::app::auth::Principal;
use crate::app::service::{Notice, Service, ServiceError, StreamSlot};
use crate::domain::ids::TokenHash;
use crate::domain::request::RequestState;
use crate::logic::prompts::Locale;

pub async fn stream(
    State(svc): State<Arc<Service>>,
    Token(token): Token,
    Caller(who): Caller,
    Lang(locale): Lang,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    // Caller succeeded, so there is a token.
    let token = token.ok_or(ServiceError::Unauthorized)?;
    let slot = svc
        .open_stream(token.clone())
        .ok_or(ServiceError::TooManyStreams(svc.limits.streams_per_token))?;
    let rx = svc.bus.subscribe();
    let hello = Event::default()
        .event("ready")
        .data(json!({"locale": locale.tag()}).to_string());
    let live = Live {
        svc,
        who,
        token,
        rx,
        ready: vec![hello],
        _slot: slot,
    };
    let events = stream::unfold(live, move |mut live| async move {
        loop {
            if !live.ready.is_empty() {
                let ev = live.ready.remove(0);
                return Some((Ok(ev), live));
            }
            let received = tokio::select! {
                r = live.rx.recv() => r,
                _ = live.svc.stopped() => return None,
            };
            match received {
                // The interpreter left the roster: their stream ends with them.
                Ok(notice) if matches!(&*notice, Notice::Removed(id) if live.who.is_interpreter(id)) => {
                    return None
                }
                Ok(notice) => {
                    let events = render(&live.svc, &live.who, &notice, locale).await;
                    // Re-check the token before it is sent anything: a token revoked
                    // meanwhile (or whose id was given to someone new) ends the stream.
                    if !events.is_empty() && !live.token_holds().await {
                        return None;
                    }
                    live.ready = events;
                }
                Err(RecvError::Lagged(n)) => {
                    live.ready.push(
                        Event::default()
                            .event("lagged")
                            .data(json!({"missed": n}).to_string()),
                    );
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One subscriber's stream.
struct Live {
    svc: Arc<Service>,
    who: Principal,
    token: TokenHash,
    rx: tokio::sync::broadcast::Receiver<Arc<Notice>>,
    ready: Vec<Event>,
    /// Counts against the token's limit of streams while the stream lives.
    _slot: StreamSlot,
}

impl Live {
    /// Whether the stream's token still stands for its subscriber. A store that does not
    /// answer does not end the stream (it is not a revocation).
    async fn token_holds(&self) -> bool {
        self.svc
            .still_valid(&self.token, &self.who)
            .await
            .unwrap_or(true)
    }
}

/// The events a notice makes for this subscriber (often none).
async fn render(svc: &Service, who: &Principal, notice: &Notice, locale: Locale) -> Vec<Event> {
    let event =
        |kind: &str, data: serde_json::Value| Event::default().event(kind).data(data.to_string());
    let (kind, data) = match (notice, who) {
        (Notice::Routing(routing), Principal::Coordinator(_)) => ("routing", json!(routing)),
        (Notice::Alert(alert), Principal::Coordinator(_)) => ("alert", json!(alert)),
        (Notice::Removed(id), Principal::Coordinator(_)) => {
            ("interpreter_removed", json!({ "id": id }))
        }
        (Notice::Request(n), Principal::Operator(_) | Principal::Coordinator(_)) => {
            // Where a waiting request stands came with the change; the view is rendered
            // once per locale for every stream.
            let r = &n.request;
            let view = n
                .staff_view(locale, views::request(svc, r, n.place.as_ref(), locale))
                .await;
            if matches!(who, Principal::Coordinator(_)) && r.state == RequestState::Unfilled {
                let alert = json!({"kind": "unfilled", "request": view});
                return vec![event("request", view), event("alert", alert)];
            }
            ("request", view)
        }
        (Notice::Request(n), Principal::Interpreter(me))
            if n.request.interpreter.as_ref() == Some(me.id()) =>
        {
            (
                "request",
                views::request(svc, &n.request, None, locale).await,
            )
        }
        (Notice::Offer(o), Principal::Interpreter(me)) if &o.interpreter == me.id() => {
            svc.offers_seen(me, std::slice::from_ref(o)).await;
            ("offer", views::offer(svc, o, locale))
        }
        (Notice::Offer(o), Principal::Coordinator(_)) => ("offer", views::offer(svc, o, locale)),
        // Operators read every conversation; an interpreter the one of their session.
        (Notice::Chat(m), _)
            if matches!(who, Principal::Operator(_))
                || matches!(who, Principal::Interpreter(me) if m.interpreter.as_ref() == Some(me.id())) =>
        {
            match svc.readable_message(m.clone()) {
                Some(r) => ("message", views::chat_message(&r)),
                None => return Vec::new(),
            }
        }
        (Notice::Interpreter(it, reason), _)
            if matches!(who, Principal::Coordinator(_)) || who.is_interpreter(&it.id) =>
        {
            let mut v = views::interpreter(svc, it, locale);
            v["reason"] = json!(reason);
            ("interpreter", v)
        }
        _ => return Vec::new(),
    };
    vec![event(kind, data)]
}

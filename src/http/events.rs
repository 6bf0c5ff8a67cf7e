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

use super::extract::{Caller, Lang};
use super::views;
use crate::auth::Principal;
use crate::prompts::Locale;
use crate::request::RequestState;
use crate::service::{Notice, Service};

pub async fn stream(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    Lang(locale): Lang,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = svc.bus.subscribe();
    let hello = Event::default()
        .event("ready")
        .data(json!({"locale": locale.tag()}).to_string());
    let events = stream::unfold(
        (svc, who, rx, vec![hello]),
        move |(svc, who, mut rx, mut ready)| async move {
            loop {
                if !ready.is_empty() {
                    let ev = ready.remove(0);
                    return Some((Ok(ev), (svc, who, rx, ready)));
                }
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = svc.stopped() => return None,
                };
                match received {
                    Ok(notice) => ready = render(&svc, &who, &notice, locale).await,
                    Err(RecvError::Lagged(n)) => {
                        ready.push(
                            Event::default()
                                .event("lagged")
                                .data(json!({"missed": n}).to_string()),
                        );
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The events a notice makes for this subscriber (often none).
async fn render(svc: &Service, who: &Principal, notice: &Notice, locale: Locale) -> Vec<Event> {
    let event =
        |kind: &str, data: serde_json::Value| Event::default().event(kind).data(data.to_string());
    let (kind, data) = match (notice, who) {
        (Notice::Routing(routing), Principal::Coordinator) => ("routing", json!(routing)),
        (Notice::Alert(alert), Principal::Coordinator) => ("alert", alert.clone()),
        (Notice::Removed(id), Principal::Coordinator) => {
            ("interpreter_removed", json!({ "id": id }))
        }
        (Notice::Request(r), Principal::Operator | Principal::Coordinator) => {
            // Only a waiting request has a place in the queue to show.
            let queue = match r.state.is_pending() {
                true => svc.queue_info().await.ok(),
                false => None,
            };
            let view =
                views::request(svc, r, queue.as_ref().and_then(|q| q.get(&r.id)), locale).await;
            if matches!(who, Principal::Coordinator) && r.state == RequestState::Unfilled {
                let alert = json!({"kind": "unfilled", "request": view});
                return vec![event("request", view), event("alert", alert)];
            }
            ("request", view)
        }
        (Notice::Request(r), Principal::Interpreter(me)) if r.interpreter.as_ref() == Some(me) => {
            ("request", views::request(svc, r, None, locale).await)
        }
        (Notice::Offer(o), Principal::Interpreter(me)) if &o.interpreter == me => {
            ("offer", views::offer(svc, o, locale))
        }
        (Notice::Offer(o), Principal::Coordinator) => ("offer", views::offer(svc, o, locale)),
        // Operators read every conversation; an interpreter the one of their session.
        (Notice::Chat(m), _)
            if matches!(who, Principal::Operator)
                || matches!(who, Principal::Interpreter(me) if m.interpreter.as_ref() == Some(me)) =>
        {
            match svc.readable_message(m.clone()) {
                Some(r) => ("message", views::chat_message(&r)),
                None => return Vec::new(),
            }
        }
        (Notice::Interpreter(it, reason), _)
            if matches!(who, Principal::Coordinator) || who.is_interpreter(&it.id) =>
        {
            let mut v = views::interpreter(svc, it, locale);
            v["reason"] = json!(reason);
            ("interpreter", v)
        }
        _ => return Vec::new(),
    };
    vec![event(kind, data)]
}

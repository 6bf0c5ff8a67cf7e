//! `GET /api/v1/events`: the live stream (server-sent events).
//!
//! Operators and coordinators see every request change; coordinators also see roster
//! changes; an interpreter sees its own offers, its own status and the requests it is
//! connected to. Each event's data is the same JSON as the matching GET endpoint, rendered
//! in the subscriber's locale. A subscriber too slow to keep up gets a `lagged` event and
//! should re-read the state it shows.

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
        (svc, who, rx, Some(hello)),
        move |(svc, who, mut rx, first)| async move {
            if let Some(ev) = first {
                return Some((Ok(ev), (svc, who, rx, None)));
            }
            loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = svc.stopped() => return None,
                };
                match received {
                    Ok(notice) => {
                        if let Some(ev) = render(&svc, &who, &notice, locale).await {
                            return Some((Ok(ev), (svc, who, rx, None)));
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        let ev = Event::default()
                            .event("lagged")
                            .data(json!({"missed": n}).to_string());
                        return Some((Ok(ev), (svc, who, rx, None)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn render(svc: &Service, who: &Principal, notice: &Notice, locale: Locale) -> Option<Event> {
    let (kind, data) = match (notice, who) {
        (Notice::Request(r), Principal::Operator | Principal::Coordinator) => {
            let queue = svc.queue_info().await.ok();
            let q = queue.as_ref().and_then(|q| q.get(&r.id));
            ("request", views::request(svc, r, q, locale).await)
        }
        (Notice::Request(r), Principal::Interpreter(me)) if r.interpreter.as_ref() == Some(me) => {
            ("request", views::request(svc, r, None, locale).await)
        }
        (Notice::Offer(o), Principal::Interpreter(me)) if &o.interpreter == me => {
            ("offer", views::offer(svc, o, locale))
        }
        (Notice::Offer(o), Principal::Coordinator) => ("offer", views::offer(svc, o, locale)),
        (Notice::Interpreter(it, reason), Principal::Coordinator) => {
            let mut v = views::interpreter(svc, it, locale);
            v["reason"] = json!(reason);
            ("interpreter", v)
        }
        (Notice::Interpreter(it, reason), Principal::Interpreter(me)) if &it.id == me => {
            let mut v = views::interpreter(svc, it, locale);
            v["reason"] = json!(reason);
            ("interpreter", v)
        }
        _ => return None,
    };
    Some(Event::default().event(kind).data(data.to_string()))
}

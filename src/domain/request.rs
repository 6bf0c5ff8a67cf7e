//! Requests for an interpreter: [`Request`], its [`RequestId`], [`Priority`], [`Channel`] and
//! the [`RequestState`] machine of API.md.
//!
//! `queued` → `offered` → `connected` → `completed`, plus `cancelled` and `unfilled`.
//! Only the store changes a request's state; this module says which changes are legal.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::ids::InterpreterId;
use crate::domain::ids::RequestId;
use crate::domain::language::LanguageTag;

/// Urgent requests are served before normal ones, whatever their age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    // Declared first so that it sorts first.
    Urgent,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Chat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Queued,
    Offered,
    Connected,
    Completed,
    Cancelled,
    Unfilled,
}

crate::domain::named::named!(Priority, "priority", Urgent => "urgent", Normal => "normal");
crate::domain::named::named!(Channel, "channel", Phone => "phone", Chat => "chat");
crate::domain::named::named!(
    RequestState,
    "state",
    Queued => "queued",
    Offered => "offered",
    Connected => "connected",
    Completed => "completed",
    Cancelled => "cancelled",
    Unfilled => "unfilled",
);

impl RequestState {
    /// Waiting for an interpreter (the matcher's business).
    pub fn is_pending(self) -> bool {
        matches!(self, RequestState::Queued | RequestState::Offered)
    }

    /// Nothing more will happen to the request.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestState::Completed | RequestState::Cancelled | RequestState::Unfilled
        )
    }
}

/// An operator's request for an interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub language: LanguageTag,
    pub priority: Priority,
    pub channel: Channel,
    pub state: RequestState,
    pub interpreter: Option<InterpreterId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub connected_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// How many offers were made for this request so far.
    pub offers_made: u32,
    /// The agrupación of `language`, set when the request is made: how far the widening
    /// search may go (see `routing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<LanguageTag>,
    /// The widening tier reached so far; each widening is a change, hence an event.
    #[serde(default)]
    pub tier: u8,
    /// When the operator confirmed that the interpreter is on the call (manual bridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridged_at: Option<Timestamp>,
    /// The instance whose telephone bridge holds the caller's call, under a lease that
    /// instance renews: when the lease lapses (the instance died), the call is gone and
    /// another instance finishes the request (`EndReason::BridgeLost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    /// Why a request ended other than by someone's choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
}

/// Why a request ended without anyone asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The instance that held the call died: the call was lost with it.
    BridgeLost,
}

impl Request {
    pub fn new(
        language: LanguageTag,
        priority: Priority,
        channel: Channel,
        now: Timestamp,
    ) -> Request {
        Request {
            id: RequestId::generate(),
            language,
            priority,
            channel,
            state: RequestState::Queued,
            interpreter: None,
            held_by: None,
            end_reason: None,
            created_at: now,
            updated_at: now,
            connected_at: None,
            finished_at: None,
            offers_made: 0,
            group: None,
            tier: 0,
            bridged_at: None,
        }
    }
}

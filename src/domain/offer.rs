//! Offers: one interpreter asked to take one request, with a deadline.
//!
//! An offer is open until it is accepted, declined, expires at its deadline, or is
//! withdrawn (another interpreter won the request, the request was cancelled, or the
//! interpreter went offline). Its outcome never changes once set.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::ids::InterpreterId;
use crate::domain::ids::OfferId;
use crate::domain::ids::RequestId;
use crate::domain::language::LanguageTag;
use crate::domain::request::Priority;

/// How an offer closed. `None` in [`Offer::outcome`] means it is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Declined,
    Expired,
    /// Closed by something else: another interpreter accepted, the request was cancelled
    /// or completed, the interpreter went offline or was removed.
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub request: RequestId,
    pub interpreter: InterpreterId,
    pub language: LanguageTag,
    pub priority: Priority,
    pub created_at: Timestamp,
    pub deadline: Timestamp,
    pub outcome: Option<Outcome>,
    pub closed_at: Option<Timestamp>,
}

impl Offer {
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }
}

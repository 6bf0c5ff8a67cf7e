//! Bridges: how an accepted interpreter is joined to the caller.
//!
//! The router core never knows which bridge a deployment uses. A telephone bridge
//! implements [`CallBridge`]: it reports callers who arrive and what happens to the legs it
//! was asked to ring ([`LegEvent`]), and it invites, prompts, joins and hangs up when told
//! to. `crate::app::calls` drives any `CallBridge` from the service's offers and requests.
//! [`ari`] is the Asterisk implementation. Without one, the manual bridge is the default:
//! the operator dials the interpreter and confirms through the API ([`crate::app::service::Service::bridge`]).
//!
//! Chats are the other kind of bridge: [`ChatBridge`] is how puente writes to a chat caller
//! (WhatsApp's Cloud API in [`crate::adapters::whatsapp::Sender`]); [`crate::app::service::chat`] holds the
//! conversations and uses it.

pub mod ari;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// A caller's call, as the bridge knows it (for Asterisk: the caller's channel id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub String);

/// One leg the bridge rang: an interpreter's or an operator's phone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub String);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a leg ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegEnd {
    /// The phone was busy.
    Busy,
    /// It rang until the timeout.
    NoAnswer,
    /// It could not be reached at all (unknown endpoint, congestion, unavailable).
    Failed,
    /// It was answered, then hung up (or hung up by us).
    HungUp,
}

/// What happened on the telephone side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// A caller reached puente; `args` are what the dialplan passed (the language first,
    /// then optionally `urgent`). The caller is not answered yet.
    CallerArrived { call: CallId, args: Vec<String> },
    /// The caller's side of the call ended.
    CallerGone { call: CallId },
    /// An invited leg (rung for `call`) answered: a prompt can be played and digits read.
    Answered { call: CallId, leg: LegId },
    /// A keypad digit on a leg.
    Digit {
        call: CallId,
        leg: LegId,
        digit: char,
    },
    /// A prompt could not be played on a leg (its sound is not installed): the interpreter
    /// hears nothing.
    PromptFailed {
        call: CallId,
        leg: LegId,
        media: String,
    },
    /// An invited leg ended: not reached, or hung up.
    Ended {
        call: CallId,
        leg: LegId,
        why: LegEnd,
    },
    /// The connection to the PBX was lost and is back: events may have been missed.
    /// `calls` and `legs` list what still exists; anything else ended meanwhile.
    Resynced {
        calls: HashSet<CallId>,
        legs: HashSet<LegId>,
    },
}

/// One prompt being played.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlaybackId(pub String);

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The PBX cannot be reached or refused the request.
    #[error("bridge unavailable: {0}")]
    Unavailable(String),
    /// The call or leg no longer exists.
    #[error("{0} is gone")]
    Gone(String),
}

/// A telephone bridge (a PBX). Every method is idempotent enough to call on a leg that may
/// have ended meanwhile: hanging up a gone leg is not an error.
#[async_trait]
pub trait CallBridge: Send + Sync {
    /// Answer an arrived caller and hold them in a conference of their own.
    async fn take_call(&self, call: &CallId) -> Result<(), BridgeError>;
    /// Ring `endpoint` for at most `timeout`; its fate arrives as [`LegEvent`]s.
    async fn invite(
        &self,
        call: &CallId,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<LegId, BridgeError>;
    /// Play a recorded prompt on a leg, in a language (`es_MX`, `en`) if the PBX has it.
    async fn play(
        &self,
        leg: &LegId,
        media: &str,
        language: &str,
    ) -> Result<PlaybackId, BridgeError>;
    /// Stop a prompt (the interpreter answered before it ended); one already over is fine.
    /// A PBX holds a leg that is still playing out of its conference until the prompt ends.
    async fn stop(&self, playback: &PlaybackId) -> Result<(), BridgeError>;
    /// Put an answered leg into the caller's conference.
    async fn join(&self, call: &CallId, leg: &LegId) -> Result<(), BridgeError>;
    /// Hang up one leg.
    async fn hang_up(&self, leg: &LegId) -> Result<(), BridgeError>;
    /// Hang up everything of the call (the caller, every leg) and remove its conference.
    async fn release(&self, call: &CallId) -> Result<(), BridgeError>;
    /// Give the caller back to the PBX (its dialplan goes on) and remove the conference and
    /// any leg: for callers puente cannot serve.
    async fn hand_back(&self, call: &CallId) -> Result<(), BridgeError>;
    /// The next thing that happened; `None` once the bridge is shut down.
    async fn next_event(&self) -> Option<LegEvent>;
}

/// A chat service through which puente writes to callers (WhatsApp).
#[async_trait]
pub trait ChatBridge: Send + Sync {
    /// Send `body` to the caller at `to`. An error names neither.
    async fn send_text(&self, to: &str, body: &str) -> Result<(), BridgeError>;
}

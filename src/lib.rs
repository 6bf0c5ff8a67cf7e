//! puente routes calls that need an interpreter of an indigenous language of Mexico to an
//! on-call interpreter. See ARCHITECTURE.md for the bird's-eye view.
//!
//! # Layout
//!
//! Six layers, each depending only on those before it in this list:
//!
//! - [`domain`]: the words of the hotline as types (ids, languages and the catalogue,
//!   interpreters, requests, offers, schedules, chat messages, alerts). No I/O.
//! - [`logic`]: the pure core: matching, routing tiers, coverage, language identification,
//!   prompts. Functions of their inputs; no clock, no tokio, no store.
//! - [`adapters`]: the world outside behind traits: the store (memory, Redis), telephone
//!   and chat bridges (Asterisk ARI, WhatsApp), alert webhooks.
//! - [`app`]: what users can do ([`app::service`], the only holder of the store), who they
//!   are ([`app::auth`], proofs of a role), and the loops that act on their own
//!   (dispatcher, scheduler, call controller, leases).
//! - [`http`]: the API of API.md, the consoles, errors, live event streams.
//! - [`setup`]: configuration and files read once, into typed values, and the one path
//!   that assembles the layers into a running server.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod http;
pub mod logic;
pub mod setup;
#[cfg(test)]
mod testing;

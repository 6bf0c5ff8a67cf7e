//! puente routes calls that need an interpreter of an indigenous language of Mexico to an
//! on-call interpreter. See ARCHITECTURE.md for the bird's-eye view.
//!
//! # Layout
//!
//! Five layers, each depending only on those above it in this list:
//!
//! - [`domain`]: the words of the hotline as types (ids, languages and the catalogue,
//!   interpreters, requests, offers, schedules, chat messages). No I/O.
//! - [`logic`]: the pure core: matching, routing tiers, coverage, language identification,
//!   prompts. Functions of their inputs; no clock, no tokio, no store.
//! - [`app`]: what users can do ([`app::service`]), who they are ([`app::auth`]), and the
//!   loops that act on their own (dispatcher, scheduler, call controller, leases).
//! - [`adapters`]: the world outside behind traits the application owns: the store
//!   (memory, Redis), telephone and chat bridges (Asterisk ARI, WhatsApp), alert webhooks.
//! - [`http`]: the API of API.md, the consoles, errors, live event streams.
//!
//! [`setup`] reads configuration and files once, into typed values, and assembles the
//! layers into a running server.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod http;
pub mod logic;
pub mod setup;
#[cfg(test)]
mod testing;

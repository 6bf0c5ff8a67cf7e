//! puente routes calls that need an interpreter of an indigenous language of Mexico to an
//! on-call interpreter. See ARCHITECTURE.md for the bird's-eye view.
//!
//! # Layout
//!
//! In reading order, from the pure core outwards:
//!
//! - [`language`]: language tags, the catalogue, and the resolver from free text.
//! - [`roster`]: interpreters and their newtypes; parsing `interpreters.toml`.
//! - [`request`], [`offer`]: requests for an interpreter and offers to one.
//! - [`matcher`]: the pure matching core (`decide(snapshot, now, policy) -> Plan`).
//! - [`prompts`]: Fluent text in es-MX and English.
//! - [`lid`]: language identification of chat text (naive Bayes over character n-grams).
//! - [`store`]: the storage trait and its in-memory backend.
//! - [`auth`]: tokens, their hashes, roles.
//! - [`service`]: what users can do, combining store, bus and dispatcher.
//! - [`dispatch`]: the event-driven loop that applies the matcher's plans.
//! - [`bridge`], [`calls`]: telephone bridges (Asterisk ARI) and the controller that drives them.
//! - [`leases`]: each instance's lease on the calls it holds; settling those of dead ones.
//! - [`http`]: the API of API.md, errors, the live event stream.
//! - [`config`], [`startup`]: configuration and the one start-up path.

pub mod alerts;
pub mod auth;
pub mod bridge;
pub mod calls;
pub mod chat;
pub mod config;
pub mod coverage;
pub mod dispatch;
pub mod http;
pub mod language;
pub mod leases;
pub mod lid;
pub mod matcher;
pub mod offer;
pub mod prompts;
pub mod relay;
pub mod request;
pub mod roster;
pub mod routing;
pub mod schedule;
pub mod scheduler;
pub mod service;
pub mod startup;
pub mod store;
#[cfg(test)]
mod testing;
pub mod whatsapp;

//! Black-box tests of the HTTP API of API.md, against the real server on a free port.

mod ari;
#[path = "../common/mod.rs"]
mod common;
mod console;
mod detect;
mod errors;
mod flow;
mod hardening;
mod helpers;
mod languages;
mod redis;
mod roles;
mod roster;
mod stream;
mod whatsapp;

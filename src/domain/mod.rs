//! The words of the hotline as types, parsed once at the edge. Nothing here does I/O or
//! reads the clock: times are arguments.

pub mod alert;
pub mod chat;
pub mod ids;
pub mod language;
pub mod named;
pub mod offer;
pub mod request;
pub mod roster;
pub mod schedule;

//! Start-up: configuration read once into typed values ([`config`]) and the one path that
//! assembles the layers into a running server ([`startup`]).

pub mod config;
pub mod roster_file;
pub mod startup;

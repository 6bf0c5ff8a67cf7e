//! Black-box tests of the HTTP API of API.md, against the real server on a free port.

mod detect;
mod errors;
mod flow;
mod helpers;
mod roles;
mod stream;

//! Who is calling: bearer tokens, their hashes, and the three roles.
//!
//! Tokens are never stored or compared in clear. Operator and coordinator tokens come from
//! configuration; each interpreter has its own token, generated once when a coordinator
//! creates the interpreter, and only its SHA-256 is kept. Looking a token up by its hash
//! also makes the comparison independent of how many leading characters match.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::roster::InterpreterId;

/// The hex SHA-256 of a token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(hex(&Sha256::digest(token.as_bytes())))
    }

    /// From 64 hex digits (as written in a roster's `token_sha256`).
    pub fn from_hex(h: &str) -> Option<TokenHash> {
        (h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| TokenHash(h.to_ascii_lowercase()))
    }

    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes from the operating system, as hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // The OS random source failing is not something a router can recover from.
    getrandom::fill(&mut buf).expect("operating system random source");
    hex(&buf)
}

/// A new interpreter token: 256 random bits.
pub fn new_token() -> String {
    format!("pti_{}", random_hex(32))
}

/// A secret from configuration: never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Coordinator,
    Interpreter,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator,
    Coordinator,
    Interpreter(InterpreterId),
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Operator => Role::Operator,
            Principal::Coordinator => Role::Coordinator,
            Principal::Interpreter(_) => Role::Interpreter,
        }
    }

    pub fn is_interpreter(&self, id: &InterpreterId) -> bool {
        matches!(self, Principal::Interpreter(me) if me == id)
    }
}

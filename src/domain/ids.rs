//! The ids every layer shares, in one module with no dependencies of its own (so that
//! roster, requests, offers and authentication do not import each other for them), and
//! the random source new ids come from.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A coordinator-chosen identifier: 1 to 64 characters, lower-case ASCII letters, digits,
/// `-`, `_` or `.`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct InterpreterId(String);

impl InterpreterId {
    pub fn parse(s: &str) -> Result<InterpreterId, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            });
        if ok {
            Ok(InterpreterId(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a valid interpreter id: use 1 to 64 lower-case letters, digits, `-`, `_` or `.`, starting with a letter or digit (for example `ana-lopez`)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterpreterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InterpreterId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        InterpreterId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An opaque, unguessable request id (`req_` and 16 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    pub fn generate() -> RequestId {
        RequestId(format!("req_{}", random_hex(8)))
    }

    /// Any string can name a request to look up; unknown ids simply are not found.
    pub fn from_path(s: &str) -> RequestId {
        RequestId(s.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OfferId(String);

impl OfferId {
    pub fn generate() -> OfferId {
        OfferId(format!("off_{}", random_hex(8)))
    }

    pub fn from_path(s: &str) -> OfferId {
        OfferId(s.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The hex SHA-256 of a token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
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

/// `n` random bytes from the operating system, as hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // The OS random source failing is not something a router can recover from.
    getrandom::fill(&mut buf).expect("operating system random source");
    hex::encode(buf)
}

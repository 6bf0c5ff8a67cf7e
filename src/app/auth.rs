//! Who is calling: bearer tokens, their hashes, and the three roles.
//!
//! Tokens are never stored or compared in clear. Operator and coordinator tokens come from
//! configuration; each interpreter has its own token, generated once when a coordinator
//! creates the interpreter, and only its SHA-256 is kept. Looking a token up by its hash
//! also makes the comparison independent of how many leading characters match.

use std::collections::HashMap;

use crate::domain::ids::{random_hex, TokenHash};

use crate::domain::ids::InterpreterId;

/// Whether a token is printed somewhere a reader of the project finds it: a word of the
/// README or of the demo roster (the demo's tokens). Such a token must never guard a
/// shared store.
pub fn is_published(token: &TokenHash) -> bool {
    static PUBLISHED: std::sync::LazyLock<std::collections::HashSet<TokenHash>> =
        std::sync::LazyLock::new(|| {
            let text = [
                include_str!("../../README.md"),
                include_str!("../../interpreters.toml"),
            ];
            text.iter()
                .flat_map(|t| {
                    t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                })
                .filter(|w| w.len() >= 8)
                .map(TokenHash::of)
                .collect()
        });
    PUBLISHED.contains(token)
}

/// Failed authentications per client address in a fixed window of a minute: past the
/// limit, the address is refused (even a right token) until the window ends, so tokens
/// cannot be guessed at speed. Hand-written: a keyed counter of failures only, peeked
/// before each attempt, which rate-limiting crates (that count every request) do not do.
pub struct FailureThrottle {
    limit: u32,
    window: std::time::Duration,
    seen: std::sync::Mutex<HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

impl FailureThrottle {
    pub fn new(limit_per_minute: u32) -> FailureThrottle {
        FailureThrottle {
            limit: limit_per_minute,
            window: std::time::Duration::from_secs(60),
            seen: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<std::net::IpAddr, (std::time::Instant, u32)>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `ip` has used up its failures in the current window.
    pub fn blocked(&self, ip: std::net::IpAddr, now: std::time::Instant) -> bool {
        self.lock()
            .get(&ip)
            .is_some_and(|(start, n)| now.duration_since(*start) < self.window && *n >= self.limit)
    }

    /// Count one failed attempt from `ip`.
    pub fn failed(&self, ip: std::net::IpAddr, now: std::time::Instant) {
        let mut seen = self.lock();
        // Forget finished windows now and then, so the table stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// A new interpreter token: 256 random bits.
pub fn new_token() -> String {
    format!("pti_{}", random_hex(32))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_minute_ends() {
        let t = FailureThrottle::new(3);
        let ip: std::net::IpAddr = [10, 0, 0, 1].into();
        let other: std::net::IpAddr = [10, 0, 0, 2].into();
        let start = std::time::Instant::now();
        for _ in 0..3 {
            assert!(!t.blocked(ip, start));
            t.failed(ip, start);
        }
        assert!(t.blocked(ip, start));
        assert!(!t.blocked(other, start), "only that address");
        let later = start + std::time::Duration::from_secs(61);
        assert!(!t.blocked(ip, later), "a new minute");
    }

    #[test]
    fn the_demo_tokens_are_published_and_a_fresh_one_is_not() {
        assert!(is_published(&TokenHash::of("demo-token-ana")));
        assert!(is_published(&TokenHash::of("demo-operator-token")));
        assert!(!is_published(&TokenHash::of(&new_token())));
    }
}

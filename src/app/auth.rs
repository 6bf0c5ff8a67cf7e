//! Who is calling: bearer tokens, their hashes, and the three roles.
//!
//! Tokens are never stored or compared in clear. Operator and coordinator tokens come from
//! configuration; each interpreter has its own token, generated once when a coordinator
//! creates the interpreter, and only its SHA-256 is kept. Looking a token up by its hash
//! also makes the comparison independent of how many leading characters match.

use std::collections::HashMap;

use crate::domain::ids::{random_hex, InterpreterId, TokenHash};
use crate::domain::request::Request;

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

// Proofs of a role. A service method that needs a role takes its proof, and a proof can
// only be made in the application layer: by authentication, or by the hotline's own
// controllers acting for a role (the PBX and the chat intake act for the operators, a
// PBX accept for the interpreter on the line). The HTTP edge and the tests get proofs
// only by presenting a token, so an endpoint that forgets its check does not compile.

/// Proof that the caller is an operator.
///
/// Outside the application layer, a proof comes only from a token:
///
/// ```compile_fail
/// let forged = puente::app::auth::Operator::system();
/// ```
///
/// ```compile_fail
/// let forged = puente::app::auth::Principal::Coordinator(puente::app::auth::Coordinator(()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(());

/// Proof that the caller is a coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator(());

/// Proof that the caller is this interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me(InterpreterId);

/// Proof that the caller is staff: an operator or a coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff(());

/// Proof that the caller may read and change one interpreter: a coordinator, or that
/// interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForInterpreter(InterpreterId);

impl Operator {
    /// The hotline itself, acting for the operators (a call the PBX queued, a chat the
    /// intake opened).
    pub(in crate::app) fn system() -> Operator {
        Operator(())
    }
}

impl Coordinator {
    /// A coordinator may read and change every interpreter.
    pub fn for_interpreter(&self, id: &InterpreterId) -> ForInterpreter {
        ForInterpreter(id.clone())
    }
}

impl Me {
    /// The interpreter who answered an offer on the phone.
    pub(in crate::app) fn on_the_line(id: InterpreterId) -> Me {
        Me(id)
    }

    pub fn id(&self) -> &InterpreterId {
        &self.0
    }
}

impl ForInterpreter {
    pub fn id(&self) -> &InterpreterId {
        &self.0
    }
}

/// An authenticated caller: one of the three roles, with its proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator(Operator),
    Coordinator(Coordinator),
    Interpreter(Me),
}

/// The caller has not the role an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden;

impl Principal {
    /// A principal of a static token from configuration.
    pub(in crate::app) fn configured(role: Role) -> Option<Principal> {
        match role {
            Role::Operator => Some(Principal::Operator(Operator(()))),
            Role::Coordinator => Some(Principal::Coordinator(Coordinator(()))),
            Role::Interpreter => None,
        }
    }

    /// The principal of an interpreter's token.
    pub(in crate::app) fn interpreter(id: InterpreterId) -> Principal {
        Principal::Interpreter(Me(id))
    }

    pub fn role(&self) -> Role {
        match self {
            Principal::Operator(_) => Role::Operator,
            Principal::Coordinator(_) => Role::Coordinator,
            Principal::Interpreter(_) => Role::Interpreter,
        }
    }

    pub fn operator(&self) -> Result<&Operator, Forbidden> {
        match self {
            Principal::Operator(p) => Ok(p),
            _ => Err(Forbidden),
        }
    }

    pub fn coordinator(&self) -> Result<&Coordinator, Forbidden> {
        match self {
            Principal::Coordinator(p) => Ok(p),
            _ => Err(Forbidden),
        }
    }

    pub fn me(&self) -> Result<&Me, Forbidden> {
        match self {
            Principal::Interpreter(p) => Ok(p),
            _ => Err(Forbidden),
        }
    }

    pub fn staff(&self) -> Result<Staff, Forbidden> {
        match self {
            Principal::Operator(_) | Principal::Coordinator(_) => Ok(Staff(())),
            Principal::Interpreter(_) => Err(Forbidden),
        }
    }

    /// A coordinator, or interpreter `id` themselves.
    pub fn for_interpreter(&self, id: &InterpreterId) -> Result<ForInterpreter, Forbidden> {
        match self {
            Principal::Coordinator(c) => Ok(c.for_interpreter(id)),
            Principal::Interpreter(me) if &me.0 == id => Ok(ForInterpreter(id.clone())),
            _ => Err(Forbidden),
        }
    }

    /// Whether this is interpreter `id`.
    pub fn is_interpreter(&self, id: &InterpreterId) -> bool {
        matches!(self, Principal::Interpreter(me) if &me.0 == id)
    }
}

// Rules that depend on a record as well as on the role.

/// Whether `req` was given to `who`.
fn given_to(who: &Principal, req: &Request) -> bool {
    req.interpreter
        .as_ref()
        .is_some_and(|i| who.is_interpreter(i))
}

/// Who may read a request: staff, and the interpreter it was given to.
pub fn may_read_request(who: &Principal, req: &Request) -> Result<(), Forbidden> {
    if who.staff().is_ok() || given_to(who, req) {
        Ok(())
    } else {
        Err(Forbidden)
    }
}

/// Who may say a call is over: operators, and the interpreter it was given to.
pub fn may_complete_request(who: &Principal, req: &Request) -> Result<(), Forbidden> {
    if who.operator().is_ok() || given_to(who, req) {
        Ok(())
    } else {
        Err(Forbidden)
    }
}

/// Who may read and write a conversation: operators, and the interpreter in session with
/// the caller (access ends with the session).
pub fn may_chat(who: &Principal, in_session: Option<&InterpreterId>) -> Result<(), Forbidden> {
    if who.operator().is_ok() || in_session.is_some_and(|i| who.is_interpreter(i)) {
        Ok(())
    } else {
        Err(Forbidden)
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
    fn each_role_proves_only_what_it_may() {
        let ana = InterpreterId::parse("ana").unwrap();
        let beto = InterpreterId::parse("beto").unwrap();
        let op = Principal::configured(Role::Operator).unwrap();
        let coord = Principal::configured(Role::Coordinator).unwrap();
        let me = Principal::interpreter(ana.clone());
        assert!(Principal::configured(Role::Interpreter).is_none());

        assert!(op.operator().is_ok() && op.coordinator().is_err() && op.me().is_err());
        assert!(coord.coordinator().is_ok() && coord.operator().is_err());
        assert_eq!(me.me().map(Me::id), Ok(&ana));
        assert!(op.staff().is_ok() && coord.staff().is_ok() && me.staff().is_err());

        assert_eq!(coord.for_interpreter(&beto).map(|f| f.0), Ok(beto.clone()));
        assert_eq!(me.for_interpreter(&ana).map(|f| f.0), Ok(ana.clone()));
        assert_eq!(me.for_interpreter(&beto), Err(Forbidden), "not another one");
        assert_eq!(
            op.for_interpreter(&ana),
            Err(Forbidden),
            "operators do not edit"
        );
    }

    #[test]
    fn a_request_is_read_by_staff_and_its_interpreter_and_finished_by_operators_and_them() {
        let ana = InterpreterId::parse("ana").unwrap();
        let beto = InterpreterId::parse("beto").unwrap();
        let mut req = Request::new(
            "tzo".parse().unwrap(),
            crate::domain::request::Priority::Normal,
            crate::domain::request::Channel::Phone,
            jiff::Timestamp::UNIX_EPOCH,
        );
        req.interpreter = Some(ana.clone());
        let op = Principal::configured(Role::Operator).unwrap();
        let coord = Principal::configured(Role::Coordinator).unwrap();
        let (theirs, other) = (
            Principal::interpreter(ana.clone()),
            Principal::interpreter(beto),
        );

        for who in [&op, &coord, &theirs] {
            assert_eq!(may_read_request(who, &req), Ok(()));
        }
        assert_eq!(may_read_request(&other, &req), Err(Forbidden));

        assert_eq!(may_complete_request(&op, &req), Ok(()));
        assert_eq!(may_complete_request(&theirs, &req), Ok(()));
        assert_eq!(may_complete_request(&coord, &req), Err(Forbidden));
        assert_eq!(may_complete_request(&other, &req), Err(Forbidden));

        assert_eq!(may_chat(&op, None), Ok(()));
        assert_eq!(may_chat(&theirs, Some(&ana)), Ok(()));
        assert_eq!(may_chat(&theirs, None), Err(Forbidden), "the session ended");
        assert_eq!(may_chat(&coord, Some(&ana)), Err(Forbidden));
    }

    #[test]
    fn the_demo_tokens_are_published_and_a_fresh_one_is_not() {
        assert!(is_published(&TokenHash::of("demo-token-ana")));
        assert!(is_published(&TokenHash::of("demo-operator-token")));
        assert!(!is_published(&TokenHash::of(&new_token())));
    }
}

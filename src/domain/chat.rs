//! Chat conversations (WhatsApp): the messages of a `chat` request, and the sealing that
//! keeps what callers write, and where to reply to them, unreadable in the store.
//!
//! Pure: no I/O. A message's text is sealed with XChaCha20-Poly1305 under a key derived from
//! the WhatsApp app secret (HKDF-SHA256 with a label), a random 192-bit nonce per message
//! (long enough that random nonces never repeat under one key), and as
//! associated data the request id, the author and the message's number ([`context`]): a
//! sealed text cannot be moved to another conversation, relabelled or reordered.
//! The store, its backups and Redis' pub/sub see only `nonce ‖ ciphertext` in base64. The
//! same sealing keeps the caller's number, which puente needs to reply.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::domain::ids::{InterpreterId, RequestId};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Caller,
    Operator,
    Interpreter,
    /// puente itself (the greeting, "an interpreter joined").
    Puente,
}

/// One message of a conversation, as stored: the text sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub request: RequestId,
    /// 1, 2, 3… in the conversation; set by the store when appended.
    #[serde(default)]
    pub seq: u64,
    pub from: Author,
    pub at: Timestamp,
    /// The interpreter connected to the request when it was written (who may read it
    /// live), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<InterpreterId>,
    /// `base64(nonce ‖ ciphertext)` of the text.
    pub sealed: String,
}

/// What a message's text is sealed to: its conversation, its author and its number.
pub fn context(request: &RequestId, from: Author, seq: u64) -> String {
    let from = match from {
        Author::Caller => "caller",
        Author::Operator => "operator",
        Author::Interpreter => "interpreter",
        Author::Puente => "puente",
    };
    format!("chat v2\n{request}\n{from}\n{seq}")
}

/// The longest message puente relays (WhatsApp's limit for a text body).
pub const MAX_TEXT: usize = 4096;

/// The length of an XChaCha20-Poly1305 nonce.
const NONCE: usize = 24;

/// Seals and opens texts for the store.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    /// The sealer of a deployment, from its WhatsApp app secret.
    pub fn from_secret(secret: &SecretString) -> Sealer {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, secret.expose_secret().as_bytes())
            .expand(b"puente chat sealing key v2", &mut key)
            .expect("HKDF-SHA256 gives 32 bytes");
        Sealer {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// Seal `text`, bound to `context` (the request id, or a label).
    pub fn seal(&self, context: &str, text: &str) -> String {
        let mut nonce = [0u8; NONCE];
        // The OS random source failing is not something a router can recover from.
        getrandom::fill(&mut nonce).expect("operating system random source");
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: text.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any text under 256 GiB");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
    }

    /// Open what [`Sealer::seal`] sealed with the same `context`; `None` if it was
    /// tampered with, sealed under another key or for another context.
    pub fn open(&self, context: &str, sealed: &str) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .ok()?;
        if raw.len() < NONCE {
            return None;
        }
        let (nonce, ct) = raw.split_at(NONCE);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key_and_context() {
        let s = Sealer::from_secret(&SecretString::from("app-secret"));
        let sealed = s.seal("req_1", "Li' oyun ta Jobel");
        assert!(!sealed.contains("Jobel"));
        assert_eq!(
            s.open("req_1", &sealed).as_deref(),
            Some("Li' oyun ta Jobel")
        );
        // Another conversation, another key, or a changed byte: nothing.
        assert_eq!(s.open("req_2", &sealed), None);
        let other = Sealer::from_secret(&SecretString::from("another-secret"));
        assert_eq!(other.open("req_1", &sealed), None);
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.open("req_1", &String::from_utf8(bytes).unwrap()), None);
        assert_eq!(s.open("req_1", "not base64!"), None);
        assert_eq!(s.open("req_1", ""), None);
    }

    #[test]
    fn a_message_relabelled_or_renumbered_does_not_open() {
        let s = Sealer::from_secret(&SecretString::from("app-secret"));
        let r = RequestId::from_path("req_1");
        let sealed = s.seal(&context(&r, Author::Caller, 2), "ayuda");
        assert_eq!(
            s.open(&context(&r, Author::Caller, 2), &sealed).as_deref(),
            Some("ayuda")
        );
        assert_eq!(s.open(&context(&r, Author::Operator, 2), &sealed), None);
        assert_eq!(s.open(&context(&r, Author::Caller, 1), &sealed), None);
        let other = RequestId::from_path("req_2");
        assert_eq!(s.open(&context(&other, Author::Caller, 2), &sealed), None);
    }

    #[test]
    fn the_same_text_seals_differently_each_time() {
        let s = Sealer::from_secret(&SecretString::from("k"));
        assert_ne!(s.seal("r", "hola"), s.seal("r", "hola"));
    }
}

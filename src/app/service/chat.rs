//! The chat relay (WhatsApp): conversations of `chat` requests, three ways (caller ↔
//! operator ↔ interpreter), in order, each message labelled with who wrote it.
//!
//! - A caller's message extends the caller's open conversation or opens one. A
//!   conversation's id is reserved as the id of its request: when the detector is sure the
//!   caller needs an interpreter, the `chat` request is made with it at once and puente
//!   says it is finding one; otherwise operators see the conversation (`conversations`),
//!   answer it, and may ask for an interpreter themselves (`ask_interpreter`).
//! - Operators, and the interpreter connected to the request, read the conversation
//!   (`GET /requests/{id}/messages`, live as `message` events) and write to it; what they
//!   write reaches the caller through WhatsApp as "Intérprete: …" / "Operadora: …".
//! - When an interpreter accepts, the caller is told.
//!
//! Privacy: the caller is a keyed hash (`whatsapp::caller_key`). What puente must keep to
//! reply, the number, is sealed (`chat::Sealer`) for the conversation's length; so is every
//! text. Interpreters never see the number: no view carries it.

use jiff::SignedDuration;

use super::{Result, Service, ServiceError};
use crate::adapters::store::{Conflict, StoreError};
use crate::app::auth::{self, Operator, Principal, Role};
use crate::domain::chat::{Author, ChatMessage, MAX_TEXT};
use crate::domain::ids::RequestId;
use crate::domain::request::{Channel, Priority, Request, RequestState};

/// How long a conversation, and the means to reply, are kept after its last message from
/// the caller (WhatsApp's customer-service window: replies after it need templates).
pub const CONVERSATION: SignedDuration = SignedDuration::from_hours(24);

/// A message as its readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readable {
    pub message: ChatMessage,
    pub text: String,
}

/// The interpreter who may read a request's conversation now: the one connected to it,
/// while it is connected.
fn in_session(req: &Request) -> Option<crate::domain::ids::InterpreterId> {
    match req.state {
        RequestState::Connected => req.interpreter.clone(),
        _ => None,
    }
}

/// What a reply address is sealed to: its conversation.
fn reply_context(request: &RequestId) -> String {
    format!("wa:to:{request}")
}

impl Service {
    fn sealer(&self) -> Result<&crate::domain::chat::Sealer> {
        self.sealer.as_ref().ok_or_else(|| {
            ServiceError::NotFound(
                "chat (set PUENTE_WHATSAPP_APP_SECRET and the verify token)".into(),
            )
        })
    }

    /// A caller's WhatsApp message (`caller`: the keyed hash; `number`: where to reply,
    /// sealed before it is kept). Returns the request it opened, if it opened one.
    pub async fn chat_from_caller(
        &self,
        caller: &str,
        number: &str,
        text: &str,
    ) -> Result<Option<Request>> {
        let sealer = self.sealer()?;
        let now = self.now();
        // One step finds (or opens) the conversation; a second stores the message.
        let fresh = RequestId::generate();
        let reply = sealer.seal(&reply_context(&fresh), number);
        let joined = self
            .store
            .join_conversation(caller, &fresh, &reply, now + CONVERSATION, now)
            .await?;
        let id = joined.id;
        if !joined.has_reply {
            let reply = sealer.seal(&reply_context(&id), number);
            self.store
                .keep_reply_address(&id, &reply, now + CONVERSATION, now)
                .await?;
        }
        let existing = joined.request;
        let fresh = joined.opened;
        let connected = existing.as_ref().and_then(in_session);
        self.append_numbered(&id, connected, Author::Caller, text, joined.next_seq)
            .await?;
        if existing.is_some() {
            return Ok(None);
        }
        // No request yet: does the caller need an interpreter?
        match self.request_language(None, Some(text)) {
            Ok(tag) => match self.open_chat_request(&id, tag, Priority::Normal).await {
                Ok(req) => {
                    tracing::info!(request_id = %req.id, language = %req.language, "WhatsApp message opened a request");
                    Ok(Some(req))
                }
                // Another delivery of the same conversation made it first.
                Err(ServiceError::AlreadyExists(_)) => Ok(None),
                Err(e) => Err(e),
            },
            Err(
                ServiceError::NoInterpreterNeeded(_)
                | ServiceError::UncertainText(_)
                | ServiceError::NoLetters,
            ) => {
                tracing::info!(conversation = %id, "WhatsApp message for the operators (no interpreter detected)");
                if fresh {
                    let locale = self.prompts.negotiate(None);
                    let text = self.prompts.render(locale, "chat-received", &[]);
                    self.say(&id, None, text).await;
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Make the `chat` request of conversation `id` and tell the caller.
    async fn open_chat_request(
        &self,
        id: &RequestId,
        tag: crate::domain::language::LanguageTag,
        priority: Priority,
    ) -> Result<Request> {
        let mut req = Request::new(tag, priority, Channel::Chat, self.now());
        req.id = id.clone();
        req.group = self.catalogue.group_of(&req.language).cloned();
        // The intake acts for the operators: a request like any other, channel `chat`.
        let req = self.queue(&Operator::system(), req).await?.0;
        self.tell_caller(&req, "chat-waiting").await;
        Ok(req)
    }

    /// An operator asks for an interpreter for a conversation that has none (the detector
    /// was unsure, or the caller wrote in Spanish and then in their language).
    pub async fn ask_interpreter(
        &self,
        _: &Operator,
        id: &RequestId,
        language: &str,
        priority: Priority,
    ) -> Result<Request> {
        self.conversation_exists(id).await?;
        let tag = self.resolve_language(language)?;
        if self.store.request(id).await?.is_some() {
            return Err(ServiceError::AlreadyExists(format!("request {id}")));
        }
        self.open_chat_request(id, tag, priority).await
    }

    async fn conversation_exists(&self, id: &RequestId) -> Result<()> {
        self.sealer()?;
        if self.store.chat(id, self.now()).await?.is_empty() {
            return Err(ServiceError::NotFound(format!("conversation {id}")));
        }
        Ok(())
    }

    /// The conversations of the last day, for operators: each with its request, if any,
    /// and its messages.
    pub async fn conversations(
        &self,
        _: &Operator,
    ) -> Result<Vec<(RequestId, Option<Request>, Vec<Readable>)>> {
        let sealer = self.sealer()?;
        let mut out = Vec::new();
        let now = self.now();
        for id in self.store.conversations(now).await? {
            let req = self.store.request(&id).await?;
            let messages = self
                .store
                .chat(&id, now)
                .await?
                .into_iter()
                .filter_map(|m| self.readable(sealer, m))
                .collect();
            out.push((id, req, messages));
        }
        Ok(out)
    }

    /// Seal and store one message of conversation `id` (whose request is connected to
    /// `interpreter`, if it is), and publish it.
    async fn append(
        &self,
        id: &RequestId,
        interpreter: Option<crate::domain::ids::InterpreterId>,
        from: Author,
        text: &str,
    ) -> Result<ChatMessage> {
        self.append_numbered(id, interpreter, from, text, 1).await
    }

    /// [`Service::append`] with the message's number as far as the caller knows it.
    async fn append_numbered(
        &self,
        id: &RequestId,
        interpreter: Option<crate::domain::ids::InterpreterId>,
        from: Author,
        text: &str,
        mut seq: u64,
    ) -> Result<ChatMessage> {
        let sealer = self.sealer()?;
        // The text is sealed to its number, which the store checks: a message that lands
        // meanwhile takes the number, and this one is sealed again for the next.
        for _ in 0..8 {
            let now = self.now();
            let msg = ChatMessage {
                request: id.clone(),
                seq,
                from,
                at: now,
                interpreter: interpreter.clone(),
                sealed: sealer.seal(&crate::domain::chat::context(id, from, seq), text),
            };
            match self
                .store
                .append_chat(msg.clone(), now + CONVERSATION, now)
                .await
            {
                Ok(change) => {
                    let stored = change.messages.first().cloned().unwrap_or(msg);
                    self.publish(change);
                    return Ok(stored);
                }
                Err(StoreError::Conflict(Conflict::ChatSeq(next))) => seq = next,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Store(StoreError::Backend(
            crate::adapters::store::Failure::new(format!(
                "conversation {id}: could not number a message"
            )),
        )))
    }

    /// Who may read and write a conversation: operators, and the interpreter connected to
    /// its request. Returns the request, if the conversation has one.
    async fn chat_request(&self, who: &Principal, id: &RequestId) -> Result<Option<Request>> {
        let Some(req) = self.store.request(id).await? else {
            // A conversation without a request yet: the operators'.
            who.operator()?;
            self.conversation_exists(id).await?;
            return Ok(None);
        };
        auth::may_chat(who, in_session(&req).as_ref())?;
        if req.channel != Channel::Chat {
            return Err(ServiceError::NotAChat(req.id));
        }
        Ok(Some(req))
    }

    /// A conversation, opened for its reader.
    pub async fn chat_messages(&self, who: &Principal, id: &RequestId) -> Result<Vec<Readable>> {
        self.chat_request(who, id).await?;
        let sealer = self.sealer()?;
        let messages = self.store.chat(id, self.now()).await?;
        Ok(messages
            .into_iter()
            .filter_map(|m| self.readable(sealer, m))
            .collect())
    }

    /// Open a stored message (one sealed under another key is skipped, with a warning).
    pub fn readable_message(&self, m: ChatMessage) -> Option<Readable> {
        self.readable(self.sealer.as_ref()?, m)
    }

    fn readable(&self, sealer: &crate::domain::chat::Sealer, m: ChatMessage) -> Option<Readable> {
        let context = crate::domain::chat::context(&m.request, m.from, m.seq);
        match sealer.open(&context, &m.sealed) {
            Some(text) => Some(Readable { message: m, text }),
            None => {
                tracing::warn!(request_id = %m.request, seq = m.seq, "chat message sealed under another key");
                None
            }
        }
    }

    /// An operator or the connected interpreter writes to the caller. Returns the message
    /// and whether WhatsApp took it.
    pub async fn send_chat(
        &self,
        who: &Principal,
        id: &RequestId,
        text: &str,
    ) -> Result<(Readable, bool)> {
        let req = self.chat_request(who, id).await?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return Err(ServiceError::InvalidField {
                field: "text".into(),
                detail: format!("write between 1 and {MAX_TEXT} characters"),
            });
        }
        let state = req.as_ref().map(|r| r.state);
        let from = match who.role() {
            Role::Interpreter => {
                if state != Some(RequestState::Connected) {
                    return Err(ServiceError::InvalidState(
                        state.unwrap_or(RequestState::Queued),
                    ));
                }
                Author::Interpreter
            }
            _ => {
                // Operators may still write when nobody could interpret: in Spanish, or to
                // arrange a call back.
                if let Some(st @ (RequestState::Completed | RequestState::Cancelled)) = state {
                    return Err(ServiceError::InvalidState(st));
                }
                Author::Operator
            }
        };
        let connected = req.as_ref().and_then(in_session);
        let message = self.append(id, connected, from, text).await?;
        let label = match from {
            Author::Interpreter => "chat-from-interpreter",
            _ => "chat-from-operator",
        };
        let locale = self.prompts.negotiate(None);
        let body = format!("{}: {text}", self.prompts.render(locale, label, &[]));
        let delivered = self.whatsapp_send(id, &body).await;
        tracing::info!(request_id = %id, seq = message.seq, ?from, delivered, "chat message relayed");
        Ok((
            Readable {
                message,
                text: text.to_string(),
            },
            delivered,
        ))
    }

    /// puente's own words to a chat caller about their request (`message_id` in Fluent,
    /// with the language's name), recorded in the conversation and sent in the background.
    pub(crate) async fn tell_caller(&self, req: &Request, message_id: &str) {
        if self.sealer.is_none() {
            return;
        }
        let locale = self.prompts.negotiate(None);
        let language = self
            .catalogue
            .get(&req.language)
            .map(|l| l.name(locale.tag()).to_string())
            .unwrap_or_else(|| req.language.to_string());
        let text = self
            .prompts
            .render(locale, message_id, &[("language", language.into())]);
        self.say(&req.id, in_session(req), text).await;
    }

    /// Record puente's `text` in conversation `id` and send it to the caller in the
    /// background.
    async fn say(
        &self,
        id: &RequestId,
        interpreter: Option<crate::domain::ids::InterpreterId>,
        text: String,
    ) {
        if let Err(e) = self.append(id, interpreter, Author::Puente, &text).await {
            tracing::warn!(request_id = %id, error = %e, "cannot record puente's chat message");
        }
        let (Some(out), Some(to)) = (self.chat_out.clone(), self.reply_address(id).await) else {
            return;
        };
        let id = id.clone();
        tokio::spawn(async move {
            if let Err(e) = out.send_text(&to, &text).await {
                tracing::warn!(request_id = %id, error = %e, "WhatsApp did not take puente's message");
            }
        });
    }

    /// Where to reply for conversation `id`, unsealed (none once the conversation expired).
    async fn reply_address(&self, id: &RequestId) -> Option<String> {
        let sealed = self.store.reply_address(id, self.now()).await.ok()??;
        self.sealer().ok()?.open(&reply_context(id), &sealed)
    }

    /// Send `body` to the request's caller; false when it could not be (no sender
    /// configured, the conversation expired, WhatsApp refused).
    async fn whatsapp_send(&self, id: &RequestId, body: &str) -> bool {
        let Some(out) = &self.chat_out else {
            return false;
        };
        let Some(to) = self.reply_address(id).await else {
            tracing::warn!(request_id = %id, "no reply address (the conversation expired)");
            return false;
        };
        match out.send_text(&to, body).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(request_id = %id, error = %e, "WhatsApp did not take the message");
                false
            }
        }
    }
}

/// How long a WhatsApp message id is remembered: longer than Meta retries a delivery.
const MESSAGE_MEMORY: SignedDuration = SignedDuration::from_hours(7 * 24);

impl Service {
    /// Claim a delivered WhatsApp message for handling: false if it was handled already
    /// (Meta delivers again when unsure). Claimed for as long as WhatsApp may retry it.
    pub async fn claim_delivery(&self, message_id: &str) -> Result<bool> {
        let claim = format!("wa:msg:{message_id}");
        let now = self.now();
        Ok(self
            .store
            .memo_swap(&claim, None, "1", now + MESSAGE_MEMORY, now)
            .await?)
    }

    /// Give a claimed message back because handling it failed, so that WhatsApp's retry
    /// (after our error status) is handled rather than dropped.
    pub async fn release_delivery(&self, message_id: &str) -> Result<()> {
        let claim = format!("wa:msg:{message_id}");
        let now = self.now();
        let gone = now - SignedDuration::from_secs(1);
        self.store
            .memo_swap(&claim, Some("1"), "1", gone, now)
            .await?;
        Ok(())
    }
}

//! The chat relay (WhatsApp): conversations of `chat` requests, three ways (caller ↔
//! operator ↔ interpreter), in order, each message labelled with who wrote it.
//!
//! - A caller's message extends the caller's open conversation; otherwise, when its
//!   language is detected with confidence and needs an interpreter, it opens a `chat`
//!   request and puente greets the caller ("we are finding an interpreter").
//! - Operators, and the interpreter connected to the request, read the conversation
//!   (`GET /requests/{id}/messages`, live as `message` events) and write to it; what they
//!   write reaches the caller through WhatsApp as "Intérprete: …" / "Operadora: …".
//! - When an interpreter accepts, the caller is told.
//!
//! Privacy: the caller is a keyed hash (`whatsapp::caller_key`). What puente must keep to
//! reply, the number, is sealed (`chat::Sealer`) for the conversation's length; so is every
//! text. Interpreters never see the number: no view carries it.

use jiff::SignedDuration;

use crate::auth::Principal;
use crate::chat::{Author, ChatMessage, MAX_TEXT};
use crate::request::{Channel, Priority, Request, RequestId, RequestState};
use crate::service::{Result, Service, ServiceError};

/// How long a conversation, and the means to reply, are kept after its last message from
/// the caller (WhatsApp's customer-service window: replies after it need templates).
pub const CONVERSATION: SignedDuration = SignedDuration::from_hours(24);

/// A message as its readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readable {
    pub message: ChatMessage,
    pub text: String,
}

fn conversation_key(caller: &str) -> String {
    format!("wa:conv:{caller}")
}

fn reply_key(request: &RequestId) -> String {
    format!("wa:to:{request}")
}

impl Service {
    fn sealer(&self) -> Result<&crate::chat::Sealer> {
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
        let key = conversation_key(caller);
        let current = self.store.memo(&key).await?;
        if let Some(id) = &current {
            let id = RequestId::from_path(id);
            if let Some(req) = self.store.request(&id).await? {
                if !req.state.is_final() {
                    self.store
                        .memo_swap(&key, Some(id.as_str()), id.as_str(), now + CONVERSATION)
                        .await?;
                    self.keep_reply_address(&id, sealer, number).await?;
                    self.append(&req, Author::Caller, text).await?;
                    return Ok(None);
                }
            }
        }
        // A new conversation: only when the caller needs an interpreter.
        let tag = match self.request_language(None, Some(text)) {
            Ok(tag) => tag,
            Err(ServiceError::NoInterpreterNeeded(_) | ServiceError::UncertainText(_)) => {
                tracing::info!("WhatsApp message needs no interpreter, or its language is unclear");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut req = Request::new(tag, Priority::Normal, Channel::Chat, now);
        req.group = self.catalogue.group_of(&req.language).cloned();
        if !self
            .store
            .memo_swap(
                &key,
                current.as_deref(),
                req.id.as_str(),
                now + CONVERSATION,
            )
            .await?
        {
            // Another delivery opened the conversation meanwhile: this message joins it.
            if let Some(id) = self.store.memo(&key).await? {
                let id = RequestId::from_path(&id);
                if let Some(other) = self.store.request(&id).await? {
                    self.append(&other, Author::Caller, text).await?;
                }
            }
            return Ok(None);
        }
        self.keep_reply_address(&req.id, sealer, number).await?;
        // The intake acts for the operators: a request like any other, channel `chat`.
        let req = self.queue(&Principal::Operator, req).await?.0;
        tracing::info!(request_id = %req.id, language = %req.language, "WhatsApp message opened a request");
        self.append(&req, Author::Caller, text).await?;
        self.tell_caller(&req, "chat-waiting").await;
        Ok(Some(req))
    }

    async fn keep_reply_address(
        &self,
        id: &RequestId,
        sealer: &crate::chat::Sealer,
        number: &str,
    ) -> Result<()> {
        let key = reply_key(id);
        let current = self.store.memo(&key).await?;
        let sealed = sealer.seal(&key, number);
        self.store
            .memo_swap(&key, current.as_deref(), &sealed, self.now() + CONVERSATION)
            .await?;
        Ok(())
    }

    /// Seal and store one message, and publish it.
    async fn append(&self, req: &Request, from: Author, text: &str) -> Result<ChatMessage> {
        let msg = ChatMessage {
            request: req.id.clone(),
            seq: 0,
            from,
            at: self.now(),
            interpreter: req.interpreter.clone(),
            sealed: self.sealer()?.seal(req.id.as_str(), text),
        };
        let change = self
            .store
            .append_chat(msg.clone(), self.now() + CONVERSATION)
            .await?;
        let stored = change.messages.first().cloned().unwrap_or(msg);
        self.publish(change);
        Ok(stored)
    }

    /// Who may read and write a request's conversation: operators, and the interpreter
    /// connected to it.
    async fn chat_request(&self, who: &Principal, id: &RequestId) -> Result<Request> {
        let req = self
            .store
            .request(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("request {id}")))?;
        let mine =
            matches!(who, Principal::Interpreter(me) if req.interpreter.as_ref() == Some(me));
        if !(matches!(who, Principal::Operator) || mine) {
            return Err(ServiceError::Forbidden);
        }
        if req.channel != Channel::Chat {
            return Err(ServiceError::NotAChat(req.id));
        }
        Ok(req)
    }

    /// A request's conversation, opened for its reader.
    pub async fn chat_messages(&self, who: &Principal, id: &RequestId) -> Result<Vec<Readable>> {
        let req = self.chat_request(who, id).await?;
        let sealer = self.sealer()?;
        let messages = self.store.chat(&req.id).await?;
        Ok(messages
            .into_iter()
            .filter_map(|m| self.readable(sealer, m))
            .collect())
    }

    /// Open a stored message (one sealed under another key is skipped, with a warning).
    pub fn readable_message(&self, m: ChatMessage) -> Option<Readable> {
        self.readable(self.sealer.as_ref()?, m)
    }

    fn readable(&self, sealer: &crate::chat::Sealer, m: ChatMessage) -> Option<Readable> {
        match sealer.open(m.request.as_str(), &m.sealed) {
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
        let from = match who {
            Principal::Interpreter(_) => {
                if req.state != RequestState::Connected {
                    return Err(ServiceError::InvalidState(req.state));
                }
                Author::Interpreter
            }
            _ => {
                // Operators may still write when nobody could interpret: in Spanish, or to
                // arrange a call back.
                if matches!(req.state, RequestState::Completed | RequestState::Cancelled) {
                    return Err(ServiceError::InvalidState(req.state));
                }
                Author::Operator
            }
        };
        let message = self.append(&req, from, text).await?;
        let label = match from {
            Author::Interpreter => "chat-from-interpreter",
            _ => "chat-from-operator",
        };
        let locale = self.prompts.negotiate(None);
        let body = format!("{}: {text}", self.prompts.render(locale, label, &[]));
        let delivered = self.whatsapp_send(&req.id, &body).await;
        tracing::info!(request_id = %req.id, seq = message.seq, ?from, delivered, "chat message relayed");
        Ok((
            Readable {
                message,
                text: text.to_string(),
            },
            delivered,
        ))
    }

    /// puente's own words to a chat caller (`message_id` in Fluent), recorded in the
    /// conversation and sent in the background.
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
        if let Err(e) = self.append(req, Author::Puente, &text).await {
            tracing::warn!(request_id = %req.id, error = %e, "cannot record puente's chat message");
        }
        let (Some(out), Ok(Some(sealed))) = (
            self.chat_out.clone(),
            self.store.memo(&reply_key(&req.id)).await,
        ) else {
            return;
        };
        let Some(to) = self
            .sealer()
            .ok()
            .and_then(|s| s.open(&reply_key(&req.id), &sealed))
        else {
            return;
        };
        let id = req.id.clone();
        tokio::spawn(async move {
            if let Err(e) = out.send_text(&to, &text).await {
                tracing::warn!(request_id = %id, error = %e, "WhatsApp did not take puente's message");
            }
        });
    }

    /// Send `body` to the request's caller; false when it could not be (no sender
    /// configured, the conversation expired, WhatsApp refused).
    async fn whatsapp_send(&self, id: &RequestId, body: &str) -> bool {
        let Some(out) = &self.chat_out else {
            return false;
        };
        let to = match (self.store.memo(&reply_key(id)).await, self.sealer()) {
            (Ok(Some(sealed)), Ok(sealer)) => sealer.open(&reply_key(id), &sealed),
            _ => None,
        };
        let Some(to) = to else {
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

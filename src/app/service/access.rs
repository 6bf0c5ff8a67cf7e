//! Who is calling: tokens to principals, and the live streams each token holds.

use super::{Result, Service, ServiceError};
use crate::app::auth::Principal;
use crate::domain::ids::TokenHash;
use std::collections::HashMap;
use std::sync::Arc;

/// One live stream counted against its token's limit, until dropped.
pub struct StreamSlot {
    service: Arc<Service>,
    token: TokenHash,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.service.lock_streams();
        if let Some(n) = open.get_mut(&self.token) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}

impl Service {
    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, usize>> {
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Count a new live stream for `token`; none when it already has as many as allowed.
    pub fn open_stream(self: &Arc<Self>, token: TokenHash) -> Option<StreamSlot> {
        let mut open = self.lock_streams();
        let n = open.entry(token.clone()).or_default();
        if *n >= self.limits.streams_per_token {
            return None;
        }
        *n += 1;
        drop(open);
        Some(StreamSlot {
            service: self.clone(),
            token,
        })
    }

    /// Whether a token still belongs to `who` (a removed interpreter's token does not, nor
    /// the token of an interpreter removed and created again under the same id).
    pub async fn still_valid(&self, token: &TokenHash, who: &Principal) -> Result<bool> {
        if self.static_tokens.get(token) == Some(who) {
            return Ok(true);
        }
        let Principal::Interpreter(me) = who else {
            return Ok(false);
        };
        Ok(self.store.interpreter_for_token(token).await?.as_ref() == Some(me.id()))
    }

    pub async fn authenticate(&self, token: Option<&str>) -> Result<Principal> {
        let token = token.ok_or(ServiceError::Unauthorized)?;
        self.authenticate_hash(&TokenHash::of(token)).await
    }

    pub async fn authenticate_hash(&self, hash: &TokenHash) -> Result<Principal> {
        if let Some(p) = self.static_tokens.get(hash) {
            return Ok(p.clone());
        }
        match self.store.interpreter_for_token(hash).await? {
            Some(id) => Ok(Principal::interpreter(id)),
            None => Err(ServiceError::Unauthorized),
        }
    }
}

//! How a request reaches its account's actor: activated on demand (or
//! preloaded), called with a retry when it was just passivating.

use ractor::{Actor, ActorRef, RpcReplyPort};
use tongka_core::ids::MemberId;
use tongka_core::state::{MemberError, MemberState};

use crate::account::{AccountActor, AccountKey, AccountMsg};
use crate::{Engine, EngineError, Outcome};

impl Engine {
    pub(crate) async fn account(
        &self,
        key: &AccountKey,
    ) -> Result<ActorRef<AccountMsg>, EngineError> {
        self.account_with(key, None).await
    }

    /// The account's actor, activated with `preload` as its state if it is
    /// not alive (else from disk).
    pub(crate) async fn account_with(
        &self,
        key: &AccountKey,
        preload: Option<MemberState>,
    ) -> Result<ActorRef<AccountMsg>, EngineError> {
        if let Some(r) = self.core.accounts.lock().expect("accounts lock").get(key) {
            return Ok(r.clone());
        }
        let spawned = Actor::spawn(
            None,
            AccountActor {
                core: self.core.clone(),
            },
            (key.clone(), preload),
        )
        .await;
        let (actor, _handle) = match spawned {
            Ok(a) => a,
            Err(e) => {
                // pre_start refuses unknown members.
                if let AccountKey::Member(id) = key
                    && self.core.db.member(id)?.is_none()
                {
                    return Err(MemberError::NotFound(id.to_string()).into());
                }
                return Err(EngineError::Internal(format!("activating {key:?}: {e}")));
            }
        };
        let mut map = self.core.accounts.lock().expect("accounts lock");
        match map.get(key) {
            Some(existing) => {
                // Another request activated it meanwhile; ours has done nothing.
                actor.stop(None);
                Ok(existing.clone())
            }
            None => {
                map.insert(key.clone(), actor.clone());
                Ok(actor)
            }
        }
    }

    /// Send to the account actor, activating it, and retrying if it was
    /// just passivating (then it did not see the message).
    pub(crate) async fn call<F>(&self, key: AccountKey, make: F) -> Result<Outcome, EngineError>
    where
        F: Fn(RpcReplyPort<Result<Outcome, EngineError>>) -> AccountMsg,
    {
        for _ in 0..4 {
            let actor = self.account(&key).await?;
            match actor.call(&make, None).await {
                Ok(ractor::rpc::CallResult::Success(res)) => return res,
                Ok(_) | Err(_) => {
                    self.core.forget(&key, actor.get_id());
                }
            }
        }
        Err(EngineError::Internal(format!(
            "account {key:?} kept stopping"
        )))
    }

    /// The member's state as its actor holds it now.
    pub(crate) async fn snapshot(&self, id: &MemberId) -> Result<MemberState, EngineError> {
        let key = AccountKey::Member(id.clone());
        for _ in 0..4 {
            let actor = self.account(&key).await?;
            match actor
                .call(|reply| AccountMsg::Snapshot { reply }, None)
                .await
            {
                Ok(ractor::rpc::CallResult::Success(Some(m))) => return Ok(m),
                Ok(ractor::rpc::CallResult::Success(None)) => break,
                _ => self.core.forget(&key, actor.get_id()),
            }
        }
        Err(EngineError::Internal(format!("account {id} kept stopping")))
    }
}

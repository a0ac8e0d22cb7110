//! Merging members: lookups that follow merges (`resolve`), the merge
//! request, and settling (this node moving its share of a merged-away
//! member to the survivor).

use std::sync::Mutex;

use tongka_core::ids::MemberId;
use tongka_core::op::Op;
use tongka_core::state::MemberError;

use crate::account::{AccountKey, AccountMsg, Encoding};
use crate::{Engine, EngineError, Idem, Outcome};

impl Engine {
    /// The member `id` is now: itself, unless merged into another.
    pub fn resolve(&self, id: &MemberId) -> MemberId {
        let merged = self.core.merged.lock().expect("merged lock");
        if merged.is_empty() {
            id.clone()
        } else {
            merged.resolve(id)
        }
    }

    /// If `m` was merged away and this node holds a share of it, move that
    /// share to the survivor (an op of this node's: only a share's owner
    /// decreases it).
    pub async fn settle(&self, m: &MemberId) -> Result<bool, EngineError> {
        let into = self.resolve(m);
        if into == *m {
            return Ok(false);
        }
        let _g = self.core.merge_lock.lock().await;
        self.move_call(m, &into, None).await
    }

    /// Move every merged-away member's share held here (at start: a move
    /// cut short by a crash is made now).
    pub async fn settle_all(&self) -> Result<usize, EngineError> {
        let absorbed: Vec<MemberId> = self
            .core
            .store
            .merged()?
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        let mut moved = 0;
        for m in absorbed {
            // Nothing is in flight at start: what disk says is the share.
            let holds = self
                .core
                .store
                .member(&m)?
                .is_some_and(|s| s.wallet.share(&self.core.node) != Default::default());
            if holds {
                moved += usize::from(self.settle(&m).await?);
            }
        }
        Ok(moved)
    }

    /// Hand a merge move to `m`'s actor, with the survivor `into`'s actor
    /// to credit. The caller holds the merge lock.
    pub(crate) async fn move_call(
        &self,
        m: &MemberId,
        into: &MemberId,
        remote: Option<(Box<Op>, Encoding, tongka_store::Done)>,
    ) -> Result<bool, EngineError> {
        let survivor = self.account(&AccountKey::Member(into.clone())).await?;
        let actor = self.account(&AccountKey::Member(m.clone())).await?;
        let remote = Mutex::new(remote);
        let sent = actor
            .call(
                |reply| AccountMsg::Move {
                    survivor: survivor.clone(),
                    into: into.clone(),
                    remote: remote.lock().expect("once").take(),
                    reply,
                },
                None,
            )
            .await;
        match sent {
            Ok(ractor::rpc::CallResult::Success(r)) => r,
            _ => Err(EngineError::Internal(format!(
                "account {m} stopped during a merge move"
            ))),
        }
    }

    /// Merge `absorbed` into `survivor` (duplicates): the survivor's
    /// profile takes the absorbed member's blank fields and tags and its
    /// cumulative figures; every node moves its own share of the absorbed
    /// member's wallet and points to the survivor (this node at once).
    pub async fn merge_members(
        &self,
        actor: String,
        idem: Option<Idem>,
        survivor: MemberId,
        absorbed: MemberId,
    ) -> Result<(Outcome, bool), EngineError> {
        let gone = absorbed.clone();
        let out = self
            .idempotent(idem, move |me, idem| async move {
                let _g = me.core.merge_lock.lock().await;
                if me.core.store.member(&survivor)?.is_none() {
                    return Err(MemberError::NotFound(survivor.to_string()).into());
                }
                if me.core.store.member(&absorbed)?.is_none() {
                    return Err(MemberError::NotFound(absorbed.to_string()).into());
                }
                let absorbed_state = me.snapshot(&absorbed).await?;
                let merged = me.core.merged.lock().expect("merged lock").clone();
                let out = me
                    .call(AccountKey::Member(survivor.clone()), |reply| {
                        AccountMsg::Merge {
                            actor: actor.clone(),
                            idem: idem.clone(),
                            absorbed: Box::new(absorbed_state.clone()),
                            merged: Box::new(merged.clone()),
                            reply,
                        }
                    })
                    .await?;
                me.core
                    .merged
                    .lock()
                    .expect("merged lock")
                    .add(absorbed.clone(), survivor.clone());
                Ok(out)
            })
            .await?;
        if let Err(e) = self.settle(&gone).await {
            tracing::warn!(member = %gone, error = %e, "moving a merged member's share failed; retried on its next op");
        }
        Ok(out)
    }
}

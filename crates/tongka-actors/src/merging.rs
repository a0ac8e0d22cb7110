//! Merging members: lookups that follow merges (`resolve`), the merge
//! request, and settling (this node moving its share of a merged-away
//! member to the survivor). When to settle is the machine's rule
//! (`tongka_machine::settle`); this file runs its dues through the
//! account actors.

use std::sync::Mutex;

use tongka_core::ids::MemberId;
use tongka_core::op::Op;
use tongka_core::state::MemberError;
use tongka_machine::settle::{self, Due, Event, Settling};

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
    /// decreases it). Called for the member of an op this node made or
    /// applied (`tongka_machine::settle::touches`: a merge's absorbed
    /// member, a recharge's, a sale's, a refund's).
    pub async fn settle(&self, m: &MemberId) -> Result<bool, EngineError> {
        let into = {
            let merged = self.core.merged.lock().expect("merged lock");
            settle::survivor(&merged, m)
        };
        match into {
            Some(into) => {
                self.settle_due(&Due {
                    member: m.clone(),
                    into,
                })
                .await
            }
            None => Ok(false),
        }
    }

    /// Move every merged-away member's share held here (at start: a move
    /// cut short by a crash, or lost by a failed commit, is made now):
    /// the machine's `Event::Started` for each merged-away member as disk
    /// holds it (nothing is in flight at start).
    pub async fn settle_all(&self) -> Result<usize, EngineError> {
        let absorbed = self.core.db.merged()?;
        let mut settling = Settling::new(self.core.node.clone());
        let due = {
            let merged = self.core.merged.lock().expect("merged lock");
            for (a, _) in absorbed {
                if let Some(state) = self.core.db.member(&a)? {
                    settling.handle(Event::Started(&state), &merged);
                }
            }
            settling.due(&merged)
        };
        let mut moved = 0;
        for d in &due {
            moved += usize::from(self.settle_due(d).await?);
        }
        Ok(moved)
    }

    /// Settle what `settling` noted (ops applied here), warning of a move
    /// that failed: it is made at this node's next start, or when an op
    /// touches the member again.
    pub(crate) async fn settle_noted(&self, mut settling: Settling) {
        if settling.is_empty() {
            return;
        }
        let due = settling.due(&self.core.merged.lock().expect("merged lock"));
        for d in &due {
            if let Err(e) = self.settle_due(d).await {
                tracing::warn!(member = %d.member, error = %e, "moving a merged member's share failed; retried on its next op or at start");
            }
        }
    }

    /// One move due: `d.member`'s actor decides it on its newest state
    /// (`settle::move_of`: nothing when this node holds nothing of it).
    async fn settle_due(&self, d: &Due) -> Result<bool, EngineError> {
        let _g = self.core.merge_lock.lock().await;
        self.move_call(&d.member, &d.into, None).await
    }

    /// `settle`, warning of a move that failed (made at the next start, or
    /// when an op touches the member again): after a request whose op
    /// touched `m`.
    pub(crate) async fn settle_warn(&self, m: &MemberId) {
        if let Err(e) = self.settle(m).await {
            tracing::warn!(member = %m, error = %e, "moving a merged member's share failed; retried on its next op or at start");
        }
    }

    /// Hand a merge move to `m`'s actor, with the survivor `into`'s actor
    /// to credit. The caller holds the merge lock.
    pub(crate) async fn move_call(
        &self,
        m: &MemberId,
        into: &MemberId,
        remote: Option<(Box<Op>, Encoding, tongka_db::Done)>,
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
        by: String,
        idem: Option<Idem>,
        survivor: MemberId,
        absorbed: MemberId,
    ) -> Result<(Outcome, bool), EngineError> {
        let gone = absorbed.clone();
        let out = self
            .idempotent(idem, move |me, idem| async move {
                let _g = me.core.merge_lock.lock().await;
                if me.core.db.member(&survivor)?.is_none() {
                    return Err(MemberError::NotFound(survivor.to_string()).into());
                }
                if me.core.db.member(&absorbed)?.is_none() {
                    return Err(MemberError::NotFound(absorbed.to_string()).into());
                }
                let absorbed_state = me.snapshot(&absorbed).await?;
                let merged = me.core.merged.lock().expect("merged lock").clone();
                let out = me
                    .call(AccountKey::Member(survivor.clone()), |reply| {
                        AccountMsg::Merge {
                            by: by.clone(),
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
        // The merge notes its absorbed member, and any merged-away member
        // whose way to its survivor it changes (`Event::Merged`).
        let mut settling = Settling::new(self.core.node.clone());
        settling.handle(
            Event::Merged(&gone),
            &self.core.merged.lock().expect("merged lock"),
        );
        self.settle_noted(settling).await;
        Ok(out)
    }
}

//! Applying ops made by other nodes: one path for a single op, a batch and
//! received encodings. Each account's ops go to its actor in one message;
//! document and merge ops go one at a time in their place.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tongka_core::ids::MemberId;
use tongka_core::op::{EncodedOp, Op, OpBody};
use tongka_core::state::MemberState;
use tongka_db::Effects;
use tongka_machine::settle::{Event, Settling};

use crate::account::{self, AccountKey, AccountMsg, Encoding, RemoteItem};
use crate::{Engine, EngineError, now_ms};

/// A remote op as the engine takes it: the op, its encoding if received
/// so, and who waits for it to be durable.
type RemoteIn = (Op, Encoding, Option<tongka_db::Done>);

impl Engine {
    /// Apply an op made by another node, delivered in causal order: a batch
    /// of one (`apply_remote_batch`, the one path). Returns once the op is
    /// queued for the writer, so ops handed over one after another are
    /// committed in that order; `on_durable` is called when it is durable.
    /// An op that fails its checks is logged as rejected.
    pub async fn apply_remote(
        &self,
        op: Op,
        on_durable: tongka_db::Done,
    ) -> Result<(), EngineError> {
        self.apply_remote_items(vec![(op, None, Some(on_durable))])
            .await
    }

    /// Apply ops made by other nodes, delivered in causal order, as one
    /// batch: each account's ops go to its actor in one message, the actors
    /// work in parallel, and the ops are handed to the writer in the given
    /// order to be committed in one transaction. Returns once they are
    /// handed over, so batches handed over one after another are committed
    /// in that order. An op that fails its checks is logged as rejected.
    ///
    /// Merge ops (`MembersMerged`, `MergeMoved`: they change two accounts)
    /// go one at a time, in their place, between the runs of other ops; after
    /// the batch this node moves its own share of any merged-away member the
    /// batch touched to the survivor.
    pub async fn apply_remote_batch(&self, ops: Vec<Op>) -> Result<(), EngineError> {
        self.apply_remote_items(ops.into_iter().map(|op| (op, None, None)).collect())
            .await
    }

    /// `apply_remote_batch` for ops received with their encoding (verified
    /// against it): each is stored as received, not encoded again.
    pub async fn apply_remote_encoded(&self, ops: Vec<EncodedOp>) -> Result<(), EngineError> {
        self.apply_remote_items(
            ops.into_iter()
                .map(|e| (e.op, Some((e.bytes, e.hash)), None))
                .collect(),
        )
        .await
    }

    async fn apply_remote_items(&self, ops: Vec<RemoteIn>) -> Result<(), EngineError> {
        // The machine's settle rule: which members this batch's ops may
        // have credited this node's share of (noted only if merged away).
        let mut settling = Settling::new(self.core.node.clone());
        let mut any_merged = !self.core.merged.lock().expect("merged lock").is_empty();
        let mut run = Vec::with_capacity(ops.len());
        for (op, encoded, on_durable) in ops {
            let on_durable = on_durable.unwrap_or_else(|| Box::new(|_| {}));
            match &op.body {
                OpBody::ProgrammeChanged { .. } | OpBody::CatalogueChanged { .. } => {
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_document_remote(op, encoded, on_durable);
                }
                OpBody::StaffChanged { .. } => {
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_staff_remote(op, encoded, on_durable);
                }
                OpBody::StockChanged { .. } => {
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_stock_remote(op, encoded, on_durable);
                }
                OpBody::Withdrawal { .. } => {
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_withdrawal_remote(op, encoded, on_durable);
                }
                OpBody::DayClosed { .. } => {
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_close_remote(op, encoded, on_durable);
                }
                OpBody::MergeMoved { member, into, .. } => {
                    // It changes two accounts: one at a time, in its place.
                    // It notes nothing (`settle::touches`).
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    let (member, into) = (member.clone(), into.clone());
                    let _g = self.core.merge_lock.lock().await;
                    self.move_call(&member, &into, Some((Box::new(op), encoded, on_durable)))
                        .await?;
                }
                OpBody::MembersMerged {
                    member, absorbed, ..
                } => {
                    // A batch of one, in its place; then lookups follow the
                    // merge, and this node moves its share of `absorbed`.
                    let body = op.body.clone();
                    let (member, absorbed) = (member.clone(), absorbed.clone());
                    self.apply_remote_run(std::mem::take(&mut run)).await?;
                    self.apply_remote_run(vec![(op, encoded, Some(on_durable))])
                        .await?;
                    let mut merged = self.core.merged.lock().expect("merged lock");
                    merged.add(absorbed, member);
                    settling.handle(Event::Applied(&body), &merged);
                    any_merged = true;
                }
                body => {
                    if any_merged {
                        let merged = self.core.merged.lock().expect("merged lock");
                        settling.handle(Event::Applied(body), &merged);
                    }
                    run.push((op, encoded, Some(on_durable)));
                }
            }
        }
        self.apply_remote_run(run).await?;
        self.settle_noted(settling).await;
        Ok(())
    }

    /// A run of remote ops without merge ops, applied as one batch.
    async fn apply_remote_run(&self, ops: Vec<RemoteIn>) -> Result<(), EngineError> {
        let n = ops.len();
        if n == 0 {
            return Ok(());
        }
        {
            let now = now_ms();
            let mut clock = self.core.clock.lock().expect("clock lock");
            for (op, _, _) in &ops {
                let _ = clock.observe(op.hlc, now);
            }
        }
        // Per account, in order of first appearance: its ops, and its state
        // when a registration in this batch creates it.
        let mut groups: Vec<(AccountKey, Option<MemberState>, Vec<RemoteItem>)> = Vec::new();
        let mut group_of: HashMap<AccountKey, usize> = HashMap::new();
        // Index entries this batch's registrations give, seen by the
        // registrations after them (here and in later batches) until they
        // are committed.
        let mut claimed: Vec<String> = Vec::new();
        let mut claim = |key: String, winner: &MemberId| {
            let mut pending = self.core.pending_index.lock().expect("pending index lock");
            let e = pending.entry(key.clone()).or_insert((winner.clone(), 0));
            e.0 = winner.clone();
            e.1 += 1;
            claimed.push(key);
        };
        for (index, (op, encoded, on_durable)) in ops.into_iter().enumerate() {
            let mut effects = Effects::default();
            if let OpBody::MembersMerged {
                member, absorbed, ..
            } = &op.body
            {
                effects.merged.push((absorbed.clone(), member.clone()));
            }
            let mut preload = None;
            let key = match &op.body {
                OpBody::MemberRegistered {
                    member, profile, ..
                } => {
                    let state = MemberState::registered(&op)
                        .map_err(|e| EngineError::Internal(e.to_string()))?;
                    let owner = self.core.phone_owner(&profile.phone)?;
                    let key = format!("phone:{}", profile.phone);
                    let winner = self.core.index_winner(owner, member, &key, &mut effects);
                    claim(key, &winner);
                    effects.phones.push((profile.phone.clone(), Some(winner)));
                    if let Some(card) = &profile.card_no {
                        let owner = self.core.card_owner(card)?;
                        let key = format!("card:{card}");
                        let winner = self.core.index_winner(owner, member, &key, &mut effects);
                        claim(key, &winner);
                        effects.cards.push((card.clone(), Some(winner)));
                    }
                    preload = Some(state);
                    AccountKey::Member(member.clone())
                }
                body => match body.member() {
                    Some(m) => AccountKey::Member(m.clone()),
                    None => AccountKey::WalkIn,
                },
            };
            let g = *group_of.entry(key.clone()).or_insert_with(|| {
                groups.push((key, None, Vec::new()));
                groups.len() - 1
            });
            let group = &mut groups[g];
            if group.1.is_none() && group.2.is_empty() {
                group.1 = preload;
            }
            group.2.push(RemoteItem {
                index,
                op,
                encoded,
                effects,
                on_durable,
            });
        }
        let (handed_tx, handed) = tokio::sync::watch::channel(false);
        // Send every account its ops, then collect the answers: the actors
        // work meanwhile.
        let mut waiting = Vec::with_capacity(groups.len());
        for (key, preload, items) in groups {
            let items = Arc::new(Mutex::new(Some(items)));
            let rx = self
                .send_remote(&key, preload.clone(), &items, &handed)
                .await?;
            waiting.push((key, preload, items, rx));
        }
        let mut slots: Vec<Option<tongka_db::Prepared>> = (0..n).map(|_| None).collect();
        for (key, preload, items, mut rx) in waiting {
            let mut tries = 0;
            let applied = loop {
                match rx.await {
                    Ok(a) => break a,
                    // The actor stopped before it took the ops (it was
                    // passivating): a fresh activation takes them.
                    Err(_) if items.lock().expect("remote items lock").is_some() && tries < 4 => {
                        tries += 1;
                        rx = self
                            .send_remote(&key, preload.clone(), &items, &handed)
                            .await?;
                    }
                    Err(_) => {
                        return Err(EngineError::Internal(format!(
                            "account {key:?} stopped while applying remote ops"
                        )));
                    }
                }
            };
            for (index, job) in applied.prepared {
                slots[index] = Some(job);
            }
        }
        let mut jobs: Vec<tongka_db::Prepared> = slots
            .into_iter()
            .map(|j| j.expect("every op of the batch was applied"))
            .collect();
        // Sales' and refunds' stock, in the batch's order; the book stays
        // locked until they are handed over.
        let stock = self.stock_of_remote_run(&mut jobs);
        let core = self.core.clone();
        self.core.db.submit_all(
            jobs,
            Box::new(move |_| {
                // Committed (or the store failed): lookups read the index.
                let mut pending = core.pending_index.lock().expect("pending index lock");
                for key in claimed {
                    if let Some(e) = pending.get_mut(&key) {
                        e.1 -= 1;
                        if e.1 == 0 {
                            pending.remove(&key);
                        }
                    }
                }
            }),
        );
        drop(stock);
        let _ = handed_tx.send(true);
        Ok(())
    }

    /// Hand an account its share of a remote batch; the answer to await.
    async fn send_remote(
        &self,
        key: &AccountKey,
        preload: Option<MemberState>,
        items: &Arc<Mutex<Option<Vec<RemoteItem>>>>,
        handed: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<tokio::sync::oneshot::Receiver<account::RemoteApplied>, EngineError> {
        for _ in 0..4 {
            let actor = self.account_with(key, preload.clone()).await?;
            let (reply, rx) = tokio::sync::oneshot::channel();
            let msg = AccountMsg::ApplyRemoteBatch {
                items: items.clone(),
                handed: handed.clone(),
                reply,
            };
            if actor.send_message(msg).is_ok() {
                return Ok(rx);
            }
            self.core.forget(key, actor.get_id());
        }
        Err(EngineError::Internal(format!(
            "account {key:?} kept stopping"
        )))
    }
}

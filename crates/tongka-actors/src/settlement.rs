//! Withdrawals (提现, `tongka_core::settlement`): a store's request and
//! HQ's approval or rejection, each an op of this node's, decided by the
//! core's rule over what the figures say the store is owed and the
//! withdrawals held (`Db::withdrawals`); and those made elsewhere. The db
//! keeps each withdrawal's row in the op's own commit, with the figures,
//! for ops made here and received alike.
//!
//! One decision at a time per node, held to its commit
//! (`withdrawal_lock`): two requests at once cannot both take what is
//! left, and an approval twice is refused the second time.

use tongka_core::day::Day;
use tongka_core::figures::Figures;
use tongka_core::ids::{NodeId, WithdrawalId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::settlement::{self, SettlementError, Withdrawal, WithdrawalStep};
use tongka_db::Effects;

use crate::account::Encoding;
use crate::core::durable;
use crate::{Engine, EngineError, Idem, Outcome};

impl Engine {
    /// What `store` is owed over all time by this node's figures: its net
    /// money position in settlement (negative: it owes).
    pub fn owed(&self, store: &NodeId) -> Result<Money, EngineError> {
        let rows = self.core.db.figures(
            Some(std::slice::from_ref(store)),
            Day(i32::MIN),
            Day(i32::MAX),
        )?;
        Ok(settlement::position_of(rows.iter().map(|(_, _, f)| f as &Figures)).amount())
    }

    /// This node (a store) asks to withdraw `amount` of what it is owed.
    /// Answers the withdrawal, pending, once durable.
    pub async fn request_withdrawal(
        &self,
        amount: Money,
        note: String,
        by: String,
        idem: Option<Idem>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let _one = me.core.withdrawal_lock.lock().await;
            let node = me.core.node.clone();
            let owed = me.owed(&node)?;
            let held = me.core.db.withdrawals()?;
            settlement::decide_request(&node, owed, &held, amount)?;
            let id = WithdrawalId::mint(&node, me.core.db.next_entity());
            let body = OpBody::Withdrawal {
                id,
                step: WithdrawalStep::Requested { amount, note },
            };
            me.commit_withdrawal(None, body, by, idem).await
        })
        .await
    }

    /// HQ approves (`approve`) or rejects withdrawal `id`, with a note or
    /// reason. Answers the withdrawal after it, once durable.
    pub async fn decide_withdrawal(
        &self,
        id: WithdrawalId,
        approve: bool,
        note: String,
        by: String,
        idem: Option<Idem>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let _one = me.core.withdrawal_lock.lock().await;
            let held = me.core.db.withdrawals()?;
            let w = held
                .iter()
                .find(|w| w.id == id)
                .cloned()
                .ok_or_else(|| SettlementError::NotFound(id.clone()))?;
            let owed = me.owed(&w.store)?;
            settlement::decide_approval(&w, approve, owed, &held)?;
            let step = if approve {
                WithdrawalStep::Approved { note }
            } else {
                WithdrawalStep::Rejected { reason: note }
            };
            let body = OpBody::Withdrawal { id, step };
            me.commit_withdrawal(Some(w), body, by, idem).await
        })
        .await
    }

    /// Make the op (its role checked: `authority`), and commit it; the db
    /// writes the withdrawal's row in the same commit.
    async fn commit_withdrawal(
        &self,
        cur: Option<Withdrawal>,
        body: OpBody,
        by: String,
        idem: Option<Idem>,
    ) -> Result<Outcome, EngineError> {
        let (draft, op) = self.core.draft(by, idem.as_ref(), body)?;
        let after = settlement::apply(cur.as_ref(), &op)?;
        let outcome = Outcome::Withdrawal(Box::new(after));
        let effects = Effects {
            idem: idem.as_ref().map(|i| i.record(&outcome)),
            ..Default::default()
        };
        let key = idem.as_ref().map(|i| i.key.clone());
        let rx = self.core.submit_local(draft, effects, key);
        durable(rx, outcome).await
    }

    /// A `Withdrawal` op made elsewhere: to the writer in its place (the db
    /// keeps its row; causal delivery brings a request before its decision).
    pub(crate) fn apply_withdrawal_remote(
        &self,
        op: Op,
        encoded: Encoding,
        on_durable: tongka_db::Done,
    ) {
        self.core.observe(op.hlc);
        self.core
            .submit_remote(op, encoded, Effects::default(), on_durable);
    }
}

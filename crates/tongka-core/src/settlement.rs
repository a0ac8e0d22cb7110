//! Settlement between stores (跨店结算) and withdrawals (提现): the rule,
//! written once. Pure: the db keeps its inputs in the figures
//! (`Figures::shares_with`, per counterparty store and chain day, in the
//! op's own commit) and the API reads them; nothing here reads the log.
//!
//! # Who owes whom
//!
//! Stored value is escrowed per store (`escrow`): a member's balance is
//! split into shares, one per store, and a store short of it asks the
//! holders, which answer with a `SharesTransferred { to, principal, bonus,
//! points }` op of their own. That op records that money paid in at the
//! giving store (it took the cash when the member recharged) will be spent
//! at the receiving store (it hands over the goods). So:
//!
//! - **Principal: the giver owes the receiver the principal it moved.** It
//!   holds the cash; the receiver delivers goods for it.
//! - **Bonus (赠送金额): settled too, at face value, with the principal.**
//!   The bonus was granted by a recharge sold at the giving store, which
//!   keeps that recharge's cash; the receiver delivers goods for the bonus
//!   exactly as for principal (a spend takes both in the share's
//!   proportion), and would otherwise bear a promotion another store sold.
//!   The promotion's cost belongs to the store whose sale it bought.
//!   Principal and bonus are shown apart, so HQ sees both.
//! - **Points (积分): not settled.** Points are not money anyone paid in:
//!   they are the chain programme's loyalty currency, issued by HQ's rules;
//!   moving them carries no cash. Their count moved is shown, for
//!   information, and owes nothing.
//! - **Merges (`MergeMoved`) move no money between stores**: a node moves
//!   its own share of the merged-away member to the survivor, debiting
//!   and crediting the same store (`merge`), so it settles nothing.
//! - A transfer to the giver itself (never made) would owe nothing.
//!
//! Settlement over a period is the sum of the transfers whose op's chain
//! day falls in it: per pair of stores, the net of both directions (shares
//! that move back, B→A after A→B, net out); per store, its net position
//! (what the others owe it less what it owes them; positive: it is owed).
//! Each transfer adds an amount to one store and takes the same amount
//! from another, so the positions of all stores sum to zero by
//! construction, whatever the order the ops were applied in (property
//! tests below). HQ authors no transfer (it holds no share) and so is
//! owed nothing; HQ's part is to clear: it approves withdrawals.
//!
//! # Withdrawals
//!
//! A store that is owed money asks to withdraw it (`Withdrawal` op, step
//! `Requested`, made at the store; a store cut off by a partition makes it
//! there and it replicates later). HQ alone approves or rejects it, each a
//! `Withdrawal` op of HQ's with who (`by`) and when (the op's clock). The
//! rule, simpler than per period and documented in README: a store may ask
//! at most what it is owed over all time ([`Settlement::net`] of every day)
//! less what was approved and what is still pending ([`available`]); HQ
//! approves only while the store is still owed at least the amount less
//! what was approved before ([`decide_approval`]). Approved withdrawals
//! reduce what the store can withdraw next; rejected ones free it.
//! Each withdrawal is decided once: a second approval or rejection is
//! refused where it is asked; two concurrent decisions (two HQ nodes)
//! resolve the same on every node, the earlier by clock then op id
//! ([`apply`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::Hlc;
use crate::error::DomainError;
use crate::figures::{Figures, Moved};
use crate::ids::{NodeId, OpId, WithdrawalId};
use crate::money::Money;
use crate::op::{Op, OpBody};

/// Shares one store exchanged with one other store (one row of
/// `Figures::shares_with`): what it gave that store and what it received
/// from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct Exchanged {
    #[n(0)]
    pub given: Moved,
    #[n(1)]
    pub received: Moved,
}

/// One share transfer between two different stores: `from` gave, `to`
/// received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub from: NodeId,
    pub to: NodeId,
    pub principal: Money,
    pub bonus: Money,
    pub points: i64,
}

/// The transfer `op` records between two stores, if it is one.
pub fn transfer_of(op: &Op) -> Option<Transfer> {
    match &op.body {
        OpBody::SharesTransferred {
            to,
            principal,
            bonus,
            points,
            ..
        } if to != op.origin() => Some(Transfer {
            from: op.origin().clone(),
            to: to.clone(),
            principal: *principal,
            bonus: *bonus,
            points: *points,
        }),
        _ => None,
    }
}

/// What one store owes another: money (principal and bonus, settled) and
/// points (shown, not settled), signed, and the transfers counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owed {
    pub principal: Money,
    pub bonus: Money,
    pub points: i64,
    pub transfers: u64,
}

impl Owed {
    /// The money settled: principal and bonus.
    pub fn amount(&self) -> Money {
        self.principal + self.bonus
    }

    fn add(&mut self, sign: i64, principal: Money, bonus: Money, points: i64, count: u64) {
        if sign > 0 {
            self.principal += principal;
            self.bonus += bonus;
            self.points += points;
        } else {
            self.principal -= principal;
            self.bonus -= bonus;
            self.points -= points;
        }
        self.transfers += count;
    }

    fn negated(self) -> Owed {
        Owed {
            principal: Money::ZERO - self.principal,
            bonus: Money::ZERO - self.bonus,
            points: -self.points,
            transfers: self.transfers,
        }
    }
}

/// Settlement over a set of transfers: per unordered pair of stores, what
/// the first (by name) owes the second, net of both directions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    pairs: BTreeMap<(NodeId, NodeId), Owed>,
}

impl Settlement {
    /// Count `count` transfers (`count` 1 for one op) in which `from` gave
    /// `to` shares: `from` owes `to` their money.
    pub fn add(
        &mut self,
        from: &NodeId,
        to: &NodeId,
        principal: Money,
        bonus: Money,
        points: i64,
        count: u64,
    ) {
        if from == to {
            return;
        }
        let (key, sign) = if from < to {
            ((from.clone(), to.clone()), 1)
        } else {
            ((to.clone(), from.clone()), -1)
        };
        self.pairs
            .entry(key)
            .or_default()
            .add(sign, principal, bonus, points, count);
    }

    pub fn add_transfer(&mut self, t: &Transfer) {
        self.add(&t.from, &t.to, t.principal, t.bonus, t.points, 1);
    }

    /// Settlement of transfer ops (any other op counts nothing).
    pub fn of_ops<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Settlement {
        let mut s = Settlement::default();
        for t in ops.into_iter().filter_map(transfer_of) {
            s.add_transfer(&t);
        }
        s
    }

    /// Settlement of figures rows (each store's, per day): each transfer
    /// is read once, from its giver's row (`given`); the receiver's row
    /// holds the same amounts as `received` (in the same commit).
    pub fn of_figures<'a>(rows: impl IntoIterator<Item = (&'a NodeId, &'a Figures)>) -> Settlement {
        let mut s = Settlement::default();
        for (store, f) in rows {
            for (other, ex) in &f.shares_with {
                let g = &ex.given;
                s.add(store, other, g.principal, g.bonus, g.points, g.count);
            }
        }
        s
    }

    /// Each pair of stores with transfers between them, oriented debtor
    /// first: `(debtor, creditor, owed)` with `owed.amount() ≥ 0` (a pair
    /// that nets to zero money is listed by name, its points as they are).
    pub fn pairs(&self) -> Vec<(NodeId, NodeId, Owed)> {
        self.pairs
            .iter()
            .map(|((a, b), o)| {
                if o.amount().is_negative() {
                    (b.clone(), a.clone(), o.negated())
                } else {
                    (a.clone(), b.clone(), *o)
                }
            })
            .collect()
    }

    /// What the others owe `store` less what it owes them (positive: it
    /// is owed; negative: it owes).
    pub fn net(&self, store: &NodeId) -> Owed {
        let mut net = Owed::default();
        for ((a, b), o) in &self.pairs {
            if a == store {
                net.add(-1, o.principal, o.bonus, o.points, o.transfers);
            } else if b == store {
                net.add(1, o.principal, o.bonus, o.points, o.transfers);
            }
        }
        net
    }

    /// Every store in a pair, and its net position.
    pub fn positions(&self) -> BTreeMap<NodeId, Owed> {
        let mut out: BTreeMap<NodeId, Owed> = BTreeMap::new();
        for ((a, b), o) in &self.pairs {
            out.entry(a.clone())
                .or_default()
                .add(-1, o.principal, o.bonus, o.points, o.transfers);
            out.entry(b.clone())
                .or_default()
                .add(1, o.principal, o.bonus, o.points, o.transfers);
        }
        out
    }

    /// The chain's total: the positions summed, zero by construction.
    pub fn total(&self) -> Owed {
        let mut t = Owed::default();
        for o in self.positions().values() {
            t.add(1, o.principal, o.bonus, o.points, 0);
        }
        t
    }
}

/// One store's net position from its own figures rows (any days): what
/// the stores it received shares from owe it, less what it owes those it
/// gave to. The same as [`Settlement::net`] of every store's rows of those
/// days (each transfer is in its giver's and its receiver's rows, written
/// in one commit).
pub fn position_of<'a>(rows: impl IntoIterator<Item = &'a Figures>) -> Owed {
    let mut net = Owed::default();
    for f in rows {
        for ex in f.shares_with.values() {
            let (g, r) = (&ex.given, &ex.received);
            net.add(1, r.principal, r.bonus, r.points, r.count);
            net.add(-1, g.principal, g.bonus, g.points, g.count);
        }
    }
    net
}

/// A step of a withdrawal (the body of a `Withdrawal` op).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub enum WithdrawalStep {
    /// The store (the op's origin) asks to withdraw `amount`.
    #[n(0)]
    Requested {
        #[n(0)]
        amount: Money,
        #[n(1)]
        note: String,
    },
    /// HQ approves it.
    #[n(1)]
    Approved {
        #[n(0)]
        note: String,
    },
    /// HQ rejects it.
    #[n(2)]
    Rejected {
        #[n(0)]
        reason: String,
    },
}

impl WithdrawalStep {
    pub fn is_request(&self) -> bool {
        matches!(self, WithdrawalStep::Requested { .. })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            WithdrawalStep::Requested { .. } => "withdrawal_requested",
            WithdrawalStep::Approved { .. } => "withdrawal_approved",
            WithdrawalStep::Rejected { .. } => "withdrawal_rejected",
        }
    }
}

/// HQ's decision on a withdrawal: who, when, by which op.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Decision {
    #[n(0)]
    pub approved: bool,
    /// The approval's note or the rejection's reason.
    #[n(1)]
    pub note: String,
    #[n(2)]
    pub by: String,
    #[n(3)]
    pub at: Hlc,
    #[n(4)]
    pub op: OpId,
}

/// A withdrawal as the ops so far make it (kept by the db, one row each).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Withdrawal {
    #[n(0)]
    pub id: WithdrawalId,
    /// The store withdrawing: the request's origin.
    #[n(1)]
    pub store: NodeId,
    #[n(2)]
    pub amount: Money,
    #[n(3)]
    pub note: String,
    #[n(4)]
    pub requested_by: String,
    #[n(5)]
    pub requested_at: Hlc,
    #[n(6)]
    pub requested_op: OpId,
    #[n(7)]
    pub decision: Option<Decision>,
}

/// Where a withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
}

impl Withdrawal {
    pub fn status(&self) -> Status {
        match &self.decision {
            None => Status::Pending,
            Some(d) if d.approved => Status::Approved,
            Some(_) => Status::Rejected,
        }
    }
}

/// Why a withdrawal step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    #[error("the store may withdraw at most {available} now (asked {asked})")]
    ExceedsOwed { asked: Money, available: Money },
    #[error("withdrawal {0} was already decided")]
    Decided(WithdrawalId),
    #[error("no withdrawal {0}")]
    NotFound(WithdrawalId),
    #[error("withdrawal {0} was already requested by another op")]
    IdTaken(WithdrawalId),
    #[error("a withdrawal's amount must be more than 0")]
    NotPositive,
}

impl DomainError for SettlementError {
    fn code(&self) -> &'static str {
        match self {
            SettlementError::ExceedsOwed { .. } => "withdrawal_exceeds_owed",
            SettlementError::Decided(_) => "withdrawal_decided",
            SettlementError::NotFound(_) => "withdrawal_not_found",
            SettlementError::IdTaken(_) => "withdrawal_id_taken",
            SettlementError::NotPositive => "withdrawal_not_positive",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            SettlementError::ExceedsOwed { asked, available } => {
                format!("该门店当前最多可提现 {available}（申请 {asked}）")
            }
            SettlementError::Decided(id) => format!("提现 {id} 已审批"),
            SettlementError::NotFound(id) => format!("没有提现 {id}"),
            SettlementError::IdTaken(id) => format!("提现 {id} 已由另一操作申请"),
            SettlementError::NotPositive => "提现金额须大于 0".into(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            SettlementError::ExceedsOwed { asked, available } => vec![
                ("asked", asked.to_string()),
                ("available", available.to_string()),
            ],
            SettlementError::Decided(id)
            | SettlementError::NotFound(id)
            | SettlementError::IdTaken(id) => vec![("withdrawal", id.to_string())],
            SettlementError::NotPositive => Vec::new(),
        }
    }
}

/// What a store's withdrawals approved and still pending add up to
/// (`others` of the store: any other store's are skipped).
fn approved_and_pending<'a>(
    store: &NodeId,
    others: impl IntoIterator<Item = &'a Withdrawal>,
) -> (Money, Money) {
    let (mut approved, mut pending) = (Money::ZERO, Money::ZERO);
    for w in others.into_iter().filter(|w| w.store == *store) {
        match w.status() {
            Status::Approved => approved += w.amount,
            Status::Pending => pending += w.amount,
            Status::Rejected => {}
        }
    }
    (approved, pending)
}

/// What `store` may still ask to withdraw: what it is owed over all time
/// (`owed`, its net money position) less its withdrawals approved and
/// pending; never below zero.
pub fn available<'a>(
    store: &NodeId,
    owed: Money,
    withdrawals: impl IntoIterator<Item = &'a Withdrawal>,
) -> Money {
    let (approved, pending) = approved_and_pending(store, withdrawals);
    let left = owed - approved - pending;
    if left.is_negative() {
        Money::ZERO
    } else {
        left
    }
}

/// Whether `store` may ask to withdraw `amount` (positive, checked by the
/// caller) now: at most [`available`].
pub fn decide_request<'a>(
    store: &NodeId,
    owed: Money,
    withdrawals: impl IntoIterator<Item = &'a Withdrawal>,
    amount: Money,
) -> Result<(), SettlementError> {
    let available = available(store, owed, withdrawals);
    if !amount.is_positive() {
        return Err(SettlementError::NotPositive);
    }
    if amount > available {
        return Err(SettlementError::ExceedsOwed {
            asked: amount,
            available,
        });
    }
    Ok(())
}

/// Whether HQ may approve (`approve`) or reject `w`: once only; an
/// approval only while the store is owed at least its amount less what
/// was approved before (its other pending requests reserve nothing here:
/// HQ decides them in turn).
pub fn decide_approval<'a>(
    w: &Withdrawal,
    approve: bool,
    owed: Money,
    withdrawals: impl IntoIterator<Item = &'a Withdrawal>,
) -> Result<(), SettlementError> {
    if w.decision.is_some() {
        return Err(SettlementError::Decided(w.id.clone()));
    }
    if approve {
        let (approved, _) = approved_and_pending(&w.store, withdrawals);
        let left = owed - approved;
        let available = if left.is_negative() {
            Money::ZERO
        } else {
            left
        };
        if w.amount > available {
            return Err(SettlementError::ExceedsOwed {
                asked: w.amount,
                available,
            });
        }
    }
    Ok(())
}

/// The withdrawal after `op` (a `Withdrawal` op), from `cur` as the ops
/// before made it. Total over causal delivery: a request creates the row
/// (again: unchanged); a decision sets it, and of two decisions the
/// earlier by clock, then op id, stands on every node.
pub fn apply(cur: Option<&Withdrawal>, op: &Op) -> Result<Withdrawal, SettlementError> {
    let OpBody::Withdrawal { id, step } = &op.body else {
        return Err(SettlementError::NotFound(WithdrawalId::mint(
            op.origin(),
            0,
        )));
    };
    match (step, cur) {
        (WithdrawalStep::Requested { .. }, Some(w)) if w.requested_op == op.id => Ok(w.clone()),
        (WithdrawalStep::Requested { .. }, Some(_)) => Err(SettlementError::IdTaken(id.clone())),
        (WithdrawalStep::Requested { amount, .. }, None) if !amount.is_positive() => {
            Err(SettlementError::NotPositive)
        }
        (WithdrawalStep::Requested { amount, note }, None) => Ok(Withdrawal {
            id: id.clone(),
            store: op.origin().clone(),
            amount: *amount,
            note: note.clone(),
            requested_by: op.by.clone(),
            requested_at: op.hlc,
            requested_op: op.id.clone(),
            decision: None,
        }),
        (_, None) => Err(SettlementError::NotFound(id.clone())),
        (step, Some(w)) => {
            let (approved, note) = match step {
                WithdrawalStep::Approved { note } => (true, note.clone()),
                WithdrawalStep::Rejected { reason } => (false, reason.clone()),
                WithdrawalStep::Requested { .. } => unreachable!("matched above"),
            };
            let d = Decision {
                approved,
                note,
                by: op.by.clone(),
                at: op.hlc,
                op: op.id.clone(),
            };
            let mut next = w.clone();
            let earlier = match &w.decision {
                None => true,
                Some(old) => (d.at, &d.op.origin, d.op.seq) < (old.at, &old.op.origin, old.op.seq),
            };
            if earlier {
                next.decision = Some(d);
            }
            Ok(next)
        }
    }
}

#[cfg(test)]
mod tests;

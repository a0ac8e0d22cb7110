//! Figures kept from the ops (issue 13, "Figures from the ops"): what one
//! store did on one chain day ([`Day::of_ms`] of the op's clock, the
//! chain's UTC+8 calendar). Derived from ops alone, so every node holding
//! the same ops holds the same figures, whatever order or batching it
//! applied them in: each op adds to the figures of the stores it
//! [`touched`], and adding commutes. The db keeps one [`Figures`] per
//! `(store, day)`, updated in the op's own commit; reports read those rows
//! and never the log.
//!
//! A store's stored-value liability (what members may still spend that was
//! paid in at, or escrowed to, this store) over a set of days is
//! [`Figures::liability`] summed over them: recharged + imported − spent +
//! refunded + shares in − shares out, principal and bonus apart (a member
//! import's opening balances are owed, though no money was paid in:
//! `LedgerTotals::imported_principal`). Share transfers move
//! a share from one store to another and add nothing chain-wide, so summed
//! over every store it is [`LedgerTotals::outstanding`] (property test
//! below). Points likewise ([`Figures::points_outstanding`]).
//!
//! Distinct active members (a member with a sale or a recharge at the
//! store that day, [`active`]) need a set, which a sum cannot hold: the db
//! keeps it (`active-1`) and bumps [`Figures::active_members`] when a
//! member enters it; [`Book`] is the same rule in memory, for tests.
//!
//! Dormant members ([`seen`]) and the rankings of members and products
//! ([`ranks`]) are kept beside the figures, in the same commits.
//! Points do not expire in this product (no op expires them, and the
//! programme has no validity for points), so a report's expired points
//! are 0.

use std::collections::{BTreeMap, BTreeSet};

use crate::checkout::TenderKind;
use crate::day::Day;
use crate::ids::{MemberId, NodeId};
use crate::money::Money;
use crate::op::{Op, OpBody};
use crate::settlement::Exchanged;
use crate::state::LedgerTotals;

/// Money one way through one tender kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct TenderFigures {
    /// Sales paid (in part) with it, and what it paid of them (net of
    /// change: `Order::tenders`).
    #[n(0)]
    pub sales: u64,
    #[n(1)]
    pub sold: Money,
    /// Recharges paid with it, and their principal (what it paid); the
    /// bonus they gave is `recharged_bonus`.
    #[n(2)]
    pub recharges: u64,
    #[n(3)]
    pub recharged: Money,
    /// Refunds paid back through it, and what it paid back.
    #[n(4)]
    pub refunds: u64,
    #[n(5)]
    pub refunded: Money,
    #[n(6)]
    pub recharged_bonus: Money,
}

impl TenderFigures {
    /// Money in through this tender less money out: sales and recharges
    /// less refunds.
    pub fn net(&self) -> Money {
        self.sold + self.recharged - self.refunded
    }
}

/// Escrow shares moved one way (`SharesTransferred`).
#[derive(Debug, Clone, Default, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct Moved {
    /// Transfer ops.
    #[n(0)]
    pub count: u64,
    #[n(1)]
    pub principal: Money,
    #[n(2)]
    pub bonus: Money,
    #[n(3)]
    pub points: i64,
}

impl Moved {
    pub(crate) fn add(&mut self, principal: Money, bonus: Money, points: i64) {
        self.count += 1;
        self.principal += principal;
        self.bonus += bonus;
        self.points += points;
    }
}

/// What one store did on one chain day, as far as this node's ops tell.
/// Stored as minicbor with index-numbered fields, so it may grow a field.
#[derive(Debug, Clone, Default, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct Figures {
    /// The ledger totals of the ops this store made that day
    /// (`totals.members` are the members it registered: new members).
    #[n(0)]
    pub totals: LedgerTotals,
    /// Money through each tender kind (sales, recharges, refunds).
    #[n(1)]
    pub tenders: BTreeMap<TenderKind, TenderFigures>,
    /// Shares other stores gave this one, and this one gave others.
    #[n(2)]
    pub shares_in: Moved,
    #[n(3)]
    pub shares_out: Moved,
    /// Distinct members with a sale or a recharge at this store that day
    /// (kept by whoever holds the set: see the module doc).
    #[n(4)]
    pub active_members: u64,
    /// Settlement (`settlement`): shares this store gave each other store
    /// and received from it, per counterparty. A row written before the
    /// field lacks it (the db recomputes such rows: `figures-2`).
    #[n(5)]
    pub shares_with: BTreeMap<NodeId, Exchanged>,
}

/// The stores whose figures `op` changes: its origin, and the receiver of
/// a share transfer.
pub fn touched(op: &Op) -> Vec<NodeId> {
    let mut stores = vec![op.origin().clone()];
    if let OpBody::SharesTransferred { to, .. } = &op.body
        && to != op.origin()
    {
        stores.push(to.clone());
    }
    stores
}

/// The chain day an op counts on.
pub fn day_of(op: &Op) -> Day {
    Day::of_ms(op.hlc.ms)
}

/// The member `op` makes active at its origin that day: the member of a
/// sale or a recharge.
pub fn active(op: &Op) -> Option<&MemberId> {
    match &op.body {
        OpBody::CheckedOut { order, .. } => order.member.as_ref(),
        OpBody::Recharged { member, .. } => Some(member),
        _ => None,
    }
}

impl Figures {
    /// Add what `op` did to `store`'s figures (`store` one of
    /// [`touched`]`(op)`; any other store is left as it is). Active members
    /// are not counted here (see the module doc).
    pub fn apply_as(&mut self, store: &NodeId, op: &Op) {
        if store == op.origin() {
            self.totals.apply(op);
            match &op.body {
                OpBody::Recharged {
                    amount,
                    bonus,
                    tender,
                    ..
                } => {
                    let t = self.tenders.entry(*tender).or_default();
                    t.recharges += 1;
                    t.recharged += *amount;
                    t.recharged_bonus += *bonus;
                }
                OpBody::CheckedOut { order, .. } => {
                    let mut seen = BTreeSet::new();
                    for tender in &order.tenders {
                        let t = self.tenders.entry(tender.kind).or_default();
                        if seen.insert(tender.kind) {
                            t.sales += 1;
                        }
                        t.sold += tender.amount;
                    }
                }
                OpBody::Refunded { refund, .. } => {
                    let mut seen = BTreeSet::new();
                    for tender in &refund.tenders {
                        let t = self.tenders.entry(tender.kind).or_default();
                        if seen.insert(tender.kind) {
                            t.refunds += 1;
                        }
                        t.refunded += tender.amount;
                    }
                }
                OpBody::SharesTransferred {
                    to,
                    principal,
                    bonus,
                    points,
                    ..
                } => {
                    self.shares_out.add(*principal, *bonus, *points);
                    // settlement: given to another store
                    if to != op.origin() {
                        let ex = self.shares_with.entry(to.clone()).or_default();
                        ex.given.add(*principal, *bonus, *points);
                    }
                }
                _ => {}
            }
        }
        if let OpBody::SharesTransferred {
            to,
            principal,
            bonus,
            points,
            ..
        } = &op.body
            && to == store
        {
            self.shares_in.add(*principal, *bonus, *points);
            // settlement: received from another store
            if to != op.origin() {
                let ex = self.shares_with.entry(op.origin().clone()).or_default();
                ex.received.add(*principal, *bonus, *points);
            }
        }
    }

    /// This store's change in stored value owed to members (principal,
    /// bonus): recharged − spent + refunded + shares in − shares out.
    pub fn liability(&self) -> (Money, Money) {
        let (p, b) = self.totals.outstanding();
        (
            p + self.shares_in.principal - self.shares_out.principal,
            b + self.shares_in.bonus - self.shares_out.bonus,
        )
    }

    /// This store's change in points held by members: issued − reversed −
    /// redeemed + returned + shares in − shares out.
    pub fn points_outstanding(&self) -> i64 {
        self.totals.points_outstanding() + self.shares_in.points - self.shares_out.points
    }

    /// What one tender kind took in and paid out (zero when unused).
    pub fn tender(&self, kind: TenderKind) -> TenderFigures {
        self.tenders.get(&kind).cloned().unwrap_or_default()
    }
}

/// Every store's figures per day, kept in memory: the rule the db keeps
/// in its tables (`figures-1`, `active-1`), for tests and for whoever
/// holds a set of ops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    pub figures: BTreeMap<(NodeId, Day), Figures>,
    pub active: BTreeSet<(NodeId, Day, MemberId)>,
    /// Members' last days (dormant members) and the rankings' rows.
    pub seen: seen::LastSeen,
    pub ranks: ranks::Ranks,
}

impl Book {
    pub fn apply(&mut self, op: &Op) {
        self.seen.apply(op);
        self.ranks.apply(op);
        let day = day_of(op);
        for store in touched(op) {
            let f = self.figures.entry((store.clone(), day)).or_default();
            f.apply_as(&store, op);
            if store == *op.origin()
                && let Some(m) = active(op)
                && self.active.insert((store, day, m.clone()))
            {
                f.active_members += 1;
            }
        }
    }

    /// Σ over every store and day of the liability (principal, bonus).
    pub fn liability(&self) -> (Money, Money) {
        self.figures
            .values()
            .map(Figures::liability)
            .fold((Money::ZERO, Money::ZERO), |(p, b), (fp, fb)| {
                (p + fp, b + fb)
            })
    }
}

pub mod ranks;
pub mod seen;

#[cfg(test)]
mod ranks_tests;
#[cfg(test)]
mod tests;

//! The chain-wide money totals (`/ledger/summary`), folded from ops alone
//! (`LedgerTotals::apply`); also each store's day in `figures`.

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::op::{Op, OpBody};

/// Chain-wide money totals, as far as this node's ops tell (api.md
/// `/ledger/summary`). Derived from ops alone, so equal on nodes holding the
/// same ops. Its serde shape is the db's `Summary` (postcard, which does
/// not grow a field: add none); its minicbor one, index-numbered, is each
/// day's figures (`figures::Figures::totals`).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct LedgerTotals {
    #[n(0)]
    pub members: u64,
    #[n(1)]
    pub recharges: u64,
    #[n(2)]
    pub recharged_principal: Money,
    #[n(3)]
    pub recharged_bonus: Money,
    #[n(4)]
    pub orders: u64,
    #[n(5)]
    pub sales: Money,
    #[n(6)]
    pub spent_principal: Money,
    #[n(7)]
    pub spent_bonus: Money,
    #[n(8)]
    pub refunds: u64,
    #[n(9)]
    pub refunded: Money,
    #[n(10)]
    pub refunded_principal: Money,
    #[n(11)]
    pub refunded_bonus: Money,
    #[n(12)]
    pub points_issued: i64,
    #[n(13)]
    pub points_reversed: i64,
    /// Points paid with at checkout (积分抵现).
    #[n(14)]
    pub points_redeemed: i64,
    /// Points paid with, given back by refunds.
    #[n(15)]
    pub points_returned: i64,
    /// Coupons issued, and the uses they came with.
    #[n(16)]
    pub coupons_issued: u64,
    #[n(17)]
    pub coupon_uses_issued: i64,
    /// Coupon uses made by sales, and given back by refunds.
    #[n(18)]
    pub coupon_uses: i64,
    #[n(19)]
    pub coupon_uses_returned: i64,
    /// What coupons took off sales (refunds do not change it).
    #[n(20)]
    pub coupon_off: Money,
    /// Cards sold, visits verified, cards refunded, and what those refunds
    /// kept for the visits used.
    #[n(21)]
    pub cards_sold: u64,
    #[n(22)]
    pub card_visits: i64,
    #[n(23)]
    pub cards_refunded: u64,
    #[n(24)]
    pub card_kept: Money,
    /// Members imported with opening balances (`op::Opening`; counted in
    /// `members` too), and what they brought: stored value owed to members
    /// (liability) that is not a recharge (no money paid in now: not
    /// revenue), and points. Not in the serde shape (the db's postcard
    /// `Summary` does not grow: the db keeps the whole totals in minicbor
    /// beside it, `meta` `totals`); missing in figures rows written before,
    /// so read as 0 (`cbor(default)`), which they were.
    #[cbor(n(25), default)]
    #[serde(skip)]
    pub imports: u64,
    #[cbor(n(26), default)]
    #[serde(skip)]
    pub imported_principal: Money,
    #[cbor(n(27), default)]
    #[serde(skip)]
    pub imported_bonus: Money,
    #[cbor(n(28), default)]
    #[serde(skip)]
    pub imported_points: i64,
}

impl LedgerTotals {
    pub fn apply(&mut self, op: &Op) {
        match &op.body {
            OpBody::MemberRegistered { opening, .. } => {
                self.members += 1;
                if let Some(o) = opening {
                    self.imports += 1;
                    self.imported_principal += o.principal;
                    self.imported_bonus += o.bonus;
                    self.imported_points += o.points;
                }
            }
            OpBody::ProfileUpdated { .. }
            | OpBody::SharesTransferred { .. }
            | OpBody::MembersMerged { .. }
            | OpBody::MergeMoved { .. }
            | OpBody::ProgrammeChanged { .. }
            | OpBody::CatalogueChanged { .. }
            | OpBody::UsesTransferred { .. }
            | OpBody::StaffChanged { .. }
            | OpBody::StockChanged { .. }
            | OpBody::Withdrawal { .. }
            | OpBody::DayClosed { .. } => {}
            OpBody::CardVisited { count, .. } => self.card_visits += i64::from(*count),
            OpBody::CouponIssued { coupon, .. } => {
                self.coupons_issued += 1;
                self.coupon_uses_issued += i64::from(coupon.template.uses);
            }
            OpBody::Recharged { amount, bonus, .. } => {
                self.recharges += 1;
                self.recharged_principal += *amount;
                self.recharged_bonus += *bonus;
            }
            OpBody::CheckedOut { order, .. } => {
                self.orders += 1;
                self.sales += order.payable;
                self.spent_principal += order.balance_principal;
                self.spent_bonus += order.balance_bonus;
                self.points_issued += order.points_earned;
                self.points_redeemed += order.points_used;
                self.coupon_uses += order.coupons.len() as i64;
                self.coupon_off += order.coupon_off;
                for sale in order.lines.iter().filter_map(|l| l.card.as_ref()) {
                    self.cards_sold += sale.cards.len() as u64;
                }
            }
            OpBody::Refunded { refund, .. } => {
                self.refunds += 1;
                self.refunded += refund.amount;
                self.refunded_principal += refund.balance_principal;
                self.refunded_bonus += refund.balance_bonus;
                self.points_reversed += refund.points_reversed;
                self.points_returned += refund.points_returned;
                self.coupon_uses_returned += refund.coupons_returned.len() as i64;
                self.cards_refunded += refund.cards_refunded.len() as u64;
                self.card_kept += refund.card_kept;
            }
        }
    }

    /// Coupon uses members hold (conservation of uses, with `Σ left` over
    /// every coupon of every member): issued − used + given back.
    pub fn coupon_uses_outstanding(&self) -> i64 {
        self.coupon_uses_issued - self.coupon_uses + self.coupon_uses_returned
    }

    /// Points members hold, as far as sales, refunds and imports tell
    /// (conservation of points, with `Σ share.points` over all members):
    /// issued − reversed − redeemed + returned + imported.
    pub fn points_outstanding(&self) -> i64 {
        self.points_issued - self.points_reversed - self.points_redeemed
            + self.points_returned
            + self.imported_points
    }

    /// Stored value still owed to members (invariant 1, conservation):
    /// recharged + imported − spent + refunded.
    pub fn outstanding(&self) -> (Money, Money) {
        (
            self.recharged_principal + self.imported_principal - self.spent_principal
                + self.refunded_principal,
            self.recharged_bonus + self.imported_bonus - self.spent_bonus + self.refunded_bonus,
        )
    }
}

//! Encodings as they were before points deduction (积分抵现), kept so that
//! what was stored and signed then still decodes, and encodes again to the
//! same bytes. postcard is not self-describing: a struct encodes as its
//! fields one after another, so a field added to `Order`, `Refund` or
//! `Programme` changes the encoding of every op carrying one.
//!
//! The rule: an op that uses none of the new fields encodes exactly as it
//! did (`OpBody::CheckedOut`, `OpBody::Refunded` and
//! `OpBody::ProgrammeChanged` carry their value in the format-1 shape
//! below); a sale that uses points, and a refund that returns points, are
//! new variants appended at the end of `OpBody`
//! (`CheckedOutWithPoints`, `RefundedWithPoints`), which a node of before
//! refuses as unknown rather than misread. A programme's points deduction
//! rule travels in the programme document's change (what applies); the
//! programme copy in `ProgrammeChanged`, kept for history, has the
//! format-1 fields only.
//!
//! Stored values (the store's `orders` rows, its summary, the engine's
//! idempotency answers) are rewritten or read through `OrderStateV6`,
//! `LedgerTotalsV6` and the shapes here (store schema 7).

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::checkout::{Order, OrderLine, Tender};
use crate::clock::Hlc;
use crate::ids::{MemberId, NodeId, OrderId, RefundId};
use crate::money::Money;
use crate::programme::{Level, Programme, RechargeOffer};
use crate::refund::{OrderState, Refund, RefundLine};
use crate::state::LedgerTotals;

/// `Order` of format 1: no points used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderV1 {
    pub id: OrderId,
    pub member: Option<MemberId>,
    pub store: NodeId,
    pub at: Hlc,
    pub level: Option<String>,
    pub rate: Decimal,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub discount: Money,
    pub payable: Money,
    pub tenders: Vec<Tender>,
    pub change: Money,
    pub balance_principal: Money,
    pub balance_bonus: Money,
    pub points_earned: i64,
}

#[derive(Serialize)]
struct OrderV1Ref<'a> {
    id: &'a OrderId,
    member: &'a Option<MemberId>,
    store: &'a NodeId,
    at: &'a Hlc,
    level: &'a Option<String>,
    rate: &'a Decimal,
    lines: &'a [OrderLine],
    total: &'a Money,
    discount: &'a Money,
    payable: &'a Money,
    tenders: &'a [Tender],
    change: &'a Money,
    balance_principal: &'a Money,
    balance_bonus: &'a Money,
    points_earned: &'a i64,
}

impl From<OrderV1> for Order {
    fn from(o: OrderV1) -> Order {
        Order {
            id: o.id,
            member: o.member,
            store: o.store,
            at: o.at,
            level: o.level,
            rate: o.rate,
            lines: o.lines,
            total: o.total,
            discount: o.discount,
            payable: o.payable,
            tenders: o.tenders,
            change: o.change,
            balance_principal: o.balance_principal,
            balance_bonus: o.balance_bonus,
            points_earned: o.points_earned,
            points_used: 0,
            points_value: Money::ZERO,
        }
    }
}

/// `#[serde(with)]`: an `Order` that uses no points, in format 1.
pub mod order_v1 {
    use super::*;

    pub fn serialize<S: Serializer>(o: &Order, s: S) -> Result<S::Ok, S::Error> {
        if o.points_used != 0 || !o.points_value.is_zero() {
            return Err(serde::ser::Error::custom(
                "an order using points has no format-1 encoding",
            ));
        }
        OrderV1Ref {
            id: &o.id,
            member: &o.member,
            store: &o.store,
            at: &o.at,
            level: &o.level,
            rate: &o.rate,
            lines: &o.lines,
            total: &o.total,
            discount: &o.discount,
            payable: &o.payable,
            tenders: &o.tenders,
            change: &o.change,
            balance_principal: &o.balance_principal,
            balance_bonus: &o.balance_bonus,
            points_earned: &o.points_earned,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Order, D::Error> {
        OrderV1::deserialize(d).map(Into::into)
    }
}

/// `Refund` of format 1: no points returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundV1 {
    pub id: RefundId,
    pub order: OrderId,
    pub member: Option<MemberId>,
    pub store: NodeId,
    pub at: Hlc,
    pub lines: Vec<RefundLine>,
    pub amount: Money,
    pub tenders: Vec<Tender>,
    pub balance_principal: Money,
    pub balance_bonus: Money,
    pub points_reversed: i64,
    pub reason: String,
}

#[derive(Serialize)]
struct RefundV1Ref<'a> {
    id: &'a RefundId,
    order: &'a OrderId,
    member: &'a Option<MemberId>,
    store: &'a NodeId,
    at: &'a Hlc,
    lines: &'a [RefundLine],
    amount: &'a Money,
    tenders: &'a [Tender],
    balance_principal: &'a Money,
    balance_bonus: &'a Money,
    points_reversed: &'a i64,
    reason: &'a str,
}

impl From<RefundV1> for Refund {
    fn from(r: RefundV1) -> Refund {
        Refund {
            id: r.id,
            order: r.order,
            member: r.member,
            store: r.store,
            at: r.at,
            lines: r.lines,
            amount: r.amount,
            tenders: r.tenders,
            balance_principal: r.balance_principal,
            balance_bonus: r.balance_bonus,
            points_reversed: r.points_reversed,
            reason: r.reason,
            points_returned: 0,
        }
    }
}

/// `#[serde(with)]`: a `Refund` that returns no points, in format 1.
pub mod refund_v1 {
    use super::*;

    pub fn serialize<S: Serializer>(r: &Refund, s: S) -> Result<S::Ok, S::Error> {
        if r.points_returned != 0 {
            return Err(serde::ser::Error::custom(
                "a refund returning points has no format-1 encoding",
            ));
        }
        RefundV1Ref {
            id: &r.id,
            order: &r.order,
            member: &r.member,
            store: &r.store,
            at: &r.at,
            lines: &r.lines,
            amount: &r.amount,
            tenders: &r.tenders,
            balance_principal: &r.balance_principal,
            balance_bonus: &r.balance_bonus,
            points_reversed: &r.points_reversed,
            reason: &r.reason,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Refund, D::Error> {
        RefundV1::deserialize(d).map(Into::into)
    }
}

/// `Programme` of format 1: no points deduction rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeV1 {
    pub recharge_offers: Vec<RechargeOffer>,
    pub levels: Vec<Level>,
    pub points_per_yuan: Decimal,
}

#[derive(Serialize)]
struct ProgrammeV1Ref<'a> {
    recharge_offers: &'a [RechargeOffer],
    levels: &'a [Level],
    points_per_yuan: &'a Decimal,
}

impl From<ProgrammeV1> for Programme {
    fn from(p: ProgrammeV1) -> Programme {
        Programme {
            recharge_offers: p.recharge_offers,
            levels: p.levels,
            points_per_yuan: p.points_per_yuan,
            points_deduction: None,
        }
    }
}

/// `#[serde(with)]`: a `Programme`'s format-1 fields (the points deduction
/// rule left out; it decodes as off).
pub mod programme_v1 {
    use super::*;

    pub fn serialize<S: Serializer>(p: &Programme, s: S) -> Result<S::Ok, S::Error> {
        ProgrammeV1Ref {
            recharge_offers: &p.recharge_offers,
            levels: &p.levels,
            points_per_yuan: &p.points_per_yuan,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Programme, D::Error> {
        ProgrammeV1::deserialize(d).map(Into::into)
    }
}

/// `OrderState` as stored before schema 7.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStateV6 {
    pub order: OrderV1,
    pub refunded_qty: Vec<Decimal>,
    pub refunded: Money,
    pub refunded_tenders: Vec<Tender>,
    pub refunded_principal: Money,
    pub refunded_bonus: Money,
    pub points_reversed: i64,
    pub refunds: Vec<RefundId>,
}

impl From<OrderStateV6> for OrderState {
    fn from(s: OrderStateV6) -> OrderState {
        OrderState {
            order: s.order.into(),
            refunded_qty: s.refunded_qty,
            refunded: s.refunded,
            refunded_tenders: s.refunded_tenders,
            refunded_principal: s.refunded_principal,
            refunded_bonus: s.refunded_bonus,
            points_reversed: s.points_reversed,
            refunds: s.refunds,
            points_returned: 0,
        }
    }
}

/// `LedgerTotals` as stored before schema 7.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTotalsV6 {
    pub members: u64,
    pub recharges: u64,
    pub recharged_principal: Money,
    pub recharged_bonus: Money,
    pub orders: u64,
    pub sales: Money,
    pub spent_principal: Money,
    pub spent_bonus: Money,
    pub refunds: u64,
    pub refunded: Money,
    pub refunded_principal: Money,
    pub refunded_bonus: Money,
    pub points_issued: i64,
    pub points_reversed: i64,
}

impl From<LedgerTotalsV6> for LedgerTotals {
    fn from(t: LedgerTotalsV6) -> LedgerTotals {
        LedgerTotals {
            members: t.members,
            recharges: t.recharges,
            recharged_principal: t.recharged_principal,
            recharged_bonus: t.recharged_bonus,
            orders: t.orders,
            sales: t.sales,
            spent_principal: t.spent_principal,
            spent_bonus: t.spent_bonus,
            refunds: t.refunds,
            refunded: t.refunded,
            refunded_principal: t.refunded_principal,
            refunded_bonus: t.refunded_bonus,
            points_issued: t.points_issued,
            points_reversed: t.points_reversed,
            points_redeemed: 0,
            points_returned: 0,
        }
    }
}

//! Rankings of members and products (issue 13, "rankings: top members,
//! top products"): what each member spent and each product sold, per
//! store and chain day, kept in each op's commit. A ranking over a range
//! sums these rows at read time (one row per store, day and member or sku
//! with any sale or refund: the cost is the number of such rows in the
//! range, not the log).
//!
//! - A member's [`Spend`] at a store on a day: the sales made for them
//!   there (count, and what they were paid: `Order::payable`) less the
//!   refunds of those sales made there that day (count, and the money
//!   given back: `Refund::amount`). A refund counts on its own day.
//! - A product's [`ProductFigures`] (by sku; lines without a sku are not
//!   ranked) at a store on a day: the quantity sold and what the lines
//!   paid for their goods (`OrderLine::paid`: after discounts and
//!   coupons), less the quantity refunded and its share of what the line
//!   paid, taken cumulatively like the refund's money (`refund`'s module
//!   doc): F(after) − F(before), F(q) = round(paid × q ÷ line qty), so a
//!   line refunded in parts nets to zero exactly.
//!
//! A refund names its order's lines by index: the product figures of a
//! refund need the order as it was before the refund ([`OrderState`]).
//! Ops of one origin are applied in their order on every node and a sale
//! is refunded only at its own store, so the order is always there first.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::day::Day;
use crate::figures;
use crate::ids::{MemberId, NodeId, OrderId};
use crate::money::Money;
use crate::op::{Op, OpBody};
use crate::refund::OrderState;

/// The most entries a ranking answers.
pub const LIMIT_MAX: usize = 100;
/// The entries a ranking answers when not told.
pub const LIMIT_DEFAULT: usize = 20;

/// What one member spent at one store on one day (minicbor, index-numbered
/// fields: it may grow one).
#[derive(Debug, Clone, Default, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct Spend {
    #[n(0)]
    pub sales: u64,
    #[n(1)]
    pub sold: Money,
    #[n(2)]
    pub refunds: u64,
    #[n(3)]
    pub refunded: Money,
}

impl Spend {
    /// What the member spent: paid less given back.
    pub fn net(&self) -> Money {
        self.sold - self.refunded
    }

    pub fn add(&mut self, o: &Spend) {
        self.sales += o.sales;
        self.sold += o.sold;
        self.refunds += o.refunds;
        self.refunded += o.refunded;
    }
}

/// What one product sold at one store on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct ProductFigures {
    /// Lines that sold it, the quantity, and what they paid for it.
    #[n(0)]
    pub lines: u64,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub qty: Decimal,
    #[n(2)]
    pub sold: Money,
    /// Quantity refunded, and its share of what the lines paid.
    #[cbor(n(3), with = "crate::codec::decimal")]
    pub returned_qty: Decimal,
    #[n(4)]
    pub returned: Money,
}

impl ProductFigures {
    /// Quantity sold less refunded.
    pub fn net_qty(&self) -> Decimal {
        self.qty - self.returned_qty
    }

    /// Paid less refunded.
    pub fn net(&self) -> Money {
        self.sold - self.returned
    }

    pub fn add(&mut self, o: &ProductFigures) {
        self.lines += o.lines;
        self.qty += o.qty;
        self.sold += o.sold;
        self.returned_qty += o.returned_qty;
        self.returned += o.returned;
    }
}

/// The member whose spend `op` changes at its origin, and by how much.
pub fn spend(op: &Op) -> Option<(&MemberId, Spend)> {
    match &op.body {
        OpBody::CheckedOut { order, .. } => order.member.as_ref().map(|m| {
            (
                m,
                Spend {
                    sales: 1,
                    sold: order.payable,
                    ..Spend::default()
                },
            )
        }),
        OpBody::Refunded { refund, .. } => refund.member.as_ref().map(|m| {
            (
                m,
                Spend {
                    refunds: 1,
                    refunded: refund.amount,
                    ..Spend::default()
                },
            )
        }),
        _ => None,
    }
}

/// The order a refund op refunds (whose state before it
/// [`products`] needs).
pub fn refunds(op: &Op) -> Option<&OrderId> {
    match &op.body {
        OpBody::Refunded { refund, .. } => Some(&refund.order),
        _ => None,
    }
}

/// What `op` changes of each product's figures at its origin, by sku:
/// a sale adds its lines; a refund (given `before`, its order's state
/// before it) takes back what it refunds. Other ops, or a refund without
/// its order: nothing.
pub fn products(op: &Op, before: Option<&OrderState>) -> BTreeMap<String, ProductFigures> {
    let mut out: BTreeMap<String, ProductFigures> = BTreeMap::new();
    match &op.body {
        OpBody::CheckedOut { order, .. } => {
            for l in &order.lines {
                if let Some(sku) = &l.sku {
                    let p = out.entry(sku.clone()).or_default();
                    p.lines += 1;
                    p.qty += l.qty;
                    p.sold += l.paid();
                }
            }
        }
        OpBody::Refunded { refund, .. } => {
            let Some(state) = before else {
                return out;
            };
            for r in &refund.lines {
                let (Some(l), Some(done)) = (
                    state.order.lines.get(r.line),
                    state.refunded_qty.get(r.line),
                ) else {
                    continue;
                };
                let Some(sku) = &l.sku else { continue };
                if l.qty.is_zero() {
                    continue;
                }
                let f = |q: Decimal| Money::round_half_up(l.paid().as_decimal() * q / l.qty);
                let p = out.entry(sku.clone()).or_default();
                p.returned_qty += r.qty;
                p.returned += f(*done + r.qty) - f(*done);
            }
        }
        _ => {}
    }
    out
}

/// The rankings' rows in memory: the rule the db keeps in `spend-2` and
/// `product-sales-1`, with the orders refunds need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranks {
    pub spend: BTreeMap<(NodeId, Day, MemberId), Spend>,
    pub products: BTreeMap<(NodeId, Day, String), ProductFigures>,
    /// Each sale's state as refunds applied so far.
    pub orders: BTreeMap<OrderId, OrderState>,
}

impl Ranks {
    pub fn apply(&mut self, op: &Op) {
        let day = figures::day_of(op);
        let store = op.origin();
        if let Some((m, s)) = spend(op) {
            self.spend
                .entry((store.clone(), day, m.clone()))
                .or_default()
                .add(&s);
        }
        let before = refunds(op).and_then(|o| self.orders.get(o));
        for (sku, p) in products(op, before) {
            self.products
                .entry((store.clone(), day, sku))
                .or_default()
                .add(&p);
        }
        match &op.body {
            OpBody::CheckedOut { order, .. } => {
                self.orders
                    .insert(order.id.clone(), OrderState::new(order.clone()));
            }
            OpBody::Refunded { refund, .. } => {
                if let Some(o) = self.orders.get_mut(&refund.order) {
                    o.apply(refund);
                }
            }
            _ => {}
        }
    }

    /// Members by what they spent from `from` to `to` (of `store`, or
    /// anywhere), highest first (ties by member id), at most `limit`.
    pub fn top_members(
        &self,
        store: Option<&NodeId>,
        from: Day,
        to: Day,
        limit: usize,
    ) -> Vec<(MemberId, Spend)> {
        let mut per: BTreeMap<MemberId, Spend> = BTreeMap::new();
        for ((s, d, m), x) in &self.spend {
            if store.is_none_or(|w| w == s) && *d >= from && *d <= to {
                per.entry(m.clone()).or_default().add(x);
            }
        }
        let mut v: Vec<(MemberId, Spend)> = per.into_iter().collect();
        rank_members(&mut v);
        v.truncate(limit);
        v
    }
}

/// How members are ranked: by what they spent (net spent, then sales,
/// then id), or by how often they bought (sales, then net spent, then
/// id). Highest first; ties by member id, so a ranking is one order on
/// every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOrder {
    Amount,
    Count,
}

impl MemberOrder {
    /// `a` before `b` (`Less`) when it ranks higher. Generic in the id so
    /// that a reader may rank ids it has not parsed yet (their text sorts
    /// as the ids do).
    pub fn cmp<I: Ord>(self, a: &(I, Spend), b: &(I, Spend)) -> std::cmp::Ordering {
        let (net, sales) = (b.1.net().cmp(&a.1.net()), b.1.sales.cmp(&a.1.sales));
        match self {
            MemberOrder::Amount => net.then(sales),
            MemberOrder::Count => sales.then(net),
        }
        .then(a.0.cmp(&b.0))
    }

    /// The first `limit` of `v` in this order, sorted: a selection over
    /// all (linear), then a sort of the few kept, so ranking a million
    /// members costs about one pass, not a sort of a million.
    pub fn top<I: Ord>(self, mut v: Vec<(I, Spend)>, limit: usize) -> Vec<(I, Spend)> {
        if limit == 0 {
            return Vec::new();
        }
        if v.len() > limit {
            v.select_nth_unstable_by(limit - 1, |a, b| self.cmp(a, b));
            v.truncate(limit);
        }
        v.sort_by(|a, b| self.cmp(a, b));
        v
    }
}

/// Sort members highest spend first: net spent, then sales, then id.
pub fn rank_members(v: &mut [(MemberId, Spend)]) {
    v.sort_by(|a, b| MemberOrder::Amount.cmp(a, b));
}

/// Sort products by `by_qty` (net quantity, then net amount) or by net
/// amount (then net quantity), highest first, ties by sku.
pub fn rank_products(v: &mut [(String, ProductFigures)], by_qty: bool) {
    v.sort_by(|a, b| {
        let (q, m) = (b.1.net_qty().cmp(&a.1.net_qty()), b.1.net().cmp(&a.1.net()));
        (if by_qty { q.then(m) } else { m.then(q) }).then(a.0.cmp(&b.0))
    });
}

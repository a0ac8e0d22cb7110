//! Refunds and returns (退货) of a sale, full or partial, by line and
//! quantity. Amounts are computed cumulatively, so that however a sale is
//! refunded in parts, the parts add up exactly to the sale:
//! refund now = F(refunded after) − F(refunded before), with
//! F(cumulative qty) = Σ round(line payable × cumulative qty ÷ line qty).
//!
//! Where the money goes back: to the balance first (principal and bonus in
//! the proportion the sale took them, again cumulatively), then to the other
//! tenders in the order the sale lists them, each up to what it paid. Points
//! earned by the sale are taken back in proportion, never below zero.
//! A sale is refunded only at the store that made it (that store owns it).
//!
//! A sale that used coupons pays back what each line paid after its
//! coupons (`OrderLine::paid`: F above sums it instead of the payable).
//! The refund that refunds the last of the sale gives each coupon's use
//! back, credited to this store's share, if the coupon is still valid on
//! the refund's day (`coupon`'s module doc); a partial refund keeps them.
//!
//! A sale that paid with points (积分抵现) gives them back in proportion to
//! the goods refunded, cumulatively like the money: with G = the goods
//! payable (Σ line payable) and F as above,
//! points value back(cum) = round(points value × F(cum) ÷ G) (to the fen,
//! half-up), points back(cum) = round(points used × F(cum) ÷ G) (to a whole
//! point, half-up), so a full refund gives back exactly the points used
//! and never more. The money refunded is the goods value refunded less the
//! points value given back: refund now = ΔF − Δ(points value back). Points
//! given back are credited to this store's share (where they were
//! debited), before the points earned are taken back (those may then be
//! taken from them).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::card::{self, CardError, HeldCard};
use crate::checkout::{Order, Tender, TenderKind};
use crate::clock::Hlc;
use crate::day::Day;
use crate::error::DomainError;
use crate::ids::{CardId, CouponId, NodeId, RefundId};
use crate::money::Money;
use crate::text::{self, Lines, TextError};

pub const REASON_LEN_MAX: usize = 200;

/// A refund request: which lines, how many of each; `None` = everything
/// not yet refunded.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct RefundLine {
    /// Index of the line in the order, from 0.
    #[n(0)]
    pub line: usize,
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub qty: Decimal,
}

/// A refund as decided and recorded in its op.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Refund {
    #[n(0)]
    pub id: RefundId,
    #[n(1)]
    pub order: crate::ids::OrderId,
    #[n(2)]
    pub member: Option<crate::ids::MemberId>,
    #[n(3)]
    pub store: NodeId,
    #[n(4)]
    pub at: Hlc,
    #[n(5)]
    pub lines: Vec<RefundLine>,
    #[n(6)]
    pub amount: Money,
    #[n(7)]
    pub tenders: Vec<Tender>,
    #[n(8)]
    pub balance_principal: Money,
    #[n(9)]
    pub balance_bonus: Money,
    #[n(10)]
    pub points_reversed: i64,
    #[n(11)]
    pub reason: String,
    /// Points used by the sale given back (credited to this store's share).
    #[cbor(n(12), skip_if = "crate::codec::is_zero_i64")]
    pub points_returned: i64,
    /// Coupons whose use this refund gives back, one use each, credited to
    /// this store's share (feature `FEATURE_COUPONS`).
    #[cbor(n(13), skip_if = "crate::codec::is_empty_vec")]
    pub coupons_returned: Vec<CouponId>,
    /// The cards this refund takes back (feature `FEATURE_CARDS`): their
    /// visits left leave this store's share, and no visit is made on them
    /// any more.
    #[cbor(n(14), skip_if = "crate::codec::is_empty_vec")]
    pub cards_refunded: Vec<CardId>,
    /// What the sale paid for those cards and the refund keeps: their used
    /// part (`card::refund_value` gives back the rest).
    #[cbor(n(15), skip_if = "crate::codec::is_zero_money")]
    pub card_kept: Money,
    /// The store manager who approved the refund at the till (a cashier's
    /// refund above the programme's limit): their staff id. Only shown:
    /// applying ignores it, so it needs no feature.
    #[cbor(n(16), default)]
    #[serde(default)]
    pub approved_by: Option<String>,
}

/// A sale with what has been refunded of it so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub order: Order,
    /// Refunded quantity per line, same indexes as `order.lines`.
    pub refunded_qty: Vec<Decimal>,
    pub refunded: Money,
    pub refunded_tenders: Vec<Tender>,
    pub refunded_principal: Money,
    pub refunded_bonus: Money,
    pub points_reversed: i64,
    pub refunds: Vec<RefundId>,
    /// Points used by the sale given back so far.
    pub points_returned: i64,
    /// Whether the sale's coupon uses were given back (by the refund that
    /// refunded the last of it).
    pub coupons_returned: bool,
    /// What refunds kept of the cards they took back (their used part).
    pub card_kept: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum RefundError {
    #[error("line {line} does not exist in the order")]
    NoSuchLine { line: usize },
    #[error(
        "line {line}: refund quantity must be greater than 0 with at most 3 decimal places, and each line named once"
    )]
    Qty { line: usize },
    #[error("line {line}: refunding {wanted} would exceed the {remaining} not yet refunded")]
    Exceeds {
        line: usize,
        wanted: Decimal,
        remaining: Decimal,
    },
    #[error("the order is already fully refunded")]
    FullyRefunded,
    #[error("the order was made at {owner}; refund it there")]
    WrongStore { owner: NodeId },
    #[error("reason {0}")]
    Reason(TextError),
    /// A card the refund would take back (`card_not_found`,
    /// `card_refunded`, `card_held_elsewhere`).
    #[error(transparent)]
    Card(#[from] CardError),
}

impl DomainError for RefundError {
    fn code(&self) -> &'static str {
        match self {
            RefundError::NoSuchLine { .. } => "invalid_refund_line",
            RefundError::Qty { .. } => "invalid_qty",
            RefundError::Exceeds { .. } => "refund_exceeds_paid",
            RefundError::FullyRefunded => "already_refunded",
            RefundError::WrongStore { .. } => "refund_wrong_store",
            RefundError::Reason(_) => "invalid_reason",
            RefundError::Card(e) => e.code(),
        }
    }

    fn message_zh(&self) -> String {
        match self {
            RefundError::NoSuchLine { line } => format!("订单中没有第 {line} 行"),
            RefundError::Qty { line } => {
                format!("第 {line} 行：退货数量须大于 0、最多 3 位小数，且每行只能出现一次")
            }
            RefundError::Exceeds {
                line,
                wanted,
                remaining,
            } => format!("第 {line} 行：退 {wanted} 超过未退数量 {remaining}"),
            RefundError::FullyRefunded => "该订单已全部退款".into(),
            RefundError::WrongStore { owner } => format!("该订单在 {owner} 下单，请在该门店退款"),
            RefundError::Reason(e) => format!("退款原因{}", e.zh()),
            RefundError::Card(e) => e.message_zh(),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            RefundError::Exceeds {
                line,
                wanted,
                remaining,
            } => {
                vec![
                    ("line", line.to_string()),
                    ("wanted", wanted.to_string()),
                    ("remaining", remaining.to_string()),
                ]
            }
            RefundError::Reason(e) => e.details(),
            RefundError::WrongStore { owner } => vec![("owner", owner.to_string())],
            RefundError::Card(e) => e.details(),
            _ => Vec::new(),
        }
    }
}

impl OrderState {
    pub fn new(order: Order) -> OrderState {
        let n = order.lines.len();
        OrderState {
            order,
            refunded_qty: vec![Decimal::ZERO; n],
            refunded: Money::ZERO,
            refunded_tenders: Vec::new(),
            refunded_principal: Money::ZERO,
            refunded_bonus: Money::ZERO,
            points_reversed: 0,
            refunds: Vec::new(),
            points_returned: 0,
            coupons_returned: false,
            card_kept: Money::ZERO,
        }
    }

    pub fn fully_refunded(&self) -> bool {
        self.order
            .lines
            .iter()
            .zip(&self.refunded_qty)
            .all(|(l, r)| *r >= l.qty)
    }

    fn refundable_value(&self, cumulative: &[Decimal]) -> Money {
        self.order
            .lines
            .iter()
            .zip(cumulative)
            .map(|(l, q)| Money::round_half_up(l.paid().as_decimal() * *q / l.qty))
            .sum()
    }

    /// Decide a refund at `store`. `points_held_here` is the member's points
    /// share at `store` (points are taken back only from what is there).
    /// A sale that sold no cards: [`OrderState::decide_with_cards`] with
    /// none.
    pub fn decide(
        &self,
        id: RefundId,
        store: &NodeId,
        at: Hlc,
        request: Option<&[RefundLine]>,
        reason: &str,
        points_held_here: i64,
    ) -> Result<Refund, RefundError> {
        self.decide_with_cards(id, store, at, request, reason, points_held_here, &[])
    }

    /// The cards refunding `lines` (the quantities refunded going from
    /// `refunded_qty` to `after`) takes back, and the part of what they
    /// were paid the refund keeps (the lines' refundable value less
    /// `card::refund_value` of each card, never below zero). `cards`: the
    /// member's, as `store` holds them; a count card's visits left must
    /// all be held at `store`.
    fn cards_back(
        &self,
        lines: &[RefundLine],
        after: &[Decimal],
        store: &NodeId,
        today: Day,
        cards: &[HeldCard],
    ) -> Result<(Vec<CardId>, Money), RefundError> {
        use rust_decimal::prelude::ToPrimitive;
        let mut back = Vec::new();
        let mut kept = Money::ZERO;
        for r in lines {
            let line = &self.order.lines[r.line];
            let Some(sale) = &line.card else { continue };
            let from = self.refunded_qty[r.line].to_usize().unwrap_or(0);
            let to = after[r.line].to_usize().unwrap_or(0);
            let mut value = Money::ZERO;
            for id in sale.cards.get(from..to).unwrap_or(&[]) {
                let held =
                    cards
                        .iter()
                        .find(|c| c.id() == id)
                        .ok_or_else(|| CardError::NotFound {
                            card: id.to_string(),
                        })?;
                if held.refunded {
                    return Err(CardError::Refunded {
                        card: id.to_string(),
                    }
                    .into());
                }
                if held.left() > held.held(store) {
                    return Err(CardError::HeldElsewhere {
                        card: id.to_string(),
                        held_at: held.holders().filter(|n| *n != store).cloned().collect(),
                    }
                    .into());
                }
                value += card::refund_value(&held.card, held.used(), today);
                back.push(id.clone());
            }
            let part = |q: Decimal| Money::round_half_up(line.paid().as_decimal() * q / line.qty);
            let line_value = part(after[r.line]) - part(self.refunded_qty[r.line]);
            kept += (line_value - value).max(Money::ZERO);
        }
        Ok((back, kept))
    }

    /// [`OrderState::decide`] of a sale that may have sold cards: a card
    /// line's cards are taken back, each returning its unused part
    /// (`card::refund_value`), and the refund keeps the rest of what they
    /// were paid (`Refund::card_kept`).
    #[allow(clippy::too_many_arguments)]
    pub fn decide_with_cards(
        &self,
        id: RefundId,
        store: &NodeId,
        at: Hlc,
        request: Option<&[RefundLine]>,
        reason: &str,
        points_held_here: i64,
        cards: &[HeldCard],
    ) -> Result<Refund, RefundError> {
        if self.order.store != *store {
            return Err(RefundError::WrongStore {
                owner: self.order.store.clone(),
            });
        }
        if reason.chars().count() > REASON_LEN_MAX {
            return Err(RefundError::Reason(TextError::Length {
                min: 0,
                max: REASON_LEN_MAX,
            }));
        }
        text::check_chars(reason, Lines::One).map_err(RefundError::Reason)?;
        if self.fully_refunded() {
            return Err(RefundError::FullyRefunded);
        }
        let lines: Vec<RefundLine> = match request {
            Some(lines) => lines.to_vec(),
            None => (0..self.order.lines.len())
                .map(|i| RefundLine {
                    line: i,
                    qty: self.order.lines[i].qty - self.refunded_qty[i],
                })
                .filter(|r| r.qty > Decimal::ZERO)
                .collect(),
        };
        if lines.is_empty() {
            return Err(RefundError::Qty { line: 0 });
        }
        let mut after = self.refunded_qty.clone();
        let mut seen = vec![false; after.len()];
        for r in &lines {
            if r.line >= after.len() {
                return Err(RefundError::NoSuchLine { line: r.line });
            }
            if seen[r.line] || r.qty <= Decimal::ZERO || r.qty.normalize().scale() > 3 {
                return Err(RefundError::Qty { line: r.line });
            }
            // Cards are refunded whole.
            if self.order.lines[r.line].card.is_some() && !r.qty.fract().is_zero() {
                return Err(RefundError::Qty { line: r.line });
            }
            seen[r.line] = true;
            let remaining = self.order.lines[r.line].qty - self.refunded_qty[r.line];
            if r.qty > remaining {
                return Err(RefundError::Exceeds {
                    line: r.line,
                    wanted: r.qty,
                    remaining,
                });
            }
            after[r.line] += r.qty;
        }
        let (f_before, f_after) = (
            self.refundable_value(&self.refunded_qty),
            self.refundable_value(&after),
        );
        let goods = self.order.goods_payable();
        let points_value_back = |f: Money| {
            if goods.is_zero() {
                Money::ZERO
            } else {
                f.mul_ratio(self.order.points_value, goods)
            }
        };
        let points_back = |f: Money| -> i64 {
            if goods.is_zero() || self.order.points_used == 0 {
                return 0;
            }
            let d = Decimal::from(self.order.points_used) * f.as_decimal() / goods.as_decimal();
            rust_decimal::prelude::ToPrimitive::to_i64(
                &d.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
            )
            .unwrap_or(0)
            .clamp(0, self.order.points_used)
        };
        let today = Day::of_ms(at.ms);
        let (cards_refunded, kept) = self.cards_back(&lines, &after, store, today, cards)?;
        let full =
            (f_after - f_before) - (points_value_back(f_after) - points_value_back(f_before));
        // What the cards' used part keeps, never more than the refund.
        let card_kept = kept.min(full.max(Money::ZERO));
        let amount = full - card_kept;
        let points_returned = (points_back(f_after) - self.points_returned).max(0);
        let refunded_after = self.refunded + amount;

        // Balance first, principal and bonus cumulatively in the sale's proportion.
        let balance_paid = self.order.tender(TenderKind::Balance);
        let balance_before = self.refunded_tender(TenderKind::Balance);
        let to_balance = amount.min(balance_paid - balance_before);
        let principal_cum = |cum: Money| {
            if balance_paid.is_zero() {
                Money::ZERO
            } else {
                cum.mul_ratio(self.order.balance_principal, balance_paid)
            }
        };
        let principal = principal_cum(balance_before + to_balance) - principal_cum(balance_before);
        let bonus = to_balance - principal;

        let mut tenders = Vec::new();
        if !to_balance.is_zero() {
            tenders.push(Tender {
                kind: TenderKind::Balance,
                amount: to_balance,
            });
        }
        let mut left = amount - to_balance;
        for t in self
            .order
            .tenders
            .iter()
            .filter(|t| t.kind != TenderKind::Balance)
        {
            if left.is_zero() {
                break;
            }
            let give = left.min(t.amount - self.refunded_tender(t.kind));
            if !give.is_zero() {
                tenders.push(Tender {
                    kind: t.kind,
                    amount: give,
                });
                left -= give;
            }
        }
        debug_assert!(left.is_zero(), "tenders cover the payable");

        let points_target = |cum: Money| -> i64 {
            if self.order.payable.is_zero() {
                return 0;
            }
            let d = Decimal::from(self.order.points_earned) * cum.as_decimal()
                / self.order.payable.as_decimal();
            rust_decimal::prelude::ToPrimitive::to_i64(&d.floor()).unwrap_or(0)
        };
        let points_reversed = (points_target(refunded_after) - self.points_reversed)
            .clamp(0, (points_held_here + points_returned).max(0));

        // The coupons' uses come back with the refund of the last of the
        // sale, each while the coupon is still valid on the refund's day.
        let all = after
            .iter()
            .zip(&self.order.lines)
            .all(|(q, l)| *q >= l.qty);
        let coupons_returned = if all && !self.coupons_returned {
            self.order
                .coupons
                .iter()
                .filter(|u| u.to >= today)
                .filter_map(|u| CouponId::parse(&u.code))
                .collect()
        } else {
            Vec::new()
        };

        Ok(Refund {
            id,
            order: self.order.id.clone(),
            member: self.order.member.clone(),
            store: store.clone(),
            at,
            lines,
            amount,
            tenders,
            balance_principal: principal,
            balance_bonus: bonus,
            points_reversed,
            reason: reason.to_string(),
            points_returned,
            coupons_returned,
            cards_refunded,
            card_kept,
            approved_by: None,
        })
    }

    fn refunded_tender(&self, kind: TenderKind) -> Money {
        self.refunded_tenders
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum()
    }

    /// Record a decided refund.
    pub fn apply(&mut self, refund: &Refund) {
        for r in &refund.lines {
            self.refunded_qty[r.line] += r.qty;
        }
        self.refunded += refund.amount;
        for t in &refund.tenders {
            match self.refunded_tenders.iter_mut().find(|x| x.kind == t.kind) {
                Some(x) => x.amount += t.amount,
                None => self.refunded_tenders.push(*t),
            }
        }
        self.refunded_principal += refund.balance_principal;
        self.refunded_bonus += refund.balance_bonus;
        self.points_reversed += refund.points_reversed;
        self.points_returned += refund.points_returned;
        self.coupons_returned |= self.fully_refunded() && !self.order.coupons.is_empty();
        self.card_kept += refund.card_kept;
        self.refunds.push(refund.id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::{Buyer, CheckoutContext, LineInput, TenderInput, checkout_with_points};
    use crate::ids::{MemberId, OrderId};
    use crate::programme::{PointsDeduction, Programme};
    use crate::wallet::{Share, Wallet};

    fn node() -> NodeId {
        NodeId::new("store-1").unwrap()
    }

    fn sale(
        prices: &[(i64, i64)],
        cap_pct: i64,
        held: i64,
        points: i64,
        balance: bool,
    ) -> Option<Order> {
        let p = Programme {
            points_deduction: Some(PointsDeduction {
                points_per_yuan: 100,
                cap: Decimal::new(cap_pct, 2),
                min_points: 0,
            }),
            ..Programme::default()
        };
        let mut w = Wallet::default();
        w.credit(
            &node(),
            Share {
                principal: Money::from_yuan(100_000),
                bonus: Money::from_yuan(3_333),
                points: held,
            },
        );
        let m = MemberId::mint(&node(), 1);
        let n = node();
        let ctx = CheckoutContext {
            programme: &p,
            store: &n,
            order: OrderId::mint(&n, 2),
            at: Hlc::default(),
            buyer: Some(Buyer {
                member: &m,
                level: &p.levels[1],
                wallet: &w,
            }),
        };
        let lines: Vec<LineInput> = prices
            .iter()
            .map(|&(fen, q)| LineInput {
                sku: None,
                barcode: None,
                description: "x".into(),
                unit_price: Money::from_fen(fen),
                qty: Decimal::from(q),
                card: None,
                pricing: Default::default(),
            })
            .collect();
        let kind = if balance {
            TenderKind::Balance
        } else {
            TenderKind::Card
        };
        checkout_with_points(&ctx, &lines, &[TenderInput { kind, amount: None }], points).ok()
    }

    #[test]
    fn a_full_refund_gives_back_every_point_used_and_the_money_paid() {
        // 2 × 50.00 at 95% = 95.00; 4000 points = 40.00; pays 55.00.
        let o = sale(&[(5000, 2)], 50, 5000, 4000, true).unwrap();
        assert_eq!(o.payable.to_string(), "55.00");
        let mut st = OrderState::new(o.clone());
        let half = st
            .decide(
                RefundId::mint(&node(), 3),
                &node(),
                Hlc::default(),
                Some(&[RefundLine {
                    line: 0,
                    qty: Decimal::ONE,
                }]),
                "",
                1000 + o.points_earned,
            )
            .unwrap();
        assert_eq!(half.points_returned, 2000);
        assert_eq!(half.amount.to_string(), "27.50");
        st.apply(&half);
        let rest = st
            .decide(
                RefundId::mint(&node(), 4),
                &node(),
                Hlc::default(),
                None,
                "",
                0,
            )
            .unwrap();
        st.apply(&rest);
        assert_eq!(st.points_returned, 4000);
        assert_eq!(st.refunded, o.payable);
        assert_eq!(st.points_reversed, o.points_earned);
    }

    proptest::proptest! {
        /// Conservation of points and money through a sale and its refunds
        /// in any parts: the store's points share ends at held − used +
        /// earned + Σ returned − Σ reversed, never below zero; points given
        /// back never exceed those used and equal them at a full refund;
        /// the money refunded adds up to the payable.
        #[test]
        fn points_are_conserved_through_partial_refunds(
            prices in proptest::collection::vec((1i64..20_000, 1i64..4), 1..4),
            cap in 1i64..=100,
            held in 0i64..50_000,
            points in 0i64..50_000,
            balance in proptest::bool::ANY,
            steps in proptest::collection::vec((0usize..4, 1i64..4), 0..6),
        ) {
            let Some(o) = sale(&prices, cap, held, points, balance) else { return Ok(()); };
            let mut share = held - o.points_used + o.points_earned;
            proptest::prop_assert!(share >= 0);
            let mut st = OrderState::new(o.clone());
            let mut k = 10;
            for (line, q) in steps {
                if line >= o.lines.len() { continue; }
                let left = o.lines[line].qty - st.refunded_qty[line];
                let qty = Decimal::from(q).min(left);
                if qty <= Decimal::ZERO { continue; }
                k += 1;
                let r = st.decide(RefundId::mint(&node(), k), &node(), Hlc::default(), Some(&[RefundLine { line, qty }]), "", share).unwrap();
                proptest::prop_assert!(r.amount >= Money::ZERO);
                share += r.points_returned - r.points_reversed;
                proptest::prop_assert!(share >= 0);
                st.apply(&r);
                proptest::prop_assert!(st.points_returned <= o.points_used);
            }
            if !st.fully_refunded() {
                k += 1;
                let r = st.decide(RefundId::mint(&node(), k), &node(), Hlc::default(), None, "", share).unwrap();
                share += r.points_returned - r.points_reversed;
                proptest::prop_assert!(share >= 0);
                st.apply(&r);
            }
            proptest::prop_assert_eq!(st.points_returned, o.points_used);
            proptest::prop_assert_eq!(st.refunded, o.payable);
            proptest::prop_assert_eq!(share, held - o.points_used + o.points_earned + st.points_returned - st.points_reversed);
            proptest::prop_assert_eq!(share, held + o.points_earned - st.points_reversed);
        }
    }
}

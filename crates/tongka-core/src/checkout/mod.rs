//! The checkout calculator: prices lines, applies the member's level
//! discount and points deduction (积分抵现), settles the tenders (split
//! tender, balance split into principal and bonus) and computes points.
//! Pure: the caller passes the member's wallet, the programme and the node
//! that is selling.
//!
//! Stacking and rounding, as printed on the receipt (round = to the fen,
//! half-up):
//! 1. line amount = round(unit price × qty), the unit price being the
//!    regular one at this store (the catalogue's store price, else its list
//!    price: `Product::price_at`, resolved by the caller)
//! 2. line payable = round(line amount × level rate); for a member and a
//!    product with a member price (会员价), the lower of that and
//!    round(member price × qty): the member price and the level discount
//!    never stack (`catalogue`'s module doc). discount = amount − payable
//! 3. coupons (members only; `coupon`'s stacking rule, on the line
//!    payables): each line's `coupon_off`; line paid = payable − coupon
//!    off; goods payable = Σ line paid. Each coupon takes one use, from
//!    this store's share of its uses (`coupon::held`).
//! 4. points deduction (members only, when the programme's
//!    `points_deduction` rule is on; whole points): the value of n points
//!    is round(n ÷ points per yuan); it may not exceed the cap,
//!    round(goods payable × cap), after coupons; n is at least the rule's minimum, and at
//!    most the member's points share *at this store* (`Wallet::share`:
//!    points are escrowed per node like money; the node asks its peers for
//!    points shares when short, see `escrow`).
//! 5. payable = goods payable − points value: what the tenders pay. So
//!    total − discount − coupon off − points value = payable.
//! 6. tenders pay the payable exactly; only cash may be over-tendered, the
//!    excess being the change.
//! 7. a balance tender is split into principal and bonus by `Wallet::split_spend`.
//! 8. points earned = ⌊base × points per yuan⌋ (members only): on what
//!    is paid after the points deduction, never on the points' value. base
//!    = payable when every line's points multiplier is 1; otherwise the
//!    payable shared among the lines in proportion to what each pays after
//!    coupons (line paid), each share times its product's multiplier:
//!    base = round(payable × Σ(line paid × multiplier) ÷ goods payable).

mod error;
pub use error::CheckoutError;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::card::{CARDS_PER_LINE_MAX, CardPlan, CardSale};
use crate::clock::Hlc;
use crate::coupon::{self, CouponError, CouponLine, CouponUse, HeldCoupon, Presented};
use crate::day::Day;
use crate::ids::CardId;
use crate::ids::{MemberId, NodeId, OrderId};
use crate::money::Money;
use crate::programme::{Level, Programme};
use crate::text;
use crate::wallet::Wallet;

pub const LINES_MAX: usize = 200;
pub const TENDERS_MAX: usize = 6;
/// The largest quantity on one line.
pub const QTY_MAX: i64 = 100_000;
pub const DESCRIPTION_LEN_MAX: usize = 80;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
#[cbor(index_only)]
pub enum TenderKind {
    #[n(0)]
    Balance,
    #[n(1)]
    Cash,
    #[n(2)]
    Card,
    #[n(3)]
    Wechat,
    #[n(4)]
    Alipay,
}

impl TenderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TenderKind::Balance => "balance",
            TenderKind::Cash => "cash",
            TenderKind::Card => "card",
            TenderKind::Wechat => "wechat",
            TenderKind::Alipay => "alipay",
        }
    }
}

/// A line as the till gives it, with the price already resolved from the
/// catalogue (or typed by the cashier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub description: String,
    pub unit_price: Money,
    pub qty: Decimal,
    /// The card the product sells (a card product of the catalogue).
    pub card: Option<CardPlan>,
    /// The catalogue's member price and points multiplier of the product.
    pub pricing: LinePricing,
}

/// What the catalogue says of a line's price besides its regular price:
/// the member price and the points multiplier (module doc, steps 2 and 8).
/// A line typed by the cashier has the default: none, and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePricing {
    pub member_price: Option<Money>,
    pub points_multiplier: Decimal,
}

impl Default for LinePricing {
    fn default() -> Self {
        LinePricing {
            member_price: None,
            points_multiplier: Decimal::ONE,
        }
    }
}

/// A tender as the till gives it; at most one may leave `amount` out, and
/// it then pays whatever the others leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderInput {
    pub kind: TenderKind,
    pub amount: Option<Money>,
}

#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct OrderLine {
    #[n(0)]
    pub sku: Option<String>,
    #[n(1)]
    pub barcode: Option<String>,
    #[n(2)]
    pub description: String,
    #[n(3)]
    pub unit_price: Money,
    #[cbor(n(4), with = "crate::codec::decimal")]
    pub qty: Decimal,
    #[n(5)]
    pub amount: Money,
    #[n(6)]
    pub discount: Money,
    /// After the level discount, before coupons.
    #[n(7)]
    pub payable: Money,
    /// What the order's coupons took off this line (`coupon::stack`).
    #[cbor(n(8), skip_if = "crate::codec::is_zero_money")]
    pub coupon_off: Money,
    /// The cards the line sells, one per unit (feature `FEATURE_CARDS`).
    #[n(9)]
    pub card: Option<CardSale>,
}

impl OrderLine {
    /// What the line pays for its goods: its payable less its coupons (the
    /// points deduction and the tenders pay the order as a whole). A refund
    /// of the line pays back from this.
    pub fn paid(&self) -> Money {
        self.payable - self.coupon_off
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Tender {
    #[n(0)]
    pub kind: TenderKind,
    #[n(1)]
    pub amount: Money,
}

/// A sale, as decided at the till and recorded in the op that makes it.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Order {
    #[n(0)]
    pub id: OrderId,
    #[n(1)]
    pub member: Option<MemberId>,
    #[n(2)]
    pub store: NodeId,
    #[n(3)]
    pub at: Hlc,
    #[n(4)]
    pub level: Option<String>,
    #[cbor(n(5), with = "crate::codec::decimal")]
    pub rate: Decimal,
    #[n(6)]
    pub lines: Vec<OrderLine>,
    #[n(7)]
    pub total: Money,
    #[n(8)]
    pub discount: Money,
    #[n(9)]
    pub payable: Money,
    /// What each tender paid, net of change.
    #[n(10)]
    pub tenders: Vec<Tender>,
    /// Cash handed back.
    #[n(11)]
    pub change: Money,
    #[n(12)]
    pub balance_principal: Money,
    #[n(13)]
    pub balance_bonus: Money,
    #[n(14)]
    pub points_earned: i64,
    /// Points paid with (积分抵现), debited from this store's share.
    #[cbor(n(15), skip_if = "crate::codec::is_zero_i64")]
    pub points_used: i64,
    /// What they paid: `payable` is after it.
    #[cbor(n(16), skip_if = "crate::codec::is_zero_money")]
    pub points_value: Money,
    /// The coupons used, in the stacking order; each takes one use from
    /// this store's share of it (feature `FEATURE_COUPONS`).
    #[cbor(n(17), skip_if = "crate::codec::is_empty_vec")]
    pub coupons: Vec<CouponUse>,
    /// What they took off, in all (Σ line `coupon_off`).
    #[cbor(n(18), skip_if = "crate::codec::is_zero_money")]
    pub coupon_off: Money,
}

impl Order {
    /// The goods payable before the points deduction and after the
    /// coupons (Σ line `paid`).
    pub fn goods_payable(&self) -> Money {
        self.payable + self.points_value
    }

    pub fn tender(&self, kind: TenderKind) -> Money {
        self.tenders
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| t.amount)
            .sum()
    }
}

/// The member side of a checkout: who, at which level, with which wallet.
pub struct Buyer<'a> {
    pub member: &'a MemberId,
    pub level: &'a Level,
    pub wallet: &'a Wallet,
}

/// Everything the calculator needs besides the lines and tenders.
pub struct CheckoutContext<'a> {
    pub programme: &'a Programme,
    pub store: &'a NodeId,
    pub order: OrderId,
    pub at: Hlc,
    pub buyer: Option<Buyer<'a>>,
}

fn check_qty(qty: Decimal) -> bool {
    qty > Decimal::ZERO && qty <= Decimal::from(QTY_MAX) && qty.normalize().scale() <= 3
}

/// Price the lines and settle the tenders; the resulting order is what the
/// checkout op records. No points used: `checkout_with_points` with 0.
pub fn checkout(
    ctx: &CheckoutContext<'_>,
    lines: &[LineInput],
    tenders: &[TenderInput],
) -> Result<Order, CheckoutError> {
    checkout_with_points(ctx, lines, tenders, 0)
}

/// The points deduction of `points` against `goods` (steps 4 and 5 of the
/// module doc): their value, checked against the rule, the cap and what
/// the member holds at this store. Holding is checked last (`held`), so a
/// request the rule refuses never makes the node ask its peers for points.
fn deduct_points(
    ctx: &CheckoutContext<'_>,
    goods: Money,
    points: i64,
) -> Result<Money, CheckoutError> {
    if points < 0 {
        return Err(CheckoutError::InvalidPoints);
    }
    if points == 0 {
        return Ok(Money::ZERO);
    }
    let rule = ctx
        .programme
        .points_deduction
        .as_ref()
        .ok_or(CheckoutError::PointsNotEnabled)?;
    if ctx.buyer.is_none() {
        return Err(CheckoutError::PointsWithoutMember);
    }
    if points < rule.min_points {
        return Err(CheckoutError::PointsBelowMinimum {
            min: rule.min_points,
        });
    }
    let cap = rule.cap_of(goods);
    let value = rule.value_of(points);
    if value > cap {
        return Err(CheckoutError::PointsOverCap {
            wanted: points,
            value,
            cap,
            max_points: rule.max_points_within(cap),
        });
    }
    Ok(value)
}

/// `checkout`, paying `points` (whole points, 0 = none) with points.
pub fn checkout_with_points(
    ctx: &CheckoutContext<'_>,
    lines: &[LineInput],
    tenders: &[TenderInput],
    points: i64,
) -> Result<Order, CheckoutError> {
    checkout_with(
        ctx,
        lines,
        tenders,
        &Deductions {
            points,
            coupons: &[],
        },
    )
}

/// Give each card a sale's lines sell its code: `mint` is called once per
/// card, in line order (the selling store's entity counter). The
/// calculator leaves the codes to its caller, so it stays pure.
pub fn mint_cards(order: &mut Order, mut mint: impl FnMut() -> CardId) {
    for line in &mut order.lines {
        if let Some(sale) = &mut line.card {
            let n = rust_decimal::prelude::ToPrimitive::to_usize(&line.qty).unwrap_or(0);
            sale.cards = (0..n).map(|_| mint()).collect();
        }
    }
}

/// What a member deducts from an order besides the level discount: points
/// (积分抵现, whole points, 0 = none) and coupons (the member's, as held).
#[derive(Debug, Clone, Copy)]
pub struct Deductions<'a> {
    pub points: i64,
    pub coupons: &'a [&'a HeldCoupon],
}

/// Whether `coupon` can give a use at `store`: a use left here, else why
/// not (none left anywhere: used; held elsewhere: where).
pub fn coupon_held_here(coupon: &HeldCoupon, store: &NodeId) -> Result<(), CouponError> {
    if coupon.held(store) > 0 {
        return Ok(());
    }
    let code = coupon.id().to_string();
    if coupon.left() <= 0 {
        return Err(CouponError::Used { code });
    }
    Err(CouponError::UnavailableHere {
        code,
        held_at: coupon.holders().cloned().collect(),
    })
}

/// The coupons' part (step 2 of `coupon`'s stacking rule): what each takes
/// off which line, checked against the rule. Whether a use is held here is
/// checked later, with the points held (`coupon_held_here`), so an order
/// the rules refuse never makes the node ask its peers for a use.
fn apply_coupons(
    ctx: &CheckoutContext<'_>,
    priced: &[OrderLine],
    coupons: &[&HeldCoupon],
) -> Result<coupon::Stacked, CheckoutError> {
    if coupons.is_empty() {
        return Ok(coupon::Stacked::default());
    }
    let buyer = ctx.buyer.as_ref().ok_or(CouponError::WithoutMember)?;
    let lines: Vec<CouponLine<'_>> = priced
        .iter()
        .map(|l| CouponLine {
            sku: l.sku.as_deref(),
            category: None,
            qty: l.qty,
            payable: l.payable,
        })
        .collect();
    let presented: Vec<Presented<'_>> = coupons
        .iter()
        .map(|c| Presented {
            code: c.coupon.id.as_str(),
            template: &c.coupon.template,
            window: (c.coupon.from, c.coupon.to),
        })
        .collect();
    let stacked = coupon::stack(
        &lines,
        &presented,
        &coupon::Context {
            store: ctx.store,
            level: Some(buyer.level.code.as_str()),
            today: Day::of_ms(ctx.at.ms),
        },
    )?;
    Ok(stacked)
}

/// `checkout` with the member's `deductions`: the level discount, then
/// the coupons, then the points (the order of `coupon`'s stacking rule).
pub fn checkout_with(
    ctx: &CheckoutContext<'_>,
    lines: &[LineInput],
    tenders: &[TenderInput],
    deductions: &Deductions<'_>,
) -> Result<Order, CheckoutError> {
    let points = deductions.points;
    if lines.is_empty() || lines.len() > LINES_MAX {
        return Err(CheckoutError::LineCount);
    }
    let rate = ctx.buyer.as_ref().map_or(Decimal::ONE, |b| b.level.rate);
    let mut priced = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let line = i + 1;
        if !check_qty(l.qty) {
            return Err(CheckoutError::Qty { line });
        }
        Money::check_amount(l.unit_price.as_decimal(), false)
            .map_err(|reason| CheckoutError::UnitPrice { line, reason })?;
        // Printed on the receipt as is: `text`'s rule (no ESC p, no GS V).
        text::check_text(&l.description, 1, DESCRIPTION_LEN_MAX)
            .map_err(|why| CheckoutError::Description { line, why })?;
        if l.card.is_some() {
            if ctx.buyer.is_none() {
                return Err(CheckoutError::CardWithoutMember { line });
            }
            let whole = l.qty.fract().is_zero()
                && l.qty >= Decimal::ONE
                && l.qty <= Decimal::from(CARDS_PER_LINE_MAX);
            if !whole {
                return Err(CheckoutError::CardQty { line });
            }
        }
        let amount = Money::round_half_up(l.unit_price.as_decimal() * l.qty);
        let mut payable = Money::round_half_up(amount.as_decimal() * rate);
        if ctx.buyer.is_some()
            && let Some(member) = l.pricing.member_price
        {
            Money::check_amount(member.as_decimal(), false)
                .map_err(|reason| CheckoutError::UnitPrice { line, reason })?;
            payable = payable.min(Money::round_half_up(member.as_decimal() * l.qty));
        }
        priced.push(OrderLine {
            sku: l.sku.clone(),
            barcode: l.barcode.clone(),
            description: l.description.trim().to_string(),
            unit_price: l.unit_price,
            qty: l.qty.normalize(),
            amount,
            discount: amount - payable,
            payable,
            coupon_off: Money::ZERO,
            card: l.card.clone().map(|plan| CardSale {
                plan,
                cards: Vec::new(),
            }),
        });
    }
    let total: Money = priced.iter().map(|l| l.amount).sum();
    let level_goods: Money = priced.iter().map(|l| l.payable).sum();
    if total > Money::from_yuan(crate::money::AMOUNT_MAX_YUAN) {
        return Err(CheckoutError::TooLarge { total });
    }
    let stacked = apply_coupons(ctx, &priced, deductions.coupons)?;
    for (line, off) in priced.iter_mut().zip(&stacked.line_off) {
        line.coupon_off = *off;
    }
    let coupon_off = stacked.total();
    let goods = level_goods - coupon_off;
    let points_value = deduct_points(ctx, goods, points)?;
    let payable = goods - points_value;

    let tenders = settle_tenders(payable, tenders)?;
    for c in deductions.coupons {
        coupon_held_here(c, ctx.store)?;
    }
    if let Some(buyer) = ctx.buyer.as_ref() {
        let available_here = buyer.wallet.share(ctx.store).points;
        if points > available_here {
            return Err(CheckoutError::InsufficientPoints {
                wanted: points,
                available_here,
            });
        }
    }
    let mut change = Money::ZERO;
    let mut paid: Vec<Tender> = Vec::with_capacity(tenders.len());
    let tendered: Money = tenders.iter().map(|t| t.amount).sum();
    if tendered > payable {
        change = tendered - payable;
    }
    for t in tenders {
        let amount = if t.kind == TenderKind::Cash {
            t.amount - change
        } else {
            t.amount
        };
        if !amount.is_zero() {
            paid.push(Tender {
                kind: t.kind,
                amount,
            });
        }
    }

    let balance: Money = paid
        .iter()
        .filter(|t| t.kind == TenderKind::Balance)
        .map(|t| t.amount)
        .sum();
    let (mut balance_principal, mut balance_bonus) = (Money::ZERO, Money::ZERO);
    if !balance.is_zero() {
        let buyer = ctx
            .buyer
            .as_ref()
            .ok_or(CheckoutError::BalanceWithoutMember)?;
        let available_here = buyer.wallet.share(ctx.store).money();
        (balance_principal, balance_bonus) = buyer.wallet.split_spend(ctx.store, balance).ok_or(
            CheckoutError::InsufficientBalance {
                wanted: balance,
                available_here,
            },
        )?;
    }
    let points_earned = if ctx.buyer.is_some() {
        ctx.programme
            .points_for(points_base(payable, goods, &priced, lines))
    } else {
        0
    };
    Ok(Order {
        id: ctx.order.clone(),
        member: ctx.buyer.as_ref().map(|b| b.member.clone()),
        store: ctx.store.clone(),
        at: ctx.at,
        level: ctx.buyer.as_ref().map(|b| b.level.code.clone()),
        rate,
        lines: priced,
        total,
        discount: total - level_goods,
        payable,
        tenders: paid,
        change,
        balance_principal,
        balance_bonus,
        points_earned,
        points_used: points,
        points_value,
        coupons: stacked.uses,
        coupon_off,
    })
}

/// What points are earned on (module doc, step 8): the payable, each
/// line's share of it weighted by its points multiplier.
fn points_base(payable: Money, goods: Money, priced: &[OrderLine], lines: &[LineInput]) -> Money {
    if lines
        .iter()
        .all(|l| l.pricing.points_multiplier == Decimal::ONE)
        || goods.is_zero()
    {
        return payable;
    }
    let weighted: Decimal = priced
        .iter()
        .zip(lines)
        .map(|(p, l)| p.paid().as_decimal() * l.pricing.points_multiplier)
        .sum();
    Money::round_half_up(payable.as_decimal() * weighted / goods.as_decimal())
}

/// Resolve the tenders to amounts: the one without an amount pays the rest;
/// together they must pay `payable` exactly, except that cash may be
/// over-tendered by less than its own amount (the excess is change).
fn settle_tenders(payable: Money, tenders: &[TenderInput]) -> Result<Vec<Tender>, CheckoutError> {
    if tenders.len() > TENDERS_MAX {
        return Err(CheckoutError::Tenders);
    }
    let mut kinds: Vec<TenderKind> = tenders.iter().map(|t| t.kind).collect();
    kinds.sort();
    kinds.dedup();
    if kinds.len() != tenders.len() || tenders.iter().filter(|t| t.amount.is_none()).count() > 1 {
        return Err(CheckoutError::Tenders);
    }
    for t in tenders {
        if let Some(a) = t.amount {
            Money::check_amount(a.as_decimal(), true).map_err(|reason| {
                CheckoutError::TenderAmount {
                    kind: t.kind.as_str(),
                    reason,
                }
            })?;
        }
    }
    let given: Money = tenders.iter().filter_map(|t| t.amount).sum();
    let rest = payable.checked_sub(given).unwrap_or(Money::ZERO);
    let out: Vec<Tender> = tenders
        .iter()
        .map(|t| Tender {
            kind: t.kind,
            amount: t.amount.unwrap_or(rest),
        })
        .filter(|t| !t.amount.is_zero())
        .collect();
    let tendered: Money = out.iter().map(|t| t.amount).sum();
    let cash = out
        .iter()
        .find(|t| t.kind == TenderKind::Cash)
        .map_or(Money::ZERO, |t| t.amount);
    let ok = tendered == payable || (tendered > payable && tendered - payable < cash);
    if !ok {
        return Err(CheckoutError::TenderMismatch { tendered, payable });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

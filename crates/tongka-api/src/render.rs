//! Answers: how members, wallets, orders, refunds and history look in JSON
//! (and a receipt as text), as typed views serialised straight to the
//! answer's bytes (no `serde_json::Value` built on the way; the views are
//! also what a derived OpenAPI document would describe). Rendering reads
//! nothing but its arguments, so a stored outcome renders to the same
//! answer when an idempotency key replays it.

mod cards;
mod coupons;
mod staff;
pub mod stock;

pub use cards::{CardPlanDto, CardView, VisitView, card, plan};
pub use coupons::{CouponView, coupon};
pub use staff::{SessionView, StaffListView, StaffView, by_name, staff, time_ms};

use std::borrow::Cow;
use std::fmt::Display;
use std::time::{Duration, UNIX_EPOCH};
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use tongka_actors::Outcome;
use tongka_core::checkout::{Order, OrderLine, Tender, TenderKind};
use tongka_core::clock::Hlc;
use tongka_core::day::Day;
use tongka_core::ids::{MemberId, NodeId, OrderId, RechargeId, RefundId};
use tongka_core::member::{Gender, mask_phone};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::programme::{Level, Programme};
use tongka_core::refund::{OrderState, Refund};
use tongka_core::state::MemberState;
use tongka_core::text::printable;

pub fn time(h: Hlc) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(h.ms)).to_string()
}

/// A value shown as its `Display` text: decimals (`"0.95"`), times.
pub struct Text<T>(pub T);

impl<T: Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A clock reading as RFC 3339 UTC with milliseconds.
type Time = Text<humantime::Rfc3339Timestamp>;

fn at(h: Hlc) -> Time {
    Text(humantime::format_rfc3339_millis(
        UNIX_EPOCH + Duration::from_millis(h.ms),
    ))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Level)]
pub struct LevelView<'a> {
    #[schema(value_type = String, examples("silver"))]
    code: &'a str,
    #[schema(value_type = String, examples("银卡会员"))]
    name_zh: &'a str,
    #[schema(value_type = String, examples("Silver"))]
    name_en: &'a str,
    /// Price multiplier at checkout (0.95 = 95折).
    #[schema(value_type = crate::openapi::Decimal)]
    rate: Text<Decimal>,
    /// Cumulative principal recharged from which the level applies.
    #[schema(value_type = crate::openapi::Money)]
    min_principal: Money,
}

pub fn level(l: &Level) -> LevelView<'_> {
    LevelView {
        code: &l.code,
        name_zh: &l.name_zh,
        name_en: &l.name_en,
        rate: Text(l.rate),
        min_principal: l.min_principal,
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = RechargeOffer)]
pub struct OfferView {
    #[schema(value_type = crate::openapi::Money)]
    threshold: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    /// Coupon templates (ids) a recharge reaching this offer issues, one
    /// coupon each.
    coupons: Vec<String>,
}

/// Paying with points at checkout (积分抵现).
#[derive(Serialize, ToSchema)]
#[schema(as = PointsDeduction)]
pub struct DeductionView {
    /// Points that make 1.00 (100 = 100 points for 1.00).
    #[schema(minimum = 1, maximum = 10000)]
    points_per_yuan: i64,
    /// The largest part of the payable (after the level discount) points may pay: > 0, ≤ 1, at most 4 places (0.5 = half).
    #[schema(value_type = crate::openapi::Decimal)]
    cap: Text<Decimal>,
    /// The fewest points one checkout may use; 0 = no minimum.
    #[schema(minimum = 0, maximum = 1000000)]
    min_points: i64,
}

/// The membership programme (会员方案).
#[derive(Serialize, ToSchema)]
#[schema(as = Programme)]
pub struct ProgrammeView<'a> {
    recharge_offers: Vec<OfferView>,
    levels: Vec<LevelView<'a>>,
    #[schema(value_type = crate::openapi::Decimal)]
    points_per_yuan: Text<Decimal>,
    /// null: paying with points is off (the default).
    #[schema(required = true)]
    points_deduction: Option<DeductionView>,
    /// The chain's coupon templates, by id.
    coupon_templates: Vec<crate::coupon_templates::TemplateDto>,
    /// A cashier's refund above this amount needs a store manager's
    /// approval at the till; null: none does.
    #[schema(value_type = Option<crate::openapi::Money>, required = true)]
    refund_approval_above: Option<Money>,
    /// A sale that takes a store's stock below zero: `allow` (sold, and
    /// flagged on the below-zero report) or `refuse` (`insufficient_stock`).
    #[schema(value_type = String, pattern = "^(allow|refuse)$")]
    negative_stock: &'static str,
    #[schema(value_type = String)]
    rounding: &'static str,
    #[schema(value_type = String)]
    balance_order: &'static str,
}

/// The programme as `GET /programme` shows it.
pub fn programme(p: &Programme) -> ProgrammeView<'_> {
    ProgrammeView {
        recharge_offers: p
            .recharge_offers
            .iter()
            .map(|o| OfferView {
                threshold: o.threshold,
                bonus: o.bonus,
                coupons: o.coupons.clone(),
            })
            .collect(),
        levels: p.levels.iter().map(level).collect(),
        points_per_yuan: Text(p.points_per_yuan),
        points_deduction: p.points_deduction.as_ref().map(|d| DeductionView {
            points_per_yuan: d.points_per_yuan,
            cap: Text(d.cap),
            min_points: d.min_points,
        }),
        coupon_templates: p
            .coupon_templates
            .iter()
            .map(crate::coupon_templates::view)
            .collect(),
        refund_approval_above: p.refund_approval_above,
        negative_stock: match p.negative_stock {
            tongka_core::stock::NegativeStock::Allow => "allow",
            tongka_core::stock::NegativeStock::Refuse => "refuse",
        },
        rounding: "each line: amount = round(unit_price × qty), payable = round(amount × level rate); points: value = round(points ÷ points_deduction.points_per_yuan), at most round(payable × cap); half-up to the fen",
        balance_order: "principal and bonus in proportion to the paying store's share",
    }
}

/// A member (会员).
#[derive(Serialize, ToSchema)]
#[schema(as = Member)]
pub struct MemberView<'a> {
    #[schema(value_type = crate::openapi::MemberId)]
    id: &'a MemberId,
    /// The full mobile number (masked `138****1234` in lists).
    phone: Cow<'a, str>,
    #[schema(examples("138****1234"))]
    phone_masked: String,
    #[schema(value_type = String)]
    name: &'a str,
    #[schema(value_type = Option<String>, format = Date, required = true)]
    birthday: &'a Option<String>,
    #[schema(value_type = Option<crate::openapi::Gender>, required = true)]
    gender: &'a Option<Gender>,
    #[schema(value_type = Option<String>, required = true)]
    card_no: &'a Option<String>,
    /// The invite code given at registration.
    #[schema(value_type = Option<String>, required = true)]
    invited_by: &'a Option<String>,
    #[schema(value_type = Vec<String>)]
    tags: &'a [String],
    #[schema(value_type = String)]
    notes: &'a str,
    #[schema(value_type = crate::openapi::NodeName)]
    home_store: &'a NodeId,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    created_at: Time,
    level: LevelView<'a>,
    points: i64,
    /// principal + bonus, all stores.
    #[schema(value_type = crate::openapi::Money)]
    balance: Money,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    /// The part of the balance held by this store.
    #[schema(value_type = crate::openapi::Money)]
    available_here: Money,
    /// Principal ever recharged (sets the level).
    #[schema(value_type = crate::openapi::Money)]
    cumulative_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    cumulative_bonus: Money,
    /// Net amount paid for sales, all tenders, after refunds.
    #[schema(value_type = crate::openapi::Money)]
    cumulative_spent: Money,
    #[schema(minimum = 0)]
    visits: u64,
    /// Members merged into this one (duplicates absorbed by `POST /members/{id}/merge`); their history shows in this member's.
    #[schema(value_type = Vec<crate::openapi::MemberId>)]
    merged: &'a [MemberId],
}

pub fn member<'a>(m: &'a MemberState, p: &'a Programme, here: &NodeId) -> MemberView<'a> {
    let total = m.balance();
    MemberView {
        id: &m.id,
        phone: Cow::Borrowed(&m.profile.phone),
        phone_masked: mask_phone(&m.profile.phone),
        name: &m.profile.name,
        birthday: &m.profile.birthday,
        gender: &m.profile.gender,
        card_no: &m.profile.card_no,
        invited_by: &m.profile.invited_by,
        tags: &m.profile.tags,
        notes: &m.profile.notes,
        home_store: &m.home,
        created_at: at(m.created),
        level: level(p.level_for(m.cumulative_principal)),
        points: total.points,
        balance: total.money(),
        principal: total.principal,
        bonus: total.bonus,
        available_here: m.wallet.share(here).money(),
        cumulative_principal: m.cumulative_principal,
        cumulative_bonus: m.cumulative_bonus,
        cumulative_spent: m.cumulative_spent,
        visits: m.visits,
        merged: &m.absorbed,
    }
}

/// A member in a list: the phone number masked.
pub fn member_brief<'a>(m: &'a MemberState, p: &'a Programme, here: &NodeId) -> MemberView<'a> {
    let mut v = member(m, p, here);
    v.phone = Cow::Owned(v.phone_masked.clone());
    v
}

#[derive(Serialize, ToSchema)]
#[schema(as = Share)]
pub struct ShareView<'a> {
    #[schema(value_type = crate::openapi::NodeName)]
    node: &'a NodeId,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    points: i64,
}

/// A member's stored value (储值) as shares held by stores.
#[derive(Serialize, ToSchema)]
#[schema(as = Wallet)]
pub struct WalletView<'a> {
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: &'a MemberId,
    #[schema(value_type = crate::openapi::Money)]
    balance: Money,
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    points: i64,
    #[schema(value_type = crate::openapi::Money)]
    available_here: Money,
    #[schema(value_type = String)]
    available_here_reason: &'static str,
    shares: Vec<ShareView<'a>>,
}

pub fn wallet<'a>(m: &'a MemberState, here: &NodeId) -> WalletView<'a> {
    let total = m.balance();
    let here_share = m.wallet.share(here);
    WalletView {
        member_id: &m.id,
        balance: total.money(),
        principal: total.principal,
        bonus: total.bonus,
        points: total.points,
        available_here: here_share.money(),
        available_here_reason: if here_share.money() == total.money() {
            "the whole balance is held at this store"
        } else {
            "only this store's share of the balance can be spent here without asking other stores"
        },
        shares: m
            .wallet
            .shares()
            .map(|(n, s)| ShareView {
                node: n,
                principal: s.principal,
                bonus: s.bonus,
                points: s.points,
            })
            .collect(),
    }
}

fn order_status(o: &OrderState) -> &'static str {
    if o.fully_refunded() {
        "refunded"
    } else if o.refunds.is_empty() {
        "paid"
    } else {
        "partially_refunded"
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = Tender)]
pub struct TenderView {
    #[schema(value_type = crate::openapi::TenderKind)]
    kind: TenderKind,
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
}

fn tenders(ts: &[Tender]) -> Vec<TenderView> {
    ts.iter()
        .map(|t| TenderView {
            kind: t.kind,
            amount: t.amount,
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
#[schema(as = OrderLine)]
pub struct LineView<'a> {
    #[schema(value_type = Option<String>, required = true)]
    sku: &'a Option<String>,
    #[schema(value_type = Option<String>, required = true)]
    barcode: &'a Option<String>,
    #[schema(value_type = String)]
    description: &'a str,
    #[schema(value_type = crate::openapi::Money)]
    unit_price: Money,
    #[schema(value_type = crate::openapi::Decimal)]
    qty: Text<Decimal>,
    /// round(unit_price × qty)
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    /// amount − payable
    #[schema(value_type = crate::openapi::Money)]
    discount: Money,
    /// round(amount × rate)
    #[schema(value_type = crate::openapi::Money)]
    payable: Money,
    /// What the order's coupons took off this line (0.00 for none); the line pays payable − coupon_off.
    #[schema(value_type = crate::openapi::Money)]
    coupon_off: Money,
    /// Only a made sale has refunds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::Decimal>)]
    refunded_qty: Option<Text<Decimal>>,
    /// The cards the line sells (a card product's line: one per unit, in the member's wallet); null for other goods. A quote shows no codes (none is minted until the sale).
    card: Option<cards::CardSaleView<'a>>,
}

fn line(l: &OrderLine, refunded_qty: Option<Decimal>) -> LineView<'_> {
    LineView {
        sku: &l.sku,
        barcode: &l.barcode,
        description: &l.description,
        unit_price: l.unit_price,
        qty: Text(l.qty),
        amount: l.amount,
        discount: l.discount,
        payable: l.payable,
        coupon_off: l.coupon_off,
        refunded_qty: refunded_qty.map(Text),
        card: l.card.as_ref().map(cards::sale),
    }
}

/// A sale (订单).
#[derive(Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderView<'a> {
    #[schema(value_type = crate::openapi::OrderId)]
    id: &'a OrderId,
    #[schema(value_type = Option<crate::openapi::MemberId>, required = true)]
    member_id: &'a Option<MemberId>,
    #[schema(value_type = crate::openapi::NodeName)]
    store: &'a NodeId,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    created_at: Time,
    /// The member's level code at the sale.
    #[schema(value_type = Option<String>, required = true)]
    level: &'a Option<String>,
    #[schema(value_type = crate::openapi::Decimal)]
    rate: Text<Decimal>,
    lines: Vec<LineView<'a>>,
    /// Σ line amount
    #[schema(value_type = crate::openapi::Money)]
    total: Money,
    /// total − Σ line payable (the level discount)
    #[schema(value_type = crate::openapi::Money)]
    discount: Money,
    /// What the coupons took off, after the level discount and before points (Σ coupons' off = Σ lines' coupon_off).
    #[schema(value_type = crate::openapi::Money)]
    coupon_off: Money,
    /// The coupons used, in the stacking order (each took one use).
    coupons: Vec<coupons::CouponUseView<'a>>,
    /// Σ line payable − coupon_off − points_value: what the tenders pay
    #[schema(value_type = crate::openapi::Money)]
    payable: Money,
    /// Σ tenders (net of change) = payable
    #[schema(value_type = crate::openapi::Money)]
    paid: Money,
    /// Cash handed back (找零).
    #[schema(value_type = crate::openapi::Money)]
    change: Money,
    /// What each tender paid, net of change.
    tenders: Vec<TenderView>,
    #[schema(value_type = crate::openapi::Money)]
    balance_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    balance_bonus: Money,
    points_earned: i64,
    /// Points paid with (积分抵现), debited from the selling store's points share.
    #[schema(minimum = 0)]
    points_used: i64,
    /// What the points paid: round(points_used ÷ points_deduction.points_per_yuan), half-up to the fen; total − discount − coupon_off − points_value = payable.
    #[schema(value_type = crate::openapi::Money)]
    points_value: Money,
    /// Points used given back by refunds so far (at most points_used).
    #[schema(minimum = 0)]
    points_returned: i64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    #[schema(value_type = Vec<crate::openapi::RefundId>)]
    refunds: &'a [RefundId],
    #[schema(value_type = crate::openapi::OrderStatus)]
    status: &'static str,
}

pub fn order(o: &OrderState) -> OrderView<'_> {
    let ord: &Order = &o.order;
    OrderView {
        id: &ord.id,
        member_id: &ord.member,
        store: &ord.store,
        created_at: at(ord.at),
        level: &ord.level,
        rate: Text(ord.rate),
        lines: ord
            .lines
            .iter()
            .zip(&o.refunded_qty)
            .map(|(l, r)| line(l, Some(*r)))
            .collect(),
        total: ord.total,
        discount: ord.discount,
        coupon_off: ord.coupon_off,
        coupons: coupons::uses(&ord.coupons),
        payable: ord.payable,
        paid: ord.tenders.iter().map(|t| t.amount).sum(),
        change: ord.change,
        tenders: tenders(&ord.tenders),
        balance_principal: ord.balance_principal,
        balance_bonus: ord.balance_bonus,
        points_earned: ord.points_earned,
        points_used: ord.points_used,
        points_value: ord.points_value,
        points_returned: o.points_returned,
        refunded: o.refunded,
        refunds: &o.refunds,
        status: order_status(o),
    }
}

/// What a sale would be (试算): the order's figures without what only a made sale has (its id, store, time, refunds). The same calculator decides both.
#[derive(Serialize, ToSchema)]
#[schema(as = Quote)]
pub struct QuoteView<'a> {
    #[schema(value_type = Option<crate::openapi::MemberId>, required = true)]
    member_id: &'a Option<MemberId>,
    /// The member's level code now.
    #[schema(value_type = Option<String>, required = true)]
    level: &'a Option<String>,
    #[schema(value_type = crate::openapi::Decimal)]
    rate: Text<Decimal>,
    lines: Vec<LineView<'a>>,
    /// Σ line amount
    #[schema(value_type = crate::openapi::Money)]
    total: Money,
    /// total − Σ line payable (the level discount)
    #[schema(value_type = crate::openapi::Money)]
    discount: Money,
    /// What the coupons took off, after the level discount and before points (Σ coupons' off = Σ lines' coupon_off).
    #[schema(value_type = crate::openapi::Money)]
    coupon_off: Money,
    /// The coupons used, in the stacking order (each took one use).
    coupons: Vec<coupons::CouponUseView<'a>>,
    /// Points the sale would pay with (积分抵现).
    #[schema(minimum = 0)]
    points_used: i64,
    /// What the points paid: round(points_used ÷ points_deduction.points_per_yuan), half-up to the fen; total − discount − coupon_off − points_value = payable.
    #[schema(value_type = crate::openapi::Money)]
    points_value: Money,
    /// Σ line payable − coupon_off − points_value: what the tenders pay
    #[schema(value_type = crate::openapi::Money)]
    payable: Money,
    /// Σ tenders (net of change) = payable
    #[schema(value_type = crate::openapi::Money)]
    paid: Money,
    /// Cash handed back (找零).
    #[schema(value_type = crate::openapi::Money)]
    change: Money,
    /// What each tender paid, net of change.
    tenders: Vec<TenderView>,
    #[schema(value_type = crate::openapi::Money)]
    balance_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    balance_bonus: Money,
    points_earned: i64,
}

/// What a sale would be (`POST /checkouts/quote`): the order's figures,
/// without what only a made sale has (its id, store, time and refunds).
pub fn quote(ord: &Order) -> QuoteView<'_> {
    QuoteView {
        member_id: &ord.member,
        level: &ord.level,
        rate: Text(ord.rate),
        lines: ord.lines.iter().map(|l| line(l, None)).collect(),
        total: ord.total,
        discount: ord.discount,
        coupon_off: ord.coupon_off,
        coupons: coupons::uses(&ord.coupons),
        points_used: ord.points_used,
        points_value: ord.points_value,
        payable: ord.payable,
        paid: ord.tenders.iter().map(|t| t.amount).sum(),
        change: ord.change,
        tenders: tenders(&ord.tenders),
        balance_principal: ord.balance_principal,
        balance_bonus: ord.balance_bonus,
        points_earned: ord.points_earned,
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = RefundedLine)]
pub struct RefundedLineView {
    #[schema(minimum = 0)]
    line: usize,
    #[schema(value_type = crate::openapi::Decimal)]
    qty: Text<Decimal>,
}

/// A refund (退款) of all or part of an order.
#[derive(Serialize, ToSchema)]
#[schema(as = Refund)]
pub struct RefundView<'a> {
    #[schema(value_type = crate::openapi::RefundId)]
    id: &'a RefundId,
    #[schema(value_type = crate::openapi::OrderId)]
    order_id: &'a OrderId,
    #[schema(value_type = Option<crate::openapi::MemberId>, required = true)]
    member_id: &'a Option<MemberId>,
    #[schema(value_type = crate::openapi::NodeName)]
    store: &'a NodeId,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    created_at: Time,
    lines: Vec<RefundedLineView>,
    /// Money given back: goods value refunded less the points value given back.
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    /// Where the money goes back.
    tenders: Vec<TenderView>,
    #[schema(value_type = crate::openapi::Money)]
    balance_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    balance_bonus: Money,
    points_reversed: i64,
    /// Points used by the sale given back: round(points_used × goods refunded ÷ goods payable), cumulatively.
    #[schema(minimum = 0)]
    points_returned: i64,
    /// The sale's coupons whose use this refund gave back (the refund of the last of the sale, while the coupon is still valid).
    #[schema(value_type = Vec<crate::openapi::CouponCode>)]
    coupons_returned: &'a [tongka_core::ids::CouponId],
    /// The cards this refund took back (each refunded: no visit is made on it again).
    #[schema(value_type = Vec<crate::openapi::CardCode>)]
    cards_refunded: &'a [tongka_core::ids::CardId],
    /// What the sale paid for those cards and the refund keeps: their used part (a count card: price × used ÷ visits; a period card: its days to today), rounded half-up to the fen. `amount` is what the refunded lines paid less this.
    #[schema(value_type = crate::openapi::Money)]
    card_kept: Money,
    #[schema(value_type = String)]
    reason: &'a str,
    /// The store manager who approved it at the till (a cashier's refund
    /// above the programme's limit): their staff id; else null.
    #[schema(value_type = Option<String>, required = true)]
    approved_by: Option<&'a str>,
    /// Their name; null when none approved.
    #[schema(required = true)]
    approved_by_name: Option<String>,
    /// The order after this refund.
    order: OrderView<'a>,
}

pub fn refund<'a>(
    r: &'a Refund,
    o: &'a OrderState,
    book: &tongka_core::staff::StaffBook,
) -> RefundView<'a> {
    RefundView {
        id: &r.id,
        order_id: &r.order,
        member_id: &r.member,
        store: &r.store,
        created_at: at(r.at),
        lines: r
            .lines
            .iter()
            .map(|l| RefundedLineView {
                line: l.line,
                qty: Text(l.qty),
            })
            .collect(),
        amount: r.amount,
        tenders: tenders(&r.tenders),
        balance_principal: r.balance_principal,
        balance_bonus: r.balance_bonus,
        points_reversed: r.points_reversed,
        points_returned: r.points_returned,
        coupons_returned: &r.coupons_returned,
        cards_refunded: &r.cards_refunded,
        card_kept: r.card_kept,
        reason: &r.reason,
        approved_by: r.approved_by.as_deref(),
        approved_by_name: r.approved_by.as_deref().map(|by| by_name(book, by)),
        order: order(o),
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = Recharge)]
pub struct RechargeView<'a> {
    #[schema(value_type = crate::openapi::RechargeId)]
    id: &'a RechargeId,
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: &'a MemberId,
    #[schema(value_type = crate::openapi::Money)]
    amount: Money,
    /// Same as amount: the money paid in.
    #[schema(value_type = crate::openapi::Money)]
    principal: Money,
    /// The programme's bonus (赠送金).
    #[schema(value_type = crate::openapi::Money)]
    bonus: Money,
    #[schema(value_type = crate::openapi::TenderKind)]
    tender: TenderKind,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    created_at: Time,
    /// The member's level after the recharge.
    level: LevelView<'a>,
    wallet: WalletView<'a>,
}

/// The answer to a write, as the first request got it. One per answer,
/// serialised once: boxing the larger views would cost an allocation for
/// nothing.
#[derive(Serialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum OutcomeView<'a> {
    Member(MemberView<'a>),
    Recharged(RechargeView<'a>),
    Order(OrderView<'a>),
    Programme(ProgrammeView<'a>),
    Refund(RefundView<'a>),
    Coupon(CouponView<'a>),
    Visit(cards::VisitView<'a>),
    Staff(StaffView<'a>),
    Stock(stock::StockOutcomeView<'a>),
    /// A close without its id (`closes::replayed` answers closes with it).
    Close(crate::closes::CloseView),
    /// A member import's chunk (never a request's own answer: the import
    /// answers with its view of every chunk, `member_import`).
    Imported {
        first: &'a MemberId,
        count: u32,
    },
    Withdrawal(crate::settlement::WithdrawalView),
}

/// The answer for an outcome, as the first request got it (a coupon's
/// status reckoned on `today`).
pub fn outcome<'a>(
    out: &'a Outcome,
    p: &'a Programme,
    here: &NodeId,
    today: Day,
    book: &tongka_core::staff::StaffBook,
) -> OutcomeView<'a> {
    match out {
        Outcome::Member(m) => OutcomeView::Member(member(m, p, here)),
        Outcome::Recharged {
            recharge,
            amount,
            bonus,
            tender,
            at: when,
            member: m,
        } => OutcomeView::Recharged(RechargeView {
            id: recharge,
            member_id: &m.id,
            amount: *amount,
            principal: *amount,
            bonus: *bonus,
            tender: *tender,
            created_at: at(*when),
            level: level(p.level_for(m.cumulative_principal)),
            wallet: wallet(m, here),
        }),
        Outcome::CheckedOut { order: o, .. } => OutcomeView::Order(order(o)),
        Outcome::Programme(p) => OutcomeView::Programme(programme(p)),
        // As for a coupon: the member after the visit holds the card.
        Outcome::CardVisited {
            card: c,
            count,
            at: when,
            member: m,
        } => match m.card(c) {
            Some(held) => OutcomeView::Visit(cards::visit(held, *count, *when, here, today)),
            None => OutcomeView::Member(member(m, p, here)),
        },
        Outcome::Refunded {
            refund: r,
            order: o,
            ..
        } => OutcomeView::Refund(refund(r, o, book)),
        // The member after the issue holds the coupon; were it missing
        // (it cannot be: the outcome is the state the issue left), the
        // member is the answer rather than a panic.
        Outcome::CouponIssued {
            coupon: c,
            member: m,
        } => match m.coupon(c) {
            Some(held) => OutcomeView::Coupon(coupon(held, here, today)),
            None => OutcomeView::Member(member(m, p, here)),
        },
        // The account as changed; its login conflict from the book now.
        Outcome::Staff(a) => OutcomeView::Staff(staff(a, book)),
        Outcome::Stock(o) => OutcomeView::Stock(stock::stock_outcome(o)),
        Outcome::Close(o) => OutcomeView::Close(crate::closes::view(&o.store, &o.close, None)),
        Outcome::Imported { first, count } => OutcomeView::Imported {
            first,
            count: *count,
        },
        Outcome::Withdrawal(w) => OutcomeView::Withdrawal(crate::settlement::withdrawal(w)),
    }
}

/// One op of a member's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The op id, `<origin>#<seq>`.
    #[schema(examples("store-1#3"))]
    op: String,
    #[schema(value_type = crate::openapi::HistoryKind)]
    kind: &'static str,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    at: Time,
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// Who made it: a staff id, or `admin` (the node's token).
    actor: String,
    /// The staff member's name (as the account is named now), or `actor`
    /// itself for the token.
    actor_name: String,
    /// Money moved in or out of the balance (null for profile changes).
    #[schema(value_type = Option<crate::openapi::Money>, required = true)]
    amount: Option<Money>,
    #[schema(value_type = Option<crate::openapi::Money>, required = true)]
    principal: Option<Money>,
    #[schema(value_type = Option<crate::openapi::Money>, required = true)]
    bonus: Option<Money>,
    /// The change to the member's points: earned less paid with (a sale), given back less taken back (a refund), moved (a transfer).
    points: i64,
    /// The member, recharge, order, refund id or receiving node the op is about.
    #[serde(rename = "ref")]
    reference: String,
}

pub fn history_entry(op: &Op, book: &tongka_core::staff::StaffBook) -> HistoryEntry {
    let (kind, amount, principal, bonus, points, reference) = match &op.body {
        OpBody::MemberRegistered {
            member,
            opening: Some(o),
            ..
        } => (
            "member_imported",
            Some(o.principal + o.bonus),
            Some(o.principal),
            Some(o.bonus),
            o.points,
            member.to_string(),
        ),
        OpBody::MemberRegistered { member, .. } => {
            ("registered", None, None, None, 0, member.to_string())
        }
        OpBody::ProfileUpdated { member, .. } => {
            ("profile_updated", None, None, None, 0, member.to_string())
        }
        OpBody::Recharged {
            recharge,
            amount,
            bonus,
            ..
        } => (
            "recharged",
            Some(*amount + *bonus),
            Some(*amount),
            Some(*bonus),
            0,
            recharge.to_string(),
        ),
        OpBody::CheckedOut { order, .. } => (
            "checked_out",
            Some(order.tender(TenderKind::Balance)),
            Some(order.balance_principal),
            Some(order.balance_bonus),
            order.points_earned - order.points_used,
            order.id.to_string(),
        ),
        OpBody::Refunded { refund, .. } => (
            "refunded",
            Some(refund.balance_principal + refund.balance_bonus),
            Some(refund.balance_principal),
            Some(refund.balance_bonus),
            refund.points_returned - refund.points_reversed,
            refund.id.to_string(),
        ),
        OpBody::SharesTransferred {
            to,
            principal,
            bonus,
            points,
            ..
        } => (
            "shares_transferred",
            Some(*principal + *bonus),
            Some(*principal),
            Some(*bonus),
            *points,
            to.to_string(),
        ),
        OpBody::MembersMerged { absorbed, .. } => {
            ("members_merged", None, None, None, 0, absorbed.to_string())
        }
        OpBody::ProgrammeChanged { .. } => {
            ("programme_changed", None, None, None, 0, String::new())
        }
        OpBody::CatalogueChanged { .. } => {
            ("catalogue_changed", None, None, None, 0, String::new())
        }
        OpBody::CouponIssued { coupon, .. } => {
            ("coupon_issued", None, None, None, 0, coupon.id.to_string())
        }
        OpBody::UsesTransferred { to, .. } => {
            ("uses_transferred", None, None, None, 0, to.to_string())
        }
        OpBody::CardVisited { card, .. } => ("card_visited", None, None, None, 0, card.to_string()),
        OpBody::MergeMoved {
            into,
            principal,
            bonus,
            points,
            ..
        } => (
            "merge_moved",
            Some(*principal + *bonus),
            Some(*principal),
            Some(*bonus),
            *points,
            into.to_string(),
        ),
        // Not a member's: never in a member's history.
        OpBody::StaffChanged { staff, .. } => {
            ("staff_changed", None, None, None, 0, staff.to_string())
        }
        OpBody::StockChanged { change } => (change.kind(), None, None, None, 0, op.id.to_string()),
        OpBody::Withdrawal { id, step } => (step.kind(), None, None, None, 0, id.to_string()),
        OpBody::DayClosed { .. } => (op.body.kind(), None, None, None, 0, op.id.to_string()),
    };
    HistoryEntry {
        op: op.id.to_string(),
        kind,
        at: at(op.hlc),
        store: op.id.origin.clone(),
        actor: op.by.to_string(),
        actor_name: staff::by_name(book, &op.by),
        amount,
        principal,
        bonus,
        points,
        reference,
    }
}

/// A receipt for a 58 mm thermal printer (32 columns of ASCII; CJK text is
/// printed as is and takes two columns per character).
///
/// It never carries a control character but the line breaks it writes:
/// the API refuses them in what a client sets (`tongka_core::text`), but an
/// order may hold a description an older node let through, or a product
/// name an older HQ wrote (`ESC p` opens the drawer, `GS V` cuts the
/// paper). Each text is printed with `text::printable` (U+FFFD for every
/// refused character, a line break included), and the whole is passed
/// through once more before it leaves.
pub fn receipt(o: &OrderState, store_name: &str) -> String {
    let out = receipt_text(o, &printable(store_name));
    // Nothing but the renderer's own `\n` may reach the printer.
    out.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

fn receipt_text(o: &OrderState, store_name: &str) -> String {
    let ord = &o.order;
    let mut out = String::new();
    let rule = "-".repeat(32);
    out.push_str(&format!(
        "通卡 tongka  {store_name}\n单号 Order {}\n{}\n{rule}\n",
        ord.id,
        time(ord.at)
    ));
    for l in &ord.lines {
        out.push_str(&format!(
            "{}\n  {} x {} = {}\n",
            printable(&l.description),
            l.unit_price,
            l.qty,
            l.amount
        ));
        if !l.discount.is_zero() {
            out.push_str(&format!("  会员折扣 discount -{}\n", l.discount));
        }
        // A code is `k-<node>-<n>` (ASCII), minted by the selling store.
        for c in l.card.iter().flat_map(|s| &s.cards) {
            out.push_str(&format!("  卡 {}\n", printable(c.as_str())));
        }
    }
    out.push_str(&format!(
        "{rule}\n合计 Total      {:>14}\n优惠 Discount   {:>14}\n",
        ord.total, ord.discount
    ));
    // A code is `c-<node>-<n>` (ASCII), checked when the coupon was issued.
    for c in &ord.coupons {
        out.push_str(&format!("券 {} -{}\n", printable(&c.code), c.off));
    }
    if ord.points_used > 0 {
        out.push_str(&format!(
            "积分抵现 Points {:>15}\n  使用 used {} 积分 points\n",
            format!("-{}", ord.points_value),
            ord.points_used
        ));
    }
    out.push_str(&format!("应付 Payable    {:>14}\n", ord.payable));
    for t in &ord.tenders {
        out.push_str(&format!("{:<16}{:>16}\n", t.kind.as_str(), t.amount));
    }
    if !ord.change.is_zero() {
        out.push_str(&format!("找零 Change     {:>14}\n", ord.change));
    }
    if !ord.balance_principal.is_zero() || !ord.balance_bonus.is_zero() {
        out.push_str(&format!(
            "  本金 principal {}  赠送 bonus {}\n",
            ord.balance_principal, ord.balance_bonus
        ));
    }
    if ord.points_earned > 0 {
        out.push_str(&format!(
            "积分 Points     {:>14}\n",
            format!("+{}", ord.points_earned)
        ));
    }
    if !o.refunded.is_zero() {
        out.push_str(&format!("已退 Refunded   {:>14}\n", o.refunded));
    }
    if o.coupons_returned && !ord.coupons.is_empty() {
        out.push_str(&format!(
            "退回券 Coupons returned {:>8}\n",
            ord.coupons.len()
        ));
    }
    if !o.card_kept.is_zero() {
        out.push_str(&format!("卡已用 Card kept {:>15}\n", o.card_kept));
    }
    if o.points_returned > 0 {
        out.push_str(&format!(
            "退回积分 Points {:>15}\n",
            format!("+{}", o.points_returned)
        ));
    }
    out.push_str(&format!(
        "{rule}\n折扣按行计算，四舍五入到分\nDiscount per line, rounded half-up to the fen (rate {})\n",
        ord.rate
    ));
    if ord.points_used > 0 {
        out.push_str(
            "积分在会员折扣后抵扣，积分按实付金额计算\nPoints deducted after the level discount; points earned on what is paid\n",
        );
    }
    out
}

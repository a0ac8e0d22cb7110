//! Coupons as answers show them: a coupon a member holds (`CouponView`,
//! the answer of an issue and the entries of a member's coupon list), and
//! a coupon used on an order (`CouponUseView`, in an order and a quote).
//! Apart from `render.rs` to keep that file short; the same rule holds:
//! rendering reads nothing but its arguments (the day a coupon's status is
//! reckoned on is one of them).

use serde::Serialize;
use tongka_core::coupon::{CouponUse, HeldCoupon};
use tongka_core::day::Day;
use tongka_core::ids::{CouponId, NodeId};
use tongka_core::money::Money;
use utoipa::ToSchema;

use super::Text;

/// Uses of a coupon held by one store.
#[derive(Serialize, ToSchema)]
#[schema(as = CouponHolder)]
pub struct HeldAtView<'a> {
    #[schema(value_type = crate::openapi::NodeName)]
    store: &'a NodeId,
    #[schema(minimum = 1)]
    uses: i64,
}

/// A coupon a member holds (会员券): the template it was issued from as it
/// was then, its days, and its uses (held per store, like a balance).
#[derive(Serialize, ToSchema)]
#[schema(as = Coupon)]
pub struct CouponView<'a> {
    /// The coupon's code, `c-<node>-<n>` (what a till sends in `coupon_codes`).
    #[schema(value_type = crate::openapi::CouponCode)]
    code: &'a CouponId,
    /// The template's id.
    #[schema(value_type = String, examples("cash-10"))]
    template: &'a str,
    #[schema(value_type = String, examples("10元代金券"))]
    name: &'a str,
    /// The template's kind (`spend_off`, `percent`, `cash`, `exchange`, `birthday`, `channel_gift`, `new_member`, `wake_up`).
    #[schema(examples("cash"))]
    kind: String,
    benefit: crate::coupon_templates::BenefitDto,
    /// The least the goods it applies to must come to, after the level discount.
    #[schema(value_type = crate::openapi::Money)]
    min_spend: Money,
    /// The first day it may be used (YYYY-MM-DD, China time).
    #[schema(value_type = String, format = Date, examples("2025-05-01"))]
    valid_from: Text<Day>,
    /// The last day it may be used, included.
    #[schema(value_type = String, format = Date, examples("2025-05-31"))]
    valid_to: Text<Day>,
    /// Uses it was issued with.
    #[schema(minimum = 1)]
    uses: u32,
    /// Uses used (net of uses refunds gave back).
    #[schema(minimum = 0)]
    used: u32,
    /// Uses left, wherever held.
    #[schema(minimum = 0)]
    left: i64,
    /// From today's chain day: `usable`, `not_yet_valid`, `used` (no use left) or `expired`.
    #[schema(value_type = crate::openapi::CouponStatus)]
    status: &'static str,
    /// Uses held by this store: usable here without asking another store.
    #[schema(minimum = 0)]
    held_here: i64,
    /// Where its uses are held, by store.
    held_at: Vec<HeldAtView<'a>>,
}

/// A held coupon as answers show it, its status on `today`.
pub fn coupon<'a>(c: &'a HeldCoupon, here: &NodeId, today: Day) -> CouponView<'a> {
    let t = &c.coupon.template;
    CouponView {
        code: &c.coupon.id,
        template: &t.id,
        name: &t.name,
        kind: crate::coupon_templates::name_of(t.kind),
        benefit: crate::coupon_templates::benefit(&t.benefit),
        min_spend: t.min_spend,
        valid_from: Text(c.coupon.from),
        valid_to: Text(c.coupon.to),
        uses: t.uses,
        used: c.used,
        left: c.left(),
        status: c.status(today).as_str(),
        held_here: c.held(here),
        held_at: c
            .shares
            .iter()
            .map(|(store, uses)| HeldAtView { store, uses: *uses })
            .collect(),
    }
}

/// What a coupon took off one line.
#[derive(Serialize, ToSchema)]
#[schema(as = CouponLineOff)]
pub struct LineOffView {
    /// The order line, numbered from 0 (as a refund names it).
    #[schema(minimum = 0)]
    line: u32,
    #[schema(value_type = crate::openapi::Money)]
    off: Money,
}

/// A coupon used on an order (用券).
#[derive(Serialize, ToSchema)]
#[schema(as = CouponUse)]
pub struct CouponUseView<'a> {
    #[schema(value_type = crate::openapi::CouponCode)]
    code: &'a str,
    /// The template's id.
    #[schema(value_type = String)]
    template: &'a str,
    /// What it took off, in all (Σ lines' off).
    #[schema(value_type = crate::openapi::Money)]
    off: Money,
    /// Its last valid day: a refund gives its use back only up to it.
    #[schema(value_type = String, format = Date)]
    valid_to: Text<Day>,
    /// The lines it took something off.
    lines: Vec<LineOffView>,
}

/// An order's coupons, in the stacking order.
pub fn uses(us: &[CouponUse]) -> Vec<CouponUseView<'_>> {
    us.iter()
        .map(|u| CouponUseView {
            code: &u.code,
            template: &u.template,
            off: u.off,
            valid_to: Text(u.to),
            lines: u
                .lines
                .iter()
                .map(|&(line, off)| LineOffView { line, off })
                .collect(),
        })
        .collect()
}

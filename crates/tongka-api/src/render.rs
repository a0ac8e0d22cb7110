//! Answers: how members, wallets, orders, refunds and history look in JSON
//! (and a receipt as text). Rendering reads nothing but its arguments, so a
//! stored outcome renders to the same answer when an idempotency key replays it.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use tongka_actors::Outcome;
use tongka_core::checkout::{Order, TenderKind};
use tongka_core::clock::Hlc;
use tongka_core::ids::NodeId;
use tongka_core::member::mask_phone;
use tongka_core::op::{Op, OpBody};
use tongka_core::programme::{Level, Programme};
use tongka_core::refund::{OrderState, Refund};
use tongka_core::state::MemberState;

pub fn time(h: Hlc) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(h.ms)).to_string()
}

pub fn level(l: &Level) -> Value {
    json!({"code": l.code, "name_zh": l.name_zh, "name_en": l.name_en, "rate": l.rate.to_string(), "min_principal": l.min_principal})
}

/// The programme as `GET /programme` shows it.
pub fn programme(p: &Programme) -> Value {
    json!({
        "recharge_offers": p.recharge_offers.iter().map(|o| json!({"threshold": o.threshold, "bonus": o.bonus})).collect::<Vec<_>>(),
        "levels": p.levels.iter().map(level).collect::<Vec<_>>(),
        "points_per_yuan": p.points_per_yuan.to_string(),
        "points_deduction": p.points_deduction.as_ref().map(|d| json!({
            "points_per_yuan": d.points_per_yuan,
            "cap": d.cap.to_string(),
            "min_points": d.min_points,
        })),
        "rounding": "each line: amount = round(unit_price × qty), payable = round(amount × level rate); points: value = round(points ÷ points_deduction.points_per_yuan), at most round(payable × cap); half-up to the fen",
        "balance_order": "principal and bonus in proportion to the paying store's share",
    })
}

pub fn member(m: &MemberState, p: &Programme, here: &NodeId) -> Value {
    let total = m.balance();
    json!({
        "id": m.id,
        "phone": m.profile.phone,
        "phone_masked": mask_phone(&m.profile.phone),
        "name": m.profile.name,
        "birthday": m.profile.birthday,
        "gender": m.profile.gender,
        "card_no": m.profile.card_no,
        "invited_by": m.profile.invited_by,
        "tags": m.profile.tags,
        "notes": m.profile.notes,
        "home_store": m.home,
        "created_at": time(m.created),
        "level": level(p.level_for(m.cumulative_principal)),
        "points": total.points,
        "balance": total.money(),
        "principal": total.principal,
        "bonus": total.bonus,
        "available_here": m.wallet.share(here).money(),
        "cumulative_principal": m.cumulative_principal,
        "cumulative_bonus": m.cumulative_bonus,
        "cumulative_spent": m.cumulative_spent,
        "visits": m.visits,
        "merged": m.absorbed,
    })
}

/// A member in a list: the phone number masked.
pub fn member_brief(m: &MemberState, p: &Programme, here: &NodeId) -> Value {
    let mut v = member(m, p, here);
    v["phone"] = json!(mask_phone(&m.profile.phone));
    v
}

pub fn wallet(m: &MemberState, here: &NodeId) -> Value {
    let total = m.balance();
    let shares: Vec<Value> = m
        .wallet
        .shares()
        .map(|(n, s)| json!({"node": n, "principal": s.principal, "bonus": s.bonus, "points": s.points}))
        .collect();
    let here_share = m.wallet.share(here);
    json!({
        "member_id": m.id,
        "balance": total.money(),
        "principal": total.principal,
        "bonus": total.bonus,
        "points": total.points,
        "available_here": here_share.money(),
        "available_here_reason": if here_share.money() == total.money() {
            "the whole balance is held at this store"
        } else {
            "only this store's share of the balance can be spent here without asking other stores"
        },
        "shares": shares,
    })
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

pub fn order(o: &OrderState) -> Value {
    let ord: &Order = &o.order;
    let lines: Vec<Value> = ord
        .lines
        .iter()
        .zip(&o.refunded_qty)
        .map(|(l, r)| {
            json!({
                "sku": l.sku, "barcode": l.barcode, "description": l.description,
                "unit_price": l.unit_price, "qty": l.qty.to_string(), "amount": l.amount,
                "discount": l.discount, "payable": l.payable, "refunded_qty": r.to_string(),
            })
        })
        .collect();
    let paid: tongka_core::Money = ord.tenders.iter().map(|t| t.amount).sum();
    json!({
        "id": ord.id,
        "member_id": ord.member,
        "store": ord.store,
        "created_at": time(ord.at),
        "level": ord.level,
        "rate": ord.rate.to_string(),
        "lines": lines,
        "total": ord.total,
        "discount": ord.discount,
        "payable": ord.payable,
        "paid": paid,
        "change": ord.change,
        "tenders": ord.tenders.iter().map(|t| json!({"kind": t.kind, "amount": t.amount})).collect::<Vec<_>>(),
        "balance_principal": ord.balance_principal,
        "balance_bonus": ord.balance_bonus,
        "points_earned": ord.points_earned,
        "points_used": ord.points_used,
        "points_value": ord.points_value,
        "points_returned": o.points_returned,
        "refunded": o.refunded,
        "refunds": o.refunds,
        "status": order_status(o),
    })
}

pub fn refund(r: &Refund, o: &OrderState) -> Value {
    json!({
        "id": r.id,
        "order_id": r.order,
        "member_id": r.member,
        "store": r.store,
        "created_at": time(r.at),
        "lines": r.lines.iter().map(|l| json!({"line": l.line, "qty": l.qty.to_string()})).collect::<Vec<_>>(),
        "amount": r.amount,
        "tenders": r.tenders.iter().map(|t| json!({"kind": t.kind, "amount": t.amount})).collect::<Vec<_>>(),
        "balance_principal": r.balance_principal,
        "balance_bonus": r.balance_bonus,
        "points_reversed": r.points_reversed,
        "points_returned": r.points_returned,
        "reason": r.reason,
        "order": order(o),
    })
}

/// The answer for an outcome, as the first request got it.
pub fn outcome(out: &Outcome, p: &Programme, here: &NodeId) -> Value {
    match out {
        Outcome::Member(m) => member(m, p, here),
        Outcome::Recharged {
            recharge,
            amount,
            bonus,
            tender,
            at,
            member: m,
        } => json!({
            "id": recharge,
            "member_id": m.id,
            "amount": amount,
            "principal": amount,
            "bonus": bonus,
            "tender": tender,
            "created_at": time(*at),
            "level": level(p.level_for(m.cumulative_principal)),
            "wallet": wallet(m, here),
        }),
        Outcome::CheckedOut { order: o, .. } => order(o),
        Outcome::Programme(p) => programme(p),
        Outcome::Refunded {
            refund: r,
            order: o,
            ..
        } => refund(r, o),
    }
}

pub fn history_entry(op: &Op) -> Value {
    let (kind, amount, principal, bonus, points, reference) = match &op.body {
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
        OpBody::CheckedOut { order } => (
            "checked_out",
            Some(order.tender(TenderKind::Balance)),
            Some(order.balance_principal),
            Some(order.balance_bonus),
            order.points_earned - order.points_used,
            order.id.to_string(),
        ),
        OpBody::Refunded { refund } => (
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
    };
    json!({
        "op": op.id.to_string(), "kind": kind, "at": time(op.hlc), "store": op.id.origin, "actor": op.actor,
        "amount": amount, "principal": principal, "bonus": bonus, "points": points, "ref": reference,
    })
}

/// A receipt for a 58 mm thermal printer (32 columns of ASCII; CJK text is
/// printed as is and takes two columns per character).
pub fn receipt(o: &OrderState, store_name: &str) -> String {
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
            l.description, l.unit_price, l.qty, l.amount
        ));
        if !l.discount.is_zero() {
            out.push_str(&format!("  会员折扣 discount -{}\n", l.discount));
        }
    }
    out.push_str(&format!(
        "{rule}\n合计 Total      {:>14}\n优惠 Discount   {:>14}\n",
        ord.total, ord.discount
    ));
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

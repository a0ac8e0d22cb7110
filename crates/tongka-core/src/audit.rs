//! The audit trail (审计日志): what an op means to someone checking the
//! books, and how the trail is filtered and paged. The op log is the trail
//! (every money movement and every rule change is an op, with who made it,
//! where and when); this module reads an op's body for the kind, the
//! member, the money and a one-line summary (`facts`), says which ops a
//! filter keeps (`Filter`), and writes and reads the place where a page of
//! the trail stopped (`Cursor`). The storage walks the log with them
//! (`tongka_db`'s `Db::audit`).
//!
//! Pure: no clock; a date filter is turned into a time range by the
//! chain's calendar (`day`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::checkout::TenderKind;
use crate::day::Day;
use crate::ids::{MemberId, NodeId};
use crate::member::ProfilePatch;
use crate::money::Money;
use crate::op::{Op, OpBody, UsesOf};
use crate::staff::StaffPatch;
use crate::stock::StockChange;
use crate::text::printable;

/// Every kind of op the trail shows, as `OpBody::kind` names them: the
/// names a `kind` filter accepts, the API's `AuditKind`, the console's
/// kind selector. Nothing new can be left out: a new `OpBody` variant (or
/// a new stock change, close kind or withdrawal step) fails to compile in
/// `facts` and in the tests' `variant` (a match with no wildcard) until it
/// is given a number there; `every_kind_maps` then wants a sample op of
/// it, and its kind here. The API's test holds `AuditKind` to this list,
/// and the console's (`i18n_staff.js`, with zh and en labels) likewise.
pub const KINDS: &[&str] = &[
    "member_registered",
    "profile_updated",
    "recharged",
    "checked_out",
    "refunded",
    "shares_transferred",
    "members_merged",
    "merge_moved",
    "programme_changed",
    "catalogue_changed",
    "coupon_issued",
    "uses_transferred",
    "card_visited",
    "staff_changed",
    "member_imported",
    "stock_in",
    "stock_return",
    "transfer_shipped",
    "transfer_received",
    "stocktake",
    "stock_minimums",
    "shift_closed",
    "day_closed",
    "withdrawal_requested",
    "withdrawal_approved",
    "withdrawal_rejected",
];

/// The name in `KINDS` spelled `s`, if any.
pub fn kind_named(s: &str) -> Option<&'static str> {
    KINDS.iter().copied().find(|k| *k == s)
}

/// The most ops one page of the trail examines (those its filter drops
/// included): a page stops there, short of its limit, with a cursor to go
/// on, so that a filter matching little never makes one request read the
/// whole log.
pub const SCAN_BUDGET: usize = 20_000;

/// How much older an op may be than an op logged before it, by their clock
/// readings, within one origin's log (a bound, not a guarantee).
///
/// An op's clock reading is taken when its draft is decided (the engine's
/// `Core::draft_at`, by the member's actor), not when the log's writer
/// numbers it; actors decide concurrently, so one drafted a little earlier
/// can reach the writer a little later. An origin's log is therefore in
/// clock order only nearly: a later op may read a few milliseconds (under
/// load, a blocked queue, seconds) less than an earlier one. The writer
/// cannot put it right (the op was applied at its reading before it was
/// numbered). So a scan going back in the log stops at a `from` date only
/// once it meets an op older than `from` by more than this slack, and
/// starts below a `to` date only below an op newer than `to` by this slack
/// or more: every op of the range is still found unless one waited longer
/// than this between being decided and being logged.
pub const CLOCK_SLACK_MS: u64 = 15 * 60 * 1000;

/// What the trail shows of an op, from its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The member the op concerns (the survivor of a merge).
    pub member: Option<MemberId>,
    /// The money it moves: a recharge's amount and bonus, a sale's payable,
    /// a refund's amount, a share given or moved (principal and bonus).
    /// `None` for an op that moves none.
    pub amount: Option<Money>,
    /// The manager who approved it (a refund above the limit:
    /// `Refund::approved_by`, their staff id).
    pub approved_by: Option<String>,
    /// One line, English and Chinese. Free text from the op (a template's
    /// name, a refund's reason) is made printable and cut short.
    pub summary: String,
    pub summary_zh: String,
}

/// The longest piece of free text put in a summary, in characters.
const SUMMARY_TEXT_MAX: usize = 24;

/// `s` printable (`text::printable`) and at most `SUMMARY_TEXT_MAX`
/// characters, `…` marking a cut.
fn short(s: &str) -> String {
    let p = printable(s);
    let mut out: String = p.chars().take(SUMMARY_TEXT_MAX).collect();
    if p.chars().count() > SUMMARY_TEXT_MAX {
        out.push('…');
    }
    out
}

/// Up to three names, then how many more.
fn some_of(names: &[String], sep: &str) -> String {
    let mut out = names
        .iter()
        .take(3)
        .map(|n| short(n))
        .collect::<Vec<_>>()
        .join(sep);
    if names.len() > 3 {
        out.push_str(&format!("{sep}+{}", names.len() - 3));
    }
    out
}

/// The fields a profile patch sets, in English and Chinese.
fn patched(p: &ProfilePatch) -> (String, String) {
    // Destructured whole: a new field fails to compile here until named.
    let ProfilePatch {
        phone,
        name,
        birthday,
        gender,
        card_no,
        tags,
        notes,
    } = p;
    let set = [
        (phone.is_some(), "phone", "手机号"),
        (name.is_some(), "name", "姓名"),
        (birthday.is_some(), "birthday", "生日"),
        (gender.is_some(), "gender", "性别"),
        (card_no.is_some(), "card_no", "卡号"),
        (tags.is_some(), "tags", "标签"),
        (notes.is_some(), "notes", "备注"),
    ];
    let en: Vec<&str> = set.iter().filter(|s| s.0).map(|s| s.1).collect();
    let zh: Vec<&str> = set.iter().filter(|s| s.0).map(|s| s.2).collect();
    (en.join(", "), zh.join("、"))
}

/// What a staff patch sets, in English and Chinese: the login, role and
/// stores as set, the other fields by name (never the password's hash).
fn staff_patched(p: &StaffPatch) -> (String, String) {
    // Destructured whole: a new field fails to compile here until named.
    let StaffPatch {
        login,
        name,
        role,
        stores,
        disabled,
        password,
    } = p;
    let mut en = Vec::new();
    let mut zh = Vec::new();
    if let Some(l) = login {
        en.push(format!("login {}", short(l)));
        zh.push(format!("登录名 {}", short(l)));
    }
    if name.is_some() {
        en.push("name".to_string());
        zh.push("姓名".to_string());
    }
    if let Some(r) = role {
        en.push(format!("role {}", r.as_str()));
        zh.push(format!("角色 {}", r.label_zh()));
    }
    if let Some(s) = stores {
        let names: Vec<String> = s.iter().map(|n| n.to_string()).collect();
        en.push(format!("stores {}", some_of(&names, " ")));
        zh.push(format!("门店 {}", some_of(&names, "、")));
    }
    match disabled {
        Some(true) => {
            en.push("disabled".to_string());
            zh.push("停用".to_string());
        }
        Some(false) => {
            en.push("enabled".to_string());
            zh.push("启用".to_string());
        }
        None => {}
    }
    if password.is_some() {
        en.push("password".to_string());
        zh.push("密码".to_string());
    }
    (en.join(", "), zh.join("，"))
}

/// A tender's name in Chinese (as the API's documentation gives it).
fn tender_zh(t: TenderKind) -> &'static str {
    match t {
        TenderKind::Balance => "储值",
        TenderKind::Cash => "现金",
        TenderKind::Card => "银行卡",
        TenderKind::Wechat => "微信",
        TenderKind::Alipay => "支付宝",
    }
}

fn points_en(points: i64) -> String {
    if points == 0 {
        String::new()
    } else {
        format!(", {points} points")
    }
}

fn points_zh(points: i64) -> String {
    if points == 0 {
        String::new()
    } else {
        format!("，积分 {points}")
    }
}

/// What the trail shows of an op of `body`. One arm per variant, no
/// wildcard: a new kind of op does not compile until the trail says what
/// it is.
pub fn facts(body: &OpBody) -> Facts {
    let member = body.member().cloned();
    let (amount, summary, summary_zh, approved_by) = match body {
        OpBody::MemberRegistered {
            member,
            opening: Some(o),
            ..
        } => (
            Some(o.principal + o.bonus),
            format!(
                "imported member {member}: opening {} + bonus {}, {} points, level {}",
                o.principal,
                o.bonus,
                o.points,
                o.level.as_deref().unwrap_or("-")
            ),
            format!(
                "导入会员 {member}：期初本金 {} + 赠送 {}，积分 {}，等级 {}",
                o.principal,
                o.bonus,
                o.points,
                o.level.as_deref().unwrap_or("-")
            ),
            None,
        ),
        OpBody::MemberRegistered { member, .. } => (
            None,
            format!("registered member {member}"),
            format!("注册会员 {member}"),
            None,
        ),
        OpBody::ProfileUpdated { member, patch, .. } => {
            let (en, zh) = patched(patch);
            (
                None,
                format!("changed {member}'s profile: {en}"),
                format!("修改会员 {member} 资料：{zh}"),
                None,
            )
        }
        OpBody::Recharged {
            member,
            recharge,
            amount,
            bonus,
            tender,
        } => (
            Some(*amount + *bonus),
            format!(
                "recharge {recharge} of {member}: {amount} + bonus {bonus}, paid by {}",
                tender.as_str()
            ),
            format!(
                "充值 {recharge}（会员 {member}）：{amount} + 赠送 {bonus}，{}支付",
                tender_zh(*tender)
            ),
            None,
        ),
        OpBody::CheckedOut { order, .. } => {
            let who = order
                .member
                .as_ref()
                .map_or_else(|| "walk-in".to_string(), |m| m.to_string());
            let who_zh = order
                .member
                .as_ref()
                .map_or_else(|| "散客".to_string(), |m| format!("会员 {m}"));
            let balance = order.balance_principal + order.balance_bonus;
            (
                Some(order.payable),
                format!(
                    "sale {} ({who}): payable {}, from balance {balance}{}",
                    order.id,
                    order.payable,
                    points_en(-order.points_used)
                ),
                format!(
                    "销售 {}（{who_zh}）：应付 {}，储值支付 {balance}{}",
                    order.id,
                    order.payable,
                    points_zh(-order.points_used)
                ),
                None,
            )
        }
        OpBody::Refunded { refund, .. } => {
            let reason = short(&refund.reason);
            let (why, why_zh) = if reason.is_empty() {
                (String::new(), String::new())
            } else {
                (format!(" ({reason})"), format!("（{reason}）"))
            };
            (
                Some(refund.amount),
                format!(
                    "refund {} of sale {}: {}{why}",
                    refund.id, refund.order, refund.amount
                ),
                format!(
                    "退款 {}（订单 {}）：{}{why_zh}",
                    refund.id, refund.order, refund.amount
                ),
                refund.approved_by.clone(),
            )
        }
        OpBody::SharesTransferred {
            member,
            to,
            principal,
            bonus,
            points,
        } => (
            Some(*principal + *bonus),
            format!(
                "gave {to} part of {member}'s share: {}{}",
                *principal + *bonus,
                points_en(*points)
            ),
            format!(
                "将会员 {member} 的份额转给 {to}：{}{}",
                *principal + *bonus,
                points_zh(*points)
            ),
            None,
        ),
        OpBody::MembersMerged {
            member, absorbed, ..
        } => (
            None,
            format!("merged member {absorbed} into {member}"),
            format!("合并会员 {absorbed} 到 {member}"),
            None,
        ),
        OpBody::MergeMoved {
            member,
            into,
            principal,
            bonus,
            points,
            ..
        } => (
            Some(*principal + *bonus),
            format!(
                "moved this store's share of merged {member} to {into}: {}{}",
                *principal + *bonus,
                points_en(*points)
            ),
            format!(
                "将已合并会员 {member} 在本店的份额转入 {into}：{}{}",
                *principal + *bonus,
                points_zh(*points)
            ),
            None,
        ),
        OpBody::ProgrammeChanged { programme, .. } => {
            let (levels, offers, templates) = (
                programme.levels.len(),
                programme.recharge_offers.len(),
                programme.coupon_templates.len(),
            );
            (
                None,
                format!(
                    "programme changed: {levels} levels, {offers} recharge offers, {templates} coupon templates"
                ),
                format!("会员方案修改：{levels} 个等级，{offers} 个充值优惠，{templates} 个券模板"),
                None,
            )
        }
        OpBody::CatalogueChanged { products, .. } => {
            let skus: Vec<String> = products.iter().map(|p| p.sku.clone()).collect();
            (
                None,
                format!("catalogue changed: {}", some_of(&skus, ", ")),
                format!("商品目录修改：{}", some_of(&skus, "、")),
                None,
            )
        }
        OpBody::CouponIssued {
            member,
            coupon,
            holder,
        } => {
            let t = &coupon.template;
            let (id, name) = (short(&t.id), short(&t.name));
            (
                None,
                format!(
                    "coupon {} ({id} {name}) issued to {member}, held by {holder}",
                    coupon.id
                ),
                format!(
                    "发券 {}（{id} {name}）给会员 {member}，{holder} 持有",
                    coupon.id
                ),
                None,
            )
        }
        OpBody::UsesTransferred {
            member,
            of,
            to,
            uses,
        } => {
            let (what, what_zh) = match of {
                UsesOf::Coupon(c) => (format!("coupon {c}"), format!("券 {c}")),
                UsesOf::Card(c) => (format!("card {c}"), format!("卡 {c}")),
            };
            (
                None,
                format!("gave {to} {uses} uses of {member}'s {what}"),
                format!("将会员 {member} 的{what_zh}的 {uses} 次转给 {to}"),
                None,
            )
        }
        OpBody::CardVisited {
            member,
            card,
            count,
            service,
            day,
        } => {
            let (for_en, for_zh) = match service {
                Some(s) => (
                    format!(" for {}", short(s)),
                    format!("（项目 {}）", short(s)),
                ),
                None => (String::new(), String::new()),
            };
            (
                None,
                format!("{count} visits of {member}'s card {card} on {day}{for_en}"),
                format!("核销会员 {member} 的卡 {card} {count} 次，{day}{for_zh}"),
                None,
            )
        }
        OpBody::StaffChanged { staff, patch } => {
            let (en, zh) = staff_patched(patch);
            if patch.creates() {
                (
                    None,
                    format!("created staff account {staff}: {en}"),
                    format!("新建员工账号 {staff}：{zh}"),
                    None,
                )
            } else {
                (
                    None,
                    format!("changed staff account {staff}: {en}"),
                    format!("修改员工账号 {staff}：{zh}"),
                    None,
                )
            }
        }
        OpBody::StockChanged { change } => {
            let (amount, en, zh) = stock_facts(change);
            (amount, en, zh, None)
        }
        OpBody::Withdrawal { id, step } => withdrawal_facts(id, step),
        OpBody::DayClosed { close } => (
            Some(close.counted_cash),
            format!(
                "{} close of {}: expected cash {}, counted {}, difference {}",
                close.kind.as_str(),
                close.day,
                close.expected_cash,
                close.counted_cash,
                close.difference
            ),
            format!(
                "{} {}：应有现金 {}，实点 {}，差额 {}",
                close.kind.label_zh(),
                close.day,
                close.expected_cash,
                close.counted_cash,
                close.difference
            ),
            None,
        ),
    };
    Facts {
        member,
        amount,
        approved_by,
        summary,
        summary_zh,
    }
}

/// What the trail shows of a stock change: its value at cost where the op
/// states one (goods in, a shipment), and a summary of its lines.
fn stock_facts(change: &StockChange) -> (Option<Money>, String, String) {
    let lines = |n: usize| format!("{n} line{}", if n == 1 { "" } else { "s" });
    match change {
        StockChange::In {
            supplier, lines: l, ..
        } => {
            let value: Money = l
                .iter()
                .map(|l| Money::round_half_up(l.unit_cost.as_decimal() * l.qty))
                .sum();
            let who = short(supplier);
            (
                Some(value),
                format!("stock in from {who}: {}, cost {value}", lines(l.len())),
                format!("入库（供应商 {who}）：{} 行，成本 {value}", l.len()),
            )
        }
        StockChange::Return {
            supplier, lines: l, ..
        } => {
            let who = short(supplier);
            (
                None,
                format!("returned to {who}: {}", lines(l.len())),
                format!("退货给供应商 {who}：{} 行", l.len()),
            )
        }
        StockChange::Ship { shipment, .. } => {
            let value: Money = shipment.lines.iter().map(|l| l.value).sum();
            (
                Some(value),
                format!(
                    "transfer {} shipped to {}: {}, cost {value}",
                    shipment.id,
                    shipment.to,
                    lines(shipment.lines.len())
                ),
                format!(
                    "调拨 {} 发往 {}：{} 行，成本 {value}",
                    shipment.id,
                    shipment.to,
                    shipment.lines.len()
                ),
            )
        }
        StockChange::Receive { receipt, .. } => (
            None,
            format!(
                "transfer {} received: {}",
                receipt.id,
                lines(receipt.lines.len())
            ),
            format!("调拨 {} 已收货：{} 行", receipt.id, receipt.lines.len()),
        ),
        StockChange::Count { counts, adjust, .. } => (
            None,
            format!(
                "stocktake: {} counted, {} adjusted",
                counts.len(),
                adjust.len()
            ),
            format!("盘点：清点 {} 种，调整 {} 种", counts.len(), adjust.len()),
        ),
        StockChange::Minimums { lines: l } => (
            None,
            format!("stock minimums set: {}", lines(l.len())),
            format!("设置库存下限：{} 种", l.len()),
        ),
    }
}

/// Which ops a page of the trail keeps. Every field set must match; `None`
/// keeps all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The stores (origins) whose ops are kept.
    pub origins: Option<BTreeSet<NodeId>>,
    /// Who made them (`Op::by`: a staff id, or an integration's name).
    pub by: Option<String>,
    /// Their kinds (names of `KINDS`).
    pub kinds: Option<BTreeSet<&'static str>>,
    /// The first day kept (the chain's calendar day of the op's clock).
    pub from: Option<Day>,
    /// The last day kept, included.
    pub to: Option<Day>,
}

impl Filter {
    /// Whether the scan of `origin`'s log is wanted at all.
    pub fn wants_origin(&self, origin: &NodeId) -> bool {
        self.origins.as_ref().is_none_or(|o| o.contains(origin))
    }

    /// Whether the trail keeps `op`.
    pub fn keeps(&self, op: &Op) -> bool {
        let day = Day::of_ms(op.hlc.ms);
        self.wants_origin(&op.id.origin)
            && self.by.as_ref().is_none_or(|b| *b == op.by)
            && self
                .kinds
                .as_ref()
                .is_none_or(|k| k.contains(op.body.kind()))
            && self.from.is_none_or(|f| day >= f)
            && self.to.is_none_or(|t| day <= t)
    }

    /// Whether a scan going back in `op`'s origin's log may stop at `op`:
    /// it is older than the first day kept by more than `CLOCK_SLACK_MS`,
    /// so no op logged before it is of the range (see `CLOCK_SLACK_MS`).
    pub fn past_the_start(&self, op: &Op) -> bool {
        self.from.is_some_and(|f| {
            let start = f.start_ms();
            (op.hlc.ms as i64).saturating_add(CLOCK_SLACK_MS as i64) < start
        })
    }

    /// Whether a scan may start below `op` in its origin's log: it is
    /// newer than the last day kept by `CLOCK_SLACK_MS` or more, so neither
    /// it nor any op logged after it is of the range (see
    /// `CLOCK_SLACK_MS`).
    pub fn past_the_end(&self, op: &Op) -> bool {
        self.to.is_some_and(|t| {
            let end = t.plus(1).start_ms();
            op.hlc.ms as i64 >= end.saturating_add(CLOCK_SLACK_MS as i64)
        })
    }
}

/// Where a page of the trail stopped: for each origin still to be read,
/// the number of its next op to examine, going back (the origin's ops
/// numbered above it were examined; an origin not named has nothing left).
/// Written `<origin>.<seq>` joined by `_` (`hq.3_store-1.41`): only
/// characters that need no escaping in a URL. Clients treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    pub next: BTreeMap<NodeId, u64>,
}

/// The most origins a cursor names (a chain has far fewer nodes).
pub const CURSOR_ORIGINS_MAX: usize = 1000;

/// A cursor that is not one this API gave out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor of the audit trail")]
pub struct BadCursor;

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (origin, seq)) in self.next.iter().enumerate() {
            if i > 0 {
                f.write_str("_")?;
            }
            write!(f, "{origin}.{seq}")?;
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = BadCursor;

    /// Exactly what `Display` writes: at least one `<origin>.<seq>`, each
    /// origin a node name once, each seq a number from 1, at most
    /// `CURSOR_ORIGINS_MAX` of them.
    fn from_str(s: &str) -> Result<Cursor, BadCursor> {
        let mut next = BTreeMap::new();
        if s.is_empty() || s.len() > CURSOR_ORIGINS_MAX * 54 {
            return Err(BadCursor);
        }
        for part in s.split('_') {
            let (origin, seq) = part.split_once('.').ok_or(BadCursor)?;
            let origin = NodeId::new(origin).map_err(|_| BadCursor)?;
            if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) || seq.starts_with('0') {
                return Err(BadCursor);
            }
            let seq: u64 = seq.parse().map_err(|_| BadCursor)?;
            if next.insert(origin, seq).is_some() || next.len() > CURSOR_ORIGINS_MAX {
                return Err(BadCursor);
            }
        }
        Ok(Cursor { next })
    }
}

/// What the trail shows of a withdrawal step (settlement).
fn withdrawal_facts(
    id: &crate::ids::WithdrawalId,
    step: &crate::settlement::WithdrawalStep,
) -> (Option<Money>, String, String, Option<String>) {
    use crate::settlement::WithdrawalStep;
    match step {
        WithdrawalStep::Requested { amount, .. } => (
            Some(*amount),
            format!("requested withdrawal {id}: {amount}"),
            format!("申请提现 {id}：{amount}"),
            None,
        ),
        WithdrawalStep::Approved { .. } => (
            None,
            format!("approved withdrawal {id}"),
            format!("批准提现 {id}"),
            None,
        ),
        WithdrawalStep::Rejected { reason } => (
            None,
            format!("rejected withdrawal {id}: {}", short(reason)),
            format!("驳回提现 {id}：{}", short(reason)),
            None,
        ),
    }
}

#[cfg(test)]
mod tests;

//! Day close and shift close (日结 / 交班): what a store took in, by
//! tender, over a period, and the cash that should be in the drawer
//! against the cash counted.
//!
//! # The rule
//! A close of kind `k` at store `s` covers `s`'s **own ops** (its log)
//! numbered after the previous close of kind `k` at `s`: the previous one
//! records the last seq it covered ([`Close::seq_to`]), so the next reads
//! `seq_to + 1` onwards and nothing before (bounded by the shift, never the
//! whole log). Shift closes and day closes are two separate chains: a day
//! close covers every shift of the day, whatever shifts were closed.
//! - A **shift close** (交班) covers every own op up to the last one
//!   committed when it is made.
//! - A **day close** (日结) of chain day `d` ([`crate::day`]) covers the
//!   own ops in seq order up to the first of a later day; `d` is today or
//!   an earlier day after the last day closed (a store that forgot to close
//!   yesterday closes it today, then today). A day after today is refused
//!   ([`CloseError::DayNotBegun`]), a day already closed
//!   ([`CloseError::AlreadyClosed`]). An op made after a day's close but
//!   still on that day (a late sale) falls into the next day's close: the
//!   covered seq ranges, not the calendar, are what sum to the whole.
//!
//! Consecutive closes of one kind cover consecutive seq ranges, so their
//! totals add up to the totals of all the store's ops (property test).
//!
//! # What is recorded
//! Totals by tender kind ([`TenderTotals`]: sales and what the tender paid
//! of them, net of change as `Order::tenders` records; recharges, their
//! principal and bonus; refunds paid back through it), orders, refunds and
//! recharges ([`CloseTotals`], folded by the figures' own rule,
//! [`Figures::apply_as`]), and the cash:
//!
//! **expected cash = opening float + cash sales + cash recharges − cash
//! refunds**, the **difference = counted − expected** (positive: 长款, over;
//! negative: 短款, short). Sums of amounts recorded to the fen: no rounding
//! happens here (`money.rs` rounds where amounts are decided).
//!
//! Who closed is the op's `by`, when is its clock. A close is an op
//! (`OpBody::DayClosed`), so it replicates: HQ sees every store's closes.
//! A received close whose figures do not follow from its own fields
//! ([`Close::check`]) is refused, so no node holds a close that says two
//! things.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkout::TenderKind;
use crate::day::Day;
use crate::error::DomainError;
use crate::figures::Figures;
use crate::ids::NodeId;
use crate::money::{AmountError, Money};
use crate::op::Op;
use crate::text::{self, TextError};

/// The longest note of a close, in characters.
pub const NOTE_LEN: usize = 200;

/// A shift close (交班) or a day close (日结).
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
pub enum CloseKind {
    #[n(0)]
    Shift,
    #[n(1)]
    Day,
}

impl CloseKind {
    pub const ALL: [CloseKind; 2] = [CloseKind::Shift, CloseKind::Day];

    pub fn parse(text: &str) -> Option<CloseKind> {
        CloseKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CloseKind::Shift => "shift",
            CloseKind::Day => "day",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            CloseKind::Shift => "交班",
            CloseKind::Day => "日结",
        }
    }
}

/// Money one way through one tender kind over a close's ops.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct TenderTotals {
    /// Sales paid (in part) with it, and what it paid of them.
    #[n(0)]
    pub sales: u64,
    #[n(1)]
    pub sold: Money,
    /// Recharges paid with it: their principal (what it paid) and the bonus
    /// they gave.
    #[n(2)]
    pub recharges: u64,
    #[n(3)]
    pub recharged: Money,
    #[n(4)]
    pub recharged_bonus: Money,
    /// Refunds paid back through it, and what it paid back.
    #[n(5)]
    pub refunds: u64,
    #[n(6)]
    pub refunded: Money,
}

impl TenderTotals {
    /// In less out: sales and recharges' principal less refunds.
    pub fn net(&self) -> Money {
        self.sold + self.recharged - self.refunded
    }

    fn add(&mut self, o: &TenderTotals) {
        self.sales += o.sales;
        self.sold += o.sold;
        self.recharges += o.recharges;
        self.recharged += o.recharged;
        self.recharged_bonus += o.recharged_bonus;
        self.refunds += o.refunds;
        self.refunded += o.refunded;
    }
}

/// What a close's ops add up to.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct CloseTotals {
    /// By tender kind; a kind unused is absent.
    #[n(0)]
    pub tenders: BTreeMap<TenderKind, TenderTotals>,
    /// The store's ops covered, of every kind.
    #[n(1)]
    pub ops: u64,
    /// Sales (orders) and what they came to (payable).
    #[n(2)]
    pub orders: u64,
    #[n(3)]
    pub sales: Money,
    /// Refunds and their amount.
    #[n(4)]
    pub refunds: u64,
    #[n(5)]
    pub refunded: Money,
    /// Recharges: principal paid in, bonus given.
    #[n(6)]
    pub recharges: u64,
    #[n(7)]
    pub recharged: Money,
    #[n(8)]
    pub recharged_bonus: Money,
}

impl CloseTotals {
    /// The totals of `store`'s ops among `ops` (another origin's are not
    /// the store's takings and count for nothing), by the figures' rule.
    pub fn of<'a>(store: &NodeId, ops: impl IntoIterator<Item = &'a Op>) -> CloseTotals {
        let mut f = Figures::default();
        let mut n = 0;
        for op in ops {
            if op.origin() == store {
                f.apply_as(store, op);
                n += 1;
            }
        }
        CloseTotals {
            tenders: f
                .tenders
                .into_iter()
                .map(|(k, t)| {
                    (
                        k,
                        TenderTotals {
                            sales: t.sales,
                            sold: t.sold,
                            recharges: t.recharges,
                            recharged: t.recharged,
                            recharged_bonus: t.recharged_bonus,
                            refunds: t.refunds,
                            refunded: t.refunded,
                        },
                    )
                })
                .collect(),
            ops: n,
            orders: f.totals.orders,
            sales: f.totals.sales,
            refunds: f.totals.refunds,
            refunded: f.totals.refunded,
            recharges: f.totals.recharges,
            recharged: f.totals.recharged_principal,
            recharged_bonus: f.totals.recharged_bonus,
        }
    }

    /// One tender kind's totals (zero when unused).
    pub fn tender(&self, kind: TenderKind) -> TenderTotals {
        self.tenders.get(&kind).cloned().unwrap_or_default()
    }

    /// Cash in less cash out: cash sales and recharges less cash refunds.
    pub fn cash_net(&self) -> Money {
        self.tender(TenderKind::Cash).net()
    }

    /// Add another close's totals (closes of consecutive periods).
    pub fn add(&mut self, o: &CloseTotals) {
        for (k, t) in &o.tenders {
            self.tenders.entry(*k).or_default().add(t);
        }
        self.ops += o.ops;
        self.orders += o.orders;
        self.sales += o.sales;
        self.refunds += o.refunds;
        self.refunded += o.refunded;
        self.recharges += o.recharges;
        self.recharged += o.recharged;
        self.recharged_bonus += o.recharged_bonus;
    }
}

/// The expected cash rule: opening float + cash sales + cash recharges −
/// cash refunds.
pub fn expected_cash(opening_float: Money, totals: &CloseTotals) -> Money {
    opening_float + totals.cash_net()
}

/// A close, as its op records it (`OpBody::DayClosed`). The store is the
/// op's origin, who closed its `by`, when its clock.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Close {
    #[n(0)]
    pub kind: CloseKind,
    /// The chain day closed (a shift close: the day it was made).
    #[n(1)]
    pub day: Day,
    /// The period, in ms since the epoch: from the previous close of this
    /// kind (the first close: its first op, or when it was made), to when
    /// this one was made (a past day's close: that day's end).
    #[n(2)]
    pub from_ms: u64,
    #[n(3)]
    pub to_ms: u64,
    /// The store's own ops covered: `seq_from..=seq_to` (none when
    /// `seq_to < seq_from`). `seq_from` is the previous close's `seq_to` + 1.
    #[n(4)]
    pub seq_from: u64,
    #[n(5)]
    pub seq_to: u64,
    #[n(6)]
    pub totals: CloseTotals,
    /// Cash in the drawer at the period's start, as entered (default 0).
    #[n(7)]
    pub opening_float: Money,
    /// `expected_cash(opening_float, totals)`.
    #[n(8)]
    pub expected_cash: Money,
    /// Counted by the person closing.
    #[n(9)]
    pub counted_cash: Money,
    /// `counted_cash − expected_cash`: over (长款) when positive, short
    /// (短款) when negative.
    #[n(10)]
    pub difference: Money,
    #[cbor(n(11), skip_if = "String::is_empty", default)]
    #[serde(default)]
    pub note: String,
}

impl Close {
    /// Whether the close covers its store's op number `seq`.
    pub fn covers(&self, seq: u64) -> bool {
        (self.seq_from..=self.seq_to).contains(&seq)
    }

    /// Whether its recorded figures follow from its fields: the expected
    /// cash by the rule, the difference, a range that starts at 1 or later,
    /// amounts entered within bounds, a note by the stored-text rule.
    pub fn check(&self) -> Result<(), CloseError> {
        let bad = |what: &str| Err(CloseError::Inconsistent(what.to_string()));
        if self.seq_from == 0 || self.seq_to.saturating_add(1) < self.seq_from {
            return bad("covered range");
        }
        if self.from_ms > self.to_ms {
            return bad("period");
        }
        if self.expected_cash != expected_cash(self.opening_float, &self.totals) {
            return bad("expected cash");
        }
        if self.difference != self.counted_cash - self.expected_cash {
            return bad("difference");
        }
        if entered(self.opening_float).is_err() || entered(self.counted_cash).is_err() {
            return bad("amount entered");
        }
        if text::check_len(&self.note, 0, NOTE_LEN).is_err() {
            return bad("note");
        }
        Ok(())
    }
}

/// An amount entered by hand: 0 or more, at most two places, at most the
/// largest amount accepted (`money::AMOUNT_MAX_YUAN`).
fn entered(m: Money) -> Result<Money, AmountError> {
    Money::check_amount(m.as_decimal(), false)
}

/// What the person closing asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseAsk {
    pub kind: CloseKind,
    /// A day close's day (`None`: today). Ignored for a shift.
    pub day: Option<Day>,
    pub opening_float: Money,
    pub counted_cash: Money,
    pub note: String,
}

/// The last close of a kind at a store, as far as a new one needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous {
    pub seq_to: u64,
    pub to_ms: u64,
    pub day: Day,
}

impl From<&Close> for Previous {
    fn from(c: &Close) -> Previous {
        Previous {
            seq_to: c.seq_to,
            to_ms: c.to_ms,
            day: c.day,
        }
    }
}

/// The first op a new close of `kind` reads: after the previous one's.
pub fn first_seq(previous: Option<&Previous>) -> u64 {
    previous.map_or(1, |p| p.seq_to + 1)
}

/// The day a close asks to close, checked against the previous close of
/// its kind and today: a day close's day (today when not given), after the
/// last day closed and not after today; a shift's, today.
pub fn day_of_ask(
    ask: &CloseAsk,
    previous: Option<&Previous>,
    today: Day,
) -> Result<Day, CloseError> {
    let day = match ask.kind {
        CloseKind::Shift => return Ok(today),
        CloseKind::Day => ask.day.unwrap_or(today),
    };
    if day > today {
        return Err(CloseError::DayNotBegun { day });
    }
    if let Some(p) = previous
        && p.day >= day
    {
        return Err(CloseError::AlreadyClosed {
            kind: CloseKind::Day,
            day,
            last: p.day,
        });
    }
    Ok(day)
}

/// Check what was entered: amounts, the note.
pub fn check_ask(ask: &CloseAsk) -> Result<(), CloseError> {
    entered(ask.opening_float).map_err(|r| CloseError::Amount {
        field: "opening_float",
        reason: r,
    })?;
    entered(ask.counted_cash).map_err(|r| CloseError::Amount {
        field: "counted_cash",
        reason: r,
    })?;
    text::check_lines(&ask.note, NOTE_LEN).map_err(CloseError::Note)?;
    Ok(())
}

/// Decide a close of `store` made at `now_ms` on `today`: `ops` are the
/// store's ops from [`first_seq`]`(previous)` on, in seq order, as its log
/// holds them now (ops of another origin are ignored). A day close takes
/// them up to the first of a later day; a shift close, all.
pub fn decide(
    store: &NodeId,
    ask: &CloseAsk,
    previous: Option<&Previous>,
    ops: &[Op],
    now_ms: u64,
    today: Day,
) -> Result<Close, CloseError> {
    check_ask(ask)?;
    let day = day_of_ask(ask, previous, today)?;
    let seq_from = first_seq(previous);
    let own = ops
        .iter()
        .filter(|o| o.origin() == store && o.id.seq >= seq_from);
    let covered: Vec<&Op> = match ask.kind {
        CloseKind::Shift => own.collect(),
        CloseKind::Day => own.take_while(|o| Day::of_ms(o.hlc.ms) <= day).collect(),
    };
    let seq_to = covered.last().map_or(seq_from - 1, |o| o.id.seq);
    let to_ms = if day < today {
        // A past day's close ends with that day.
        u64::try_from(day.plus(1).start_ms() - 1).unwrap_or(0)
    } else {
        now_ms
    };
    let to_ms = to_ms.max(covered.last().map_or(0, |o| o.hlc.ms));
    let from_ms = previous
        .map(|p| p.to_ms)
        .or_else(|| covered.first().map(|o| o.hlc.ms))
        .unwrap_or(to_ms)
        .min(to_ms);
    let totals = CloseTotals::of(store, covered.iter().copied());
    let expected = expected_cash(ask.opening_float, &totals);
    let close = Close {
        kind: ask.kind,
        day,
        from_ms,
        to_ms,
        seq_from,
        seq_to,
        totals,
        opening_float: ask.opening_float,
        expected_cash: expected,
        counted_cash: ask.counted_cash,
        difference: ask.counted_cash - expected,
        note: ask.note.trim().to_string(),
    };
    debug_assert_eq!(close.check(), Ok(()));
    Ok(close)
}

/// Why a close is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseError {
    #[error("{} {day} is already closed (the last day closed is {last})", .kind.as_str())]
    AlreadyClosed {
        kind: CloseKind,
        day: Day,
        last: Day,
    },
    #[error("day {day} has not begun: a day is closed on or after it")]
    DayNotBegun { day: Day },
    #[error("{field}: {reason}")]
    Amount {
        field: &'static str,
        reason: AmountError,
    },
    #[error("note {0}")]
    Note(TextError),
    /// A received close whose figures do not follow from its fields.
    #[error("a close whose {0} does not follow from its fields")]
    Inconsistent(String),
}

impl DomainError for CloseError {
    fn code(&self) -> &'static str {
        match self {
            CloseError::AlreadyClosed { .. } => "already_closed",
            CloseError::DayNotBegun { .. } => "close_day_not_begun",
            CloseError::Amount { .. } => "invalid_amount",
            CloseError::Note(_) => "invalid_note",
            CloseError::Inconsistent(_) => "close_inconsistent",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CloseError::AlreadyClosed { kind, day, last } => {
                format!(
                    "{day} 已{}（最近一次{}为 {last}）",
                    kind.label_zh(),
                    kind.label_zh()
                )
            }
            CloseError::DayNotBegun { day } => format!("{day} 尚未开始，不能日结"),
            CloseError::Amount { field, reason } => {
                let name = match *field {
                    "opening_float" => "备用金",
                    _ => "实点现金",
                };
                format!("{name}无效（{}）", crate::amount_reason_zh(reason))
            }
            CloseError::Note(e) => format!("备注{}", e.zh()),
            CloseError::Inconsistent(what) => format!("结账记录自相矛盾：{what}"),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            CloseError::AlreadyClosed { kind, day, last } => vec![
                ("kind", kind.as_str().to_string()),
                ("day", day.to_string()),
                ("last_closed", last.to_string()),
            ],
            CloseError::DayNotBegun { day } => vec![("day", day.to_string())],
            CloseError::Amount { field, .. } => vec![("field", field.to_string())],
            CloseError::Note(e) => {
                let mut d = vec![("field", "note".to_string())];
                d.extend(e.details());
                d
            }
            CloseError::Inconsistent(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;

//! Cards as answers show them: a card a member holds (`CardView`, the
//! entries of a member's card list and the card of a visit's answer), a
//! card plan (`CardPlanDto`, one shape both ways: what `PUT /products/{sku}`
//! takes and `GET /products` shows), and the cards an order line sold
//! (`CardSaleView`). Apart from `render.rs` to keep that file short; the
//! same rule holds: rendering reads nothing but its arguments (the day a
//! card's status is reckoned on is one of them).

use serde::{Deserialize, Serialize};
use tongka_core::card::{CardKind, CardPlan, CardPlanError, CardSale, HeldCard};
use tongka_core::clock::Hlc;
use tongka_core::day::Day;
use tongka_core::ids::{CardId, NodeId};
use tongka_core::money::Money;
use utoipa::ToSchema;

use super::{Text, Time, at};

/// What a card product sells (the product's `card`): a count card (记次卡)
/// or a period card (周期卡). Each card sold is a copy of the plan at the
/// sale: a later change of the product changes no card already sold.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = CardPlan)]
pub enum CardPlanDto {
    /// 记次卡: `visits` visits, valid `days` days from the day it is sold
    /// (that day included), or with no end when `days` is null.
    Count {
        /// 1 to 1000.
        #[schema(minimum = 1, maximum = 1000, examples(10))]
        visits: i64,
        /// 1 to 3660; null or absent: no end.
        #[serde(default)]
        #[schema(minimum = 1, maximum = 3660, examples(365))]
        days: Option<i64>,
        /// The services (skus) a visit may be for, each once, at most 50;
        /// empty or absent: any service.
        #[serde(default)]
        #[schema(max_items = 50, examples(json!(["haircut"])))]
        services: Vec<String>,
    },
    /// 周期卡: any number of visits for `days` days from the day it is sold
    /// (that day included), at most `daily_cap` a day when set.
    Period {
        /// 1 to 3660.
        #[schema(minimum = 1, maximum = 3660, examples(30))]
        days: i64,
        /// 1 to 100 visits a day; null or absent: no cap.
        #[serde(default)]
        #[schema(minimum = 1, maximum = 100, examples(1))]
        daily_cap: Option<i64>,
        /// The services (skus) a visit may be for, each once, at most 50;
        /// empty or absent: any service.
        #[serde(default)]
        #[schema(max_items = 50)]
        services: Vec<String>,
    },
}

impl CardPlanDto {
    /// The core's plan, checked by its rule. A number out of its type's
    /// range is refused as out of the field's bounds (0 is out of every
    /// bound), so the refusal names the field either way.
    pub fn plan(self) -> Result<CardPlan, CardPlanError> {
        let whole = |v: i64| u32::try_from(v).unwrap_or(0);
        let days = |v: i64| u16::try_from(v).unwrap_or(0);
        let plan = match self {
            CardPlanDto::Count {
                visits,
                days: d,
                services,
            } => CardPlan {
                kind: CardKind::Count {
                    visits: whole(visits),
                    days: d.map(days),
                },
                services,
            },
            CardPlanDto::Period {
                days: d,
                daily_cap,
                services,
            } => CardPlan {
                kind: CardKind::Period {
                    days: days(d),
                    daily_cap: daily_cap.map(whole),
                },
                services,
            },
        };
        plan.validate()?;
        Ok(plan)
    }
}

/// A plan as the catalogue shows it.
pub fn plan(p: &CardPlan) -> CardPlanDto {
    match p.kind {
        CardKind::Count { visits, days } => CardPlanDto::Count {
            visits: visits.into(),
            days: days.map(i64::from),
            services: p.services.clone(),
        },
        CardKind::Period { days, daily_cap } => CardPlanDto::Period {
            days: days.into(),
            daily_cap: daily_cap.map(i64::from),
            services: p.services.clone(),
        },
    }
}

/// The cards an order line sold: the plan at the sale and one code per
/// card (the line's quantity).
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(as = CardSale)]
pub enum CardSaleView<'a> {
    Count {
        #[schema(minimum = 1)]
        visits: u32,
        /// null: no end.
        days: Option<u16>,
        #[schema(value_type = Vec<String>)]
        services: &'a [String],
        /// The cards sold, one per unit, each `k-<store>-<n>`.
        #[schema(value_type = Vec<crate::openapi::CardCode>)]
        cards: &'a [CardId],
    },
    Period {
        #[schema(minimum = 1)]
        days: u16,
        /// null: no cap.
        daily_cap: Option<u32>,
        #[schema(value_type = Vec<String>)]
        services: &'a [String],
        /// The cards sold, one per unit, each `k-<store>-<n>`.
        #[schema(value_type = Vec<crate::openapi::CardCode>)]
        cards: &'a [CardId],
    },
}

/// An order line's cards, as the line shows them.
pub fn sale(s: &CardSale) -> CardSaleView<'_> {
    match s.plan.kind {
        CardKind::Count { visits, days } => CardSaleView::Count {
            visits,
            days,
            services: &s.plan.services,
            cards: &s.cards,
        },
        CardKind::Period { days, daily_cap } => CardSaleView::Period {
            days,
            daily_cap,
            services: &s.plan.services,
            cards: &s.cards,
        },
    }
}

/// Visits of a count card held by one store.
#[derive(Serialize, ToSchema)]
#[schema(as = CardHolder)]
pub struct HeldAtView<'a> {
    #[schema(value_type = crate::openapi::NodeName)]
    store: &'a NodeId,
    #[schema(minimum = 1)]
    visits: i64,
}

/// A card a member holds (次卡/期卡): the plan it was sold with, its days,
/// and (a count card) its visits, held per store like a balance.
#[derive(Serialize, ToSchema)]
#[schema(as = Card)]
pub struct CardView<'a> {
    /// The card's code, `k-<store>-<n>` (what a till sends to verify a visit).
    #[schema(value_type = crate::openapi::CardCode)]
    code: &'a CardId,
    /// The product's name at the sale.
    #[schema(value_type = String, examples("理发10次卡"))]
    name: &'a str,
    /// `count` (记次卡) or `period` (周期卡).
    #[schema(value_type = crate::openapi::CardKind)]
    kind: &'static str,
    /// The services (skus) a visit may be for; empty: any.
    #[schema(value_type = Vec<String>)]
    services: &'a [String],
    /// What the member paid for the card (its share of the sale line, after discounts): what a refund returns part of.
    #[schema(value_type = crate::openapi::Money)]
    price: Money,
    /// The first day it may be used (YYYY-MM-DD, China time).
    #[schema(value_type = String, format = Date, examples("2025-05-01"))]
    valid_from: Text<Day>,
    /// The last day it may be used, included; null: no end.
    #[schema(value_type = Option<String>, format = Date, required = true)]
    valid_to: Option<Text<Day>>,
    /// A count card's visits in all; null for a period card.
    #[schema(required = true, minimum = 1)]
    visits: Option<u32>,
    /// A count card's visits used; null for a period card.
    #[schema(required = true, minimum = 0)]
    used: Option<u32>,
    /// A count card's visits left, wherever held (0 once refunded); null for a period card.
    #[schema(required = true, minimum = 0)]
    left: Option<i64>,
    /// The visits this store knows the card had today (its own and those replicated to it): what a period card's daily cap is checked against.
    #[schema(minimum = 0)]
    visits_today: u32,
    /// A period card's visits a day at most; null: no cap (or a count card).
    #[schema(required = true, minimum = 1)]
    daily_cap: Option<u32>,
    /// Visits made on it in all.
    #[schema(minimum = 0)]
    visited: u32,
    /// From today's chain day: `usable`, `not_yet_valid`, `used_up` (a count card with no visit left), `expired` or `refunded`.
    #[schema(value_type = crate::openapi::CardStatus)]
    status: &'static str,
    /// A count card's visits held by this store: usable here without asking another store; null for a period card (usable at any store).
    #[schema(required = true, minimum = 0)]
    held_here: Option<i64>,
    /// Where a count card's visits are held, by store (empty for a period card).
    held_at: Vec<HeldAtView<'a>>,
}

/// A card's status on `today`: refunded first (no visit is made on it
/// again), then used up, expired, not yet valid.
fn status(c: &HeldCard, today: Day) -> &'static str {
    if c.refunded {
        "refunded"
    } else if c.card.is_count() && c.left() <= 0 {
        "used_up"
    } else if c.card.ended_by(today) {
        "expired"
    } else if today < c.card.from {
        "not_yet_valid"
    } else {
        "usable"
    }
}

/// A held card as answers show it, its status on `today`.
pub fn card<'a>(c: &'a HeldCard, here: &NodeId, today: Day) -> CardView<'a> {
    let count = c.card.is_count();
    // A refund takes a count card's visits left out of every share, so
    // `used()` (visits less those left) would count them as used; the
    // visits made are what was used.
    let used = if c.refunded { c.visited } else { c.used() };
    CardView {
        code: &c.card.id,
        name: &c.card.name,
        kind: if count { "count" } else { "period" },
        services: &c.card.plan.services,
        price: c.card.price,
        valid_from: Text(c.card.from),
        valid_to: c.card.to.map(Text),
        visits: count.then_some(c.card.visits),
        used: count.then_some(used),
        left: count.then(|| c.left()),
        visits_today: c.visits_on(today),
        daily_cap: c.card.daily_cap(),
        visited: c.visited,
        status: status(c, today),
        held_here: count.then(|| c.held(here)),
        held_at: c
            .shares
            .iter()
            .map(|(store, visits)| HeldAtView {
                store,
                visits: *visits,
            })
            .collect(),
    }
}

/// Visits verified on a card (核销): the card after them.
#[derive(Serialize, ToSchema)]
#[schema(as = CardVisit)]
pub struct VisitView<'a> {
    card: CardView<'a>,
    /// The visits this verification counted.
    #[schema(minimum = 1, maximum = 100)]
    count: u32,
    /// RFC 3339, UTC, milliseconds (the op's hybrid logical clock time).
    #[schema(value_type = String, format = DateTime)]
    at: Time,
}

/// The answer of a visit.
pub fn visit<'a>(
    c: &'a HeldCard,
    count: u32,
    when: Hlc,
    here: &NodeId,
    today: Day,
) -> VisitView<'a> {
    VisitView {
        card: card(c, here, today),
        count,
        at: at(when),
    }
}

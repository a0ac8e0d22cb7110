//! Stock of physical goods: the pure rules (issue 14). Sans-IO, no clock:
//! what a move does to a store's ledger, whether it is allowed, and what it
//! records. Ops, the engine, the API and the console build on these types;
//! their meaning is fixed here.
//!
//! # The rules
//! - **Units.** A product is counted in whole pieces ([`Unit::Whole`]:
//!   件/个/瓶) or measured ([`Unit::Measured`]: kg and the like, to
//!   [`MEASURED_PLACES`] decimal places). Every quantity given from outside
//!   is checked against its product's unit ([`check_qty`]): negative,
//!   fractional for a whole unit, too precise, or above [`QTY_MAX`] is
//!   refused (`invalid_stock_qty`).
//! - **Owned by its store.** Physical stock is not escrowed
//!   (`../shared/design.md`): a store's stock of a sku changes only by
//!   moves that store authors ([`StoreStock::apply`] refuses any other
//!   author: `stock_not_owner`), as a wallet share is debited only by its
//!   holder. The receiving side of a transfer is authored by the receiver.
//! - **Moves** ([`MoveKind`]): stock in from a supplier at a unit cost,
//!   supplier return, sale (a checkout line), refund (puts back), stocktake
//!   adjustment, transfer ship (at the sender) and receive (at the
//!   receiver). Each change records a [`Movement`]: what, how much, its
//!   value at cost, the reference, on hand after, and a below-zero flag.
//! - **Negative stock** is a chain-wide setting ([`NegativeStock`]): a sale
//!   that takes on hand below zero is either allowed and flagged on its
//!   movement, or refused (`insufficient_stock`). A supplier return and a
//!   transfer ship never go below zero (goods not on the books cannot be
//!   sent away: count them first), nor may a stocktake set a count below
//!   zero.
//! - **All or nothing.** [`StoreStock::apply`] takes a whole op's moves (a
//!   sale's lines, a shipment's lines) and changes nothing when any is
//!   refused.
//!
//! # Value at cost: moving average (移动加权平均)
//! Each [`StockLedger`] holds on hand, `value` (money, to the fen) and
//! `cost` (the last average unit cost, to the fen). Rounding is
//! `Money::round_half_up`, once per movement.
//! - **In** `q` worth `a` (stock in: `a = round(unit cost × q)`; refund and
//!   stocktake gain: `a = round(cost × q)`; receive: the shipped value):
//!   when on hand was positive, `value += a`, `cost = round(value ÷ on
//!   hand)`; when on hand was zero or below, the goods coming in set the
//!   price: `cost = round(a ÷ q)`, `value = round(a ÷ q × on hand after)`
//!   (the negative part is revalued at the new cost; that difference is
//!   not booked anywhere: a stated limit).
//! - **Out** `q` (sale, return, ship, stocktake loss): when on hand is
//!   positive and more than `q`, `round(value × q ÷ on hand)`; when `q`
//!   takes all of it, the whole value plus `round(cost × (q − on hand))`
//!   for what goes below zero; when on hand is zero or below,
//!   `round(cost × q)`.
//! - So `value` has the sign of on hand and is exactly zero at zero
//!   (property-tested).
//!
//! # Transfers and conservation
//! See [`transfer`]: ship moves goods from on hand into transit at the
//! sender, one receive moves what arrived into on hand at the receiver and
//! records the rest as a shortage. Chain-wide, for every sku
//! ([`chain_stock`]):
//!
//! `on hand + in transit = stock in − returned − sold + refunded
//!  + adjusted − short`
//!
//! exactly, where `adjusted` is the stocktakes' signed adjustments and
//! `short` what receipts recorded as not arrived. Nothing is counted twice
//! (one receive per transfer) nor lost (what is not received is a recorded
//! shortage, not a silent loss).
//!
//! # Stated limits
//! - One movement is at most [`QTY_MAX`]; ledgers are not otherwise
//!   bounded.
//! - A refund puts goods back at the current average cost, not at the cost
//!   they left with.
//! - Revaluing a negative on hand when goods come in is not booked as a
//!   cost variance.

mod error;
pub mod import;
pub mod op;
pub mod stocktake;
pub mod transfer;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{NodeId, OpId, OrderId, RefundId};
use crate::money::Money;

pub use error::StockError;
pub use op::{MovementRecord, StockChange, StockInLine, StockQty, refund_moves, sale_moves};
pub use stocktake::{StockCount, VarianceLine, VarianceReport, decide_stocktake};
pub use transfer::{
    Receipt, ReceivedLine, Shipment, Shortage, TransferId, TransferLine, TransferState, Transfers,
    decide_receive, decide_ship,
};

/// The largest quantity of one movement (a line of stock in, sale,
/// transfer or count): far above any shop's delivery, and low enough that
/// value = cost × qty stays well inside money's range.
pub const QTY_MAX: i64 = 1_000_000;

/// Decimal places of a measured quantity (kg to the gram).
pub const MEASURED_PLACES: u32 = 3;

/// How a product is counted, which decides which quantities are valid.
/// The label shown (件, 瓶, kg) is the catalogue's text; the rule only needs
/// whole or measured.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
#[cbor(index_only)]
pub enum Unit {
    /// Counted in whole pieces (件/个/瓶): no fractions. The default, since
    /// most products of a shop are.
    #[default]
    #[n(0)]
    Whole,
    /// Measured (kg and the like), to [`MEASURED_PLACES`] places.
    #[n(1)]
    Measured,
}

/// The chain-wide rule for a sale that takes on hand below zero.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
#[cbor(index_only)]
pub enum NegativeStock {
    /// Sell anyway and flag the movement (`Movement::below_zero`): books
    /// are often behind the shelf in retail, and a till must not stop a
    /// sale of goods the customer holds. The default.
    #[default]
    #[n(0)]
    Allow,
    /// Refuse the sale (`insufficient_stock`).
    #[n(1)]
    Refuse,
}

impl NegativeStock {
    /// The default: left out of an encoding (`Programme::negative_stock`).
    pub fn is_allow(&self) -> bool {
        *self == NegativeStock::Allow
    }
}

/// Check a quantity given from outside against its unit: not negative,
/// not above [`QTY_MAX`], whole for [`Unit::Whole`], at most
/// [`MEASURED_PLACES`] places for [`Unit::Measured`]; zero only when
/// `zero_ok` (a count, a line received as nothing). Returns it normalised
/// (`2.500` → `2.5`), so equal quantities encode alike.
pub fn check_qty(
    sku: &str,
    unit: Unit,
    qty: Decimal,
    zero_ok: bool,
) -> Result<Decimal, StockError> {
    let q = qty.normalize();
    let places = match unit {
        Unit::Whole => 0,
        Unit::Measured => MEASURED_PLACES,
    };
    let ok = !q.is_sign_negative()
        && (zero_ok || !q.is_zero())
        && q <= Decimal::from(QTY_MAX)
        && q.scale() <= places;
    if ok {
        Ok(q)
    } else {
        Err(StockError::Qty {
            sku: sku.into(),
            qty,
            unit,
        })
    }
}

/// What a movement refers to, for the stock ledger report: the op that
/// made it (stock in, return, stocktake), or the sale, refund or transfer.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The op itself (stock in, supplier return, stocktake): they have no
    /// entity id of their own.
    #[n(0)]
    Op(#[n(0)] OpId),
    /// The sale whose line sold the goods.
    #[n(1)]
    Order(#[n(0)] OrderId),
    /// The refund that put them back.
    #[n(2)]
    Refund(#[n(0)] RefundId),
    /// The transfer shipped or received.
    #[n(3)]
    Transfer(#[n(0)] TransferId),
}

/// What happens to a store's stock of one sku. Quantities are positive
/// magnitudes except `Adjust`'s signed delta.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// Goods in from a supplier at `unit_cost` each.
    #[n(0)]
    StockIn {
        #[cbor(n(0), with = "crate::codec::decimal")]
        qty: Decimal,
        #[n(1)]
        unit_cost: Money,
    },
    /// Goods back to the supplier, out at the average cost.
    #[n(1)]
    SupplierReturn {
        #[cbor(n(0), with = "crate::codec::decimal")]
        qty: Decimal,
    },
    /// A checkout line.
    #[n(2)]
    Sale {
        #[cbor(n(0), with = "crate::codec::decimal")]
        qty: Decimal,
    },
    /// A refund line: the goods come back, at the average cost.
    #[n(3)]
    Refund {
        #[cbor(n(0), with = "crate::codec::decimal")]
        qty: Decimal,
    },
    /// A stocktake's adjustment: counted − book (signed, not zero).
    #[n(4)]
    Adjust {
        #[cbor(n(0), with = "crate::codec::decimal")]
        delta: Decimal,
    },
    /// A transfer leaves the sender (into transit).
    #[n(5)]
    Ship {
        #[cbor(n(0), with = "crate::codec::decimal")]
        qty: Decimal,
    },
    /// A transfer arrives at the receiver, worth `value` (the shipped
    /// value, in proportion to what arrived).
    #[n(6)]
    Receive {
        #[cbor(n(0), with = "crate::codec::decimal")]
        qty: Decimal,
        #[n(1)]
        value: Money,
    },
}

/// One move of one sku at a store, with what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub sku: String,
    pub kind: MoveKind,
    /// Copied onto the movement, for the ledger report.
    pub reference: Reference,
}

/// The record a move leaves, for the stock ledger report (per store and
/// sku, in the order of the store's ops).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Movement {
    #[n(0)]
    pub store: NodeId,
    #[n(1)]
    pub sku: String,
    #[n(2)]
    pub kind: MoveKind,
    #[n(3)]
    pub reference: Reference,
    /// Signed change of on hand.
    #[cbor(n(4), with = "crate::codec::decimal")]
    pub qty: Decimal,
    /// Signed change of value at cost.
    #[n(5)]
    pub value: Money,
    /// On hand after the move.
    #[cbor(n(6), with = "crate::codec::decimal")]
    pub on_hand: Decimal,
    /// A sale that left on hand below zero under [`NegativeStock::Allow`]:
    /// the below-zero sales report lists these.
    #[n(7)]
    pub below_zero: bool,
}

/// A store's stock of one sku: on hand, its value at cost and the moving
/// average unit cost (rules in the module doc).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
pub struct StockLedger {
    /// May be below zero under [`NegativeStock::Allow`].
    #[cbor(n(0), with = "crate::codec::decimal")]
    pub on_hand: Decimal,
    /// On hand's value at cost, to the fen; zero at zero on hand.
    #[n(1)]
    pub value: Money,
    /// The last average unit cost: what goods leaving below zero, and
    /// goods coming back (refund, stocktake gain), are valued at.
    #[n(2)]
    pub cost: Money,
}

impl StockLedger {
    /// The value at cost of taking `q` (> 0) out.
    pub fn out_value(&self, q: Decimal) -> Money {
        if self.on_hand <= Decimal::ZERO {
            Money::round_half_up(self.cost.as_decimal() * q)
        } else if q < self.on_hand {
            Money::round_half_up(self.value.as_decimal() * q / self.on_hand)
        } else {
            self.value + Money::round_half_up(self.cost.as_decimal() * (q - self.on_hand))
        }
    }

    /// The ledger after taking `q` (> 0) out, and the value it took.
    pub fn take(&self, q: Decimal) -> (StockLedger, Money) {
        let v = self.out_value(q);
        let after = StockLedger {
            on_hand: (self.on_hand - q).normalize(),
            value: self.value - v,
            cost: self.cost,
        };
        (after, v)
    }

    /// The ledger after putting `q` (> 0) worth `amount` in.
    pub fn put(&self, q: Decimal, amount: Money) -> StockLedger {
        let on_hand = (self.on_hand + q).normalize();
        if self.on_hand > Decimal::ZERO {
            let value = self.value + amount;
            StockLedger {
                on_hand,
                value,
                cost: Money::round_half_up(value.as_decimal() / on_hand),
            }
        } else {
            let unit = amount.as_decimal() / q;
            StockLedger {
                on_hand,
                value: Money::round_half_up(unit * on_hand),
                cost: Money::round_half_up(unit),
            }
        }
    }
}

/// One store's stock: a ledger per sku (absent: nothing, never moved).
/// Every node materialises every store's stock from its ops, so reports
/// at HQ and lookups at a till agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStock {
    /// The store that owns this stock: the only author of its moves.
    pub store: NodeId,
    /// By sku.
    pub items: BTreeMap<String, StockLedger>,
}

impl StoreStock {
    /// A store with no stock yet (every store starts so).
    pub fn new(store: NodeId) -> StoreStock {
        StoreStock {
            store,
            items: BTreeMap::new(),
        }
    }

    /// The ledger of `sku` (zero if it never moved here).
    pub fn ledger(&self, sku: &str) -> StockLedger {
        self.items.get(sku).copied().unwrap_or_default()
    }

    /// Apply one op's moves, made by `author`, all or nothing: each
    /// quantity checked against its unit (`units`: the catalogue's; an
    /// unknown sku is refused), each move checked against the ledger as
    /// the earlier moves left it, under `policy`. Returns the movements in
    /// order; on a refusal nothing changed.
    pub fn apply(
        &mut self,
        author: &NodeId,
        moves: &[Move],
        units: &dyn Fn(&str) -> Option<Unit>,
        policy: NegativeStock,
    ) -> Result<Vec<Movement>, StockError> {
        if author != &self.store {
            return Err(StockError::NotOwner {
                store: self.store.clone(),
                author: author.clone(),
            });
        }
        let mut changed: BTreeMap<&str, StockLedger> = BTreeMap::new();
        let mut out = Vec::with_capacity(moves.len());
        for m in moves {
            let sku = m.sku.as_str();
            let unit = units(sku).ok_or_else(|| StockError::UnknownProduct { sku: sku.into() })?;
            let before = changed
                .get(sku)
                .copied()
                .unwrap_or_else(|| self.ledger(sku));
            let (after, qty, value, below_zero) = step(sku, unit, &before, &m.kind, policy)?;
            changed.insert(sku, after);
            out.push(Movement {
                store: self.store.clone(),
                sku: sku.into(),
                kind: m.kind.clone(),
                reference: m.reference.clone(),
                qty,
                value,
                on_hand: after.on_hand,
                below_zero,
            });
        }
        for (sku, l) in changed {
            self.items.insert(sku.into(), l);
        }
        Ok(out)
    }
}

/// One move on one ledger: the ledger after, the signed qty and value
/// changes, and whether a sale went below zero.
fn step(
    sku: &str,
    unit: Unit,
    l: &StockLedger,
    kind: &MoveKind,
    policy: NegativeStock,
) -> Result<(StockLedger, Decimal, Money, bool), StockError> {
    let short = |wanted: Decimal| StockError::Insufficient {
        sku: sku.into(),
        on_hand: l.on_hand,
        wanted,
    };
    let out = |q: Decimal| {
        let (after, v) = l.take(q);
        (after, -q, Money::ZERO - v)
    };
    let r = match kind {
        MoveKind::StockIn { qty, unit_cost } => {
            let q = check_qty(sku, unit, *qty, false)?;
            Money::check_amount(unit_cost.as_decimal(), false)
                .map_err(|_| StockError::UnitCost { sku: sku.into() })?;
            let a = Money::round_half_up(unit_cost.as_decimal() * q);
            (l.put(q, a), q, a, false)
        }
        MoveKind::Refund { qty } => {
            let q = check_qty(sku, unit, *qty, false)?;
            let a = Money::round_half_up(l.cost.as_decimal() * q);
            (l.put(q, a), q, a, false)
        }
        MoveKind::Receive { qty, value } => {
            let q = check_qty(sku, unit, *qty, false)?;
            (l.put(q, *value), q, *value, false)
        }
        MoveKind::SupplierReturn { qty } | MoveKind::Ship { qty } => {
            let q = check_qty(sku, unit, *qty, false)?;
            if q > l.on_hand {
                return Err(short(q));
            }
            let (a, d, v) = out(q);
            (a, d, v, false)
        }
        MoveKind::Sale { qty } => {
            let q = check_qty(sku, unit, *qty, false)?;
            let below = q > l.on_hand;
            if below && policy == NegativeStock::Refuse {
                return Err(short(q));
            }
            let (a, d, v) = out(q);
            (a, d, v, below)
        }
        MoveKind::Adjust { delta } => {
            let q = check_qty(sku, unit, delta.abs(), false).map_err(|_| StockError::Qty {
                sku: sku.into(),
                qty: *delta,
                unit,
            })?;
            if delta.is_sign_negative() {
                if q > l.on_hand {
                    return Err(short(q));
                }
                let (a, d, v) = out(q);
                (a, d, v, false)
            } else {
                let a = Money::round_half_up(l.cost.as_decimal() * q);
                (l.put(q, a), q, a, false)
            }
        }
    };
    Ok(r)
}

/// A sku's stock across the chain: on hand at every store, and in transit
/// between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChainStock {
    /// On hand at every store together (a store below zero counts
    /// negative).
    pub on_hand: Decimal,
    /// Shipped and not yet received.
    pub in_transit: Decimal,
}

impl ChainStock {
    /// What conservation holds constant: on hand + in transit.
    pub fn total(&self) -> Decimal {
        self.on_hand + self.in_transit
    }
}

/// Chain-wide stock per sku from every store's ledgers and the transfers
/// (the conservation check's left side; HQ's stock report).
pub fn chain_stock<'a>(
    stores: impl IntoIterator<Item = &'a StoreStock>,
    transfers: &Transfers,
) -> BTreeMap<String, ChainStock> {
    let mut out: BTreeMap<String, ChainStock> = BTreeMap::new();
    for s in stores {
        for (sku, l) in &s.items {
            out.entry(sku.clone()).or_default().on_hand += l.on_hand;
        }
    }
    for (_, line) in transfers.in_transit() {
        out.entry(line.sku.clone()).or_default().in_transit += line.qty;
    }
    for c in out.values_mut() {
        c.on_hand = c.on_hand.normalize();
        c.in_transit = c.in_transit.normalize();
    }
    out
}

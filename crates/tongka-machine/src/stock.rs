//! Stock as a node holds it: every store's ledgers, their minimums and the
//! chain's transfers ([`StockBook`]), changed by ops, once for the node
//! and the simulator.
//!
//! - **Deciding** (the origin): [`decide`] turns what a store asks (goods
//!   in, a return, a shipment, a receipt, a count, minimums) into the
//!   [`StockChange`] its op records, with the core's rules
//!   (`tongka_core::stock`: `decide_ship`, `decide_receive`,
//!   `decide_stocktake`).
//! - **Applying** ([`StockBook::apply`]): the op's moves on its origin's
//!   stock, all or nothing, and the transfer it ships or receives. An op
//!   made here is checked against the catalogue's units and the chain's
//!   negative-stock policy ([`Check::Made`]); an op made elsewhere was
//!   decided there and applies as recorded ([`Check::Received`]: any
//!   quantity its origin could make, below zero allowed), so a catalogue or
//!   policy change in flight cannot make nodes disagree. Its other checks
//!   still hold (only a store moves its own stock; one receipt per
//!   transfer, at its destination, never above what was shipped).
//! - **Order.** A store's ledgers change only by its own ops, applied in
//!   its log's order everywhere; a receipt depends causally on its
//!   shipment. So every node that holds the same ops holds the same book
//!   (the simulator's `convergence` and stock checks).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tongka_core::ids::NodeId;
use tongka_core::op::{Op, OpBody};
use tongka_core::stock::{
    Movement, NegativeStock, StockChange, StockCount, StockError, StockInLine, StockLedger,
    StockQty, StoreStock, TransferId, TransferState, Transfers, Unit, VarianceReport, check_qty,
    decide_receive, decide_ship, decide_stocktake, refund_moves, sale_moves,
};
use tongka_core::text;

/// The longest supplier name.
pub const SUPPLIER_LEN_MAX: usize = 60;
/// The longest note on a stock op.
pub const NOTE_LEN_MAX: usize = 200;
/// The most lines of one stock op (a delivery, a transfer, a count).
pub const STOCK_LINES_MAX: usize = 500;

/// The chain's stock as a node holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockBook {
    /// Each store's ledgers (absent: it never moved stock).
    pub stores: BTreeMap<NodeId, StoreStock>,
    /// Each store's minimum on hand, by sku (the low-stock report).
    pub minimums: BTreeMap<NodeId, BTreeMap<String, Decimal>>,
    /// Every transfer shipped.
    pub transfers: Transfers,
}

/// Each sku's unit (`None`: unknown, or not stocked).
pub type Units<'a> = &'a dyn Fn(&str) -> Option<Unit>;

/// How an op's quantities are checked (module doc).
pub enum Check<'a> {
    /// Made here: each sku's unit (`None`: unknown or not stocked) and the
    /// chain's policy.
    Made {
        units: &'a dyn Fn(&str) -> Option<Unit>,
        policy: NegativeStock,
    },
    /// Made elsewhere: as recorded.
    Received,
}

/// What applying an op changed, for the db to write in the op's commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockApplied {
    /// The store whose stock changed (the op's origin).
    pub store: Option<NodeId>,
    /// The movements, in order.
    pub movements: Vec<Movement>,
    /// The ledgers after the op of the skus it moved.
    pub ledgers: Vec<(String, StockLedger)>,
    /// The transfer after the op (shipped or received).
    pub transfer: Option<TransferState>,
    /// The minimums set (zero: removed).
    pub minimums: Vec<StockQty>,
}

impl StockApplied {
    /// Whether the op changed any stock (a sale of nothing stocked does not).
    pub fn is_empty(&self) -> bool {
        self.movements.is_empty() && self.transfer.is_none() && self.minimums.is_empty()
    }
}

/// What a store asks of its stock (the API's requests, the simulator's
/// workload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockAsk {
    In {
        supplier: String,
        note: String,
        lines: Vec<StockInLine>,
    },
    Return {
        supplier: String,
        note: String,
        lines: Vec<StockQty>,
    },
    Ship {
        id: TransferId,
        to: NodeId,
        note: String,
        lines: Vec<StockQty>,
    },
    Receive {
        id: TransferId,
        note: String,
        lines: Vec<StockQty>,
    },
    Count {
        note: String,
        counts: Vec<StockCount>,
    },
    Minimums {
        lines: Vec<StockQty>,
    },
}

/// A decision: the change to record, and a count's variance report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub change: StockChange,
    pub variance: Option<VarianceReport>,
}

impl StockBook {
    /// `store`'s stock (empty if it never moved any).
    pub fn store(&self, store: &NodeId) -> StoreStock {
        self.stores
            .get(store)
            .cloned()
            .unwrap_or_else(|| StoreStock::new(store.clone()))
    }

    /// `store`'s ledger of `sku`.
    pub fn ledger(&self, store: &NodeId, sku: &str) -> StockLedger {
        self.stores
            .get(store)
            .map(|s| s.ledger(sku))
            .unwrap_or_default()
    }

    /// Apply `op`'s stock moves (module doc). On a refusal nothing changed.
    pub fn apply(&mut self, op: &Op, check: Check<'_>) -> Result<StockApplied, StockError> {
        let origin = op.origin();
        let moves = match &op.body {
            OpBody::CheckedOut { order, stock } => sale_moves(&order.id, stock),
            OpBody::Refunded { refund, stock } => refund_moves(&refund.id, stock),
            OpBody::StockChanged { change } => match change {
                StockChange::Ship { shipment, .. } => {
                    if shipment.from != *origin {
                        return Err(StockError::NotOwner {
                            store: shipment.from.clone(),
                            author: origin.clone(),
                        });
                    }
                    if self.transfers.get(&shipment.id).is_some() {
                        return Err(StockError::TransferExists {
                            id: shipment.id.clone(),
                        });
                    }
                    shipment.moves()
                }
                StockChange::Receive { receipt, .. } => {
                    if receipt.at != *origin {
                        return Err(StockError::NotOwner {
                            store: receipt.at.clone(),
                            author: origin.clone(),
                        });
                    }
                    // Checked (and applied to a copy) before any stock
                    // moves: one receipt per transfer, within what shipped.
                    let mut t = Transfers::default();
                    if let Some(s) = self.transfers.get(&receipt.id) {
                        t.by_id.insert(receipt.id.clone(), s.clone());
                    }
                    t.receive(receipt)?;
                    let shipment = t.get(&receipt.id).expect("just received").shipment();
                    receipt.moves(shipment)
                }
                StockChange::Minimums { lines } => {
                    return Ok(self.set_minimums(origin, lines));
                }
                other => other.moves(&op.id, None),
            },
            _ => return Ok(StockApplied::default()),
        };
        let transfer_only = matches!(
            &op.body,
            OpBody::StockChanged {
                change: StockChange::Ship { .. } | StockChange::Receive { .. }
            }
        );
        if moves.is_empty() && !transfer_only {
            return Ok(StockApplied::default());
        }
        let lenient = |_: &str| Some(Unit::Measured);
        let (units, policy): (Units<'_>, NegativeStock) = match check {
            Check::Made { units, policy } => (units, policy),
            Check::Received => (&lenient, NegativeStock::Allow),
        };
        let stock = self
            .stores
            .entry(origin.clone())
            .or_insert_with(|| StoreStock::new(origin.clone()));
        let movements = stock.apply(origin, &moves, units, policy)?;
        let mut ledgers: Vec<(String, StockLedger)> = Vec::new();
        for m in &movements {
            if !ledgers.iter().any(|(s, _)| s == &m.sku) {
                ledgers.push((m.sku.clone(), stock.ledger(&m.sku)));
            }
        }
        let transfer = match &op.body {
            OpBody::StockChanged {
                change: StockChange::Ship { shipment, .. },
            } => {
                self.transfers.ship(shipment)?;
                self.transfers.get(&shipment.id).cloned()
            }
            OpBody::StockChanged {
                change: StockChange::Receive { receipt, .. },
            } => {
                self.transfers.receive(receipt)?;
                self.transfers.get(&receipt.id).cloned()
            }
            _ => None,
        };
        Ok(StockApplied {
            store: Some(origin.clone()),
            movements,
            ledgers,
            transfer,
            minimums: Vec::new(),
        })
    }

    fn set_minimums(&mut self, origin: &NodeId, lines: &[StockQty]) -> StockApplied {
        let mins = self.minimums.entry(origin.clone()).or_default();
        let mut set = Vec::new();
        for l in lines {
            // A made op was checked by `decide`; a received one applies as
            // recorded: no check here either way.
            if l.qty.is_zero() {
                mins.remove(&l.sku);
            } else {
                mins.insert(l.sku.clone(), l.qty);
            }
            set.push(l.clone());
        }
        StockApplied {
            store: Some(origin.clone()),
            minimums: set,
            ..Default::default()
        }
    }

    /// The minimum on hand `store` keeps of `sku`, if it set one.
    pub fn minimum(&self, store: &NodeId, sku: &str) -> Option<Decimal> {
        self.minimums.get(store).and_then(|m| m.get(sku)).copied()
    }
}

fn check_text(field: &'static str, s: &str, min: usize, max: usize) -> Result<(), StockError> {
    text::check_text(s, min, max).map_err(|error| StockError::Text { field, error })
}

fn check_lines<T>(lines: &[T], sku: impl Fn(&T) -> &str) -> Result<(), StockError> {
    if lines.is_empty() {
        return Err(StockError::NoLines);
    }
    if lines.len() > STOCK_LINES_MAX {
        return Err(StockError::TooManyLines {
            max: STOCK_LINES_MAX,
        });
    }
    for (i, l) in lines.iter().enumerate() {
        if lines[..i].iter().any(|o| sku(o) == sku(l)) {
            return Err(StockError::DuplicateLine {
                sku: sku(l).to_string(),
            });
        }
    }
    Ok(())
}

/// Decide what `store` asks, against the book as it holds it: the change
/// its op records. `units`: the catalogue's (`None`: unknown or not
/// stocked); `stores`: the chain's other stores (a transfer's possible
/// destinations). Quantities of goods in and returns are checked again
/// when the op applies ([`StockBook::apply`] with [`Check::Made`]), as
/// every move is; a return beyond on hand is refused there.
pub fn decide(
    book: &StockBook,
    store: &NodeId,
    ask: &StockAsk,
    units: &dyn Fn(&str) -> Option<Unit>,
    stores: &[NodeId],
) -> Result<Decided, StockError> {
    let unit_of =
        |sku: &str| units(sku).ok_or_else(|| StockError::UnknownProduct { sku: sku.into() });
    let plain = |change| Decided {
        change,
        variance: None,
    };
    match ask {
        StockAsk::In {
            supplier,
            note,
            lines,
        } => {
            check_text("supplier", supplier, 1, SUPPLIER_LEN_MAX)?;
            check_text("note", note, 0, NOTE_LEN_MAX)?;
            check_lines(lines, |l| &l.sku)?;
            let mut out = Vec::with_capacity(lines.len());
            for l in lines {
                let qty = check_qty(&l.sku, unit_of(&l.sku)?, l.qty, false)?;
                tongka_core::money::Money::check_amount(l.unit_cost.as_decimal(), false)
                    .map_err(|_| StockError::UnitCost { sku: l.sku.clone() })?;
                out.push(StockInLine {
                    sku: l.sku.clone(),
                    qty,
                    unit_cost: l.unit_cost,
                });
            }
            Ok(plain(StockChange::In {
                supplier: supplier.clone(),
                note: note.clone(),
                lines: out,
            }))
        }
        StockAsk::Return {
            supplier,
            note,
            lines,
        } => {
            check_text("supplier", supplier, 1, SUPPLIER_LEN_MAX)?;
            check_text("note", note, 0, NOTE_LEN_MAX)?;
            check_lines(lines, |l| &l.sku)?;
            let mut out = Vec::with_capacity(lines.len());
            for l in lines {
                let qty = check_qty(&l.sku, unit_of(&l.sku)?, l.qty, false)?;
                out.push(StockQty {
                    sku: l.sku.clone(),
                    qty,
                });
            }
            Ok(plain(StockChange::Return {
                supplier: supplier.clone(),
                note: note.clone(),
                lines: out,
            }))
        }
        StockAsk::Ship {
            id,
            to,
            note,
            lines,
        } => {
            check_text("note", note, 0, NOTE_LEN_MAX)?;
            if lines.len() > STOCK_LINES_MAX {
                return Err(StockError::TooManyLines {
                    max: STOCK_LINES_MAX,
                });
            }
            let pairs: Vec<(String, Decimal)> =
                lines.iter().map(|l| (l.sku.clone(), l.qty)).collect();
            let shipment = decide_ship(id.clone(), &book.store(store), to, stores, &pairs, units)?;
            Ok(plain(StockChange::Ship {
                shipment,
                note: note.clone(),
            }))
        }
        StockAsk::Receive { id, note, lines } => {
            check_text("note", note, 0, NOTE_LEN_MAX)?;
            if lines.len() > STOCK_LINES_MAX {
                return Err(StockError::TooManyLines {
                    max: STOCK_LINES_MAX,
                });
            }
            let pairs: Vec<(String, Decimal)> =
                lines.iter().map(|l| (l.sku.clone(), l.qty)).collect();
            // Received lines are checked against what was shipped, with
            // the shipment's own units (a product may since have changed).
            let receipt = decide_receive(&book.transfers, id, store, &pairs, &|sku| {
                units(sku).or(Some(Unit::Measured))
            })?;
            Ok(plain(StockChange::Receive {
                receipt,
                note: note.clone(),
            }))
        }
        StockAsk::Count { note, counts } => {
            check_text("note", note, 0, NOTE_LEN_MAX)?;
            if counts.len() > STOCK_LINES_MAX {
                return Err(StockError::TooManyLines {
                    max: STOCK_LINES_MAX,
                });
            }
            let report = decide_stocktake(&book.store(store), counts, units, &book.transfers)?;
            let adjust = report
                .lines
                .iter()
                .filter(|l| !l.variance.is_zero())
                .map(|l| StockQty {
                    sku: l.sku.clone(),
                    qty: l.variance,
                })
                .collect();
            let counts = report
                .lines
                .iter()
                .map(|l| StockCount {
                    sku: l.sku.clone(),
                    counted: l.counted,
                })
                .collect();
            Ok(Decided {
                change: StockChange::Count {
                    counts,
                    adjust,
                    note: note.clone(),
                },
                variance: Some(report),
            })
        }
        StockAsk::Minimums { lines } => {
            check_lines(lines, |l| &l.sku)?;
            let mut out = Vec::with_capacity(lines.len());
            for l in lines {
                let qty = check_qty(&l.sku, unit_of(&l.sku)?, l.qty, true)?;
                out.push(StockQty {
                    sku: l.sku.clone(),
                    qty,
                });
            }
            Ok(plain(StockChange::Minimums { lines: out }))
        }
    }
}

#[cfg(test)]
mod tests;

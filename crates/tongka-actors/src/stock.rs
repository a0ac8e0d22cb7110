//! Stock: the changes a store makes to its own stock (`change_stock`:
//! goods in, returns, transfers shipped and received, stocktakes,
//! minimums), those made elsewhere (`apply_stock_remote`), and the stock
//! lines of sales and refunds (`sale_stock`, `stock_of_remote_run`), all
//! through the machine's `StockBook` (`tongka_machine::stock`), held in
//! memory and written in each op's commit (`tongka_db::StockWrite`).
//!
//! The book's lock is held from a decision to its op's hand-over to the
//! writer, so the book changes in the order of the log, as every other
//! node applies it.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use serde::{Deserialize, Serialize};
use tongka_core::checkout::Order;
use tongka_core::clock::Hlc;
use tongka_core::ids::NodeId;
use tongka_core::op::{Op, OpBody};
use tongka_core::refund::Refund;
use tongka_core::stock::{
    Movement, MovementRecord, StockQty, TransferId, TransferState, Unit, VarianceReport,
};
use tongka_db::{Db, DbError, Effects, MovementCursor, StockWrite};
use tongka_machine::stock::{Check, StockApplied, StockAsk, StockBook, decide};

use crate::account::Encoding;
use crate::core::{Core, durable};
use crate::{Engine, EngineError, Idem, Outcome};

/// Reports the chain's stores (a transfer's possible destinations).
pub type StoresFn = Arc<dyn Fn() -> Vec<NodeId> + Send + Sync>;

/// What a stock request answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockOutcome {
    /// `stock_in`, `stock_return`, `transfer_shipped`, `transfer_received`,
    /// `stocktake`, `stock_minimums`.
    pub kind: String,
    pub store: NodeId,
    pub at: Hlc,
    pub by: String,
    pub movements: Vec<Movement>,
    pub transfer: Option<TransferState>,
    pub variance: Option<VarianceReport>,
    pub minimums: Vec<StockQty>,
}

/// The book as the db holds it (at start).
pub(crate) fn load_book(db: &Db) -> Result<StockBook, DbError> {
    let parts = db.stock_parts()?;
    let mut book = StockBook::default();
    for (store, sku, ledger) in parts.ledgers {
        book.stores
            .entry(store.clone())
            .or_insert_with(|| tongka_core::stock::StoreStock::new(store))
            .items
            .insert(sku, ledger);
    }
    for (store, sku, min) in parts.minimums {
        book.minimums.entry(store).or_default().insert(sku, min);
    }
    for t in parts.transfers {
        book.transfers.by_id.insert(t.shipment().id.clone(), t);
    }
    Ok(book)
}

pub(crate) fn write_of(a: StockApplied) -> StockWrite {
    StockWrite {
        ledgers: a.ledgers,
        movements: a.movements,
        transfer: a.transfer,
        minimums: a.minimums,
    }
}

/// The skus a request names.
fn skus_of(ask: &StockAsk) -> Vec<&str> {
    match ask {
        StockAsk::In { lines, .. } => lines.iter().map(|l| l.sku.as_str()).collect(),
        StockAsk::Return { lines, .. }
        | StockAsk::Ship { lines, .. }
        | StockAsk::Receive { lines, .. }
        | StockAsk::Minimums { lines } => lines.iter().map(|l| l.sku.as_str()).collect(),
        StockAsk::Count { counts, .. } => counts.iter().map(|c| c.sku.as_str()).collect(),
    }
}

impl Engine {
    /// Read the chain's stock as this node holds it now.
    pub fn with_stock<R>(&self, f: impl FnOnce(&StockBook) -> R) -> R {
        f(&self.core.stock.lock().expect("stock lock"))
    }

    /// Say how this node knows the chain's stores (the node sets it from
    /// its chain certificates).
    pub fn set_stores(&self, stores: StoresFn) {
        *self.core.stores.lock().expect("stores lock") = Some(stores);
    }

    /// The chain's stores other than this node, as known now.
    pub fn chain_stores(&self) -> Vec<NodeId> {
        let f = self.core.stores.lock().expect("stores lock").clone();
        let mut out: Vec<NodeId> = f.map(|f| f()).unwrap_or_default();
        out.retain(|n| n != &self.core.node);
        out.sort();
        out.dedup();
        out
    }

    /// A new transfer's id.
    pub fn new_transfer_id(&self) -> TransferId {
        TransferId::mint(&self.core.node, self.core.db.next_entity())
    }

    /// A page of `store`'s stock movements, newest first (of one sku, or
    /// every sku).
    pub fn movements(
        &self,
        store: &NodeId,
        sku: Option<&str>,
        before: Option<MovementCursor>,
        limit: usize,
    ) -> Result<(Vec<MovementRecord>, Option<MovementCursor>), EngineError> {
        Ok(self.core.db.movements(store, sku, before, limit)?)
    }

    /// Make what this store asks of its stock: decided against the book
    /// (`tongka_machine::stock::decide`), applied, and committed as one
    /// `StockChanged` op. Answers once durable.
    pub async fn change_stock(
        &self,
        by: String,
        idem: Option<Idem>,
        ask: StockAsk,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let units = units_of(&me.core, skus_of(&ask));
            let unit = |sku: &str| units.get(sku).copied().flatten();
            let stores = me.chain_stores();
            let policy = me.core.programme().negative_stock;
            let (rx, outcome) = {
                let mut book = me.core.stock.lock().expect("stock lock");
                let decided = decide(&book, &me.core.node, &ask, &unit, &stores)?;
                let at = me.core.tick();
                let body = OpBody::StockChanged {
                    change: decided.change.clone(),
                };
                let (draft, op) = me.core.draft_at(by.clone(), idem.as_ref(), body, at)?;
                let applied = book.apply(
                    &op,
                    Check::Made {
                        units: &unit,
                        policy,
                    },
                )?;
                let outcome = Outcome::Stock(Box::new(StockOutcome {
                    kind: decided.change.kind().to_string(),
                    store: me.core.node.clone(),
                    at,
                    by,
                    movements: applied.movements.clone(),
                    transfer: applied.transfer.clone(),
                    variance: decided.variance,
                    minimums: applied.minimums.clone(),
                }));
                let effects = Effects {
                    stock: Some(write_of(applied)),
                    idem: idem.as_ref().map(|i| i.record(&outcome)),
                    ..Default::default()
                };
                let key = idem.as_ref().map(|i| i.key.clone());
                let rx = me.core.submit_local(draft, effects, key);
                drop(book);
                (rx, outcome)
            };
            durable(rx, outcome).await
        })
        .await
    }

    /// Apply a `StockChanged` op made elsewhere, in its place among the
    /// ops handed to the writer. One that does not apply is logged as
    /// rejected.
    pub(crate) fn apply_stock_remote(
        &self,
        op: Op,
        encoded: Encoding,
        on_durable: tongka_db::Done,
    ) {
        let mut book = self.core.stock.lock().expect("stock lock");
        let mut effects = Effects::default();
        match book.apply(&op, Check::Received) {
            Ok(a) => effects.stock = Some(write_of(a)),
            Err(e) => effects.rejected = Some(e.to_string()),
        }
        self.core.observe(op.hlc);
        self.core.submit_remote(op, encoded, effects, on_durable);
    }

    /// Apply the stock lines of the remote sales and refunds among `jobs`
    /// (in their order, skipping those rejected), adding their stock
    /// effects; the book stays locked until the caller hands them over.
    pub(crate) fn stock_of_remote_run(
        &self,
        jobs: &mut [tongka_db::Prepared],
    ) -> Option<MutexGuard<'_, StockBook>> {
        let moves_stock = |op: &Op| match &op.body {
            OpBody::CheckedOut { stock, .. } | OpBody::Refunded { stock, .. } => !stock.is_empty(),
            _ => false,
        };
        if !jobs
            .iter()
            .any(|j| j.remote_op().is_some_and(moves_stock) && !j.is_rejected())
        {
            return None;
        }
        let mut book = self.core.stock.lock().expect("stock lock");
        for job in jobs.iter_mut() {
            let Some(op) = job.remote_op().filter(|op| moves_stock(op)) else {
                continue;
            };
            if job.is_rejected() {
                continue;
            }
            match book.apply(op, Check::Received) {
                Ok(a) => {
                    let w = write_of(a);
                    job.set_stock(w);
                }
                // Its origin applied it; a node that cannot is out of
                // step, which the consistency report and the simulator's
                // checks are for. The sale itself stands.
                Err(e) => tracing::warn!(op = %op.id, error = %e, "a sale's stock does not apply"),
            }
        }
        Some(book)
    }
}

/// The unit of each of `skus` by the catalogue now (`None`: unknown, or
/// not stocked).
pub(crate) fn units_of<'a>(
    core: &Core,
    skus: impl IntoIterator<Item = &'a str>,
) -> HashMap<String, Option<Unit>> {
    let held = core.catalogue.lock().expect("catalogue lock");
    skus.into_iter()
        .map(|s| (s.to_string(), held.1.get(s).and_then(|p| p.stock_unit())))
        .collect()
}

/// The stock lines of a sale: each line of a stocked product (`units`:
/// the catalogue's, by sku).
pub(crate) fn sale_lines(order: &Order, units: &HashMap<String, Option<Unit>>) -> Vec<StockQty> {
    order
        .lines
        .iter()
        .filter_map(|l| {
            let sku = l.sku.as_ref()?;
            units.get(sku).copied().flatten()?;
            Some(StockQty {
                sku: sku.clone(),
                qty: l.qty,
            })
        })
        .collect()
}

/// The stock lines of a refund: what it refunds of lines of products
/// stocked now (`units`). A stated limit: an order does not record which
/// of its lines took stock, so a product that became stocked after its
/// sale is put back by its refund all the same.
pub(crate) fn refund_lines(
    order: &Order,
    refund: &Refund,
    units: &HashMap<String, Option<Unit>>,
) -> Vec<StockQty> {
    refund
        .lines
        .iter()
        .filter_map(|r| {
            let sku = order.lines.get(r.line)?.sku.as_ref()?;
            units.get(sku).copied().flatten()?;
            Some(StockQty {
                sku: sku.clone(),
                qty: r.qty,
            })
        })
        .collect()
}

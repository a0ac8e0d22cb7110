//! Stock in the simulator (issue 14): the scenario's `[stock]` table, what
//! the report counts of it, and the stock checks over a node's ops and its
//! `StockBook`.
//!
//! No rule is copied: every store decides what it asks with the node
//! machine's `tongka_machine::stock::decide` over the `StockBook` it holds
//! (goods in, supplier returns, transfers shipped and received,
//! stocktakes, minimums), sells stocked skus by the core's `checkout_with`
//! with the sale's stock lines on its `CheckedOut` op, refunds by
//! `OrderState::decide` with the lines back on its `Refunded` op; every
//! node applies each op by `StockBook::apply` (`Check::Made` for an op
//! made there now, `Check::Received` otherwise). The Sim's side lives in
//! `sim/stock.rs`.
//!
//! Checks (`ops_problem`), computed from the ops a node applied (its log
//! less what it rejected), not from the book's own code, then compared
//! with the book:
//! - transfer_once: each transfer is shipped by one op and received by at
//!   most one, made at the shipment's destination, never above what was
//!   shipped, and never received without its ship;
//! - stock_conservation: for every sku, chain-wide on hand + in transit =
//!   Σ stock in − returned − sold + refunded + adjusted − short (what
//!   receipts recorded as not arrived); and per store and sku, on hand =
//!   what its own ops moved (in − returned − sold + refunded + adjusted −
//!   shipped + received); in transit = the lines of the transfers shipped
//!   and not received. At the end every node's book is equal (the state
//!   hash covers the book once not empty; the final check names the store
//!   and sku that differ).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tongka_core::ids::{NodeId, OpId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::stock::{Shipment, StockChange, TransferId, Unit};
use tongka_machine::stock::StockBook;

use crate::scenario::{Dur, Num};

/// A stocked product of the sim catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sku {
    pub sku: String,
    /// `"whole"` (pieces) or `"measured"` (kg, to the gram).
    pub unit: Unit,
    /// Selling price of one unit.
    pub price: Money,
    /// What a supplier charges for one unit.
    pub cost: Money,
}

/// The scenario's `[stock]` table (absent: no stock, and the run draws the
/// same random numbers and reports byte for byte as before). Rates are per
/// store-day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stock {
    pub skus: Vec<Sku>,
    /// Deliveries from a supplier (every sku; one at each store in the
    /// first minute besides).
    #[serde(default)]
    pub deliveries: Num,
    /// Walk-in sales of one to three stocked skus.
    #[serde(default)]
    pub sales: Num,
    /// Probability that a stocked sale is refunded whole at its store,
    /// 10 min to 2 h later.
    #[serde(default)]
    pub refunds: Num,
    /// Supplier returns of one sku on hand.
    #[serde(default)]
    pub returns: Num,
    /// Transfers shipped to another store, picked at random.
    #[serde(default)]
    pub transfers: Num,
    /// When the destination receives after the ship: `[min, max]`. A
    /// destination that is down, or does not hold the ship yet, tries again
    /// ten minutes later.
    pub receive_after: [Dur; 2],
    /// Probability that a received line arrived short.
    #[serde(default)]
    pub short: Num,
    /// Probability that a receive is scanned again 10–60 min later (a
    /// second receive: refused `transfer_already_received`).
    #[serde(default)]
    pub again: Num,
    /// Stocktakes (a random subset of skus counted; refused while one is
    /// under transfer).
    #[serde(default)]
    pub stocktakes: Num,
    /// Minimum changes (one or two skus).
    #[serde(default)]
    pub minimums: Num,
}

impl Stock {
    /// What is wrong with the table, if anything.
    pub fn problem(&self, stores: u32) -> Option<String> {
        if self.skus.is_empty() || self.skus.len() > 50 {
            return Some("stock.skus: 1 to 50".into());
        }
        for (i, s) in self.skus.iter().enumerate() {
            if s.sku.is_empty() || self.skus[..i].iter().any(|o| o.sku == s.sku) {
                return Some(format!("stock.skus: empty or repeated sku {:?}", s.sku));
            }
            if !s.price.is_positive() || !s.cost.is_positive() {
                return Some(format!(
                    "stock.skus: {} needs a positive price and cost",
                    s.sku
                ));
            }
        }
        if !self.transfers.is_zero() && stores < 2 {
            return Some("stock.transfers needs two stores".into());
        }
        if self.receive_after[0] > self.receive_after[1] {
            return Some("stock.receive_after: [min, max]".into());
        }
        for (name, p) in [
            ("refunds", self.refunds),
            ("short", self.short),
            ("again", self.again),
        ] {
            if p.0 > Decimal::ONE {
                return Some(format!("stock.{name} is a probability (0 to 1)"));
            }
        }
        None
    }
}

/// What the report counts of stock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockStats {
    pub deliveries: u64,
    pub returns: u64,
    /// Walk-in sales of stocked skus, their lines, and the lines that took
    /// on hand below zero (allowed, flagged on the movement).
    pub sales: u64,
    pub sale_lines: u64,
    pub below_zero: u64,
    pub refunds: u64,
    pub shipped: u64,
    pub received: u64,
    /// Of those received: while cut off from the sender by a partition,
    /// after the destination restarted since the ship, with a line short.
    pub received_cut_off: u64,
    pub received_after_restart: u64,
    pub received_short: u64,
    /// A receive tried again later: the destination was down or did not
    /// hold the ship yet.
    pub receive_waits: u64,
    /// Second receives asked (all refused but under `ReceiveTwice`).
    pub again: u64,
    pub stocktakes: u64,
    /// Stocktake lines with a variance.
    pub variances: u64,
    pub minimums: u64,
    /// Requests the store refused (`StockError` codes), and requests not
    /// made (the store down or its disk full, nothing on hand to ship or
    /// return).
    pub refused: BTreeMap<&'static str, u64>,
    pub skipped: u64,
    /// At the end, per sku: chain-wide on hand, in transit, and the
    /// movements' sums from the ops.
    pub end: BTreeMap<String, Tally>,
}

impl StockStats {
    pub fn to_text(&self, o: &mut String) {
        let _ = writeln!(o, "stock");
        let _ = writeln!(
            o,
            "  goods in {}, supplier returns {}, minimums set {}, requests skipped {}",
            self.deliveries, self.returns, self.minimums, self.skipped
        );
        let _ = writeln!(
            o,
            "  walk-in sales {} ({} lines, {} below zero), refunded {}",
            self.sales, self.sale_lines, self.below_zero, self.refunds
        );
        let _ = writeln!(
            o,
            "  transfers shipped {}, received {} (cut off from the sender {}, after the destination restarted {}, with a shortage {}), waits {}, scanned again {}",
            self.shipped,
            self.received,
            self.received_cut_off,
            self.received_after_restart,
            self.received_short,
            self.receive_waits,
            self.again
        );
        let _ = writeln!(
            o,
            "  stocktakes {} ({} lines with a variance)",
            self.stocktakes, self.variances
        );
        if !self.refused.is_empty() {
            let r: Vec<String> = self
                .refused
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(o, "  refused: {}", r.join(", "));
        }
        if !self.end.is_empty() {
            let _ = writeln!(
                o,
                "  {:<12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                "sku",
                "on hand",
                "transit",
                "in",
                "returned",
                "sold",
                "refunded",
                "adjusted",
                "short"
            );
            for (sku, t) in &self.end {
                let _ = writeln!(
                    o,
                    "  {:<12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                    sku,
                    t.on_hand.normalize(),
                    t.in_transit.normalize(),
                    t.stock_in.normalize(),
                    t.returned.normalize(),
                    t.sold.normalize(),
                    t.refunded.normalize(),
                    t.adjusted.normalize(),
                    t.short.normalize()
                );
            }
        }
    }
}

/// One sku's figures: the book's chain-wide on hand and in transit, and
/// what the ops moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub on_hand: Decimal,
    pub in_transit: Decimal,
    pub stock_in: Decimal,
    pub returned: Decimal,
    pub sold: Decimal,
    pub refunded: Decimal,
    pub adjusted: Decimal,
    pub short: Decimal,
}

impl Tally {
    /// What the ops say is on hand or in transit chain-wide.
    pub fn expected(&self) -> Decimal {
        self.stock_in - self.returned - self.sold + self.refunded + self.adjusted - self.short
    }
}

/// What the ops say: per sku, the chain's sums; per (store, sku), on hand;
/// per transfer, its shipment and the receives.
#[derive(Debug, Default)]
struct FromOps<'a> {
    skus: BTreeMap<&'a str, Tally>,
    on_hand: BTreeMap<(&'a NodeId, &'a str), Decimal>,
    shipped: BTreeMap<&'a TransferId, (&'a OpId, &'a Shipment)>,
    received: BTreeMap<&'a TransferId, Vec<&'a OpId>>,
}

/// The first problem in the stock a node holds, given the ops it applied
/// (module doc): `(invariant, detail)`. Also answers the tally per sku.
pub fn ops_problem<'a>(
    book: &StockBook,
    ops: impl Iterator<Item = &'a Op>,
) -> (Option<(&'static str, String)>, BTreeMap<String, Tally>) {
    let mut f = FromOps::default();
    let mut problem = None;
    let note = |p: &mut Option<(&'static str, String)>, inv, d: String| {
        if p.is_none() {
            *p = Some((inv, d));
        }
    };
    // Ships first: a node applies a receive after its ship (causal
    // order), but the ops come here by origin.
    let ops: Vec<&Op> = ops.collect();
    for op in &ops {
        if let OpBody::StockChanged {
            change: StockChange::Ship { shipment, .. },
        } = &op.body
        {
            if let Some((first, _)) = f.shipped.get(&shipment.id) {
                let d = format!("{} shipped twice: {first} and {}", shipment.id, op.id);
                note(&mut problem, "transfer_once", d);
            }
            f.shipped.insert(&shipment.id, (&op.id, shipment));
        }
    }
    for op in ops {
        let store = op.origin();
        let moved = |f: &mut FromOps<'a>, sku: &'a str, q: Decimal| {
            *f.on_hand.entry((store, sku)).or_default() += q;
        };
        match &op.body {
            OpBody::CheckedOut { stock, .. } => {
                for l in stock {
                    f.skus.entry(&l.sku).or_default().sold += l.qty;
                    moved(&mut f, &l.sku, -l.qty);
                }
            }
            OpBody::Refunded { stock, .. } => {
                for l in stock {
                    f.skus.entry(&l.sku).or_default().refunded += l.qty;
                    moved(&mut f, &l.sku, l.qty);
                }
            }
            OpBody::StockChanged { change } => match change {
                StockChange::In { lines, .. } => {
                    for l in lines {
                        f.skus.entry(&l.sku).or_default().stock_in += l.qty;
                        moved(&mut f, &l.sku, l.qty);
                    }
                }
                StockChange::Return { lines, .. } => {
                    for l in lines {
                        f.skus.entry(&l.sku).or_default().returned += l.qty;
                        moved(&mut f, &l.sku, -l.qty);
                    }
                }
                StockChange::Count { adjust, .. } => {
                    for l in adjust {
                        f.skus.entry(&l.sku).or_default().adjusted += l.qty;
                        moved(&mut f, &l.sku, l.qty);
                    }
                }
                StockChange::Ship { shipment, .. } => {
                    for l in &shipment.lines {
                        f.skus.entry(&l.sku).or_default();
                        moved(&mut f, &l.sku, -l.qty);
                    }
                }
                StockChange::Receive { receipt, .. } => {
                    let Some(&(_, shipment)) = f.shipped.get(&receipt.id) else {
                        let d = format!("{} received by {} without its ship", receipt.id, op.id);
                        note(&mut problem, "transfer_once", d);
                        continue;
                    };
                    let seen = f.received.entry(&receipt.id).or_default();
                    if let Some(first) = seen.first() {
                        let d = format!(
                            "{} received twice: by {first} and by {} (at {})",
                            receipt.id, op.id, store
                        );
                        note(&mut problem, "transfer_once", d);
                    }
                    seen.push(&op.id);
                    if store != &shipment.to {
                        let d = format!(
                            "{} shipped to {} was received at {store} ({})",
                            receipt.id, shipment.to, op.id
                        );
                        note(&mut problem, "transfer_once", d);
                    }
                    for sent in &shipment.lines {
                        let got = receipt
                            .lines
                            .iter()
                            .find(|l| l.sku == sent.sku)
                            .map_or(Decimal::ZERO, |l| l.qty);
                        if got > sent.qty || got.is_sign_negative() {
                            let d = format!(
                                "{} received {got} of {} shipped {} ({})",
                                receipt.id, sent.sku, sent.qty, op.id
                            );
                            note(&mut problem, "transfer_once", d);
                        }
                        f.skus.entry(&sent.sku).or_default().short += sent.qty - got;
                        moved(&mut f, &sent.sku, got);
                    }
                }
                StockChange::Minimums { .. } => {}
            },
            _ => {}
        }
    }
    // The book against the ops: in transit, on hand per store, chain-wide.
    let mut transit: BTreeMap<&str, Decimal> = BTreeMap::new();
    for (id, (_, s)) in &f.shipped {
        if !f.received.contains_key(id) {
            for l in &s.lines {
                *transit.entry(&l.sku).or_default() += l.qty;
            }
        }
    }
    let mut book_transit: BTreeMap<String, Decimal> = BTreeMap::new();
    for (_, l) in book.transfers.in_transit() {
        *book_transit.entry(l.sku.clone()).or_default() += l.qty;
    }
    for ((store, sku), q) in &f.on_hand {
        let have = book.ledger(store, sku).on_hand;
        if have != *q {
            let d = format!("{store} holds {have} of {sku}, its ops moved {q}");
            note(&mut problem, "stock_conservation", d);
        }
    }
    for (store, s) in &book.stores {
        for (sku, l) in &s.items {
            if !l.on_hand.is_zero() && !f.on_hand.contains_key(&(store, sku.as_str())) {
                let d = format!("{store} holds {} of {sku}, no op moved it", l.on_hand);
                note(&mut problem, "stock_conservation", d);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (sku, t) in &mut f.skus {
        t.on_hand = book.stores.values().map(|s| s.ledger(sku).on_hand).sum();
        t.in_transit = book_transit.get(*sku).copied().unwrap_or_default();
        let ops_transit = transit.get(sku).copied().unwrap_or_default();
        if t.in_transit != ops_transit {
            let d = format!(
                "{} of {sku} in transit in the book, {ops_transit} by the ops",
                t.in_transit
            );
            note(&mut problem, "stock_conservation", d);
        }
        if t.on_hand + t.in_transit != t.expected() {
            let d = format!(
                "{sku}: on hand {} + in transit {} ≠ in {} − returned {} − sold {} + refunded {} + adjusted {} − short {} = {}",
                t.on_hand,
                t.in_transit,
                t.stock_in,
                t.returned,
                t.sold,
                t.refunded,
                t.adjusted,
                t.short,
                t.expected()
            );
            note(&mut problem, "stock_conservation", d);
        }
        out.insert(sku.to_string(), *t);
    }
    (problem, out)
}

/// Where two nodes' books differ first (the final check), if they do.
pub fn book_diff(a: &StockBook, b: &StockBook) -> Option<String> {
    if a == b {
        return None;
    }
    let stores: std::collections::BTreeSet<&NodeId> =
        a.stores.keys().chain(b.stores.keys()).collect();
    for store in stores {
        let (x, y) = (a.store(store), b.store(store));
        for sku in x.items.keys().chain(y.items.keys()) {
            let (l, m) = (x.ledger(sku), y.ledger(sku));
            if l != m {
                return Some(format!(
                    "{store}'s {sku}: {} on hand (value {}) against {} (value {})",
                    l.on_hand, l.value, m.on_hand, m.value
                ));
            }
        }
    }
    for (id, t) in &a.transfers.by_id {
        if b.transfers.get(id) != Some(t) {
            return Some(format!("transfer {id} differs"));
        }
    }
    if a.transfers != b.transfers {
        return Some("one holds transfers the other does not".into());
    }
    Some("minimums differ".into())
}

/// The stock invariants, as the report lists them.
pub const STOCK_INVARIANTS: &[(&str, &str)] = &[
    (
        "stock_conservation",
        "after every receive and in full sweeps: per sku, chain-wide on hand + in transit = in − returned − sold + refunded + adjusted − short, and each store's on hand = what its ops moved, computed from the ops a node applied; at the end every node's stock book is equal",
    ),
    (
        "transfer_once",
        "after every receive and in full sweeps: each transfer shipped once and received at most once, at its destination, within what was shipped, computed from the ops",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::clock::Hlc;
    use tongka_core::op::OpDraft;
    use tongka_core::stock::{NegativeStock, StockInLine, StockQty};
    use tongka_machine::stock::{Check, StockAsk, decide};

    fn node(n: &str) -> NodeId {
        NodeId::new(n).unwrap()
    }

    fn op(origin: &str, seq: u64, body: OpBody) -> Op {
        OpDraft {
            hlc: Hlc { ms: seq, count: 0 },
            by: "t".into(),
            idem: None,
            body,
        }
        .stamp(
            OpId {
                origin: node(origin),
                seq,
            },
            Default::default(),
        )
    }

    fn units(sku: &str) -> Option<Unit> {
        (sku == "rice" || sku == "pork").then_some(if sku == "rice" {
            Unit::Whole
        } else {
            Unit::Measured
        })
    }

    /// A book and its ops: goods in at store-1, a transfer to store-2,
    /// received short.
    fn history() -> (StockBook, Vec<Op>) {
        let stores = [node("store-1"), node("store-2")];
        let mut book = StockBook::default();
        let mut ops = Vec::new();
        let mut make = |book: &mut StockBook, origin: &str, ask: StockAsk| {
            let d = decide(book, &node(origin), &ask, &units, &stores).unwrap();
            let o = op(
                origin,
                ops.len() as u64 + 1,
                OpBody::StockChanged { change: d.change },
            );
            book.apply(
                &o,
                Check::Made {
                    units: &units,
                    policy: NegativeStock::Allow,
                },
            )
            .unwrap();
            ops.push(o);
        };
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        make(
            &mut book,
            "store-1",
            StockAsk::In {
                supplier: "s".into(),
                note: String::new(),
                lines: vec![
                    StockInLine {
                        sku: "rice".into(),
                        qty: d("10"),
                        unit_cost: Money::from_fen(500),
                    },
                    StockInLine {
                        sku: "pork".into(),
                        qty: d("4.5"),
                        unit_cost: Money::from_fen(2200),
                    },
                ],
            },
        );
        let id = TransferId::mint(&node("store-1"), 7);
        make(
            &mut book,
            "store-1",
            StockAsk::Ship {
                id: id.clone(),
                to: node("store-2"),
                note: String::new(),
                lines: vec![
                    StockQty {
                        sku: "rice".into(),
                        qty: d("4"),
                    },
                    StockQty {
                        sku: "pork".into(),
                        qty: d("1.25"),
                    },
                ],
            },
        );
        make(
            &mut book,
            "store-2",
            StockAsk::Receive {
                id,
                note: String::new(),
                lines: vec![StockQty {
                    sku: "rice".into(),
                    qty: d("3"),
                }],
            },
        );
        (book, ops)
    }

    #[test]
    fn a_clean_history_passes_and_tallies() {
        let (book, ops) = history();
        let (p, t) = ops_problem(&book, ops.iter());
        assert_eq!(p, None);
        assert_eq!(t["rice"].on_hand, Decimal::from(9));
        assert_eq!(t["rice"].short, Decimal::ONE);
        assert_eq!(t["pork"].short, Decimal::from_str_exact("1.25").unwrap());
        // Before the receive the goods are in transit.
        let mut early = StockBook::default();
        for o in &ops[..2] {
            early.apply(o, Check::Received).unwrap();
        }
        let (p, t) = ops_problem(&early, ops[..2].iter());
        assert_eq!(p, None);
        assert_eq!(t["rice"].in_transit, Decimal::from(4));
    }

    #[test]
    fn a_second_receive_is_caught() {
        let (mut book, mut ops) = history();
        let mut again = ops[2].clone();
        again.id.seq = 9;
        ops.push(again);
        let (p, _) = ops_problem(&book, ops.iter());
        let (inv, d) = p.unwrap();
        assert_eq!(inv, "transfer_once");
        assert!(d.contains("received twice"), "{d}");
        // Its goods moved in again, the ops left out: conservation.
        ops.pop();
        book.stores
            .get_mut(&node("store-2"))
            .unwrap()
            .items
            .get_mut("rice")
            .unwrap()
            .on_hand += Decimal::from(3);
        let (p, _) = ops_problem(&book, ops.iter());
        let (inv, d) = p.unwrap();
        assert_eq!(inv, "stock_conservation");
        assert!(d.contains("store-2 holds 6 of rice"), "{d}");
    }

    #[test]
    fn a_receive_elsewhere_or_without_ship_is_caught() {
        let (book, mut ops) = history();
        ops[2].id.origin = node("store-3");
        let (p, _) = ops_problem(&book, ops.iter());
        assert!(p.unwrap().1.contains("was received at store-3"));
        let (p, _) = ops_problem(&book, ops[2..].iter());
        assert!(p.unwrap().1.contains("without its ship"));
    }

    #[test]
    fn books_that_differ_are_named() {
        let (a, _) = history();
        let mut b = a.clone();
        assert_eq!(book_diff(&a, &b), None);
        b.stores
            .get_mut(&node("store-1"))
            .unwrap()
            .items
            .remove("pork");
        assert!(book_diff(&a, &b).unwrap().contains("store-1's pork"));
    }
}

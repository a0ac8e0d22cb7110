//! Stock at the simulated stores (see `crate::stock`): goods in, supplier
//! returns, walk-in sales of stocked skus and their refunds, transfers
//! shipped and received later by the destination (cut off from the sender
//! or after a restart as the faults fall), stocktakes and minimums; each
//! decided by the node machine's `stock::decide` over the store's own
//! `StockBook` and made through `Sim::make`. The stock checks after every
//! receive and in the full sweeps, the books compared at the end, and the
//! report's figures.

use std::collections::BTreeMap;
use std::rc::Rc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tongka_core::DomainError;
use tongka_core::checkout::{
    self, CheckoutContext, Deductions, LineInput, TenderInput, TenderKind,
};
use tongka_core::ids::{OrderId, RefundId};
use tongka_core::op::{Op, OpBody};
use tongka_core::stock::{
    StockChange, StockCount, StockError, StockInLine, StockQty, TransferId, TransferState, Unit,
};
use tongka_machine::stock::{Decided, StockAsk, StockBook, decide};

use super::workload::count;
use super::{Ev, HOUR, Sim, between, chance};
use crate::Mutation;
use crate::node::OpRec;
use crate::stock::StockStats;

const MINUTE: u64 = 60_000;

/// A stock event at a store.
#[derive(Debug)]
pub(crate) enum StockEv {
    In(usize),
    Return(usize),
    Sale(usize),
    /// The sale's store, its order and stock lines.
    Refund(usize, OrderId, Vec<StockQty>),
    Ship(usize),
    /// The destination receives transfer `id` from `from`; `life`: the
    /// destination's life when it was shipped; `again`: a second scan.
    Receive {
        at: usize,
        id: TransferId,
        from: usize,
        life: u64,
        again: bool,
    },
    Count(usize),
    Minimums(usize),
}

/// The stock workload's own random stream (stream 3 of the seed: runs
/// without `[stock]` draw as before), the sim catalogue's units, and where
/// the ops that move stock are in the origins' logs.
pub(super) struct StockWork {
    rng: ChaCha8Rng,
    /// By sku (empty without `[stock]`).
    pub units: Rc<BTreeMap<String, Unit>>,
    /// Per origin, the seqs of its ops that carry stock.
    seqs: Vec<Vec<u64>>,
}

impl StockWork {
    pub fn new(sc: &crate::scenario::Scenario, seed: u64, nodes: usize) -> StockWork {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        let units = sc
            .stock
            .as_ref()
            .map(|s| s.skus.iter().map(|k| (k.sku.clone(), k.unit)).collect())
            .unwrap_or_default();
        StockWork {
            rng,
            units: Rc::new(units),
            seqs: vec![Vec::new(); nodes],
        }
    }
}

/// Whether an op carries stock moves (or a transfer, or minimums).
fn carries_stock(body: &OpBody) -> bool {
    match body {
        OpBody::StockChanged { .. } => true,
        OpBody::CheckedOut { stock, .. } | OpBody::Refunded { stock, .. } => !stock.is_empty(),
        _ => false,
    }
}

fn grams(g: u64) -> Decimal {
    Decimal::new(g as i64, 3).normalize()
}

impl Sim<'_> {
    /// At the start: goods in at every store in the first minute.
    pub(super) fn schedule_stock_start(&mut self) {
        if self.sc.stock.is_none() {
            return;
        }
        for s in 0..self.stores {
            let t = between(&mut self.stock.rng, 0, MINUTE);
            self.at(t, Ev::Stock(StockEv::In(s)));
        }
    }

    /// The stock events of one hour of the workload (rates per store-day).
    pub(super) fn schedule_stock(&mut self, start: u64, span: u64, frac: Decimal) {
        let Some(k) = self.sc.stock.as_ref() else {
            return;
        };
        let kinds = [
            k.deliveries,
            k.sales,
            k.returns,
            k.transfers,
            k.stocktakes,
            k.minimums,
        ];
        for s in 0..self.stores {
            for (kind, rate) in kinds.iter().enumerate() {
                let n = count(&mut self.stock.rng, rate.0 * frac);
                for _ in 0..n {
                    let t = start + self.stock.rng.random_range(0..span);
                    let ev = match kind {
                        0 => StockEv::In(s),
                        1 => StockEv::Sale(s),
                        2 => StockEv::Return(s),
                        3 => StockEv::Ship(s),
                        4 => StockEv::Count(s),
                        _ => StockEv::Minimums(s),
                    };
                    self.at(t, Ev::Stock(ev));
                }
            }
        }
    }

    fn stock_stats(&mut self) -> &mut StockStats {
        self.report
            .stock
            .as_mut()
            .expect("stock figures when the scenario has stock")
    }

    fn stock_up(&self, n: usize) -> bool {
        self.nodes[n].up && !self.nodes[n].disk_full
    }

    pub(super) fn stock_event(&mut self, e: StockEv) {
        if self.workload_over {
            return;
        }
        let s = match &e {
            StockEv::In(s)
            | StockEv::Return(s)
            | StockEv::Sale(s)
            | StockEv::Refund(s, ..)
            | StockEv::Ship(s)
            | StockEv::Count(s)
            | StockEv::Minimums(s) => *s,
            StockEv::Receive { at, .. } => *at,
        };
        if !self.stock_up(s) {
            if let StockEv::Receive { .. } = e {
                // The destination tries again when it is back.
                self.stock_stats().receive_waits += 1;
                self.at(self.now + 10 * MINUTE, Ev::Stock(e));
            } else {
                self.stock_stats().skipped += 1;
            }
            return;
        }
        match e {
            StockEv::In(s) => self.stock_in(s),
            StockEv::Return(s) => self.stock_return(s),
            StockEv::Sale(s) => self.stock_sale(s),
            StockEv::Refund(s, order, lines) => self.stock_refund(s, order, lines),
            StockEv::Ship(s) => self.stock_ship(s),
            StockEv::Receive {
                at,
                id,
                from,
                life,
                again,
            } => self.stock_receive(at, id, from, life, again),
            StockEv::Count(s) => self.stock_count(s),
            StockEv::Minimums(s) => self.stock_minimums(s),
        }
    }

    /// `stock::decide` at store `s` over the book it holds; a refusal is
    /// counted by its code.
    fn stock_decide(&mut self, s: usize, ask: &StockAsk) -> Result<Decided, StockError> {
        let units = self.stock.units.clone();
        let r = decide(
            &self.nodes[s].st.stock,
            &self.names[s],
            ask,
            &|sku| units.get(sku).copied(),
            &self.names[..self.stores],
        );
        if let Err(e) = &r {
            *self.stock_stats().refused.entry(e.code()).or_default() += 1;
        }
        r
    }

    fn stock_make(&mut self, s: usize, change: StockChange) -> Rc<OpRec> {
        let at = self.tick(s);
        let idem = self.idem();
        let rec = self.make(s, at, "clerk", Some(idem), OpBody::StockChanged { change });
        self.ack(s, &rec);
        rec
    }

    fn skus(&self) -> &[crate::stock::Sku] {
        &self.sc.stock.as_ref().expect("stock").skus
    }

    /// A random quantity of `unit`: whole `lo..=hi` pieces, or measured
    /// `lo..=hi` kg to the gram.
    fn stock_qty(&mut self, unit: Unit, lo: u64, hi: u64) -> Decimal {
        match unit {
            Unit::Whole => Decimal::from(between(&mut self.stock.rng, lo, hi)),
            Unit::Measured => grams(between(&mut self.stock.rng, lo * 1000, hi * 1000)),
        }
    }

    fn stock_in(&mut self, s: usize) {
        let skus = self.skus().to_vec();
        let mut lines = Vec::new();
        for k in &skus {
            let qty = self.stock_qty(k.unit, 20, 60);
            lines.push(StockInLine {
                sku: k.sku.clone(),
                qty,
                unit_cost: k.cost,
            });
        }
        let ask = StockAsk::In {
            supplier: "供应商".into(),
            note: String::new(),
            lines,
        };
        if let Ok(d) = self.stock_decide(s, &ask) {
            self.stock_make(s, d.change);
            self.stock_stats().deliveries += 1;
        }
    }

    /// The skus `s` holds a positive quantity of (its book), with it.
    fn on_hand(&self, s: usize) -> Vec<(String, Unit, Decimal)> {
        let book = &self.nodes[s].st.stock;
        self.skus()
            .iter()
            .map(|k| (k, book.ledger(&self.names[s], &k.sku).on_hand))
            .filter(|(k, q)| {
                *q >= Decimal::ONE
                    || (k.unit == Unit::Measured && q.is_sign_positive() && !q.is_zero())
            })
            .map(|(k, q)| (k.sku.clone(), k.unit, q))
            .collect()
    }

    /// Up to `max` of what is on hand (at least one piece, or a measured
    /// quantity of at most `max` kg).
    fn some_of(&mut self, unit: Unit, have: Decimal, max: u64) -> Decimal {
        match unit {
            Unit::Whole => {
                let top = have.floor().to_u64().unwrap_or(1).min(max);
                Decimal::from(between(&mut self.stock.rng, 1, top.max(1)))
            }
            Unit::Measured => grams(between(&mut self.stock.rng, 100, max * 1000)).min(have),
        }
    }

    fn stock_return(&mut self, s: usize) {
        let have = self.on_hand(s);
        if have.is_empty() {
            self.stock_stats().skipped += 1;
            return;
        }
        let (sku, unit, q) = have[self.stock.rng.random_range(0..have.len())].clone();
        let qty = self.some_of(unit, q, 3);
        let ask = StockAsk::Return {
            supplier: "供应商".into(),
            note: "退货".into(),
            lines: vec![StockQty { sku, qty }],
        };
        if let Ok(d) = self.stock_decide(s, &ask) {
            self.stock_make(s, d.change);
            self.stock_stats().returns += 1;
        }
    }

    /// A walk-in sale of one to three stocked skus, paid in cash, decided
    /// by the core's `checkout_with`; the stock lines ride on its op (the
    /// book may go below zero: the programme's policy is allow).
    fn stock_sale(&mut self, s: usize) {
        let skus = self.skus().to_vec();
        let n = between(&mut self.stock.rng, 1, 3.min(skus.len() as u64)) as usize;
        let first = self.stock.rng.random_range(0..skus.len());
        let mut lines = Vec::new();
        let mut stock = Vec::new();
        let mut below = 0;
        for i in 0..n {
            let k = &skus[(first + i) % skus.len()];
            let qty = match k.unit {
                Unit::Whole => self.stock_qty(k.unit, 1, 3),
                Unit::Measured => grams(between(&mut self.stock.rng, 100, 2_500)),
            };
            if qty
                > self.nodes[s]
                    .st
                    .stock
                    .ledger(&self.names[s], &k.sku)
                    .on_hand
            {
                below += 1;
            }
            lines.push(LineInput {
                sku: Some(k.sku.clone()),
                barcode: None,
                description: k.sku.clone(),
                unit_price: k.price,
                qty,
                card: None,
                pricing: Default::default(),
            });
            stock.push(StockQty {
                sku: k.sku.clone(),
                qty,
            });
        }
        let e = self.next_entity(s);
        let order_id = OrderId::mint(&self.names[s], e);
        let at = self.tick(s);
        let programme = self.nodes[s].st.programme.clone();
        let ctx = CheckoutContext {
            programme: &programme,
            store: &self.names[s],
            order: order_id,
            at,
            buyer: None,
        };
        let tenders = [TenderInput {
            kind: TenderKind::Cash,
            amount: None,
        }];
        let none = Deductions {
            points: 0,
            coupons: &[],
        };
        let order = match checkout::checkout_with(&ctx, &lines, &tenders, &none) {
            Ok(o) => o,
            Err(e) => {
                *self.stock_stats().refused.entry(e.code()).or_default() += 1;
                return;
            }
        };
        let id = order.id.clone();
        let idem = self.idem();
        let body = OpBody::CheckedOut {
            order,
            stock: stock.clone(),
        };
        let rec = self.make(s, at, "till", Some(idem), body);
        self.ack(s, &rec);
        let p = self.sc.stock.as_ref().expect("stock").refunds.ppm();
        let st = self.stock_stats();
        st.sales += 1;
        st.sale_lines += n as u64;
        st.below_zero += below;
        if chance(&mut self.stock.rng, p) {
            let t = self.now + between(&mut self.stock.rng, 10 * MINUTE, 2 * HOUR);
            self.at(t, Ev::Stock(StockEv::Refund(s, id, stock)));
        }
    }

    /// The whole sale back at its store (`OrderState::decide`), its stock
    /// lines on the refund's op.
    fn stock_refund(&mut self, s: usize, order: OrderId, lines: Vec<StockQty>) {
        let Some(o) = self.nodes[s].st.orders.get(&order) else {
            // The sale was lost in a crash before it was durable.
            *self
                .stock_stats()
                .refused
                .entry("order_not_found")
                .or_default() += 1;
            return;
        };
        let o = o.state().into_owned();
        let e = self.next_entity(s);
        let rid = RefundId::mint(&self.names[s], e);
        let at = self.tick(s);
        match o.decide(rid, &self.names[s], at, None, "退货", 0) {
            Ok(refund) => {
                let idem = self.idem();
                let body = OpBody::Refunded {
                    refund,
                    stock: lines,
                };
                let rec = self.make(s, at, "till", Some(idem), body);
                self.ack(s, &rec);
                self.stock_stats().refunds += 1;
            }
            Err(e) => {
                *self.stock_stats().refused.entry(e.code()).or_default() += 1;
            }
        }
    }

    /// A transfer of one or two skus on hand to another store, received
    /// by it `receive_after` later.
    fn stock_ship(&mut self, s: usize) {
        let have = self.on_hand(s);
        if have.is_empty() || self.stores < 2 {
            self.stock_stats().skipped += 1;
            return;
        }
        let k = self.stock.rng.random_range(0..self.stores - 1);
        let to = if k >= s { k + 1 } else { k };
        let n = between(&mut self.stock.rng, 1, 2.min(have.len() as u64)) as usize;
        let first = self.stock.rng.random_range(0..have.len());
        let mut lines = Vec::new();
        for i in 0..n {
            let (sku, unit, q) = have[(first + i) % have.len()].clone();
            let qty = self.some_of(unit, q, 5);
            lines.push(StockQty { sku, qty });
        }
        let e = self.next_entity(s);
        let id = TransferId::mint(&self.names[s], e);
        let ask = StockAsk::Ship {
            id: id.clone(),
            to: self.names[to].clone(),
            note: String::new(),
            lines,
        };
        if let Ok(d) = self.stock_decide(s, &ask) {
            self.stock_make(s, d.change);
            self.stock_stats().shipped += 1;
            let k = self.sc.stock.as_ref().expect("stock");
            let (lo, hi) = (k.receive_after[0].ms(), k.receive_after[1].ms());
            let t = self.now + between(&mut self.stock.rng, lo, hi);
            let life = self.nodes[to].life;
            let ev = StockEv::Receive {
                at: to,
                id,
                from: s,
                life,
                again: false,
            };
            self.at(t, Ev::Stock(ev));
        }
    }

    /// The destination receives what arrived (some lines short), once it
    /// holds the ship; `again`: the delivery note scanned a second time.
    fn stock_receive(&mut self, d: usize, id: TransferId, from: usize, life: u64, again: bool) {
        let Some(state) = self.nodes[d].st.stock.transfers.get(&id).cloned() else {
            // The ship has not reached the destination yet.
            self.stock_stats().receive_waits += 1;
            let ev = StockEv::Receive {
                at: d,
                id,
                from,
                life,
                again,
            };
            self.at(self.now + 10 * MINUTE, Ev::Stock(ev));
            return;
        };
        let k = self.sc.stock.as_ref().expect("stock");
        let (p_short, p_again) = (k.short.ppm(), k.again.ppm());
        let shipment = state.shipment().clone();
        let mut lines = Vec::new();
        let mut short = false;
        for l in &shipment.lines {
            let mut qty = l.qty;
            if chance(&mut self.stock.rng, p_short) {
                short = true;
                qty = if l.qty.fract().is_zero() {
                    l.qty - Decimal::ONE
                } else {
                    (l.qty * Decimal::new(9, 1)).round_dp(3)
                };
            }
            lines.push(StockQty {
                sku: l.sku.clone(),
                qty,
            });
        }
        let ask = StockAsk::Receive {
            id: id.clone(),
            note: String::new(),
            lines,
        };
        if again {
            self.stock_stats().again += 1;
        }
        let decided = match self.stock_decide(d, &ask) {
            Ok(x) => x,
            Err(StockError::AlreadyReceived { .. })
                if again && self.mutant(d, Mutation::ReceiveTwice) =>
            {
                // The mutant takes the second scan as a first: decided
                // over its book with the transfer back in transit.
                let mut book: StockBook = self.nodes[d].st.stock.clone();
                book.transfers
                    .by_id
                    .insert(id.clone(), TransferState::InTransit(shipment));
                let units = self.stock.units.clone();
                match decide(
                    &book,
                    &self.names[d],
                    &ask,
                    &|sku| units.get(sku).copied(),
                    &self.names[..self.stores],
                ) {
                    Ok(x) => x,
                    Err(_) => return,
                }
            }
            Err(_) => return,
        };
        let cut_off = self.separated(d, from);
        let restarted = self.nodes[d].life != life;
        self.stock_make(d, decided.change);
        if again {
            return;
        }
        let st = self.stock_stats();
        st.received += 1;
        st.received_cut_off += u64::from(cut_off);
        st.received_after_restart += u64::from(restarted);
        st.received_short += u64::from(short);
        if chance(&mut self.stock.rng, p_again) {
            let t = self.now + between(&mut self.stock.rng, 10 * MINUTE, HOUR);
            let ev = StockEv::Receive {
                at: d,
                id,
                from,
                life,
                again: true,
            };
            self.at(t, Ev::Stock(ev));
        }
    }

    /// A stocktake of some skus: most counts agree with the book, some
    /// differ by a piece or some grams; a book below zero is counted as
    /// an empty shelf. Refused while a counted sku is under transfer.
    fn stock_count(&mut self, s: usize) {
        let skus = self.skus().to_vec();
        let mut counts = Vec::new();
        for (i, k) in skus.iter().enumerate() {
            // Each sku by a coin; the last when none was picked.
            let picked = self.stock.rng.random_bool(0.5);
            let last_chance = counts.is_empty() && i + 1 == skus.len();
            if !(picked || last_chance) {
                continue;
            }
            let book = self.nodes[s]
                .st
                .stock
                .ledger(&self.names[s], &k.sku)
                .on_hand;
            let mut counted = book.max(Decimal::ZERO);
            if self.stock.rng.random_bool(0.3) {
                let d = match k.unit {
                    Unit::Whole => Decimal::ONE,
                    Unit::Measured => grams(between(&mut self.stock.rng, 10, 300)),
                };
                counted = if self.stock.rng.random_bool(0.5) {
                    counted + d
                } else {
                    (counted - d).max(Decimal::ZERO)
                };
            }
            counts.push(StockCount {
                sku: k.sku.clone(),
                counted,
            });
        }
        let ask = StockAsk::Count {
            note: "盘点".into(),
            counts,
        };
        if let Ok(d) = self.stock_decide(s, &ask) {
            let variances = d.variance.as_ref().map_or(0, |v| {
                v.lines.iter().filter(|l| !l.variance.is_zero()).count() as u64
            });
            self.stock_make(s, d.change);
            let st = self.stock_stats();
            st.stocktakes += 1;
            st.variances += variances;
        }
    }

    fn stock_minimums(&mut self, s: usize) {
        let skus = self.skus().to_vec();
        let k = &skus[self.stock.rng.random_range(0..skus.len())];
        let qty = if self.stock.rng.random_bool(0.2) {
            Decimal::ZERO
        } else {
            self.stock_qty(k.unit, 5, 20)
        };
        let ask = StockAsk::Minimums {
            lines: vec![StockQty {
                sku: k.sku.clone(),
                qty,
            }],
        };
        if let Ok(d) = self.stock_decide(s, &ask) {
            self.stock_make(s, d.change);
            self.stock_stats().minimums += 1;
        }
    }

    /// After `rec` was appended at `n`: an op made here that carries stock
    /// is noted (the checks find it by its seq); after a receive, the stock
    /// checks.
    pub(super) fn stock_appended(&mut self, n: usize, rec: &OpRec, local: bool) {
        if self.sc.stock.is_none() {
            return;
        }
        if local && carries_stock(&rec.op.body) {
            self.stock.seqs[n].push(rec.op.id.seq);
        }
        if matches!(
            &rec.op.body,
            OpBody::StockChanged {
                change: StockChange::Receive { .. }
            }
        ) {
            self.check_stock(n);
        }
    }

    /// The ops carrying stock node `n` holds (in its log, not rejected).
    fn stock_applied(&self, n: usize) -> Vec<&Op> {
        let node = &self.nodes[n];
        self.stock
            .seqs
            .iter()
            .enumerate()
            .flat_map(|(o, seqs)| {
                seqs.iter()
                    .take_while(move |&&s| s <= node.held[o])
                    .map(move |&s| &node.log[o][(s - 1) as usize].op)
            })
            .filter(|op| !node.rejected.contains(&op.id))
            .collect()
    }

    /// The stock checks (`crate::stock::ops_problem`) at node `n`.
    pub(super) fn check_stock(&mut self, n: usize) {
        if self.sc.stock.is_none() || !self.nodes[n].up {
            return;
        }
        let ops = self.stock_applied(n);
        let (problem, _) = crate::stock::ops_problem(&self.nodes[n].st.stock, ops.into_iter());
        if let Some((inv, d)) = problem {
            self.violate(inv, Some(n), d);
        }
    }

    /// A crash at `n` lost its ops after `kept`: their stock seqs too.
    pub(super) fn stock_lost(&mut self, n: usize, kept: u64) {
        self.stock.seqs[n].retain(|&s| s <= kept);
    }

    /// At convergence: every node's book equal to the first's (named by
    /// store and sku where not), and the report's figures per sku.
    pub(super) fn stock_final(&mut self) {
        if self.sc.stock.is_none() {
            return;
        }
        for n in 1..self.nodes.len() {
            if let Some(d) =
                crate::stock::book_diff(&self.nodes[0].st.stock, &self.nodes[n].st.stock)
            {
                let d = format!(
                    "{} and {} hold the same ops but their stock differs: {d}",
                    self.names[0], self.names[n]
                );
                return self.violate("stock_conservation", Some(n), d);
            }
        }
        let ops = self.stock_applied(0);
        let (_, end) = crate::stock::ops_problem(&self.nodes[0].st.stock, ops.into_iter());
        self.stock_stats().end = end;
    }
}

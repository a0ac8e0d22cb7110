//! The event loop: simulated time, the network, the faults, the workload,
//! the escrow conversations, and the invariant checks after every step.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tongka_core::checkout::{
    self, Buyer, CheckoutContext, CheckoutError, LineInput, TenderInput, TenderKind,
};
use tongka_core::clock::{Hlc, HlcClock, VersionVector};
use tongka_core::escrow::Want;
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, RechargeId, RefundId};
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::money::Money;
use tongka_core::op::{OpBody, OpDraft};
use tongka_core::programme::Programme;
use tongka_core::programme_doc;
use tongka_core::refund::RefundLine;
use tongka_core::state::{self};
use tongka_sync::{Msg, OpRef, Replica, ReplicaConfig};

use crate::ids::Fx;
use crate::node::{
    Ids, LogView, Materialised, Node, OpRec, Purpose, Rec, Sale, Touched, wallet_summary,
};
use crate::queue::Queue;
use crate::report::{HealRecord, Report, Sample, StoreStats};
use crate::scenario::{Fault, HomeDist, Scenario};
use crate::{Mutation, Violation};

mod escrow;
mod merges;

use escrow::escrow_config;
use tongka_machine::escrow::Escrow;

/// Simulated time 0, as wall-clock milliseconds (2025-01-01T00:00:00Z).
pub(crate) const EPOCH_MS: u64 = 1_735_689_600_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
const CHAIN: &str = "tongka-sim";

/// A client's request, kept whole so a retry sends exactly the same one.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Register {
        model: usize,
        store: usize,
        idem: String,
        dup: bool,
    },
    Recharge {
        model: usize,
        store: usize,
        amount: Money,
        idem: String,
    },
    Checkout {
        model: usize,
        store: usize,
        price: Money,
        balance: bool,
        idem: String,
        /// The spend was made while the store was cut off by a partition.
        cut_off: bool,
        /// Escrow already asked: the next shortfall declines.
        second: bool,
        /// Points to pay with (`workload.redemptions`); 0 = none.
        points: i64,
    },
    Refund {
        model: usize,
        store: usize,
        order: OrderId,
        partial: bool,
        idem: String,
    },
    Edit {
        model: usize,
        store: usize,
        patch: ProfilePatch,
    },
}

impl Request {
    fn store(&self) -> usize {
        match self {
            Request::Register { store, .. }
            | Request::Recharge { store, .. }
            | Request::Checkout { store, .. }
            | Request::Refund { store, .. }
            | Request::Edit { store, .. } => *store,
        }
    }
}

/// A message on the simulated network: the protocol's own messages, except
/// that ops travel as shared handles rather than encoded bytes.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    /// `Hello`, `Have`, `Ask` (shared: one `Have` goes to many peers).
    Ctl(Arc<Msg>),
    Ops(Vec<Rec>),
    Gave(u64, Vec<Rec>),
}

#[derive(Debug)]
enum Ev {
    Request(Box<Request>, bool),
    Setup(usize),
    Checkout(usize),
    Recharge(usize),
    Edit(usize),
    Register,
    /// HQ edits the programme.
    ProgrammeEdit,
    Deliver {
        from: usize,
        to: usize,
        epoch: u64,
        msg: Wire,
    },
    Have(usize, u64),
    Push(usize, u64),
    AskTimeout(usize, u64, u64),
    FaultStart(usize),
    FaultEnd(usize),
    Flap(usize, bool),
    Sample,
    Chunk(u64),
    EndWorkload,
    Probe,
    /// A node's group commit: what it appended becomes durable.
    Sync(usize, u64),
    /// An operator lists a store's duplicates and merges them.
    MergeScan,
}

struct Link {
    a: usize,
    b: usize,
    up: bool,
    epoch: u64,
    flap_down: bool,
    flaps: bool,
    delay: [u64; 2],
    /// The last delivery time scheduled a→b and b→a (FIFO).
    fifo: [u64; 2],
}

#[derive(Debug, Clone)]
struct MemberModel {
    phone: String,
    home: usize,
    id: Option<MemberId>,
    /// Chain-wide balance by the acknowledged ops, less spends in flight.
    balance: Money,
    edits: u64,
}

struct HealWatch {
    label: String,
    at: u64,
    target: Vec<u64>,
}

/// Shorthand for `rng.random_range(0..1_000_000) < ppm`.
fn chance(rng: &mut ChaCha8Rng, ppm: u32) -> bool {
    ppm > 0 && rng.random_range(0..1_000_000u32) < ppm
}

fn between(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// About how many ops and sales a scenario's run makes (a capacity hint,
/// with a tenth more; at most 2^26).
fn expected(sc: &Scenario) -> (usize, usize) {
    let m = Decimal::from(sc.members.initial);
    let days = Decimal::from(sc.time.duration.ms()) / Decimal::from(DAY);
    let w = &sc.workload;
    let made = w.checkouts.0 + w.recharges.0 + w.profile_edits.0 + w.registrations.0;
    let ops = m * Decimal::TWO + m * days * made;
    let sales = m * days * w.checkouts.0;
    let cap = |d: Decimal| {
        (d * Decimal::new(11, 1))
            .to_usize()
            .unwrap_or(0)
            .min(1 << 26)
    };
    (cap(ops), cap(sales))
}

/// How many events of an expected (decimal) count: the whole part, and one
/// more with the probability of the fraction.
fn count(rng: &mut ChaCha8Rng, expected: Decimal) -> u64 {
    let whole = expected.trunc();
    let frac = expected - whole;
    let mut n = whole.to_u64().unwrap_or(0);
    let ppm = (frac * Decimal::from(1_000_000))
        .round()
        .to_u32()
        .unwrap_or(0);
    if chance(rng, ppm) {
        n += 1;
    }
    n
}

pub(crate) struct Sim<'a> {
    sc: &'a Scenario,
    mutation: Mutation,
    now: u64,
    step: u64,
    queue: Queue<Ev>,
    seq: u64,
    rng_work: ChaCha8Rng,
    rng_net: ChaCha8Rng,
    names: Vec<NodeId>,
    index: BTreeMap<NodeId, usize>,
    stores: usize,
    nodes: Vec<Node>,
    /// Member and order numbers, shared by the nodes' states.
    ids: Ids,
    /// Every op ever made, by origin: the canonical copies.
    ops: Vec<Vec<Rc<OpRec>>>,
    links: Vec<Link>,
    /// Active partitions: for each, the group of each node (if listed).
    partitions: BTreeMap<usize, Vec<Option<usize>>>,
    cut_off: Vec<bool>,
    models: Vec<MemberModel>,
    next_idem: u64,
    /// Idempotency key → the op that answered it (chain-wide, at most once).
    /// (origin, seq); hashed: only looked up.
    idem_ops: HashMap<String, (u32, u64), BuildHasherDefault<Fx>>,
    /// Ops acknowledged to clients.
    acked: Vec<Vec<u64>>,
    workload_over: bool,
    heal_watch: Option<HealWatch>,
    probe_due: bool,
    final_heal: Option<u64>,
    finished: bool,
    pub violation: Option<Violation>,
    pub report: Report,
    home_cum: Vec<u64>,
    // Parameters in parts per million.
    p_other: u32,
    p_balance: u32,
    p_refund: u32,
    p_redeem: u32,
    p_overspend: u32,
    /// The programme every node starts from when the scenario has
    /// redemptions (`points::initial`).
    start_programme: Option<(Vec<u8>, Arc<tongka_core::programme::Programme>)>,
    p_dup: u32,
    p_retry: u32,
    p_loss: u32,
    p_dupmsg: u32,
    p_reorder: u32,
    max_delay: u64,
    have_every: u64,
    group_commit: u64,
    checks: u64,
    /// Messages sent, by kind (`MSG_KINDS`).
    msg_counts: [u64; 5],
    /// Member merges (`workload.merges`): see `merges.rs`.
    merge: merges::MergeWork,
    /// Room to encode an op in (`OpRec::new`).
    enc: Vec<u8>,
}

/// The message kinds, as the report names them.
const MSG_KINDS: [&str; 5] = ["hello", "have", "ask", "ops", "gave"];

impl<'a> Sim<'a> {
    pub fn new(sc: &'a Scenario, seed: u64, mutation: Mutation) -> Sim<'a> {
        let names: Vec<NodeId> = sc
            .node_names()
            .into_iter()
            .map(|n| NodeId::new(n).expect("node names are valid"))
            .collect();
        let index: BTreeMap<NodeId, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let n = names.len();
        let stores = sc.chain.stores as usize;
        let cfg = ReplicaConfig {
            chain: CHAIN.into(),
            ..ReplicaConfig::default()
        };
        let ids = Ids::new();
        // Sized once for the ops the scenario makes, not grown by copying.
        let (ops_hint, sales_hint) = expected(sc);
        let per_origin = ops_hint / stores.max(1);
        let log = || {
            (0..n)
                .map(|o| Vec::with_capacity(if o < stores { per_origin } else { 0 }))
                .collect::<Vec<_>>()
        };
        ids.orders.borrow_mut().reserve(sales_hint);
        let nodes = names
            .iter()
            .enumerate()
            .map(|(i, name)| Node {
                name: name.clone(),
                log: log(),
                commit_order: Vec::with_capacity(ops_hint),
                rejected: BTreeSet::new(),
                entity_hwm: 0,
                up: true,
                life: 0,
                disk_full: false,
                skew: 0,
                replica: Replica::new(name.clone(), VersionVector::new(), cfg.clone()),
                clock: HlcClock::default(),

                held: vec![0; n],
                st: {
                    let mut st = Materialised::new(&ids);
                    st.orders.reserve(sales_hint);
                    st
                },
                entity: 0,
                idem: HashSet::default(),
                escrow: Escrow::new(escrow_config(sc, mutation, i)),
                have_told: vec![(0, 0); n],
                have_due: false,
                push_due: false,
                side_applied: BTreeSet::new(),
                synced: 0,
                sync_due: false,
                pending_acks: Vec::new(),
                pending_gaves: Vec::new(),
                deps_made: None,
            })
            .collect();
        let mut max_delay = sc.network.delay[1].ms();
        let mut links = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let mut delay = [sc.network.delay[0].ms(), sc.network.delay[1].ms()];
                for l in &sc.network.links {
                    let (x, y) = (&l.between[0], &l.between[1]);
                    if (x == names[a].as_str() && y == names[b].as_str())
                        || (y == names[a].as_str() && x == names[b].as_str())
                    {
                        delay = [l.delay[0].ms(), l.delay[1].ms()];
                    }
                }
                max_delay = max_delay.max(delay[1]);
                let flaps = sc.network.flap.as_ref().is_some_and(|f| {
                    f.links.is_empty()
                        || f.links.iter().any(|[x, y]| {
                            (x == names[a].as_str() && y == names[b].as_str())
                                || (y == names[a].as_str() && x == names[b].as_str())
                        })
                });
                links.push(Link {
                    a,
                    b,
                    up: false,
                    epoch: 0,
                    flap_down: false,
                    flaps,
                    delay,
                    fifo: [0, 0],
                });
            }
        }
        let stats = names[..stores]
            .iter()
            .map(|nm| StoreStats::new(nm.as_str()))
            .collect();
        let report = Report::new(
            sc,
            seed,
            stats,
            names.iter().map(|n| n.to_string()).collect(),
        );
        let rng_work = ChaCha8Rng::seed_from_u64(seed);
        let mut rng_net = ChaCha8Rng::seed_from_u64(seed);
        rng_net.set_stream(1);
        let mut sim = Sim {
            sc,
            mutation,
            now: 0,
            step: 0,
            queue: Queue::default(),
            seq: 0,
            rng_work,
            rng_net,
            names,
            index,
            stores,
            nodes,
            ids,
            ops: log(),
            links,
            partitions: BTreeMap::new(),
            cut_off: vec![false; n],
            models: Vec::new(),
            next_idem: 1,
            idem_ops: HashMap::default(),
            acked: vec![Vec::new(); n],
            workload_over: false,
            heal_watch: None,
            probe_due: false,
            final_heal: None,
            finished: false,
            violation: None,
            report,
            home_cum: Vec::new(),
            p_other: sc.members.other_store.ppm(),
            p_balance: sc.workload.balance_paid.ppm(),
            p_refund: sc.workload.refunds.ppm(),
            p_redeem: sc.workload.redemptions.ppm(),
            p_overspend: sc.workload.overspends.ppm(),
            start_programme: (sc.workload.redemptions.ppm() > 0).then(crate::points::initial),
            p_dup: sc.workload.duplicate_registrations.ppm(),
            p_retry: sc.workload.retries.ppm(),
            p_loss: sc.network.loss.ppm(),
            p_dupmsg: sc.network.duplicate.ppm(),
            p_reorder: sc.network.reorder.ppm(),
            max_delay,
            have_every: sc.time.have_every.map_or(sc.time.tick.ms(), |d| d.ms()),
            group_commit: sc.time.group_commit.map_or(0, |d| d.ms()),
            checks: 0,
            msg_counts: [0; 5],
            merge: merges::MergeWork::new(sc),
            enc: Vec::with_capacity(4096),
        };
        if let Some(p) = &sim.start_programme {
            for node in &mut sim.nodes {
                crate::points::start(&mut node.st, p);
            }
        }
        sim
    }

    fn at(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(at, self.seq, ev);
    }

    fn violate(&mut self, invariant: &'static str, node: Option<usize>, detail: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation {
                seed: self.report.seed,
                invariant: invariant.into(),
                step: self.step,
                at_ms: self.now,
                node: node.map(|i| self.names[i].to_string()),
                detail,
            });
        }
    }

    fn mutant(&self, node: usize, m: Mutation) -> bool {
        self.mutation == m && node == 0
    }

    // ---------------------------------------------------------------- run

    pub fn run(self) -> (Report, Option<Violation>) {
        self.run_then(true)
    }

    /// `run`, leaving the run's state unfreed when `free` is false: for a
    /// process that ends after one run (`bench`), where freeing a large
    /// chain-day's ops and states one by one is a tenth of the run.
    pub fn run_then(mut self, free: bool) -> (Report, Option<Violation>) {
        self.setup();
        self.merge_mutate(0);
        while let Some((at, ev)) = self.queue.pop() {
            if self.violation.is_some() || self.finished {
                break;
            }
            self.now = at;
            self.step += 1;
            self.handle(ev);
            self.after_step();
        }
        if self.violation.is_none() && !self.finished {
            self.violate(
                "convergence",
                None,
                "the run ended without the chain converging".into(),
            );
        }
        let mut report = self.report;
        for (kind, &c) in MSG_KINDS.iter().zip(&self.msg_counts) {
            if c > 0 {
                report.messages.insert(kind, c);
            }
        }
        report.steps = self.step;
        report.checks = self.checks;
        report.violation = self.violation.clone();
        if !free {
            std::mem::forget((
                std::mem::take(&mut self.nodes),
                std::mem::take(&mut self.ops),
                std::mem::take(&mut self.ids),
            ));
        }
        (report, self.violation)
    }

    fn setup(&mut self) {
        let sc = self.sc;
        let n = self.names.len();
        // Home weights.
        let weights: Vec<u64> = match &sc.members.home {
            HomeDist::Weights(w) => w.iter().map(|x| u64::from(*x)).collect(),
            HomeDist::Named(_) => vec![1; self.stores],
        };
        let mut cum = 0;
        for w in &weights {
            cum += w;
            self.home_cum.push(cum);
        }
        for i in 0..sc.members.initial as usize {
            self.new_model();
            // Registrations spread over the first minute.
            let t = between(&mut self.rng_work, 0, 60_000);
            self.at(t, Ev::Setup(i));
        }
        self.bring_links_up();
        for (i, f) in sc.faults.iter().enumerate() {
            match f {
                Fault::Partition { at, heal, .. } => {
                    self.at(at.ms(), Ev::FaultStart(i));
                    self.at(heal.ms(), Ev::FaultEnd(i));
                }
                Fault::Crash { at, restart, .. } => {
                    self.at(at.ms(), Ev::FaultStart(i));
                    self.at(restart.ms(), Ev::FaultEnd(i));
                }
                Fault::DiskFull { at, until, .. } => {
                    self.at(at.ms(), Ev::FaultStart(i));
                    self.at(until.ms(), Ev::FaultEnd(i));
                }
                Fault::ClockSkew { at, .. } => self.at(at.ms(), Ev::FaultStart(i)),
            }
        }
        if let Some(f) = &sc.network.flap {
            for l in 0..self.links.len() {
                if self.links[l].flaps {
                    let t = between(&mut self.rng_net, f.up[0].ms(), f.up[1].ms());
                    self.at(t, Ev::Flap(l, true));
                }
            }
        }
        self.at(60_000, Ev::Chunk(0));
        self.at(sc.time.sample.ms(), Ev::Sample);
        self.at(sc.time.duration.ms(), Ev::EndWorkload);
        let _ = n;
    }

    fn new_model(&mut self) -> usize {
        let i = self.models.len();
        let total = *self.home_cum.last().unwrap_or(&1);
        let r = self.rng_work.random_range(0..total.max(1));
        let home = self.home_cum.iter().position(|c| r < *c).unwrap_or(0);
        self.models.push(MemberModel {
            phone: format!("13{:09}", i),
            home,
            id: None,
            balance: Money::ZERO,
            edits: 0,
        });
        i
    }

    fn idem(&mut self) -> String {
        let k = format!("k{}", self.next_idem);
        self.next_idem += 1;
        k
    }

    /// Generate the workload of one hour.
    fn chunk(&mut self, hour: u64) {
        if self.workload_over {
            return;
        }
        let sc = self.sc;
        let start = 60_000 + hour * HOUR;
        let end = (start + HOUR).min(sc.time.duration.ms());
        if start >= end {
            return;
        }
        let span = end - start;
        let members = Decimal::from(self.models.len() as u64);
        let frac = Decimal::from(span) / Decimal::from(DAY);
        let w = &sc.workload;
        let kinds: [(Decimal, u8); 4] = [
            (w.checkouts.0, 0),
            (w.recharges.0, 1),
            (w.profile_edits.0, 2),
            (w.registrations.0, 3),
        ];
        for (rate, kind) in kinds {
            let n = count(&mut self.rng_work, rate * members * frac);
            for _ in 0..n {
                let t = start + self.rng_work.random_range(0..span);
                let m = self.rng_work.random_range(0..self.models.len().max(1));
                let ev = match kind {
                    0 => Ev::Checkout(m),
                    1 => Ev::Recharge(m),
                    2 => Ev::Edit(m),
                    _ => Ev::Register,
                };
                self.at(t, ev);
            }
        }
        // Per day, not per member; only drawn when asked for, so scenarios
        // without it keep their random stream.
        if !w.programme_changes.is_zero() {
            let n = count(&mut self.rng_work, w.programme_changes.0 * frac);
            for _ in 0..n {
                let t = start + self.rng_work.random_range(0..span);
                self.at(t, Ev::ProgrammeEdit);
            }
        }
        self.schedule_merge_scan(start, span);
        if end < sc.time.duration.ms() {
            self.at(end, Ev::Chunk(hour + 1));
        }
    }

    fn pick_store(&mut self, model: usize) -> usize {
        let home = self.models[model].home;
        if self.stores > 1 && chance(&mut self.rng_work, self.p_other) {
            let k = self.rng_work.random_range(0..self.stores - 1);
            if k >= home { k + 1 } else { k }
        } else {
            home
        }
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Setup(m) => {
                let idem = self.idem();
                let store = self.models[m].home;
                self.request(
                    Request::Register {
                        model: m,
                        store,
                        idem,
                        dup: false,
                    },
                    false,
                );
                if !self.sc.members.initial_balance.is_empty() {
                    let k = self
                        .rng_work
                        .random_range(0..self.sc.members.initial_balance.len());
                    let amount = self.sc.members.initial_balance[k];
                    let idem = self.idem();
                    let t = self.now + 1_000;
                    self.at(
                        t,
                        Ev::Request(
                            Box::new(Request::Recharge {
                                model: m,
                                store,
                                amount,
                                idem,
                            }),
                            false,
                        ),
                    );
                }
            }
            Ev::Chunk(h) => self.chunk(h),
            Ev::Checkout(m) => {
                if self.workload_over || self.models[m].id.is_none() {
                    return;
                }
                let store = self.pick_store(m);
                let (lo, hi) = (
                    self.sc.workload.price[0].fen(),
                    self.sc.workload.price[1].fen(),
                );
                let mut price =
                    Money::from_fen(between(&mut self.rng_work, lo as u64, hi as u64) as i64);
                let mut balance = chance(&mut self.rng_work, self.p_balance);
                if balance {
                    let have = self.models[m].balance;
                    if have < self.sc.workload.price[0] || !have.is_positive() {
                        balance = false;
                    } else if self.p_overspend > 0 && chance(&mut self.rng_work, self.p_overspend) {
                        // More than the member holds: declined (which
                        // gives the model its price back).
                        price += have;
                        self.models[m].balance -= price;
                    } else {
                        price = price.min(have);
                        self.models[m].balance -= price;
                    }
                }
                // Drawn only when redemptions are on: runs without them
                // draw the same numbers as before.
                let mut points = 0;
                if self.p_redeem > 0 && chance(&mut self.rng_work, self.p_redeem) {
                    let st = &self.nodes[store].st;
                    if let Some(id) = self.models[m].id.as_ref()
                        && let Some(member) = st.members.get(id)
                    {
                        points =
                            crate::points::ask(member.wallet.total().points, price, &st.programme);
                    }
                }
                let idem = self.idem();
                let cut_off = self.cut_off[store];
                self.request(
                    Request::Checkout {
                        model: m,
                        store,
                        price,
                        balance,
                        idem,
                        cut_off,
                        second: false,
                        points,
                    },
                    false,
                );
            }
            Ev::Recharge(m) => {
                if self.workload_over || self.models[m].id.is_none() {
                    return;
                }
                let store = self.pick_store(m);
                let amounts = &self.sc.workload.recharge_amounts;
                let amount = amounts[self.rng_work.random_range(0..amounts.len())];
                let idem = self.idem();
                self.request(
                    Request::Recharge {
                        model: m,
                        store,
                        amount,
                        idem,
                    },
                    false,
                );
            }
            Ev::Edit(m) => {
                if self.workload_over || self.models[m].id.is_none() {
                    return;
                }
                let store = self.pick_store(m);
                self.models[m].edits += 1;
                let e = self.models[m].edits;
                let patch = match self.rng_work.random_range(0..4u8) {
                    0 => ProfilePatch {
                        name: Some(format!("会员{m}-{e}")),
                        ..Default::default()
                    },
                    1 => ProfilePatch {
                        notes: Some(format!("note {e} at {}", self.names[store])),
                        ..Default::default()
                    },
                    2 => ProfilePatch {
                        tags: Some(vec![format!("t{}", e % 7)]),
                        ..Default::default()
                    },
                    _ => ProfilePatch {
                        birthday: Some(Some(format!(
                            "19{:02}-0{}-1{}",
                            50 + e % 50,
                            1 + e % 9,
                            e % 10
                        ))),
                        ..Default::default()
                    },
                };
                self.request(
                    Request::Edit {
                        model: m,
                        store,
                        patch,
                    },
                    false,
                );
            }
            Ev::Register => {
                if self.workload_over {
                    return;
                }
                let m = self.new_model();
                let store = self.models[m].home;
                let idem = self.idem();
                self.request(
                    Request::Register {
                        model: m,
                        store,
                        idem,
                        dup: false,
                    },
                    false,
                );
                if self.stores > 1 && chance(&mut self.rng_work, self.p_dup) {
                    let k = self.rng_work.random_range(0..self.stores - 1);
                    let other = if k >= store { k + 1 } else { k };
                    let idem = self.idem();
                    let t = self.now + between(&mut self.rng_work, 1_000, HOUR);
                    self.at(
                        t,
                        Ev::Request(
                            Box::new(Request::Register {
                                model: m,
                                store: other,
                                idem,
                                dup: true,
                            }),
                            false,
                        ),
                    );
                }
            }
            Ev::Request(r, retry) => {
                if self.workload_over && !retry {
                    return;
                }
                self.request(*r, retry)
            }
            Ev::Deliver {
                from,
                to,
                epoch,
                msg,
            } => self.deliver(from, to, epoch, msg),
            Ev::Have(n, life) => {
                if self.nodes[n].life == life && self.nodes[n].up {
                    self.nodes[n].have_due = false;
                    self.send_haves(n);
                }
            }
            Ev::Push(n, life) => {
                if self.nodes[n].life == life && self.nodes[n].up {
                    self.nodes[n].push_due = false;
                    self.push(n);
                }
            }
            Ev::AskTimeout(n, life, req) => {
                if self.nodes[n].life == life && self.nodes[n].up {
                    self.ask_timeout(n, req);
                }
            }
            Ev::FaultStart(i) => self.fault(i, true),
            Ev::FaultEnd(i) => self.fault(i, false),
            Ev::Flap(l, down) => {
                if self.workload_over {
                    return;
                }
                self.links[l].flap_down = down;
                self.report.flaps += u64::from(down);
                let f = self.sc.network.flap.as_ref().expect("flapping configured");
                let next = if down {
                    between(&mut self.rng_net, f.down[0].ms(), f.down[1].ms())
                } else {
                    between(&mut self.rng_net, f.up[0].ms(), f.up[1].ms())
                };
                self.at(self.now + next, Ev::Flap(l, !down));
                self.recompute_links();
                if !down {
                    self.maybe_watch(format!(
                        "link {}–{} back",
                        self.names[self.links[l].a], self.names[self.links[l].b]
                    ));
                }
            }
            Ev::Sample => {
                self.sample();
                if !self.finished {
                    let t = self.now + self.sc.time.sample.ms();
                    self.at(t, Ev::Sample);
                }
            }
            Ev::EndWorkload => self.end_workload(),
            Ev::ProgrammeEdit => self.programme_edit(),
            Ev::Sync(n, life) => {
                if self.nodes[n].life == life && self.nodes[n].up {
                    self.sync(n);
                }
            }
            Ev::Probe => {
                self.probe_due = false;
                self.probe();
            }
            Ev::MergeScan => self.merge_scan(),
        }
    }

    // ------------------------------------------------------------ faults

    fn fault(&mut self, i: usize, start: bool) {
        if self.workload_over {
            return;
        }
        let f = self.sc.faults[i].clone();
        match &f {
            Fault::Partition { groups, .. } => {
                if start {
                    let mut g = vec![None; self.names.len()];
                    for (k, grp) in groups.iter().enumerate() {
                        for name in grp {
                            g[self.idx(name)] = Some(k);
                        }
                    }
                    self.partitions.insert(i, g);
                } else {
                    self.partitions.remove(&i);
                }
                self.recompute_cut_off();
            }
            Fault::Crash { node, .. } => {
                let n = self.idx(node);
                if start {
                    self.crash(n);
                } else {
                    self.restart(n);
                }
            }
            Fault::DiskFull { node, .. } => {
                let n = self.idx(node);
                self.nodes[n].disk_full = start;
            }
            Fault::ClockSkew { node, skew, .. } => {
                let n = self.idx(node);
                self.nodes[n].skew = skew.0;
            }
        }
        self.recompute_links();
        if start {
            if !matches!(f, Fault::ClockSkew { .. }) {
                self.report.faults.push((self.now, f.describe()));
            }
            if let Some(w) = self.heal_watch.take() {
                self.report.heals.push(HealRecord {
                    label: w.label,
                    at: w.at,
                    converged_after: None,
                });
            }
        } else {
            self.maybe_watch(match &f {
                Fault::Partition { .. } => "partition healed".to_string(),
                Fault::Crash { node, .. } => format!("{node} restarted"),
                Fault::DiskFull { node, .. } => format!("{node} disk freed"),
                Fault::ClockSkew { .. } => String::new(),
            });
        }
    }

    fn idx(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n.as_str() == name)
            .expect("validated node name")
    }

    fn recompute_cut_off(&mut self) {
        let n = self.names.len();
        for a in 0..n {
            // Cut off from another store (HQ holds no shares).
            self.cut_off[a] = (0..self.stores).any(|b| b != a && self.separated(a, b));
        }
    }

    fn separated(&self, a: usize, b: usize) -> bool {
        self.partitions.values().any(|g| g[a] != g[b])
    }

    fn healthy(&self) -> bool {
        self.partitions.is_empty()
            && self.nodes.iter().all(|n| n.up && !n.disk_full)
            && self.links.iter().all(|l| !l.flap_down)
    }

    /// After a fault ends, if nothing else is wrong, time how long until
    /// every node holds every op that existed at that moment.
    fn maybe_watch(&mut self, label: String) {
        if !self.healthy() {
            return;
        }
        if let Some(w) = self.heal_watch.take() {
            self.report.heals.push(HealRecord {
                label: w.label,
                at: w.at,
                converged_after: None,
            });
        }
        let target = self.ops.iter().map(|o| o.len() as u64).collect();
        self.heal_watch = Some(HealWatch {
            label,
            at: self.now,
            target,
        });
        self.schedule_probe();
    }

    fn schedule_probe(&mut self) {
        if !self.probe_due {
            self.probe_due = true;
            let t = self.now + self.sc.time.tick.ms();
            self.at(t, Ev::Probe);
        }
    }

    fn probe(&mut self) {
        if let Some(w) = &self.heal_watch {
            let done = self
                .nodes
                .iter()
                .all(|n| n.held.iter().zip(&w.target).all(|(h, t)| h >= t));
            if done {
                let w = self.heal_watch.take().expect("checked");
                self.report.heals.push(HealRecord {
                    label: w.label,
                    at: w.at,
                    converged_after: Some(self.now - w.at),
                });
            }
        }
        if self.workload_over && !self.finished {
            self.final_check();
        }
        if (self.heal_watch.is_some() || (self.workload_over && !self.finished))
            && self.violation.is_none()
        {
            self.schedule_probe();
        }
    }

    fn crash(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        if !node.up {
            return;
        }
        node.up = false;
        node.life += 1;
        // Volatile state is gone; the log stays, up to its last commit.
        let lost: Vec<(u32, u32)> = node.commit_order.split_off(node.synced);
        node.sync_due = false;
        node.pending_acks.clear();
        node.pending_gaves.clear();
        let mut lost_own = Vec::new();
        for &(o, seq) in lost.iter().rev() {
            let rec = node.log[o as usize].pop().expect("logged");
            debug_assert_eq!(rec.op.id.seq, u64::from(seq));
            node.held[o as usize] -= 1;
            node.rejected.remove(&rec.op.id);
            if o as usize == n {
                lost_own.push(rec);
            }
        }
        node.st = Materialised::new(&self.ids);
        if let Some(p) = &self.start_programme {
            crate::points::start(&mut node.st, p);
        }
        node.side_applied.clear();
        node.have_due = false;
        node.push_due = false;
        for then in node.escrow.reset() {
            if let Purpose::Checkout(r, _) | Purpose::Redeem(r, _) = then {
                self.decline(&r, "store_down");
            }
        }
        self.report.crashes += 1;
        // Ops made here and lost were never acknowledged nor sent: as if
        // never made (a retry of the request decides it again).
        for rec in lost_own {
            self.ops[n].pop();
            self.report.ops_lost += 1;
            if let Some(k) = &rec.op.idem {
                self.idem_ops.remove(k);
            }
        }
        debug_assert_eq!(self.ops[n].len(), self.nodes[n].log[n].len());
    }

    /// Group commit at `n`: everything appended is durable now; tell the
    /// replica, acknowledge the clients, answer the escrow asks.
    fn sync(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.sync_due = false;
        for &(o, seq) in &node.commit_order[node.synced..] {
            let id = OpId {
                origin: self.names[o as usize].clone(),
                seq: u64::from(seq),
            };
            node.replica.durable(&id);
        }
        node.synced = node.commit_order.len();
        node.entity_hwm = node.entity_hwm.max(node.entity);
        let acks = std::mem::take(&mut node.pending_acks);
        let gaves = std::mem::take(&mut node.pending_gaves);
        self.acked[n].extend(acks);
        for (to, req, ops) in gaves {
            self.send(n, to, Wire::Gave(req, ops));
        }
        self.schedule_push(n);
        self.schedule_have(n);
    }

    fn restart(&mut self, n: usize) {
        if self.nodes[n].up {
            return;
        }
        let cfg = ReplicaConfig {
            chain: CHAIN.into(),
            ..ReplicaConfig::default()
        };
        let drop_notes = self.mutant(n, Mutation::MergeDropsField);
        let ignore_prog = self.mutant(n, Mutation::IgnoresProgramme);
        let names = self.names.clone();
        let node = &mut self.nodes[n];
        // Rebuild everything from the log, in commit order.
        let mut st = Materialised::new(&self.ids);
        if let Some(p) = &self.start_programme {
            crate::points::start(&mut st, p);
        }
        let mut max_hlc = Hlc::default();
        let mut replay_errors = Vec::new();
        for &(o, s) in &node.commit_order {
            let rec = node.log[o as usize][(s - 1) as usize].clone();
            max_hlc = max_hlc.max(rec.op.hlc);
            st.digest.add(&rec.hash);
            if node.rejected.contains(&rec.op.id) {
                continue;
            }
            let remote = o as usize != n;
            if let Err(e) = st.apply(
                &rec.op,
                Some(&rec),
                false,
                drop_notes && remote,
                ignore_prog && remote,
            ) {
                replay_errors.push(format!("{}: {}", rec.op.id, e.reason));
            }
        }
        let mut vv = VersionVector::new();
        let mut held = vec![0; names.len()];
        for (o, ops) in node.log.iter().enumerate() {
            if !ops.is_empty() {
                vv.raise(&names[o], ops.len() as u64);
                held[o] = ops.len() as u64;
            }
        }
        node.idem = node.log[n]
            .iter()
            .filter_map(|r| r.op.idem.clone())
            .collect();
        node.st = st;
        node.held = held;
        node.clock = HlcClock::starting_at(max_hlc);
        node.entity = node.entity_hwm;
        node.replica = Replica::new(node.name.clone(), vv, cfg);
        node.have_told = vec![(0, 0); names.len()];
        node.up = true;
        if let Some(e) = replay_errors.first() {
            self.violate(
                "authority",
                Some(n),
                format!("replaying the log at restart failed: {e}"),
            );
        }
        // Durability: everything acknowledged here is in the log.
        let have = self.nodes[n].log[n].len() as u64;
        if let Some(s) = self.acked[n].iter().find(|s| **s > have) {
            self.violate(
                "durability",
                Some(n),
                format!(
                    "acknowledged op {}#{s} is not in its log after restart",
                    names[n]
                ),
            );
        }
        self.full_sweep_node(n, &mut SweepCache::default());
        self.merge_restarted(n);
    }

    // ----------------------------------------------------------- network

    fn link_index(&self, a: usize, b: usize) -> usize {
        let (a, b) = (a.min(b), a.max(b));
        let n = self.names.len();
        // Pairs (a, b) with a < b, row by row.
        a * n - a * (a + 1) / 2 + (b - a - 1)
    }

    fn bring_links_up(&mut self) {
        self.recompute_links();
    }

    fn recompute_links(&mut self) {
        for l in 0..self.links.len() {
            let (a, b) = (self.links[l].a, self.links[l].b);
            let want = self.nodes[a].up
                && self.nodes[b].up
                && !self.nodes[a].disk_full
                && !self.nodes[b].disk_full
                && !self.links[l].flap_down
                && !self.separated(a, b);
            if want == self.links[l].up {
                continue;
            }
            self.links[l].up = want;
            self.links[l].epoch += 1;
            self.links[l].fifo = [0, 0];
            if want {
                for (x, y) in [(a, b), (b, a)] {
                    let peer = self.names[y].clone();
                    let hello = self.nodes[x].replica.connected(&peer);
                    self.nodes[x].have_told[y] = (u64::MAX, 0);
                    self.send(x, y, Wire::Ctl(Arc::new(hello)));
                }
            } else {
                for (x, y) in [(a, b), (b, a)] {
                    if self.nodes[x].up {
                        let peer = self.names[y].clone();
                        self.nodes[x].replica.disconnected(&peer);
                        self.schedule_links_have(x);
                    }
                }
            }
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        a != b && self.links[self.link_index(a, b)].up
    }

    fn send(&mut self, from: usize, to: usize, msg: Wire) {
        let l = self.link_index(from, to);
        if !self.links[l].up {
            return;
        }
        // Counted by kind (see `MSG_KINDS`), put in the report at the end.
        let kind = match &msg {
            Wire::Ctl(m) => match &**m {
                Msg::Hello { .. } => 0,
                Msg::Have { .. } => 1,
                Msg::Ask { .. } | Msg::AskPoints { .. } => 2,
                Msg::Ops { .. } => 3,
                Msg::Gave { .. } => 4,
            },
            Wire::Ops(_) => 3,
            Wire::Gave(..) => 4,
        };
        self.msg_counts[kind] += 1;
        let link = &self.links[l];
        let dir = usize::from(from != link.a);
        let mut t = self.now + between(&mut self.rng_net, link.delay[0], link.delay[1]);
        if chance(&mut self.rng_net, self.p_loss) {
            t += self.sc.network.retransmit.ms();
            self.report.lost += 1;
        }
        let epoch = link.epoch;
        let reorder = chance(&mut self.rng_net, self.p_reorder);
        let dup = chance(&mut self.rng_net, self.p_dupmsg);
        if reorder {
            // Ignores FIFO: may overtake or be overtaken.
            t += between(&mut self.rng_net, 0, self.max_delay * 4 + 1);
            self.report.reordered += 1;
        } else {
            t = t.max(self.links[l].fifo[dir]);
            self.links[l].fifo[dir] = t;
        }
        if dup {
            self.report.duplicated += 1;
            let t2 = t + between(&mut self.rng_net, 0, self.max_delay * 4 + 1);
            self.at(
                t2,
                Ev::Deliver {
                    from,
                    to,
                    epoch,
                    msg: msg.clone(),
                },
            );
        }
        self.at(
            t,
            Ev::Deliver {
                from,
                to,
                epoch,
                msg,
            },
        );
    }

    fn schedule_have(&mut self, n: usize) {
        if !self.nodes[n].have_due {
            self.nodes[n].have_due = true;
            let t = self.now + self.have_every;
            let life = self.nodes[n].life;
            self.at(t, Ev::Have(n, life));
        }
    }

    /// A change of links is told at the next tick.
    fn schedule_links_have(&mut self, n: usize) {
        let life = self.nodes[n].life;
        let t = self.now + self.sc.time.tick.ms();
        self.at(t, Ev::Have(n, life));
    }

    fn schedule_push(&mut self, n: usize) {
        if !self.nodes[n].push_due {
            self.nodes[n].push_due = true;
            let t = self.now + self.sc.time.tick.ms();
            let life = self.nodes[n].life;
            self.at(t, Ev::Push(n, life));
        }
    }

    fn send_haves(&mut self, n: usize) {
        let total: u64 = self.nodes[n].held.iter().sum();
        let told = (total, self.nodes[n].replica.links_epoch());
        let mut have: Option<Arc<Msg>> = None;
        for p in 0..self.names.len() {
            if p == n || !self.connected(n, p) || self.nodes[n].have_told[p] == told {
                continue;
            }
            self.nodes[n].have_told[p] = told;
            let m = have
                .get_or_insert_with(|| Arc::new(self.nodes[n].replica.have()))
                .clone();
            self.send(n, p, Wire::Ctl(m));
        }
    }

    fn push(&mut self, n: usize) {
        for p in 0..self.names.len() {
            if p == n || !self.connected(n, p) {
                continue;
            }
            loop {
                let node = &mut self.nodes[n];
                let peer = &self.names[p];
                if !node.replica.wants(peer) {
                    break;
                }
                let view = LogView {
                    log: &node.log,
                    stores: self.stores,
                    index: &self.index,
                };
                let ops = node.replica.next_ops(peer, &view);
                if ops.is_empty() {
                    break;
                }
                self.report.ops_sent += ops.len() as u64;
                self.send(n, p, Wire::Ops(ops));
            }
        }
    }

    fn deliver(&mut self, from: usize, to: usize, epoch: u64, msg: Wire) {
        let l = self.link_index(from, to);
        if !self.links[l].up || self.links[l].epoch != epoch || !self.nodes[to].up {
            return;
        }
        match &msg {
            Wire::Ops(ops) if self.mutant(to, Mutation::SkipCausalOrder) => {
                // The bug: apply what arrives at once, deps or not.
                for r in ops {
                    self.side_apply(to, &r.0);
                }
            }
            Wire::Gave(_, ops) if self.mutant(to, Mutation::TransferAppliedTwice) => {
                // The bug: apply the transfer from the answer directly, and
                // again when the replica delivers it.
                for r in ops {
                    self.side_apply(to, &r.0);
                }
            }
            _ => {}
        }
        let gave_ids = match &msg {
            Wire::Gave(_, ops) => Some(ops.iter().map(|o| o.op().id.clone()).collect::<Vec<_>>()),
            _ => None,
        };
        let peer = &self.names[from];
        let links_before = self.nodes[to].replica.links_epoch();
        let d = match msg {
            Wire::Ctl(m) => {
                let d = self.nodes[to].replica.receive_control(peer, &m);
                if matches!(&*m, Msg::Hello { .. } | Msg::Have { .. }) {
                    self.schedule_push(to);
                }
                d
            }
            Wire::Ops(ops) => self.nodes[to].replica.receive_ops(peer, ops, None),
            Wire::Gave(req, ops) => self.nodes[to].replica.receive_ops(peer, ops, Some(req)),
        };
        if self.nodes[to].replica.links_epoch() != links_before {
            self.schedule_links_have(to);
        }
        if let Some(reason) = d.refuse {
            self.violate(
                "protocol",
                Some(to),
                format!("{} refused {}: {reason}", self.names[to], self.names[from]),
            );
            return;
        }
        let applied = !d.apply.is_empty();
        for op in d.apply {
            self.commit_remote(to, op);
            if self.violation.is_some() {
                return;
            }
        }
        if applied || d.ack {
            self.schedule_have(to);
        }
        if applied {
            self.schedule_push(to);
            self.check_waits(to);
        }
        if let Some((req, member, want)) = d.ask {
            self.give(to, from, req, member, want);
        }
        if let Some(req) = d.gave {
            self.gave(to, req, gave_ids.unwrap_or_default());
        }
    }

    /// A node's index from its name (`store-N` is N − 1, `hq` the last).
    fn ix(&self, n: &NodeId) -> usize {
        node_ix(self.stores, &self.index, n)
    }

    // ----------------------------------------------------------- commits

    fn tick(&mut self, n: usize) -> Hlc {
        let p = self.phys(n);
        self.nodes[n].clock.tick(p)
    }

    fn phys(&self, n: usize) -> u64 {
        let t = (EPOCH_MS + self.now) as i64 + self.nodes[n].skew;
        t.max(0) as u64
    }

    /// Apply an op to a node's state outside its log (mutations).
    fn side_apply(&mut self, n: usize, rec: &OpRec) {
        let op = &rec.op;
        let node = &self.nodes[n];
        let o = rec.o as usize;
        if node.held[o] >= op.id.seq && !self.mutant(n, Mutation::TransferAppliedTwice) {
            return;
        }
        if node.side_applied.contains(&op.id) {
            return;
        }
        let ready = node.held[o] + 1 == op.id.seq
            && rec
                .deps
                .iter()
                .zip(&node.held)
                .all(|(&s, &h)| h >= u64::from(s));
        let already = node.held[o] >= op.id.seq;
        if !ready && !already {
            self.violate(
                "causality",
                Some(n),
                format!("{} applied before its causal past", op.id),
            );
        }
        if already {
            self.violate(
                "at_most_once",
                Some(n),
                format!("{} applied to state twice", op.id),
            );
        }
        let node = &mut self.nodes[n];
        node.side_applied.insert(op.id.clone());
        let _ = node.st.apply(op, None, false, false, false);
    }

    fn commit_remote(&mut self, n: usize, got: Rec) {
        let op = &got.0.op;
        let o = got.0.o as usize;
        let Some(rec) = self.ops[o].get((op.id.seq - 1) as usize).cloned() else {
            self.violate(
                "authority",
                Some(n),
                format!("{} received but never made by its origin", op.id),
            );
            return;
        };
        if !Rc::ptr_eq(&rec, &got.0) && rec.op != *op {
            self.violate(
                "authority",
                Some(n),
                format!("{} arrived with other content than its origin made", op.id),
            );
            return;
        }
        let phys = self.phys(n);
        if self.nodes[n].clock.observe(op.hlc, phys).is_err() {
            self.report.clock_refusals += 1;
        }
        // Causal order and exactly once: the op is its origin's next and
        // its past is here.
        let node = &self.nodes[n];
        if node.held[o] + 1 != op.id.seq {
            let what = if node.held[o] >= op.id.seq {
                ("at_most_once", "delivered twice")
            } else {
                ("causality", "delivered with a gap in its origin's log")
            };
            self.violate(what.0, Some(n), format!("{} {}", op.id, what.1));
            return;
        }
        let missing = rec
            .deps
            .iter()
            .zip(&node.held)
            .position(|(&s, &h)| h < u64::from(s))
            .map(|d| format!("{}#{}", self.names[d], rec.deps[d]));
        if let Some(dep) = missing {
            self.violate(
                "causality",
                Some(n),
                format!("{} delivered before its dependency {dep}", op.id),
            );
            return;
        }
        let side = self.nodes[n].side_applied.remove(&op.id);
        if side && self.mutant(n, Mutation::TransferAppliedTwice) {
            self.violate(
                "at_most_once",
                Some(n),
                format!("{} applied to state twice", op.id),
            );
        }
        let skip_state = side && self.mutant(n, Mutation::SkipCausalOrder);
        self.append(n, rec, false, skip_state);
    }

    /// Append an op to a node's log and fold it into its state, then check
    /// what it touched. `local`: made here now.
    fn append(&mut self, n: usize, rec: Rc<OpRec>, local: bool, skip_state: bool) {
        let o = rec.o as usize;
        let drop_notes = !local && self.mutant(n, Mutation::MergeDropsField);
        let ignore_prog = !local && self.mutant(n, Mutation::IgnoresProgramme);
        let forced = local && self.mutant(n, Mutation::SpendSkipsShareCheck);
        let node = &mut self.nodes[n];
        let result = if skip_state {
            Ok(None)
        } else {
            let r = node
                .st
                .apply(&rec.op, Some(&rec), true, drop_notes, ignore_prog)
                .map(Some);
            rec.memo.used(self.names.len() as u32);
            r
        };
        node.st.digest.add(&rec.hash);
        node.log[o].push(rec.clone());
        node.commit_order.push((
            o as u32,
            u32::try_from(rec.op.id.seq).expect("fewer than 2^32 ops per origin"),
        ));
        node.held[o] += 1;
        if self.group_commit == 0 {
            node.replica.durable(&rec.op.id);
            node.synced = node.commit_order.len();
            node.entity_hwm = node.entity_hwm.max(node.entity);
        } else if !node.sync_due {
            node.sync_due = true;
            let t = self.now + self.group_commit;
            let life = node.life;
            self.at(t, Ev::Sync(n, life));
        }
        match result {
            Ok(Some(t)) => self.check_touched_op(n, t, &rec),
            Ok(None) => {}
            Err(e) => {
                self.nodes[n].rejected.insert(rec.op.id.clone());
                if !forced {
                    let inv = match e.kind {
                        "overdraft" => "no_overdraft",
                        _ => "authority",
                    };
                    self.violate(
                        inv,
                        Some(n),
                        format!(
                            "{} rejected {} ({}): {}",
                            self.names[n],
                            rec.op.id,
                            rec.op.body.kind(),
                            e.reason
                        ),
                    );
                }
            }
        }
        self.merge_appended(n, &rec.op);
        self.check_node_totals(n);
        if local {
            self.schedule_push(n);
            self.schedule_have(n);
        }
    }

    /// Make an op here now: stamp it like the store writer does (next seq,
    /// deps = what is held of others), append and apply it.
    fn make(
        &mut self,
        n: usize,
        hlc: Hlc,
        actor: &str,
        idem: Option<String>,
        body: OpBody,
    ) -> Rc<OpRec> {
        let node = &self.nodes[n];
        let id = OpId {
            origin: node.name.clone(),
            seq: node.held[n] + 1,
        };
        let draft = OpDraft {
            hlc,
            actor: actor.into(),
            idem: idem.clone(),
            body,
        };
        let mut dense = vec![0u32; node.held.len()];
        for (o, &h) in node.held.iter().enumerate() {
            if o != n && h > 0 {
                dense[o] = u32::try_from(h).expect("fewer than 2^32 ops per origin");
            }
        }
        // Deps: what is held of others (the last op's, raised).
        let node = &mut self.nodes[n];
        let (made, vv) = node
            .deps_made
            .get_or_insert_with(|| (vec![0; node.held.len()], VersionVector::new()));
        if node.held.iter().zip(made.iter()).any(|(h, m)| h < m) {
            // Less held than then (a crash lost ops): anew.
            *made = vec![0; node.held.len()];
            *vv = VersionVector::new();
        }
        for (o, &h) in node.held.iter().enumerate() {
            if o != n && h > made[o] {
                vv.raise(&self.names[o], h);
                made[o] = h;
            }
        }
        let deps = vv.clone();
        let op = draft.stamp(id.clone(), deps);
        let rec = Rc::new(OpRec::new(
            op,
            n as u32,
            dense.into_boxed_slice(),
            &self.ids,
            &mut self.enc,
        ));
        if let Some(k) = idem {
            if let Some(&(fo, fs)) = self.idem_ops.get(&k) {
                let first = OpId {
                    origin: self.names[fo as usize].clone(),
                    seq: fs,
                };
                self.violate(
                    "at_most_once",
                    Some(n),
                    format!("idempotency key {k} decided twice: {first} and {id}"),
                );
            }
            self.idem_ops.insert(k.clone(), (n as u32, id.seq));
            self.nodes[n].idem.insert(k);
        }
        self.ops[n].push(rec.clone());
        self.append(n, rec.clone(), true, false);
        self.report.ops_made += 1;
        rec
    }

    // ---------------------------------------------------------- requests

    fn decline(&mut self, r: &Request, reason: &'static str) {
        let s = r.store();
        if let Request::Checkout {
            model,
            price,
            balance: true,
            cut_off,
            ..
        } = r
        {
            self.models[*model].balance += *price;
            let home = self.models[*model].home == s;
            let st = &mut self.report.stores[s];
            st.spend_declined(home, *cut_off);
        }
        if s < self.report.stores.len() {
            *self.report.stores[s].declines.entry(reason).or_default() += 1;
        }
    }

    fn request(&mut self, r: Request, retry: bool) {
        let s = r.store();
        if let Request::Checkout {
            model,
            balance: true,
            cut_off,
            second: false,
            ..
        } = &r
            && !retry
        {
            let home = self.models[*model].home == s;
            self.report.stores[s].spend_requested(home, *cut_off);
        }
        if !self.nodes[s].up {
            return self.decline(&r, "store_down");
        }
        if self.nodes[s].disk_full {
            return self.decline(&r, "storage_unavailable");
        }
        // Idempotency: the same key answers with the first answer.
        let key = match &r {
            Request::Register { idem, .. }
            | Request::Recharge { idem, .. }
            | Request::Checkout { idem, .. }
            | Request::Refund { idem, .. } => Some(idem.clone()),
            Request::Edit { .. } => None,
        };
        if let Some(k) = &key
            && self.nodes[s].idem.contains(k)
        {
            self.report.stores[s].replayed += 1;
            return;
        }
        if retry {
            self.report.stores[s].retries_decided += 1;
        }
        match r {
            Request::Register { .. } => self.register(r),
            Request::Recharge { .. } => self.recharge(r),
            Request::Checkout { .. } => self.checkout(r),
            Request::Refund { .. } => self.refund(r),
            Request::Edit { .. } => self.edit(r),
        }
    }

    fn next_entity(&mut self, n: usize) -> u64 {
        self.nodes[n].entity += 1;
        self.nodes[n].entity
    }

    fn maybe_retry(&mut self, r: &Request) {
        if chance(&mut self.rng_work, self.p_retry) {
            let t = self.now + between(&mut self.rng_work, 100, 5_000);
            self.at(t, Ev::Request(Box::new(r.clone()), true));
        }
    }

    fn register(&mut self, r: Request) {
        let Request::Register {
            model,
            store: s,
            ref idem,
            dup,
        } = r
        else {
            unreachable!()
        };
        let phone = self.models[model].phone.clone();
        if self.nodes[s]
            .st
            .phones
            .get(&phone)
            .is_some_and(|x| !x.is_empty())
        {
            return self.decline(&r, "phone_taken");
        }
        let e = self.next_entity(s);
        let member = MemberId::mint(&self.names[s], e);
        let profile = Profile {
            phone,
            name: format!("会员{model}"),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let hlc = self.tick(s);
        let rec = self.make(
            s,
            hlc,
            "till",
            Some(idem.clone()),
            OpBody::MemberRegistered {
                member: member.clone(),
                profile,
            },
        );
        self.ack(s, &rec);
        self.report.stores[s].registrations += 1;
        if dup {
            self.report.duplicate_registrations += 1;
            self.note_duplicate(model, s, member);
        } else {
            self.models[model].id = Some(member);
        }
        self.maybe_retry(&r);
    }

    /// Answer the client: at once when each op commits as it is made,
    /// else at the group commit (`AckBeforeDurable`: at once regardless).
    fn ack(&mut self, n: usize, rec: &OpRec) {
        if self.group_commit == 0 || self.mutant(n, Mutation::AckBeforeDurable) {
            self.acked[n].push(rec.op.id.seq);
        } else {
            self.nodes[n].pending_acks.push(rec.op.id.seq);
        }
    }

    /// The member a client (`model`) is at store `s`: see `merges::target`.
    fn member_id(&self, model: usize, s: usize) -> Option<MemberId> {
        self.target(model, s)
    }

    fn recharge(&mut self, r: Request) {
        let Request::Recharge {
            model,
            store: s,
            amount,
            ref idem,
        } = r
        else {
            unreachable!()
        };
        let Some(m) = self.member_id(model, s) else {
            return;
        };
        if !self.nodes[s].st.members.contains_key(&m) {
            return self.decline(&r, "member_not_found");
        }
        let e = self.next_entity(s);
        let rid = RechargeId::mint(&self.names[s], e);
        // The programme this store holds now, as the node decides.
        let programme = self.nodes[s].st.programme.clone();
        let body = match state::decide_recharge(&programme, &m, rid, amount, TenderKind::Cash) {
            Ok(b) => b,
            Err(_) => return self.decline(&r, "invalid_amount"),
        };
        let OpBody::Recharged { bonus, .. } = &body else {
            unreachable!()
        };
        let add = amount + *bonus;
        let hlc = self.tick(s);
        let rec = self.make(s, hlc, "till", Some(idem.clone()), body);
        self.ack(s, &rec);
        self.models[model].balance += add;
        let st = &mut self.report.stores[s];
        st.recharges += 1;
        st.recharged += amount;
        self.maybe_retry(&r);
    }

    fn checkout(&mut self, r: Request) {
        let Request::Checkout {
            model,
            store: s,
            price,
            balance,
            ref idem,
            second,
            points,
            ..
        } = r
        else {
            unreachable!()
        };
        let Some(m) = self.member_id(model, s) else {
            return;
        };
        if self.nodes[s].disk_full {
            return self.decline(&r, "storage_unavailable");
        }
        if !self.nodes[s].st.members.contains_key(&m) {
            return self.decline(&r, "member_not_found");
        }
        let e = self.next_entity(s);
        let order_id = OrderId::mint(&self.names[s], e);
        let at = self.tick(s);
        let programme = self.nodes[s].st.programme.clone();
        let member = &self.nodes[s].st.members[&m];
        let level = programme.level_for(member.cumulative_principal);
        // Two of the same item: a partial refund takes one back.
        let half = Money::from_fen(price.fen() / 2);
        let (unit, qty) = if price.fen() % 2 == 0 && half.is_positive() {
            (half, Decimal::from(2))
        } else {
            (price, Decimal::ONE)
        };
        let lines = [LineInput {
            sku: None,
            barcode: None,
            description: "商品".into(),
            unit_price: unit,
            qty,
        }];
        let tenders = [TenderInput {
            kind: if balance {
                TenderKind::Balance
            } else {
                TenderKind::Cash
            },
            amount: None,
        }];
        let forced_wallet;
        let mutant = self.mutant(s, Mutation::SpendSkipsShareCheck);
        let points_mutant = points > 0 && self.mutant(s, Mutation::RedemptionSkipsPointsShare);
        let wallet = if mutant {
            // The bug: the store counts the member's whole balance as its own.
            let mut w = tongka_core::wallet::Wallet::default();
            w.credit(&self.names[s], member.wallet.total());
            forced_wallet = w;
            &forced_wallet
        } else if points_mutant {
            // The bug: the store counts the member's points everywhere as its own.
            let mut w = member.wallet.clone();
            let elsewhere =
                member.wallet.total().points - member.wallet.share(&self.names[s]).points;
            w.credit(
                &self.names[s],
                tongka_core::wallet::Share {
                    points: elsewhere,
                    ..Default::default()
                },
            );
            forced_wallet = w;
            &forced_wallet
        } else {
            &member.wallet
        };
        let ctx = CheckoutContext {
            programme: &programme,
            store: &self.names[s],
            order: order_id,
            at,
            buyer: Some(Buyer {
                member: &m,
                level,
                wallet,
            }),
        };
        let result = checkout::checkout_with_points(&ctx, &lines, &tenders, points);
        match result {
            Ok(order) => {
                let paid = order.balance_principal + order.balance_bonus;
                if order.points_used > 0 {
                    self.report.redemptions += 1;
                    self.report.points_redeemed += order.points_used;
                }
                let body = OpBody::sale(order.clone());
                let rec = self.make(s, at, "till", Some(idem.clone()), body);
                self.ack(s, &rec);
                if balance {
                    // The member was charged the payable, not the price.
                    self.models[model].balance += price - paid;
                    let home = self.models[model].home == s;
                    let cut_off = matches!(r, Request::Checkout { cut_off: true, .. });
                    let st = &mut self.report.stores[s];
                    st.spend_served(home, cut_off);
                    st.spent += paid;
                }
                self.report.stores[s].sales += 1;
                if chance(&mut self.rng_work, self.p_refund) {
                    let partial = qty > Decimal::ONE && self.rng_work.random_range(0..2u8) == 0;
                    let idem = self.idem();
                    let t = self.now + between(&mut self.rng_work, 60_000, 2 * HOUR);
                    let req = Request::Refund {
                        model,
                        store: s,
                        order: order.id.clone(),
                        partial,
                        idem,
                    };
                    self.at(t, Ev::Request(Box::new(req.clone()), false));
                    // Now and then the till sends the full refund twice
                    // under different keys: the second must be refused.
                    if !partial && self.rng_work.random_range(0..5u8) == 0 {
                        let idem = self.idem();
                        let req2 = Request::Refund {
                            model,
                            store: s,
                            order: order.id.clone(),
                            partial,
                            idem,
                        };
                        self.at(t + 5_000, Ev::Request(Box::new(req2), false));
                    }
                }
                self.maybe_retry(&r);
                if balance && self.sc.escrow.pull_ahead {
                    self.pull_ahead(s, &m);
                }
            }
            Err(CheckoutError::InsufficientBalance {
                wanted,
                available_here,
            }) if !second => {
                let then = Purpose::Checkout(Box::new(second_try(&r)), false);
                self.escrow_short(s, m, Want::Money(wanted - available_here), then);
            }
            Err(CheckoutError::InsufficientBalance { .. }) => {
                self.decline(&r, "insufficient_balance")
            }
            Err(CheckoutError::InsufficientPoints {
                wanted,
                available_here,
            }) if !second => {
                let then = Purpose::Redeem(Box::new(second_try(&r)), false);
                self.escrow_short(s, m, Want::Points(wanted - available_here), then);
            }
            Err(CheckoutError::InsufficientPoints { .. }) => self.decline_points(&r),
            Err(_) => self.decline(&r, "invalid_order"),
        }
    }

    fn refund(&mut self, r: Request) {
        let Request::Refund {
            store: s,
            ref order,
            partial,
            ref idem,
            model,
        } = r
        else {
            unreachable!()
        };
        let Some(o) = self.nodes[s].st.orders.get(order) else {
            return self.decline(&r, "order_not_found");
        };
        let points_here = o
            .order()
            .member
            .as_ref()
            .and_then(|m| self.nodes[s].st.members.get(m))
            .map_or(0, |m| m.wallet.share(&self.names[s]).points);
        let lines = partial.then(|| {
            vec![RefundLine {
                line: 0,
                qty: Decimal::ONE,
            }]
        });
        let rid = RefundId::mint(&self.names[s], self.nodes[s].entity + 1);
        self.nodes[s].entity += 1;
        let at = self.tick(s);
        let o = self.nodes[s].st.orders[order].state();
        match o.decide(
            rid,
            &self.names[s],
            at,
            lines.as_deref(),
            "退货",
            points_here,
        ) {
            Ok(refund) => {
                let back = refund.balance_principal + refund.balance_bonus;
                let rec = self.make(s, at, "till", Some(idem.clone()), OpBody::refund(refund));
                self.ack(s, &rec);
                self.models[model].balance += back;
                self.report.stores[s].refunds += 1;
                self.maybe_retry(&r);
            }
            Err(e) => {
                let code = tongka_core::DomainError::code(&e);
                self.decline(&r, code)
            }
        }
    }

    fn edit(&mut self, r: Request) {
        let Request::Edit {
            model,
            store: s,
            ref patch,
        } = r
        else {
            unreachable!()
        };
        let Some(m) = self.member_id(model, s) else {
            return;
        };
        let Some(member) = self.nodes[s].st.members.get(&m) else {
            return self.decline(&r, "member_not_found");
        };
        match state::validate_patch(&member.profile, patch) {
            Err(_) => self.decline(&r, "invalid_profile"),
            Ok(next) if next == member.profile => {}
            Ok(_) => {
                let hlc = self.tick(s);
                let Some(Ok(Some(body))) =
                    self.nodes[s].st.members.get(&m).map(|member| {
                        member.decide_profile_update(&self.names[s], hlc, patch.clone())
                    })
                else {
                    return;
                };
                let rec = self.make(s, hlc, "till", None, body);
                self.ack(s, &rec);
                self.report.stores[s].profile_edits += 1;
            }
        }
    }

    // ------------------------------------------------------------ checks

    fn after_step(&mut self) {
        self.checks += 1;
        if !self.merge.unsettled.is_empty() {
            self.settle_pending();
        }
    }

    /// Checks on what one op touched: shares and balances never negative,
    /// the wallet adds up to what its ops say, refunds within the sale.
    /// HQ edits one part of the programme it holds (an offer's bonus, a
    /// level's rate or the points rate, picked by the seed), decided like
    /// the engine's `change_programme`: `programme_doc::change` on its
    /// document, logged as a `ProgrammeChanged` op.
    fn programme_edit(&mut self) {
        if !self.sc.chain.hq {
            return;
        }
        let hq = self.stores;
        if !self.nodes[hq].up || self.nodes[hq].disk_full {
            return;
        }
        let mut asked = Programme::clone(&self.nodes[hq].st.programme);
        match self.rng_work.random_range(0..3u32) {
            0 if !asked.recharge_offers.is_empty() => {
                let i = self.rng_work.random_range(0..asked.recharge_offers.len());
                let o = &mut asked.recharge_offers[i];
                // Whole yuan below the threshold (a bonus must stay under it).
                let top = o.threshold.fen() / 100;
                if top < 1 {
                    return;
                }
                o.bonus = Money::from_fen(self.rng_work.random_range(0..top) * 100);
            }
            1 if !asked.levels.is_empty() => {
                let i = self.rng_work.random_range(0..asked.levels.len());
                asked.levels[i].rate = Decimal::new(self.rng_work.random_range(50..=100i64), 2);
            }
            _ => {
                asked.points_per_yuan = Decimal::from(self.rng_work.random_range(0..=5i64));
            }
        }
        let at = self.tick(hq);
        let mut doc = programme_doc::load(&self.nodes[hq].st.programme_doc)
            .expect("a held programme document loads");
        let change = match programme_doc::change(&mut doc, &self.names[hq], at, &asked) {
            Ok(Some(c)) => c,
            // Nothing differs: nothing to log.
            Ok(None) => return,
            Err(e) => {
                self.violate(
                    "authority",
                    Some(hq),
                    format!("HQ could not make a programme edit: {e}"),
                );
                return;
            }
        };
        let now = programme_doc::materialise(&doc).expect("a change of a valid programme");
        let body = OpBody::ProgrammeChanged {
            change,
            programme: now,
        };
        self.make(hq, at, "hq-admin", None, body);
        self.report.programme_changes += 1;
    }

    /// `check_touched` after `rec` applied: a member state other nodes
    /// share is summed once (`Memo::summary`).
    fn check_touched_op(&mut self, n: usize, t: Touched, rec: &OpRec) {
        let st = &self.nodes[n].st;
        let fine = t.member.is_some_and(|i| {
            st.members.at(i).is_some_and(|m| {
                let (total, negative) = rec.memo.summary(m);
                let e = st.expect.at(i).copied().unwrap_or_default();
                !negative && total.principal == e.principal && total.bonus == e.bonus
            })
        });
        let t = if fine {
            Touched { member: None, ..t }
        } else {
            t
        };
        self.check_touched(n, t)
    }

    fn check_touched(&mut self, n: usize, t: Touched) {
        if let Some((inv, d)) = touched_problem(&self.nodes[n].st, t) {
            self.violate(inv, Some(n), d);
        }
    }

    /// Conservation at a node: the wallets hold exactly what the ledger
    /// says is outstanding.
    fn check_node_totals(&mut self, n: usize) {
        let st = &self.nodes[n].st;
        let (p, b) = st.totals.outstanding();
        if st.held.principal != p || st.held.bonus != b {
            let d = format!(
                "wallets hold {}/{} (principal/bonus), the ledger says {p}/{b} outstanding",
                st.held.principal, st.held.bonus
            );
            self.violate("conservation", Some(n), d);
        }
    }

    /// Every check over a node's whole state (periodically and at the end).
    /// `cache`: what the sweeps of other nodes found of the member states
    /// this node shares with them (the state is the same: so are its
    /// total and its shares).
    fn full_sweep_node(&mut self, n: usize, cache: &mut SweepCache) {
        if !self.nodes[n].up {
            return;
        }
        // Points (only with redemptions on: runs without them check as
        // before): conserved, and no redemption counted twice.
        if self.p_redeem > 0 {
            if let Some(d) = crate::points::conservation_problem(&self.nodes[n].st) {
                self.violate("conservation", Some(n), d);
            }
            if let Some(d) = crate::points::once_problem(&self.nodes[n].st) {
                self.violate("at_most_once", Some(n), d);
            }
        }
        let mut sum = (Money::ZERO, Money::ZERO);
        // By number, not by id: which problem is reported first when there
        // are several may differ, whether there is one may not.
        let st = &self.nodes[n].st;
        let mut problem = None;
        for (i, m) in st.members.slots() {
            // Held while the sweeps last (every state is held by a node):
            // an address names one state.
            let (t, negative) = *cache
                .entry(Arc::as_ptr(m) as usize)
                .or_insert_with(|| wallet_summary(m));
            sum.0 += t.principal;
            sum.1 += t.bonus;
            let e = st.expect.at(i).copied().unwrap_or_default();
            let fine = !negative && t.principal == e.principal && t.bonus == e.bonus;
            if problem.is_none() && !fine {
                problem = touched_problem(
                    st,
                    Touched {
                        member: Some(i),
                        order: None,
                    },
                );
            }
        }
        if problem.is_none() {
            // Orders no refund touched are as sold: nothing to check there.
            problem = st.refunded.iter().find_map(|&i| {
                touched_problem(
                    st,
                    Touched {
                        member: None,
                        order: Some(i),
                    },
                )
            });
        }
        if let Some((inv, d)) = problem {
            self.violate(inv, Some(n), d);
        }
        let (p, b) = self.nodes[n].st.totals.outstanding();
        if sum != (p, b) {
            let d = format!(
                "wallets sum to {}/{} (principal/bonus), the ledger says {p}/{b} outstanding",
                sum.0, sum.1
            );
            self.violate("conservation", Some(n), d);
        }
        // Op ids unique and gap-free per origin.
        // The canonical op at a place has the place's seq and origin (`make`
        // stamps it so): the same handle needs no closer look.
        for (o, ops) in self.nodes[n].log.iter().enumerate() {
            let canon = &self.ops[o];
            if let Some((k, r)) = ops.iter().enumerate().find(|(k, r)| {
                !canon.get(*k).is_some_and(|c| Rc::ptr_eq(c, r))
                    && (r.op.id.seq != *k as u64 + 1 || r.op.id.origin != self.names[o])
            }) {
                let d = format!(
                    "log of {} holds {} at place {}",
                    self.names[o],
                    r.op.id,
                    k + 1
                );
                self.violate("at_most_once", Some(n), d);
                break;
            }
        }
        // Durability.
        let have = self.nodes[n].log[n].len() as u64;
        if self.acked[n].last().is_some_and(|s| *s > have) {
            self.violate(
                "durability",
                Some(n),
                "an acknowledged op is not in its origin's log".into(),
            );
        }
    }

    fn sample(&mut self) {
        let mut cache = SweepCache::default();
        for n in 0..self.nodes.len() {
            self.full_sweep_node(n, &mut cache);
        }
        let made: u64 = self.ops.iter().map(|o| o.len() as u64).sum();
        let lag: u64 = self
            .nodes
            .iter()
            .filter(|n| n.up)
            .map(|n| made - n.held.iter().sum::<u64>())
            .sum();
        let (req, served) = self.report.stores.iter().fold((0, 0), |(a, b), s| {
            (a + s.spends_requested, b + s.spends_served)
        });
        self.report.series.push(Sample {
            at: self.now,
            ops: made,
            lag,
            spends_requested: req,
            spends_served: served,
            partitioned: self.cut_off.iter().filter(|c| **c).count() as u64,
            down: self.nodes.iter().filter(|n| !n.up || n.disk_full).count() as u64,
        });
    }

    fn end_workload(&mut self) {
        self.workload_over = true;
        self.report.workload_end = self.now;
        // Every fault ends: partitions heal, nodes restart, disks free up,
        // links stop flapping.
        self.partitions.clear();
        self.recompute_cut_off();
        for l in &mut self.links {
            l.flap_down = false;
        }
        for n in 0..self.nodes.len() {
            self.nodes[n].disk_full = false;
            if !self.nodes[n].up {
                self.restart(n);
            }
        }
        self.recompute_links();
        self.final_heal = Some(self.now);
        if let Some(w) = self.heal_watch.take() {
            self.report.heals.push(HealRecord {
                label: w.label,
                at: w.at,
                converged_after: None,
            });
        }
        self.schedule_probe();
        for n in 0..self.nodes.len() {
            self.schedule_push(n);
            self.schedule_have(n);
        }
    }

    /// After the workload: converged when every node holds every op, with
    /// the same digest and the same materialised state.
    fn final_check(&mut self) {
        let start = self.final_heal.unwrap_or(self.now);
        let all: Vec<u64> = self.ops.iter().map(|o| o.len() as u64).collect();
        let holds_all = self.nodes.iter().all(|n| n.held == all);
        let escrow_idle = self.nodes.iter().all(|n| n.escrow.idle());
        if holds_all && escrow_idle {
            // Nothing more can happen: compare.
            self.finished = true;
            self.report.final_converged_after = Some(self.now - start);
            let mut cache = SweepCache::default();
            for n in 0..self.nodes.len() {
                self.full_sweep_node(n, &mut cache);
            }
            let d0 = self.nodes[0].st.digest;
            let h0 = self.nodes[0].st.state_hash();
            self.report.digest = d0.to_hex();
            self.report.state_hash = h0.iter().map(|b| format!("{b:02x}")).collect();
            for n in 1..self.nodes.len() {
                if self.nodes[n].st.digest != d0 {
                    let d = format!(
                        "{} and {} hold the same ops but digests differ",
                        self.names[0], self.names[n]
                    );
                    return self.violate("convergence", Some(n), d);
                }
                // Equal parts hash equally: only a node whose state differs
                // from the first's in some part is hashed.
                if self.nodes[n].st.same_as(&self.nodes[0].st) {
                    continue;
                }
                let h = self.nodes[n].st.state_hash();
                if h != h0 {
                    let why = self.explain_diff(0, n);
                    let d = format!(
                        "{} and {} hold the same ops (same digest) but their materialised state differs: {why}",
                        self.names[0], self.names[n]
                    );
                    return self.violate("convergence", Some(n), d);
                }
            }
            self.check_merges_moved();
            if self.violation.is_some() {
                return;
            }
            let dups = self.nodes[0]
                .st
                .phones
                .values()
                .filter(|s| s.len() > 1)
                .count();
            self.report.duplicate_phones = dups as u64;
            self.report.members = self.nodes[0].st.members.len() as u64;
            self.report.totals = Some(self.nodes[0].st.totals.clone());
            let bound = self.sc.time.settle.ms();
            if self.now - start > bound {
                let d = format!(
                    "converged {} after the final heal, beyond the bound of {}",
                    crate::report::fmt_ms(self.now - start),
                    crate::report::fmt_ms(bound)
                );
                self.violate("convergence", None, d);
            }
        } else if self.now - start > self.sc.time.settle.ms() {
            let lagging: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| n.held != all)
                .map(|n| {
                    format!(
                        "{} ({} ops behind)",
                        n.name,
                        all.iter().sum::<u64>() - n.held.iter().sum::<u64>()
                    )
                })
                .collect();
            let d = format!(
                "not converged {} after the final heal: {}",
                crate::report::fmt_ms(self.now - start),
                if lagging.is_empty() {
                    "escrow requests still open".to_string()
                } else {
                    lagging.join(", ")
                }
            );
            self.violate("convergence", None, d);
        }
    }

    fn explain_diff(&self, a: usize, b: usize) -> String {
        let (x, y) = (&self.nodes[a].st, &self.nodes[b].st);
        for id in x.members.keys() {
            let m = &x.members[&id];
            match y.members.get(&id) {
                None => return format!("{id} missing at {}", self.names[b]),
                Some(n) if n != m => {
                    let field = if n.profile != m.profile {
                        format!("profile {:?} vs {:?}", m.profile, n.profile)
                    } else if n.wallet != m.wallet {
                        "wallet".to_string()
                    } else {
                        "figures".to_string()
                    };
                    return format!("member {id} differs ({field})");
                }
                _ => {}
            }
        }
        for id in x.orders.keys() {
            let o = &x.orders[&id];
            if y.orders.get(&id) != Some(o) {
                return format!("order {id} differs");
            }
        }
        if x.phones != y.phones {
            return "phone index differs".into();
        }
        "totals differ".into()
    }
}

/// Per member state (by address), its wallet's total and whether a share
/// is negative: see `full_sweep_node`.
type SweepCache = HashMap<usize, (tongka_core::wallet::Share, bool), BuildHasherDefault<Fx>>;

/// What is wrong with a member or order after an op touched it, if anything.
fn touched_problem(st: &Materialised, t: Touched) -> Option<(&'static str, String)> {
    if let Some(i) = t.member
        && let Some(m) = st.members.at(i)
    {
        for (owner, share) in m.wallet.shares() {
            if share.principal.is_negative() || share.bonus.is_negative() || share.points < 0 {
                let id = &m.id;
                let d = format!("{id}: share of {owner} is negative: {share:?}");
                return Some(("no_overdraft", d));
            }
        }
        let total = m.wallet.total();
        let e = st.expect.at(i).copied().unwrap_or_default();
        if total.principal != e.principal || total.bonus != e.bonus {
            let id = &m.id;
            let d = format!(
                "{id}: wallet holds {}/{} (principal/bonus) but its ops say {}/{}",
                total.principal, total.bonus, e.principal, e.bonus
            );
            return Some(("conservation", d));
        }
    }
    if let Some(i) = t.order
        && let Some(sale) = st.orders.at(i)
    {
        let o = match sale {
            Sale::Changed(o) => &**o,
            // As sold: nothing refunded (`OrderState::new`).
            Sale::Sold(_) => {
                let order = sale.order();
                if order.lines.iter().any(|l| Decimal::ZERO > l.qty) || Money::ZERO > order.payable
                {
                    return Some((
                        "at_most_once",
                        format!("{}: refunded more than was sold", order.id),
                    ));
                }
                return None;
            }
        };
        let over = o
            .order
            .lines
            .iter()
            .zip(&o.refunded_qty)
            .any(|(l, q)| *q > l.qty);
        if over || o.refunded > o.order.payable {
            let oid = &o.order.id;
            return Some((
                "at_most_once",
                format!("{oid}: refunded more than was sold"),
            ));
        }
    }
    None
}

/// A node's index from its name: `store-N` is N − 1, others by the map.
pub(crate) fn node_ix(stores: usize, index: &BTreeMap<NodeId, usize>, n: &NodeId) -> usize {
    match n
        .as_str()
        .strip_prefix("store-")
        .and_then(|d| d.parse::<usize>().ok())
    {
        Some(k) if k >= 1 && k <= stores => k - 1,
        _ => index[n],
    }
}

/// A checkout request marked as the try after escrow asks (declined if
/// still short).
fn second_try(r: &Request) -> Request {
    let mut r2 = r.clone();
    if let Request::Checkout { second, .. } = &mut r2 {
        *second = true;
    }
    r2
}

//! The simulator's run: the `Sim` state and its construction, the event
//! loop (`run`) and the dispatch of each event (`handle`) to the module of
//! its job: `workload` (what clients and HQ do), `requests` (a store
//! deciding them), `log` (making, appending and committing ops), `network`
//! (links, sending, delivery), `faults` (partitions, crashes, restarts),
//! `escrow` and `merges`, `checks` (the invariants after every step) and
//! `convergence` (heal watches, samples, the end and the final check).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tongka_core::clock::{HlcClock, VersionVector};
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::member::ProfilePatch;
use tongka_core::money::Money;
use tongka_sync::{Msg, Replica, ReplicaConfig};

use crate::ids::Fx;
use crate::node::{Ids, Materialised, Node, OpRec, Rec};
use crate::queue::Queue;
use crate::report::{Report, StoreStats};
use crate::scenario::Scenario;
use crate::{Mutation, Violation};

mod cards;
mod checks;
mod closes;
mod convergence;
mod coupons;
mod escrow;
mod faults;
mod figures;
mod imports;
mod log;
mod merges;
mod network;
mod requests;
mod staff;
mod stock;
mod withdrawals;
mod workload;

use escrow::escrow_config;
pub(crate) use requests::Request;
use tongka_machine::escrow::Escrow;

/// Simulated time 0, as wall-clock milliseconds (2025-01-01T00:00:00Z).
pub(crate) const EPOCH_MS: u64 = 1_735_689_600_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
const CHAIN: &str = "tongka-sim";

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
    /// A coupon issued to a member (`coupons.issues`).
    CouponIssue(usize),
    /// Campaign k of `coupons.campaigns`.
    Campaign(usize),
    /// A member buys a card (`cards.sales`).
    CardSale(usize),
    /// A card-holding member comes for a visit (`cards.visits`).
    CardVisit(usize),
    /// HQ creates account k of `staff.accounts`.
    StaffCreate(u32),
    /// A node edits a staff account (`staff.edits`).
    StaffEdit,
    /// Two nodes apart in partition k (the fault's index) create one login.
    StaffClash(usize),
    /// A store's stock (`[stock]`): see `stock.rs`.
    Stock(stock::StockEv),
    /// A store closes a shift or its day (`[closes]`): see `closes.rs`.
    Close(usize, tongka_core::close::CloseKind),
    /// A store asks to withdraw (`[withdrawals]`): see `withdrawals.rs`.
    Withdraw(usize),
    /// HQ decides a withdrawal (again: a second decision).
    Review(tongka_core::ids::WithdrawalId, bool),
    /// A store imports a member file, or runs one again (`[imports]`):
    /// see `imports.rs`.
    Import(usize, Option<Rc<str>>),
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
    /// The coupons the member was issued, as they know them.
    coupons: Vec<crate::coupons::Known>,
    /// An imported member: the probability of a visit elsewhere than
    /// home (`imports.away`), in ppm; others go by `members.other_store`.
    away: Option<u32>,
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
    /// Cards the members hold (`[cards]`): see `cards.rs`.
    card: cards::CardWork,
    /// Staff accounts (`[staff]`): see `staff.rs`.
    staff: staff::StaffWork,
    /// Stock (`[stock]`): see `stock.rs`.
    stock: stock::StockWork,
    /// Closes (`[closes]`): see `closes.rs`.
    close: closes::CloseWork,
    /// Withdrawals (`[withdrawals]`): see `withdrawals.rs`.
    withdraw: withdrawals::WithdrawalWork,
    /// Member imports (`[imports]`): see `imports.rs`.
    import: imports::ImportWork,
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
                idem: Default::default(),
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
        let merge = merges::MergeWork::new(sc, &names);
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
            start_programme: (sc.workload.redemptions.ppm() > 0 || sc.coupons.is_some()).then(
                || {
                    let templates = sc.coupons.as_ref().map_or(&[][..], |c| &c.templates[..]);
                    crate::points::initial(sc.workload.redemptions.ppm() > 0, templates)
                },
            ),
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
            merge,
            card: cards::CardWork::default(),
            staff: staff::StaffWork::new(seed, n),
            stock: stock::StockWork::new(sc, seed, n),
            close: closes::CloseWork::new(seed),
            withdraw: withdrawals::WithdrawalWork::new(seed),
            import: imports::ImportWork::new(seed),
            enc: Vec::with_capacity(4096),
        };
        if let Some(p) = &sim.start_programme {
            for node in &mut sim.nodes {
                crate::points::start(&mut node.st, p);
            }
        }
        sim.nodes[0].st.staff_last_arrived = sim.mutant(0, Mutation::StaffLastArrivedWins);
        sim.nodes[0].st.stock_receive_twice = sim.mutant(0, Mutation::ReceiveTwice);
        sim.nodes[0].st.figures_transfer_twice = sim.mutant(0, Mutation::FiguresTransferTwice);
        sim.nodes[0].st.settle_drop_bonus = sim.mutant(0, Mutation::SettlementDropsBonus);
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
                self.import_away(m, store, balance);
                // Drawn only when the scenario has coupons.
                let coupon = self.present_coupon(m);
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
                        coupon,
                        coupon_asked: false,
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
            Ev::CouponIssue(m) => self.coupon_issue(m),
            Ev::Campaign(k) => self.campaign(k),
            Ev::CardSale(m) => self.card_sale_event(m),
            Ev::CardVisit(m) => self.card_visit_event(m),
            Ev::StaffCreate(i) => self.staff_create(i),
            Ev::StaffEdit => self.staff_edit(),
            Ev::StaffClash(f) => self.staff_clash(f),
            Ev::Stock(e) => self.stock_event(e),
            Ev::Close(s, kind) => self.close_event(s, kind),
            Ev::Withdraw(s) => self.withdraw_event(s),
            Ev::Review(id, again) => self.review_event(id, again),
            Ev::Import(s, file) => self.import_event(s, file),
        }
    }

    /// A node's index from its name (`store-N` is N − 1, `hq` the last).
    fn ix(&self, n: &NodeId) -> usize {
        node_ix(self.stores, &self.index, n)
    }
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

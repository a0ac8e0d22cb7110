//! tongka-sim: the deterministic partition simulator (design.md,
//! "Simulation").
//!
//! A seeded run of N store nodes (and HQ) over a simulated network with
//! delays, loss, duplication, reordering, flapping links, partitions,
//! crashes and restarts, clock skew and full disks, under a workload of
//! registrations, recharges, balance checkouts, refunds, profile edits,
//! duplicate registrations, client retries and, when a scenario has them,
//! points redemptions, member merges, coupons, count/period cards, staff
//! accounts, stock, closes, withdrawals and member imports. Every node
//! runs the real
//! rules: `tongka-core` decides and applies, `tongka-sync`'s `Replica`
//! replicates, `tongka_core::escrow` says whom to ask for shares. The
//! simulator only drives them, as the real node's actors, writer and
//! replication layer do.
//!
//! Same scenario and seed, same run, byte for byte: one event queue ordered
//! by (time, sequence), ChaCha8 random streams seeded from the seed,
//! ordered maps only. The invariants of design.md are checked after every
//! step; the first broken one stops the run, and `run` then shrinks the
//! scenario to a smaller one that still breaks it.
//!
//! ```no_run
//! let sc = tongka_sim::load_scenario("simulations/scenarios/small.toml").unwrap();
//! let out = tongka_sim::run(&sc, 7);
//! print!("{}", out.report.to_text());
//! assert!(out.violation.is_none());
//! ```

pub mod cards;
pub mod closes;
pub mod coupons;
mod ids;
pub mod imports;
mod node;
mod points;
mod queue;
pub mod report;
pub mod scenario;
mod sim;
pub mod staff;
pub mod stock;
pub mod withdrawals;

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

pub use report::{Report, SpendTotals, StoreStats};
pub use scenario::{Dur, Fault, Scenario};

/// Why a scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("reading the scenario: {0}")]
    Io(String),
    #[error("scenario is not valid TOML for the format: {0}")]
    Parse(String),
    #[error("scenario: {0}")]
    Invalid(String),
}

/// A broken invariant: which, where, when, and the seed to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub seed: u64,
    /// `conservation`, `no_overdraft`, `at_most_once`, `causality`,
    /// `convergence`, `durability`, `authority`, `protocol`.
    pub invariant: String,
    /// The step (event) at which it was seen, from 1.
    pub step: u64,
    /// Simulated time, in ms from the start.
    pub at_ms: u64,
    pub node: Option<String>,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant {} broken at step {} ({}), seed {}",
            self.invariant,
            self.step,
            report::fmt_at(self.at_ms),
            self.seed
        )?;
        if let Some(n) = &self.node {
            write!(f, ", at {n}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Deliberate bugs in the simulator's own driver of `store-1`, to prove
/// that the checkers catch what they are for (never in the core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mutation {
    #[default]
    None,
    /// A short checkout counts the member's whole balance as the store's
    /// own share, so the op debits more than the share.
    SpendSkipsShareCheck,
    /// A transfer op from an escrow answer is applied directly, and again
    /// when the replica delivers it.
    TransferAppliedTwice,
    /// Remote profile edits are applied without their `notes` field.
    MergeDropsField,
    /// Ops are applied as they arrive, before their causal past.
    SkipCausalOrder,
    /// The client is answered when an op is appended, before the group
    /// commit makes it durable: a crash then loses acknowledged ops.
    AckBeforeDurable,
    /// store-1 ignores the programme changes it receives (keeps deciding
    /// with the programme it had).
    IgnoresProgramme,
    /// store-1, moving its share of a merged-away member to the survivor
    /// (`MergeMoved`), moves the principal but drops the bonus and points
    /// fields: they stay on the absorbed member.
    MergeMoveDropsField,
    /// A checkout paying with points counts the member's points at every
    /// store as the store's own share, so the op debits more points than
    /// the share holds.
    RedemptionSkipsPointsShare,
    /// store-1's escrow asks even when the stores in reach are known to
    /// hold too little for the spend (the policy before issue 10): shares
    /// move for spends that are refused anyway.
    FutileTransfers,
    /// store-1 runs a request whose idempotency key it has already
    /// answered as a new one (it skips the machine's verdict): a client's
    /// retry is decided twice.
    IgnoresIdempotency,
    /// store-1 decides a sale with a coupon whose uses it holds none of
    /// (held at another store) as if it held one: the op takes a use its
    /// origin does not hold.
    CouponSkipsShareCheck,
    /// store-1 verifies a count-card visit whose visits it holds none of
    /// (held at another store) as if it held one: the op takes a visit its
    /// origin does not hold.
    CardSkipsShareCheck,
    /// store-1 applies the staff edits it receives field by field in the
    /// order they arrive, whatever their stamps: of two concurrent edits
    /// of one field, the one that arrived last stays (not the later
    /// stamp, as at every other node).
    StaffLastArrivedWins,
    /// store-1 does not refuse a second receive of a transfer it already
    /// received: it decides the second scan of a delivery note as a first
    /// and applies its moves again (the goods counted twice).
    ReceiveTwice,
    /// store-1 counts every share transfer it applies twice in the figures
    /// it keeps for the reports (`tongka_core::figures::Book`): the giving
    /// store's liability falls, the receiver's rises, by the amount again.
    FiguresTransferTwice,
    /// store-1 keeps its settlement figures (`Figures::shares_with`) of
    /// the share transfers it applies without their bonus: the figures no
    /// longer say what the transfer ops moved.
    SettlementDropsBonus,
    /// store-1 leaves refunds out of its closes' totals (日结 / 交班): the
    /// close records less refunded than its ops did.
    CloseDropsRefunds,
    /// store-1 asks to withdraw more than it is owed and makes the
    /// request anyway when the settlement rule refuses it
    /// (`withdrawal_exceeds_owed` skipped).
    WithdrawalSkipsOwed,
    /// store-1, running a member import file again, skips the
    /// idempotency verdict of its chunks: it plans them as made (their
    /// keys are recorded) and registers their members again.
    ImportRerunRegisters,
    /// HQ (the one node deciding withdrawals, not store-1) decides a
    /// withdrawal it already decided again, skipping the rule's
    /// `withdrawal_decided` refusal.
    WithdrawalDecidedTwice,
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub mutation: Mutation,
    /// On a violation, look for a smaller scenario that still breaks the
    /// same invariant.
    pub shrink: bool,
}

/// The smallest failing run shrinking found.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub scenario: Scenario,
    pub violation: Violation,
    /// Steps of the shrunk run (up to the violation).
    pub steps: u64,
    /// What was cut from the original scenario.
    pub changes: Vec<String>,
    /// Runs tried while shrinking.
    pub attempts: u32,
}

impl Shrunk {
    pub fn to_text(&self) -> String {
        format!(
            "shrunk after {} runs to {} steps ({}):\n  {}\nscenario:\n{}",
            self.attempts,
            self.steps,
            if self.changes.is_empty() {
                "nothing could be cut".to_string()
            } else {
                self.changes.join("; ")
            },
            self.violation,
            self.scenario.to_toml()
        )
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: Report,
    pub violation: Option<Violation>,
    pub shrunk: Option<Shrunk>,
}

impl Outcome {
    /// The report, then (on a violation) the seed, the invariant, the step
    /// and the shrunk scenario.
    pub fn to_text(&self) -> String {
        let mut s = self.report.to_text();
        if let Some(v) = &self.violation {
            s.push_str(&format!(
                "\nVIOLATION (replay with --seed {}): {v}\n",
                v.seed
            ));
            if let Some(sh) = &self.shrunk {
                s.push_str(&sh.to_text());
            }
        }
        s
    }
}

/// mimalloc's `mi_option_purge_delay` (its index in `mi_option_t`,
/// mimalloc.h; libmimalloc-sys names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tell the process's allocator (mimalloc: `tongka` and the examples use
/// it) to keep memory freed during a run for the run's later allocations
/// instead of handing it back to the OS after 10 ms. A run's heap grows to
/// the end (4 GB for `day20.toml`); with the default, pages freed on the
/// way were given back and faulted in again, zeroed by the kernel: 10 of
/// 63 s of the day. Call it once, before running; for a process that runs
/// only simulations.
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` stores a number in mimalloc's option table;
    // it takes any value for this option (-1: never purge) at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// Read and check a scenario file.
pub fn load_scenario(path: impl AsRef<Path>) -> Result<Scenario, SimError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .map_err(|e| SimError::Io(format!("{}: {e}", path.display())))?;
    Scenario::parse(&text)
}

/// Run `scenario` with `seed`, checking every invariant; on a violation,
/// shrink.
pub fn run(scenario: &Scenario, seed: u64) -> Outcome {
    run_with(
        scenario,
        seed,
        &Options {
            mutation: Mutation::None,
            shrink: true,
        },
    )
}

/// `run`, for a process that ends after it (`tongka sim --seed`): the
/// run's state is left unfreed, as `bench` does (freeing a chain-day's
/// ops and states one by one takes seconds; the OS takes the memory back
/// at exit). Shrinking, if any, frees as usual.
pub fn run_last(scenario: &Scenario, seed: u64) -> Outcome {
    let options = Options {
        mutation: Mutation::None,
        shrink: true,
    };
    let run = sim::Sim::new(scenario, seed, options.mutation).run_then(false);
    outcome(scenario, seed, &options, run)
}

pub fn run_with(scenario: &Scenario, seed: u64, options: &Options) -> Outcome {
    let run = sim::Sim::new(scenario, seed, options.mutation).run();
    outcome(scenario, seed, options, run)
}

fn outcome(
    scenario: &Scenario,
    seed: u64,
    options: &Options,
    (report, violation): (Report, Option<Violation>),
) -> Outcome {
    let shrunk = match (&violation, options.shrink) {
        (Some(v), true) => Some(shrink(scenario, seed, options.mutation, v, &report)),
        _ => None,
    };
    Outcome {
        report,
        violation,
        shrunk,
    }
}

/// Try smaller scenarios that still break the same invariant with the same
/// seed: the workload cut short after the violation, fewer members, fewer
/// faults, a quieter network. Keeps each cut that still fails.
fn shrink(sc: &Scenario, seed: u64, mutation: Mutation, v: &Violation, report: &Report) -> Shrunk {
    let mut k = Shrinker {
        seed,
        mutation,
        best: sc.clone(),
        best_v: v.clone(),
        best_steps: report.steps,
        changes: Vec::new(),
        attempts: 0,
    };
    // Cut the workload just after the violation.
    let cut = (v.at_ms + 60_000).max(120_000);
    if cut < k.best.time.duration.ms() {
        let mut c = k.best.clone();
        c.time.duration = Dur(cut);
        c.faults.retain(|f| f.starts().ms() < cut);
        k.attempt(c, format!("workload cut to {}", report::fmt_ms(cut)));
    }
    // Fewer members, halving while it fails.
    while k.best.members.initial > 1 && k.attempts < SHRINK_RUNS {
        let before = k.best.members.initial;
        let mut c = k.best.clone();
        c.members.initial = before / 2;
        if !k.attempt(c, format!("members {before} → {}", before / 2)) {
            break;
        }
    }
    // Faults, one at a time.
    let mut i = 0;
    while i < k.best.faults.len() && k.attempts < SHRINK_RUNS {
        let mut c = k.best.clone();
        let f = c.faults.remove(i);
        if !k.attempt(c, format!("without fault: {}", f.describe())) {
            i += 1;
        }
    }
    // A quieter network.
    if k.best.network.flap.is_some() {
        let mut c = k.best.clone();
        c.network.flap = None;
        k.attempt(c, "no link flapping".into());
    }
    let net = &k.best.network;
    if !net.loss.is_zero() || !net.duplicate.is_zero() || !net.reorder.is_zero() {
        let mut c = k.best.clone();
        c.network.loss = scenario::Num::ZERO;
        c.network.duplicate = scenario::Num::ZERO;
        c.network.reorder = scenario::Num::ZERO;
        k.attempt(c, "no loss, duplication or reordering".into());
    }
    Shrunk {
        scenario: k.best,
        violation: k.best_v,
        steps: k.best_steps,
        changes: k.changes,
        attempts: k.attempts,
    }
}

/// Runs tried while shrinking, at most.
const SHRINK_RUNS: u32 = 40;

struct Shrinker {
    seed: u64,
    mutation: Mutation,
    best: Scenario,
    best_v: Violation,
    best_steps: u64,
    changes: Vec<String>,
    attempts: u32,
}

impl Shrinker {
    /// Run `cand`; keep it if it still breaks the same invariant in no
    /// more steps.
    fn attempt(&mut self, cand: Scenario, what: String) -> bool {
        if self.attempts >= SHRINK_RUNS || cand.validate().is_err() {
            return false;
        }
        self.attempts += 1;
        let (r, got) = sim::Sim::new(&cand, self.seed, self.mutation).run();
        match got {
            Some(g) if g.invariant == self.best_v.invariant && r.steps <= self.best_steps => {
                self.best = cand;
                self.best_v = g;
                self.best_steps = r.steps;
                self.changes.push(what);
                true
            }
            _ => false,
        }
    }
}

/// One seed of a `run_seeds` batch.
#[derive(Debug, Clone)]
pub struct SeedRun {
    pub seed: u64,
    pub violation: Option<Violation>,
    pub spends: SpendTotals,
    pub final_converged_after: Option<u64>,
    pub ops: u64,
}

/// The summary of many seeds.
#[derive(Debug, Clone)]
pub struct SeedsSummary {
    pub scenario: String,
    pub runs: Vec<SeedRun>,
    /// The first failing seed, shrunk.
    pub first_failure: Option<Outcome>,
}

impl SeedsSummary {
    pub fn failures(&self) -> usize {
        self.runs.iter().filter(|r| r.violation.is_some()).count()
    }

    pub fn passed(&self) -> bool {
        self.failures() == 0
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "tongka partition simulation — {}: {} seeds, {} passed, {} failed\n",
            self.scenario,
            self.runs.len(),
            self.runs.len() - self.failures(),
            self.failures()
        );
        let mut t = SpendTotals::default();
        let mut worst_conv = 0u64;
        for r in &self.runs {
            t.requested += r.spends.requested;
            t.served += r.spends.served;
            t.cut_home_requested += r.spends.cut_home_requested;
            t.cut_home_served += r.spends.cut_home_served;
            t.cut_other_requested += r.spends.cut_other_requested;
            t.cut_other_served += r.spends.cut_other_served;
            worst_conv = worst_conv.max(r.final_converged_after.unwrap_or(0));
            s.push_str(&format!(
                "  seed {:>6}: {:<5} ops {:>9}, spends served {}, during partitions {} at home / {} elsewhere{}\n",
                r.seed,
                if r.violation.is_none() { "pass" } else { "FAIL" },
                r.ops,
                report::pct(r.spends.served, r.spends.requested),
                report::pct(r.spends.cut_home_served, r.spends.cut_home_requested),
                report::pct(r.spends.cut_other_served, r.spends.cut_other_requested),
                r.violation.as_ref().map_or(String::new(), |v| format!("\n      {v}"))
            ));
        }
        s.push_str(&format!(
            "all seeds: spends served {}; during partitions {} at the member's home store, {} at other stores; slowest final convergence {}\n",
            report::pct(t.served, t.requested),
            report::pct(t.cut_home_served, t.cut_home_requested),
            report::pct(t.cut_other_served, t.cut_other_requested),
            report::fmt_ms(worst_conv)
        ));
        if let Some(o) = &self.first_failure {
            s.push_str("\nfirst failure:\n");
            s.push_str(&o.to_text());
        }
        s
    }
}

/// Run every seed of `seeds`; the first failure is run again with
/// shrinking.
pub fn run_seeds(scenario: &Scenario, seeds: Range<u64>) -> SeedsSummary {
    let mut runs = Vec::new();
    let mut first_failure = None;
    for seed in seeds {
        let (report, violation) = sim::Sim::new(scenario, seed, Mutation::None).run();
        if violation.is_some() && first_failure.is_none() {
            first_failure = Some(run(scenario, seed));
        }
        runs.push(SeedRun {
            seed,
            spends: report.spends(),
            final_converged_after: report.final_converged_after,
            ops: report.ops_made,
            violation,
        });
    }
    SeedsSummary {
        scenario: scenario.name.clone(),
        runs,
        first_failure,
    }
}

/// Wall-clock figures of one run.
#[derive(Debug, Clone)]
pub struct Bench {
    pub report: Report,
    pub violation: Option<Violation>,
    pub wall: Duration,
}

impl Bench {
    /// Simulated ops per second of wall time.
    #[allow(clippy::float_arithmetic)]
    pub fn ops_per_sec(&self) -> f64 {
        self.report.ops_made as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    #[allow(clippy::float_arithmetic)]
    pub fn to_text(&self) -> String {
        let t = self.report.spends();
        format!(
            "{} seed {}: {} ops ({} delivered to peers, {} steps) in {:.2} s wall = {:.0} simulated ops/s; {}\n\
             spends served {}; during partitions {} at the member's home store ({}/{}), {} at other stores ({}/{})\n",
            self.report.scenario,
            self.report.seed,
            self.report.ops_made,
            self.report.ops_sent,
            self.report.steps,
            self.wall.as_secs_f64(),
            self.ops_per_sec(),
            match &self.violation {
                None => "every invariant held".to_string(),
                Some(v) => format!("VIOLATION: {v}"),
            },
            report::pct(t.served, t.requested),
            report::pct(t.cut_home_served, t.cut_home_requested),
            t.cut_home_served,
            t.cut_home_requested,
            report::pct(t.cut_other_served, t.cut_other_requested),
            t.cut_other_served,
            t.cut_other_requested,
        )
    }
}

/// Run once and time it (no shrinking).
pub fn bench(scenario: &Scenario, seed: u64) -> Bench {
    let start = Instant::now();
    // The process ends after a bench: the run's state is not freed.
    let (report, violation) = sim::Sim::new(scenario, seed, Mutation::None).run_then(false);
    Bench {
        report,
        violation,
        wall: start.elapsed(),
    }
}

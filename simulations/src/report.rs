//! What a run tells an operator: per store, how many member spends were
//! served (during partitions, at the member's home store and elsewhere),
//! why the others were declined, escrow transfers, time to converge after
//! each heal, and which invariants were checked. As text and as one
//! self-contained HTML page with inline SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tongka_core::money::Money;
use tongka_core::state::LedgerTotals;

use crate::Violation;
use crate::scenario::Scenario;

/// `12m 3s`, `450ms`, `2h`.
pub fn fmt_ms(ms: u64) -> String {
    if ms == 0 {
        return "0ms".into();
    }
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

/// A time of day in the simulation, `d1 02:03:04`.
pub fn fmt_at(ms: u64) -> String {
    let s = ms / 1000;
    let day = s / 86_400 + 1;
    format!(
        "d{day} {:02}:{:02}:{:02}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    )
}

/// `a / b` as a percentage with two decimals, integer arithmetic only.
pub fn pct(a: u64, b: u64) -> String {
    if b == 0 {
        return "—".into();
    }
    // Hundredths of a percent, rounded half up.
    let (a, b) = (u128::from(a), u128::from(b));
    let v = (a * 20_000 + b) / (2 * b);
    format!("{}.{:02}%", v / 100, v % 100)
}

/// Per store figures.
#[cfg(test)]
mod tests {
    #[test]
    fn percentages_round_half_up() {
        assert_eq!(super::pct(2, 3), "66.67%");
        assert_eq!(super::pct(1, 3), "33.33%");
        assert_eq!(super::pct(3, 3), "100.00%");
        assert_eq!(super::pct(0, 0), "—");
        assert_eq!(super::pct(1, 8), "12.50%");
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub name: String,
    /// Checkouts paid from the balance, asked for and served.
    pub spends_requested: u64,
    pub spends_served: u64,
    pub home_requested: u64,
    pub home_served: u64,
    pub other_requested: u64,
    pub other_served: u64,
    /// The same while the store was cut off by a partition.
    pub cut_home_requested: u64,
    pub cut_home_served: u64,
    pub cut_other_requested: u64,
    pub cut_other_served: u64,
    /// Refusals by code.
    pub declines: BTreeMap<&'static str, u64>,
    /// `insufficient_balance` declines after an escrow ask timed out.
    pub declined_after_timeout: u64,
    pub spent: Money,
    pub sales: u64,
    pub recharges: u64,
    pub recharged: Money,
    pub registrations: u64,
    pub refunds: u64,
    pub profile_edits: u64,
    /// Retried requests answered from the idempotency record.
    pub replayed: u64,
    /// Retried requests decided afresh (the first was refused).
    pub retries_decided: u64,
    pub asks: u64,
    pub pulls: u64,
    pub given: u64,
    pub given_amount: Money,
    pub received: u64,
    pub received_amount: Money,
}

impl StoreStats {
    pub fn new(name: &str) -> StoreStats {
        StoreStats {
            name: name.into(),
            ..Default::default()
        }
    }

    pub(crate) fn spend_requested(&mut self, home: bool, cut: bool) {
        self.spends_requested += 1;
        match (home, cut) {
            (true, false) => self.home_requested += 1,
            (false, false) => self.other_requested += 1,
            (true, true) => self.cut_home_requested += 1,
            (false, true) => self.cut_other_requested += 1,
        }
    }

    pub(crate) fn spend_served(&mut self, home: bool, cut: bool) {
        self.spends_served += 1;
        match (home, cut) {
            (true, false) => self.home_served += 1,
            (false, false) => self.other_served += 1,
            (true, true) => self.cut_home_served += 1,
            (false, true) => self.cut_other_served += 1,
        }
    }

    pub(crate) fn spend_declined(&mut self, _home: bool, _cut: bool) {}
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealRecord {
    pub label: String,
    pub at: u64,
    /// Until every node held every op that existed at the heal; `None`
    /// when another fault came first.
    pub converged_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub at: u64,
    pub ops: u64,
    /// Σ over live nodes of the ops they do not hold yet.
    pub lag: u64,
    pub spends_requested: u64,
    pub spends_served: u64,
    pub partitioned: u64,
    pub down: u64,
}

/// The invariants every run checks, with where.
pub const INVARIANTS: &[(&str, &str)] = &[
    (
        "conservation",
        "after every op: each wallet's shares sum to what its ops say (recharges + bonuses − spends + refunds) and every node's wallets sum to its ledger's outstanding, to the fen; full sweep every sample and at the end",
    ),
    (
        "no_overdraft",
        "after every op: no share and no balance negative; no op debits more than its origin's share (a rejected op fails the run)",
    ),
    (
        "at_most_once",
        "every op applied once per node (logs gap-free, no state application twice), each idempotency key decides one op chain-wide, refunds never exceed a line",
    ),
    (
        "causality",
        "every op applied after its causal past (its origin's earlier ops and its deps)",
    ),
    (
        "convergence",
        "after the final heal, within the settle bound: every node holds every op, with equal digests and equal materialised-state hashes",
    ),
    (
        "durability",
        "every op acknowledged to a client is in its origin's log, after every restart and at the end",
    ),
    (
        "authority",
        "no node rejects another's op (authority, overdraft, unknown member or order): zero apply errors at honest nodes",
    ),
    (
        "protocol",
        "no replica refuses a peer (the protocol never breaks its own rules)",
    ),
    (
        "figures",
        "full sweeps: each store's liability and points in the report figures kept from the ops (the core's rule, as the db keeps them) equal what the members' shares held there say, to the fen and the point; at the end every node holds the same figures, store by store and day by day",
    ),
    (
        "no_futile_transfer",
        "no escrow transfer for a spend whose store knew the stores in reach held too little to cover it",
    ),
];

/// The invariants a run with staff accounts (`[staff]`) checks besides.
pub const STAFF_INVARIANTS: &[(&str, &str)] = &[
    (
        "last_writer_wins",
        "full sweeps: each staff account's every field at every node is the value of the applied op with the greatest (clock, origin, by) that set it, computed from the ops",
    ),
    (
        "login_unique",
        "full sweeps: a login two accounts claim signs in as the lower id at every node",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub nodes: Vec<String>,
    pub duration: u64,
    pub tick: u64,
    pub settle_bound: u64,
    pub workload_end: u64,
    pub steps: u64,
    pub checks: u64,
    pub stores: Vec<StoreStats>,
    pub faults: Vec<(u64, String)>,
    pub heals: Vec<HealRecord>,
    pub final_converged_after: Option<u64>,
    pub ops_made: u64,
    pub ops_sent: u64,
    /// Ops lost at a crash before their group commit (never acknowledged).
    pub ops_lost: u64,
    /// `ProgrammeChanged` ops HQ made (`workload.programme_changes`).
    pub programme_changes: u64,
    /// `MembersMerged` ops made (`workload.merges`), and the `MergeMoved`
    /// ops, principal, bonus and points they moved to survivors.
    pub merges: u64,
    pub merge_moves: u64,
    pub merge_moved: Money,
    pub merge_moved_bonus: Money,
    pub merge_moved_points: i64,
    pub messages: BTreeMap<&'static str, u64>,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub flaps: u64,
    pub crashes: u64,
    pub clock_refusals: u64,
    pub ask_timeouts: u64,
    pub transfers: u64,
    pub transferred: Money,
    pub duplicate_registrations: u64,
    pub duplicate_phones: u64,
    pub members: u64,
    pub totals: Option<LedgerTotals>,
    pub digest: String,
    pub state_hash: String,
    pub series: Vec<Sample>,
    pub violation: Option<Violation>,
    /// Checkouts paying with points (`workload.redemptions`): served,
    /// declined (`insufficient_points`), the points they used, and the
    /// points escrow transfers made for them.
    pub redemptions: u64,
    pub redemptions_declined: u64,
    pub points_redeemed: i64,
    pub points_transfers: u64,
    /// Escrow transfers given for spends known short (`no_futile_transfer`).
    pub futile_transfers: u64,
    /// Coupons (the scenario's `[coupons]`; `None` without).
    pub coupons: Option<crate::coupons::CouponStats>,
    /// Cards (the scenario's `[cards]`; `None` without).
    pub cards: Option<crate::cards::CardStats>,
    /// Staff accounts (the scenario's `[staff]`; `None` without).
    pub staff: Option<crate::staff::StaffStats>,
    /// Stock (the scenario's `[stock]`; `None` without).
    pub stock: Option<crate::stock::StockStats>,
    /// Closes (the scenario's `[closes]`; `None` without).
    pub closes: Option<crate::closes::CloseStats>,
    /// Withdrawals (the scenario's `[withdrawals]`; `None` without).
    pub withdrawals: Option<crate::withdrawals::WithdrawalStats>,
    /// Member imports (the scenario's `[imports]`; `None` without).
    pub imports: Option<crate::imports::ImportStats>,
}

/// Spends summed over stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendTotals {
    pub requested: u64,
    pub served: u64,
    pub home_requested: u64,
    pub home_served: u64,
    pub other_requested: u64,
    pub other_served: u64,
    pub cut_home_requested: u64,
    pub cut_home_served: u64,
    pub cut_other_requested: u64,
    pub cut_other_served: u64,
}

impl Report {
    pub(crate) fn new(
        sc: &Scenario,
        seed: u64,
        stores: Vec<StoreStats>,
        nodes: Vec<String>,
    ) -> Report {
        Report {
            scenario: sc.name.clone(),
            description: sc.description.clone(),
            seed,
            nodes,
            duration: sc.time.duration.ms(),
            tick: sc.time.tick.ms(),
            settle_bound: sc.time.settle.ms(),
            workload_end: 0,
            steps: 0,
            checks: 0,
            stores,
            faults: Vec::new(),
            heals: Vec::new(),
            final_converged_after: None,
            ops_made: 0,
            ops_sent: 0,
            ops_lost: 0,
            programme_changes: 0,
            merges: 0,
            merge_moves: 0,
            merge_moved: Money::ZERO,
            merge_moved_bonus: Money::ZERO,
            merge_moved_points: 0,
            messages: BTreeMap::new(),
            lost: 0,
            duplicated: 0,
            reordered: 0,
            flaps: 0,
            crashes: 0,
            clock_refusals: 0,
            ask_timeouts: 0,
            transfers: 0,
            transferred: Money::ZERO,
            duplicate_registrations: 0,
            duplicate_phones: 0,
            members: 0,
            totals: None,
            digest: String::new(),
            state_hash: String::new(),
            series: Vec::new(),
            violation: None,
            redemptions: 0,
            redemptions_declined: 0,
            points_redeemed: 0,
            points_transfers: 0,
            futile_transfers: 0,
            coupons: sc.coupons.as_ref().map(|_| Default::default()),
            cards: sc.cards.as_ref().map(|_| Default::default()),
            staff: sc.staff.as_ref().map(|_| Default::default()),
            stock: sc.stock.as_ref().map(|_| Default::default()),
            closes: sc.closes.as_ref().map(|_| Default::default()),
            withdrawals: sc.withdrawals.as_ref().map(|_| Default::default()),
            imports: sc.imports.as_ref().map(|_| Default::default()),
        }
    }

    pub fn spends(&self) -> SpendTotals {
        let mut t = SpendTotals::default();
        for s in &self.stores {
            t.requested += s.spends_requested;
            t.served += s.spends_served;
            t.home_requested += s.home_requested;
            t.home_served += s.home_served;
            t.other_requested += s.other_requested;
            t.other_served += s.other_served;
            t.cut_home_requested += s.cut_home_requested;
            t.cut_home_served += s.cut_home_served;
            t.cut_other_requested += s.cut_other_requested;
            t.cut_other_served += s.cut_other_served;
        }
        t
    }

    pub fn passed(&self) -> bool {
        self.violation.is_none()
    }

    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "tongka partition simulation — {} (seed {})",
            self.scenario, self.seed
        );
        if !self.description.is_empty() {
            let _ = writeln!(o, "{}", self.description.trim());
        }
        let _ = writeln!(
            o,
            "nodes: {}; workload {}; replication tick {}; settle bound {}",
            self.nodes.join(", "),
            fmt_ms(self.duration),
            fmt_ms(self.tick),
            fmt_ms(self.settle_bound)
        );
        let _ = writeln!(
            o,
            "result: {}",
            match &self.violation {
                None => "PASS — every invariant held".to_string(),
                Some(v) => format!("FAIL — {v}"),
            }
        );
        o.push('\n');
        if !self.faults.is_empty() {
            let _ = writeln!(o, "faults");
            for (at, f) in &self.faults {
                let _ = writeln!(o, "  {}  {f}", fmt_at(*at));
            }
            o.push('\n');
        }
        let _ = writeln!(o, "member spends (checkouts paid from the balance)");
        let _ = writeln!(
            o,
            "  {:<10} {:>9} {:>9} {:>8} | {:>16} {:>16} | {:>16} {:>16}",
            "store",
            "requested",
            "served",
            "share",
            "home, normal",
            "elsewhere, norm.",
            "home, cut off",
            "elsewhere, cut"
        );
        let cell = |a: u64, b: u64| format!("{a}/{b} {}", pct(a, b));
        for s in &self.stores {
            let _ = writeln!(
                o,
                "  {:<10} {:>9} {:>9} {:>8} | {:>16} {:>16} | {:>16} {:>16}",
                s.name,
                s.spends_requested,
                s.spends_served,
                pct(s.spends_served, s.spends_requested),
                cell(s.home_served, s.home_requested),
                cell(s.other_served, s.other_requested),
                cell(s.cut_home_served, s.cut_home_requested),
                cell(s.cut_other_served, s.cut_other_requested),
            );
        }
        let t = self.spends();
        let _ = writeln!(
            o,
            "  {:<10} {:>9} {:>9} {:>8} | {:>16} {:>16} | {:>16} {:>16}",
            "total",
            t.requested,
            t.served,
            pct(t.served, t.requested),
            cell(t.home_served, t.home_requested),
            cell(t.other_served, t.other_requested),
            cell(t.cut_home_served, t.cut_home_requested),
            cell(t.cut_other_served, t.cut_other_requested),
        );
        let _ = writeln!(
            o,
            "  during partitions: {} served at the member's home store, {} at other stores",
            pct(t.cut_home_served, t.cut_home_requested),
            pct(t.cut_other_served, t.cut_other_requested)
        );
        o.push('\n');
        let _ = writeln!(o, "declines by reason");
        let mut any = false;
        for s in &self.stores {
            if s.declines.is_empty() {
                continue;
            }
            any = true;
            let list: Vec<String> = s.declines.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let extra = if s.declined_after_timeout > 0 {
                format!(
                    " (after an escrow ask timed out: {})",
                    s.declined_after_timeout
                )
            } else {
                String::new()
            };
            let _ = writeln!(o, "  {:<10} {}{extra}", s.name, list.join(", "));
        }
        if !any {
            let _ = writeln!(o, "  none");
        }
        o.push('\n');
        let _ = writeln!(o, "escrow");
        let _ = writeln!(
            o,
            "  transfers: {} moving {}; asks timed out: {}",
            self.transfers, self.transferred, self.ask_timeouts
        );
        let served: u64 =
            self.stores.iter().map(|s| s.spends_served).sum::<u64>() + self.redemptions;
        let per = if served == 0 {
            "-".to_string()
        } else {
            (rust_decimal::Decimal::from(self.transfers) / rust_decimal::Decimal::from(served))
                .round_dp(3)
                .to_string()
        };
        let _ = writeln!(
            o,
            "  transfers per served spend: {per} ({served} spends from the balance or points served); futile transfers: {}",
            self.futile_transfers
        );
        let _ = writeln!(
            o,
            "  {:<10} {:>6} {:>6} {:>6} {:>14} {:>6} {:>14}",
            "store", "asks", "pulls", "given", "amount", "got", "amount"
        );
        for s in &self.stores {
            let _ = writeln!(
                o,
                "  {:<10} {:>6} {:>6} {:>6} {:>14} {:>6} {:>14}",
                s.name,
                s.asks,
                s.pulls,
                s.given,
                s.given_amount.to_string(),
                s.received,
                s.received_amount.to_string()
            );
        }
        o.push('\n');
        if let Some(c) = &self.coupons {
            c.to_text(&mut o, self.totals.as_ref());
            o.push('\n');
        }
        if let Some(c) = &self.cards {
            c.to_text(&mut o, self.totals.as_ref());
            o.push('\n');
        }
        if let Some(s) = &self.staff {
            s.to_text(&mut o);
            o.push('\n');
        }
        if let Some(s) = &self.stock {
            s.to_text(&mut o);
            o.push('\n');
        }
        if let Some(s) = &self.closes {
            s.to_text(&mut o);
            o.push('\n');
        }
        if let Some(s) = &self.withdrawals {
            s.to_text(&mut o);
            o.push('\n');
        }
        if let Some(s) = &self.imports {
            s.to_text(&mut o);
            o.push('\n');
        }
        let _ = writeln!(o, "activity per store");
        let _ = writeln!(
            o,
            "  {:<10} {:>7} {:>14} {:>9} {:>14} {:>8} {:>7} {:>6} {:>8}",
            "store",
            "sales",
            "spent",
            "recharges",
            "recharged",
            "members",
            "refunds",
            "edits",
            "replayed"
        );
        for s in &self.stores {
            let _ = writeln!(
                o,
                "  {:<10} {:>7} {:>14} {:>9} {:>14} {:>8} {:>7} {:>6} {:>8}",
                s.name,
                s.sales,
                s.spent.to_string(),
                s.recharges,
                s.recharged.to_string(),
                s.registrations,
                s.refunds,
                s.profile_edits,
                s.replayed
            );
        }
        o.push('\n');
        let _ = writeln!(o, "convergence");
        for h in &self.heals {
            let _ = writeln!(
                o,
                "  {}  {:<28} {}",
                fmt_at(h.at),
                h.label,
                match h.converged_after {
                    Some(ms) => format!("every node held every op after {}", fmt_ms(ms)),
                    None => "interrupted by the next fault".into(),
                }
            );
        }
        let _ = writeln!(
            o,
            "  final heal at {}: {}",
            fmt_at(self.workload_end),
            match self.final_converged_after {
                Some(ms) => format!(
                    "converged after {} (bound {}): same ops, digest {}…, state hash {}…",
                    fmt_ms(ms),
                    fmt_ms(self.settle_bound),
                    self.digest.get(..16).unwrap_or(""),
                    self.state_hash.get(..16).unwrap_or("")
                ),
                None => "not converged".into(),
            }
        );
        o.push('\n');
        let _ = writeln!(o, "totals");
        let _ = writeln!(
            o,
            "  ops made {}; ops sent {}; steps {}; members {}; duplicate registrations {} (phones listed as duplicates {})",
            self.ops_made,
            self.ops_sent,
            self.steps,
            self.members,
            self.duplicate_registrations,
            self.duplicate_phones
        );
        let msgs: Vec<String> = self
            .messages
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(o, "  messages: {}", msgs.join(", "));
        if self.programme_changes > 0 {
            let _ = writeln!(
                o,
                "  programme changes made by HQ: {}",
                self.programme_changes
            );
        }
        if self.merges > 0 {
            let _ = writeln!(
                o,
                "  member merges: {} made; {} share moves, moving {} principal, {} bonus, {} points to survivors",
                self.merges,
                self.merge_moves,
                self.merge_moved,
                self.merge_moved_bonus,
                self.merge_moved_points
            );
        }
        let _ = writeln!(
            o,
            "  network: lost once {}, duplicated {}, reordered {}, link flaps {}; crashes {} (uncommitted ops lost {}); clock readings refused {}",
            self.lost,
            self.duplicated,
            self.reordered,
            self.flaps,
            self.crashes,
            self.ops_lost,
            self.clock_refusals
        );
        if self.redemptions + self.redemptions_declined > 0 {
            let _ = writeln!(
                o,
                "  redemptions (积分抵现): {} served ({} points), {} declined (insufficient_points); {} points transfers",
                self.redemptions,
                self.points_redeemed,
                self.redemptions_declined,
                self.points_transfers
            );
            if let Some(t) = &self.totals {
                let _ = writeln!(
                    o,
                    "  points: issued {} − reversed {} − redeemed {} + returned {} = outstanding {}",
                    t.points_issued,
                    t.points_reversed,
                    t.points_redeemed,
                    t.points_returned,
                    t.points_outstanding()
                );
            }
        }
        if let Some(t) = &self.totals {
            let (p, b) = t.outstanding();
            let _ = writeln!(
                o,
                "  ledger: recharged {} + bonus {}; spent {} + {}; refunded {} + {}; outstanding {} + {}",
                t.recharged_principal,
                t.recharged_bonus,
                t.spent_principal,
                t.spent_bonus,
                t.refunded_principal,
                t.refunded_bonus,
                p,
                b
            );
        }
        o.push('\n');
        let _ = writeln!(o, "invariants checked ({} steps)", self.steps);
        for (name, what) in self.invariants() {
            let status = match &self.violation {
                Some(v) if v.invariant == *name => "BROKEN",
                Some(_) => "held until the stop",
                None => "held",
            };
            let _ = writeln!(o, "  {name:<13} {status:<20} {what}");
        }
        o
    }

    /// The invariants this run checked: every run's, and the staff ones
    /// when the scenario has staff.
    fn invariants(&self) -> impl Iterator<Item = &(&'static str, &'static str)> {
        let staff = if self.staff.is_some() {
            STAFF_INVARIANTS
        } else {
            &[]
        };
        let stock = if self.stock.is_some() {
            crate::stock::STOCK_INVARIANTS
        } else {
            &[]
        };
        let closes = if self.closes.is_some() {
            crate::closes::CLOSE_INVARIANTS
        } else {
            &[]
        };
        let withdrawals = if self.withdrawals.is_some() {
            crate::withdrawals::WITHDRAWAL_INVARIANTS
        } else {
            &[]
        };
        let imports = if self.imports.is_some() {
            crate::imports::IMPORT_INVARIANTS
        } else {
            &[]
        };
        INVARIANTS
            .iter()
            .chain(staff)
            .chain(stock)
            .chain(closes)
            .chain(withdrawals)
            .chain(imports)
    }

    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let title = format!(
            "tongka simulation — {} (seed {})",
            esc(&self.scenario),
            self.seed
        );
        let _ = write!(
            h,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>\
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}}\
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}.pass{{color:#176e17}}.fail{{color:#b00020}}\
pre{{background:#f6f6f6;padding:1em;overflow:auto}}svg{{background:#fff;border:1px solid #ddd}}</style></head><body>"
        );
        let _ = write!(h, "<h1>{title}</h1><p>{}</p>", esc(&self.description));
        match &self.violation {
            None => {
                let _ = write!(
                    h,
                    "<p class=\"pass\"><b>PASS</b> — every invariant held over {} steps.</p>",
                    self.steps
                );
            }
            Some(v) => {
                let _ = write!(
                    h,
                    "<p class=\"fail\"><b>FAIL</b> — {}</p>",
                    esc(&v.to_string())
                );
            }
        }
        let _ = write!(
            h,
            "<p>Nodes: {}. Workload {}, replication tick {}, settle bound {}.</p>",
            esc(&self.nodes.join(", ")),
            fmt_ms(self.duration),
            fmt_ms(self.tick),
            fmt_ms(self.settle_bound)
        );
        // Spends table.
        h.push_str("<h2>Member spends</h2><table><tr><th>store</th><th>requested</th><th>served</th><th>share</th><th>home, normal</th><th>elsewhere, normal</th><th>home, cut off</th><th>elsewhere, cut off</th><th>declines</th></tr>");
        for s in &self.stores {
            let d: Vec<String> = s.declines.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                s.spends_requested,
                s.spends_served,
                pct(s.spends_served, s.spends_requested),
                pct(s.home_served, s.home_requested),
                pct(s.other_served, s.other_requested),
                pct(s.cut_home_served, s.cut_home_requested),
                pct(s.cut_other_served, s.cut_other_requested),
                esc(&d.join(", "))
            );
        }
        h.push_str("</table>");
        h.push_str(&self.svg_bars());
        h.push_str("<h2>Replication lag and partitions over time</h2>");
        h.push_str(&self.svg_series());
        if let Some(c) = &self.coupons {
            let mut t = String::new();
            c.to_text(&mut t, self.totals.as_ref());
            let _ = write!(h, "<h2>Coupons</h2><pre>{}</pre>", esc(&t));
        }
        if let Some(c) = &self.cards {
            let mut t = String::new();
            c.to_text(&mut t, self.totals.as_ref());
            let _ = write!(h, "<h2>Cards</h2><pre>{}</pre>", esc(&t));
        }
        if let Some(s) = &self.staff {
            let mut t = String::new();
            s.to_text(&mut t);
            let _ = write!(h, "<h2>Staff accounts</h2><pre>{}</pre>", esc(&t));
        }
        if let Some(s) = &self.stock {
            let mut t = String::new();
            s.to_text(&mut t);
            let _ = write!(h, "<h2>Stock</h2><pre>{}</pre>", esc(&t));
        }
        if let Some(s) = &self.closes {
            let mut t = String::new();
            s.to_text(&mut t);
            let _ = write!(h, "<h2>Closes</h2><pre>{}</pre>", esc(&t));
        }
        if let Some(s) = &self.withdrawals {
            let mut t = String::new();
            s.to_text(&mut t);
            let _ = write!(h, "<h2>Withdrawals</h2><pre>{}</pre>", esc(&t));
        }
        if let Some(s) = &self.imports {
            let mut t = String::new();
            s.to_text(&mut t);
            let _ = write!(h, "<h2>Member imports</h2><pre>{}</pre>", esc(&t));
        }
        h.push_str("<h2>Convergence</h2><table><tr><th>when</th><th>what</th><th>every node held every op after</th></tr>");
        for x in &self.heals {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                fmt_at(x.at),
                esc(&x.label),
                x.converged_after.map_or("interrupted".into(), fmt_ms)
            );
        }
        let _ = write!(
            h,
            "<tr><td>{}</td><td>final heal</td><td>{}</td></tr></table>",
            fmt_at(self.workload_end),
            self.final_converged_after
                .map_or("not converged".into(), fmt_ms)
        );
        h.push_str("<h2>Invariants</h2><table><tr><th>invariant</th><th>status</th><th>what is checked</th></tr>");
        for (name, what) in self.invariants() {
            let status = match &self.violation {
                Some(v) if v.invariant == *name => "<span class=\"fail\">BROKEN</span>",
                Some(_) => "held until the stop",
                None => "<span class=\"pass\">held</span>",
            };
            let _ = write!(
                h,
                "<tr><td>{name}</td><td>{status}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(what)
            );
        }
        h.push_str("</table><h2>Full text report</h2><pre>");
        h.push_str(&esc(&self.to_text()));
        h.push_str("</pre></body></html>\n");
        h
    }

    /// Bars: share of spends served per store, home vs elsewhere, during
    /// partitions and not.
    fn svg_bars(&self) -> String {
        let n = self.stores.len().max(1);
        let group = 4usize;
        let bw = 14usize;
        let gap = 18usize;
        let width = (60 + n * (group * bw + gap) + 20).max(680);
        let height = 240usize;
        let base = 200usize;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"share of spends served\">"
        );
        for k in 0..=4usize {
            let y = base - k * 40;
            let _ = write!(
                s,
                "<line x1=\"50\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#eee\"/><text x=\"45\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}%</text>",
                width - 10,
                y + 3,
                k * 25
            );
        }
        let colours = ["#4c78a8", "#9ecae9", "#e45756", "#ff9d98"];
        for (i, st) in self.stores.iter().enumerate() {
            let x0 = 60 + i * (group * bw + gap);
            let vals = [
                (st.home_served, st.home_requested),
                (st.other_served, st.other_requested),
                (st.cut_home_served, st.cut_home_requested),
                (st.cut_other_served, st.cut_other_requested),
            ];
            for (k, (a, b)) in vals.iter().enumerate() {
                if *b == 0 {
                    continue;
                }
                let hgt = (*a as usize * 160) / (*b as usize);
                let _ = write!(
                    s,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{hgt}\" fill=\"{}\"><title>{} {}</title></rect>",
                    x0 + k * bw,
                    base - hgt,
                    bw - 2,
                    colours[k],
                    esc(&st.name),
                    pct(*a, *b)
                );
            }
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x0 + group * bw / 2,
                base + 14,
                esc(&st.name)
            );
        }
        let labels = [
            "home, normal",
            "elsewhere, normal",
            "home, cut off",
            "elsewhere, cut off",
        ];
        for (k, l) in labels.iter().enumerate() {
            let x = 60 + k * 150;
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{l}</text>",
                base + 24,
                colours[k],
                x + 14,
                base + 33
            );
        }
        s.push_str("</svg>");
        s
    }

    fn svg_series(&self) -> String {
        let width = 900u64;
        let height = 220u64;
        let (x0, y0, plot_w, plot_h) = (50u64, 10u64, width - 70, height - 50);
        let tmax = self.series.last().map_or(1, |p| p.at).max(1);
        let lmax = self.series.iter().map(|p| p.lag).max().unwrap_or(0).max(1);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"replication lag\">"
        );
        let x = |t: u64| x0 + t * plot_w / tmax;
        let y = |v: u64| y0 + plot_h - v * plot_h / lmax;
        // Shade samples with a partition or a node down.
        for w in self.series.windows(2) {
            if w[1].partitioned > 0 || w[1].down > 0 {
                let _ = write!(
                    s,
                    "<rect x=\"{}\" y=\"{y0}\" width=\"{}\" height=\"{plot_h}\" fill=\"#fde2e2\"/>",
                    x(w[0].at),
                    (x(w[1].at) - x(w[0].at)).max(1)
                );
            }
        }
        let pts: Vec<String> = self
            .series
            .iter()
            .map(|p| format!("{},{}", x(p.at), y(p.lag)))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"#4c78a8\" stroke-width=\"1.5\" points=\"{}\"/>",
            pts.join(" ")
        );
        let _ = write!(
            s,
            "<line x1=\"{x0}\" x2=\"{x0}\" y1=\"{y0}\" y2=\"{}\" stroke=\"#999\"/><line x1=\"{x0}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
            y0 + plot_h,
            x0 + plot_w,
            y0 + plot_h,
            y0 + plot_h
        );
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{lmax}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>",
            x0 - 4,
            y0 + 8,
            x0 - 4,
            y0 + plot_h
        );
        for k in 0..=4u64 {
            let t = tmax * k / 4;
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x(t),
                y0 + plot_h + 14,
                fmt_at(t)
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\">ops not yet held, summed over nodes (blue); shaded: a partition or a node down</text>",
            x0,
            height - 6
        );
        s.push_str("</svg>");
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

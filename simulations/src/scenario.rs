//! The scenario format: a TOML file describing the chain, the simulated
//! time, the members and their habits, the network and a timeline of
//! faults. Every table refuses unknown fields, so a typo is an error, not a
//! silently ignored setting. `scenarios/*.toml` comment every field.
//!
//! Durations are text as humantime reads them (`"1500ms"`, `"10m"`,
//! `"2h 30m"`, `"1d"`); signed offsets may start with `-`. Probabilities and
//! rates are numbers (`0.05`) or decimal text (`"0.05"`): they are read as
//! decimals, never used as floating point. Money is decimal text
//! (`"100.00"`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tongka_core::money::Money;

use crate::SimError;

/// A length of simulated time, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub u64);

impl Dur {
    pub fn ms(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        write!(
            f,
            "{}",
            humantime::format_duration(std::time::Duration::from_millis(self.0))
        )
    }
}

impl FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        if s == "0" {
            return Ok(Dur(0));
        }
        humantime::parse_duration(s)
            .map_err(|e| format!("duration {s:?}: {e}"))
            .and_then(|d| {
                u64::try_from(d.as_millis())
                    .map(Dur)
                    .map_err(|_| format!("duration {s:?} is too long"))
            })
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A signed offset of time (clock skew), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset(pub i64);

impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = if self.0 < 0 {
            format!("-{}", Dur(self.0.unsigned_abs()))
        } else {
            Dur(self.0.unsigned_abs()).to_string()
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Offset, D::Error> {
        let text = String::deserialize(d)?;
        let t = text.trim();
        let (neg, rest) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let Dur(ms) = rest.parse().map_err(serde::de::Error::custom)?;
        let ms = i64::try_from(ms).map_err(serde::de::Error::custom)?;
        Ok(Offset(if neg { -ms } else { ms }))
    }
}

/// A non-negative decimal number read from a TOML number or decimal text:
/// a probability (0 to 1) or a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Num(pub Decimal);

fn num_is_zero(n: &Num) -> bool {
    n.is_zero()
}

impl Num {
    pub const ZERO: Num = Num(Decimal::ZERO);

    /// As parts per million, rounded (probabilities for the RNG).
    pub fn ppm(self) -> u32 {
        (self.0 * Decimal::from(1_000_000))
            .round()
            .to_u32()
            .unwrap_or(u32::MAX)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.to_f64() {
            Some(f) => s.serialize_f64(f),
            None => s.collect_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        let dec = match Raw::deserialize(d)? {
            Raw::Int(i) => Decimal::from(i),
            Raw::Float(f) => Decimal::from_f64(f)
                .ok_or_else(|| serde::de::Error::custom("not a finite number"))?
                .round_dp(9)
                .normalize(),
            Raw::Text(t) => Decimal::from_str(t.trim()).map_err(serde::de::Error::custom)?,
        };
        if dec.is_sign_negative() && !dec.is_zero() {
            return Err(serde::de::Error::custom("must not be negative"));
        }
        Ok(Num(dec))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in the report.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub chain: Chain,
    pub time: Time,
    pub members: Members,
    pub workload: Workload,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub escrow: Escrow,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Coupons (`crate::coupons`): templates, issues, campaigns, uses and
    /// refunds. Absent: none (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupons: Option<crate::coupons::Coupons>,
    /// Count and period cards (`crate::cards`): plans sold, sales, visits,
    /// visits away from the seller, refunds. Absent: none (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cards: Option<crate::cards::Cards>,
    /// Staff accounts (`crate::staff`): HQ's accounts at the start, edits
    /// at random nodes, logins two nodes apart both create. Absent: none
    /// (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<crate::staff::Staff>,
    /// Stock (`crate::stock`): goods in, sales of stocked skus, refunds,
    /// returns, transfers, stocktakes, minimums. Absent: none (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<crate::stock::Stock>,
    /// Day and shift closes (`crate::closes`). Absent: none (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes: Option<crate::closes::Closes>,
    /// Withdrawals (`crate::withdrawals`): stores ask, HQ decides. Absent:
    /// none (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawals: Option<crate::withdrawals::Withdrawals>,
    /// Member imports with opening balances (`crate::imports`). Absent:
    /// none (as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<crate::imports::Imports>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// Store nodes `store-1` … `store-N`.
    pub stores: u32,
    /// Whether an HQ node `hq` takes part (sells nothing, replicates).
    #[serde(default)]
    pub hq: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Time {
    /// How long the workload runs.
    pub duration: Dur,
    /// Replication cadence: a node pushes new ops and says what it holds at
    /// most one tick after they appear.
    #[serde(default = "default_tick")]
    pub tick: Dur,
    /// How often a node tells peers what it holds (`Have`: acknowledges
    /// their ops, frees their send window). Default: every tick. A coarser
    /// cadence saves the N² messages of a large mesh. A change of the links
    /// a node has is told at the next tick whatever this is.
    #[serde(default)]
    pub have_every: Option<Dur>,
    /// Group commit: a node's log is made durable this long after the
    /// first op appended since the last commit; clients are answered, ops
    /// replicated and escrow transfers given only then, and a crash loses
    /// what was not committed yet. Default: each op commits as it is made.
    #[serde(default)]
    pub group_commit: Option<Dur>,
    /// After the workload, every fault ends; the chain must converge within
    /// this bound (checked).
    #[serde(default = "default_settle")]
    pub settle: Dur,
    /// Resolution of the report's time series and of the full invariant
    /// sweeps (the cheap checks run after every step).
    #[serde(default = "default_sample")]
    pub sample: Dur,
}

fn default_tick() -> Dur {
    Dur(200)
}
fn default_settle() -> Dur {
    Dur(10 * 60 * 1000)
}
fn default_sample() -> Dur {
    Dur(10 * 60 * 1000)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HomeDist {
    /// `"uniform"`
    Named(String),
    /// A weight per store.
    Weights(Vec<u32>),
}

impl Default for HomeDist {
    fn default() -> Self {
        HomeDist::Named("uniform".into())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    /// Members registered at their home store before the day starts.
    pub initial: u32,
    /// Each initial member recharges one of these amounts at home (picked
    /// at random); empty: no initial balance.
    #[serde(default)]
    pub initial_balance: Vec<Money>,
    /// Where members live: `"uniform"` or a weight per store.
    #[serde(default)]
    pub home: HomeDist,
    /// Probability that a visit is at a store other than the home store.
    #[serde(default)]
    pub other_store: Num,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Checkouts per member per day.
    pub checkouts: Num,
    /// Share of checkouts paid from the stored-value balance (the rest in
    /// cash). A member never asks to pay more than the balance they have
    /// chain-wide; with nothing left they pay cash.
    #[serde(default)]
    pub balance_paid: Num,
    /// Price range of a checkout (one line, before the level discount).
    pub price: [Money; 2],
    /// Recharges per member per day.
    #[serde(default)]
    pub recharges: Num,
    /// Amounts a recharge picks from.
    #[serde(default)]
    pub recharge_amounts: Vec<Money>,
    /// Probability that a sale is refunded later at the same store (half
    /// the time in part); some refund requests repeat (refused the second
    /// time).
    #[serde(default)]
    pub refunds: Num,
    /// Profile edits per member per day.
    #[serde(default)]
    pub profile_edits: Num,
    /// New members per existing member per day (registered at home).
    #[serde(default)]
    pub registrations: Num,
    /// Programme edits HQ makes per day (not per member): a recharge
    /// offer's bonus, a level's rate or the points rate, picked by the
    /// seed, as `ProgrammeChanged` ops. Needs `chain.hq`. Default 0.
    #[serde(default, skip_serializing_if = "num_is_zero")]
    pub programme_changes: Num,
    /// Probability that a new member's phone is registered again at another
    /// store (refused when that store knows the first one; a duplicate for
    /// the merge queue when it does not).
    #[serde(default)]
    pub duplicate_registrations: Num,
    /// Member merges (default 0, off): about once an hour an operator at
    /// a store picked by the seed lists the duplicates that store sees (a
    /// phone held by more than one member not merged together, as
    /// `GET /members/duplicates`) and merges each with this probability,
    /// as `POST /members/{survivor}/merge {"absorb": ..}`: the survivor is
    /// the smallest member id (the one `merge::Merged::resolve` keeps when
    /// merges cross). A duplicate registered at another store is then
    /// that store's member for the client (recharges and checkouts there
    /// go to it) until merged.
    #[serde(default, skip_serializing_if = "num_is_zero")]
    pub merges: Num,
    /// Probability that a client sends an accepted request again with the
    /// same idempotency key (it must get the first answer, nothing more).
    #[serde(default)]
    pub retries: Num,
    /// Probability that a member checkout asks to pay part with points
    /// (积分抵现; default 0, off). When above 0 the chain's programme starts
    /// with the points deduction rule on (100 points = 1.00, at most half
    /// the payable), and the cashier asks for the points the member has as
    /// the store sees them, at most 40% of the price; a store short of
    /// points asks the stores that hold them (escrow, like money).
    #[serde(default, skip_serializing_if = "num_is_zero")]
    pub redemptions: Num,
    /// Probability that a balance checkout asks for more than the member
    /// holds in all (default 0, off): always declined, it must move no
    /// share (`no_futile_transfer`).
    #[serde(default, skip_serializing_if = "num_is_zero")]
    pub overspends: Num,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// One-way delay of a message, uniform in [min, max].
    #[serde(default = "default_delay")]
    pub delay: [Dur; 2],
    /// Probability that a message is lost once: the stream transport
    /// resends it after `retransmit`, holding up the messages behind it.
    #[serde(default)]
    pub loss: Num,
    #[serde(default = "default_retransmit")]
    pub retransmit: Dur,
    /// Probability that a message is delivered twice (adversarial: the QUIC
    /// stream never does; the protocol must not care).
    #[serde(default)]
    pub duplicate: Num,
    /// Probability that a message is delivered out of order, after messages
    /// sent later (adversarial, as `duplicate`).
    #[serde(default)]
    pub reorder: Num,
    /// Links with their own delay (WAN links).
    #[serde(default)]
    pub links: Vec<LinkDelay>,
    /// Links that go down and up at random.
    #[serde(default)]
    pub flap: Option<Flap>,
}

fn default_delay() -> [Dur; 2] {
    [Dur(1), Dur(20)]
}
fn default_retransmit() -> Dur {
    Dur(300)
}

impl Default for Network {
    fn default() -> Self {
        Network {
            delay: default_delay(),
            loss: Num::ZERO,
            retransmit: default_retransmit(),
            duplicate: Num::ZERO,
            reorder: Num::ZERO,
            links: Vec::new(),
            flap: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDelay {
    /// The two nodes of the link.
    pub between: [String; 2],
    pub delay: [Dur; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flap {
    /// Which links flap: pairs of node names; empty = every link.
    #[serde(default)]
    pub links: Vec<[String; 2]>,
    /// How long a link stays up, uniform in [min, max].
    pub up: [Dur; 2],
    /// How long it stays down, uniform in [min, max].
    pub down: [Dur; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escrow {
    /// How long a store waits for each peer it asks for shares.
    #[serde(default = "default_ask_timeout")]
    pub ask_timeout: Dur,
    /// After a sale, pull the member's other shares to the store
    /// (`tongka_core::escrow::pull_ahead`).
    #[serde(default = "yes")]
    pub pull_ahead: bool,
}

fn default_ask_timeout() -> Dur {
    Dur(1500)
}
fn yes() -> bool {
    true
}

impl Default for Escrow {
    fn default() -> Self {
        Escrow {
            ask_timeout: default_ask_timeout(),
            pull_ahead: true,
        }
    }
}

/// A fault on the timeline. Times are from the start of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Nodes in different groups cannot reach each other from `at` until
    /// `heal`. Nodes listed in no group form one more group together, so
    /// `groups = [["store-3"]]` cuts store-3 off from everyone else.
    Partition {
        at: Dur,
        heal: Dur,
        groups: Vec<Vec<String>>,
    },
    /// The node stops at `at` (volatile state lost, its log kept) and
    /// starts again at `restart` (state rebuilt from its log).
    Crash { node: String, at: Dur, restart: Dur },
    /// The node's clock is off by `skew` (may be negative) from `at` on.
    ClockSkew {
        node: String,
        #[serde(default)]
        at: Dur,
        skew: Offset,
    },
    /// The node's disk is full from `at` until `until`: every write is
    /// refused (`storage_unavailable`) and it takes no replication.
    DiskFull { node: String, at: Dur, until: Dur },
}

impl Fault {
    pub fn starts(&self) -> Dur {
        match self {
            Fault::Partition { at, .. }
            | Fault::Crash { at, .. }
            | Fault::ClockSkew { at, .. }
            | Fault::DiskFull { at, .. } => *at,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Fault::Partition { at, heal, groups } => {
                let g: Vec<String> = groups
                    .iter()
                    .map(|g| format!("{{{}}}", g.join(",")))
                    .collect();
                format!("partition {} from {at} to {heal}", g.join(" | "))
            }
            Fault::Crash { node, at, restart } => {
                format!("crash {node} at {at}, restart at {restart}")
            }
            Fault::ClockSkew { node, at, skew } => {
                let sign = if skew.0 < 0 { "-" } else { "+" };
                format!(
                    "clock of {node} off by {sign}{} from {at}",
                    Dur(skew.0.unsigned_abs())
                )
            }
            Fault::DiskFull { node, at, until } => {
                format!("disk of {node} full from {at} to {until}")
            }
        }
    }
}

impl Scenario {
    /// Node names: `store-1` … `store-N`, then `hq` if present.
    pub fn node_names(&self) -> Vec<String> {
        let mut v: Vec<String> = (1..=self.chain.stores)
            .map(|i| format!("store-{i}"))
            .collect();
        if self.chain.hq {
            v.push("hq".into());
        }
        v
    }

    pub fn parse(text: &str) -> Result<Scenario, SimError> {
        let s: Scenario = toml::from_str(text).map_err(|e| SimError::Parse(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }

    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Invalid(m));
        if self.chain.stores == 0 || self.chain.stores > 64 {
            return bad("chain.stores must be 1 to 64".into());
        }
        let names: BTreeSet<String> = self.node_names().into_iter().collect();
        let known = |n: &str, what: &str| -> Result<(), SimError> {
            if names.contains(n) {
                Ok(())
            } else {
                Err(SimError::Invalid(format!("{what}: unknown node {n:?}")))
            }
        };
        if self.time.duration.0 == 0 {
            return bad("time.duration must be positive".into());
        }
        if self.time.tick.0 == 0 || self.time.sample.0 == 0 {
            return bad("time.tick and time.sample must be positive".into());
        }
        if self.members.other_store.0 > Decimal::ONE {
            return bad("members.other_store is a probability (0 to 1)".into());
        }
        if let HomeDist::Named(n) = &self.members.home
            && n != "uniform"
        {
            return bad(format!("members.home: {n:?} (\"uniform\" or weights)"));
        }
        if let HomeDist::Weights(w) = &self.members.home
            && (w.len() != self.chain.stores as usize || w.iter().all(|x| *x == 0))
        {
            return bad("members.home: one weight per store, not all zero".into());
        }
        for m in &self.members.initial_balance {
            if !m.is_positive() {
                return bad("members.initial_balance: amounts must be positive".into());
            }
        }
        let w = &self.workload;
        if !w.programme_changes.is_zero() && !self.chain.hq {
            return bad(
                "workload.programme_changes needs chain.hq (HQ authors the programme)".into(),
            );
        }
        for (name, p) in [
            ("workload.balance_paid", w.balance_paid),
            ("workload.refunds", w.refunds),
            (
                "workload.duplicate_registrations",
                w.duplicate_registrations,
            ),
            ("workload.retries", w.retries),
            ("workload.merges", w.merges),
            ("network.loss", self.network.loss),
            ("network.duplicate", self.network.duplicate),
            ("network.reorder", self.network.reorder),
        ] {
            if p.0 > Decimal::ONE {
                return bad(format!("{name} is a probability (0 to 1)"));
            }
        }
        if !w.price[0].is_positive() || w.price[0] > w.price[1] {
            return bad("workload.price: [min, max] with 0 < min <= max".into());
        }
        if !w.recharges.is_zero() && w.recharge_amounts.is_empty() {
            return bad("workload.recharge_amounts: needed when recharges > 0".into());
        }
        if w.recharge_amounts.iter().any(|m| !m.is_positive()) {
            return bad("workload.recharge_amounts: amounts must be positive".into());
        }
        if self.network.delay[0] > self.network.delay[1] {
            return bad("network.delay: [min, max]".into());
        }
        for l in &self.network.links {
            known(&l.between[0], "network.links")?;
            known(&l.between[1], "network.links")?;
            if l.delay[0] > l.delay[1] || l.between[0] == l.between[1] {
                return bad("network.links: two different nodes and [min, max]".into());
            }
        }
        if let Some(f) = &self.network.flap {
            for l in &f.links {
                known(&l[0], "network.flap")?;
                known(&l[1], "network.flap")?;
            }
            if f.up[0] > f.up[1] || f.down[0] > f.down[1] || f.up[0].0 == 0 || f.down[0].0 == 0 {
                return bad("network.flap: up and down are positive [min, max]".into());
            }
        }
        if let Some(p) = self.coupons.as_ref().and_then(|c| c.problem(self.chain.hq)) {
            return bad(p);
        }
        if let Some(p) = self.cards.as_ref().and_then(|c| c.problem()) {
            return bad(p);
        }
        if let Some(p) = self.staff.as_ref().and_then(|s| s.problem(self.chain.hq)) {
            return bad(p);
        }
        if let Some(p) = self
            .stock
            .as_ref()
            .and_then(|s| s.problem(self.chain.stores))
        {
            return bad(p);
        }
        if let Some(p) = self
            .withdrawals
            .as_ref()
            .and_then(|w| w.problem(self.chain.hq))
        {
            return bad(p);
        }
        if let Some(p) = self.imports.as_ref().and_then(|i| i.problem()) {
            return bad(p);
        }
        if self.escrow.ask_timeout.0 == 0 {
            return bad("escrow.ask_timeout must be positive".into());
        }
        for f in &self.faults {
            match f {
                Fault::Partition { at, heal, groups } => {
                    if heal <= at {
                        return bad(format!("{}: heal must come after at", f.describe()));
                    }
                    let mut seen = BTreeSet::new();
                    for g in groups {
                        for n in g {
                            known(n, "partition")?;
                            if !seen.insert(n.clone()) {
                                return bad(format!("partition: {n} in two groups"));
                            }
                        }
                    }
                    if groups.is_empty() || groups.iter().any(|g| g.is_empty()) {
                        return bad("partition: at least one non-empty group".into());
                    }
                }
                Fault::Crash { node, at, restart } => {
                    known(node, "crash")?;
                    if restart <= at {
                        return bad(format!("{}: restart must come after at", f.describe()));
                    }
                }
                Fault::ClockSkew { node, .. } => known(node, "clock_skew")?,
                Fault::DiskFull { node, at, until } => {
                    known(node, "disk_full")?;
                    if until <= at {
                        return bad(format!("{}: until must come after at", f.describe()));
                    }
                }
            }
        }
        Ok(())
    }
}

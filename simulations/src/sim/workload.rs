//! The workload: the members the clients model, the run's initial schedule
//! (registrations, faults, flaps, samples), the hourly chunks of checkouts,
//! recharges, edits and registrations drawn from the seed, the store a
//! client walks into, and HQ's programme edits.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tongka_core::money::Money;
use tongka_core::op::OpBody;
use tongka_core::programme::Programme;
use tongka_core::programme_doc;

use super::{DAY, Ev, HOUR, MemberModel, Sim, between, chance};
use crate::scenario::{Fault, HomeDist};

impl Sim<'_> {
    pub(super) fn setup(&mut self) {
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
        if let Some(c) = &sc.coupons {
            for (k, campaign) in c.campaigns.iter().enumerate() {
                self.at(campaign.at.ms(), Ev::Campaign(k));
            }
        }
        self.schedule_staff_start();
        self.schedule_stock_start();
        let _ = n;
    }

    pub(super) fn new_model(&mut self) -> usize {
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
            coupons: Vec::new(),
            away: None,
        });
        i
    }

    pub(super) fn idem(&mut self) -> String {
        let k = format!("k{}", self.next_idem);
        self.next_idem += 1;
        k
    }

    /// Generate the workload of one hour.
    pub(super) fn chunk(&mut self, hour: u64) {
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
        // Coupon issues (per member-day): drawn only when asked for.
        if let Some(c) = sc.coupons.as_ref().filter(|c| !c.issues.is_zero()) {
            let n = count(&mut self.rng_work, c.issues.0 * members * frac);
            for _ in 0..n {
                let t = start + self.rng_work.random_range(0..span);
                let m = self.rng_work.random_range(0..self.models.len().max(1));
                self.at(t, Ev::CouponIssue(m));
            }
        }
        // Card sales and visits: drawn only when the scenario has cards.
        self.schedule_cards(start, span, frac);
        // Staff edits: drawn (from their own stream) only with `[staff]`.
        self.schedule_staff(start, span, frac);
        // Stock: drawn (from its own stream) only with `[stock]`.
        self.schedule_stock(start, span, frac);
        // Closes: drawn (from their own stream) only with `[closes]`.
        self.schedule_closes(start, span, frac);
        // Withdrawals and imports: likewise, streams 5 and 6.
        self.schedule_withdrawals(start, span, frac);
        self.schedule_imports(start, span, frac);
        self.schedule_merge_scan(start, span);
        if end < sc.time.duration.ms() {
            self.at(end, Ev::Chunk(hour + 1));
        }
    }

    pub(super) fn pick_store(&mut self, model: usize) -> usize {
        let home = self.models[model].home;
        let p = self.models[model].away.unwrap_or(self.p_other);
        if self.stores > 1 && chance(&mut self.rng_work, p) {
            let k = self.rng_work.random_range(0..self.stores - 1);
            if k >= home { k + 1 } else { k }
        } else {
            home
        }
    }

    /// HQ edits one part of the programme it holds (an offer's bonus, a
    /// level's rate or the points rate, picked by the seed), decided like
    /// the engine's `change_programme`: `programme_doc::change` on its
    /// document, logged as a `ProgrammeChanged` op.
    pub(super) fn programme_edit(&mut self) {
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
}

/// How many events of an expected (decimal) count: the whole part, and one
/// more with the probability of the fraction.
pub(super) fn count(rng: &mut ChaCha8Rng, expected: Decimal) -> u64 {
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

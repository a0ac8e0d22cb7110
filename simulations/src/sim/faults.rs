//! Faults: partitions (and which stores they cut off), crashes that lose
//! what was not yet durable, restarts that rebuild a node from its log,
//! full disks and clock skew.

use tongka_core::clock::{Hlc, HlcClock, VersionVector};
use tongka_sync::{Replica, ReplicaConfig};

use super::checks::SweepCache;
use super::{CHAIN, Sim};
use crate::Mutation;
use crate::node::{Materialised, Purpose};
use crate::report::HealRecord;
use crate::scenario::Fault;

impl Sim<'_> {
    pub(super) fn fault(&mut self, i: usize, start: bool) {
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

    pub(super) fn recompute_cut_off(&mut self) {
        let n = self.names.len();
        for a in 0..n {
            // Cut off from another store (HQ holds no shares).
            self.cut_off[a] = (0..self.stores).any(|b| b != a && self.separated(a, b));
        }
    }

    pub(super) fn separated(&self, a: usize, b: usize) -> bool {
        self.partitions.values().any(|g| g[a] != g[b])
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
            if let Purpose::Checkout(r, _)
            | Purpose::Redeem(r, _)
            | Purpose::Coupon(r, _)
            | Purpose::Card(r, _) = then
            {
                self.decline(&r, "store_down");
            }
        }
        self.report.crashes += 1;
        // Ops made here and lost were never acknowledged nor sent: as if
        // never made (a retry of the request decides it again).
        let kept = (self.ops[n].len() - lost_own.len()) as u64;
        self.staff_lost(n, kept);
        self.stock_lost(n, kept);
        for rec in lost_own {
            self.ops[n].pop();
            self.report.ops_lost += 1;
            if let Some(k) = &rec.op.idem {
                self.idem_ops.remove(k);
            }
        }
        debug_assert_eq!(self.ops[n].len(), self.nodes[n].log[n].len());
    }

    pub(super) fn restart(&mut self, n: usize) {
        if self.nodes[n].up {
            return;
        }
        let cfg = ReplicaConfig {
            chain: CHAIN.into(),
            ..ReplicaConfig::default()
        };
        let drop_notes = self.mutant(n, Mutation::MergeDropsField);
        let ignore_prog = self.mutant(n, Mutation::IgnoresProgramme);
        let last_arrived = self.mutant(n, Mutation::StaffLastArrivedWins);
        let receive_twice = self.mutant(n, Mutation::ReceiveTwice);
        let figures_twice = self.mutant(n, Mutation::FiguresTransferTwice);
        let settle_drop_bonus = self.mutant(n, Mutation::SettlementDropsBonus);
        let names = self.names.clone();
        let node = &mut self.nodes[n];
        // Rebuild everything from the log, in commit order.
        let mut st = Materialised::new(&self.ids);
        if let Some(p) = &self.start_programme {
            crate::points::start(&mut st, p);
        }
        st.staff_last_arrived = last_arrived;
        st.stock_receive_twice = receive_twice;
        st.figures_transfer_twice = figures_twice;
        st.settle_drop_bonus = settle_drop_bonus;
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
            .map(|k| (k, (), ()))
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
}

//! Watching the chain converge: how long after a heal every node holds
//! every op (heal watches and probes), the periodic samples, the end of the
//! workload (every fault ends), and the final comparison of the nodes.

use super::checks::SweepCache;
use super::{Ev, HealWatch, Sim};
use crate::report::{HealRecord, Sample};

impl Sim<'_> {
    fn healthy(&self) -> bool {
        self.partitions.is_empty()
            && self.nodes.iter().all(|n| n.up && !n.disk_full)
            && self.links.iter().all(|l| !l.flap_down)
    }

    /// After a fault ends, if nothing else is wrong, time how long until
    /// every node holds every op that existed at that moment.
    pub(super) fn maybe_watch(&mut self, label: String) {
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

    pub(super) fn probe(&mut self) {
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

    pub(super) fn sample(&mut self) {
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

    pub(super) fn end_workload(&mut self) {
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
            // Stock books first: a difference is named by store and sku.
            self.stock_final();
            self.figures_final();
            self.closes_final();
            self.withdrawals_final();
            self.imports_final();
            if self.violation.is_some() {
                return;
            }
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
            self.staff_final();
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
        if x.staff != y.staff {
            for a in x.staff.iter() {
                match y.staff.get(&a.id) {
                    None => return format!("staff account {} missing at {}", a.id, self.names[b]),
                    Some(o) if o != a => {
                        let field = [
                            ("name", a.name != o.name),
                            ("role", a.role != o.role),
                            ("stores", a.stores != o.stores),
                            ("disabled", a.disabled != o.disabled),
                            ("password", a.password != o.password),
                        ]
                        .iter()
                        .find(|(_, d)| *d)
                        .map_or("stamps", |(f, _)| f);
                        return format!("staff account {} ({}) differs ({field})", a.id, a.login);
                    }
                    _ => {}
                }
            }
            return format!("staff accounts differ ({} holds more)", self.names[b]);
        }
        "totals differ".into()
    }
}

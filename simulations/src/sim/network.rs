//! The simulated network: links up or down (faults, flaps), sending with
//! delay, loss, reordering and duplication, the periodic `Have`s and the
//! pushes of ops, and delivery into a node's replica (and what it applies).

use std::sync::Arc;

use tongka_sync::{Msg, OpRef};

use super::{Ev, Sim, Wire, between, chance};
use crate::Mutation;
use crate::node::LogView;

impl Sim<'_> {
    fn link_index(&self, a: usize, b: usize) -> usize {
        let (a, b) = (a.min(b), a.max(b));
        let n = self.names.len();
        // Pairs (a, b) with a < b, row by row.
        a * n - a * (a + 1) / 2 + (b - a - 1)
    }

    pub(super) fn bring_links_up(&mut self) {
        self.recompute_links();
    }

    pub(super) fn recompute_links(&mut self) {
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

    pub(super) fn connected(&self, a: usize, b: usize) -> bool {
        a != b && self.links[self.link_index(a, b)].up
    }

    pub(super) fn send(&mut self, from: usize, to: usize, msg: Wire) {
        let l = self.link_index(from, to);
        if !self.links[l].up {
            return;
        }
        // Counted by kind (see `MSG_KINDS`), put in the report at the end.
        let kind = match &msg {
            Wire::Ctl(m) => match &**m {
                Msg::Hello { .. } => 0,
                Msg::Have { .. } => 1,
                Msg::Ask { .. } => 2,
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

    pub(super) fn schedule_have(&mut self, n: usize) {
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

    pub(super) fn schedule_push(&mut self, n: usize) {
        if !self.nodes[n].push_due {
            self.nodes[n].push_due = true;
            let t = self.now + self.sc.time.tick.ms();
            let life = self.nodes[n].life;
            self.at(t, Ev::Push(n, life));
        }
    }

    pub(super) fn send_haves(&mut self, n: usize) {
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

    pub(super) fn push(&mut self, n: usize) {
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

    pub(super) fn deliver(&mut self, from: usize, to: usize, epoch: u64, msg: Wire) {
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
        if let Some((req, want)) = d.ask {
            self.give(to, from, req, want);
        }
        if let Some(req) = d.gave {
            self.gave(to, req, gave_ids.unwrap_or_default());
        }
    }
}

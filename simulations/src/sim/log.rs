//! A node's local log: its clock, making an op here (stamped by the
//! machine's rule over the node's `Holding`), appending
//! an op made here or received and folding it into the state, checking a
//! received op against its origin's, the group commit, and the mutants'
//! applies outside the log.

use std::rc::Rc;

use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::{OpBody, OpDraft};
use tongka_machine::stamp::{self, Holdings};

use super::{EPOCH_MS, Ev, Sim, Wire};
use crate::Mutation;
use crate::node::{OpRec, Rec};

impl Sim<'_> {
    pub(super) fn tick(&mut self, n: usize) -> Hlc {
        let p = self.phys(n);
        self.nodes[n].clock.tick(p)
    }

    fn phys(&self, n: usize) -> u64 {
        let t = (EPOCH_MS + self.now) as i64 + self.nodes[n].skew;
        t.max(0) as u64
    }

    /// Apply an op to a node's state outside its log (mutations).
    pub(super) fn side_apply(&mut self, n: usize, rec: &OpRec) {
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

    pub(super) fn commit_remote(&mut self, n: usize, got: Rec) {
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
        let forced = local
            && (self.mutant(n, Mutation::SpendSkipsShareCheck)
                || self.mutant(n, Mutation::CouponSkipsShareCheck)
                || self.mutant(n, Mutation::CardSkipsShareCheck));
        // An op made here is checked against the sim catalogue's units
        // (`Check::Made`); received or replayed, applied as recorded.
        let units = self.stock.units.clone();
        let lookup = |sku: &str| units.get(sku).copied();
        let made: Option<tongka_machine::stock::Units> = local.then_some(&lookup);
        let node = &mut self.nodes[n];
        let result = if skip_state {
            Ok(None)
        } else {
            let r = node
                .st
                .apply_as(&rec.op, Some(&rec), true, drop_notes, ignore_prog, made)
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
        self.stock_appended(n, &rec, local);
        self.check_node_totals(n);
        if local {
            self.schedule_push(n);
            self.schedule_have(n);
        }
    }

    /// Make an op here now: stamp it as the store's writer does
    /// (`tongka_machine::stamp`, over this node's `Holding`), append and
    /// apply it.
    pub(super) fn make(
        &mut self,
        n: usize,
        hlc: Hlc,
        by: &str,
        idem: Option<String>,
        body: OpBody,
    ) -> Rc<OpRec> {
        self.make_keyed(n, hlc, by, idem, body, true)
    }

    /// `make`; `record`: the op answers its idempotency key (else the
    /// caller records it with `record_key`, once for several ops made
    /// under one key: an import chunk's).
    pub(super) fn make_keyed(
        &mut self,
        n: usize,
        hlc: Hlc,
        by: &str,
        idem: Option<String>,
        body: OpBody,
        record: bool,
    ) -> Rc<OpRec> {
        let draft = OpDraft {
            hlc,
            by: by.into(),
            idem: idem.clone(),
            body,
        };
        let node = &mut self.nodes[n];
        // The deps again by origin index, as `OpRec` carries them.
        let mut dense = vec![0u32; node.held.len()];
        for (o, &h) in node.held.iter().enumerate() {
            if o != n && h > 0 {
                dense[o] = u32::try_from(h).expect("fewer than 2^32 ops per origin");
            }
        }
        let op = stamp::stamp(
            draft,
            &mut Holding {
                origin: &node.name,
                me: n,
                names: &self.names,
                held: &node.held,
                made: &mut node.deps_made,
            },
        );
        let id = op.id.clone();
        let rec = Rc::new(OpRec::new(
            op,
            n as u32,
            dense.into_boxed_slice(),
            &self.ids,
            &mut self.enc,
        ));
        if let Some(k) = idem.filter(|_| record) {
            self.record_key(n, k, &id);
        }
        self.ops[n].push(rec.clone());
        self.append(n, rec.clone(), true, false);
        self.report.ops_made += 1;
        rec
    }

    /// Key `k` answered by op `id` of node `n` (chain-wide at most once).
    pub(super) fn record_key(&mut self, n: usize, k: String, id: &OpId) {
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
        self.nodes[n].idem.record(k, (), ());
    }

    /// Group commit at `n`: everything appended is durable now; tell the
    /// replica, acknowledge the clients, answer the escrow asks.
    pub(super) fn sync(&mut self, n: usize) {
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
}

/// What a simulated node holds, as stamping reads it: its counts by origin
/// index, and the deps of the last op it made (`Node::deps_made`), raised
/// where more is held since: cheaper than making them anew per op.
struct Holding<'a> {
    origin: &'a NodeId,
    me: usize,
    names: &'a [NodeId],
    held: &'a [u64],
    made: &'a mut Option<(Vec<u64>, VersionVector)>,
}

impl Holdings for Holding<'_> {
    fn origin(&self) -> &NodeId {
        self.origin
    }

    fn own(&self) -> u64 {
        self.held[self.me]
    }

    fn others(&mut self) -> VersionVector {
        let (made, vv) = self
            .made
            .get_or_insert_with(|| (vec![0; self.held.len()], VersionVector::new()));
        if self.held.iter().zip(made.iter()).any(|(h, m)| h < m) {
            // Less held than then (a crash lost ops): anew.
            *made = vec![0; self.held.len()];
            *vv = VersionVector::new();
        }
        for (o, &h) in self.held.iter().enumerate() {
            if o != self.me && h > made[o] {
                vv.raise(&self.names[o], h);
                made[o] = h;
            }
        }
        vv.clone()
    }
}

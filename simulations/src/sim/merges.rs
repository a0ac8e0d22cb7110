//! Member merges (`workload.merges`): an operator merges the duplicates a
//! store lists, and every node applies the merge and moves its own share
//! of the absorbed member to the survivor, with the core's rules
//! (`tongka_core::merge`) and the machine's settle rule
//! (`tongka_machine::settle`) the node's engine uses (`merge_members`,
//! `settle`, `settle_all`). This file keeps the workload, the simulated
//! node's side of applying a merge and its checks.
//!
//! - Decide: `merge::decide_merge(survivor, absorbed, merged, origin, at)`
//!   at the operator's store, logged as its `MembersMerged` op.
//! - Apply (every node, causal order, exactly once like every op):
//!   `MemberState::apply` fills the survivor's blanks, unites tags, counts
//!   the figures (once per absorbed member, the lowest op id's); the node's `Merged` learns the pair. A `MergeMoved` op
//!   debits its origin's share of the absorbed member (`MemberState::apply`:
//!   only the owner's own share) and credits the origin's share of the
//!   survivor (`merge::apply_credit`); the per-member expected balances
//!   move with it, the ledger does not change.
//! - Settle: the node machine's rule (`tongka_machine::settle`), as the
//!   engine runs it: each node's `Settling` notes the merged-away member an
//!   op it applied touches (`Event::Applied`) and, at a restart, every
//!   merged-away member it holds a share of (`Event::Started`); once the
//!   node can write (up, disk not full) it makes the moves due
//!   (`Settling::due`, `settle::move_of`). The notes are kept while it
//!   cannot.
//! - Lookups: a client's requests go to `Merged::resolve` of the member
//!   the store knows them by (`Engine::member`).
//!
//! Checks: conservation per member and per node as for every op (the
//! moved money leaves one wallet and reaches the other, to the fen), no
//! negative share (a move beyond the origin's share is refused by the
//! core), authority (a move of a member not merged at the node applying
//! it is refused), convergence (the state hash covers the merge pairs),
//! and at the end, once converged: every merged-away member holds nothing
//! (each holder moved its whole share, nothing stranded).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::Rng;
use tongka_core::error::DomainError;
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::merge;
use tongka_core::op::{Op, OpBody};
use tongka_core::wallet::Share;
use tongka_machine::apply;
use tongka_machine::settle::{self, Due, Event, Settling};

use super::{Ev, Request, Sim, chance};
use crate::Mutation;
use crate::node::{Materialised, Touched, expect_of, fail};
use crate::scenario::Scenario;

/// The simulator's merge workload state.
#[derive(Debug, Default)]
pub(crate) struct MergeWork {
    /// Probability (ppm) an operator merges a listed duplicate.
    p_merge: u32,
    /// Client (model) → the store that registered their duplicate, and
    /// the duplicate: that store's member for them.
    dups: BTreeMap<usize, (usize, MemberId)>,
    /// Each node's settle notes (the machine's `Settling`), by node index:
    /// merged-away members whose share there may have to move (kept while
    /// the node is down or its disk is full). Empty with merges off.
    unsettled: Vec<Settling>,
}

impl MergeWork {
    pub fn new(sc: &Scenario, names: &[NodeId]) -> MergeWork {
        let p_merge = sc.workload.merges.ppm();
        MergeWork {
            p_merge,
            unsettled: if p_merge == 0 {
                Vec::new()
            } else {
                names.iter().map(|n| Settling::new(n.clone())).collect()
            },
            ..MergeWork::default()
        }
    }

    /// Whether some node has a note to settle.
    pub fn any_unsettled(&self) -> bool {
        self.unsettled.iter().any(|s| !s.is_empty())
    }
}

impl Materialised {
    /// Apply a `MembersMerged` or `MergeMoved` op, all or nothing.
    pub(crate) fn apply_merge(&mut self, op: &Op) -> Result<Touched, crate::node::ApplyFail> {
        let get = |st: &Materialised, id: &MemberId| {
            st.members
                .get(id)
                .cloned()
                .ok_or_else(|| fail("unknown", format!("{} of unknown {id}", op.body.kind())))
        };
        match &op.body {
            OpBody::MembersMerged {
                member, absorbed, ..
            } => {
                get(self, absorbed)?;
                let cur = get(self, member)?;
                // The survivor after the merge, and the index deltas of its
                // profile: the machine's `next_member` and `reindex`.
                let next = apply::next_member(Some(&cur), op)?;
                let new_profile = next.profile.clone();
                self.members.insert(member.clone(), Arc::new(next));
                let i = self.members.slot(member).expect("held above");
                self.reindex(i, &cur.profile, &new_profile);
                self.merged.add(absorbed.clone(), member.clone());
                self.merge_pairs.insert((absorbed.clone(), member.clone()));
                Ok(Touched {
                    member: self.members.slot(member),
                    order: None,
                })
            }
            OpBody::MergeMoved {
                member,
                into,
                principal,
                bonus,
                ..
            } => {
                // The machine's two sides: the debit of the origin's own
                // share (refused unless the member is merged here), then
                // the credit.
                let gone = apply::move_out(&*get(self, member)?, self.merged.contains(member), op)?;
                let survivor = get(self, into)?;
                let dropped;
                let credit = match (&self.merge_drop, &op.body) {
                    (Some(me), OpBody::MergeMoved { .. }) if op.origin() != me => {
                        // The bug: the credit drops the principal field.
                        let mut o = op.clone();
                        if let OpBody::MergeMoved { principal, .. } = &mut o.body {
                            *principal = tongka_core::money::Money::ZERO;
                        }
                        dropped = o;
                        &dropped
                    }
                    _ => op,
                };
                let survivor = apply::move_in(&survivor, credit)?;
                self.members.insert(member.clone(), Arc::new(gone));
                self.members.insert(into.clone(), Arc::new(survivor));
                let (mi, ii) = (self.members.intern(member), self.members.intern(into));
                let e = expect_of(&mut self.expect, mi);
                e.principal -= *principal;
                e.bonus -= *bonus;
                let e = expect_of(&mut self.expect, ii);
                e.principal += *principal;
                e.bonus += *bonus;
                Ok(Touched {
                    member: Some(mi),
                    order: None,
                })
            }
            _ => Err(fail("not_applicable", "not a merge op")),
        }
    }
}

impl Sim<'_> {
    /// Arm the `MergeMoveDropsField` mutation at store-1 (at the start
    /// and after each restart: the rebuilt state replays correctly).
    pub(super) fn merge_mutate(&mut self, n: usize) {
        if self.mutant(n, Mutation::MergeMoveDropsField) {
            self.nodes[n].st.merge_drop = Some(self.names[n].clone());
        }
    }

    /// The member client `model` is at store `s`: the duplicate registered
    /// there, if any (with merges on), else their first registration;
    /// then whom the store resolves it to (`Engine::member`).
    pub(super) fn target(&self, model: usize, s: usize) -> Option<MemberId> {
        let id = match self.merge.dups.get(&model) {
            Some((d, dup)) if *d == s => dup.clone(),
            _ => self.models[model].id.clone()?,
        };
        let merged = &self.nodes[s].st.merged;
        Some(if merged.is_empty() {
            id
        } else {
            merged.resolve(&id)
        })
    }

    /// A duplicate of `model` was registered at `s` (kept with merges on).
    pub(super) fn note_duplicate(&mut self, model: usize, s: usize, member: MemberId) {
        if self.merge.p_merge == 0 {
            return;
        }
        self.merge.dups.insert(model, (s, member));
        // A client registering tops up there, like the first members.
        let amounts = &self.sc.members.initial_balance;
        if !amounts.is_empty() {
            let amount = amounts[self.rng_work.random_range(0..amounts.len())];
            let idem = self.idem();
            let t = self.now + 1_000;
            self.at(
                t,
                Ev::Request(
                    Box::new(Request::Recharge {
                        model,
                        store: s,
                        amount,
                        idem,
                    }),
                    false,
                ),
            );
        }
    }

    /// One operator's look at the duplicates in this hour (merges on only:
    /// runs without draw nothing more).
    pub(super) fn schedule_merge_scan(&mut self, start: u64, span: u64) {
        if self.merge.p_merge == 0 {
            return;
        }
        let t = start + self.rng_work.random_range(0..span);
        self.at(t, Ev::MergeScan);
    }

    /// An operator at a store picked by the seed lists the duplicates the
    /// store sees (`Engine::duplicates`: a phone held by members that do
    /// not resolve to one) and merges each with probability `merges` into
    /// the smallest id, as `POST /members/{survivor}/merge`.
    pub(super) fn merge_scan(&mut self) {
        if self.workload_over || self.stores == 0 {
            return;
        }
        let s = self.rng_work.random_range(0..self.stores);
        if !self.nodes[s].up || self.nodes[s].disk_full {
            return;
        }
        let st = &self.nodes[s].st;
        let members = st.members.ids();
        let listed: Vec<BTreeSet<MemberId>> = st
            .phones
            .values()
            .filter(|ids| ids.len() > 1)
            .map(|ids| {
                ids.iter()
                    .map(|i| st.merged.resolve(members.key(i)))
                    .collect()
            })
            .filter(|now: &BTreeSet<MemberId>| now.len() > 1)
            .collect();
        drop(members);
        for ids in listed {
            if !chance(&mut self.rng_work, self.merge.p_merge) {
                continue;
            }
            let mut ids = ids.into_iter();
            let Some(survivor) = ids.next() else { continue };
            for absorbed in ids {
                self.merge_one(s, &survivor, &absorbed);
            }
        }
    }

    /// `Engine::merge_members` at store `s`: decide with the core, log,
    /// then this node moves its own share at once.
    fn merge_one(&mut self, s: usize, survivor: &MemberId, absorbed: &MemberId) {
        let at = self.tick(s);
        let st = &self.nodes[s].st;
        let (Some(sv), Some(ab)) = (st.members.get(survivor), st.members.get(absorbed)) else {
            return;
        };
        let body = match merge::decide_merge(sv, ab, &st.merged, &self.names[s], at) {
            Ok(b) => b,
            Err(e) => {
                *self.report.stores[s].declines.entry(e.code()).or_default() += 1;
                return;
            }
        };
        let idem = self.idem();
        let rec = self.make(s, at, "operator", Some(idem), body);
        self.ack(s, &rec);
        self.report.merges += 1;
        // The merge noted its absorbed member (`merge_appended`): this
        // node moves its share at once, as `Engine::merge_members` does.
        self.settle_pending();
    }

    /// After node `n` appended `op`: check the survivor a move credited,
    /// and give the op to the node's settle notes (`Event::Applied`).
    /// Nothing to do before any merge.
    pub(super) fn merge_appended(&mut self, n: usize, op: &Op) {
        if self.nodes[n].st.merged.is_empty() {
            return;
        }
        if let OpBody::MergeMoved { into, .. } = &op.body {
            let t = Touched {
                member: self.nodes[n].st.members.slot(into),
                order: None,
            };
            self.check_touched(n, t);
        }
        let st = &self.nodes[n].st;
        self.merge.unsettled[n].handle(Event::Applied(&op.body), &st.merged);
    }

    /// At restart (`Engine::settle_all`): the machine's `Event::Started`
    /// for every merged-away member (a move the crash lost is made again).
    pub(super) fn merge_restarted(&mut self, n: usize) {
        self.merge_mutate(n);
        let st = &self.nodes[n].st;
        if st.merged.is_empty() {
            return;
        }
        for (a, _) in &st.merge_pairs {
            if let Some(m) = st.members.get(a) {
                self.merge.unsettled[n].handle(Event::Started(m), &st.merged);
            }
        }
    }

    /// `Engine::settle` for what each node that can write noted: the moves
    /// due (`Settling::due`), each decided on the member's state there
    /// (`settle::move_of`) and made as the node's op.
    pub(super) fn settle_pending(&mut self) {
        for n in 0..self.merge.unsettled.len() {
            if self.merge.unsettled[n].is_empty() || !self.nodes[n].up || self.nodes[n].disk_full {
                continue;
            }
            let due = self.merge.unsettled[n].due(&self.nodes[n].st.merged);
            for Due { member, into } in due {
                let Some(gone) = self.nodes[n].st.members.get(&member) else {
                    continue;
                };
                let Some(body) = settle::move_of(gone, &into, &self.names[n]) else {
                    continue;
                };
                if let OpBody::MergeMoved {
                    principal,
                    bonus,
                    points,
                    ..
                } = &body
                {
                    self.report.merge_moves += 1;
                    self.report.merge_moved += *principal;
                    self.report.merge_moved_bonus += *bonus;
                    self.report.merge_moved_points += *points;
                }
                let at = self.tick(n);
                self.make(n, at, "merge", None, body);
                if self.violation.is_some() {
                    return;
                }
            }
        }
    }

    /// Once converged: every merged-away member holds nothing (each holder
    /// moved its whole share to the survivor; nothing is stranded on a
    /// member no lookup reaches).
    pub(super) fn check_merges_moved(&mut self) {
        for n in 0..self.nodes.len() {
            let st = &self.nodes[n].st;
            let stranded = st.merge_pairs.iter().find_map(|(a, _)| {
                let m = st.members.get(a)?;
                let left: Vec<String> = m
                    .wallet
                    .shares()
                    .filter(|(_, s)| **s != Share::default())
                    .map(|(owner, s)| format!("{owner} {}/{}/{}", s.principal, s.bonus, s.points))
                    .collect();
                (!left.is_empty()).then(|| (a.clone(), left))
            });
            if let Some((a, left)) = stranded {
                let d = format!(
                    "{a} was merged away but still holds shares (principal/bonus/points): {}",
                    left.join(", ")
                );
                return self.violate("conservation", Some(n), d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongka_core::checkout::TenderKind;
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::ids::{NodeId, OpId, RechargeId};
    use tongka_core::member::Profile;
    use tongka_core::money::Money;
    use tongka_core::op::OpDraft;

    fn node(name: &str) -> NodeId {
        NodeId::new(name).unwrap()
    }

    fn op(origin: &str, seq: u64, body: OpBody) -> Op {
        OpDraft {
            hlc: Hlc {
                ms: 1_000 * seq,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body,
        }
        .stamp(
            OpId {
                origin: node(origin),
                seq,
            },
            VersionVector::new(),
        )
    }

    fn register(st: &mut Materialised, origin: &str, seq: u64) -> MemberId {
        let member = MemberId::mint(&node(origin), seq);
        let profile = Profile {
            phone: "13800000001".into(),
            name: format!("会员{seq}"),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let body = OpBody::MemberRegistered {
            member: member.clone(),
            profile,
            opening: None,
        };
        st.apply(&op(origin, seq, body), None, false, false, false)
            .unwrap();
        member
    }

    fn recharge(st: &mut Materialised, origin: &str, seq: u64, m: &MemberId, yuan: i64) {
        let body = OpBody::Recharged {
            member: m.clone(),
            recharge: RechargeId::mint(&node(origin), seq),
            amount: Money::from_yuan(yuan),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        };
        st.apply(&op(origin, seq, body), None, false, false, false)
            .unwrap();
    }

    /// Two duplicates, money at two stores; merged, each store moves its
    /// own share: the absorbed member ends empty, the survivor holds all,
    /// every wallet adds up to what its ops say, and a forged move (of a
    /// share its origin does not hold, or of a member not merged) is
    /// refused and changes nothing.
    #[test]
    fn a_merge_moves_each_holders_share_and_refuses_forged_moves() {
        let mut st = Materialised::default();
        let s = register(&mut st, "store-1", 1);
        let a = register(&mut st, "store-2", 1);
        recharge(&mut st, "store-1", 2, &s, 100);
        recharge(&mut st, "store-2", 2, &a, 50);
        recharge(&mut st, "store-3", 1, &a, 20);
        let before = st.state_hash();
        // A move before any merge is refused.
        let early = OpBody::MergeMoved {
            member: a.clone(),
            into: s.clone(),
            principal: Money::from_yuan(50),
            bonus: Money::ZERO,
            points: 0,
            coupons: vec![],
            cards: vec![],
        };
        let e = st.apply_merge(&op("store-2", 3, early)).unwrap_err();
        assert_eq!(e.kind, "authority", "{}", e.reason);
        assert_eq!(st.state_hash(), before);

        let at = Hlc {
            ms: 9_000,
            count: 0,
        };
        let body = merge::decide_merge(
            &st.members[&s],
            &st.members[&a],
            &st.merged,
            &node("store-3"),
            at,
        )
        .unwrap();
        st.apply(&op("store-3", 2, body), None, false, false, false)
            .unwrap();
        assert_eq!(st.merged.resolve(&a), s);
        assert_ne!(st.state_hash(), before, "the merge is in the state hash");
        // store-1 holds none of the absorbed member: a move of 1 fen by it
        // overdraws its share and is refused.
        let forged = OpBody::MergeMoved {
            member: a.clone(),
            into: s.clone(),
            principal: Money::from_fen(1),
            bonus: Money::ZERO,
            points: 0,
            coupons: vec![],
            cards: vec![],
        };
        let e = st.apply_merge(&op("store-1", 3, forged)).unwrap_err();
        assert_eq!(e.kind, "overdraft", "{}", e.reason);
        assert_eq!(
            merge::decide_move(&st.members[&a], &s, &node("store-1")),
            None
        );
        for (seq, holder) in [(3, "store-2"), (3, "store-3")] {
            let body = merge::decide_move(&st.members[&a], &s, &node(holder)).unwrap();
            st.apply(&op(holder, seq, body), None, false, false, false)
                .unwrap();
        }
        assert_eq!(st.members[&a].wallet.total(), Share::default());
        assert_eq!(
            st.members[&s].wallet.total().principal,
            Money::from_yuan(170)
        );
        assert_eq!(
            st.members[&s].wallet.share(&node("store-2")).principal,
            Money::from_yuan(50),
            "each holder keeps its authority over what it moved"
        );
        for id in [&a, &s] {
            let e = st.expect[id];
            let t = st.members[id].wallet.total();
            assert_eq!((t.principal, t.bonus), (e.principal, e.bonus));
        }
        let (p, b) = st.totals.outstanding();
        assert_eq!((st.held.principal, st.held.bonus), (p, b));
        assert_eq!(p, Money::from_yuan(170), "a merge moves no money in or out");
    }
}

//! The settle rule: which ops note which members, what is due (through
//! chains and cycles of merges), what a restart notes; and on random runs
//! of recharges, merges (concurrent ones included: chains and cycles),
//! restarts and settles, every share of a merged-away member ends moved,
//! by its holder, with no money made or lost.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tongka_core::Money;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{OpId, RechargeId};
use tongka_core::member::Profile;
use tongka_core::op::{Op, OpDraft};

use super::*;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn op(origin: &str, seq: u64, body: OpBody) -> Op {
    OpDraft {
        hlc: Hlc { ms: seq, count: 0 },
        by: "t".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: n(origin),
            seq,
        },
        VersionVector::new(),
    )
}

fn id(i: u8) -> MemberId {
    MemberId::mint(&n("store-1"), u64::from(i) + 1)
}

fn registered(i: u8) -> MemberState {
    let body = OpBody::MemberRegistered {
        member: id(i),
        profile: Profile {
            phone: "13800000001".into(),
            name: format!("会员{i}"),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        },
        opening: None,
    };
    MemberState::registered(&op("store-1", u64::from(i) + 1, body)).unwrap()
}

fn recharge(member: &MemberId, origin: &str, seq: u64, yuan: i64) -> Op {
    op(
        origin,
        seq,
        OpBody::Recharged {
            member: member.clone(),
            recharge: RechargeId::mint(&n(origin), seq),
            amount: Money::from_yuan(yuan),
            bonus: Money::ZERO,
            tender: TenderKind::Cash,
        },
    )
}

fn merged_body(survivor: &MemberState, absorbed: &MemberState) -> OpBody {
    merge::decide_merge(
        survivor,
        absorbed,
        &Merged::default(),
        &n("store-1"),
        Hlc { ms: 1, count: 0 },
    )
    .unwrap()
}

#[test]
fn which_ops_touch_which_member() {
    let (a, b) = (registered(0), registered(1));
    assert_eq!(
        touches(&merged_body(&b, &a)),
        Some(&a.id),
        "a merge: absorbed"
    );
    let moved = OpBody::MergeMoved {
        member: a.id.clone(),
        into: b.id.clone(),
        principal: Money::from_yuan(1),
        bonus: Money::ZERO,
        points: 0,
        coupons: vec![],
        cards: vec![],
    };
    assert_eq!(touches(&moved), None, "a move credits a survivor");
    assert_eq!(touches(&recharge(&a.id, "store-2", 1, 5).body), Some(&a.id));
}

#[test]
fn only_merged_away_members_are_noted_and_due_follows_resolve() {
    let (a, b, c) = (id(0), id(1), id(2));
    let mut s = Settling::new(n("store-2"));
    let mut merged = Merged::default();
    let top_up = recharge(&a, "store-3", 1, 5);
    s.handle(Event::Applied(&top_up.body), &merged);
    assert!(s.is_empty(), "nothing is merged yet");
    merged.add(a.clone(), b.clone());
    s.handle(Event::Applied(&recharge(&b, "store-3", 2, 5).body), &merged);
    assert!(s.is_empty(), "the survivor owes nothing");
    s.handle(Event::Applied(&top_up.body), &merged);
    assert_eq!(s.noted().collect::<Vec<_>>(), vec![&a]);
    // A chain: a's share goes straight to its end.
    merged.add(b.clone(), c.clone());
    assert_eq!(
        s.due(&merged),
        vec![Due {
            member: a.clone(),
            into: c.clone()
        }]
    );
    assert!(s.is_empty(), "due forgets the notes");
    // A cycle (c into a, concurrently): its smallest member owes nothing.
    merged.add(c.clone(), a.clone());
    let smallest = [&a, &b, &c].into_iter().min().unwrap().clone();
    for m in [&a, &b, &c] {
        s.handle(Event::Applied(&recharge(m, "store-3", 3, 1).body), &merged);
    }
    let due = s.due(&merged);
    assert_eq!(due.len(), 2);
    assert!(
        due.iter()
            .all(|d| d.member != smallest && d.into == smallest)
    );
}

/// Two stores merged a pair each way (a cycle): its smallest member owes
/// nothing and keeps its shares; a later merge of the other into a
/// smaller member leads the cycle out, and the smallest's shares owe now.
#[test]
fn a_merge_that_leads_a_cycle_out_notes_its_smallest_member() {
    let (a, b, c) = (id(0), id(1), id(2));
    let mut s = Settling::new(n("store-2"));
    let mut merged = Merged::default();
    merged.add(b.clone(), c.clone());
    merged.add(c.clone(), b.clone());
    s.handle(Event::Merged(&b), &merged);
    s.handle(Event::Merged(&c), &merged);
    assert_eq!(
        s.due(&merged),
        vec![Due {
            member: c.clone(),
            into: b.clone()
        }],
        "b, the cycle's smallest, owes nothing"
    );
    merged.add(c.clone(), a.clone());
    s.handle(Event::Merged(&c), &merged);
    assert_eq!(
        s.due(&merged),
        vec![
            Due {
                member: b.clone(),
                into: a.clone()
            },
            Due {
                member: c.clone(),
                into: a.clone()
            }
        ],
        "b's way passes c: it owes a now"
    );
}

#[test]
fn a_start_notes_the_merged_away_members_held_here() {
    let (mut a, b) = (registered(0), registered(1));
    let mut merged = Merged::default();
    merged.add(a.id.clone(), b.id.clone());
    let mut s = Settling::new(n("store-2"));
    s.handle(Event::Started(&a), &merged);
    assert!(s.is_empty(), "store-2 holds none of it");
    a.apply(&recharge(&a.id, "store-3", 1, 5)).unwrap();
    s.handle(Event::Started(&a), &merged);
    assert!(s.is_empty(), "store-3's share is store-3's to move");
    a.apply(&recharge(&a.id, "store-2", 1, 5)).unwrap();
    s.handle(Event::Started(&a), &merged);
    s.handle(Event::Started(&b), &merged);
    assert_eq!(
        s.noted().collect::<Vec<_>>(),
        vec![&a.id],
        "b is not merged away"
    );
    let due = s.due(&merged);
    let body = move_of(&a, &due[0].into, s.holder()).unwrap();
    let OpBody::MergeMoved { principal, .. } = body else {
        panic!("a move")
    };
    assert_eq!(principal, Money::from_yuan(5), "store-2's whole share");
    assert_eq!(
        move_of(&a, &b.id, &n("store-1")),
        None,
        "store-1 holds none"
    );
}

/// One shared state (every op reaches every node at once) and three
/// holders' notes, driven as the node and the simulator drive them.
struct World {
    members: BTreeMap<MemberId, MemberState>,
    merged: Merged,
    holders: Vec<Settling>,
    seq: u64,
    recharged: Money,
}

const HOLDERS: [&str; 3] = ["store-1", "store-2", "store-3"];

impl World {
    fn new() -> World {
        World {
            members: (0..4).map(|i| (id(i), registered(i))).collect(),
            merged: Merged::default(),
            holders: HOLDERS.iter().map(|h| Settling::new(n(h))).collect(),
            seq: 100,
            recharged: Money::ZERO,
        }
    }

    fn applied(&mut self, body: &OpBody) {
        for h in &mut self.holders {
            h.handle(Event::Applied(body), &self.merged);
        }
    }

    fn recharge(&mut self, m: u8, h: usize, yuan: i64) {
        self.seq += 1;
        let op = recharge(&id(m), HOLDERS[h], self.seq, yuan);
        self.members.get_mut(&id(m)).unwrap().apply(&op).unwrap();
        self.recharged += Money::from_yuan(yuan);
        self.applied(&op.body);
    }

    /// `absorbed` into `survivor`, decided without knowing earlier merges
    /// (as two stores that could not see each other): chains and cycles.
    fn merge(&mut self, survivor: u8, absorbed: u8) {
        let (s, a) = (id(survivor), id(absorbed));
        if s == a {
            return;
        }
        let body = merged_body(&self.members[&s], &self.members[&a]);
        self.seq += 1;
        let op = op("store-1", self.seq, body);
        self.members.get_mut(&s).unwrap().apply(&op).unwrap();
        self.merged.add(a, s);
        self.applied(&op.body);
    }

    /// Holder `h` can write: it makes the moves due.
    fn settle(&mut self, h: usize) {
        for due in self.holders[h].due(&self.merged) {
            let holder = self.holders[h].holder().clone();
            let Some(body) = move_of(&self.members[&due.member], &due.into, &holder) else {
                continue;
            };
            self.seq += 1;
            let op = op(holder.as_str(), self.seq, body);
            self.members
                .get_mut(&due.member)
                .unwrap()
                .apply(&op)
                .unwrap();
            merge::apply_credit(self.members.get_mut(&due.into).unwrap(), &op).unwrap();
            self.applied(&op.body);
        }
    }

    /// Holder `h` restarts: its notes are lost, the start notes again.
    fn restart(&mut self, h: usize) {
        self.holders[h] = Settling::new(n(HOLDERS[h]));
        for m in self.members.values() {
            self.holders[h].handle(Event::Started(m), &self.merged);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Whatever the order of recharges, merges, restarts and settles,
    /// once every holder settles: no merged-away member (but a cycle's
    /// smallest) holds anything, and every yuan recharged is still held.
    #[test]
    fn settling_leaves_nothing_on_a_merged_away_member(
        steps in proptest::collection::vec((0u8..4, 0u8..4, 0u8..4, 1i64..30), 0..40),
    ) {
        let mut w = World::new();
        for (kind, x, y, yuan) in steps {
            let h = usize::from(x % 3);
            match kind {
                0 => w.recharge(y, h, yuan),
                1 => w.merge(x, y),
                2 => w.restart(h),
                _ => w.settle(h),
            }
        }
        for h in 0..HOLDERS.len() {
            w.settle(h);
        }
        let mut held = Money::ZERO;
        for m in w.members.values() {
            held += m.wallet.total().principal;
            if survivor(&w.merged, &m.id).is_some() {
                prop_assert_eq!(m.wallet.total(), tongka_core::wallet::Share::default(), "{} stranded", m.id);
            }
        }
        prop_assert_eq!(held, w.recharged);
    }
}

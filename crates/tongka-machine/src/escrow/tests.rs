//! The escrow machine's conversations, and the no-futile-transfer rule
//! checked on random wallets.

use std::collections::BTreeSet;

use proptest::prelude::*;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, OpId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpDraft};
use tongka_core::wallet::Share;

use super::*;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn yuan(y: i64) -> Money {
    Money::from_yuan(y)
}

/// A member registered at `a`, holding `shares` (yuan, points) per store.
fn member(shares: &[(&str, i64, i64)]) -> MemberState {
    let profile = Profile {
        phone: "13800000000".into(),
        name: "x".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    let op = OpDraft {
        hlc: Hlc::default(),
        by: "t".into(),
        idem: None,
        body: OpBody::MemberRegistered {
            member: MemberId::mint(&n("a"), 1),
            profile,
            opening: None,
        },
    }
    .stamp(
        OpId {
            origin: n("a"),
            seq: 1,
        },
        VersionVector::new(),
    );
    let mut m = MemberState::registered(&op).unwrap();
    for (node, y, points) in shares {
        m.wallet.credit(
            &n(node),
            Share {
                principal: yuan(*y),
                bonus: Money::ZERO,
                points: *points,
            },
        );
    }
    m
}

/// Reachability and held ops, set by the test.
#[derive(Default)]
struct World {
    down: BTreeSet<NodeId>,
    held: BTreeSet<OpId>,
}

impl View for World {
    fn reachable(&self, peer: &NodeId) -> bool {
        !self.down.contains(peer)
    }
    fn holds(&self, id: &OpId) -> bool {
        self.held.contains(id)
    }
}

fn machine<J>() -> Escrow<J> {
    Escrow::new(Config {
        ask_timeout: 3_000,
        futile_asks: false,
    })
}

fn peers() -> Vec<NodeId> {
    vec![n("a"), n("b"), n("c")]
}

/// Op `seq` of `origin` with `body`, no deps.
fn stamped(origin: &NodeId, seq: u64, body: OpBody) -> Op {
    OpDraft {
        hlc: Hlc::default(),
        by: "escrow".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: origin.clone(),
            seq,
        },
        VersionVector::new(),
    )
}

fn oid(origin: &str, seq: u64) -> OpId {
    OpId {
        origin: n(origin),
        seq,
    }
}

#[test]
fn a_short_spend_asks_the_holders_in_turn_then_retries() {
    let m = member(&[("a", 1, 0), ("b", 4, 0), ("c", 3, 0)]);
    let mut w = World::default();
    let mut e = machine();
    let mut out = Vec::new();
    let ev = Event::Short {
        member: &m,
        want: Want::money(m.id.clone(), yuan(6)),
        peers: &peers(),
        then: "sale",
    };
    e.handle(ev, &n("a"), 100, &w, &mut out);
    assert_eq!(
        out,
        vec![
            Effect::Ask {
                req: 1,
                to: n("b"),
                want: Want::money(m.id.clone(), yuan(4)),
            },
            Effect::Timer { req: 1, at: 3_100 },
        ]
    );
    out.clear();
    // b gave; its op is not held here yet: the next ask waits for it.
    let ids = vec![oid("b", 7)];
    e.handle(Event::Gave { req: 1, ids }, &n("a"), 200, &w, &mut out);
    assert!(out.is_empty());
    assert!(e.ready(&w).is_empty());
    w.held.insert(oid("b", 7));
    assert_eq!(e.ready(&w), vec![1]);
    e.handle(Event::Held { req: 1 }, &n("a"), 300, &w, &mut out);
    assert_eq!(out[0], {
        Effect::Ask {
            req: 2,
            to: n("c"),
            want: Want::money(m.id.clone(), yuan(2)),
        }
    });
    out.clear();
    // A timer of an answered ask does nothing; c's timer ends the asks.
    e.handle(Event::Timeout { req: 1 }, &n("a"), 3_100, &w, &mut out);
    assert!(out.is_empty());
    e.handle(Event::Timeout { req: 2 }, &n("a"), 3_300, &w, &mut out);
    assert_eq!(
        out,
        vec![Effect::Retry {
            then: "sale",
            timed_out: true
        }]
    );
    assert!(e.idle());
}

#[test]
fn a_spend_the_reachable_shares_cannot_cover_is_declined_without_asks() {
    // 5.00 over two stores, a spend of 10.00 at either: known short.
    let m = member(&[("a", 2, 0), ("b", 3, 0)]);
    let w = World::default();
    let mut e = machine();
    let mut out = Vec::new();
    for (here, short) in [("a", 8), ("b", 7)] {
        let ev = Event::Short {
            member: &m,
            want: Want::money(m.id.clone(), yuan(short)),
            peers: &peers(),
            then: "sale",
        };
        e.handle(ev, &n(here), 0, &w, &mut out);
    }
    assert_eq!(
        out,
        vec![
            Effect::Decline { then: "sale" },
            Effect::Decline { then: "sale" }
        ]
    );
    assert!(e.idle());
}

#[test]
fn an_unreachable_holder_does_not_count_and_is_not_asked() {
    let m = member(&[("b", 4, 0), ("c", 3, 0)]);
    let mut w = World::default();
    w.down.insert(n("b"));
    let mut e = machine();
    let mut out = Vec::new();
    // c alone covers 3.00: asked for all of it, b not at all.
    let ev = Event::Short {
        member: &m,
        want: Want::money(m.id.clone(), yuan(3)),
        peers: &peers(),
        then: "sale",
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    assert!(
        matches!(&out[0], Effect::Ask { to, want, .. } if *to == n("c") && *want == Want::money(m.id.clone(), yuan(3)))
    );
    out.clear();
    // 4.00 needs b, which cannot be reached: declined, nothing asked.
    let ev = Event::Short {
        member: &m,
        want: Want::money(m.id.clone(), yuan(4)),
        peers: &peers(),
        then: "sale2",
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    assert_eq!(out, vec![Effect::Decline { then: "sale2" }]);
    // Points alike.
    let m = member(&[("b", 0, 400), ("c", 0, 300)]);
    out.clear();
    let ev = Event::Short {
        member: &m,
        want: Want::points(m.id.clone(), 301),
        peers: &peers(),
        then: "redeem",
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    assert_eq!(out, vec![Effect::Decline { then: "redeem" }]);
}

#[test]
fn with_no_holder_known_every_reachable_peer_is_asked() {
    // This store's view lags: the recharge elsewhere has not arrived.
    let m = member(&[]);
    let w = World::default();
    let mut e = machine();
    let mut out = Vec::new();
    let ev = Event::Short {
        member: &m,
        want: Want::money(m.id.clone(), yuan(5)),
        peers: &peers(),
        then: "sale",
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    let asked: Vec<&NodeId> = out
        .iter()
        .filter_map(|f| match f {
            Effect::Ask { to, .. } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(asked, vec![&n("b")]);
    assert!(e.asking(1));
    out.clear();
    e.handle(
        Event::Gave {
            req: 1,
            ids: vec![],
        },
        &n("a"),
        1,
        &w,
        &mut out,
    );
    assert!(matches!(&out[0], Effect::Ask { to, req: 2, .. } if *to == n("c")));
}

#[test]
fn the_futile_policy_asks_anyway() {
    let m = member(&[("a", 2, 0), ("b", 3, 0)]);
    let w = World::default();
    let mut e: Escrow<()> = Escrow::new(Config {
        ask_timeout: 1,
        futile_asks: true,
    });
    let mut out = Vec::new();
    let ev = Event::Short {
        member: &m,
        want: Want::money(m.id.clone(), yuan(8)),
        peers: &peers(),
        then: (),
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    assert!(matches!(&out[0], Effect::Ask { to, .. } if *to == n("b")));
}

#[test]
fn one_pull_ahead_at_a_time_per_member_and_only_at_home() {
    let m = member(&[("a", 1, 0), ("b", 4, 0)]);
    let w = World::default();
    let mut e = machine();
    let mut out = Vec::new();
    e.handle(
        Event::Pull {
            member: &m,
            counter: Counter::Balance(m.id.clone()),
            then: "p",
        },
        &n("b"),
        0,
        &w,
        &mut out,
    );
    assert!(out.is_empty(), "b is not the member's home");
    e.handle(
        Event::Pull {
            member: &m,
            counter: Counter::Balance(m.id.clone()),
            then: "p",
        },
        &n("a"),
        0,
        &w,
        &mut out,
    );
    e.handle(
        Event::Pull {
            member: &m,
            counter: Counter::Balance(m.id.clone()),
            then: "p",
        },
        &n("a"),
        0,
        &w,
        &mut out,
    );
    assert_eq!(out.len(), 2, "one ask and its timer: {out:?}");
    out.clear();
    e.handle(
        Event::Gave {
            req: 1,
            ids: vec![],
        },
        &n("a"),
        5,
        &w,
        &mut out,
    );
    assert_eq!(
        out,
        vec![Effect::Pulled {
            then: "p",
            counter: Counter::Balance(m.id.clone())
        }]
    );
    assert_eq!(e.reset(), Vec::<&str>::new());
}

#[test]
fn a_restart_hands_back_the_spends_in_progress() {
    let m = member(&[("b", 4, 0)]);
    let w = World::default();
    let mut e = machine();
    let mut out = Vec::new();
    let ev = Event::Short {
        member: &m,
        want: Want::money(m.id.clone(), yuan(1)),
        peers: &peers(),
        then: "sale",
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    assert_eq!(e.reset(), vec!["sale"]);
    assert!(!e.asking(1));
    out.clear();
    e.handle(
        Event::Gave {
            req: 1,
            ids: vec![],
        },
        &n("a"),
        1,
        &w,
        &mut out,
    );
    assert!(out.is_empty());
}

/// Two stores answer each other's asks through the machine, the transfer
/// ops applied to one replicated member state: the scenario of 50
/// checkouts of 10.00 alternating between stores holding 2.00 and 3.00.
#[test]
fn fifty_refused_checkouts_alternating_move_nothing() {
    let mut m = member(&[("a", 2, 0), ("b", 3, 0)]);
    let stores = [n("a"), n("b")];
    let w = World::default();
    let mut transfers = 0;
    let mut seq = 1;
    for i in 0..50 {
        let here = &stores[i % 2];
        let mut e = machine();
        let mut out = Vec::new();
        let short = yuan(10) - m.wallet.share(here).money();
        let ev = Event::Short {
            member: &m,
            want: Want::money(m.id.clone(), short),
            peers: &stores,
            then: i,
        };
        e.handle(ev, here, 0, &w, &mut out);
        while let Some(f) = out.pop() {
            if let Effect::Ask { req, to, want, .. } = f {
                if let Some(body) = answer(Some(&m), &to, here, &want) {
                    seq += 1;
                    let op = stamped(&to, seq, body);
                    m.apply(&op).unwrap();
                    transfers += 1;
                }
                e.handle(Event::Gave { req, ids: vec![] }, here, 1, &w, &mut out);
            }
        }
    }
    assert_eq!(transfers, 0);
    assert_eq!(m.wallet.share(&n("a")).money(), yuan(2));
    assert_eq!(m.wallet.share(&n("b")).money(), yuan(3));
}

proptest! {
    /// Whenever the machine asks, the reachable holders are not known to
    /// be short (or no holder is known); whenever they are known to be
    /// short, it declines and asks nobody. Every ask goes to a reachable
    /// holder, for no more than it holds.
    #[test]
    fn asks_only_when_the_reachable_shares_may_cover(
        shares in proptest::collection::vec(0i64..50, 4),
        down in proptest::collection::vec(any::<bool>(), 4),
        short in 1i64..120,
    ) {
        let names = ["a", "b", "c", "d"];
        let spec: Vec<(&str, i64, i64)> = names.iter().zip(&shares).map(|(s, y)| (*s, *y, 0)).collect();
        let m = member(&spec);
        let mut w = World::default();
        for (s, d) in names.iter().zip(&down) {
            if *d && *s != "a" {
                w.down.insert(n(s));
            }
        }
        let all: Vec<NodeId> = names.iter().map(|s| n(s)).collect();
        let mut e = machine();
        let mut out = Vec::new();
        let ev = Event::Short { member: &m, want: Want::money(m.id.clone(), yuan(short)), peers: &all, then: () };
        e.handle(ev, &n("a"), 0, &w, &mut out);
        let known = shares[1..].iter().any(|y| *y > 0);
        let reachable: i64 = (1..4).filter(|i| !w.down.contains(&all[*i])).map(|i| shares[i]).sum();
        let declined = out == vec![Effect::Decline { then: () }];
        if known && reachable < short {
            prop_assert!(declined, "{out:?}");
        } else if reachable > 0 || !known {
            let any_reachable = (1..4).any(|i| !w.down.contains(&all[i]));
            prop_assert_eq!(declined, !any_reachable, "{:?}", out);
        }
        for f in &out {
            if let Effect::Ask { to, want, .. } = f {
                prop_assert!(w.reachable(to));
                prop_assert_eq!(&want.counter, &Counter::Balance(m.id.clone()));
                if known {
                    prop_assert!(want.units <= m.wallet.share(to).money().fen());
                }
            }
        }
    }
}

/// Points ride the same conversation as money: an ask names the counter,
/// the holder's answer moves points only; points are never pulled ahead.
#[test]
fn points_go_through_the_one_conversation_and_are_not_pulled() {
    let mut m = member(&[("a", 1, 0), ("b", 4, 0)]);
    m.wallet.credit(
        &n("b"),
        Share {
            points: 500,
            ..Share::default()
        },
    );
    let w = World::default();
    let mut e = machine();
    let mut out = Vec::new();
    let pull = Event::Pull {
        member: &m,
        counter: Counter::Points(m.id.clone()),
        then: "p",
    };
    e.handle(pull, &n("a"), 0, &w, &mut out);
    assert!(out.is_empty(), "{out:?}");
    let ev = Event::Short {
        member: &m,
        want: Want::points(m.id.clone(), 120),
        peers: &peers(),
        then: "redeem",
    };
    e.handle(ev, &n("a"), 0, &w, &mut out);
    let Effect::Ask { to, want, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!((to, want), (&n("b"), &Want::points(m.id.clone(), 120)));
    let body = answer(Some(&m), &n("b"), &n("a"), want).unwrap();
    assert!(matches!(
        body,
        tongka_core::op::OpBody::SharesTransferred { points: 120, principal, bonus, .. }
            if principal.is_zero() && bonus.is_zero()
    ));
    // An ask naming another member than the state given is not answered.
    let other = Want::points(MemberId::mint(&n("z"), 9), 1);
    assert!(answer(Some(&m), &n("b"), &n("a"), &other).is_none());
}

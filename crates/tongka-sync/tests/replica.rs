//! The protocol on an in-memory network: random ops at random nodes, random
//! interleavings of per-link FIFO delivery, links that go down and up, and a
//! line topology (a — b — c) so ops must travel through a third node.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;
use tongka_core::checkout::TenderKind;
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId, RechargeId};
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_sync::{Msg, OpLog, Replica, ReplicaConfig};

#[derive(Default)]
struct Log(BTreeMap<(NodeId, u64), Op>);

impl OpLog for Log {
    fn ops_from(&self, origin: &NodeId, from_seq: u64, limit: usize) -> Vec<Op> {
        self.0
            .range((origin.clone(), from_seq)..=(origin.clone(), u64::MAX))
            .take(limit)
            .map(|(_, o)| o.clone())
            .collect()
    }
}

struct Node {
    replica: Replica,
    log: Log,
    applied: Vec<OpId>,
}

fn n(i: usize) -> NodeId {
    NodeId::new(format!("n{i}")).unwrap()
}

#[derive(Debug, Clone)]
enum Step {
    Make(usize),
    Deliver(usize),
    Pump(usize),
    Toggle(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0usize..3).prop_map(Step::Make),
            6 => (0usize..4).prop_map(Step::Deliver),
            4 => (0usize..4).prop_map(Step::Pump),
            1 => (0usize..2).prop_map(Step::Toggle),
        ],
        1..300,
    )
}

/// Links of the line a — b — c, as directed (from, to) pairs.
const DIRECTED: [(usize, usize); 4] = [(0, 1), (1, 0), (1, 2), (2, 1)];

struct Net {
    nodes: Vec<Node>,
    queues: BTreeMap<(usize, usize), VecDeque<Msg>>,
    up: [bool; 2],
    made: usize,
}

impl Net {
    fn new(window: u64) -> Net {
        let cfg = ReplicaConfig {
            chain: "t".into(),
            window,
            batch: 3,
        };
        let nodes = (0..3)
            .map(|i| Node {
                replica: Replica::new(n(i), VersionVector::new(), cfg.clone()),
                log: Log::default(),
                applied: Vec::new(),
            })
            .collect();
        let mut net = Net {
            nodes,
            queues: BTreeMap::new(),
            up: [false, false],
            made: 0,
        };
        net.set_link(0, true);
        net.set_link(1, true);
        net
    }

    fn link_of(a: usize, b: usize) -> usize {
        a.min(b)
    }

    fn set_link(&mut self, link: usize, up: bool) {
        let (a, b) = (link, link + 1);
        self.up[link] = up;
        self.queues.remove(&(a, b));
        self.queues.remove(&(b, a));
        if up {
            let ha = self.nodes[a].replica.connected(&n(b));
            let hb = self.nodes[b].replica.connected(&n(a));
            self.queues.entry((a, b)).or_default().push_back(ha);
            self.queues.entry((b, a)).or_default().push_back(hb);
        } else {
            self.nodes[a].replica.disconnected(&n(b));
            self.nodes[b].replica.disconnected(&n(a));
        }
    }

    fn make(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let seq = node.replica.held().get(&n(i)) + 1;
        self.made += 1;
        let draft = OpDraft {
            hlc: Hlc {
                ms: self.made as u64,
                count: 0,
            },
            actor: "t".into(),
            idem: None,
            body: OpBody::Recharged {
                member: MemberId::mint(&n(i), 1),
                recharge: RechargeId::mint(&n(i), seq),
                amount: Money::from_yuan(1),
                bonus: Money::ZERO,
                tender: TenderKind::Cash,
            },
        };
        let op = draft.stamp(
            OpId { origin: n(i), seq },
            node.replica.held().without(&n(i)),
        );
        node.log.0.insert((n(i), seq), op.clone());
        node.replica.durable(&op.id);
        node.applied.push(op.id);
    }

    fn deliver(&mut self, (from, to): (usize, usize)) {
        let Some(msg) = self
            .queues
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
        else {
            return;
        };
        let node = &mut self.nodes[to];
        let d = node.replica.receive(&n(from), msg);
        assert_eq!(d.refuse, None);
        let ack = d.ack;
        for op in d.apply {
            // Causal delivery: everything the op depends on is already here.
            for (origin, seq) in op.deps.iter() {
                assert!(
                    node.replica.held().get(origin) >= seq,
                    "{} delivered before its deps",
                    op.id
                );
            }
            assert!(!node.applied.contains(&op.id), "{} delivered twice", op.id);
            node.log
                .0
                .insert((op.id.origin.clone(), op.id.seq), op.clone());
            node.replica.durable(&op.id);
            node.applied.push(op.id);
        }
        if ack {
            let have = node.replica.have();
            self.queues.entry((to, from)).or_default().push_back(have);
        }
    }

    fn pump(&mut self, (from, to): (usize, usize)) {
        if !self.up[Self::link_of(from, to)] {
            return;
        }
        let node = &mut self.nodes[from];
        if let Some(m) = node.replica.poll_send(&n(to), &node.log) {
            self.queues.entry((from, to)).or_default().push_back(m);
        }
    }

    fn settle(&mut self) {
        for l in 0..2 {
            if !self.up[l] {
                self.set_link(l, true);
            }
        }
        for _ in 0..10_000 {
            let mut moved = false;
            for d in DIRECTED {
                let before = self.queues.get(&d).map_or(0, VecDeque::len);
                self.pump(d);
                moved |= self.queues.get(&d).map_or(0, VecDeque::len) > before;
                if self.queues.get(&d).is_some_and(|q| !q.is_empty()) {
                    self.deliver(d);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("did not settle");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_op_reaches_every_node_once_in_causal_order(steps in steps(), window in 1u64..8) {
        let mut net = Net::new(window);
        for s in steps {
            match s {
                Step::Make(i) => net.make(i),
                Step::Deliver(d) => net.deliver(DIRECTED[d]),
                Step::Pump(d) => net.pump(DIRECTED[d]),
                Step::Toggle(l) => {
                    let up = !net.up[l];
                    net.set_link(l, up);
                }
            }
        }
        net.settle();
        let all: BTreeSet<OpId> = net.nodes.iter().flat_map(|x| x.applied.iter().cloned()).collect();
        prop_assert_eq!(all.len(), net.made);
        for node in &net.nodes {
            let mine: BTreeSet<OpId> = node.applied.iter().cloned().collect();
            prop_assert_eq!(mine.len(), node.applied.len(), "no op applied twice");
            prop_assert_eq!(&mine, &all, "every node holds every op");
            prop_assert_eq!(node.replica.held().total() as usize, net.made);
        }
        for i in 0..3 {
            for j in 0..3 {
                if i != j && (i as i64 - j as i64).abs() == 1 {
                    prop_assert_eq!(net.nodes[i].replica.lag(&n(j)), 0);
                }
            }
        }
    }
}

#[test]
fn a_peer_of_another_chain_or_name_is_refused() {
    let mut r = Replica::new(
        n(0),
        VersionVector::new(),
        ReplicaConfig {
            chain: "a".into(),
            ..Default::default()
        },
    );
    let d = r.receive(
        &n(1),
        Msg::Hello {
            chain: "b".into(),
            node: n(1),
            held: VersionVector::new(),
        },
    );
    assert!(d.refuse.unwrap().contains("chain"));
    let d = r.receive(
        &n(1),
        Msg::Hello {
            chain: "a".into(),
            node: n(2),
            held: VersionVector::new(),
        },
    );
    assert!(d.refuse.unwrap().contains("says it is"));
    let d = r.receive(
        &n(1),
        Msg::Ops {
            ops: vec![vec![1, 2, 3]],
        },
    );
    assert!(d.refuse.is_some());
}

#[test]
fn messages_round_trip_and_garbage_is_refused() {
    let m = Msg::Hello {
        chain: "tongka".into(),
        node: n(3),
        held: VersionVector::new(),
    };
    assert_eq!(Msg::decode(&m.encode()).unwrap(), m);
    assert!(Msg::decode(&[]).is_err());
    assert!(Msg::decode(&[7]).is_err());
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(Msg::Ops { ops }) = Msg::decode(&bytes) {
            let _ = Msg::decode_ops(&ops);
        }
    }
}

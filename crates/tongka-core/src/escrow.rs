//! The escrow policy: which stores a store asks for shares of a member's
//! balance, and what it pulls ahead of need. Pure, so the node and the
//! simulator follow the same policy.
//!
//! Policy:
//! - **Asking when short.** A store that cannot pay from its own share asks
//!   the other holders for the shortfall only, largest share first; with no
//!   holder known (its view lags), it asks every reachable peer. Each holder
//!   gives what it holds, up to what is asked (`state::decide_transfer`).
//! - **Pull ahead to the home store.** After a sale at the member's home
//!   store (`MemberState::home`, where the member registered: most members
//!   shop there), that store asks the other holders for the rest of the
//!   member's balance, so the member's next sales there need no transfer,
//!   even if the network is down by then. A sale elsewhere pulls nothing
//!   ahead: it takes the shortfall and leaves the rest where it is, so the
//!   balance does not strand at a store the member visits now and then.
//! - A recharge stays where it was made until the member next pays at home.
//!
//! Why: with the earlier policy (pull everything to wherever the member paid
//! last), a member who shopped elsewhere once left the balance there, and a
//! partition between that store and home then declined the next spend at
//! home. Measured by the simulator (`tongka sim --scenario
//! simulations/scenarios/partition.toml --seeds 1..21`, members shop away
//! from home 15% of the time): spends at the member's home store made while
//! it was cut off by a partition were served 98.18% of the time with the
//! earlier policy, 100.00% with this one; at other stores 36.34% and
//! 35.68%. On `chain20.toml` (seed 1, five stores cut off for four hours):
//! 100.00% at home (4,536 of 4,536), 65.71% at other stores (138 of 210).

use serde::{Deserialize, Serialize};

use crate::ids::NodeId;
use crate::money::Money;
use crate::state::MemberState;
use crate::wallet::Share;

/// What a store asks a peer for: part of a member's balance, or points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Want {
    Money(Money),
    Points(i64),
}

/// Other stores' shares of `member`'s stored value, largest first (ties by
/// name), as `here` knows them.
pub fn holders(member: &MemberState, here: &NodeId) -> Vec<(NodeId, Money)> {
    held_elsewhere(member, here, Share::money)
}

/// Other stores' positive amounts `of` their shares of `member`, largest
/// first (ties by name).
fn held_elsewhere<Q: Copy + Ord + Default>(
    member: &MemberState,
    here: &NodeId,
    of: impl Fn(&Share) -> Q,
) -> Vec<(NodeId, Q)> {
    let mut v: Vec<(NodeId, Q)> = member
        .wallet
        .shares()
        .filter(|(n, s)| *n != here && of(s) > Q::default())
        .map(|(n, s)| (n.clone(), of(s)))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The asks covering `short` from `holders` (largest first): each for the
/// smaller of what it holds and what is still missing; with no holder
/// known, every `reachable` peer but `here` for the whole shortfall.
pub fn asks_of<Q: Copy + Ord + Default + std::ops::SubAssign>(
    holders: Vec<(NodeId, Q)>,
    here: &NodeId,
    short: Q,
    reachable: &[NodeId],
) -> Vec<(NodeId, Q)> {
    if holders.is_empty() {
        return reachable
            .iter()
            .filter(|n| *n != here)
            .map(|n| (n.clone(), short))
            .collect();
    }
    let mut still = short;
    let mut out = Vec::new();
    for (node, held) in holders {
        if still <= Q::default() {
            break;
        }
        let ask = still.min(held);
        out.push((node, ask));
        still -= ask;
    }
    out
}

/// Whom to ask, and for how much each, to cover `short` at `here`: the
/// holders largest first, each for the smaller of what it holds and what is
/// still missing. With no holder known, every `reachable` peer for the whole
/// shortfall (each gives what it has).
pub fn asks_for_shortfall(
    member: &MemberState,
    here: &NodeId,
    short: Money,
    reachable: &[NodeId],
) -> Vec<(NodeId, Money)> {
    asks_of(holders(member, here), here, short, reachable)
}

/// Other stores' points shares of `member`, largest first (ties by name),
/// as `here` knows them.
pub fn points_holders(member: &MemberState, here: &NodeId) -> Vec<(NodeId, i64)> {
    held_elsewhere(member, here, |s| s.points)
}

/// Points are escrowed like money: whom to ask, and for how many points
/// each, to cover `short` points at `here` (a checkout paying with points,
/// 积分抵现): the points holders largest first, each for the smaller of
/// what it holds and what is still missing; with none known, every
/// `reachable` peer for the whole shortfall. Each holder gives what it
/// holds, up to what is asked (`state::decide_points_transfer`), never
/// more than its own share. Points are not pulled ahead.
pub fn asks_for_points(
    member: &MemberState,
    here: &NodeId,
    short: i64,
    reachable: &[NodeId],
) -> Vec<(NodeId, i64)> {
    if short <= 0 {
        return Vec::new();
    }
    asks_of(points_holders(member, here), here, short, reachable)
}

/// Whom to ask, and for what, to cover `short` at `here`, money or points:
/// `asks_for_shortfall` or `asks_for_points`.
pub fn asks_for(
    member: &MemberState,
    here: &NodeId,
    short: Want,
    reachable: &[NodeId],
) -> Vec<(NodeId, Want)> {
    match short {
        Want::Money(a) => asks_for_shortfall(member, here, a, reachable)
            .into_iter()
            .map(|(n, a)| (n, Want::Money(a)))
            .collect(),
        Want::Points(p) => asks_for_points(member, here, p, reachable)
            .into_iter()
            .map(|(n, p)| (n, Want::Points(p)))
            .collect(),
    }
}

/// What to pull to `here` after a sale there: at the member's home store,
/// everything the other holders hold of the member (empty when `here`
/// already holds it all); elsewhere nothing.
pub fn pull_ahead(member: &MemberState, here: &NodeId) -> Vec<(NodeId, Money)> {
    if member.home != *here {
        return Vec::new();
    }
    holders(member, here)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Hlc;
    use crate::ids::{MemberId, OpId};
    use crate::member::Profile;
    use crate::op::{OpBody, OpDraft};
    use crate::wallet::Share;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn member(shares: &[(&str, i64)]) -> MemberState {
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
            actor: "t".into(),
            idem: None,
            body: OpBody::MemberRegistered {
                member: MemberId::mint(&n("a"), 1),
                profile,
            },
        }
        .stamp(
            OpId {
                origin: n("a"),
                seq: 1,
            },
            Default::default(),
        );
        let mut m = MemberState::registered(&op).unwrap();
        for (node, yuan) in shares {
            m.wallet.credit(
                &n(node),
                Share {
                    principal: Money::from_yuan(*yuan),
                    bonus: Money::ZERO,
                    points: 0,
                },
            );
        }
        m
    }

    #[test]
    fn asks_largest_holders_first_for_the_shortfall_only() {
        let m = member(&[("a", 10), ("b", 300), ("c", 200), ("d", 300)]);
        let asks = asks_for_shortfall(&m, &n("a"), Money::from_yuan(450), &[]);
        assert_eq!(
            asks,
            vec![
                (n("b"), Money::from_yuan(300)),
                (n("d"), Money::from_yuan(150))
            ]
        );
        assert_eq!(pull_ahead(&m, &n("a")).len(), 3);
        assert!(pull_ahead(&member(&[("a", 5)]), &n("a")).is_empty());
    }

    #[test]
    fn pull_ahead_only_at_the_home_store() {
        // Registered at "a": its home.
        let m = member(&[("a", 10), ("b", 300), ("c", 200)]);
        assert_eq!(m.home, n("a"));
        assert_eq!(
            pull_ahead(&m, &n("a")),
            vec![
                (n("b"), Money::from_yuan(300)),
                (n("c"), Money::from_yuan(200))
            ]
        );
        assert!(pull_ahead(&m, &n("b")).is_empty());
        assert!(pull_ahead(&m, &n("d")).is_empty());
        // Elsewhere a sale still gets its shortfall.
        assert_eq!(
            asks_for_shortfall(&m, &n("d"), Money::from_yuan(50), &[]),
            vec![(n("b"), Money::from_yuan(50))]
        );
    }

    #[test]
    fn with_no_holder_known_every_reachable_peer_is_asked() {
        let m = member(&[]);
        let asks = asks_for_shortfall(&m, &n("a"), Money::from_yuan(5), &[n("a"), n("b"), n("c")]);
        assert_eq!(
            asks,
            vec![(n("b"), Money::from_yuan(5)), (n("c"), Money::from_yuan(5))]
        );
    }

    #[test]
    fn points_are_asked_of_their_holders_for_the_shortfall_only() {
        let mut m = member(&[("b", 300)]);
        for (node, points) in [("a", 10), ("b", 500), ("c", 700)] {
            m.wallet.credit(
                &n(node),
                Share {
                    points,
                    ..Share::default()
                },
            );
        }
        assert_eq!(
            asks_for_points(&m, &n("a"), 900, &[]),
            vec![(n("c"), 700), (n("b"), 200)]
        );
        assert!(asks_for_points(&m, &n("a"), 0, &[n("b")]).is_empty());
        let none = member(&[]);
        assert_eq!(
            asks_for_points(&none, &n("a"), 5, &[n("a"), n("b")]),
            vec![(n("b"), 5)]
        );
        // A holder gives what it holds, up to the ask, never more.
        let give = crate::state::decide_points_transfer(&m, &n("b"), &n("a"), 900).unwrap();
        assert!(matches!(
            give,
            OpBody::SharesTransferred { points: 500, .. }
        ));
        assert!(crate::state::decide_points_transfer(&m, &n("d"), &n("a"), 1).is_none());
    }
}

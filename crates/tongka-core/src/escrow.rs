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

//!
//! # One mechanism for every escrowed counter
//!
//! A member's balance and points are two [`Counter`]s; a coupon's uses, a
//! card's visits or an item's stock are counters of the same kind to come.
//! Each is a bounded counter split into shares per node (`total = Σ
//! share`, no share negative, only a share's holder decreases it). Every
//! counter's amounts are whole [`Units`] (fen for a balance, points, uses,
//! visits), so the policy below is written once, over units: whom to ask
//! ([`holders`], [`asks_of`], [`asks_for`]) and what to pull ahead
//! ([`pull_ahead`]). A store short of a counter asks with one message
//! carrying a [`Want`], and the holder answers with the transfer op of
//! [`Counter::give`]. A new resource is one variant of [`Counter`] and its
//! arms in [`Counter::of`], [`Counter::give`] and
//! [`Counter::pulls_ahead`].

use serde::{Deserialize, Serialize};

use crate::ids::{CardId, CouponId, MemberId, NodeId};
use crate::money::Money;
use crate::op::{OpBody, UsesOf};
use crate::state::{self, MemberState};
#[cfg(test)]
use crate::wallet::Share;

/// An escrowed counter: what it counts, keyed by whose it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Counter {
    /// A member's stored value, principal and bonus together, in fen. A
    /// transfer moves principal and bonus in the share's proportion
    /// (`state::decide_transfer`).
    Balance(MemberId),
    /// A member's points (积分).
    Points(MemberId),
    /// The uses of one of the member's coupons (`coupon::held`).
    Coupon(MemberId, CouponId),
    /// The visits of one of the member's count cards (`card::held`).
    Card(MemberId, CardId),
}

/// An amount of a counter, in its unit: fen of a balance, points.
pub type Units = i64;

/// What a store asks a peer for: up to `units` of `counter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Want {
    pub counter: Counter,
    pub units: Units,
}

impl Want {
    /// Up to `amount` of `member`'s balance.
    pub fn money(member: MemberId, amount: Money) -> Want {
        Want {
            counter: Counter::Balance(member),
            units: amount.fen(),
        }
    }

    /// Up to `points` of `member`'s points.
    pub fn points(member: MemberId, points: i64) -> Want {
        Want {
            counter: Counter::Points(member),
            units: points,
        }
    }
}

impl std::fmt::Display for Want {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.counter {
            Counter::Balance(m) => write!(f, "{} of {m}'s balance", Money::from_fen(self.units)),
            Counter::Points(m) => write!(f, "{} of {m}'s points", self.units),
            Counter::Coupon(m, c) => write!(f, "{} uses of {m}'s coupon {c}", self.units),
            Counter::Card(m, c) => write!(f, "{} visits of {m}'s card {c}", self.units),
        }
    }
}

impl Counter {
    /// The member whose state holds the counter.
    pub fn member(&self) -> &MemberId {
        match self {
            Counter::Balance(m)
            | Counter::Points(m)
            | Counter::Coupon(m, _)
            | Counter::Card(m, _) => m,
        }
    }

    /// Every node's share of the counter, as `member` (its state) knows
    /// it, in node order (zero shares may be included).
    pub fn shares<'m>(&self, member: &'m MemberState) -> Vec<(&'m NodeId, Units)> {
        match self {
            Counter::Balance(_) => member
                .wallet
                .shares()
                .map(|(n, s)| (n, s.money().fen()))
                .collect(),
            Counter::Points(_) => member.wallet.shares().map(|(n, s)| (n, s.points)).collect(),
            Counter::Coupon(_, id) => member
                .coupon(id)
                .map(|c| c.shares.iter().map(|(n, u)| (n, *u)).collect())
                .unwrap_or_default(),
            Counter::Card(_, id) => member
                .card(id)
                .map(|c| c.shares.iter().map(|(n, u)| (n, *u)).collect())
                .unwrap_or_default(),
        }
    }

    /// The transfer op `from` signs when `to` asks for `want` units: what
    /// `from` holds, up to `want` (`None`: nothing to give).
    pub fn give(
        &self,
        member: &MemberState,
        from: &NodeId,
        to: &NodeId,
        want: Units,
    ) -> Option<OpBody> {
        match self {
            Counter::Balance(_) => {
                state::decide_transfer(member, from, to, Money::from_fen(want.max(0)))
            }
            Counter::Points(_) => state::decide_points_transfer(member, from, to, want),
            Counter::Coupon(m, id) => {
                let held = member.coupon(id)?.held(from);
                let uses = u32::try_from(want.min(held)).ok().filter(|u| *u > 0)?;
                (from != to).then(|| OpBody::UsesTransferred {
                    member: m.clone(),
                    of: UsesOf::Coupon(id.clone()),
                    to: to.clone(),
                    uses,
                })
            }
            Counter::Card(m, id) => {
                let card = member.card(id)?;
                if card.refunded {
                    return None;
                }
                let held = card.held(from);
                let uses = u32::try_from(want.min(held)).ok().filter(|u| *u > 0)?;
                (from != to).then(|| OpBody::UsesTransferred {
                    member: m.clone(),
                    of: UsesOf::Card(id.clone()),
                    to: to.clone(),
                    uses,
                })
            }
        }
    }

    /// Whether the rest of the counter is pulled to the member's home
    /// store after a spend there (the balance is; points are not).
    pub fn pulls_ahead(&self) -> bool {
        matches!(self, Counter::Balance(_))
    }
}

/// Other stores' positive shares of `counter` in `member`, largest first
/// (ties by name), as `here` knows them.
pub fn holders(counter: &Counter, member: &MemberState, here: &NodeId) -> Vec<(NodeId, Units)> {
    let mut v: Vec<(NodeId, Units)> = counter
        .shares(member)
        .into_iter()
        .filter(|(n, u)| *n != here && *u > 0)
        .map(|(n, u)| (n.clone(), u))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The asks covering `short` from `holders` (largest first): each for the
/// smaller of what it holds and what is still missing; with no holder
/// known, every `reachable` peer but `here` for the whole shortfall.
/// Nothing for a shortfall of zero or less.
pub fn asks_of(
    holders: Vec<(NodeId, Units)>,
    here: &NodeId,
    short: Units,
    reachable: &[NodeId],
) -> Vec<(NodeId, Units)> {
    if short <= 0 {
        return Vec::new();
    }
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
        if still <= 0 {
            break;
        }
        let ask = still.min(held);
        out.push((node, ask));
        still -= ask;
    }
    out
}

/// Whom to ask, and for how many units each, to cover `short` at `here`:
/// the holders largest first, each for the smaller of what it holds and
/// what is still missing; with no holder known (this store's view lags),
/// every `reachable` peer for the whole shortfall. Each holder gives what
/// it holds, up to what is asked (`Counter::give`), never more.
pub fn asks_for(
    short: &Want,
    member: &MemberState,
    here: &NodeId,
    reachable: &[NodeId],
) -> Vec<(NodeId, Units)> {
    asks_of(
        holders(&short.counter, member, here),
        here,
        short.units,
        reachable,
    )
}

/// What to pull to `here` after a spend there: at the member's home
/// store, everything the other holders hold of a counter that
/// [`pulls_ahead`](Counter::pulls_ahead) (empty when `here` already holds
/// it all); elsewhere, or for another counter, nothing.
pub fn pull_ahead(counter: &Counter, member: &MemberState, here: &NodeId) -> Vec<(NodeId, Units)> {
    if !counter.pulls_ahead() || member.home != *here {
        return Vec::new();
    }
    holders(counter, member, here)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Hlc;
    use crate::ids::OpId;
    use crate::member::Profile;
    use crate::op::OpDraft;

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

    fn y(yuan: i64) -> Units {
        Money::from_yuan(yuan).fen()
    }

    fn balance(m: &MemberState) -> Counter {
        Counter::Balance(m.id.clone())
    }

    #[test]
    fn asks_largest_holders_first_for_the_shortfall_only() {
        let m = member(&[("a", 10), ("b", 300), ("c", 200), ("d", 300)]);
        let asks = asks_for(
            &Want::money(m.id.clone(), Money::from_yuan(450)),
            &m,
            &n("a"),
            &[],
        );
        assert_eq!(asks, vec![(n("b"), y(300)), (n("d"), y(150))]);
        assert_eq!(pull_ahead(&balance(&m), &m, &n("a")).len(), 3);
        let alone = member(&[("a", 5)]);
        assert!(pull_ahead(&balance(&alone), &alone, &n("a")).is_empty());
    }

    #[test]
    fn pull_ahead_only_at_the_home_store_and_only_the_balance() {
        // Registered at "a": its home.
        let mut m = member(&[("a", 10), ("b", 300), ("c", 200)]);
        assert_eq!(m.home, n("a"));
        let c = balance(&m);
        assert_eq!(
            pull_ahead(&c, &m, &n("a")),
            vec![(n("b"), y(300)), (n("c"), y(200))]
        );
        assert!(pull_ahead(&c, &m, &n("b")).is_empty());
        assert!(pull_ahead(&c, &m, &n("d")).is_empty());
        // Points stay where they are.
        m.wallet.credit(
            &n("b"),
            Share {
                points: 40,
                ..Share::default()
            },
        );
        assert!(pull_ahead(&Counter::Points(m.id.clone()), &m, &n("a")).is_empty());
        // Elsewhere a sale still gets its shortfall.
        assert_eq!(
            asks_for(
                &Want::money(m.id.clone(), Money::from_yuan(50)),
                &m,
                &n("d"),
                &[]
            ),
            vec![(n("b"), y(50))]
        );
    }

    #[test]
    fn with_no_holder_known_every_reachable_peer_is_asked() {
        let m = member(&[]);
        let want = Want::money(m.id.clone(), Money::from_yuan(5));
        let asks = asks_for(&want, &m, &n("a"), &[n("a"), n("b"), n("c")]);
        assert_eq!(asks, vec![(n("b"), y(5)), (n("c"), y(5))]);
        assert!(asks_for(&Want { units: 0, ..want }, &m, &n("a"), &[n("b")]).is_empty());
    }

    #[test]
    fn a_balance_counts_in_fen_and_gives_principal_and_bonus_in_proportion() {
        let mut m = member(&[("b", 0)]);
        m.wallet.credit(
            &n("b"),
            Share {
                principal: Money::from_fen(300),
                bonus: Money::from_fen(100),
                points: 7,
            },
        );
        let c = balance(&m);
        let held = |c: &Counter| {
            c.shares(&m)
                .into_iter()
                .find(|(node, _)| **node == n("b"))
                .unwrap()
                .1
        };
        assert_eq!(held(&c), 400);
        assert_eq!(held(&Counter::Points(m.id.clone())), 7);
        let give = c.give(&m, &n("b"), &n("a"), 200).unwrap();
        assert_eq!(
            give,
            crate::state::decide_transfer(&m, &n("b"), &n("a"), Money::from_fen(200)).unwrap()
        );
        assert!(matches!(give, OpBody::SharesTransferred { points: 0, .. }));
        // Asked for more than held: what is held, never more.
        assert!(matches!(
            c.give(&m, &n("b"), &n("a"), 10_000).unwrap(),
            OpBody::SharesTransferred { principal, bonus, .. } if (principal + bonus).fen() == 400
        ));
        assert!(c.give(&m, &n("b"), &n("a"), -5).is_none());
        assert!(c.give(&m, &n("d"), &n("a"), 1).is_none());
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
        let want = |p| Want::points(m.id.clone(), p);
        assert_eq!(
            asks_for(&want(900), &m, &n("a"), &[]),
            vec![(n("c"), 700), (n("b"), 200)]
        );
        assert!(asks_for(&want(0), &m, &n("a"), &[n("b")]).is_empty());
        let none = member(&[]);
        assert_eq!(
            asks_for(
                &Want::points(none.id.clone(), 5),
                &none,
                &n("a"),
                &[n("a"), n("b")]
            ),
            vec![(n("b"), 5)]
        );
        // A holder gives what it holds, up to the ask, never more.
        let c = Counter::Points(m.id.clone());
        let give = c.give(&m, &n("b"), &n("a"), 900).unwrap();
        assert!(matches!(
            give,
            OpBody::SharesTransferred { points: 500, principal, .. } if principal.is_zero()
        ));
        assert!(c.give(&m, &n("d"), &n("a"), 1).is_none());
    }
}

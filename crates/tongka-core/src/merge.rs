//! Merging two members (duplicates registered during a partition): the
//! rules, pure.
//!
//! A merge is two kinds of op. `MembersMerged` (made by the node staff
//! asked) records that `absorbed` now belongs to the survivor: it fills the
//! survivor's blank profile fields and unites the tags (an automerge change
//! of the survivor's document) and adds the absorbed member's cumulative
//! figures. Money and points are shares, and only a share's owner may
//! decrease it: so every node that holds a share of the absorbed member
//! moves its own share to the survivor with a `MergeMoved` op of its own,
//! when it applies the merge and again whenever its share of the absorbed
//! member grows later (ops from a store that was partitioned): when is
//! `tongka_machine::settle`'s rule, for node and simulator. A move
//! debits and credits the same owner's share, so totals and the ledger are
//! unchanged by a merge.
//!
//! Where a member was merged more than once (concurrently, at stores that
//! could not see each other) `resolve` picks one survivor the same way on
//! every node: the smallest survivor id at each step, and the smallest
//! member of a cycle.
//!
//! Figures are counted once per absorbed member. Two stores may merge the
//! same pair concurrently, each with the absorbed member's figures as it
//! saw them; both ops apply everywhere. The survivor keeps, per absorbed
//! member, the op whose figures it counted and those figures
//! (`MemberState::counted`): the first `MembersMerged` of a member counts;
//! a later one counts instead (the recorded figures out, its own in) only
//! if its op id (origin, seq) sorts lower, else it changes no figure (its
//! profile change still applies: automerge changes commute). So every
//! node counts the lowest op id's figures, whatever the delivery order,
//! and a duplicate changes nothing. Merges applied before the store's
//! schema 6 are recorded without an op (`None`, sorting first: never
//! replaced; figures counted twice before it stay so).
//!
//! What the rule does not cover: the record is per (survivor, absorbed)
//! pair. A chain (A into B, then B into C) counts A once in C, through
//! B's figures, as the deciding store saw them. Crossed merges of one pair
//! (A into B at one store, B into A at another) are two different pairs:
//! each side counts the other's figures once, as before; `resolve` makes
//! the smaller id the survivor, whose figures then hold both members'
//! (the merged-away one's are no longer read). A member merged into two
//! survivors concurrently (A into B and A into C) is counted in each, as
//! before, though only one survives `resolve`; and A merged both directly
//! into C and through B (A into B, B into C, A into C concurrently) is
//! counted twice in C.

use std::collections::{BTreeMap, BTreeSet};

use crate::card::HeldCard;
use crate::clock::Hlc;
use crate::coupon::HeldCoupon;
use crate::error::DomainError;
use crate::ids::{MemberId, NodeId};
use crate::op::{MergedFigures, MovedCard, MovedUses, Op, OpBody};
use crate::profile_doc;
use crate::state::{ApplyError, MemberState};
use crate::wallet::Share;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum MergeError {
    #[error("a member cannot be merged into itself")]
    SameMember,
    #[error("member {member} was already merged into {into}")]
    AlreadyMerged { member: MemberId, into: MemberId },
    #[error("the merge cannot be made: {0}")]
    Document(String),
}

impl DomainError for MergeError {
    fn code(&self) -> &'static str {
        match self {
            MergeError::SameMember => "merge_same_member",
            MergeError::AlreadyMerged { .. } => "member_merged",
            MergeError::Document(_) => "merge_failed",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            MergeError::SameMember => "不能把会员合并到自己".into(),
            MergeError::AlreadyMerged { member, into } => {
                format!("会员 {member} 已合并到 {into}")
            }
            MergeError::Document(e) => format!("无法合并：{e}"),
        }
    }
}

/// Decide the merge of `absorbed` into `survivor` by `origin` at `at`.
/// `merged` is what the caller knows of earlier merges (see `resolve`).
pub fn decide_merge(
    survivor: &MemberState,
    absorbed: &MemberState,
    merged: &Merged,
    origin: &NodeId,
    at: Hlc,
) -> Result<OpBody, MergeError> {
    if survivor.id == absorbed.id {
        return Err(MergeError::SameMember);
    }
    for m in [&survivor.id, &absorbed.id] {
        let into = merged.resolve(m);
        if into != *m {
            return Err(MergeError::AlreadyMerged {
                member: m.clone(),
                into,
            });
        }
    }
    let mut doc = survivor
        .profile_document()
        .map_err(|e| MergeError::Document(e.to_string()))?;
    let change =
        profile_doc::fill_change(&mut doc, origin, at, &absorbed.profile).unwrap_or_default();
    Ok(OpBody::MembersMerged {
        member: survivor.id.clone(),
        absorbed: absorbed.id.clone(),
        change,
        figures: MergedFigures {
            principal: absorbed.cumulative_principal,
            bonus: absorbed.cumulative_bonus,
            spent: absorbed.cumulative_spent,
            visits: absorbed.visits,
        },
    })
}

/// The move `holder` makes of its whole share of merged-away `absorbed`
/// to `into`; `None` when it holds nothing.
pub fn decide_move(absorbed: &MemberState, into: &MemberId, holder: &NodeId) -> Option<OpBody> {
    let s = absorbed.wallet.share(holder);
    let coupons: Vec<MovedUses> = absorbed
        .coupons
        .iter()
        .filter_map(|c| {
            let uses = u32::try_from(c.held(holder)).ok().filter(|u| *u > 0)?;
            Some(MovedUses {
                coupon: c.coupon.clone(),
                uses,
            })
        })
        .collect();
    let cards: Vec<MovedCard> = absorbed
        .cards
        .iter()
        .filter_map(|c| {
            let visits = u32::try_from(c.held(holder)).ok().filter(|u| *u > 0)?;
            Some(MovedCard {
                card: c.card.clone(),
                visits,
                visited: c.visited,
                refunded: c.refunded,
            })
        })
        .collect();
    if (s == Share::default() && coupons.is_empty() && cards.is_empty()) || *into == absorbed.id {
        return None;
    }
    Some(OpBody::MergeMoved {
        member: absorbed.id.clone(),
        into: into.clone(),
        principal: s.principal,
        bonus: s.bonus,
        points: s.points,
        coupons,
        cards,
    })
}

/// The survivor's side of a `MergeMoved`: credit the origin's share of
/// `into` with what the origin took from its share of the absorbed member.
pub fn apply_credit(survivor: &mut MemberState, op: &Op) -> Result<(), ApplyError> {
    let OpBody::MergeMoved {
        member,
        into,
        principal,
        bonus,
        points,
        coupons,
        cards,
    } = &op.body
    else {
        return Err(ApplyError::NotApplicable("not a merge move"));
    };
    if *into != survivor.id {
        return Err(ApplyError::WrongMember(survivor.id.clone()));
    }
    if member == into {
        return Err(ApplyError::NotApplicable("share moved to the same member"));
    }
    survivor.wallet.credit(
        op.origin(),
        Share {
            principal: *principal,
            bonus: *bonus,
            points: *points,
        },
    );
    // The coupons come along: known to the survivor or not yet.
    for moved in coupons {
        let at = match survivor
            .coupons
            .binary_search_by(|c| c.id().cmp(&moved.coupon.id))
        {
            Ok(at) => at,
            Err(at) => {
                survivor
                    .coupons
                    .insert(at, HeldCoupon::moved_in(moved.coupon.clone()));
                at
            }
        };
        survivor.coupons[at].credit(op.origin(), i64::from(moved.uses));
    }
    for moved in cards {
        let at = match survivor
            .cards
            .binary_search_by(|c| c.id().cmp(&moved.card.id))
        {
            Ok(at) => at,
            Err(at) => {
                survivor.cards.insert(
                    at,
                    HeldCard::moved_in(moved.card.clone(), moved.visited, moved.refunded),
                );
                at
            }
        };
        survivor.cards[at].credit(op.origin(), i64::from(moved.visits));
    }
    survivor.last_seen = survivor.last_seen.max(op.hlc);
    Ok(())
}

/// What a node knows of merges: for each absorbed member, the survivors
/// merges named (more than one only when merged concurrently).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    into: BTreeMap<MemberId, BTreeSet<MemberId>>,
}

impl Merged {
    pub fn add(&mut self, absorbed: MemberId, survivor: MemberId) {
        self.into.entry(absorbed).or_default().insert(survivor);
    }

    pub fn is_empty(&self) -> bool {
        self.into.is_empty()
    }

    pub fn contains(&self, m: &MemberId) -> bool {
        self.into.contains_key(m)
    }

    /// The member `m` now is: follow merges (the smallest survivor at each
    /// step) until a member not merged away; in a cycle, its smallest
    /// member. Depends only on the set of merges, not their order.
    pub fn resolve(&self, m: &MemberId) -> MemberId {
        let mut path: Vec<&MemberId> = vec![m];
        let mut at = m;
        while let Some(next) = self.into.get(at).and_then(|s| s.first()) {
            if let Some(i) = path.iter().position(|p| *p == next) {
                return path[i..]
                    .iter()
                    .min()
                    .copied()
                    .cloned()
                    .unwrap_or_else(|| m.clone());
            }
            path.push(next);
            at = next;
        }
        at.clone()
    }
}

impl Merged {
    /// The merged-away members whose way to their survivor (`resolve`'s
    /// path) passes `via`, `via` itself included if merged away: the
    /// members a new merge of `via` may send elsewhere (the smallest
    /// member of a cycle, which owed nothing, among them).
    pub fn through<'a>(&'a self, via: &'a MemberId) -> impl Iterator<Item = &'a MemberId> + 'a {
        self.into.keys().filter(move |m| self.passes(m, via))
    }

    fn passes(&self, m: &MemberId, via: &MemberId) -> bool {
        let mut seen: Vec<&MemberId> = Vec::new();
        let mut at = m;
        loop {
            if at == via {
                return true;
            }
            if seen.contains(&at) {
                return false;
            }
            seen.push(at);
            match self.into.get(at).and_then(|s| s.first()) {
                Some(next) => at = next,
                None => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::Profile;
    use crate::money::Money;
    use crate::state::LedgerTotals;

    use crate::testkit::{n, op};

    fn register(
        origin: &str,
        seq: u64,
        phone: &str,
        tags: &[&str],
        card: Option<&str>,
    ) -> MemberState {
        let body = OpBody::MemberRegistered {
            member: MemberId::mint(&n(origin), seq),
            profile: Profile {
                phone: phone.into(),
                name: format!("会员{seq}"),
                birthday: None,
                gender: None,
                card_no: card.map(Into::into),
                invited_by: None,
                tags: tags.iter().map(|t| t.to_string()).collect(),
                notes: String::new(),
            },
            opening: None,
        };
        MemberState::registered(&op(origin, seq, seq, body)).unwrap()
    }

    fn recharge(m: &mut MemberState, origin: &str, seq: u64, yuan: i64) {
        let body = OpBody::Recharged {
            member: m.id.clone(),
            recharge: crate::ids::RechargeId::mint(&n(origin), seq),
            amount: Money::from_yuan(yuan),
            bonus: Money::from_yuan(yuan / 10),
            tender: crate::checkout::TenderKind::Cash,
        };
        m.apply(&op(origin, seq, 100 + seq, body)).unwrap();
    }

    #[test]
    fn merge_fills_blanks_unites_tags_and_moves_shares_by_their_owners() {
        let mut s = register("s1", 1, "13800000001", &["vip"], None);
        let mut a = register("s2", 2, "13800000001", &["tea"], Some("CARD9"));
        recharge(&mut s, "s1", 3, 100);
        recharge(&mut a, "s2", 4, 50);
        recharge(&mut a, "s3", 5, 20);
        let before = s.balance().money() + a.balance().money();
        let body = decide_merge(
            &s,
            &a,
            &Merged::default(),
            &n("s3"),
            Hlc { ms: 200, count: 0 },
        )
        .unwrap();
        let merge = op("s3", 6, 200, body);
        s.apply(&merge).unwrap();
        assert_eq!(s.profile.tags, vec!["tea", "vip"]);
        assert_eq!(s.profile.card_no.as_deref(), Some("CARD9"));
        assert_eq!(s.profile.name, "会员1", "the survivor's own fields win");
        assert_eq!(s.absorbed, vec![a.id.clone()]);
        assert_eq!(s.cumulative_principal, Money::from_yuan(170));
        let mut totals = LedgerTotals::default();
        totals.apply(&merge);
        for (seq, holder) in [(7, "s2"), (8, "s3")] {
            let body = decide_move(&a, &s.id, &n(holder)).unwrap();
            let mv = op(holder, seq, 300, body);
            a.apply(&mv).unwrap();
            apply_credit(&mut s, &mv).unwrap();
            totals.apply(&mv);
        }
        assert_eq!(
            decide_move(&a, &s.id, &n("s1")),
            None,
            "s1 holds none of it"
        );
        assert_eq!(a.balance(), Share::default());
        assert_eq!(s.balance().money(), before);
        assert_eq!(s.wallet.share(&n("s2")).money(), Money::from_yuan(55));
        assert_eq!(
            totals,
            LedgerTotals::default(),
            "a merge moves no money in or out"
        );
        // A node cannot move another's share: the debit is of its own.
        let forged = op(
            "s1",
            9,
            400,
            OpBody::MergeMoved {
                member: a.id.clone(),
                into: s.id.clone(),
                principal: Money::from_yuan(1),
                bonus: Money::ZERO,
                points: 0,
                coupons: vec![],
                cards: vec![],
            },
        );
        assert!(a.apply(&forged).is_err());
    }

    #[test]
    fn a_merge_and_a_concurrent_edit_converge_in_either_order() {
        let s = register("s1", 1, "13800000001", &["vip"], None);
        let a = register("s2", 2, "13800000001", &["tea"], Some("CARD9"));
        let merge = op(
            "s3",
            5,
            50,
            decide_merge(
                &s,
                &a,
                &Merged::default(),
                &n("s3"),
                Hlc { ms: 50, count: 0 },
            )
            .unwrap(),
        );
        let patch = crate::member::ProfilePatch {
            tags: Some(vec!["gold".into()]),
            card_no: Some(Some("CARD1".into())),
            ..Default::default()
        };
        let edit = op(
            "s1",
            6,
            50,
            s.decide_profile_update(&n("s1"), Hlc { ms: 50, count: 0 }, patch)
                .unwrap()
                .unwrap(),
        );
        let mut x = s.clone();
        x.apply(&merge).unwrap();
        x.apply(&edit).unwrap();
        let mut y = s.clone();
        y.apply(&edit).unwrap();
        y.apply(&merge).unwrap();
        assert_eq!(x, y);
        // s1 removed vip and added gold; the merge added tea: all kept but
        // the removal. Both wrote the card: one value, the same everywhere.
        assert_eq!(x.profile.tags, vec!["gold", "tea"]);
        assert!(x.profile.card_no.is_some());
    }

    /// The same pair merged at three stores that could not see each other,
    /// each seeing different figures of the absorbed member: every
    /// delivery order (and a duplicate) gives the same state, with the
    /// figures of the lowest op id counted once.
    fn concurrent_merges_of_one_pair(extra: &[i64], order: &[usize]) -> MemberState {
        let mut s = register("s1", 1, "13800000001", &["vip"], None);
        let mut a = register("s2", 2, "13800000001", &["tea"], Some("CARD9"));
        recharge(&mut s, "s1", 3, 100);
        recharge(&mut a, "s2", 4, 50);
        let merges: Vec<Op> = extra
            .iter()
            .enumerate()
            .map(|(i, yuan)| {
                // Store i saw a recharge of `yuan` at its own store first.
                let mut seen = a.clone();
                let store = format!("s{}", 5 + i);
                if *yuan > 0 {
                    recharge(&mut seen, &store, 10, *yuan);
                }
                let at = Hlc {
                    ms: 200 + i as u64,
                    count: 0,
                };
                let body = decide_merge(&s, &seen, &Merged::default(), &n(&store), at).unwrap();
                op(&store, 20, at.ms, body)
            })
            .collect();
        for i in order {
            s.apply(&merges[*i]).unwrap();
        }
        s
    }

    #[test]
    fn concurrent_merges_of_one_pair_count_the_figures_once_in_any_order() {
        let extra = [30, 0, 7];
        let first = concurrent_merges_of_one_pair(&extra, &[0, 1, 2]);
        for order in [
            &[0, 2, 1][..],
            &[1, 0, 2],
            &[1, 2, 0],
            &[2, 0, 1],
            &[2, 1, 0],
            &[2, 1, 0, 2, 1],
        ] {
            assert_eq!(concurrent_merges_of_one_pair(&extra, order), first);
        }
        // Op ids: s5#20 < s6#20 < s7#20, so s5's figures count: a's 50
        // and the 30 s5 saw (bonus a tenth of each), and nothing twice.
        assert_eq!(first.cumulative_principal, Money::from_yuan(100 + 50 + 30));
        assert_eq!(first.cumulative_bonus, Money::from_yuan(10 + 5 + 3));
        assert_eq!(first.absorbed.len(), 1);
        assert_eq!(first.counted.len(), 1);
        assert_eq!(first.counted[0].op.as_ref().map(|o| o.seq), Some(20));
        assert_eq!(
            first.counted[0].op.as_ref().map(|o| o.origin.clone()),
            Some(n("s5"))
        );
        assert_eq!(first.profile.tags, vec!["tea", "vip"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn concurrent_merges_converge_whatever_the_figures_and_order(
            extra in proptest::collection::vec(0i64..1_000, 1..4),
            order in proptest::collection::vec(0usize..1000, 1..8),
        ) {
            let k = extra.len();
            let mut order: Vec<usize> = order.into_iter().map(|i| i % k).collect();
            order.extend(0..k);
            let forward: Vec<usize> = (0..k).collect();
            let a = concurrent_merges_of_one_pair(&extra, &order);
            let b = concurrent_merges_of_one_pair(&extra, &forward);
            proptest::prop_assert_eq!(&a, &b);
            // The lowest op id is store 0's: its figures, once.
            proptest::prop_assert_eq!(
                a.cumulative_principal,
                Money::from_yuan(150 + extra[0])
            );
        }
    }

    #[test]
    fn merge_refusals() {
        let s = register("s1", 1, "13800000001", &[], None);
        let a = register("s2", 2, "13800000001", &[], None);
        let at = Hlc::default();
        assert_eq!(
            decide_merge(&s, &s, &Merged::default(), &n("s1"), at),
            Err(MergeError::SameMember)
        );
        let mut m = Merged::default();
        m.add(a.id.clone(), MemberId::mint(&n("s9"), 9));
        assert!(matches!(
            decide_merge(&s, &a, &m, &n("s1"), at),
            Err(MergeError::AlreadyMerged { .. })
        ));
        assert_eq!(MergeError::SameMember.code(), "merge_same_member");
    }

    #[test]
    fn resolve_follows_chains_and_breaks_cycles_alike() {
        let id = |i: u64| MemberId::mint(&n("s1"), i);
        let mut m = Merged::default();
        m.add(id(3), id(2));
        m.add(id(2), id(5));
        assert_eq!(m.resolve(&id(3)), id(5));
        assert_eq!(m.resolve(&id(7)), id(7));
        m.add(id(5), id(3));
        for i in [2, 3, 5] {
            assert_eq!(m.resolve(&id(i)), id(2), "the cycle's smallest");
        }
        m.add(id(4), id(9));
        m.add(id(4), id(1));
        assert_eq!(m.resolve(&id(4)), id(1), "the smallest survivor");
    }

    proptest::proptest! {
        /// Whatever the holders, amounts and the order moves are applied
        /// in, a merge keeps the money and points of both members to the
        /// fen and leaves the absorbed member empty.
        #[test]
        fn merge_conserves_whatever_the_shares_and_order(
            shares in proptest::collection::vec((0usize..4, 0i64..100_000, 0i64..500), 1..8),
            rev in proptest::prelude::any::<bool>(),
        ) {
            let nodes = ["s1", "s2", "s3", "s4"];
            let mut s = register("s1", 1, "13800000001", &[], None);
            let mut a = register("s2", 2, "13800000001", &[], None);
            let mut seq = 10;
            for (i, fen, pts) in &shares {
                seq += 1;
                let body = OpBody::Recharged {
                    member: a.id.clone(),
                    recharge: crate::ids::RechargeId::mint(&n(nodes[*i]), seq),
                    amount: Money::from_fen(*fen + 1),
                    bonus: Money::from_fen(*fen / 7),
                    tender: crate::checkout::TenderKind::Cash,
                };
                a.apply(&op(nodes[*i], seq, seq, body)).unwrap();
                a.wallet.credit(&n(nodes[*i]), Share { points: *pts, ..Share::default() });
            }
            let total = a.balance();
            let mut moves: Vec<Op> = nodes
                .iter()
                .filter_map(|h| decide_move(&a, &s.id, &n(h)).map(|b| op(h, 99, 999, b)))
                .collect();
            if rev {
                moves.reverse();
            }
            for mv in &moves {
                a.apply(mv).unwrap();
                apply_credit(&mut s, mv).unwrap();
            }
            proptest::prop_assert_eq!(a.balance(), Share::default());
            proptest::prop_assert_eq!(s.balance(), total);
            for h in nodes {
                proptest::prop_assert!(decide_move(&a, &s.id, &n(h)).is_none());
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Three stores; a duplicate with shares at random stores, a merge
        /// made at one, recharges of the duplicate made concurrently
        /// elsewhere; ops delivered in random causal orders, each store
        /// moving its own share whenever it knows the merge and holds part
        /// of the duplicate. At the end every store holds the same two
        /// members, the duplicate is empty and the survivor holds all.
        #[test]
        fn merges_converge_and_conserve_whatever_the_delivery(
            before in proptest::collection::vec((0usize..3, 1i64..50_000), 0..5),
            during in proptest::collection::vec((0usize..3, 1i64..50_000), 0..5),
            merger in 0usize..3,
            picks in proptest::collection::vec(0usize..1000, 200),
        ) {
            let names = ["s1", "s2", "s3"];
            let s0 = register("s1", 1, "13800000001", &[], None);
            let a0 = register("s2", 2, "13800000001", &["tea"], None);
            // ops: (op, origin index, indices of the ops its origin held).
            let mut ops: Vec<(Op, usize, Vec<usize>)> = Vec::new();
            let mut seq = [10u64; 3];
            let mut next_seq = |h: usize| { seq[h] += 1; seq[h] };
            let recharge_op = |h: usize, sq: u64, fen: i64, member: &MemberId| op(
                names[h], sq, sq, OpBody::Recharged {
                    member: member.clone(),
                    recharge: crate::ids::RechargeId::mint(&n(names[h]), sq),
                    amount: Money::from_fen(fen),
                    bonus: Money::from_fen(fen / 10),
                    tender: crate::checkout::TenderKind::Cash,
                });
            for (h, fen) in &before {
                let o = recharge_op(*h, next_seq(*h), *fen, &a0.id);
                let deps = (0..ops.len()).collect();
                ops.push((o, *h, deps));
            }
            // Everyone holds the recharges made before; the merge is made
            // at `merger` on that state.
            let mut state: Vec<(MemberState, MemberState, Vec<usize>, Merged)> =
                vec![(s0.clone(), a0.clone(), Vec::new(), Merged::default()); 3];
            for st in &mut state {
                for (i, (o, _, _)) in ops.iter().enumerate() {
                    st.1.apply(o).unwrap();
                    st.2.push(i);
                }
            }
            let body = decide_merge(&state[merger].0, &state[merger].1, &Merged::default(),
                &n(names[merger]), Hlc { ms: 500, count: 0 }).unwrap();
            let merge_at = ops.len();
            let merge = op(names[merger], next_seq(merger), 500, body);
            ops.push((merge, merger, (0..merge_at).collect()));
            for (h, fen) in &during {
                let h = (*h + 1 + merger) % 3;
                if h == merger { continue; }
                // Made without knowing the merge.
                let o = recharge_op(h, next_seq(h), *fen, &a0.id);
                let deps = state[h].2.clone();
                state[h].1.apply(&o).unwrap();
                state[h].2.push(ops.len());
                ops.push((o, h, deps));
            }
            let total = {
                let mut t = Share::default();
                for (o, _, _) in &ops {
                    if let OpBody::Recharged { amount, bonus, .. } = &o.body {
                        t.principal += *amount;
                        t.bonus += *bonus;
                    }
                }
                t.principal + t.bonus
            };
            let apply = |st: &mut (MemberState, MemberState, Vec<usize>, Merged), o: &Op| {
                match &o.body {
                    OpBody::MembersMerged { absorbed, member, .. } => {
                        st.0.apply(o).unwrap();
                        st.3.add(absorbed.clone(), member.clone());
                    }
                    OpBody::MergeMoved { .. } => {
                        st.1.apply(o).unwrap();
                        apply_credit(&mut st.0, o).unwrap();
                    }
                    _ => st.1.apply(o).unwrap(),
                }
            };
            {
                let o = ops[merge_at].0.clone();
                apply(&mut state[merger], &o);
                state[merger].2.push(merge_at);
            }
            let mut p = 0;
            loop {
                // Each store moves its own share once it knows the merge.
                for h in 0..3 {
                    let into = state[h].3.resolve(&a0.id);
                    if let Some(body) = decide_move(&state[h].1, &into, &n(names[h])) {
                        let o = op(names[h], next_seq(h), 900, body);
                        let deps = state[h].2.clone();
                        apply(&mut state[h], &o);
                        state[h].2.push(ops.len());
                        ops.push((o, h, deps));
                    }
                }
                let mut deliverable = Vec::new();
                for (h, st) in state.iter().enumerate() {
                    for (i, (_, origin, deps)) in ops.iter().enumerate() {
                        if *origin != h && !st.2.contains(&i) && deps.iter().all(|d| st.2.contains(d)) {
                            deliverable.push((h, i));
                        }
                    }
                }
                if deliverable.is_empty() {
                    break;
                }
                let (h, i) = deliverable[picks[p % picks.len()] % deliverable.len()];
                p += 1;
                let o = ops[i].0.clone();
                apply(&mut state[h], &o);
                state[h].2.push(i);
            }
            for st in &state {
                proptest::prop_assert_eq!(&st.0, &state[0].0);
                proptest::prop_assert_eq!(&st.1, &state[0].1);
                proptest::prop_assert_eq!(st.1.balance(), Share::default());
                proptest::prop_assert_eq!(st.0.balance().money(), total);
            }
        }
    }
}

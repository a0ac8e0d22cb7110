//! Coupons in the simulator (issue 11): the scenario's `[coupons]` table,
//! what the report counts of them, and the checks over a node's coupons.
//!
//! Every rule is the core's or the machine's, none copied here: a coupon
//! is `coupon::Coupon::issue` of a template of the programme the issuing
//! node holds, logged as `CouponIssued` (at a store the uses are held
//! there; at HQ by the member's home store, as the engine's
//! `coupon_holder`); a sale uses one through `checkout::checkout_with`
//! with `Deductions`; a store short of a use asks the holders through the
//! node machine's escrow for `Counter::Coupon`; a refund gives uses back
//! as `OrderState::decide` says (the whole sale refunded while valid).
//! The Sim's side lives in `sim/coupons.rs`.
//!
//! Checks (full sweeps, only when the scenario has coupons):
//! - at_most_once: for each coupon, the uses in the sales a node applied
//!   less the uses its refunds gave back never exceed the coupon's uses;
//! - no_overdraft: no node's share of a coupon's uses below zero; the
//!   shares, over every member holding the coupon (a merge moves uses
//!   with the coupon to the survivor), add up to uses − used + given
//!   back; the ledger's
//!   `coupon_uses_outstanding` is Σ left over every member's coupons.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tongka_core::coupon::CouponTemplate;
use tongka_core::day::Day;
use tongka_core::ids::{CouponId, MemberId};
use tongka_core::money::Money;

use crate::node::Materialised;
use crate::report::pct;
use crate::scenario::{Dur, Num};

/// Where coupons are issued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueAt {
    /// At a store (the one the member walks into; for a campaign, the
    /// member's home store): its uses are held there.
    #[default]
    Store,
    /// At HQ (needs `chain.hq`): its uses are held by the member's home
    /// store, as the engine's `coupon_holder` decides.
    Hq,
}

/// A campaign: one coupon of `template` to every member the issuer knows,
/// at `at` (as `POST /coupon-batches`, one op per member).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub template: String,
    pub at: Dur,
}

/// The scenario's `[coupons]` table (absent: no coupons, and the run draws
/// the same random numbers and reports byte for byte as before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coupons {
    /// Templates in the programme every node starts from (the core's
    /// `CouponTemplate`, serde as it is); a per-member limit is checked
    /// at issue by the core's `MemberState::may_issue`, as the node does.
    pub templates: Vec<CouponTemplate>,
    #[serde(default)]
    pub issue_at: IssueAt,
    /// Coupons issued per member per day, one template picked at random.
    #[serde(default)]
    pub issues: Num,
    #[serde(default)]
    pub campaigns: Vec<Campaign>,
    /// Probability that a member checkout presents one of the member's
    /// coupons usable today (as the member knows them: issued to them, not
    /// used up).
    #[serde(default)]
    pub uses: Num,
    /// Probability that a sale that used a coupon is refunded later (in
    /// place of `workload.refunds` for those sales); the whole sale
    /// refunded while the coupon is valid gives its use back (the core
    /// decides).
    #[serde(default)]
    pub refunds: Num,
}

impl Coupons {
    /// What is wrong with the table, if anything.
    pub fn problem(&self, hq: bool) -> Option<String> {
        let mut ids = std::collections::BTreeSet::new();
        for t in &self.templates {
            if let Err(e) = t.validate() {
                return Some(format!("coupons.templates: {}: {e}", t.id));
            }
            if !ids.insert(t.id.as_str()) {
                return Some(format!("coupons.templates: {} twice", t.id));
            }
        }
        if self.templates.is_empty() {
            return Some("coupons.templates: at least one".into());
        }
        if let Some(c) = self
            .campaigns
            .iter()
            .find(|c| !ids.contains(c.template.as_str()))
        {
            return Some(format!("coupons.campaigns: no template {}", c.template));
        }
        if self.issue_at == IssueAt::Hq && !hq {
            return Some("coupons.issue_at = \"hq\" needs chain.hq".into());
        }
        for (name, p) in [
            ("coupons.uses", self.uses),
            ("coupons.refunds", self.refunds),
        ] {
            if p.0 > rust_decimal::Decimal::ONE {
                return Some(format!("{name} is a probability (0 to 1)"));
            }
        }
        None
    }
}

/// A coupon as its member knows it: issued to them, the uses they have not
/// used (less uses made, plus uses a refund gave back) and its window.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub id: CouponId,
    pub left: i64,
    pub from: Day,
    pub to: Day,
}

/// Where a coupon use was attempted: at the member's home store or
/// elsewhere, while the store was cut off by a partition or not.
pub(crate) fn place(home: bool, cut: bool) -> usize {
    usize::from(!home) + 2 * usize::from(cut)
}

const PLACES: [&str; 4] = [
    "home, normal",
    "elsewhere, normal",
    "home, cut off",
    "elsewhere, cut off",
];

/// What the report counts of coupons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CouponStats {
    /// `CouponIssued` ops made, by campaigns and by the other issues.
    pub issued: u64,
    pub campaign_issued: u64,
    /// Issues not made, by code.
    pub issue_refused: BTreeMap<&'static str, u64>,
    /// Checkouts presenting a coupon, by place (`place`): asked for, made
    /// with the coupon, made without asking another store for the use.
    pub attempted: [u64; 4],
    pub made: [u64; 4],
    pub local: [u64; 4],
    /// Checkouts presenting a coupon declined, by code.
    pub declines: BTreeMap<&'static str, u64>,
    /// Escrow asks for a use started, and uses transferred.
    pub asks: u64,
    pub transfers: u64,
    /// Uses given back by refunds.
    pub returned: u64,
    /// What the coupons took off the sales made.
    pub off: Money,
}

impl CouponStats {
    /// Served locally at the member's home store while cut off (the
    /// figure the campaign scenario targets), as (served, attempted).
    pub fn home_cut_local(&self) -> (u64, u64) {
        (self.local[2], self.attempted[2])
    }

    pub fn to_text(&self, o: &mut String, totals: Option<&tongka_core::state::LedgerTotals>) {
        let _ = writeln!(o, "coupons");
        let refused: Vec<String> = self
            .issue_refused
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            o,
            "  issued {} (campaigns {}, others {}); not issued: {}",
            self.issued,
            self.campaign_issued,
            self.issued - self.campaign_issued,
            if refused.is_empty() {
                "none".into()
            } else {
                refused.join(", ")
            }
        );
        let (a, m) = (
            self.attempted.iter().sum::<u64>(),
            self.made.iter().sum::<u64>(),
        );
        let declines: Vec<String> = self
            .declines
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            o,
            "  uses attempted {a}, made {m}, declined {}{}",
            self.declines.values().sum::<u64>(),
            if declines.is_empty() {
                String::new()
            } else {
                format!(" ({})", declines.join(", "))
            }
        );
        let _ = writeln!(
            o,
            "  took off {}; uses given back by refunds {}; use asks {}, uses transferred {}",
            self.off, self.returned, self.asks, self.transfers
        );
        let _ = writeln!(
            o,
            "  {:<20} {:>9} {:>9} {:>16}",
            "where", "attempted", "made", "served locally"
        );
        for (i, p) in PLACES.iter().enumerate() {
            let _ = writeln!(
                o,
                "  {:<20} {:>9} {:>9} {:>16}",
                p,
                self.attempted[i],
                self.made[i],
                format!(
                    "{} {}",
                    self.local[i],
                    pct(self.local[i], self.attempted[i])
                )
            );
        }
        let _ = writeln!(
            o,
            "  during partitions: {} of uses at the member's home store served locally, {} at other stores",
            pct(self.local[2], self.attempted[2]),
            pct(self.local[3], self.attempted[3])
        );
        if let Some(t) = totals {
            let _ = writeln!(
                o,
                "  ledger: uses issued {} − used {} + given back {} = outstanding {}; off {}",
                t.coupon_uses_issued,
                t.coupon_uses,
                t.coupon_uses_returned,
                t.coupon_uses_outstanding(),
                t.coupon_off
            );
        }
    }
}

/// Per coupon, the uses in the sales a node applied and the uses its
/// refunds gave back (kept as ops apply: `Materialised::coupon_books`).
pub(crate) type Books = BTreeMap<CouponId, (i64, i64)>;

/// The coupon checks over a node's state (module doc): the invariant
/// broken and what, or `None`. A coupon is counted by its code over every
/// member holding it: a merge moves the absorbed member's uses with the
/// coupon to the survivor (`MergeMoved`), so one coupon may sit on two
/// members, its uses split between them.
pub(crate) fn problem(st: &Materialised) -> Option<(&'static str, String)> {
    // Per coupon: its uses, the uses left on every member holding it, and
    // the first member holding it (for the message).
    let mut per: BTreeMap<&CouponId, (i64, i64, &MemberId)> = BTreeMap::new();
    let mut left = 0i64;
    for (_, m) in st.members.slots() {
        for c in &m.coupons {
            let id = c.id();
            if let Some((node, u)) = c.shares.iter().find(|(_, u)| *u < 0) {
                let d = format!("{}: {node}'s share of coupon {id} is {u}", m.id);
                return Some(("no_overdraft", d));
            }
            let uses = i64::from(c.coupon.template.uses);
            per.entry(id).or_insert((uses, 0, &m.id)).1 += c.left();
            left += c.left();
        }
    }
    for (id, (uses, held, member)) in per {
        let (used, back) = st.coupon_books.get(id).copied().unwrap_or_default();
        if used - back > uses {
            let d = format!(
                "coupon {id} of {member} used {used} times in sales, {back} given back, of {uses} uses"
            );
            return Some(("at_most_once", d));
        }
        if held != uses - used + back {
            let d = format!(
                "coupon {id} of {member}: shares hold {held} uses, but uses {uses} − used {used} + given back {back} = {}",
                uses - used + back
            );
            return Some(("no_overdraft", d));
        }
    }
    let ledger = st.totals.coupon_uses_outstanding();
    (left != ledger).then(|| {
        (
            "no_overdraft",
            format!("members' coupons hold {left} uses, the ledger says {ledger} outstanding"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::coupon::{Benefit, Coupon, CouponKind, Scope, Validity};
    use tongka_core::ids::{NodeId, OpId};
    use tongka_core::member::Profile;
    use tongka_core::op::{Op, OpBody, OpDraft};

    fn op(origin: &str, seq: u64, body: OpBody) -> Op {
        OpDraft {
            hlc: Hlc {
                ms: crate::sim::EPOCH_MS + seq,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body,
        }
        .stamp(
            OpId {
                origin: NodeId::new(origin).unwrap(),
                seq,
            },
            VersionVector::new(),
        )
    }

    fn template(uses: u32) -> CouponTemplate {
        CouponTemplate {
            id: "cash5".into(),
            name: "代金券".into(),
            kind: CouponKind::Cash,
            benefit: Benefit::AmountOff {
                off: Money::from_yuan(5),
            },
            validity: Validity::DaysFromIssue { days: 30 },
            scope: Scope::default(),
            uses,
            min_spend: Money::ZERO,
            per_member_limit: 0,
        }
    }

    /// A node state with one member holding one coupon of 2 uses at
    /// store-1.
    fn state() -> (Materialised, CouponId) {
        let s1 = NodeId::new("store-1").unwrap();
        let member = MemberId::mint(&s1, 1);
        let mut st = Materialised::default();
        let profile = Profile {
            phone: "13000000001".into(),
            name: "会员".into(),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let reg = OpBody::MemberRegistered {
            member: member.clone(),
            profile,
            opening: None,
        };
        st.apply(&op("store-1", 1, reg), None, false, false, false)
            .unwrap();
        let id = CouponId::mint(&s1, 2);
        let day = Day::of_ms(crate::sim::EPOCH_MS);
        let issued = OpBody::CouponIssued {
            member,
            coupon: Coupon::issue(id.clone(), &template(2), day),
            holder: s1,
        };
        st.apply(&op("store-1", 2, issued), None, false, false, false)
            .unwrap();
        (st, id)
    }

    #[test]
    fn a_sound_state_passes() {
        let (st, _) = state();
        assert_eq!(problem(&st), None);
        assert_eq!(st.totals.coupon_uses_outstanding(), 2);
    }

    #[test]
    fn more_uses_in_sales_than_the_coupon_has_is_at_most_once() {
        let (mut st, id) = state();
        st.coupon_books.insert(id, (3, 0));
        let (inv, what) = problem(&st).unwrap();
        assert_eq!(inv, "at_most_once", "{what}");
    }

    #[test]
    fn shares_not_adding_up_or_negative_is_no_overdraft() {
        let (mut st, id) = state();
        // One use made in a sale the shares never lost.
        st.coupon_books.insert(id.clone(), (1, 0));
        assert_eq!(problem(&st).unwrap().0, "no_overdraft");
        // A share below zero.
        let (mut st, _) = state();
        let i = st.members.slots().next().unwrap().0;
        let m = Arc::make_mut(st.members.at_mut(i).unwrap());
        let mut broken: Vec<(NodeId, i64)> = m.coupons[0].shares.iter().cloned().collect();
        broken.push((NodeId::new("store-9").unwrap(), -1));
        m.coupons[0].shares = tongka_core::shares::Shares::unchecked(broken);
        let (inv, what) = problem(&st).unwrap();
        assert_eq!(inv, "no_overdraft");
        assert!(what.contains("store-9"), "{what}");
    }

    #[test]
    fn places_are_home_and_cut_off() {
        assert_eq!(place(true, false), 0);
        assert_eq!(place(false, false), 1);
        assert_eq!(place(true, true), 2);
        assert_eq!(place(false, true), 3);
    }
}

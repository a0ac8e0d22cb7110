//! Coupons a member holds: issued once by an op that carries the template
//! as it was then (a template edited or removed later changes no coupon
//! already issued, at any store), and its uses, an escrowed counter split
//! into shares per node like a balance (`escrow::Counter::Coupon`).
//!
//! Where the uses start: the issuing op names the node that holds them
//! (`OpBody::CouponIssued::holder`). A store issues to itself; HQ, which
//! sells nothing, issues to the member's home store, where most members
//! shop, so a coupon authored at HQ is usable there even while that store
//! is cut off. A store short of a use asks the holders for one
//! (`escrow`); a use is made only from this store's own share, so a
//! coupon is never used more times than it has uses, whatever the network
//! does.

use serde::{Deserialize, Serialize};

use super::{CouponTemplate, TemplateError};
use crate::day::Day;
use crate::ids::{CouponId, NodeId};
use crate::shares::Shares;

/// The most coupons one member may hold (used and expired ones included:
/// they stay for the member's history).
pub const COUPONS_PER_MEMBER_MAX: usize = 500;

/// A coupon as issued: its code, the template it was issued from (a copy)
/// and the days it may be used, both included.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Coupon {
    #[n(0)]
    pub id: CouponId,
    #[n(1)]
    pub template: CouponTemplate,
    #[n(2)]
    pub from: Day,
    #[n(3)]
    pub to: Day,
}

impl Coupon {
    /// A coupon of `template` issued on `today`, with code `id`.
    pub fn issue(id: CouponId, template: &CouponTemplate, today: Day) -> Coupon {
        let (from, to) = template.window(today);
        Coupon {
            id,
            template: template.clone(),
            from,
            to,
        }
    }

    /// Checks a received coupon as a template is checked, and its window.
    pub fn check(&self) -> Result<(), TemplateError> {
        self.template.validate()?;
        if self.to < self.from {
            return Err(TemplateError::Validity);
        }
        Ok(())
    }
}

/// A coupon in a member's wallet: the coupon and its uses held per node.
/// The uses used (net of those a refund gave back) are the rest:
/// [`HeldCoupon::used`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCoupon {
    pub coupon: Coupon,
    /// Uses held per node.
    pub shares: Shares,
}

/// Where a coupon stands for the member's wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponStatus {
    /// Uses left, within its window.
    Usable,
    /// Uses left, before its window.
    NotYetValid,
    /// Every use used.
    Used,
    /// Past its window, uses left.
    Expired,
}

impl CouponStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CouponStatus::Usable => "usable",
            CouponStatus::NotYetValid => "not_yet_valid",
            CouponStatus::Used => "used",
            CouponStatus::Expired => "expired",
        }
    }
}

impl HeldCoupon {
    /// A coupon just issued, its uses all held by `holder`.
    pub fn issued(coupon: Coupon, holder: &NodeId) -> HeldCoupon {
        let uses = i64::from(coupon.template.uses);
        HeldCoupon {
            coupon,
            shares: Shares::of(holder, uses),
        }
    }

    /// A merged-away member's coupon arriving at its survivor, before the
    /// uses moved with it are credited.
    pub fn moved_in(coupon: Coupon) -> HeldCoupon {
        HeldCoupon {
            coupon,
            shares: Shares::default(),
        }
    }

    /// The uses used, net of those given back: the coupon's uses less
    /// those left. (At a merge's survivor, uses still to be moved from
    /// their holders count as used until they arrive.)
    pub fn used(&self) -> i64 {
        i64::from(self.coupon.template.uses) - self.left()
    }

    pub fn id(&self) -> &CouponId {
        &self.coupon.id
    }

    /// The uses `node` holds.
    pub fn held(&self, node: &NodeId) -> i64 {
        self.shares.held(node)
    }

    /// The uses left, wherever they are held.
    pub fn left(&self) -> i64 {
        self.shares.total()
    }

    /// The nodes holding uses, by node.
    pub fn holders(&self) -> impl Iterator<Item = &NodeId> {
        self.shares.holders()
    }

    pub fn status(&self, today: Day) -> CouponStatus {
        if self.left() <= 0 {
            CouponStatus::Used
        } else if today > self.coupon.to {
            CouponStatus::Expired
        } else if today < self.coupon.from {
            CouponStatus::NotYetValid
        } else {
            CouponStatus::Usable
        }
    }

    /// Add `uses` to `node`'s share.
    pub fn credit(&mut self, node: &NodeId, uses: i64) {
        self.shares.credit(node, uses);
    }

    /// Take `uses` from `node`'s share; refused (nothing changed) when it
    /// holds fewer.
    pub fn debit(&mut self, node: &NodeId, uses: i64) -> Result<(), UsesShort> {
        self.shares.debit(node, uses).map_err(|held| UsesShort {
            coupon: self.coupon.id.clone(),
            node: node.clone(),
            held,
            wanted: uses,
        })
    }
}

/// A debit of more uses than a node's share holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{node} holds {held} uses of coupon {coupon}, cannot take {wanted}")]
pub struct UsesShort {
    pub coupon: CouponId,
    pub node: NodeId,
    pub held: i64,
    pub wanted: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coupon::{Benefit, CouponKind, Scope, Validity};
    use crate::money::Money;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn coupon(uses: u32) -> Coupon {
        let t = CouponTemplate {
            id: "t".into(),
            name: "券".into(),
            kind: CouponKind::Cash,
            benefit: Benefit::AmountOff {
                off: Money::from_yuan(5),
            },
            validity: Validity::DaysFromIssue { days: 7 },
            scope: Scope::default(),
            uses,
            min_spend: Money::ZERO,
            per_member_limit: 0,
        };
        Coupon::issue(
            CouponId::mint(&n("a"), 1),
            &t,
            "2026-12-01".parse().unwrap(),
        )
    }

    #[test]
    fn issued_uses_sit_with_the_holder_and_the_window_is_the_templates() {
        let c = HeldCoupon::issued(coupon(3), &n("b"));
        assert_eq!((c.held(&n("b")), c.held(&n("a")), c.left()), (3, 0, 3));
        assert_eq!(c.coupon.to.to_string(), "2026-12-07");
        let day = |s: &str| s.parse::<Day>().unwrap();
        assert_eq!(c.status(day("2026-12-07")), CouponStatus::Usable);
        assert_eq!(c.status(day("2026-12-08")), CouponStatus::Expired);
        assert_eq!(c.status(day("2026-11-30")), CouponStatus::NotYetValid);
    }

    #[test]
    fn a_debit_beyond_the_share_changes_nothing() {
        let mut c = HeldCoupon::issued(coupon(1), &n("a"));
        let before = c.clone();
        assert!(c.debit(&n("b"), 1).is_err());
        assert!(c.debit(&n("a"), 2).is_err());
        assert!(c.debit(&n("a"), -1).is_err());
        assert_eq!(c, before);
        c.debit(&n("a"), 1).unwrap();
        assert_eq!(c.left(), 0);
        assert!(c.shares.is_empty());
        assert_eq!(c.status("2026-12-02".parse().unwrap()), CouponStatus::Used);
    }
}

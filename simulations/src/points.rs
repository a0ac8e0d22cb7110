//! Paying with points (积分抵现) in the simulator: the workload's
//! `redemptions` (the probability that a member checkout asks to pay part
//! with points) and what it needs: the chain's programme starts with the
//! points deduction rule on, the cashier asks for points the member has as
//! the store sees them, and the conservation of points is checked.

use std::sync::Arc;

use rust_decimal::Decimal;
use tongka_core::clock::Hlc;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use tongka_core::programme::{PointsDeduction, Programme};
use tongka_core::programme_doc;

use crate::node::Materialised;

/// The rule a scenario with redemptions starts with: 100 points = 1.00, at
/// most half the payable, no minimum.
pub(crate) fn rule() -> PointsDeduction {
    PointsDeduction {
        points_per_yuan: 100,
        cap: Decimal::new(5, 1),
        min_points: 0,
    }
}

/// The programme document every node starts from when the scenario has
/// redemptions (`points`) or coupon templates: the initial document with
/// the rule turned on and the templates added by the setup's own actor at
/// time 0 (equal bytes everywhere, as the initial document is), and the
/// programme it holds. HQ's later changes apply on top of it.
pub(crate) fn initial(
    points: bool,
    templates: &[tongka_core::coupon::CouponTemplate],
) -> (Vec<u8>, Arc<Programme>) {
    let mut doc = programme_doc::initial();
    let asked = Programme {
        points_deduction: points.then(rule),
        coupon_templates: templates.to_vec(),
        ..Programme::default()
    };
    let setup = NodeId::new("sim-setup").expect("a valid node name");
    programme_doc::change(&mut doc, &setup, Hlc { ms: 0, count: 0 }, &asked)
        .expect("the rule and templates are valid")
        .expect("the rule or templates change the default programme");
    (doc.save(), Arc::new(asked))
}

/// Start `st` with the programme of `initial` (the scenario has redemptions).
pub(crate) fn start(st: &mut Materialised, initial: &(Vec<u8>, Arc<Programme>)) {
    st.programme_doc = initial.0.clone();
    st.programme = initial.1.clone();
}

/// How many points the cashier asks for on a sale of `price`: what the
/// member has as this store sees them, at most 40% of the price in points
/// (the cap is half the payable, the payable at least 80% of the price).
pub(crate) fn ask(member_points: i64, price: Money, programme: &Programme) -> i64 {
    let Some(rule) = programme.points_deduction else {
        return 0;
    };
    let most = rule.max_points_within(Money::from_fen(price.fen() * 2 / 5));
    member_points.min(most).max(0)
}

/// Conservation of points at a node: the members' points add up to what
/// its ledger says (issued − reversed − redeemed + returned). `None` when
/// they do.
pub(crate) fn conservation_problem(st: &Materialised) -> Option<String> {
    let held: i64 = st
        .members
        .slots()
        .map(|(_, m)| m.wallet.total().points)
        .sum();
    let ledger = st.totals.points_outstanding();
    (held != ledger).then(|| {
        format!(
            "members hold {held} points, the ledger says {ledger} (issued {} − reversed {} − redeemed {} + returned {})",
            st.totals.points_issued,
            st.totals.points_reversed,
            st.totals.points_redeemed,
            st.totals.points_returned
        )
    })
}

/// A redemption applied twice would count its points twice: the points
/// used by the orders a node holds add up to the ledger's points redeemed.
pub(crate) fn once_problem(st: &Materialised) -> Option<String> {
    let used: i64 = st.orders.slots().map(|(_, o)| o.order().points_used).sum();
    (used != st.totals.points_redeemed).then(|| {
        format!(
            "orders used {used} points, the ledger counts {} redeemed",
            st.totals.points_redeemed
        )
    })
}

//! Coupons at the simulated nodes (see `crate::coupons`): issuing one (at
//! a store, or at HQ for the member's home store), campaigns, the coupon a
//! member presents at a checkout, what the report counts, and the coupon
//! checks of the full sweeps. The checkout itself is `requests.rs`'s (the
//! core's `checkout_with` with `Deductions`), its ask for a use the
//! machine's escrow (`escrow.rs`).

use rand::Rng;
use tongka_core::coupon::Coupon;
use tongka_core::day::Day;
use tongka_core::error::DomainError;
use tongka_core::ids::CouponId;
use tongka_core::op::OpBody;

use super::{EPOCH_MS, Sim};
use crate::coupons::{IssueAt, Known, place};

impl Sim<'_> {
    /// A coupon issue the workload drew for member `model`: at the store
    /// the member walks into, or at HQ.
    pub(super) fn coupon_issue(&mut self, model: usize) {
        let Some(c) = self.sc.coupons.as_ref() else {
            return;
        };
        if self.workload_over || self.models[model].id.is_none() {
            return;
        }
        let k = self.rng_work.random_range(0..c.templates.len());
        let template = c.templates[k].id.clone();
        let at = match c.issue_at {
            IssueAt::Hq => self.stores,
            IssueAt::Store => self.pick_store(model),
        };
        self.issue_coupon(at, model, &template, false);
    }

    /// Campaign `k`: one coupon of its template to every member, issued at
    /// HQ or at each member's home store.
    pub(super) fn campaign(&mut self, k: usize) {
        let Some(c) = self.sc.coupons.as_ref() else {
            return;
        };
        let template = c.campaigns[k].template.clone();
        for model in 0..self.models.len() {
            if self.models[model].id.is_none() {
                continue;
            }
            let at = match c.issue_at {
                IssueAt::Hq => self.stores,
                IssueAt::Store => self.models[model].home,
            };
            self.issue_coupon(at, model, &template, true);
        }
    }

    fn issue_refused(&mut self, why: &'static str) {
        if let Some(st) = self.report.coupons.as_mut() {
            *st.issue_refused.entry(why).or_default() += 1;
        }
    }

    /// Node `n` issues member `model` a coupon of `template` from the
    /// programme it holds, as the engine's `issue_coupon`: the core's
    /// `Coupon::issue`, its uses held here at a store, at the member's home
    /// store when HQ issues it (`coupon_holder`).
    fn issue_coupon(&mut self, n: usize, model: usize, template: &str, campaign: bool) {
        if !self.nodes[n].up {
            return self.issue_refused("store_down");
        }
        if self.nodes[n].disk_full {
            return self.issue_refused("storage_unavailable");
        }
        let Some(m) = self.target(model, n) else {
            return;
        };
        let st = &self.nodes[n].st;
        let Some(member) = st.members.get(&m) else {
            return self.issue_refused("member_not_found");
        };
        let Some(t) = st
            .programme
            .coupon_templates
            .iter()
            .find(|t| t.id == template)
            .cloned()
        else {
            return self.issue_refused("coupon_template_not_found");
        };
        // The core's rule: the template's per-member limit, and the bound
        // on a member's coupons (the apply refuses more).
        if let Err(e) = member.may_issue(&t) {
            return self.issue_refused(e.code());
        }
        let holder = if n == self.stores {
            member.home.clone()
        } else {
            self.names[n].clone()
        };
        let e = self.next_entity(n);
        let id = CouponId::mint(&self.names[n], e);
        let at = self.tick(n);
        let coupon = Coupon::issue(id.clone(), &t, Day::of_ms(at.ms));
        let known = Known {
            id,
            left: i64::from(t.uses),
            from: coupon.from,
            to: coupon.to,
        };
        let idem = self.idem();
        let by = if n == self.stores { "hq-admin" } else { "till" };
        let body = OpBody::CouponIssued {
            member: m,
            coupon,
            holder,
        };
        let rec = self.make(n, at, by, Some(idem), body);
        self.ack(n, &rec);
        self.models[model].coupons.push(known);
        if let Some(st) = self.report.coupons.as_mut() {
            st.issued += 1;
            st.campaign_issued += u64::from(campaign);
        }
    }

    /// The coupon member `model` presents at a checkout (drawn with
    /// probability `coupons.uses`): one of those they know usable today,
    /// picked at random; `None` without one.
    pub(super) fn present_coupon(&mut self, model: usize) -> Option<CouponId> {
        let ppm = self.sc.coupons.as_ref()?.uses.ppm();
        if !super::chance(&mut self.rng_work, ppm) {
            return None;
        }
        let today = Day::of_ms(EPOCH_MS + self.now);
        let usable: Vec<&Known> = self.models[model]
            .coupons
            .iter()
            .filter(|k| k.left > 0 && k.from <= today && today <= k.to)
            .collect();
        if usable.is_empty() {
            return None;
        }
        let k = self.rng_work.random_range(0..usable.len());
        Some(usable[k].id.clone())
    }

    /// A checkout presenting a coupon was asked for.
    pub(super) fn coupon_attempted(&mut self, home: bool, cut: bool) {
        if let Some(st) = self.report.coupons.as_mut() {
            st.attempted[place(home, cut)] += 1;
        }
    }

    /// A sale used `coupon`; `asked`: another store was asked for the use.
    pub(super) fn coupon_made(
        &mut self,
        model: usize,
        coupon: &CouponId,
        home: bool,
        cut: bool,
        asked: bool,
        off: tongka_core::money::Money,
    ) {
        if let Some(k) = self.models[model]
            .coupons
            .iter_mut()
            .find(|k| k.id == *coupon)
        {
            k.left -= 1;
        }
        if let Some(st) = self.report.coupons.as_mut() {
            let p = place(home, cut);
            st.made[p] += 1;
            st.local[p] += u64::from(!asked);
            st.off += off;
        }
    }

    /// A refund gave the uses of `coupons` back.
    pub(super) fn coupons_returned(&mut self, model: usize, coupons: &[CouponId]) {
        for id in coupons {
            if let Some(k) = self.models[model].coupons.iter_mut().find(|k| k.id == *id) {
                k.left += 1;
            }
            if let Some(st) = self.report.coupons.as_mut() {
                st.returned += 1;
            }
        }
    }

    /// A checkout presenting a coupon was declined with `reason`.
    pub(super) fn coupon_declined(&mut self, reason: &'static str) {
        if let Some(st) = self.report.coupons.as_mut() {
            *st.declines.entry(reason).or_default() += 1;
        }
    }

    /// The coupon checks over node `n`'s state (`coupons::problem`).
    pub(super) fn check_coupons(&mut self, n: usize) {
        if self.sc.coupons.is_none() {
            return;
        }
        if let Some((inv, d)) = crate::coupons::problem(&self.nodes[n].st) {
            self.violate(inv, Some(n), d);
        }
    }
}

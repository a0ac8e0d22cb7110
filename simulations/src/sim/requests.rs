//! Clients' requests at a store: register, recharge, checkout, refund and
//! profile edit, decided with the core's rules; idempotency, retries,
//! declines and the acknowledgement to the client.

use rand::Rng;
use rust_decimal::Decimal;
use tongka_core::DomainError;
use tongka_core::checkout::{
    self, Buyer, CheckoutContext, CheckoutError, Deductions, LineInput, TenderInput, TenderKind,
};
use tongka_core::coupon::{CouponError, HeldCoupon};
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{CardId, CouponId, MemberId, OrderId, RechargeId, RefundId};
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::money::Money;
use tongka_core::op::OpBody;
use tongka_core::refund::RefundLine;
use tongka_core::state;
use tongka_machine::idem::Verdict;

use super::{Ev, HOUR, Sim, between, chance};
use crate::Mutation;
use crate::node::{OpRec, Purpose};

/// A client's request, kept whole so a retry sends exactly the same one.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Register {
        model: usize,
        store: usize,
        idem: String,
        dup: bool,
    },
    Recharge {
        model: usize,
        store: usize,
        amount: Money,
        idem: String,
    },
    Checkout {
        model: usize,
        store: usize,
        price: Money,
        balance: bool,
        idem: String,
        /// The spend was made while the store was cut off by a partition.
        cut_off: bool,
        /// Escrow already asked: the next shortfall declines.
        second: bool,
        /// Points to pay with (`workload.redemptions`); 0 = none.
        points: i64,
        /// The coupon the member presents (`coupons.uses`).
        coupon: Option<CouponId>,
        /// Escrow already asked for the coupon's use: the next shortfall
        /// of it declines.
        coupon_asked: bool,
    },
    Refund {
        model: usize,
        store: usize,
        order: OrderId,
        partial: bool,
        idem: String,
    },
    Edit {
        model: usize,
        store: usize,
        patch: ProfilePatch,
    },
    /// A card sale (`cards.sales`): one card of `cards.plans[plan]`.
    CardSale {
        model: usize,
        store: usize,
        plan: usize,
        idem: String,
    },
    /// A visit on a card (`cards.visits`).
    Visit {
        model: usize,
        store: usize,
        card: CardId,
        service: Option<String>,
        idem: String,
        /// Made while the store was cut off by a partition.
        cut_off: bool,
        /// Escrow already asked for the visit: still short, declined.
        asked: bool,
    },
    /// A refund of a card sale's whole line (`cards.refunds`).
    CardRefund {
        model: usize,
        store: usize,
        order: OrderId,
        idem: String,
        /// The cards whose visits escrow already asked for.
        asked: Vec<CardId>,
    },
}

impl Request {
    fn store(&self) -> usize {
        match self {
            Request::Register { store, .. }
            | Request::Recharge { store, .. }
            | Request::Checkout { store, .. }
            | Request::Refund { store, .. }
            | Request::Edit { store, .. }
            | Request::CardSale { store, .. }
            | Request::Visit { store, .. }
            | Request::CardRefund { store, .. } => *store,
        }
    }
}

impl Sim<'_> {
    pub(super) fn decline(&mut self, r: &Request, reason: &'static str) {
        let s = r.store();
        if let Request::Checkout {
            coupon: Some(_), ..
        } = r
        {
            self.coupon_declined(reason);
        }
        if matches!(
            r,
            Request::CardSale { .. } | Request::Visit { .. } | Request::CardRefund { .. }
        ) {
            self.card_declined(r, reason);
        }
        if let Request::Checkout {
            model,
            price,
            balance: true,
            cut_off,
            ..
        } = r
        {
            self.models[*model].balance += *price;
            let home = self.models[*model].home == s;
            let st = &mut self.report.stores[s];
            st.spend_declined(home, *cut_off);
        }
        if s < self.report.stores.len() {
            *self.report.stores[s].declines.entry(reason).or_default() += 1;
        }
    }

    pub(super) fn request(&mut self, r: Request, retry: bool) {
        let s = r.store();
        if let Request::Checkout {
            model,
            balance: true,
            cut_off,
            second: false,
            ..
        } = &r
            && !retry
        {
            let home = self.models[*model].home == s;
            self.report.stores[s].spend_requested(home, *cut_off);
        }
        if let Request::Checkout {
            model,
            cut_off,
            second: false,
            coupon: Some(_),
            coupon_asked: false,
            ..
        } = &r
            && !retry
        {
            let home = self.models[*model].home == s;
            self.coupon_attempted(home, *cut_off);
        }
        if !retry {
            self.card_requested(&r);
        }
        if !self.nodes[s].up {
            return self.decline(&r, "store_down");
        }
        if self.nodes[s].disk_full {
            return self.decline(&r, "storage_unavailable");
        }
        // Idempotency: the same key answers with the first answer.
        let key = match &r {
            Request::Register { idem, .. }
            | Request::Recharge { idem, .. }
            | Request::Checkout { idem, .. }
            | Request::Refund { idem, .. }
            | Request::CardSale { idem, .. }
            | Request::Visit { idem, .. }
            | Request::CardRefund { idem, .. } => Some(idem.clone()),
            Request::Edit { .. } => None,
        };
        if let Some(k) = key
            .as_ref()
            .filter(|_| !self.mutant(s, Mutation::IgnoresIdempotency))
        {
            match self.nodes[s].idem.verdict(k, &()) {
                Verdict::Run => {}
                Verdict::Replay(()) => {
                    self.report.stores[s].replayed += 1;
                    return;
                }
                Verdict::Reused => return self.decline(&r, "idempotency_key_reused"),
            }
        }
        if retry {
            self.report.stores[s].retries_decided += 1;
        }
        match r {
            Request::Register { .. } => self.register(r),
            Request::Recharge { .. } => self.recharge(r),
            Request::Checkout { .. } => self.checkout(r),
            Request::Refund { .. } => self.refund(r),
            Request::Edit { .. } => self.edit(r),
            Request::CardSale { .. } => self.sell_card(r),
            Request::Visit { .. } => self.visit(r),
            Request::CardRefund { .. } => self.card_refund(r),
        }
    }

    pub(super) fn next_entity(&mut self, n: usize) -> u64 {
        self.nodes[n].entity += 1;
        self.nodes[n].entity
    }

    pub(super) fn maybe_retry(&mut self, r: &Request) {
        if chance(&mut self.rng_work, self.p_retry) {
            let t = self.now + between(&mut self.rng_work, 100, 5_000);
            self.at(t, Ev::Request(Box::new(r.clone()), true));
        }
    }

    fn register(&mut self, r: Request) {
        let Request::Register {
            model,
            store: s,
            ref idem,
            dup,
        } = r
        else {
            unreachable!()
        };
        let phone = self.models[model].phone.clone();
        if self.nodes[s]
            .st
            .phones
            .get(&phone)
            .is_some_and(|x| !x.is_empty())
        {
            return self.decline(&r, "phone_taken");
        }
        let e = self.next_entity(s);
        let member = MemberId::mint(&self.names[s], e);
        let profile = Profile {
            phone,
            name: format!("会员{model}"),
            birthday: None,
            gender: None,
            card_no: None,
            invited_by: None,
            tags: vec![],
            notes: String::new(),
        };
        let hlc = self.tick(s);
        let rec = self.make(
            s,
            hlc,
            "till",
            Some(idem.clone()),
            OpBody::MemberRegistered {
                member: member.clone(),
                profile,
                opening: None,
            },
        );
        self.ack(s, &rec);
        self.report.stores[s].registrations += 1;
        if dup {
            self.report.duplicate_registrations += 1;
            self.note_duplicate(model, s, member);
        } else {
            self.models[model].id = Some(member);
        }
        self.maybe_retry(&r);
    }

    /// Answer the client: at once when each op commits as it is made,
    /// else at the group commit (`AckBeforeDurable`: at once regardless).
    pub(super) fn ack(&mut self, n: usize, rec: &OpRec) {
        if self.group_commit == 0 || self.mutant(n, Mutation::AckBeforeDurable) {
            self.acked[n].push(rec.op.id.seq);
        } else {
            self.nodes[n].pending_acks.push(rec.op.id.seq);
        }
    }

    /// The member a client (`model`) is at store `s`: see `merges::target`.
    fn member_id(&self, model: usize, s: usize) -> Option<MemberId> {
        self.target(model, s)
    }

    fn recharge(&mut self, r: Request) {
        let Request::Recharge {
            model,
            store: s,
            amount,
            ref idem,
        } = r
        else {
            unreachable!()
        };
        let Some(m) = self.member_id(model, s) else {
            return;
        };
        if !self.nodes[s].st.members.contains_key(&m) {
            return self.decline(&r, "member_not_found");
        }
        let e = self.next_entity(s);
        let rid = RechargeId::mint(&self.names[s], e);
        // The programme this store holds now, as the node decides.
        let programme = self.nodes[s].st.programme.clone();
        let body = match state::decide_recharge(&programme, &m, rid, amount, TenderKind::Cash) {
            Ok(b) => b,
            Err(_) => return self.decline(&r, "invalid_amount"),
        };
        let OpBody::Recharged { bonus, .. } = &body else {
            unreachable!()
        };
        let add = amount + *bonus;
        let hlc = self.tick(s);
        let rec = self.make(s, hlc, "till", Some(idem.clone()), body);
        self.ack(s, &rec);
        self.models[model].balance += add;
        let st = &mut self.report.stores[s];
        st.recharges += 1;
        st.recharged += amount;
        self.maybe_retry(&r);
    }

    pub(super) fn checkout(&mut self, r: Request) {
        let Request::Checkout {
            model,
            store: s,
            price,
            balance,
            ref idem,
            second,
            points,
            ref coupon,
            coupon_asked,
            ..
        } = r
        else {
            unreachable!()
        };
        let Some(m) = self.member_id(model, s) else {
            return;
        };
        if self.nodes[s].disk_full {
            return self.decline(&r, "storage_unavailable");
        }
        let Some(member) = self.nodes[s].st.members.get(&m) else {
            return self.decline(&r, "member_not_found");
        };
        // The member's coupon as this store holds it (the engine looks it
        // up so: `coupon_not_found` when the store has not heard of it).
        if let Some(id) = coupon
            && let Err(e) = member.coupons_named(std::slice::from_ref(id))
        {
            return self.decline(&r, e.code());
        }
        let e = self.next_entity(s);
        let order_id = OrderId::mint(&self.names[s], e);
        let at = self.tick(s);
        let programme = self.nodes[s].st.programme.clone();
        let member = &self.nodes[s].st.members[&m];
        let level = programme.level_for(member.cumulative_principal);
        // Two of the same item: a partial refund takes one back.
        let half = Money::from_fen(price.fen() / 2);
        let (unit, qty) = if price.fen() % 2 == 0 && half.is_positive() {
            (half, Decimal::from(2))
        } else {
            (price, Decimal::ONE)
        };
        let lines = [LineInput {
            sku: None,
            barcode: None,
            description: "商品".into(),
            unit_price: unit,
            qty,
            card: None,
            pricing: Default::default(),
        }];
        let tenders = [TenderInput {
            kind: if balance {
                TenderKind::Balance
            } else {
                TenderKind::Cash
            },
            amount: None,
        }];
        let forced_wallet;
        let mutant = self.mutant(s, Mutation::SpendSkipsShareCheck);
        let points_mutant = points > 0 && self.mutant(s, Mutation::RedemptionSkipsPointsShare);
        let wallet = if mutant {
            // The bug: the store counts the member's whole balance as its own.
            let mut w = tongka_core::wallet::Wallet::default();
            w.credit(&self.names[s], member.wallet.total());
            forced_wallet = w;
            &forced_wallet
        } else if points_mutant {
            // The bug: the store counts the member's points everywhere as its own.
            let mut w = member.wallet.clone();
            let elsewhere =
                member.wallet.total().points - member.wallet.share(&self.names[s]).points;
            w.credit(
                &self.names[s],
                tongka_core::wallet::Share {
                    points: elsewhere,
                    ..Default::default()
                },
            );
            forced_wallet = w;
            &forced_wallet
        } else {
            &member.wallet
        };
        let forged_coupon;
        let presented: Vec<&HeldCoupon> = match coupon.as_ref().and_then(|id| member.coupon(id)) {
            Some(c)
                if c.held(&self.names[s]) == 0
                    && c.left() > 0
                    && self.mutant(s, Mutation::CouponSkipsShareCheck) =>
            {
                // The bug: the store uses the coupon as if it held a use.
                let mut forged = c.clone();
                forged.credit(&self.names[s], 1);
                forged_coupon = forged;
                vec![&forged_coupon]
            }
            Some(c) => vec![c],
            None => Vec::new(),
        };
        let ctx = CheckoutContext {
            programme: &programme,
            store: &self.names[s],
            order: order_id,
            at,
            buyer: Some(Buyer {
                member: &m,
                level,
                wallet,
            }),
        };
        let deductions = Deductions {
            points,
            coupons: &presented,
        };
        let result = checkout::checkout_with(&ctx, &lines, &tenders, &deductions);
        match result {
            Ok(order) => {
                if let Some(id) = coupon.as_ref().filter(|_| !order.coupons.is_empty()) {
                    let home = self.models[model].home == s;
                    let cut = matches!(r, Request::Checkout { cut_off: true, .. });
                    self.coupon_made(model, id, home, cut, coupon_asked, order.coupon_off);
                }
                let paid = order.balance_principal + order.balance_bonus;
                if order.points_used > 0 {
                    self.report.redemptions += 1;
                    self.report.points_redeemed += order.points_used;
                }
                let body = OpBody::sale(order.clone());
                let rec = self.make(s, at, "till", Some(idem.clone()), body);
                self.ack(s, &rec);
                if balance {
                    // The member was charged the payable, not the price.
                    self.models[model].balance += price - paid;
                    let home = self.models[model].home == s;
                    let cut_off = matches!(r, Request::Checkout { cut_off: true, .. });
                    let st = &mut self.report.stores[s];
                    st.spend_served(home, cut_off);
                    st.spent += paid;
                }
                self.report.stores[s].sales += 1;
                // A sale with a coupon is refunded with `coupons.refunds`.
                let p_refund = match &self.sc.coupons {
                    Some(c) if !order.coupons.is_empty() => c.refunds.ppm(),
                    _ => self.p_refund,
                };
                if chance(&mut self.rng_work, p_refund) {
                    let partial = qty > Decimal::ONE && self.rng_work.random_range(0..2u8) == 0;
                    let idem = self.idem();
                    let t = self.now + between(&mut self.rng_work, 60_000, 2 * HOUR);
                    let req = Request::Refund {
                        model,
                        store: s,
                        order: order.id.clone(),
                        partial,
                        idem,
                    };
                    self.at(t, Ev::Request(Box::new(req.clone()), false));
                    // Now and then the till sends the full refund twice
                    // under different keys: the second must be refused.
                    if !partial && self.rng_work.random_range(0..5u8) == 0 {
                        let idem = self.idem();
                        let req2 = Request::Refund {
                            model,
                            store: s,
                            order: order.id.clone(),
                            partial,
                            idem,
                        };
                        self.at(t + 5_000, Ev::Request(Box::new(req2), false));
                    }
                }
                self.maybe_retry(&r);
                if balance && self.sc.escrow.pull_ahead {
                    self.pull_ahead(s, &m);
                }
            }
            Err(CheckoutError::InsufficientBalance {
                wanted,
                available_here,
            }) if !second => {
                let then = Purpose::Checkout(Box::new(second_try(&r)), false);
                self.escrow_short(s, Want::money(m, wanted - available_here), then);
            }
            Err(CheckoutError::InsufficientBalance { .. }) => {
                self.decline(&r, "insufficient_balance")
            }
            Err(CheckoutError::InsufficientPoints {
                wanted,
                available_here,
            }) if !second => {
                let then = Purpose::Redeem(Box::new(second_try(&r)), false);
                self.escrow_short(s, Want::points(m, wanted - available_here), then);
            }
            Err(CheckoutError::InsufficientPoints { .. }) => self.decline_points(&r),
            // Short of the coupon's use here: ask its holders for one
            // (the engine's `shortfall`), once.
            Err(CheckoutError::Coupon(CouponError::UnavailableHere { .. })) if !coupon_asked => {
                let id = coupon.clone().expect("a coupon was presented");
                if let Some(st) = self.report.coupons.as_mut() {
                    st.asks += 1;
                }
                let want = Want {
                    counter: Counter::Coupon(m, id),
                    units: 1,
                };
                let then = Purpose::Coupon(Box::new(coupon_try(&r)), false);
                self.escrow_short(s, want, then);
            }
            Err(CheckoutError::Coupon(e)) => self.decline(&r, e.code()),
            Err(_) => self.decline(&r, "invalid_order"),
        }
    }

    fn refund(&mut self, r: Request) {
        let Request::Refund {
            store: s,
            ref order,
            partial,
            ref idem,
            model,
        } = r
        else {
            unreachable!()
        };
        let Some(o) = self.nodes[s].st.orders.get(order) else {
            return self.decline(&r, "order_not_found");
        };
        let points_here = o
            .order()
            .member
            .as_ref()
            .and_then(|m| self.nodes[s].st.members.get(m))
            .map_or(0, |m| m.wallet.share(&self.names[s]).points);
        let lines = partial.then(|| {
            vec![RefundLine {
                line: 0,
                qty: Decimal::ONE,
            }]
        });
        let rid = RefundId::mint(&self.names[s], self.nodes[s].entity + 1);
        self.nodes[s].entity += 1;
        let at = self.tick(s);
        let o = self.nodes[s].st.orders[order].state();
        match o.decide(
            rid,
            &self.names[s],
            at,
            lines.as_deref(),
            "退货",
            points_here,
        ) {
            Ok(refund) => {
                let back = refund.balance_principal + refund.balance_bonus;
                if !refund.coupons_returned.is_empty() {
                    self.coupons_returned(model, &refund.coupons_returned);
                }
                let rec = self.make(s, at, "till", Some(idem.clone()), OpBody::refund(refund));
                self.ack(s, &rec);
                self.models[model].balance += back;
                self.report.stores[s].refunds += 1;
                self.maybe_retry(&r);
            }
            Err(e) => {
                let code = tongka_core::DomainError::code(&e);
                self.decline(&r, code)
            }
        }
    }

    fn edit(&mut self, r: Request) {
        let Request::Edit {
            model,
            store: s,
            ref patch,
        } = r
        else {
            unreachable!()
        };
        let Some(m) = self.member_id(model, s) else {
            return;
        };
        let Some(member) = self.nodes[s].st.members.get(&m) else {
            return self.decline(&r, "member_not_found");
        };
        match state::validate_patch(&member.profile, patch) {
            Err(_) => self.decline(&r, "invalid_profile"),
            Ok(next) if next == member.profile => {}
            Ok(_) => {
                let hlc = self.tick(s);
                let Some(Ok(Some(body))) =
                    self.nodes[s].st.members.get(&m).map(|member| {
                        member.decide_profile_update(&self.names[s], hlc, patch.clone())
                    })
                else {
                    return;
                };
                let rec = self.make(s, hlc, "till", None, body);
                self.ack(s, &rec);
                self.report.stores[s].profile_edits += 1;
            }
        }
    }
}

/// A checkout request marked as the try after an escrow ask for its
/// coupon's use (declined if still short of it).
fn coupon_try(r: &Request) -> Request {
    let mut r2 = r.clone();
    if let Request::Checkout { coupon_asked, .. } = &mut r2 {
        *coupon_asked = true;
    }
    r2
}

/// A checkout request marked as the try after escrow asks (declined if
/// still short).
fn second_try(r: &Request) -> Request {
    let mut r2 = r.clone();
    if let Request::Checkout { second, .. } = &mut r2 {
        *second = true;
    }
    r2
}

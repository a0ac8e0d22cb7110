//! Cards at the simulated nodes (see `crate::cards`): selling one (a
//! checkout line of a card product at the member's home store), a visit on
//! one (核销, at the selling store or away), a refund of a card sale, what
//! the report counts, and the card checks of the full sweeps. Every
//! decision is the core's (`checkout_with`, `mint_cards`, `decide_visit`,
//! `decide_with_cards`); an ask for visits is the machine's escrow
//! (`escrow.rs`), for `Counter::Card`, as the engine's `visit_card` and
//! refund ask.

use std::collections::BTreeMap;

use rand::Rng;
use rust_decimal::Decimal;
use tongka_core::card::{self, CardError, HeldCard};
use tongka_core::checkout::{
    self, Buyer, CheckoutContext, Deductions, LineInput, TenderInput, TenderKind,
};
use tongka_core::day::Day;
use tongka_core::error::DomainError;
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{CardId, OrderId, RefundId};
use tongka_core::op::OpBody;
use tongka_core::refund::RefundError;

use super::{Ev, HOUR, Request, Sim, between, chance};
use crate::Mutation;
use crate::cards::{Known, by_the_card};
use crate::coupons::place;
use crate::node::Purpose;

/// The cards the members know they hold (by member model), and the models
/// holding any, in the order they got their first.
#[derive(Debug, Default)]
pub(super) struct CardWork {
    known: BTreeMap<usize, Vec<Known>>,
    holders: Vec<usize>,
}

impl Sim<'_> {
    /// The hour's card sales (per member-day) and visits (per card-holding
    /// member-day): drawn only when the scenario has cards.
    pub(super) fn schedule_cards(&mut self, start: u64, span: u64, frac: Decimal) {
        let Some(c) = self.sc.cards.as_ref() else {
            return;
        };
        let members = Decimal::from(self.models.len() as u64);
        let n = super::workload::count(&mut self.rng_work, c.sales.0 * members * frac);
        for _ in 0..n {
            let t = start + self.rng_work.random_range(0..span);
            let m = self.rng_work.random_range(0..self.models.len().max(1));
            self.at(t, Ev::CardSale(m));
        }
        let holders = Decimal::from(self.card.holders.len() as u64);
        let n = super::workload::count(&mut self.rng_work, c.visits.0 * holders * frac);
        for _ in 0..n {
            let t = start + self.rng_work.random_range(0..span);
            let h = self.rng_work.random_range(0..self.card.holders.len());
            self.at(t, Ev::CardVisit(self.card.holders[h]));
        }
    }

    /// Member `model` buys a card at their home store.
    pub(super) fn card_sale_event(&mut self, model: usize) {
        let Some(c) = self.sc.cards.as_ref() else {
            return;
        };
        if self.workload_over || self.models[model].id.is_none() {
            return;
        }
        let plan = self.rng_work.random_range(0..c.plans.len());
        let store = self.models[model].home;
        let idem = self.idem();
        let r = Request::CardSale {
            model,
            store,
            plan,
            idem,
        };
        self.request(r, false);
    }

    /// Member `model` comes for a visit on one of the cards they hold (not
    /// refunded, picked at random): at the store that sold it, or with
    /// probability `cards.away` at another.
    pub(super) fn card_visit_event(&mut self, model: usize) {
        let Some(c) = self.sc.cards.as_ref() else {
            return;
        };
        if self.workload_over {
            return;
        }
        let Some(cards) = self.card.known.get(&model) else {
            return;
        };
        let usable: Vec<&Known> = cards.iter().filter(|k| !k.refunded).collect();
        if usable.is_empty() {
            return;
        }
        let k = usable[self.rng_work.random_range(0..usable.len())].clone();
        let mut store = k.store;
        if self.stores > 1 && chance(&mut self.rng_work, c.away.ppm()) {
            let o = self.rng_work.random_range(0..self.stores - 1);
            store = if o >= k.store { o + 1 } else { o };
        }
        let services = &c.plans[k.plan].plan.services;
        let service = (!services.is_empty())
            .then(|| services[self.rng_work.random_range(0..services.len())].clone());
        let idem = self.idem();
        let cut_off = self.cut_off[store];
        let r = Request::Visit {
            model,
            store,
            card: k.id,
            service,
            idem,
            cut_off,
            asked: false,
        };
        self.request(r, false);
    }

    /// A card request tried again after an escrow ask.
    pub(super) fn card_retry(&mut self, r: Request) {
        match r {
            Request::Visit { .. } => self.visit(r),
            Request::CardRefund { .. } => self.card_refund(r),
            _ => unreachable!("only visits and card refunds ask for visits"),
        }
    }

    /// A card request was asked for (not a retry): counted.
    pub(super) fn card_requested(&mut self, r: &Request) {
        let Some(st) = self.report.cards.as_mut() else {
            return;
        };
        match r {
            Request::Visit {
                model,
                store,
                cut_off,
                asked: false,
                ..
            } => st.attempted[place(self.models[*model].home == *store, *cut_off)] += 1,
            Request::CardRefund { asked, .. } if asked.is_empty() => st.refunds_asked += 1,
            _ => {}
        }
    }

    /// A card request was declined with `reason`.
    pub(super) fn card_declined(&mut self, r: &Request, reason: &'static str) {
        let Some(st) = self.report.cards.as_mut() else {
            return;
        };
        match r {
            Request::CardSale { .. } => *st.sale_declined.entry(reason).or_default() += 1,
            Request::Visit {
                model,
                store,
                cut_off,
                ..
            } => {
                *st.declines.entry(reason).or_default() += 1;
                let p = place(self.models[*model].home == *store, *cut_off);
                st.ruled[p] += u64::from(by_the_card(reason));
            }
            Request::CardRefund { .. } => *st.refund_declines.entry(reason).or_default() += 1,
            _ => {}
        }
    }

    /// A card sale at the member's home store: one card of the plan, paid
    /// in cash, decided by the core's `checkout_with` (the line carries
    /// the plan, `LineInput::card`), its code minted here
    /// (`mint_cards`, the node's entity counter, as the engine).
    pub(super) fn sell_card(&mut self, r: Request) {
        let Request::CardSale {
            model,
            store: s,
            plan,
            ref idem,
        } = r
        else {
            unreachable!()
        };
        let sc = self.sc;
        let Some(product) = sc.cards.as_ref().map(|c| &c.plans[plan]) else {
            return;
        };
        let Some(m) = self.target(model, s) else {
            return;
        };
        if !self.nodes[s].st.members.contains_key(&m) {
            return self.decline(&r, "member_not_found");
        }
        let e = self.next_entity(s);
        let order_id = OrderId::mint(&self.names[s], e);
        let at = self.tick(s);
        let programme = self.nodes[s].st.programme.clone();
        let member = &self.nodes[s].st.members[&m];
        let lines = [LineInput {
            sku: Some(product.sku.clone()),
            barcode: None,
            description: product.name.clone(),
            unit_price: product.price,
            qty: Decimal::ONE,
            card: Some(product.plan.clone()),
            pricing: Default::default(),
        }];
        let tenders = [TenderInput {
            kind: TenderKind::Cash,
            amount: None,
        }];
        let ctx = CheckoutContext {
            programme: &programme,
            store: &self.names[s],
            order: order_id,
            at,
            buyer: Some(Buyer {
                member: &m,
                level: programme.level_for(member.cumulative_principal),
                wallet: &member.wallet,
            }),
        };
        let none = Deductions {
            points: 0,
            coupons: &[],
        };
        let mut order = match checkout::checkout_with(&ctx, &lines, &tenders, &none) {
            Ok(o) => o,
            Err(e) => return self.decline(&r, e.code()),
        };
        let name = self.names[s].clone();
        let node = &mut self.nodes[s];
        checkout::mint_cards(&mut order, || {
            node.entity += 1;
            CardId::mint(&name, node.entity)
        });
        let cards: Vec<CardId> = order
            .lines
            .iter()
            .filter_map(|l| l.card.as_ref())
            .flat_map(|c| c.cards.iter().cloned())
            .collect();
        let order_id = order.id.clone();
        let rec = self.make(s, at, "till", Some(idem.clone()), OpBody::sale(order));
        self.ack(s, &rec);
        self.report.stores[s].sales += 1;
        let is_count = matches!(product.plan.kind, card::CardKind::Count { .. });
        if let Some(st) = self.report.cards.as_mut() {
            let n = cards.len() as u64;
            if is_count {
                st.sold_count += n;
            } else {
                st.sold_period += n;
            }
        }
        let known = self.card.known.entry(model).or_default();
        if known.is_empty() {
            self.card.holders.push(model);
        }
        known.extend(cards.into_iter().map(|id| Known {
            id,
            store: s,
            plan,
            refunded: false,
        }));
        let p_refund = sc.cards.as_ref().map_or(0, |c| c.refunds.ppm());
        if chance(&mut self.rng_work, p_refund) {
            let idem = self.idem();
            let t = self.now + between(&mut self.rng_work, HOUR, 4 * HOUR);
            let req = Request::CardRefund {
                model,
                store: s,
                order: order_id,
                idem,
                asked: Vec::new(),
            };
            self.at(t, Ev::Request(Box::new(req), false));
        }
        self.maybe_retry(&r);
    }

    /// A visit on a card, decided by the core's `card::decide_visit` over
    /// the card as this store holds it. A count card short here asks the
    /// holders for the shortfall (the engine's `visit_card`), then decides
    /// again once; still short, `card_held_elsewhere`.
    pub(super) fn visit(&mut self, r: Request) {
        let Request::Visit {
            model,
            store: s,
            ref card,
            ref service,
            ref idem,
            asked,
            ..
        } = r
        else {
            unreachable!()
        };
        const COUNT: u32 = 1;
        let Some(m) = self.target(model, s) else {
            return;
        };
        let Some(member) = self.nodes[s].st.members.get(&m) else {
            return self.decline(&r, "member_not_found");
        };
        let Some(held) = member.card(card) else {
            return self.decline(&r, "card_not_found");
        };
        if held.refunded {
            return self.decline(&r, "card_refunded");
        }
        let at = self.tick(s);
        let today = Day::of_ms(at.ms);
        let held = self.nodes[s].st.members[&m].card(card).expect("looked up");
        let mut held_here = held.held(&self.names[s]);
        if held.card.is_count()
            && held_here == 0
            && held.left() >= i64::from(COUNT)
            && self.mutant(s, Mutation::CardSkipsShareCheck)
        {
            // The bug: the store verifies the visit as if it held one.
            held_here = i64::from(COUNT);
        }
        let decided = card::decide_visit(
            &held.card,
            service.as_deref(),
            today,
            held_here,
            held.left(),
            held.visits_on(today),
            COUNT,
        );
        let is_count = held.card.is_count();
        match decided {
            Ok(()) => {
                let body = OpBody::CardVisited {
                    member: m,
                    card: card.clone(),
                    count: COUNT,
                    service: service.clone(),
                    day: today,
                };
                let rec = self.make(s, at, "till", Some(idem.clone()), body);
                self.ack(s, &rec);
                let home = self.models[model].home == s;
                let cut = matches!(r, Request::Visit { cut_off: true, .. });
                if let Some(st) = self.report.cards.as_mut() {
                    let p = place(home, cut);
                    st.made[p] += 1;
                    st.local[p] += u64::from(!asked);
                    if is_count {
                        st.made_count += 1;
                    } else {
                        st.made_period += 1;
                    }
                }
                self.maybe_retry(&r);
            }
            Err(e @ CardError::UsedUp { left_here, .. }) if e.is_short_here() => {
                if asked {
                    return self.decline(&r, "card_held_elsewhere");
                }
                if let Some(st) = self.report.cards.as_mut() {
                    st.visit_asks += 1;
                }
                let want = Want {
                    counter: Counter::Card(m, card.clone()),
                    units: i64::from(COUNT) - left_here,
                };
                let mut again = r.clone();
                if let Request::Visit { asked, .. } = &mut again {
                    *asked = true;
                }
                self.escrow_short(s, want, Purpose::Card(Box::new(again), false));
            }
            Err(e) => self.decline(&r, e.code()),
        }
    }

    /// A refund of a card sale's whole line at the store that sold it, by
    /// the core's `OrderState::decide_with_cards` over the member's cards
    /// as this store holds them. A card whose visits are held elsewhere
    /// (`card_held_elsewhere`) has them asked for (all of them come here),
    /// then the refund is decided again; once a card (the engine's rule).
    pub(super) fn card_refund(&mut self, r: Request) {
        let Request::CardRefund {
            model,
            store: s,
            ref order,
            ref idem,
            ref asked,
        } = r
        else {
            unreachable!()
        };
        let Some(o) = self.nodes[s].st.orders.get(order) else {
            return self.decline(&r, "order_not_found");
        };
        let state = o.state().into_owned();
        let member = state
            .order
            .member
            .as_ref()
            .and_then(|m| self.nodes[s].st.members.get(m));
        let here = self.names[s].clone();
        let points_here = member.map_or(0, |m| m.wallet.share(&here).points);
        let cards: Vec<HeldCard> = member.map(|m| m.cards.clone()).unwrap_or_default();
        let e = self.next_entity(s);
        let rid = RefundId::mint(&here, e);
        let at = self.tick(s);
        match state.decide_with_cards(rid, &here, at, None, "退卡", points_here, &cards) {
            Ok(refund) => {
                let back = refund.balance_principal + refund.balance_bonus;
                let taken = refund.cards_refunded.clone();
                let rec = self.make(s, at, "till", Some(idem.clone()), OpBody::refund(refund));
                self.ack(s, &rec);
                self.models[model].balance += back;
                self.report.stores[s].refunds += 1;
                if let Some(known) = self.card.known.get_mut(&model) {
                    for k in known.iter_mut().filter(|k| taken.contains(&k.id)) {
                        k.refunded = true;
                    }
                }
                if let Some(st) = self.report.cards.as_mut() {
                    st.refunds += 1;
                    st.refunds_after_ask += u64::from(!asked.is_empty());
                    st.cards_back += taken.len() as u64;
                }
                self.maybe_retry(&r);
            }
            Err(RefundError::Card(CardError::HeldElsewhere { card, .. })) => {
                let id = CardId::parse(&card).filter(|id| !asked.contains(id));
                let held = id
                    .as_ref()
                    .and_then(|id| cards.iter().find(|c| c.id() == id));
                let (Some(id), Some(held), Some(m)) = (id.clone(), held, state.order.member) else {
                    return self.decline(&r, "card_held_elsewhere");
                };
                let want = Want {
                    counter: Counter::Card(m, id.clone()),
                    units: held.left() - held.held(&here),
                };
                if let Some(st) = self.report.cards.as_mut() {
                    st.refund_asks += 1;
                }
                let mut again = r.clone();
                if let Request::CardRefund { asked, .. } = &mut again {
                    asked.push(id);
                }
                self.escrow_short(s, want, Purpose::Card(Box::new(again), false));
            }
            Err(e) => self.decline(&r, e.code()),
        }
    }

    /// An escrow transfer of a card's visits was given (`moved` visits).
    pub(super) fn card_transfer(&mut self, moved: u64) {
        if let Some(st) = self.report.cards.as_mut() {
            st.transfers += 1;
            st.moved += moved;
        }
    }

    /// The card checks over node `n`'s state (`cards::problem`).
    pub(super) fn check_cards(&mut self, n: usize) {
        if self.sc.cards.is_none() {
            return;
        }
        if let Some((inv, d)) = crate::cards::problem(&self.nodes[n].st, &self.names[n]) {
            self.violate(inv, Some(n), d);
        }
    }
}

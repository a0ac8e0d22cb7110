//! Escrow in the simulator: each node's conversations are the node
//! machine's (`tongka_machine::escrow`, the engine's too); the simulator
//! only carries its asks over the simulated network, fires its timers on
//! the simulated clock, and runs what it decides (a spend tried again or
//! declined). A peer's ask is answered by `escrow::answer`, as the engine's
//! account actor does.
//!
//! Checker `no_futile_transfer`: a spend short here whose member state
//! already shows that the reachable stores hold too little to cover it
//! must move nothing. The simulator works that out itself when the spend
//! is short (`known_short`, from the asker's state and the links up then)
//! and marks the spend; a transfer given to such a spend breaks the
//! invariant. The report counts transfers per served spend.

use std::sync::Arc;

use tongka_core::escrow::{Counter, Units, Want};
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::money::Money;
use tongka_core::op::OpBody;
use tongka_machine::escrow::{self as machine, Effect, Escrow, Event, View};
use tongka_sync::Msg;

use super::{Ev, Request, Sim, Wire};
use crate::Mutation;
use crate::node::{Purpose, Rec};
use crate::scenario::Scenario;

/// A node's world as its escrow machine reads it.
struct SimView<'s, 'a> {
    sim: &'s Sim<'a>,
    node: usize,
}

impl View for SimView<'_, '_> {
    fn reachable(&self, peer: &NodeId) -> bool {
        self.sim.connected(self.node, self.sim.ix(peer))
    }
    fn holds(&self, id: &OpId) -> bool {
        self.sim.nodes[self.node].held[self.sim.ix(&id.origin)] >= id.seq
    }
}

/// Node `n`'s escrow machine settings: the scenario's ask timeout; the
/// futile policy at store-1 under `Mutation::FutileTransfers`.
pub(super) fn escrow_config(sc: &Scenario, mutation: Mutation, n: usize) -> machine::Config {
    machine::Config {
        ask_timeout: sc.escrow.ask_timeout.ms(),
        futile_asks: mutation == Mutation::FutileTransfers && n == 0,
    }
}

impl Sim<'_> {
    /// Node `s`'s escrow machine, taken out while it decides (its view
    /// borrows the rest of the simulation); put back before its effects
    /// run, which may hand it further events.
    fn take_escrow(&mut self, s: usize) -> Escrow<Purpose> {
        let config = self.nodes[s].escrow.config();
        std::mem::replace(&mut self.nodes[s].escrow, Escrow::new(config))
    }

    /// Hand `event` to node `s`'s escrow machine and run what it decides.
    fn escrow_event(&mut self, s: usize, event: Event<'_, Purpose>) {
        let mut e = self.take_escrow(s);
        let mut out = Vec::new();
        e.handle(
            event,
            &self.names[s],
            self.now,
            &SimView { sim: self, node: s },
            &mut out,
        );
        self.nodes[s].escrow = e;
        self.run_escrow(s, out);
    }

    /// A spend at `s` is short of `short`; `then` is the request to try
    /// again (or decline).
    pub(super) fn escrow_short(&mut self, s: usize, short: Want, then: Purpose) {
        let mut e = self.take_escrow(s);
        let mut out = Vec::new();
        let then = match then {
            Purpose::Checkout(r, _) => Purpose::Checkout(r, self.known_short(s, &short)),
            Purpose::Redeem(r, _) => Purpose::Redeem(r, self.known_short(s, &short)),
            Purpose::Coupon(r, _) => Purpose::Coupon(r, self.known_short(s, &short)),
            Purpose::Card(r, _) => Purpose::Card(r, self.known_short(s, &short)),
            p => p,
        };
        let member = &self.nodes[s].st.members[short.counter.member()];
        let ev = Event::Short {
            member,
            want: short,
            peers: &self.names,
            then,
        };
        e.handle(
            ev,
            &self.names[s],
            self.now,
            &SimView { sim: self, node: s },
            &mut out,
        );
        self.nodes[s].escrow = e;
        self.run_escrow(s, out);
    }

    /// After a balance sale at `s`: pull the rest of `m`'s balance there
    /// if `s` is the member's home.
    pub(super) fn pull_ahead(&mut self, s: usize, m: &MemberId) {
        if !self.nodes[s].st.members.contains_key(m) {
            return;
        }
        let mut e = self.take_escrow(s);
        let mut out = Vec::new();
        let member = &self.nodes[s].st.members[m];
        let ev = Event::Pull {
            member,
            counter: Counter::Balance(m.clone()),
            then: Purpose::PullAhead,
        };
        e.handle(
            ev,
            &self.names[s],
            self.now,
            &SimView { sim: self, node: s },
            &mut out,
        );
        self.nodes[s].escrow = e;
        if !out.is_empty() {
            self.report.stores[s].pulls += 1;
        }
        self.run_escrow(s, out);
    }

    fn run_escrow(&mut self, s: usize, out: Vec<Effect<Purpose>>) {
        for f in out {
            match f {
                Effect::Ask { req, to, want } => {
                    if s < self.stores {
                        self.report.stores[s].asks += 1;
                    }
                    let to = self.ix(&to);
                    self.send(s, to, Wire::Ctl(Arc::new(Msg::Ask { req, want })));
                }
                Effect::Timer { req, at } => {
                    let life = self.nodes[s].life;
                    self.at(at, Ev::AskTimeout(s, life, req));
                }
                Effect::Decline { then } => match then {
                    Purpose::Checkout(r, _) => self.decline(&r, "insufficient_balance"),
                    Purpose::Redeem(r, _) => self.decline_points(&r),
                    Purpose::Coupon(r, _) => self.decline(&r, "coupon_unavailable_here"),
                    Purpose::Card(r, _) => self.decline(&r, "card_held_elsewhere"),
                    Purpose::PullAhead => {}
                },
                // One more try with what was given (declined when still
                // short).
                Effect::Retry { then, timed_out } => match then {
                    Purpose::Redeem(r, _) | Purpose::Coupon(r, _) => self.checkout(*r),
                    Purpose::Card(r, _) => self.card_retry(*r),
                    Purpose::Checkout(r, _) => {
                        let declined = |sim: &Self| {
                            sim.report.stores[s]
                                .declines
                                .get("insufficient_balance")
                                .copied()
                        };
                        let before = declined(self);
                        self.checkout(*r);
                        if before != declined(self) && timed_out {
                            self.report.stores[s].declined_after_timeout += 1;
                        }
                    }
                    Purpose::PullAhead => {}
                },
                Effect::Pulled { .. } => {}
            }
        }
    }

    /// A checkout paying with points declined: short of points here and at
    /// the stores asked.
    pub(super) fn decline_points(&mut self, r: &Request) {
        self.report.redemptions_declined += 1;
        self.decline(r, "insufficient_points");
    }

    pub(super) fn ask_timeout(&mut self, s: usize, req: u64) {
        if !self.nodes[s].escrow.asking(req) {
            return;
        }
        self.report.ask_timeouts += 1;
        self.escrow_event(s, Event::Timeout { req });
    }

    /// A peer `to` asks `s` for shares of a counter.
    pub(super) fn give(&mut self, s: usize, to: usize, req: u64, want: Want) {
        let mut ops = Vec::new();
        let member = want.counter.member();
        let body = if self.nodes[s].disk_full {
            None
        } else {
            let m = self.nodes[s].st.members.get(member).map(|m| &**m);
            machine::answer(m, &self.names[s], &self.names[to], &want)
        };
        if let Some(body) = body {
            let moved = match &body {
                OpBody::SharesTransferred {
                    principal, bonus, ..
                } => *principal + *bonus,
                _ => Money::ZERO,
            };
            let card_visits = match &body {
                OpBody::UsesTransferred {
                    of: tongka_core::op::UsesOf::Card(_),
                    uses,
                    ..
                } => Some(u64::from(*uses)),
                _ => None,
            };
            // The checker: the asker's spend was known to be short.
            if matches!(
                self.nodes[to].escrow.then_of(req),
                Some(
                    Purpose::Checkout(_, true)
                        | Purpose::Redeem(_, true)
                        | Purpose::Coupon(_, true)
                        | Purpose::Card(_, true)
                )
            ) {
                self.report.futile_transfers += 1;
                self.violate(
                    "no_futile_transfer",
                    Some(to),
                    format!(
                        "{} gave {want} to {} for a spend its stores in reach could not cover",
                        self.names[s], self.names[to]
                    ),
                );
            }
            let hlc = self.tick(s);
            let rec = self.make(s, hlc, "escrow", None, body);
            ops.push(Rec(rec));
            self.report.transfers += 1;
            if matches!(want.counter, Counter::Points(_)) {
                self.report.points_transfers += 1;
            }
            if matches!(want.counter, Counter::Coupon(..))
                && let Some(st) = self.report.coupons.as_mut()
            {
                st.transfers += 1;
            }
            if let Some(visits) = card_visits {
                self.card_transfer(visits);
            }
            self.report.transferred += moved;
            if s < self.stores {
                self.report.stores[s].given += 1;
                self.report.stores[s].given_amount += moved;
            }
            if to < self.stores {
                self.report.stores[to].received += 1;
                self.report.stores[to].received_amount += moved;
            }
        }
        if self.group_commit == 0 || ops.is_empty() {
            self.send(s, to, Wire::Gave(req, ops));
        } else {
            // The transfer is given once durable here.
            self.nodes[s].pending_gaves.push((to, req, ops));
        }
    }

    /// `s`'s ask `req` was answered with transfer ops `ids`.
    pub(super) fn gave(&mut self, s: usize, req: u64, ids: Vec<OpId>) {
        self.escrow_event(s, Event::Gave { req, ids });
    }

    /// After ops were applied at `s`: the asks whose given ops are held
    /// now go on.
    pub(super) fn check_waits(&mut self, s: usize) {
        let ready = self.nodes[s].escrow.ready(&SimView { sim: self, node: s });
        for req in ready {
            self.escrow_event(s, Event::Held { req });
        }
    }

    /// The checker's own judgement, from `s`'s member state and the links
    /// up now: some other store is known to hold a share of the counter
    /// short, and the stores in reach hold less than the shortfall in all.
    fn known_short(&self, s: usize, short: &Want) -> bool {
        let Some(member) = self.nodes[s].st.members.get(short.counter.member()) else {
            return false;
        };
        let (mut known, mut reach): (bool, Units) = (false, 0);
        for (node, held) in short.counter.shares(member) {
            let p = self.ix(node);
            if p == s {
                continue;
            }
            known |= held > 0;
            if self.connected(s, p) {
                reach += held;
            }
        }
        known && reach < short.units
    }
}

//! Escrow orchestration: a store short of an escrowed counter (a member's
//! balance or points; a coupon's uses or a card's visits next) asks the
//! stores holding the rest for shares, one after another, then tries the
//! spend once more; a store asked gives what it holds, up to what was
//! asked. Every counter goes through this one conversation, in whole units
//! (`tongka_core::escrow::{Counter, Want}`). The pure rules (who holds
//! what, how a transfer splits principal and bonus) are
//! `tongka_core::escrow` and `tongka_core::state`; this module decides the
//! conversation. The node (`tongka-actors` over
//! `tongka-replication`'s QUIC messages) and the simulator drive it alike.
//!
//! Events ([`Event`]): a spend is short here (`Short`), a sale at the
//! member's home store pulls the rest ahead (`Pull`), a peer answered an ask
//! with transfer ops (`Gave`), those ops are now held here (`Held`, after
//! [`Escrow::ready`]), an ask's timer fired (`Timeout`). Effects
//! ([`Effect`]): send an ask, set its timer, try the spend again, decline
//! it, or a pull-ahead is over. A peer's ask is answered by [`answer`].
//!
//! # No futile transfers
//!
//! A spend short here is declined at once, without asking anyone, when the
//! member state replicated here already shows that the stores that can be
//! reached hold too little to cover the shortfall. The state here knows
//! every store's share as of the last op received from it, and a share only
//! moves by a transfer op its holder signs, so a known holder never holds
//! more than it is known to hold, except by a recharge or refund there that
//! has not arrived yet. A share held by a store that cannot be reached
//! cannot help at all. Asking anyway moved the reachable shares here, the
//! spend was still refused, and the next attempt at the other store moved
//! them back: 50 refused checkouts alternating between two stores wrote 49
//! signed transfers of the same 3.00 (issue 10). So:
//! - the asks go to the reachable holders only, each for the smaller of
//!   what it holds and what is still missing, largest first;
//! - when those holders' known shares and this store's own fall short of
//!   the spend, nobody is asked and the spend is declined
//!   ([`Effect::Decline`]);
//! - with no holder known at all (this store's view lags behind a recharge
//!   elsewhere), every reachable peer is asked for the whole shortfall, as
//!   before: then nothing is known to be short.
//!
//! A spend can still fail after shares moved: a holder that becomes
//! unreachable between the decision and its ask, or an answer that times
//! out. The shares moved stay here, where the member was paying: they are
//! not sent back, so they serve the member's next spend here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tongka_core::escrow::{self as rules, Counter, Units, Want};
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::OpBody;
use tongka_core::state::MemberState;

/// An ask's number, unique at the node that asks.
pub type Req = u64;

/// What the machine reads of the node's world when it decides.
pub trait View {
    /// Whether `peer` can be asked now.
    fn reachable(&self, peer: &NodeId) -> bool;
    /// Whether op `id` is applied here (given shares are spent only once
    /// the transfer op is held).
    fn holds(&self, id: &OpId) -> bool;
}

/// The machine's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long an ask is waited for, in ms.
    pub ask_timeout: u64,
    /// Ask even when the reachable shares are known to be short, every
    /// known holder reachable or not (the behaviour before issue 10). Only
    /// the simulator's `FutileTransfers` mutation sets it, to show that
    /// its checker catches futile transfers.
    pub futile_asks: bool,
}

/// What happens at the node, for the machine.
pub enum Event<'a, J> {
    /// A spend here is short of `want` (the shortfall) of a counter held
    /// in `member`'s state; `then` is what to try again or decline.
    /// `peers` are the node's peers, asked when no holder is known.
    Short {
        member: &'a MemberState,
        want: Want,
        peers: &'a [NodeId],
        then: J,
    },
    /// A spend at the member's home store: pull the rest of `counter`
    /// (held in `member`'s state) here, if it is pulled ahead
    /// (`tongka_core::escrow::pull_ahead`).
    Pull {
        member: &'a MemberState,
        counter: Counter,
        then: J,
    },
    /// Ask `req` was answered with these transfer ops (none: nothing held
    /// there).
    Gave { req: Req, ids: Vec<OpId> },
    /// The ops answering `req` are held here now (see [`Escrow::ready`]).
    Held { req: Req },
    /// Ask `req`'s timer fired.
    Timeout { req: Req },
}

/// What the driver must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Effect<J> {
    /// Send ask `req` to `to`, for `want`.
    Ask { req: Req, to: NodeId, want: Want },
    /// Deliver `Event::Timeout { req }` at `at` (ms, the clock `now` is on).
    Timer { req: Req, at: u64 },
    /// The asks for a short spend are over: try it once more, declining it
    /// if still short. `timed_out`: an ask went unanswered.
    Retry { then: J, timed_out: bool },
    /// Nobody reachable can cover the shortfall: decline the spend now
    /// (`insufficient_balance` / `insufficient_points`), moving nothing.
    Decline { then: J },
    /// A pull-ahead of `counter` is over.
    Pulled { then: J, counter: Counter },
}

struct Job<J> {
    counter: Counter,
    asks: VecDeque<(NodeId, Units)>,
    /// The ask being waited for, and the ops its answer carried (waited
    /// for until held here).
    waiting: Option<(Req, Option<Vec<OpId>>)>,
    then: J,
    pull: bool,
    timed_out: bool,
    asked: bool,
}

/// The escrow conversations of one node.
pub struct Escrow<J> {
    config: Config,
    jobs: BTreeMap<u64, Job<J>>,
    /// Asks in flight → their job.
    asks: BTreeMap<Req, u64>,
    /// Counters being pulled ahead (one pull at a time each).
    pulling: BTreeSet<Counter>,
    next_job: u64,
    next_req: Req,
}

impl<J> Escrow<J> {
    pub fn new(config: Config) -> Escrow<J> {
        Escrow {
            config,
            jobs: BTreeMap::new(),
            asks: BTreeMap::new(),
            pulling: BTreeSet::new(),
            next_job: 1,
            next_req: 1,
        }
    }

    pub fn config(&self) -> Config {
        self.config
    }

    /// No conversation in progress.
    pub fn idle(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Whether ask `req` is still waited for.
    pub fn asking(&self, req: Req) -> bool {
        self.asks.contains_key(&req)
    }

    /// What the conversation waiting for ask `req` is for (the simulator's
    /// checkers look at it).
    pub fn then_of(&self, req: Req) -> Option<&J> {
        let job = self.asks.get(&req)?;
        self.jobs.get(job).map(|j| &j.then)
    }

    /// The node restarted: every conversation is lost. Returns what each
    /// was for (a spend to decline as the store being down). Ask numbers
    /// go on from where they were, so a late answer matches nothing.
    pub fn reset(&mut self) -> Vec<J> {
        self.asks.clear();
        self.pulling.clear();
        std::mem::take(&mut self.jobs)
            .into_values()
            .map(|j| j.then)
            .collect()
    }

    /// The asks whose answers' ops are all held here now: deliver
    /// `Event::Held` for each, in this order.
    pub fn ready(&self, view: &impl View) -> Vec<Req> {
        self.jobs
            .values()
            .filter_map(|j| match &j.waiting {
                Some((req, Some(ids))) if ids.iter().all(|i| view.holds(i)) => Some(*req),
                _ => None,
            })
            .collect()
    }

    /// Handle `event` at `now` (ms), appending the effects to `out` in the
    /// order the driver must run them.
    pub fn handle(
        &mut self,
        event: Event<'_, J>,
        here: &NodeId,
        now: u64,
        view: &impl View,
        out: &mut Vec<Effect<J>>,
    ) {
        match event {
            Event::Short {
                member,
                want,
                peers,
                then,
            } => match plan(member, here, &want, peers, view, self.config.futile_asks) {
                Some(asks) if !asks.is_empty() => {
                    self.start(want.counter, asks, then, false, now, view, out)
                }
                _ => out.push(Effect::Decline { then }),
            },
            Event::Pull {
                member,
                counter,
                then,
            } => {
                if self.pulling.contains(&counter) {
                    return;
                }
                let asks: VecDeque<(NodeId, Units)> = rules::pull_ahead(&counter, member, here)
                    .into_iter()
                    .filter(|(n, _)| view.reachable(n))
                    .collect();
                if asks.is_empty() {
                    return;
                }
                self.pulling.insert(counter.clone());
                self.start(counter, asks, then, true, now, view, out);
            }
            Event::Gave { req, ids } => {
                let Some(&job) = self.asks.get(&req) else {
                    return;
                };
                if ids.iter().all(|i| view.holds(i)) {
                    self.asks.remove(&req);
                    self.step(job, now, view, out);
                } else if let Some(j) = self.jobs.get_mut(&job) {
                    j.waiting = Some((req, Some(ids)));
                }
            }
            Event::Held { req } => {
                if let Some(job) = self.asks.remove(&req) {
                    self.step(job, now, view, out);
                }
            }
            Event::Timeout { req } => {
                let Some(job) = self.asks.remove(&req) else {
                    return;
                };
                if let Some(j) = self.jobs.get_mut(&job) {
                    j.timed_out = true;
                }
                self.step(job, now, view, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        counter: Counter,
        asks: VecDeque<(NodeId, Units)>,
        then: J,
        pull: bool,
        now: u64,
        view: &impl View,
        out: &mut Vec<Effect<J>>,
    ) {
        let id = self.next_job;
        self.next_job += 1;
        self.jobs.insert(
            id,
            Job {
                counter,
                asks,
                waiting: None,
                then,
                pull,
                timed_out: false,
                asked: false,
            },
        );
        self.step(id, now, view, out);
    }

    /// Ask the job's next reachable holder, or end the job.
    fn step(&mut self, id: u64, now: u64, view: &impl View, out: &mut Vec<Effect<J>>) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        job.waiting = None;
        while let Some((to, units)) = job.asks.pop_front() {
            if !view.reachable(&to) {
                continue;
            }
            let req = self.next_req;
            self.next_req += 1;
            job.asked = true;
            job.waiting = Some((req, None));
            self.asks.insert(req, id);
            out.push(Effect::Ask {
                req,
                to,
                want: Want {
                    counter: job.counter.clone(),
                    units,
                },
            });
            out.push(Effect::Timer {
                req,
                at: now + self.config.ask_timeout,
            });
            return;
        }
        let job = self.jobs.remove(&id).expect("job present");
        out.push(if job.pull {
            self.pulling.remove(&job.counter);
            Effect::Pulled {
                then: job.then,
                counter: job.counter,
            }
        } else if job.asked {
            Effect::Retry {
                then: job.then,
                timed_out: job.timed_out,
            }
        } else {
            Effect::Decline { then: job.then }
        });
    }
}

/// The asks for a spend at `here` short of `short` (a counter held in
/// `member`'s state), or `None` when the reachable stores are known to
/// hold too little to cover it (see the module doc). With `futile`, the
/// policy before issue 10: every known holder, reachable or not, whatever
/// they hold in all. One rule for every counter, over units.
pub fn plan(
    member: &MemberState,
    here: &NodeId,
    short: &Want,
    peers: &[NodeId],
    view: &impl View,
    futile: bool,
) -> Option<VecDeque<(NodeId, Units)>> {
    let reachable: Vec<NodeId> = peers
        .iter()
        .filter(|p| *p != here && view.reachable(p))
        .cloned()
        .collect();
    if futile {
        return Some(rules::asks_for(short, member, here, &reachable).into());
    }
    if short.units <= 0 {
        return Some(VecDeque::new());
    }
    let holders = rules::holders(&short.counter, member, here);
    let known = !holders.is_empty();
    let holders: Vec<(NodeId, Units)> = holders
        .into_iter()
        .filter(|(n, _)| view.reachable(n))
        .collect();
    if known && holders.iter().map(|h| h.1).sum::<Units>() < short.units {
        return None;
    }
    Some(rules::asks_of(holders, here, short.units, &reachable).into())
}

/// The transfer `here` makes when `to` asks for `want`: what `here` holds
/// of the counter, up to what was asked (`None`: nothing held here, or the
/// counter's member unknown here). `member` is the state of
/// `want.counter.member()` as `here` knows it.
pub fn answer(
    member: Option<&MemberState>,
    here: &NodeId,
    to: &NodeId,
    want: &Want,
) -> Option<OpBody> {
    let m = member.filter(|m| m.id == *want.counter.member())?;
    want.counter.give(m, here, to, want.units)
}

#[cfg(test)]
mod tests;

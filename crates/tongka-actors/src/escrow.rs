//! Escrow at the node: the engine drives the node machine's escrow
//! conversations (`tongka_machine::escrow`): the asks of a checkout short
//! here, the pull-ahead after a sale at home, and the answer to a peer's
//! ask. The replication layer is the transport, behind `EscrowBroker`:
//! one ask out, its answer (or its timeout) back as the machine's event.

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::op::Op;
use tongka_machine::escrow::{Config, Effect, Escrow, Event, View};

use crate::account::{AccountKey, AccountMsg};
use crate::{Engine, EngineError, now_ms};

/// Carries the escrow machine's asks to other nodes. The node's replication
/// layer implements it; without one, a node spends only what it holds.
pub trait EscrowBroker: Send + Sync {
    /// The peers reachable now.
    fn reachable(&self) -> Vec<NodeId>;
    /// How long an ask is waited for.
    fn ask_timeout(&self) -> Duration;
    /// Ask `to` for up to `want` of a counter's shares (a member's balance
    /// or points):
    /// the transfer ops it gave (none: nothing held there), once applied
    /// here or when `timeout` is up for that; `None` when `to` is not
    /// connected or did not answer within `timeout`.
    fn ask(
        &self,
        to: NodeId,
        want: Want,
        timeout: Duration,
    ) -> Pin<Box<dyn Future<Output = Option<Vec<OpId>>> + Send>>;
}

/// Asks this node made of its peers since it started, for metrics
/// (`Engine::escrow_asks`): one atomic add per ask and per unanswered one.
#[derive(Debug, Default)]
pub(crate) struct AskCounts {
    asks: AtomicU64,
    unanswered: AtomicU64,
}

/// The node's world as the machine reads it: the peers connected now; a
/// given op counts as held (the broker answers once it is applied here, or
/// at its deadline, and the spend tried again then sees what arrived).
struct Reach(HashSet<NodeId>);

impl Reach {
    fn now(broker: &dyn EscrowBroker) -> Reach {
        Reach(broker.reachable().into_iter().collect())
    }
}

impl View for Reach {
    fn reachable(&self, peer: &NodeId) -> bool {
        self.0.contains(peer)
    }
    fn holds(&self, _: &OpId) -> bool {
        true
    }
}

/// How the escrow conversation for a short spend ended (`Engine::cover`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Covered {
    /// Asks were made: try the spend once more. `timed_out`: one went
    /// unanswered.
    Retry { timed_out: bool },
    /// Nobody reachable could cover it: nothing was asked that could help.
    Declined,
}

impl Covered {
    pub(crate) fn retry(self) -> bool {
        matches!(self, Covered::Retry { .. })
    }

    /// Why a spend still refused after this ended was refused, in the
    /// consistency report's words.
    pub(crate) fn cause(self) -> &'static str {
        match self {
            Covered::Declined => "unreachable",
            Covered::Retry { timed_out: true } => "timed_out",
            Covered::Retry { timed_out: false } => "answered_short",
        }
    }
}

fn machine(broker: &dyn EscrowBroker) -> Escrow<()> {
    Escrow::new(Config {
        ask_timeout: broker.ask_timeout().as_millis() as u64,
        futile_asks: false,
    })
}

impl Engine {
    /// Asks for shares this node made of its peers since it started, and
    /// how many of them went unanswered (the peer unreachable, or no
    /// answer by the deadline: the machine's `Timeout`).
    pub fn escrow_asks(&self) -> (u64, u64) {
        let c = &self.core.asks;
        (
            c.asks.load(Ordering::Relaxed),
            c.unanswered.load(Ordering::Relaxed),
        )
    }

    /// A spend here is short of `short` (a counter of a member): ask the
    /// peers the machine picks. `Retry`: asks were made, try the spend once
    /// more; `Declined`: decline it now (nobody reachable can cover it, so
    /// nothing was moved).
    pub(crate) async fn cover(&self, broker: &Arc<dyn EscrowBroker>, short: Want) -> Covered {
        // This node's view may lag (a recharge or sale elsewhere not yet
        // here): with no holder known, the machine asks every peer.
        let member = short.counter.member();
        let Some(state) = self.core.db.member(member).ok().flatten() else {
            return Covered::Declined;
        };
        let peers = broker.reachable();
        let view = Reach(peers.iter().cloned().collect());
        let mut e = machine(broker.as_ref());
        let mut out = Vec::new();
        let ev = Event::Short {
            member: &state,
            want: short,
            peers: &peers,
            then: (),
        };
        e.handle(ev, &self.core.node, now_ms(), &view, &mut out);
        match self.converse(broker.as_ref(), e, out).await {
            Some(Effect::Retry { timed_out, .. }) => Covered::Retry { timed_out },
            _ => Covered::Declined,
        }
    }

    /// Count a spend declined after its escrow conversation (`cover`):
    /// the refusal's code, and how the asks ended. Kept in memory since
    /// this node started (`declines`): a refusal writes nothing.
    pub(crate) fn note_declined(&self, error: &EngineError, how: Covered) {
        use tongka_core::DomainError;
        let mut d = self.core.declines.lock().expect("declines lock");
        *d.entry((error.code(), how.cause())).or_default() += 1;
    }

    /// The spends this node declined after asking other stores for the
    /// shares they lacked, since it started: `(refusal code, cause)` →
    /// how many. Causes: `unreachable` (no store that could cover it was
    /// connected: nothing was asked or every ask was refused at once),
    /// `timed_out` (an ask went unanswered, as in a partition),
    /// `answered_short` (the stores asked answered, and the spend was
    /// still short: the member lacked it chain-wide).
    pub fn declines(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.core.declines.lock().expect("declines lock").clone()
    }

    /// Run a conversation's asks through `broker`, one at a time, feeding
    /// each answer or timeout back to the machine, until it ends: the
    /// ending effect.
    async fn converse(
        &self,
        broker: &dyn EscrowBroker,
        mut e: Escrow<()>,
        mut out: Vec<Effect<()>>,
    ) -> Option<Effect<()>> {
        loop {
            let (mut ask, mut deadline) = (None, now_ms());
            for f in out.drain(..) {
                match f {
                    Effect::Ask { req, to, want } => ask = Some((req, to, want)),
                    Effect::Timer { at, .. } => deadline = at,
                    end => return Some(end),
                }
            }
            let (req, to, want) = ask?;
            let timeout = Duration::from_millis(deadline.saturating_sub(now_ms()));
            let counts = &self.core.asks;
            counts.asks.fetch_add(1, Ordering::Relaxed);
            let ev = match broker.ask(to, want, timeout).await {
                Some(ids) => Event::Gave { req, ids },
                None => {
                    counts.unanswered.fetch_add(1, Ordering::Relaxed);
                    Event::Timeout { req }
                }
            };
            e.handle(ev, &self.core.node, now_ms(), &Reach::now(broker), &mut out);
        }
    }

    /// The pull-ahead policy: after a sale at the member's home store, the
    /// store pulls the rest of the member's balance to itself in the
    /// background, so the next sale there needs no transfer even if the
    /// network is down by then.
    pub(crate) fn pull_ahead(&self, member: &MemberId) {
        let Some(broker) = self.broker() else { return };
        let Ok(Some(m)) = self.core.db.member(member) else {
            return;
        };
        let mut e = machine(broker.as_ref());
        let mut out = Vec::new();
        let ev = Event::Pull {
            member: &m,
            counter: Counter::Balance(m.id.clone()),
            then: (),
        };
        e.handle(
            ev,
            &self.core.node,
            now_ms(),
            &Reach::now(broker.as_ref()),
            &mut out,
        );
        if !out.is_empty() {
            let me = self.clone();
            tokio::spawn(async move { me.converse(broker.as_ref(), e, out).await });
        }
    }

    /// Give up to `want` of the share of its counter held here (a
    /// member's balance, or points) to node `to`
    /// (`tongka_machine::escrow::answer`, decided by the member's actor);
    /// the durable transfer op, or `None` when nothing is held here.
    pub async fn give_share(&self, to: NodeId, want: Want) -> Result<Option<Op>, EngineError> {
        let member = want.counter.member();
        if self.core.db.member(member)?.is_none() {
            return Ok(None);
        }
        let key = AccountKey::Member(member.clone());
        for _ in 0..4 {
            let actor = self.account(&key).await?;
            let to = to.clone();
            match actor
                .call(
                    |reply| AccountMsg::Give {
                        to,
                        want: want.clone(),
                        reply,
                    },
                    None,
                )
                .await
            {
                Ok(ractor::rpc::CallResult::Success(res)) => {
                    return match res? {
                        Some(id) => Ok(self.core.db.op(&id)?),
                        None => Ok(None),
                    };
                }
                _ => self.core.forget(&key, actor.get_id()),
            }
        }
        Err(EngineError::Internal("account kept stopping".into()))
    }
}

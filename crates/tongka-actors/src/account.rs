//! The account actor: one per member (or one for walk-in sales), activated
//! on demand, passivated when idle. It owns the member's state while alive:
//! every op about the member goes through it, so its in-memory state is the
//! truth and it can decide the next request while the last one is still
//! being committed (pipelining). It stops only when no write of its is in
//! flight, so a fresh activation always reads complete state from disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tongka_core::checkout::{
    self, Buyer, CheckoutContext, CheckoutError, LineInput, TenderInput, TenderKind,
};
use tongka_core::coupon::{CouponError, CouponTemplate, HeldCoupon};
use tongka_core::escrow::Want;
use tongka_core::ids::{CardId, CouponId, MemberId, NodeId, OpId, OrderId, RechargeId, RefundId};
use tongka_core::member::ProfilePatch;
use tongka_core::merge::{self, Merged};
use tongka_core::money::Money;
use tongka_core::op::{EncodedOp, Op, OpBody, OpDraft};
use tongka_core::refund::{OrderState, RefundLine};
use tongka_core::staff::{ApprovalRequired, RefundAuth, approval_needed};
use tongka_core::state::{self, MemberError, MemberState};
use tongka_db::{Effects, Prepared, Source};
use tongka_machine::apply;
use tongka_machine::stock::Check;

use crate::{Core, EngineError, Idem, Outcome};

mod cards;
mod coupons;

/// Who an account actor serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountKey {
    Member(MemberId),
    /// Sales without a member: only their refunds need serialising.
    WalkIn,
}

pub(crate) type Reply = RpcReplyPort<Result<Outcome, EngineError>>;

pub(crate) enum AccountMsg {
    Recharge {
        by: String,
        idem: Option<Idem>,
        amount: Money,
        tender: TenderKind,
        reply: Reply,
    },
    Checkout {
        by: String,
        idem: Option<Idem>,
        lines: Vec<LineInput>,
        tenders: Vec<TenderInput>,
        /// Points to pay with (积分抵现); 0 = none.
        points: i64,
        /// The member's coupons to use.
        coupons: Vec<CouponId>,
        reply: Reply,
    },
    /// Verify `count` visits for `service` on this member's card `card`.
    VisitCard {
        by: String,
        idem: Option<Idem>,
        card: CardId,
        count: u32,
        service: Option<String>,
        reply: Reply,
    },
    /// Issue a coupon of `template` to this member, its uses held by
    /// `holder`.
    IssueCoupon {
        by: String,
        idem: Option<Idem>,
        template: Box<CouponTemplate>,
        holder: NodeId,
        reply: Reply,
    },
    Refund {
        by: String,
        idem: Option<Idem>,
        order: Box<OrderState>,
        lines: Option<Vec<RefundLine>>,
        reason: String,
        auth: RefundAuth,
        reply: Reply,
    },
    UpdateProfile {
        by: String,
        patch: ProfilePatch,
        claimed: Vec<String>,
        reply: Reply,
    },
    /// An op made by another node: apply it and hand it to the writer,
    /// then answer (before it is durable; `on_durable` tells that).
    /// Ops made by other nodes, in causal order (`Engine::apply_remote_batch`):
    /// apply them, answer with what to commit, and take no other message
    /// until the engine says they are handed to the writer, so that nothing
    /// this account commits later can reach disk before them.
    ApplyRemoteBatch {
        /// Taken by the actor; left in place if it stopped before handling
        /// the message, for the engine to hand to a fresh activation.
        items: Arc<Mutex<Option<Vec<RemoteItem>>>>,
        handed: tokio::sync::watch::Receiver<bool>,
        reply: tokio::sync::oneshot::Sender<RemoteApplied>,
    },
    /// Give up to `want` of this member's share here to `to` (an escrow
    /// transfer); answers with the op once durable, `None` if nothing to give.
    Give {
        to: NodeId,
        want: Want,
        reply: RpcReplyPort<Result<Option<OpId>, EngineError>>,
    },
    /// This member's state as this actor holds it (newest).
    Snapshot {
        reply: RpcReplyPort<Option<MemberState>>,
    },
    /// Merge `absorbed` into this member (a local request).
    Merge {
        by: String,
        idem: Option<Idem>,
        absorbed: Box<MemberState>,
        merged: Box<Merged>,
        reply: Reply,
    },
    /// This member was merged into `into` (whose actor is `survivor`):
    /// move this node's share of it there (`remote: None`, a decision of
    /// this node), or apply another holder's move (`remote`). Answers
    /// whether an op was submitted.
    Move {
        survivor: ActorRef<AccountMsg>,
        into: MemberId,
        /// A move made elsewhere, with its bytes when received so.
        remote: Option<(Box<Op>, Encoding, tongka_db::Done)>,
        reply: RpcReplyPort<Result<bool, EngineError>>,
    },
    /// The survivor's side of a move: credit it and submit the op with
    /// both members' new states (one commit).
    Absorb {
        source: Box<Source>,
        /// A remote move's bytes, stored as received.
        encoded: Encoding,
        op: Box<Op>,
        other: Box<MemberState>,
        other_pending: Arc<AtomicUsize>,
        done: tongka_db::Done,
        reply: RpcReplyPort<Result<(), String>>,
    },
    /// Time to check whether to passivate.
    Tick,
}

/// A remote op for an account: its place in the engine's batch, the op,
/// and index changes the engine decided (registrations).
pub(crate) struct RemoteItem {
    pub index: usize,
    pub op: Op,
    /// The op's encoding and hash, when received so (stored as received).
    pub encoded: Encoding,
    pub effects: Effects,
    /// Called once the op is durable (or failed), if its caller waits.
    pub on_durable: Option<tongka_db::Done>,
}

/// An op's encoding (`Op::encode`) and hash (`Op::hash`), if known.
pub(crate) type Encoding = Option<(Vec<u8>, [u8; 32])>;

/// What an account answers to `ApplyRemoteBatch`: the ops with their
/// effects, encoded for the writer, by place in the engine's batch.
pub(crate) struct RemoteApplied {
    pub prepared: Vec<(usize, Prepared)>,
}

pub(crate) struct AccountActor {
    pub core: Arc<Core>,
}

pub(crate) struct AccountState {
    key: AccountKey,
    member: Option<MemberState>,
    /// `member` is the preload of a received registration not applied yet
    /// (the first remote op this account takes is that registration).
    preloaded: bool,
    /// Orders this actor refunded while alive: newer than disk until committed.
    orders: HashMap<OrderId, OrderState>,
    pending: Arc<AtomicUsize>,
    last_active: Instant,
    /// Whether a till asked anything of this account (else only remote ops
    /// touched it, as when a store catches up: then it passivates soon).
    served_local: bool,
}

/// How long an account touched only by remote ops stays active.
const REMOTE_IDLE: Duration = Duration::from_secs(2);

const ORDERS_CACHED_MAX: usize = 256;

impl Actor for AccountActor {
    type Msg = AccountMsg;
    type State = AccountState;
    /// The account, and its state when the caller has it newer than disk
    /// (a member registered by another node whose registration is not
    /// committed here yet).
    type Arguments = (AccountKey, Option<MemberState>);

    async fn pre_start(
        &self,
        myself: ActorRef<AccountMsg>,
        (key, preload): (AccountKey, Option<MemberState>),
    ) -> Result<AccountState, ActorProcessingErr> {
        // A preload is the state a received registration makes; a member
        // already on disk is never replaced by it (that registration is
        // then refused: registered twice).
        let (member, preloaded) = match &key {
            AccountKey::Member(id) => match (self.core.db.member(id)?, preload) {
                (Some(m), _) => (Some(m), false),
                (None, Some(p)) => (Some(p), true),
                (None, None) => return Err(MemberError::NotFound(id.to_string()).into()),
            },
            AccountKey::WalkIn => (None, false),
        };
        let period = (self.core.idle_passivate.min(REMOTE_IDLE) / 2).max(Duration::from_millis(10));
        myself.send_interval(period, || AccountMsg::Tick);
        Ok(AccountState {
            key,
            member,
            preloaded,
            orders: HashMap::new(),
            pending: Arc::new(AtomicUsize::new(0)),
            last_active: Instant::now(),
            served_local: false,
        })
    }

    async fn post_stop(
        &self,
        myself: ActorRef<AccountMsg>,
        state: &mut AccountState,
    ) -> Result<(), ActorProcessingErr> {
        self.core.forget(&state.key, myself.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<AccountMsg>,
        msg: AccountMsg,
        st: &mut AccountState,
    ) -> Result<(), ActorProcessingErr> {
        if matches!(msg, AccountMsg::Tick) {
            let idle = if st.served_local {
                self.core.idle_passivate
            } else {
                self.core.idle_passivate.min(REMOTE_IDLE)
            };
            if st.last_active.elapsed() >= idle && st.pending.load(Ordering::Acquire) == 0 {
                myself.stop(Some("idle".into()));
            }
            return Ok(());
        }
        st.last_active = Instant::now();
        st.served_local |= !matches!(msg, AccountMsg::ApplyRemoteBatch { .. });
        if st.orders.len() > ORDERS_CACHED_MAX && st.pending.load(Ordering::Acquire) == 0 {
            st.orders.clear();
        }
        match msg {
            AccountMsg::Tick => {}
            AccountMsg::Snapshot { reply } => {
                let _ = reply.send(st.member.clone());
            }
            AccountMsg::Merge {
                by,
                idem,
                absorbed,
                merged,
                reply,
            } => {
                if let Err((e, reply)) = self.merge(st, by, idem, *absorbed, *merged, reply) {
                    let _ = reply.send(Err(e));
                }
            }
            AccountMsg::Move {
                survivor,
                into,
                remote,
                reply,
            } => {
                let r = self.move_merged(st, survivor, into, remote).await;
                let _ = reply.send(r);
            }
            AccountMsg::Absorb {
                source,
                encoded,
                op,
                other,
                other_pending,
                done,
                reply,
            } => {
                let r = self.absorb(st, *source, encoded, *op, *other, other_pending, done);
                let _ = reply.send(r);
            }
            AccountMsg::Give { to, want, reply } => self.give(st, to, want, reply),
            AccountMsg::ApplyRemoteBatch {
                items,
                mut handed,
                reply,
            } => {
                let taken = items.lock().expect("remote items lock").take();
                if let Some(items) = taken {
                    let prepared = self.apply_remote_batch(st, items);
                    if reply.send(RemoteApplied { prepared }).is_ok() {
                        // An error means the engine gave up: it hands nothing.
                        let _ = handed.wait_for(|h| *h).await;
                    }
                }
            }
            AccountMsg::Recharge {
                by,
                idem,
                amount,
                tender,
                reply,
            } => {
                let r = self.recharge(st, by, idem, amount, tender, reply);
                if let Err((e, reply)) = r {
                    let _ = reply.send(Err(e));
                }
            }
            AccountMsg::Checkout {
                by,
                idem,
                lines,
                tenders,
                points,
                coupons,
                reply,
            } => {
                let deduct = (points, coupons);
                if let Err((e, reply)) = self.checkout(st, by, idem, lines, tenders, deduct, reply)
                {
                    let _ = reply.send(Err(e));
                }
            }
            AccountMsg::VisitCard {
                by,
                idem,
                card,
                count,
                service,
                reply,
            } => {
                if let Err((e, reply)) = self.visit_card(st, by, idem, &card, count, service, reply)
                {
                    let _ = reply.send(Err(e));
                }
            }
            AccountMsg::IssueCoupon {
                by,
                idem,
                template,
                holder,
                reply,
            } => {
                if let Err((e, reply)) = self.issue_coupon(st, by, idem, &template, holder, reply) {
                    let _ = reply.send(Err(e));
                }
            }
            AccountMsg::Refund {
                by,
                idem,
                order,
                lines,
                reason,
                auth,
                reply,
            } => {
                if let Err((e, reply)) =
                    self.refund(st, by, idem, order, lines, reason, auth, reply)
                {
                    let _ = reply.send(Err(e));
                }
            }
            AccountMsg::UpdateProfile {
                by,
                patch,
                claimed,
                reply,
            } => {
                let res = self.update_profile(st, by, patch, claimed.clone(), reply);
                if let Err((e, reply)) = res {
                    self.core.release_claims(claimed);
                    let _ = reply.send(Err(e));
                }
            }
        }
        Ok(())
    }
}

type Refusal = (EngineError, Reply);

impl AccountActor {
    fn give(
        &self,
        st: &mut AccountState,
        to: NodeId,
        want: Want,
        reply: RpcReplyPort<Result<Option<OpId>, EngineError>>,
    ) {
        let Some(m) = &st.member else {
            let _ = reply.send(Ok(None));
            return;
        };
        let Some(body) = tongka_machine::escrow::answer(Some(m), &self.core.node, &to, &want)
        else {
            let _ = reply.send(Ok(None));
            return;
        };
        let (draft, op) = match self.core.draft("escrow".into(), None, body) {
            Ok(d) => d,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let next = match apply::next_member(Some(m), &op) {
            Ok(n) => n,
            Err(e) => {
                let _ = reply.send(Err(EngineError::Internal(e.reason)));
                return;
            }
        };
        let effects = Effects {
            member: Some(next.clone()),
            ..Default::default()
        };
        st.member = Some(next);
        st.pending.fetch_add(1, Ordering::AcqRel);
        let pending = st.pending.clone();
        self.core.db.submit(
            Source::Local(draft),
            effects,
            Box::new(move |res| {
                pending.fetch_sub(1, Ordering::AcqRel);
                let _ = reply.send(res.map(Some).map_err(EngineError::from));
            }),
        );
    }

    /// Apply remote ops to this account's state, to be committed together
    /// in one transaction (the engine's batch; a single op is a batch of
    /// one). An op that fails its checks is logged as rejected, not
    /// applied: the check is deterministic (an op's validity depends only
    /// on its causal past), so every node rejects it alike. Only the last
    /// applied op carries the member's state.
    fn apply_remote_batch(
        &self,
        st: &mut AccountState,
        items: Vec<RemoteItem>,
    ) -> Vec<(usize, Prepared)> {
        let mut out: Vec<(usize, Op, Encoding, Effects, Option<tongka_db::Done>)> = items
            .into_iter()
            .map(
                |RemoteItem {
                     index,
                     op,
                     encoded,
                     effects,
                     on_durable,
                 }| {
                    let effects = self.remote_effects(st, &op, effects);
                    (index, op, encoded, effects, on_durable)
                },
            )
            .collect();
        if let Some((_, _, _, last, _)) = out
            .iter_mut()
            .rev()
            .find(|(_, _, _, e, _)| e.rejected.is_none())
        {
            last.member = st.member.clone();
        }
        st.pending.fetch_add(out.len(), Ordering::AcqRel);
        out.into_iter()
            .map(|(index, op, encoded, effects, on_durable)| {
                let pending = st.pending.clone();
                let done: tongka_db::Done = Box::new(move |res| {
                    pending.fetch_sub(1, Ordering::AcqRel);
                    if let Some(f) = on_durable {
                        f(res);
                    }
                });
                let job = match encoded {
                    Some((bytes, hash)) => {
                        self.core
                            .db
                            .prepare_encoded(EncodedOp { op, bytes, hash }, effects, done)
                    }
                    None => self.core.db.prepare(Source::Remote(op), effects, done),
                };
                (index, job)
            })
            .collect()
    }

    /// Apply a remote op to the account's state by the machine's rule
    /// (`tongka_machine::apply`, the simulator's too); the effects to commit
    /// with it (the member's state is added by the batch, to its last op).
    fn remote_effects(&self, st: &mut AccountState, op: &Op, mut effects: Effects) -> Effects {
        let result = (|| -> Result<apply::Applied, String> {
            // The order a sale or a refund names, as this account or the
            // store knows it.
            let order_id = match &op.body {
                OpBody::CheckedOut { order, .. } => Some(&order.id),
                OpBody::Refunded { refund, .. } => Some(&refund.order),
                _ => None,
            };
            let order = match order_id {
                Some(id) => match st.orders.get(id) {
                    Some(o) => Some(o.clone()),
                    None => self.core.db.order(id).map_err(|e| e.to_string())?,
                },
                None => None,
            };
            // A registration that made this account with the state it
            // makes (the engine preloads it) sees it unregistered; any
            // other sees the member and is refused (registered twice).
            let fresh = std::mem::take(&mut st.preloaded)
                && matches!(op.body, OpBody::MemberRegistered { .. });
            let view = AccountView {
                member: st.member.as_ref().filter(|_| !fresh),
                order: order.as_ref(),
            };
            // The origin's role was checked on receipt, against its
            // certificate (`tongka-replication`).
            let applied = apply::apply(&view, op, None).map_err(|r| r.reason)?;
            // A profile change (an edit or a merge's) may move the phone or
            // card: the index follows the rule's deltas, the engine
            // settling who holds a contested number. A registration's
            // claims are the engine's (with the batch's pending ones).
            if !applied.index.is_empty()
                && let (Some(old), Some(_)) = (view.member, &applied.member)
            {
                self.core
                    .reindex(&old.id, &applied.index, &mut effects)
                    .map_err(|e| e.to_string())?;
            }
            Ok(applied)
        })();
        match result {
            Ok(applied) => {
                if let Some(o) = applied.order {
                    st.orders.insert(o.order.id.clone(), o.clone());
                    effects.order = Some(o);
                }
                if applied.member.is_some() {
                    st.member = applied.member;
                }
            }
            Err(reason) => {
                tracing::warn!(op = %op.id, %reason, "remote op rejected");
                effects = Effects {
                    rejected: Some(reason),
                    ..Effects::default()
                };
            }
        }
        effects
    }

    /// Commit `draft` with `effects` and answer `reply` once it is durable.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        st: &AccountState,
        draft: OpDraft,
        mut effects: Effects,
        idem: Option<Idem>,
        outcome: Outcome,
        reply: Reply,
        claimed: Vec<String>,
    ) {
        let key = idem.as_ref().map(|i| i.key.clone());
        if let Some(i) = idem {
            effects.idem = Some(i.record(&outcome));
        }
        st.pending.fetch_add(1, Ordering::AcqRel);
        let pending = st.pending.clone();
        let core = self.core.clone();
        self.core.db.submit(
            Source::Local(draft),
            effects,
            Box::new(move |res| {
                let answer = res.map(|_| outcome).map_err(EngineError::from);
                core.finish(key, claimed);
                pending.fetch_sub(1, Ordering::AcqRel);
                let _ = reply.send(answer);
            }),
        );
    }

    /// Draft `body` (decided at `at`) about this account's member, apply it
    /// by the machine's rule like a received op, and commit it with the
    /// member after it; `outcome` makes the answer from the op and that
    /// member. For an op that changes only its member (a recharge, a coupon
    /// issued, a card visit).
    #[allow(clippy::too_many_arguments)]
    fn commit_member_op(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        body: OpBody,
        at: tongka_core::clock::Hlc,
        reply: Reply,
        outcome: impl FnOnce(&Op, MemberState) -> Outcome,
    ) -> Result<(), Refusal> {
        let (draft, op) = match self.core.draft_at(by, idem.as_ref(), body, at) {
            Ok(d) => d,
            Err(e) => return Err((e, reply)),
        };
        let view = AccountView {
            member: st.member.as_ref(),
            order: None,
        };
        let next = match apply::apply(&view, &op, None) {
            Ok(a) => a.member.expect("a member's op changes its member"),
            Err(e) => return Err((EngineError::Internal(e.reason), reply)),
        };
        let effects = Effects {
            member: Some(next.clone()),
            ..Default::default()
        };
        let answer = outcome(&op, next.clone());
        st.member = Some(next);
        self.commit(st, draft, effects, idem, answer, reply, Vec::new());
        Ok(())
    }

    fn member<'a>(&self, st: &'a AccountState) -> &'a MemberState {
        st.member
            .as_ref()
            .expect("member messages go to member accounts")
    }

    fn recharge(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        amount: Money,
        tender: TenderKind,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let m = self.member(st);
        let recharge = RechargeId::mint(&self.core.node, self.core.db.next_entity());
        let body = match state::decide_recharge(
            &self.core.programme(),
            &m.id,
            recharge.clone(),
            amount,
            tender,
        ) {
            Ok(b) => b,
            Err(e) => return Err((e.into(), reply)),
        };
        let OpBody::Recharged { bonus, .. } = &body else {
            unreachable!("decide_recharge makes recharges")
        };
        let bonus = *bonus;
        let at = self.core.tick();
        self.commit_member_op(st, by, idem, body, at, reply, |op, member| {
            Outcome::Recharged {
                recharge,
                amount,
                bonus,
                tender,
                at: op.hlc,
                member,
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn checkout(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        lines: Vec<LineInput>,
        tenders: Vec<TenderInput>,
        (points, coupons): (i64, Vec<CouponId>),
        reply: Reply,
    ) -> Result<(), Refusal> {
        let core = &self.core;
        // The coupons named, as this member holds them (its actor: one
        // decision at a time, so a use is spent once).
        let held: Vec<&HeldCoupon> = match (&st.member, coupons.is_empty()) {
            (_, true) => Vec::new(),
            (None, false) => return Err((CouponError::WithoutMember.into(), reply)),
            (Some(m), false) => match m.coupons_named(&coupons) {
                Ok(h) => h,
                Err(e) => return Err((CheckoutError::from(e).into(), reply)),
            },
        };
        let order_id = OrderId::mint(&core.node, core.db.next_entity());
        let at = core.tick();
        let programme = core.programme();
        let level;
        let buyer = match &st.member {
            Some(m) => {
                level = programme.level_for(m.cumulative_principal);
                Some(Buyer {
                    member: &m.id,
                    level,
                    wallet: &m.wallet,
                })
            }
            None => None,
        };
        let ctx = CheckoutContext {
            programme: &programme,
            store: &core.node,
            order: order_id,
            at,
            buyer,
        };
        // The member's points share here is checked by the calculator, and
        // debited by the op in the same commit as the decision, in this
        // member's actor (one decision at a time): a point is spent once.
        let deductions = checkout::Deductions {
            points,
            coupons: &held,
        };
        let mut order = match checkout::checkout_with(&ctx, &lines, &tenders, &deductions) {
            Ok(o) => o,
            Err(e) => return Err((e.into(), reply)),
        };
        // Each card the sale sells gets its code from this node's counter.
        checkout::mint_cards(&mut order, || {
            CardId::mint(&core.node, core.db.next_entity())
        });
        // The lines of stocked products take the selling store's stock, in
        // the sale's commit (`stock`).
        let units =
            crate::stock::units_of(core, order.lines.iter().filter_map(|l| l.sku.as_deref()));
        let stock = crate::stock::sale_lines(&order, &units);
        let body = OpBody::CheckedOut { order, stock };
        let (draft, op) = match core.draft_at(by, idem.as_ref(), body, at) {
            Ok(d) => d,
            Err(e) => return Err((e, reply)),
        };
        // The sale drafted, applied by the machine's rule like a received
        // one (its order id is new: no order to read).
        let view = AccountView {
            member: st.member.as_ref(),
            order: None,
        };
        let applied = match apply::apply(&view, &op, None) {
            Ok(a) => a,
            Err(e) => return Err((EngineError::Internal(e.reason), reply)),
        };
        let sold = applied.order.expect("a sale makes its order");
        let mut effects = Effects {
            order: Some(sold.clone()),
            member: applied.member.clone(),
            ..Default::default()
        };
        // Held until the sale is handed to the writer (`stock`'s order).
        let mut book = None;
        if matches!(&op.body, OpBody::CheckedOut { stock, .. } if !stock.is_empty()) {
            let policy = core.programme().negative_stock;
            let unit = |sku: &str| units.get(sku).copied().flatten();
            let mut held = core.stock.lock().expect("stock lock");
            match held.apply(
                &op,
                Check::Made {
                    units: &unit,
                    policy,
                },
            ) {
                Ok(a) => effects.stock = Some(crate::stock::write_of(a)),
                Err(e) => return Err((EngineError::Stock(e), reply)),
            }
            book = Some(held);
        }
        if applied.member.is_some() {
            st.member = applied.member;
        }
        let outcome = Outcome::CheckedOut {
            order: sold,
            member: st.member.clone(),
        };
        self.commit(st, draft, effects, idem, outcome, reply, Vec::new());
        drop(book);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn refund(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        order: Box<OrderState>,
        lines: Option<Vec<RefundLine>>,
        reason: String,
        auth: RefundAuth,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let core = &self.core;
        // What this actor already refunded of the order but may not have
        // committed yet is newer than what the caller read from disk.
        let current = st.orders.get(&order.order.id).cloned().unwrap_or(*order);
        let at = core.tick();
        let points_here = st
            .member
            .as_ref()
            .map_or(0, |m| m.wallet.share(&core.node).points);
        let id = RefundId::mint(&core.node, core.db.next_entity());
        let cards = st.member.as_ref().map_or(&[][..], |m| m.cards.as_slice());
        let mut refund = match current.decide_with_cards(
            id,
            &core.node,
            at,
            lines.as_deref(),
            &reason,
            points_here,
            cards,
        ) {
            Ok(r) => r,
            Err(e) => return Err((e.into(), reply)),
        };
        if auth.approved_by.is_none()
            && let Some(role) = auth.role
        {
            let limit = core.programme().refund_approval_above;
            if let Some(limit) = limit.filter(|_| approval_needed(role, refund.amount, limit)) {
                let e = ApprovalRequired {
                    limit,
                    amount: refund.amount,
                };
                return Err((e.into(), reply));
            }
        }
        refund.approved_by = auth.approved_by;
        let units = crate::stock::units_of(
            core,
            current.order.lines.iter().filter_map(|l| l.sku.as_deref()),
        );
        let stock = crate::stock::refund_lines(&current.order, &refund, &units);
        let body = OpBody::Refunded {
            refund: refund.clone(),
            stock,
        };
        let (draft, op) = match core.draft_at(by, idem.as_ref(), body, at) {
            Ok(d) => d,
            Err(e) => return Err((e, reply)),
        };
        // The refund drafted, applied by the machine's rule like a received
        // one (the draft's authority was checked when it was made).
        let view = AccountView {
            member: st.member.as_ref(),
            order: Some(&current),
        };
        let applied = match apply::apply(&view, &op, None) {
            Ok(a) => a,
            Err(e) => return Err((EngineError::Internal(e.reason), reply)),
        };
        let next_order = applied.order.expect("a refund changes its order");
        let mut effects = Effects {
            order: Some(next_order.clone()),
            member: applied.member.clone(),
            ..Default::default()
        };
        // Goods back into this store's stock, in the refund's commit.
        let mut book = None;
        if matches!(&op.body, OpBody::Refunded { stock, .. } if !stock.is_empty()) {
            let mut held = core.stock.lock().expect("stock lock");
            match held.apply(&op, Check::Received) {
                Ok(a) => effects.stock = Some(crate::stock::write_of(a)),
                Err(e) => return Err((EngineError::Stock(e), reply)),
            }
            book = Some(held);
        }
        if applied.member.is_some() {
            st.member = applied.member;
        }
        st.orders
            .insert(next_order.order.id.clone(), next_order.clone());
        let outcome = Outcome::Refunded {
            refund,
            order: next_order,
            member: st.member.clone(),
        };
        self.commit(st, draft, effects, idem, outcome, reply, Vec::new());
        drop(book);
        Ok(())
    }

    fn update_profile(
        &self,
        st: &mut AccountState,
        by: String,
        patch: ProfilePatch,
        claimed: Vec<String>,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let m = self.member(st);
        match state::validate_patch(&m.profile, &patch) {
            Err(e) => return Err((MemberError::from(e).into(), reply)),
            // Same values as now: nothing to record.
            Ok(next) if next == m.profile => {
                self.core.release_claims(claimed);
                let _ = reply.send(Ok(Outcome::Member(m.clone())));
                return Ok(());
            }
            Ok(_) => {}
        }
        let at = self.core.tick();
        let body = match m.decide_profile_update(&self.core.node, at, patch) {
            Ok(Some(body)) => body,
            Ok(None) => {
                self.core.release_claims(claimed);
                let _ = reply.send(Ok(Outcome::Member(m.clone())));
                return Ok(());
            }
            Err(e) => return Err((EngineError::Internal(e.to_string()), reply)),
        };
        let (draft, op) = match self.core.draft_at(by, None, body, at) {
            Ok(d) => d,
            Err(e) => return Err((e, reply)),
        };
        // Applied by the machine's rule like a received change; the index
        // follows its deltas (a number released only if still this
        // member's: one it lost to a duplicate stays the winner's).
        let view = AccountView {
            member: Some(m),
            order: None,
        };
        let applied = match apply::apply(&view, &op, None) {
            Ok(a) => a,
            Err(e) => return Err((EngineError::Internal(e.reason), reply)),
        };
        let next = applied.member.expect("a profile change changes its member");
        let mut effects = Effects::default();
        if let Err(e) = self.core.reindex(&m.id, &applied.index, &mut effects) {
            return Err((e.into(), reply));
        }
        effects.member = Some(next.clone());
        st.member = Some(next.clone());
        self.commit(
            st,
            draft,
            effects,
            None,
            Outcome::Member(next),
            reply,
            claimed,
        );
        Ok(())
    }

    fn merge(
        &self,
        st: &mut AccountState,
        by: String,
        idem: Option<Idem>,
        absorbed: MemberState,
        merged: Merged,
        reply: Reply,
    ) -> Result<(), Refusal> {
        let m = self.member(st);
        let at = self.core.tick();
        let body = match merge::decide_merge(m, &absorbed, &merged, &self.core.node, at) {
            Ok(b) => b,
            Err(e) => return Err((e.into(), reply)),
        };
        let (draft, op) = match self.core.draft_at(by, idem.as_ref(), body, at) {
            Ok(d) => d,
            Err(e) => return Err((e, reply)),
        };
        // Applied by the machine's rule like a received merge (the
        // survivor's side; its index follows the profile change).
        let view = AccountView {
            member: Some(m),
            order: None,
        };
        let applied = match apply::apply(&view, &op, None) {
            Ok(a) => a,
            Err(e) => return Err((EngineError::Internal(e.reason), reply)),
        };
        let next = applied.member.expect("a merge changes its survivor");
        let mut effects = Effects {
            member: Some(next.clone()),
            merged: vec![(absorbed.id.clone(), next.id.clone())],
            ..Default::default()
        };
        if let Err(e) = self.core.reindex(&m.id, &applied.index, &mut effects) {
            return Err((e.into(), reply));
        }
        st.member = Some(next.clone());
        self.commit(
            st,
            draft,
            effects,
            idem,
            Outcome::Member(next),
            reply,
            Vec::new(),
        );
        Ok(())
    }

    /// See `AccountMsg::Move`. The caller holds the engine's merge lock, so
    /// no two actors wait on each other.
    async fn move_merged(
        &self,
        st: &mut AccountState,
        survivor: ActorRef<AccountMsg>,
        into: MemberId,
        remote: Option<(Box<Op>, Encoding, tongka_db::Done)>,
    ) -> Result<bool, EngineError> {
        let Some(m) = st.member.clone() else {
            return Err(EngineError::Internal("a move of no member".into()));
        };
        let (source, encoded, op, done): (Source, Encoding, Op, tongka_db::Done) = match remote {
            Some((op, encoded, on_durable)) => {
                (Source::Remote((*op).clone()), encoded, *op, on_durable)
            }
            None => {
                let Some(body) = tongka_machine::settle::move_of(&m, &into, &self.core.node) else {
                    return Ok(false);
                };
                let (draft, op) = self.core.draft("merge".into(), None, body)?;
                (Source::Local(draft), None, op, Box::new(|_| {}))
            }
        };
        let merged = self
            .core
            .merged
            .lock()
            .expect("merged lock")
            .contains(&m.id);
        let applied = tongka_machine::apply::move_out(&m, merged, &op).map_err(|e| e.to_string());
        // The caller's callback, answered once: by the commit of the move,
        // or by the commit that logs it as rejected (here or at the
        // survivor's refusal).
        let done = Arc::new(Mutex::new(Some(done)));
        let once = |done: &Arc<Mutex<Option<tongka_db::Done>>>| -> tongka_db::Done {
            let d = done.clone();
            Box::new(move |r| {
                if let Some(f) = d.lock().expect("done lock").take() {
                    f(r)
                }
            })
        };
        let result: Result<(), String> = match applied {
            Err(reason) => Err(reason),
            Ok(next) => {
                st.pending.fetch_add(1, Ordering::AcqRel);
                let parts = Mutex::new(Some((
                    source,
                    encoded.clone(),
                    op.clone(),
                    next.clone(),
                    once(&done),
                )));
                let other_pending = st.pending.clone();
                let sent = survivor
                    .call(
                        |reply| {
                            let (source, encoded, op, other, done) =
                                parts.lock().expect("once").take().expect("called once");
                            AccountMsg::Absorb {
                                source: Box::new(source),
                                encoded,
                                op: Box::new(op),
                                other: Box::new(other),
                                other_pending: other_pending.clone(),
                                done,
                                reply,
                            }
                        },
                        None,
                    )
                    .await;
                match sent {
                    Ok(ractor::rpc::CallResult::Success(Ok(()))) => {
                        st.member = Some(next);
                        return Ok(true);
                    }
                    Ok(ractor::rpc::CallResult::Success(Err(reason))) => {
                        st.pending.fetch_sub(1, Ordering::AcqRel);
                        Err(reason)
                    }
                    _ => {
                        st.pending.fetch_sub(1, Ordering::AcqRel);
                        return Err(EngineError::Internal(format!(
                            "survivor {into} stopped while {} moved",
                            op.id
                        )));
                    }
                }
            }
        };
        let Err(reason) = result else {
            unreachable!("success returned above")
        };
        match op.id.seq {
            // A local decision that does not apply is a bug, not an op.
            u64::MAX => Err(EngineError::Internal(reason)),
            _ => {
                tracing::warn!(op = %op.id, %reason, "remote op rejected");
                let effects = Effects {
                    rejected: Some(reason),
                    ..Effects::default()
                };
                st.pending.fetch_add(1, Ordering::AcqRel);
                let pending = st.pending.clone();
                let done = once(&done);
                self.core.submit_remote(
                    op,
                    encoded,
                    effects,
                    Box::new(move |r| {
                        pending.fetch_sub(1, Ordering::AcqRel);
                        done(r);
                    }),
                );
                Ok(true)
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // the two sides of one move
    fn absorb(
        &self,
        st: &mut AccountState,
        source: Source,
        encoded: Encoding,
        op: Op,
        other: MemberState,
        other_pending: Arc<AtomicUsize>,
        done: tongka_db::Done,
    ) -> Result<(), String> {
        let Some(m) = &st.member else {
            return Err("a move into no member".into());
        };
        let next = tongka_machine::apply::move_in(m, &op).map_err(|e| e.to_string())?;
        st.member = Some(next.clone());
        st.pending.fetch_add(1, Ordering::AcqRel);
        let pending = st.pending.clone();
        self.core.submit_source(
            source,
            encoded,
            Effects {
                member: Some(next),
                also: Some(other),
                ..Effects::default()
            },
            Box::new(move |res| {
                pending.fetch_sub(1, Ordering::AcqRel);
                other_pending.fetch_sub(1, Ordering::AcqRel);
                done(res);
            }),
        );
        Ok(())
    }
}

/// The machine's read view of an account for one remote op: its member,
/// and the order the op names.
struct AccountView<'a> {
    member: Option<&'a MemberState>,
    order: Option<&'a OrderState>,
}

impl apply::View for AccountView<'_> {
    fn member(&self, id: &MemberId) -> Option<&MemberState> {
        self.member.filter(|m| m.id == *id)
    }

    fn order(&self, id: &OrderId) -> Option<std::borrow::Cow<'_, OrderState>> {
        self.order
            .filter(|o| o.order.id == *id)
            .map(std::borrow::Cow::Borrowed)
    }
}

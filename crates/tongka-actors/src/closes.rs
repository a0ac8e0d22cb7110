//! Shift and day closes (交班 / 日结): a store closes its own shift or day
//! (`close`), previews what a close would record now (`close_preview`),
//! and keeps the closes made elsewhere (`apply_close_remote`). The rule is
//! `tongka_core::close`; this file reads what it needs and writes the op.
//!
//! Where the totals come from: the store's own ops after the previous
//! close of the kind, read from the log by origin and seq
//! (`Db::last_close` gives where it stopped, one read; `Db::ops_from` the
//! ops after it, in chunks). The cost is one decode per op covered, a
//! shift's or a day's own ops (a busy store's day: some thousands, some
//! milliseconds), never the whole log and nothing from other stores. The
//! per-day figures (`Db::figures`) would answer a whole day in one read,
//! but not a shift, and not "after the previous close" when a day was
//! closed before its last sale; one rule for both kinds was preferred.
//!
//! No two closes of one store cover the same ops: a store's closes are
//! made one at a time under `close_lock`, held from reading the previous
//! close to the new one being durable, so the next reads it. A retry with
//! the same idempotency key is answered the first close, whatever came
//! after.

use serde::{Deserialize, Serialize};
use tongka_core::clock::Hlc;
use tongka_core::close::{self, Close, CloseAsk, CloseError, CloseKind, Previous};
use tongka_core::day::Day;
use tongka_core::ids::{NodeId, OpId};
use tongka_core::op::{Op, OpBody};
pub use tongka_db::ClosedOp;
use tongka_db::Effects;

use crate::account::Encoding;
use crate::core::{durable, now_ms};
use crate::{Engine, EngineError, Idem, Outcome};

/// How many ops are read from the log at a time.
const CHUNK: usize = 2_000;

/// What a close request answers: the close made, where, when and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseOutcome {
    pub store: NodeId,
    pub at: Hlc,
    pub by: String,
    pub close: Close,
}

impl From<CloseError> for EngineError {
    fn from(e: CloseError) -> EngineError {
        EngineError::Close(e)
    }
}

impl Engine {
    /// What a close of `ask` would record now at this store (nothing is
    /// written). Refused at HQ, which closes nothing.
    pub fn close_preview(&self, ask: &CloseAsk) -> Result<Close, EngineError> {
        tongka_core::authority::may(self.role(), tongka_core::authority::Act::Close)?;
        let now = now_ms();
        self.decide_close(ask, now)
    }

    fn decide_close(&self, ask: &CloseAsk, now: u64) -> Result<Close, EngineError> {
        let node = &self.core.node;
        close::check_ask(ask)?;
        let previous = self
            .core
            .db
            .last_close(node, ask.kind)?
            .map(|c| Previous::from(c.close()));
        let today = Day::of_ms(now);
        let day = close::day_of_ask(ask, previous.as_ref(), today)?;
        let mut from = close::first_seq(previous.as_ref());
        let mut ops: Vec<Op> = Vec::new();
        loop {
            let chunk = self.core.db.ops_from(node, from, CHUNK)?;
            let n = chunk.len();
            let past = ask.kind == CloseKind::Day
                && chunk.last().is_some_and(|o| Day::of_ms(o.hlc.ms) > day);
            if let Some(last) = chunk.last() {
                from = last.id.seq + 1;
            }
            ops.extend(chunk);
            if n < CHUNK || past {
                break;
            }
        }
        Ok(close::decide(
            node,
            ask,
            previous.as_ref(),
            &ops,
            now,
            today,
        )?)
    }

    /// Close this store's shift or day: decided from the log as committed
    /// now, and committed as one `DayClosed` op. Answers once durable.
    pub async fn close(
        &self,
        by: String,
        idem: Option<Idem>,
        ask: CloseAsk,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let _serial = me.core.close_lock.lock().await;
            let at = me.core.tick();
            let decided = me.decide_close(&ask, at.ms.max(now_ms()))?;
            let body = OpBody::DayClosed {
                close: decided.clone(),
            };
            let (draft, _) = me.core.draft_at(by.clone(), idem.as_ref(), body, at)?;
            let outcome = Outcome::Close(Box::new(CloseOutcome {
                store: me.core.node.clone(),
                at,
                by,
                close: decided,
            }));
            let effects = Effects {
                idem: idem.as_ref().map(|i| i.record(&outcome)),
                ..Default::default()
            };
            let key = idem.as_ref().map(|i| i.key.clone());
            let rx = me.core.submit_local(draft, effects, key);
            durable(rx, outcome).await
        })
        .await
    }

    /// Keep a close made elsewhere: one whose figures contradict its own
    /// fields (`Close::check`) is logged as rejected.
    pub(crate) fn apply_close_remote(
        &self,
        op: Op,
        encoded: Encoding,
        on_durable: tongka_db::Done,
    ) {
        let mut effects = Effects::default();
        if let OpBody::DayClosed { close } = &op.body
            && let Err(e) = close.check()
        {
            effects.rejected = Some(e.to_string());
        }
        self.core.observe(op.hlc);
        self.core.submit_remote(op, encoded, effects, on_durable);
    }

    /// The close of op `id`.
    pub fn close_of(&self, id: &OpId) -> Result<Option<ClosedOp>, EngineError> {
        Ok(self.core.db.close_op(id)?)
    }

    /// Closes of days `from` to `to`, of `store` or every store, of
    /// `kind` or both, newest first, at most `limit`.
    pub fn closes(
        &self,
        store: Option<&NodeId>,
        kind: Option<CloseKind>,
        from: Day,
        to: Day,
        limit: usize,
    ) -> Result<Vec<ClosedOp>, EngineError> {
        Ok(self.core.db.closes(store, kind, from, to, limit)?)
    }

    /// The op that recorded `close` made here (the first answer to a close
    /// does not know its number; this finds it among the day's closes: the
    /// one equal to it, period end in ms included).
    pub fn close_op_of(&self, close: &Close) -> Result<Option<ClosedOp>, EngineError> {
        let node = &self.core.node;
        Ok(self
            .core
            .db
            .closes(
                Some(node),
                Some(close.kind),
                close.day,
                close.day,
                usize::MAX,
            )?
            .into_iter()
            .find(|c| c.close() == close))
    }
}

//! Idempotency: a request's key and fingerprint (`Idem`), the record
//! stored with its op, and running a request once per key
//! (`Engine::idempotent`), replays answered from the first answer. The
//! rule (run, replay, reused, in progress) is the machine's
//! (`tongka_machine::idem`); here are the lock, the store's records and
//! the request's task.

use tongka_db::IdemRecord;
use tongka_machine::idem::{self, InProgress, Verdict};

use crate::detach::detach;
use crate::outcome::StoredAnswerRef;
use crate::{Engine, EngineError, Outcome};

/// An idempotency key with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idem {
    pub key: String,
    pub fingerprint: [u8; 32],
}

impl Idem {
    pub(crate) fn record(&self, outcome: &Outcome) -> (String, IdemRecord) {
        let stored = match outcome {
            Outcome::CheckedOut { order, .. } => StoredAnswerRef::CheckedOut {
                order: &order.order.id,
            },
            other => StoredAnswerRef::Outcome(other),
        };
        let body = postcard::to_allocvec(&stored).expect("encoding to memory cannot fail");
        (
            self.key.clone(),
            IdemRecord {
                fingerprint: self.fingerprint,
                body,
            },
        )
    }
}

impl Engine {
    /// Start an idempotent request: `Some(answer)` if the key already
    /// answered this very request; an error if it answered another one or
    /// is still busy. The caller must call the operation next, which frees
    /// the key once committed (or refused). The rule, and why the key is
    /// held before its record is read: `tongka_machine::idem`.
    fn begin_idem(&self, idem: Option<&Idem>) -> Result<Option<Outcome>, EngineError> {
        let Some(idem) = idem else { return Ok(None) };
        self.core
            .inflight
            .lock()
            .expect("inflight lock")
            .begin(&idem.key)
            .map_err(|InProgress| EngineError::IdemInProgress(idem.key.clone()))?;
        // Read outside the lock: other keys' requests go on meanwhile.
        let found = match self.core.db.idem(&idem.key) {
            Ok(f) => f,
            Err(e) => {
                self.end_idem(Some(idem));
                return Err(e.into());
            }
        };
        let verdict = self.core.inflight.lock().expect("inflight lock").settle(
            &idem.key,
            &idem.fingerprint,
            found.as_ref().map(|r| (&r.fingerprint, &r.body)),
        );
        self.answer(idem, verdict)
    }

    /// Look up an idempotency key before the request is even parsed: the
    /// first answer if it was this very request, `idempotency_key_reused`
    /// if it was another. Nothing is reserved; the operation checks again.
    pub fn replay(&self, idem: Option<&Idem>) -> Result<Option<Outcome>, EngineError> {
        let Some(idem) = idem else { return Ok(None) };
        let found = self.core.db.idem(&idem.key)?;
        let verdict = idem::verdict(
            &idem.fingerprint,
            found.as_ref().map(|r| (&r.fingerprint, &r.body)),
        );
        self.answer(idem, verdict)
    }

    /// What a verdict answers: nothing yet (run), the stored first answer,
    /// or `idempotency_key_reused`.
    fn answer(
        &self,
        idem: &Idem,
        verdict: Verdict<&Vec<u8>>,
    ) -> Result<Option<Outcome>, EngineError> {
        match verdict {
            Verdict::Run => Ok(None),
            Verdict::Replay(body) => Ok(Some(self.stored_answer(body)?)),
            Verdict::Reused => Err(EngineError::IdemConflict(idem.key.clone())),
        }
    }

    pub(crate) fn end_idem(&self, idem: Option<&Idem>) {
        if let Some(i) = idem {
            self.core
                .inflight
                .lock()
                .expect("inflight lock")
                .end(&i.key);
        }
    }

    /// Run an idempotent operation: replay, or run `f` and free the key if
    /// it was refused before reaching the log.
    ///
    /// The operation runs to its end whatever the caller does (`detach`):
    /// a client that hangs up mid-request drops the caller's future (the
    /// HTTP handler's), but not the operation, which goes on as its own
    /// task, ends as it would have and frees the key (or commits, and its
    /// stored answer then answers for the key). Dropping the operation itself instead would leave the
    /// key in flight, every retry answered `idempotency_key_in_progress`
    /// until a restart (issue 10); and freeing the key on drop would let a
    /// retry run while the first attempt's op may already be on its way to
    /// the writer.
    pub(crate) async fn idempotent<F, Fut>(
        &self,
        idem: Option<Idem>,
        f: F,
    ) -> Result<(Outcome, bool), EngineError>
    where
        F: FnOnce(Engine, Option<Idem>) -> Fut,
        Fut: Future<Output = Result<Outcome, EngineError>> + Send + 'static,
    {
        if let Some(first) = self.begin_idem(idem.as_ref())? {
            return Ok((first, true));
        }
        let key = idem.clone();
        let op = f(self.clone(), idem);
        let me = self.clone();
        let res = detach(async move {
            let res = op.await;
            if res.is_err() {
                // Refused (nothing written) or failed: the key stays unused.
                me.end_idem(key.as_ref());
            }
            res
        })
        .await;
        res.map(|o| (o, false))
    }
}

//! Operations that run to their end even when their caller stops waiting:
//! a client hanging up drops its HTTP handler's future, and an idempotent
//! request or a profile change cut off halfway would leave its key in
//! flight or its phone number claimed until a restart (issue 10).

use std::future::Future;

use crate::EngineError;

/// Run `op` to its end even if the caller stops waiting for it (see
/// `Engine::idempotent`): awaited in place, and if the wait is dropped
/// before `op` ends, what is left of `op` goes on as its own task. In place
/// rather than spawned up front: a task and its join per request measured
/// about 18% fewer actor-layer checkouts per second (`tongka bench
/// checkout`, on a loaded 2-core machine).
pub(crate) fn detach<T: Send + 'static>(
    op: impl Future<Output = Result<T, EngineError>> + Send + 'static,
) -> Detached<T> {
    Detached(Some(Box::pin(op)))
}

type BoxedOp<T> = std::pin::Pin<Box<dyn Future<Output = Result<T, EngineError>> + Send>>;

pub(crate) struct Detached<T: Send + 'static>(Option<BoxedOp<T>>);

impl<T: Send + 'static> Future for Detached<T> {
    type Output = Result<T, EngineError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let op = self.0.as_mut().expect("polled after it ended");
        let out = op.as_mut().poll(cx);
        if out.is_ready() {
            self.0 = None;
        }
        out
    }
}

impl<T: Send + 'static> Drop for Detached<T> {
    fn drop(&mut self) {
        if let Some(op) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(op);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detached operation whose caller stops waiting goes on to its end
    /// (as an idempotent request whose client hung up must).
    #[tokio::test]
    async fn a_detached_operation_outlives_its_dropped_caller() {
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<&str>();
        let mut op = Box::pin(detach(async move {
            let _ = go_rx.await;
            let _ = done_tx.send("ended");
            Ok::<_, EngineError>(())
        }));
        // Polled once: waiting inside the operation, as on an escrow ask.
        assert!(futures_poll_once(op.as_mut()).is_pending());
        drop(op);
        go_tx.send(()).unwrap();
        assert_eq!(done_rx.await, Ok("ended"));
    }

    fn futures_poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        f.poll(&mut cx)
    }
}

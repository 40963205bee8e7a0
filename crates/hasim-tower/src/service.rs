//! The `tower::Service` the application calls, and its response future.
//!
//! The service itself holds no policy state: it hands each request to the driver task
//! (which owns the [`Client`](hasim_policy::client::Client)) over an unbounded channel
//! and waits for the call's verdict on a oneshot. So it is cheap to clone and always
//! ready: admission control is the stack's job (its limiter and breakers answer at
//! once), not backpressure through `poll_ready`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use crate::Error;

/// A request on its way to the driver.
pub(crate) struct CallMsg<Req, Rsp, E> {
    pub(crate) request: Req,
    pub(crate) hash_key: u64,
    pub(crate) reply: oneshot::Sender<Result<Rsp, Error<E>>>,
}

/// Computes a request's key for the hashing balancers (`ring_hash`, `maglev`).
pub(crate) type HashKeyFn<Req> = Arc<dyn Fn(&Req) -> u64 + Send + Sync>;

/// A `tower::Service` that sends every request through hasim's client policy stack.
///
/// Built by [`Builder::build`](crate::Builder::build). Clones share one stack (one
/// driver task): they are the same client instance, as one process's threads are.
pub struct HasimService<Req, Rsp, E> {
    pub(crate) tx: mpsc::UnboundedSender<CallMsg<Req, Rsp, E>>,
    pub(crate) hash_key: Option<HashKeyFn<Req>>,
}

impl<Req, Rsp, E> Clone for HasimService<Req, Rsp, E> {
    fn clone(&self) -> Self {
        HasimService {
            tx: self.tx.clone(),
            hash_key: self.hash_key.clone(),
        }
    }
}

impl<Req, Rsp, E> std::fmt::Debug for HasimService<Req, Rsp, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasimService")
            .field("closed", &self.tx.is_closed())
            .finish_non_exhaustive()
    }
}

impl<Req, Rsp, E> tower::Service<Req> for HasimService<Req, Rsp, E> {
    type Response = Rsp;
    type Error = Error<E>;
    type Future = ResponseFuture<Rsp, E>;

    /// Always ready while the driver runs (see the module docs); `Error::Closed` after.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.tx.is_closed() {
            Poll::Ready(Err(Error::Closed))
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let hash_key = self.hash_key.as_ref().map_or(0, |f| f(&request));
        let (reply, rx) = oneshot::channel();
        // If the driver is gone the message (and its reply sender) is dropped, so the
        // future resolves to `Error::Closed`.
        let _ = self.tx.send(CallMsg {
            request,
            hash_key,
            reply,
        });
        ResponseFuture { rx }
    }
}

/// The answer to one call: resolves when the stack finishes the call.
///
/// Dropping it does not cancel the call's attempts (the stack has no "caller gave up"
/// input; the call runs to its end and its result is discarded). Put a deadline in the
/// config to bound a call.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture<Rsp, E> {
    rx: oneshot::Receiver<Result<Rsp, Error<E>>>,
}

impl<Rsp, E> std::fmt::Debug for ResponseFuture<Rsp, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<Rsp, E> Future for ResponseFuture<Rsp, E> {
    type Output = Result<Rsp, Error<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

//! The discovery side: add, remove and re-weight endpoints while calls run.
//!
//! Like `tower::discover::Change`, endpoints are named by a key the application picks
//! (an address, a pod name). The driver maps keys to the dense
//! [`EndpointId`](hasim_policy::EndpointId)s the stack indexes by, and reuses an id
//! once its endpoint has left and no attempt or probe sent to it is still out (so a
//! late answer is never credited to a newcomer).

use hasim_policy::client::Client;
use tokio::sync::{mpsc, oneshot};

use crate::BoxRng;

/// A closure run inside the driver against the stack (see [`Handle::inspect`]).
pub(crate) type Inspect = Box<dyn FnOnce(&Client<BoxRng>) + Send>;

/// One change to the endpoint set, or a look at the stack.
pub(crate) enum Control<K, S> {
    Add {
        key: K,
        service: S,
        weight: u32,
        tier: u32,
    },
    Remove(K),
    SetWeight(K, u32),
    Inspect(Inspect),
}

/// Changes the endpoint set of a running [`HasimService`](crate::HasimService).
///
/// Changes are applied by the driver in the order they are sent, before any call
/// sent after them. Every method is fire-and-forget: it returns `false` only if the
/// driver has stopped.
pub struct Handle<K, S> {
    pub(crate) tx: mpsc::UnboundedSender<Control<K, S>>,
}

impl<K, S> Clone for Handle<K, S> {
    fn clone(&self) -> Self {
        Handle {
            tx: self.tx.clone(),
        }
    }
}

impl<K, S> std::fmt::Debug for Handle<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("closed", &self.tx.is_closed())
            .finish_non_exhaustive()
    }
}

impl<K: Send + 'static, S: Send + 'static> Handle<K, S> {
    /// Adds `service` under `key` in tier 0 with weight 1 (`Change::Insert`). A key
    /// already present gets the new service (its weight, tier and policy state stay).
    pub fn add_endpoint(&self, key: K, service: S) -> bool {
        self.add_endpoint_with(key, service, 1, 0)
    }

    /// Adds `service` under `key` with a balancing `weight` (0 counts as 1) in
    /// failover tier `tier` (0 = primary). A key already present gets the new service
    /// and weight; to move it to another tier, remove it and add it again.
    pub fn add_endpoint_with(&self, key: K, service: S, weight: u32, tier: u32) -> bool {
        self.tx
            .send(Control::Add {
                key,
                service,
                weight,
                tier,
            })
            .is_ok()
    }

    /// Removes `key` (`Change::Remove`): it is no longer picked; attempts already sent
    /// to it finish and are reported. Its breaker, health and ejection state are
    /// forgotten, so if it comes back it starts fresh. Unknown keys are ignored.
    pub fn remove_endpoint(&self, key: K) -> bool {
        self.tx.send(Control::Remove(key)).is_ok()
    }

    /// Sets `key`'s balancing weight (0 counts as 1). Unknown keys are ignored.
    pub fn set_weight(&self, key: K, weight: u32) -> bool {
        self.tx.send(Control::SetWeight(key, weight)).is_ok()
    }

    /// Runs `f` against the stack inside the driver, after every change and call sent
    /// before it, and returns its result (`None` if the driver has stopped). For
    /// tests and reports: breaker states, eligible endpoints, calls in progress.
    pub async fn inspect<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&Client<BoxRng>) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let run: Inspect = Box::new(move |client| {
            let _ = tx.send(f(client));
        });
        self.tx.send(Control::Inspect(run)).ok()?;
        rx.await.ok()
    }
}

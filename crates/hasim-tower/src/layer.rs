//! A `tower::Layer` that turns a discovery stream of endpoint services into a
//! [`HasimService`](crate::HasimService), as `tower::balance::p2c::Balance::new` does.

use std::hash::Hash;
use std::sync::Arc;

use futures_util::Stream;
use tower::discover::Change;
use tower::{BoxError, Layer, Service};

use crate::{BuildError, Builder, ServiceFor};

/// Makes the builder of each service the layer builds.
type MakeBuilder<K, S, Req> = Arc<dyn Fn() -> Builder<K, S, Req> + Send + Sync>;

/// Wraps a `tower::discover` stream (e.g. `tower::discover::ServiceList`) into a
/// [`HasimService`](crate::HasimService) whose endpoints follow the stream.
///
/// Each [`layer`](Layer::layer) call builds a new, independent client instance from
/// a fresh [`Builder`] made by the closure given to [`HasimLayer::new`] (give each its
/// own seed if several are built), and spawns its driver on the current tokio runtime.
/// Outside a runtime the service it returns is closed: every call fails with
/// [`Error::Closed`](crate::Error::Closed).
pub struct HasimLayer<K, S: Service<Req>, Req> {
    make: MakeBuilder<K, S, Req>,
}

impl<K, S: Service<Req>, Req> Clone for HasimLayer<K, S, Req> {
    fn clone(&self) -> Self {
        HasimLayer {
            make: self.make.clone(),
        }
    }
}

impl<K, S: Service<Req>, Req> std::fmt::Debug for HasimLayer<K, S, Req> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasimLayer").finish_non_exhaustive()
    }
}

impl<K, S, Req> HasimLayer<K, S, Req>
where
    K: Clone + Eq + Hash + Send + 'static,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
{
    /// A layer whose services are built by `make()`. The builder is tried once here,
    /// so a bad config or a missing probe is reported now rather than at `layer`.
    pub fn new(
        make: impl Fn() -> Builder<K, S, Req> + Send + Sync + 'static,
    ) -> Result<Self, BuildError> {
        drop(make().build_parts()?);
        Ok(HasimLayer {
            make: Arc::new(make),
        })
    }
}

impl<K, S, Req, D, DE> Layer<D> for HasimLayer<K, S, Req>
where
    K: Clone + Eq + Hash + Send + 'static,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
    D: Stream<Item = Result<Change<K, S>, DE>> + Send + 'static,
    DE: Into<BoxError> + 'static,
{
    type Service = ServiceFor<S, Req>;

    fn layer(&self, discover: D) -> Self::Service {
        let builder = (self.make)().discover(discover);
        match builder.build_parts() {
            Ok((service, _handle, driver)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(driver);
                }
                // Without a runtime the driver is dropped here, closing the service.
                service
            }
            Err(_) => {
                // `new` built the same builder successfully; an error here means
                // `make` is not deterministic. A closed service reports it per call.
                let (tx, _) = tokio::sync::mpsc::unbounded_channel();
                crate::HasimService { tx, hash_key: None }
            }
        }
    }
}

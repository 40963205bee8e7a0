//! Everything a [`HasimService`] is made of, set before it starts.

use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{FutureExt, Stream, TryStreamExt};
use hasim_policy::client::{Client, ClientConfig};
use hasim_policy::{FailureKind, Outcome};
use rand::SeedableRng;
use tokio::sync::mpsc;
use tower::discover::Change;
use tower::{BoxError, Service};

use crate::clock::Clock;
use crate::driver::{Driver, Hooks};
use crate::service::HashKeyFn;
use crate::{client_config_from_toml, ConfigError, Error, Event, Handle, HasimService};

/// The random generator the stack draws from (balancer picks, backoff jitter, probe
/// jitter, tier choice).
pub type BoxRng = Box<dyn rand::RngCore + Send>;

/// Maps an inner service's result to the outcome the stack learns.
pub type Classifier<Rsp, E> = Arc<dyn Fn(&Result<Rsp, E>) -> Outcome + Send + Sync>;

/// Sends one health probe to an endpoint (its key and a clone of its service) and
/// says whether it passed.
pub type ProbeFn<K, S> =
    Arc<dyn Fn(&K, S) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Makes the answer of a degraded call (`fallback = "degrade"`) from the last inner
/// error, if any.
pub type DegradeFn<Rsp, E> = Arc<dyn Fn(Option<E>) -> Result<Rsp, Error<E>> + Send + Sync>;

/// Sees every attempt, probe and call as the driver carries it out (for metrics).
pub type ObserveFn<K> = Box<dyn FnMut(hasim_policy::time::Instant, Event<'_, K>) + Send>;

/// The [`HasimService`] over endpoint services `S` taking `Req`.
pub type ServiceFor<S, Req> =
    HasimService<Req, <S as Service<Req>>::Response, <S as Service<Req>>::Error>;

/// A discovery stream, boxed.
pub(crate) type DiscoverStream<K, S> =
    Pin<Box<dyn Stream<Item = Result<Change<K, S>, BoxError>> + Send>>;

/// The seed used when none is given: runs are reproducible unless the user asks
/// otherwise.
pub const DEFAULT_SEED: u64 = 0;

/// The default classifier: `Ok` is a success, `Err` an error (`FailureKind::Error`).
pub fn default_classify<Rsp, E>(result: &Result<Rsp, E>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure(FailureKind::Error),
    }
}

/// Why a service could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The config is invalid (the message names the policy and the key).
    #[error("invalid client config: {0}")]
    Config(#[from] hasim_policy::ConfigError),
    /// The config has `health_check` but no probe function was given
    /// ([`Builder::probe`]): the stack cannot check health by itself.
    #[error("health_check is configured but no probe was set (Builder::probe)")]
    ProbeRequired,
    /// [`Builder::build`] was called outside a tokio runtime (use
    /// [`Builder::build_parts`] and spawn the driver yourself).
    #[error("no tokio runtime to spawn the driver on")]
    NoRuntime,
}

/// Builds a [`HasimService`] over endpoint services of type `S` (keyed by `K`) that
/// take requests of type `Req`.
///
/// ```no_run
/// # async fn demo<S>(a: S, b: S) -> Result<(), Box<dyn std::error::Error>>
/// # where S: tower::Service<String, Response = String> + Clone + Send + 'static,
/// #       S::Future: Send, S::Error: Send + 'static {
/// use hasim_tower::Builder;
/// let (service, handle) = Builder::from_toml("balancer = \"p2c\"\nretry = { attempts = 3 }")?
///     .seed(7)
///     .endpoint("a", a)
///     .endpoint("b", b)
///     .build()?;
/// handle.remove_endpoint("a");
/// # drop(service); Ok(()) }
/// ```
pub struct Builder<K, S, Req>
where
    S: Service<Req>,
{
    config: ClientConfig,
    rng: Option<BoxRng>,
    seed: u64,
    classify: Classifier<S::Response, S::Error>,
    probe: Option<ProbeFn<K, S>>,
    degrade: Option<DegradeFn<S::Response, S::Error>>,
    hash_key: Option<HashKeyFn<Req>>,
    observe: Option<ObserveFn<K>>,
    endpoints: Vec<(K, S, u32, u32)>,
    discover: Option<DiscoverStream<K, S>>,
}

impl<K, S, Req> Builder<K, S, Req>
where
    K: Clone + Eq + Hash + Send + 'static,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
{
    /// A builder for `config` (validated at [`build`](Self::build)), no endpoints,
    /// seed [`DEFAULT_SEED`], the [`default_classify`] classifier.
    pub fn new(config: ClientConfig) -> Self {
        Builder {
            config,
            rng: None,
            seed: DEFAULT_SEED,
            classify: Arc::new(default_classify),
            probe: None,
            degrade: None,
            hash_key: None,
            observe: None,
            endpoints: Vec::new(),
            discover: None,
        }
    }

    /// A builder for the policies of a scenario's `[[clients]]` table (see
    /// [`client_config_from_toml`]).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(client_config_from_toml(text)?))
    }

    /// Seeds the stack's generator (ChaCha8, as the simulator's streams). The default
    /// is [`DEFAULT_SEED`], so two runs with the same inputs make the same picks; give
    /// each process (instance) its own seed so they do not pick in lockstep.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.rng = None;
        self
    }

    /// Uses `rng` instead of a seeded ChaCha8 (e.g. `rand::rngs::StdRng::from_os_rng()`
    /// if reproducibility does not matter).
    pub fn rng(mut self, rng: impl rand::RngCore + Send + 'static) -> Self {
        self.rng = Some(Box::new(rng));
        self
    }

    /// Sets how an inner result becomes an outcome: e.g. an HTTP 503 as
    /// `Failure(Rejected)`, another 5xx as `Failure(Error)`, a refused connection as
    /// `Failure(Refused)`. Retries, breakers and outlier detection act on these kinds
    /// (their `on = [...]` lists).
    pub fn classify(
        mut self,
        f: impl Fn(&Result<S::Response, S::Error>) -> Outcome + Send + Sync + 'static,
    ) -> Self {
        self.classify = Arc::new(f);
        self
    }

    /// Sets the health probe (required when the config has `health_check`): given the
    /// endpoint's key and a clone of its service, it resolves to whether the endpoint
    /// is healthy. It is dropped (counted as failed) after `health_check.timeout`.
    pub fn probe<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&K, S) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.probe = Some(Arc::new(move |k, s| f(k, s).boxed()));
        self
    }

    /// Sets what a degraded call returns (`fallback = "degrade"`), from the last inner
    /// error if any: a cached or default response, or an error. Default:
    /// `Err(Error::Degraded)`.
    pub fn degrade(
        mut self,
        f: impl Fn(Option<S::Error>) -> Result<S::Response, Error<S::Error>> + Send + Sync + 'static,
    ) -> Self {
        self.degrade = Some(Arc::new(f));
        self
    }

    /// Sets the request's key for `ring_hash` and `maglev` (default: 0 for every
    /// request).
    pub fn hash_key(mut self, f: impl Fn(&Req) -> u64 + Send + Sync + 'static) -> Self {
        self.hash_key = Some(Arc::new(f));
        self
    }

    /// Calls `f` for every attempt sent, ended or cancelled, every probe answered and
    /// every call finished, with the stack's time (nanoseconds since the service was
    /// built). It runs inside the driver: keep it short.
    pub fn observe(
        mut self,
        f: impl FnMut(hasim_policy::time::Instant, Event<'_, K>) + Send + 'static,
    ) -> Self {
        self.observe = Some(Box::new(f));
        self
    }

    /// Adds an endpoint in tier 0 with weight 1 before the first call.
    pub fn endpoint(self, key: K, service: S) -> Self {
        self.endpoint_with(key, service, 1, 0)
    }

    /// Adds an endpoint with a weight (0 counts as 1) and a failover tier.
    pub fn endpoint_with(mut self, key: K, service: S, weight: u32, tier: u32) -> Self {
        self.endpoints.push((key, service, weight, tier));
        self
    }

    /// Follows a `tower::discover` stream of changes (any `TryStream` of
    /// `Change<K, S>`, e.g. `tower::discover::ServiceList`). It is applied as it yields;
    /// if it ends or fails, the endpoint set stays as it was (the [`Handle`] still
    /// works).
    pub fn discover<D, DE>(mut self, discover: D) -> Self
    where
        D: Stream<Item = Result<Change<K, S>, DE>> + Send + 'static,
        DE: Into<BoxError> + 'static,
    {
        self.discover = Some(Box::pin(discover.map_err(Into::into).into_stream()));
        self
    }

    /// Builds the service and spawns its driver on the current tokio runtime.
    #[allow(clippy::type_complexity)]
    pub fn build(self) -> Result<(ServiceFor<S, Req>, Handle<K, S>), BuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let (service, handle, driver) = self.build_parts()?;
        runtime.spawn(driver);
        Ok((service, handle))
    }

    /// Builds the service, its handle and the driver future, for callers that spawn
    /// the driver themselves (it must be polled for calls to progress; it ends when
    /// every service clone and handle is dropped and no call is in progress).
    #[allow(clippy::type_complexity)]
    pub fn build_parts(
        self,
    ) -> Result<(ServiceFor<S, Req>, Handle<K, S>, Driver<K, S, Req>), BuildError> {
        if self.config.health_check.is_some() && self.probe.is_none() {
            return Err(BuildError::ProbeRequired);
        }
        let clock = Clock::start();
        let rng: BoxRng = match self.rng {
            Some(rng) => rng,
            None => Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(self.seed)),
        };
        let client = Client::try_new(&self.config, clock.now(), rng)?;
        let (call_tx, call_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let hooks = Hooks {
            classify: self.classify,
            probe: self.probe,
            degrade: self.degrade,
            observe: self.observe,
            probe_timeout: self.config.health_check.as_ref().map(|h| h.timeout),
            attempt_timeout: self.config.timeout,
        };
        let mut driver = Driver::new(client, clock, hooks, call_rx, control_rx, self.discover);
        for (key, service, weight, tier) in self.endpoints {
            driver.add(key, service, weight, tier);
        }
        let service = HasimService {
            tx: call_tx,
            hash_key: self.hash_key,
        };
        Ok((service, Handle { tx: control_tx }, driver))
    }
}

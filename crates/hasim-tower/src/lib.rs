//! hasim's client policy stack behind a `tower::Service`.
//!
//! [`HasimService`] sends each request through
//! [`hasim_policy::client::Client`] — the same code `hasim run` simulates — over a
//! set of endpoint services: it picks the endpoint, applies the limiter and breakers,
//! times out attempts, retries with backoff and budget, hedges and cancels the loser,
//! ejects outliers, runs active health checks, fails over across tiers, and feeds
//! every outcome back. Build it from a scenario's `[[clients]]` table
//! ([`Builder::from_toml`]) so the configuration you simulated is the one you ship.
//!
//! ```no_run
//! # async fn demo<S>(a: S, b: S) -> Result<(), Box<dyn std::error::Error>>
//! # where S: tower::Service<String, Response = String> + Clone + Send + 'static,
//! #       S::Future: Send, S::Error: std::fmt::Debug + Send + 'static {
//! use tower::ServiceExt;
//! let (service, handle) = hasim_tower::Builder::from_toml(r#"
//!     timeout = "50ms"
//!     balancer = "p2c"
//!     retry = { attempts = 3, budget = { ratio = 0.1 } }
//! "#)?
//! .endpoint("a", a)
//! .endpoint("b", b)
//! .build()?;
//! let answer = service.oneshot("hello".to_string()).await;
//! handle.set_weight("b", 3);
//! # drop(answer); Ok(()) }
//! ```
//!
//! # How it runs
//!
//! One driver task per service owns the stack (see [`Driver`]); the service hands it
//! requests over a channel and awaits the verdict. Time is tokio's (so
//! `#[tokio::test(start_paused = true)]` runs in virtual time): the stack's `now` is
//! nanoseconds since the service was built, and its timers are served with
//! `sleep_until` (tokio's timer has millisecond resolution, so a timer fires up to
//! about 1 ms after its instant). Randomness comes from a ChaCha8 generator seeded
//! with [`DEFAULT_SEED`] unless you call [`Builder::seed`] or [`Builder::rng`]: runs
//! are reproducible by default, never seeded from OS entropy behind your back.
//!
//! # Differences from tower's balancers
//!
//! `tower::balance::p2c` picks only among endpoint services that are *ready*: it polls
//! every candidate's `poll_ready`, keeps not-ready ones aside and drives them, so
//! readiness (e.g. a connection pool being full) steers traffic. hasim never polls
//! readiness to pick. It picks by its own view — the balancer's state (in-flight
//! counts, EWMA latencies, weights), breakers, health checks and outlier ejections —
//! exactly as the simulator does, then awaits the chosen endpoint's `poll_ready` (on a
//! clone, through `ServiceExt::oneshot`) as part of that attempt; the wait counts
//! toward the attempt's timeout. An endpoint that is never ready therefore times out
//! (and feeds breakers and outlier detection) instead of being skipped. Other
//! differences: errors become outcomes through a classifier ([`Builder::classify`])
//! rather than being returned as-is; calls carry retries and hedges, so `Req: Clone`;
//! and the service is always ready (admission is the stack's limiter and breakers,
//! which answer at once).

mod builder;
mod clock;
mod config;
mod driver;
mod error;
mod handle;
mod layer;
mod service;

pub use builder::{
    default_classify, BoxRng, BuildError, Builder, Classifier, DegradeFn, ObserveFn, ProbeFn,
    ServiceFor, DEFAULT_SEED,
};
pub use config::{client_config_from_toml, ConfigError, SIMULATION_ONLY_KEYS};
pub use driver::{Driver, Event};
pub use error::Error;
pub use handle::Handle;
pub use layer::HasimLayer;
pub use service::{HasimService, ResponseFuture};

/// The policy crate this service drives (configs, outcomes, reasons).
pub use hasim_policy;

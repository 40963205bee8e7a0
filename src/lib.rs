//! hasim: a deterministic discrete-event simulator of RPC high availability.
//!
//! Simulated clients call simulated servers through the same load-balancing, retry,
//! breaker, hedging, health-check, outlier-detection and failover code a production
//! client would run, while servers crash, turn slow or get cut off.
//!
//! # Data flow
//!
//! scenario file -> [`scenario`] (typed, validated config) -> [`experiment`] (one job
//! per variant and seed, in parallel) -> [`sim`] (the world, calling [`policy`]) ->
//! [`metrics`] -> [`report`] (CSV files, charts, terminal tables). The binary only wires
//! these together.
//!
//! # Modules
//!
//! - [`time`]: `Instant` as integer nanoseconds; duration strings.
//! - [`rng`]: one ChaCha8 stream per entity and role.
//! - [`dist`]: latency and service-time distributions.
//! - [`policy`]: production policies as sans-IO state machines (no simulator inside).
//! - [`sim`]: the event loop and the parts it drives (servers, network, clients, the
//!   fault schedule, discovery, autoscaling) as state machines returning effects that
//!   `sim/world.rs` alone applies.
//! - [`scenario`]: TOML -> typed config, `--set` overrides, errors with file, line, key.
//! - [`metrics`]: the measured interval, the recorder, fault rows and recovery times,
//!   load spread, confidence intervals.
//! - [`report`]: CSV writers, paired differences, tables, charts.
//! - [`experiment`]: variants x seeds on a thread pool, results in plan order.
//!
//! # Invariants
//!
//! 1. A run is a pure function of (scenario text, overrides, seed, version): the same
//!    inputs give byte-identical outputs for any number of threads.
//! 2. Simulated time is an integer; no `f64` time.
//! 3. [`policy`] never imports the simulator, reads a clock or uses OS entropy.
//! 4. No hash-order iteration in [`policy`] and [`sim`].
//! 5. Random streams are split by entity and role (common random numbers).
//! 6. Events are a closed enum ordered by `(time, sequence)`; timers are cancelled
//!    lazily by generation.
//! 7. Everything is bounded: run length, event count, queues, attempts.
//! 8. Bad input never panics; outputs are written to a temporary name and renamed.
//!
//! The README's architecture section has the full code map.

pub mod dist;
pub mod experiment;
pub mod live;
pub mod metrics;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;

/// Every policy and the client stack: the production crate `hasim_policy`, under the
/// path the simulator has always used.
pub use hasim_policy as policy;
/// Integer simulated time and duration strings (from `hasim_policy`).
pub use hasim_policy::time;

//! The world: the event loop and the things in it (servers, network, clients).
//!
//! A run is a pure function of (scenario, seed): [`run`] builds the world, drives the
//! event loop until the measured calls have drained, and returns the metrics.

mod autoscale;
mod client;
mod discovery;
mod engine;
mod event;
mod fault;
mod health;
mod network;
mod policies;
mod server;
mod slab;
mod workload;
mod world;

pub use engine::Engine;
pub use event::{Event, Reply};

use crate::metrics::RunMetrics;
use crate::scenario::Scenario;
use crate::time::Instant;

/// What one run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Running hash of every event's (time, kind): equal for equal runs.
    pub fingerprint: u64,
    /// Events processed.
    pub events: u64,
    /// Everything measured.
    pub metrics: RunMetrics,
}

/// Why a run could not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// `run.max_events` was reached.
    #[error(
        "the run reached run.max_events = {limit} at simulated time {at}; raise run.max_events or shorten run.duration"
    )]
    TooManyEvents {
        /// The limit.
        limit: u64,
        /// Simulated time when it was reached.
        at: Instant,
    },
}

/// Runs `scenario` once with `seed`.
pub fn run(scenario: &Scenario, seed: u64) -> Result<RunOutput, RunError> {
    world::World::build(scenario, seed).run()
}

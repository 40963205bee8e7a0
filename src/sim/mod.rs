//! The world: the event loop and the things in it (servers, network, clients).
//!
//! A run is a pure function of (scenario, seed): [`run`] builds the world, drives the
//! event loop until the measured calls have drained, and returns the metrics.
//!
//! `world.rs` owns the engine and applies effects; every other file is a part that
//! returns them and imports nothing of the world: `server.rs`, `network.rs`,
//! `fault.rs` (the fault schedule, a pure function of scenario and seed),
//! `discovery.rs`, `autoscale.rs`, `client.rs` (instances and their requests),
//! `budget.rs`, and the engine (`engine.rs`, `pending.rs`, `calendar.rs`,
//! `event.rs`, `slab.rs`). `topology.rs` resolves the scenario's names into the ids of
//! `ids.rs` once, at build.

mod autoscale;
mod budget;
mod calendar;
mod chains;
mod client;
mod closed_form;
mod discovery;
mod engine;
mod event;
mod fault;
mod ids;
mod network;
mod pending;
mod quad_heap;
mod server;
mod slab;
mod topology;
mod workload;
mod world;

pub use budget::thousands;
pub use engine::Engine;
pub use event::{Event, Reply};
pub use ids::{ClientId, GroupId, PopulationId, ServerId};
// `hasim live` runs the same fault schedule and network, and draws arrivals exactly as
// the simulator does.
pub use fault::{FaultEffect, FaultSchedule, FaultStep};
pub use network::{Network, Node, NodeSet};
// `hasim live` starts its servers with the same counters.
pub(crate) use server::idle_stats;
pub use workload::Arrivals;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::RunMetrics;
use crate::scenario::Scenario;
use crate::time::Instant;

/// A small deterministic generator for the engine's randomized test schedules (no
/// RNG crate, so the schedules never move with one).
#[cfg(test)]
pub(crate) fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    }
}

/// What one run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Running hash of every event's (time, kind): equal for equal runs.
    pub fingerprint: u64,
    /// Everything measured (`metrics.summary.events` counts the events processed).
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
    /// The run's growing state passed `run.max_memory`.
    #[error(
        "the run passed its memory budget (run.max_memory = {limit}) at simulated time {at}: {what}"
    )]
    OverBudget {
        /// The budget, readable.
        limit: String,
        /// Simulated time when it was passed.
        at: Instant,
        /// What grew, and what to change.
        what: String,
    },
}

/// Runs `scenario` once with `seed`.
pub fn run(scenario: &Scenario, seed: u64) -> Result<RunOutput, RunError> {
    run_with_progress(scenario, seed, &AtomicU64::new(0))
}

/// Runs `scenario` once with `seed`, storing into `progress` now and then how far the
/// run has got, in thousandths of the simulated time to the end of the measured
/// interval (1000 when done). The run only writes it, so nothing it computes can
/// depend on who reads it or when.
pub fn run_with_progress(
    scenario: &Scenario,
    seed: u64,
    progress: &AtomicU64,
) -> Result<RunOutput, RunError> {
    let output = world::World::build(scenario, seed).run(progress);
    progress.store(1000, Ordering::Relaxed);
    output
}

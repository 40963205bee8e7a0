//! Variants x seeds: the runs of one command, in parallel, in a fixed order.
//!
//! Each run is independent (its own world and random streams), so runs go to a rayon
//! pool of `jobs` threads; results come back in the order of the plan, whatever the
//! number of threads, so every output file is the same for any `--jobs`.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::scenario::Scenario;
use crate::sim::{self, RunError, RunOutput};

/// One planned run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Variant name (`"baseline"` for `run`).
    pub variant: String,
    /// The scenario with the variant's overrides applied.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
}

/// One finished run.
#[derive(Debug)]
pub struct Finished {
    /// Variant name.
    pub variant: String,
    /// The seed.
    pub seed: u64,
    /// What the run produced.
    pub output: RunOutput,
}

/// The seeds `first, first+1, ..., first+count-1`.
pub fn seeds(first: u64, count: u64) -> Vec<u64> {
    (0..count).map(|i| first.wrapping_add(i)).collect()
}

/// Runs every plan on `jobs` threads (0 = every core). `on_done` is called after each
/// run with the number finished so far (for a progress bar).
pub fn run_plans(
    plans: &[Plan],
    jobs: usize,
    on_done: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Finished>, RunFailure> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| RunFailure::Pool(e.to_string()))?;
    let done = AtomicU64::new(0);
    pool.install(|| {
        plans
            .par_iter()
            .map(|plan| {
                let output =
                    sim::run(&plan.scenario, plan.seed).map_err(|error| RunFailure::Run {
                        variant: plan.variant.clone(),
                        seed: plan.seed,
                        error,
                    })?;
                on_done(done.fetch_add(1, Ordering::Relaxed) + 1);
                Ok(Finished {
                    variant: plan.variant.clone(),
                    seed: plan.seed,
                    output,
                })
            })
            .collect()
    })
}

/// Why a set of runs failed.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// One run hit a limit.
    #[error("variant `{variant}`, seed {seed}: {error}")]
    Run {
        /// Its variant.
        variant: String,
        /// Its seed.
        seed: u64,
        /// What happened.
        error: RunError,
    },
    /// The thread pool could not start.
    #[error("cannot start the worker threads: {0}")]
    Pool(String),
}

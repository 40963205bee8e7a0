//! Variants x seeds: the runs of one command, in parallel, in a fixed order.
//!
//! Each run is independent (its own world and random streams), so runs go to a rayon
//! pool of `jobs` threads; results come back in the order of the plan, whatever the
//! number of threads, so every output file is the same for any `--jobs`.
//!
//! `variants.rs` turns `[[variants]]` and `--vary` axes into the named override lists
//! that `compare` runs; [`plan`] turns those into one [`Plan`] per variant and seed.

mod variants;

pub use variants::{parse_vary, split_values, variants, Axis, AxisValue, Variant, VariantError};

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::scenario::{Scenario, ScenarioError};
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

/// One plan per variant and seed, variants outside and seeds inside: the order of
/// every output file. Each variant is loaded with `base.with_overrides`, so a bad value
/// fails like a bad `--set`; the error names the variant.
pub fn plan(base: &Scenario, variants: &[Variant], seeds: &[u64]) -> Result<Vec<Plan>, PlanError> {
    let mut plans = Vec::with_capacity(variants.len() * seeds.len());
    for variant in variants {
        let scenario = base
            .with_overrides(&variant.overrides)
            .map_err(|error| PlanError {
                variant: variant.name.clone(),
                error: Box::new(error),
            })?;
        plans.extend(seeds.iter().map(|&seed| Plan {
            variant: variant.name.clone(),
            scenario: scenario.clone(),
            seed,
        }));
    }
    Ok(plans)
}

/// A variant whose overrides do not make a valid scenario.
#[derive(Debug, thiserror::Error)]
#[error("variant `{variant}`: {error}")]
pub struct PlanError {
    /// The variant's name.
    pub variant: String,
    /// What is wrong, with file, key and the override that set it (boxed: errors are
    /// rare and `Result`s should stay small).
    pub error: Box<ScenarioError>,
}

/// Runs every plan on `jobs` threads (0 = every core). Each run reports how far it
/// has got into its slot of `progress` (for a progress bar); results come back in plan
/// order.
pub fn run_plans(
    plans: &[Plan],
    jobs: usize,
    progress: &Progress,
) -> Result<Vec<Finished>, RunFailure> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| RunFailure::Pool(e.to_string()))?;
    pool.install(|| {
        plans
            .par_iter()
            .zip(&progress.per_plan)
            .map(|(plan, permille)| {
                let output = sim::run_with_progress(&plan.scenario, plan.seed, permille).map_err(
                    |error| RunFailure::Run {
                        variant: plan.variant.clone(),
                        seed: plan.seed,
                        error,
                    },
                )?;
                Ok(Finished {
                    variant: plan.variant.clone(),
                    seed: plan.seed,
                    output,
                })
            })
            .collect()
    })
}

/// How far each planned run has got, for a progress bar: written by the runs,
/// read by whoever draws it.
#[derive(Debug)]
pub struct Progress {
    /// Per plan, thousandths of its simulated time (1000 when done).
    per_plan: Vec<AtomicU64>,
}

impl Progress {
    /// Nothing done yet for `plans` runs.
    pub fn new(plans: usize) -> Progress {
        Progress {
            per_plan: (0..plans).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Thousandths of all the work done.
    pub fn permille(&self) -> u64 {
        let sum: u64 = self
            .per_plan
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .sum();
        sum / self.per_plan.len().max(1) as u64
    }

    /// Runs followed.
    pub fn len(&self) -> usize {
        self.per_plan.len()
    }

    /// True when no run is followed.
    pub fn is_empty(&self) -> bool {
        self.per_plan.is_empty()
    }

    /// Runs finished.
    pub fn finished(&self) -> usize {
        self.per_plan
            .iter()
            .filter(|p| p.load(Ordering::Relaxed) >= 1000)
            .count()
    }
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

//! Variants x seeds: the runs of one command, in parallel, written in a fixed order.
//!
//! A [`Sweep`] is the plan: one scenario per variant and a range of seeds; run `i`
//! is variant `i / seeds` with seed `first + i % seeds` (see
//! [`Layout`](crate::report::Layout)). Nothing is stored per run, so memory at the
//! start does not grow with the number of seeds.
//!
//! - `variants.rs` turns `[[variants]]` and `--vary` axes into named override lists.
//! - `runner.rs` runs the plan's runs on worker threads; each run is independent (its
//!   own world and random streams).
//! - `assemble.rs` writes the runs into the output folder in plan order as they
//!   finish, taking runs already done from earlier folders (`--resume`, `merge`), and
//!   stops cleanly when asked to (Ctrl-C, SIGTERM): every output file is the same for
//!   any `--jobs`, any `--shard` split and any number of interruptions.
//! - `sweep.rs` is the whole command: check `--out`, run, write, swap the folder in.

mod assemble;
mod origins;
mod runner;
mod shard;
mod sweep;
mod variants;

pub use runner::Progress;
pub use shard::{Shard, ShardError};
pub use sweep::{merge, run_sweep, Outcome, Prepared, SweepError, SweepOptions};
pub use variants::{
    axis_columns, parse_vary, shown_value, split_values, variants, Axis, AxisValue, Variant,
    VariantError,
};

use std::sync::Arc;

use crate::metrics::RunMetrics;
use crate::report::manifest::{AxisInfo, Manifest, RunsInfo, ScenarioInfo, SeedsInfo, VariantInfo};
use crate::report::Layout;
use crate::scenario::{Override, Scenario, ScenarioError};

/// What a sweep's files are: `run` (one configuration) or `compare` (variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `hasim run`: variant `baseline`; `comparison.csv` with more than one seed.
    Run,
    /// `hasim compare`: also `comparison.csv` and `paired.csv`.
    Compare,
}

impl Kind {
    /// `run` or `compare`, as in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Compare => "compare",
        }
    }
}

/// Where a sweep's runs come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The simulator runs each (variant, seed).
    Simulate,
    /// One run already measured elsewhere (`hasim live` on real sockets): the sweep
    /// only writes it, through the same folder, manifest and charts as a simulation.
    Measured(Arc<RunMetrics>),
}

/// The plan of one command: every variant's scenario and the seeds they share.
#[derive(Debug)]
pub struct Sweep {
    /// `run` or `compare`.
    pub kind: Kind,
    /// The scenario as loaded with `--set` (no variant).
    pub base: Scenario,
    /// The `--vary` axes.
    pub axes: Vec<Axis>,
    /// The variants, in plan order.
    pub variants: Vec<Variant>,
    /// Each variant's scenario (its overrides applied).
    pub scenarios: Vec<Scenario>,
    /// The first seed.
    pub seed_first: u64,
    /// Seeds per variant.
    pub seed_count: u64,
    /// Simulated, or measured on real sockets.
    pub source: Source,
}

impl Sweep {
    /// `hasim run`: the scenario as written, one variant named `baseline`.
    pub fn single(base: Scenario, seed_first: u64, seed_count: u64) -> Sweep {
        Sweep {
            kind: Kind::Run,
            axes: Vec::new(),
            variants: vec![Variant {
                name: "baseline".to_string(),
                axes: Vec::new(),
                overrides: Vec::new(),
            }],
            scenarios: vec![base.clone()],
            base,
            seed_first,
            seed_count,
            source: Source::Simulate,
        }
    }

    /// `hasim live`: one run measured on real sockets with `seed`, written as the
    /// variant `variant`.
    pub fn measured(base: Scenario, seed: u64, variant: &str, metrics: RunMetrics) -> Sweep {
        Sweep {
            variants: vec![Variant {
                name: variant.to_string(),
                axes: Vec::new(),
                overrides: Vec::new(),
            }],
            source: Source::Measured(Arc::new(metrics)),
            ..Sweep::single(base, seed, 1)
        }
    }

    /// True for `hasim live`'s sweep, whose one run was measured, not simulated.
    pub fn is_measured(&self) -> bool {
        matches!(self.source, Source::Measured(_))
    }

    /// `hasim compare`: each variant loaded with `base.with_overrides`, so a bad value
    /// fails like a bad `--set`; the error names the variant.
    pub fn compare(
        base: Scenario,
        axes: Vec<Axis>,
        variants: Vec<Variant>,
        seed_first: u64,
        seed_count: u64,
    ) -> Result<Sweep, PlanError> {
        let scenarios = variants
            .iter()
            .map(|variant| {
                base.with_overrides(&variant.overrides)
                    .map_err(|error| PlanError {
                        variant: variant.name.clone(),
                        error: Box::new(error),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sweep {
            kind: Kind::Compare,
            base,
            axes,
            variants,
            scenarios,
            seed_first,
            seed_count,
            source: Source::Simulate,
        })
    }

    /// The layout of its files.
    pub fn layout(&self) -> Layout {
        Layout::new(
            self.base.name.clone(),
            self.variants.iter().map(|v| v.name.clone()).collect(),
            axis_columns(&self.axes),
            self.variants.iter().map(|v| v.axes.clone()).collect(),
            self.seed_first,
            self.seed_count,
        )
    }

    /// The manifest of a folder of this sweep, before its runs and files are filled
    /// in.
    pub fn manifest(&self, command: Vec<String>) -> Manifest {
        let show = |o: &Override| format!("{}={}", o.key, o.value);
        let columns = axis_columns(&self.axes);
        Manifest {
            hasim_version: env!("CARGO_PKG_VERSION").to_string(),
            command,
            kind: self.kind.as_str().to_string(),
            status: "incomplete".to_string(),
            scenario: ScenarioInfo {
                path: self.base.file.display().to_string(),
                name: self.base.name.clone(),
                sha256: crate::report::manifest::sha256_hex(self.base.text.as_bytes()),
            },
            overrides: self.base.overrides.iter().map(show).collect(),
            axes: self
                .axes
                .iter()
                .zip(columns)
                .map(|(a, column)| AxisInfo {
                    key: a.key.clone(),
                    column,
                    values: a.values.iter().map(shown_value).collect(),
                })
                .collect(),
            variants: self
                .variants
                .iter()
                .map(|v| VariantInfo {
                    name: v.name.clone(),
                    axes: v.axes.clone(),
                    overrides: v.overrides.iter().map(show).collect(),
                })
                .collect(),
            seeds: SeedsInfo {
                first: self.seed_first,
                count: self.seed_count,
            },
            slo: self.base.config.run.slo,
            baseline: None,
            shard: None,
            runs: RunsInfo {
                planned: 0,
                written: 0,
                failed: Vec::new(),
                missing: Vec::new(),
            },
            files: Vec::new(),
        }
    }
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

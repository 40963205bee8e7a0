//! The summary values of every run written, kept for the statistics that need all
//! runs: `comparison.csv`, `paired.csv` and the terminal tables.
//!
//! Values are parsed back from the cells written (see `run_rows.rs`), so the
//! statistics of a resumed or merged folder are those of one written in one go.
//! Memory is one `f64` per run and summary column.

use super::{Layout, RunRows, RunStatus};

/// One run's summary values.
#[derive(Clone, Debug, PartialEq)]
pub struct RunValues {
    /// Its variant, an index into [`Layout::variants`].
    pub variant: usize,
    /// Its seed.
    pub seed: u64,
    /// How it ended.
    pub status: RunStatus,
    /// The summary columns' values ([`summary_columns`](super::summary_columns)
    /// order), NaN where the cell is empty.
    pub values: Vec<f64>,
}

impl RunValues {
    /// The value of summary column `index`, `None` when it does not exist.
    pub fn value(&self, index: usize) -> Option<f64> {
        self.values.get(index).copied().filter(|v| v.is_finite())
    }
}

/// Every run written so far, in plan order, with the layout that names them.
#[derive(Clone, Debug)]
pub struct Results {
    /// The sweep's layout.
    pub layout: Layout,
    /// The runs, in plan order.
    pub runs: Vec<RunValues>,
}

impl Results {
    /// No runs yet.
    pub fn new(layout: Layout) -> Results {
        Results {
            layout,
            runs: Vec::new(),
        }
    }

    /// Records run `index` (runs must come in plan order).
    pub fn push(&mut self, index: usize, rows: &RunRows) {
        let (variant, seed) = self.layout.split(index);
        self.push_run(variant, seed, rows);
    }

    /// Records a run of `variant` with `seed`.
    pub fn push_run(&mut self, variant: usize, seed: u64, rows: &RunRows) {
        self.runs.push(RunValues {
            variant,
            seed,
            status: rows.status,
            values: rows.values(),
        });
    }

    /// Runs that failed.
    pub fn failed(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status == RunStatus::Failed)
            .count()
    }

    /// The variants that have runs, in plan order, each with its runs.
    pub fn by_variant(&self) -> Vec<(usize, Vec<&RunValues>)> {
        let mut groups: Vec<(usize, Vec<&RunValues>)> = Vec::new();
        for run in &self.runs {
            // Plan order keeps a variant's runs together.
            match groups.last_mut().filter(|(v, _)| *v == run.variant) {
                Some((_, members)) => members.push(run),
                None => groups.push((run.variant, vec![run])),
            }
        }
        groups
    }

    /// The name of variant `v`.
    pub fn name(&self, v: usize) -> &str {
        &self.layout.variants[v]
    }
}

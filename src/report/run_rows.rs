//! One run's rows as CSV text, the unit that is written, read back, resumed and
//! merged.
//!
//! A run's cells are formatted once, when it finishes (see the module docs of
//! `report` for the rules). Reading them back from a folder gives the same strings,
//! and every statistic is computed from those strings (floats are written in
//! shortest round-trip form, so parsing gives back the exact value). So a folder
//! written in one go, one resumed after an interruption and one merged from shards
//! hold the same bytes.

use super::format;
use crate::metrics::{Cell, RunMetrics, ServerRow, Summary, WindowRow};

/// How a run ended (`summary.csv`'s `status` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// It finished; its rows hold its measurements.
    Ok,
    /// It stopped at a limit (`run.max_events`): its summary cells are empty and it
    /// has no window, server or fault rows. The manifest says why.
    Failed,
}

impl RunStatus {
    /// The cell text.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
        }
    }

    /// Reads a cell back.
    pub fn parse(text: &str) -> Option<RunStatus> {
        match text {
            "ok" => Some(RunStatus::Ok),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// One run's cells, without the label columns (scenario, variant, axes, seed) that
/// the writer puts in front from the [`Layout`](super::Layout).
#[derive(Clone, Debug, PartialEq)]
pub struct RunRows {
    /// How it ended.
    pub status: RunStatus,
    /// `summary.csv`: the summary columns (`calls` ... ), without `status`.
    pub summary: Vec<String>,
    /// `timeseries.csv` rows, one per window.
    pub windows: Vec<Vec<String>>,
    /// `servers.csv` rows.
    pub servers: Vec<Vec<String>>,
    /// `faults.csv` rows.
    pub faults: Vec<Vec<String>>,
}

impl RunRows {
    /// The rows of a finished run.
    pub fn from_metrics(metrics: &RunMetrics) -> RunRows {
        RunRows {
            status: RunStatus::Ok,
            summary: texts(&metrics.summary.columns()),
            windows: metrics
                .windows
                .iter()
                .map(|w| texts(&w.columns()))
                .collect(),
            servers: metrics
                .servers
                .iter()
                .map(|s| texts(&s.columns()))
                .collect(),
            faults: metrics.faults.iter().map(|f| texts(&f.columns())).collect(),
        }
    }

    /// The rows of a run that failed: empty summary cells, nothing else.
    pub fn failed() -> RunRows {
        RunRows {
            status: RunStatus::Failed,
            summary: vec![String::new(); summary_columns().len()],
            windows: Vec::new(),
            servers: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// The summary values as numbers (NaN for an empty cell), in
    /// [`summary_columns`] order.
    pub fn values(&self) -> Vec<f64> {
        self.summary
            .iter()
            .map(|c| c.parse::<f64>().ok().filter(|v| v.is_finite()))
            .map(|v| v.unwrap_or(f64::NAN))
            .collect()
    }
}

fn texts(cells: &[(&str, Cell<'_>)]) -> Vec<String> {
    cells.iter().map(|(_, c)| format::cell(c)).collect()
}

/// The summary columns after the labels (every one numeric), in file order.
pub fn summary_columns() -> Vec<&'static str> {
    Summary::default()
        .columns()
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

/// The `timeseries.csv` columns after the labels.
pub(crate) fn window_columns() -> Vec<&'static str> {
    WindowRow::default()
        .columns()
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

/// The `servers.csv` columns after the labels.
pub(crate) fn server_columns() -> Vec<&'static str> {
    ServerRow::default()
        .columns()
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

/// The `faults.csv` columns after the labels.
pub(crate) fn fault_columns() -> Vec<&'static str> {
    crate::metrics::FaultRow::default()
        .columns()
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

/// Every fixed column name of every file, so an axis label that would repeat one
/// can be told apart (`experiment` names such an axis by its whole key).
pub fn reserved_column_names() -> Vec<&'static str> {
    let mut names = vec![
        "scenario",
        "variant",
        "seed",
        "status",
        "metric",
        "mean",
        "stddev",
        "ci95_low",
        "ci95_high",
        "runs",
        "baseline",
    ];
    names.extend(summary_columns());
    names.extend(window_columns());
    names.extend(server_columns());
    names.extend(fault_columns());
    names
}

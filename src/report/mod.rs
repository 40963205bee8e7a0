//! Reports: the CSV files of SCENARIO.md ("Output files") and the terminal table.
//!
//! # Formatting (part of the determinism contract)
//!
//! - Integers are written as integers.
//! - Floats are written in Rust's shortest round-trip form (`{}`): the fewest digits
//!   that read back to the same `f64`, never an exponent, identical on every
//!   platform. Nothing is lost (an availability of 0.9999999 is not rounded to 1) and
//!   values that are short in decimal stay short (`1.5`, `0.999`). `-0` is written
//!   as `0`.
//! - A value that does not exist (a ratio over zero calls, latency without `ok`
//!   calls, a standard deviation of one run) is an empty cell, never 0 or NaN.
//! - `t_s` is the window start in seconds from the start of the measured interval.
//! - Rows follow the order of the records given, then windows in time order and
//!   servers in the simulator's order: no maps, no wall time, so writing the same
//!   records twice gives byte-identical files.
//!
//! Every file is written to a temporary name in the output folder and renamed, so an
//! interrupted run leaves either the old file or the new one, never half of one.

mod atomic;
mod compare_table;
mod csv;
#[cfg(test)]
mod fixture;
mod format;
mod paired;
pub mod plot;
mod table;

use std::path::PathBuf;

use crate::metrics::RunMetrics;

pub use self::compare_table::comparison_table;
pub use self::csv::{write_comparison_csv, write_run_csvs};
pub use self::paired::write_paired_csv;
pub use self::table::summary_table;

/// One run's metrics with the labels that identify it in the files.
///
/// Borrowed, so a sweep can report thousands of runs without copying them.
#[derive(Clone, Copy, Debug)]
pub struct RunRecord<'a> {
    /// Scenario name (`summary.csv` only).
    pub scenario: &'a str,
    /// Variant name (`"baseline"` for `run`).
    pub variant: &'a str,
    /// The seed of the run.
    pub seed: u64,
    /// What the run measured.
    pub metrics: &'a RunMetrics,
}

/// A report file could not be written; names the file so the user knows where to
/// look (a full disk, a read-only folder).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The output folder could not be created.
    #[error("cannot create output folder {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing, syncing or renaming a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file (its final name, not the temporary one).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CSV encoder failed (in practice an I/O error underneath).
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        /// The file (its final name).
        path: PathBuf,
        /// Why.
        source: ::csv::Error,
    },
}

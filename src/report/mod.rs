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
//! # A run owns its folder
//!
//! Every command writes its whole output set into a temporary folder beside the
//! target and swaps it in at the end ([`OutputFolder`]), with a `manifest.json` that
//! lists every file ([`Manifest`]): a folder never mixes two runs' files, and an
//! interruption leaves the old folder or the new one, never half of one. Finished
//! runs are appended to the per-run files as they finish ([`RunFiles`]) and can be
//! read back ([`FolderRuns`]) to resume a sweep or merge shards.

mod atomic;
mod compare_table;
mod csv;
#[cfg(test)]
mod fixture;
pub mod folder;
mod format;
mod layout;
pub mod manifest;
mod paired;
pub mod plot;
mod results;
mod run_rows;
mod source;
mod stream;
mod table;

use std::path::PathBuf;

pub use self::compare_table::comparison_table;
pub use self::csv::write_comparison_csv;
pub use self::folder::{FolderError, OutputFolder};
pub use self::layout::Layout;
pub use self::manifest::Manifest;
pub use self::paired::write_paired_csv;
pub use self::results::{Results, RunValues};
pub use self::run_rows::{reserved_column_names, summary_columns, RunRows, RunStatus};
pub use self::source::{runs_in, FolderRuns};
pub use self::stream::RunFiles;
pub use self::table::{key as variant_key, summary_table};

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
    /// A file of an earlier run could not be read back.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ::csv::Error,
    },
    /// A file read back does not belong to this sweep.
    #[error("{}: {message}", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What does not match.
        message: String,
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

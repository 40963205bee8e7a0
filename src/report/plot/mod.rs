//! Charts drawn from the CSV files of an output folder alone (SCENARIO.md, "Output
//! files"), each written as SVG and PNG.
//!
//! | chart | from | shows |
//! |---|---|---|
//! | `availability` | `timeseries.csv` (+ `faults.csv`) | availability per window over time, one line per variant, faults shaded, SLO dashed |
//! | `latency` | `timeseries.csv` (+ `faults.csv`) | p50 (dashed) and p99 (solid) per window over time |
//! | `load` | `servers.csv` | each server's share of the attempts, grouped by variant |
//! | `comparison` | `comparison.csv` | availability, p99, attempts per call and load spread per variant, mean with 95% CI |
//!
//! Because the charts read only the files, `hasim run` and `hasim plot DIR` share
//! one path ([`draw_all`]), and a folder copied from another machine redraws the
//! same. With several seeds, the time series show per variant the mean over seeds of
//! each window (the subtitles say so). `summary.csv` gives the scenario name for the
//! titles and the variant order, so a variant has the same color in every chart.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (no system fonts). The
//! same files give byte-identical SVGs and PNGs. Each file is written to a temporary
//! name and renamed.

mod availability;
mod comparison;
mod csv_input;
mod frame;
mod latency;
mod load;
mod output;
mod raster;
mod scale;
mod style;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use self::availability::Availability;
use self::comparison::Comparison;
use self::csv_input::{read_faults, read_windows, Context};
use self::latency::Latency;
use self::load::Load;
use self::output::write_chart;

/// What the CSV files do not say.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PlotOptions {
    /// The per-window availability objective (`run.slo`), drawn as a dashed line on
    /// the availability chart; `None` draws no line (`hasim plot DIR` has no
    /// scenario file to read it from).
    pub slo: Option<f64>,
}

/// A chart could not be drawn; names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The folder has none of the CSV files the charts are drawn from.
    #[error("no chart inputs in {}: expected timeseries.csv, servers.csv or comparison.csv", dir.display())]
    NoInputs {
        /// The folder.
        dir: PathBuf,
    },
    /// A CSV file could not be read or parsed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: csv::Error,
    },
    /// A CSV file lacks a column a chart needs.
    #[error("{} has no column `{column}`", path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// A cell that should be a number is not.
    #[error("{}:{line}: column `{column}` is not a number: {value:?}", path.display())]
    BadNumber {
        /// The file.
        path: PathBuf,
        /// Its line (1-based).
        line: u64,
        /// The column.
        column: String,
        /// The cell.
        value: String,
    },
    /// plotters failed to draw (in practice: a font problem).
    #[error("cannot draw {}: {message}", path.display())]
    Draw {
        /// The chart file.
        path: PathBuf,
        /// plotters' message.
        message: String,
    },
    /// Writing or renaming a chart file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file (its final name).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Draws every chart whose inputs are in `dir` and returns the files written, in
/// the order availability, latency, load, comparison (SVG then PNG of each).
///
/// `comparison` is drawn only when `comparison.csv` holds two or more variants (so
/// `run --seeds N` draws the first three, `compare` all four). A folder with none
/// of the inputs is an error ([`PlotError::NoInputs`]).
pub fn draw_all(dir: &Path, options: &PlotOptions) -> Result<Vec<PathBuf>, PlotError> {
    let mut written = draw_timeseries(dir, options)?;
    written.extend(draw_load(dir)?);
    let comparison = Comparison::read(dir, Context::read(dir)?)?;
    if let Some(chart) = comparison.filter(|c| c.variants() >= 2) {
        written.extend(write_chart(dir, &chart)?);
    }
    let has_comparison = dir.join("comparison.csv").is_file();
    if written.is_empty() && !has_comparison {
        return Err(PlotError::NoInputs {
            dir: dir.to_path_buf(),
        });
    }
    Ok(written)
}

/// Draws `availability.svg`/`.png` from `timeseries.csv` (and `faults.csv` if
/// present); returns the files written, none if `timeseries.csv` is absent.
pub fn draw_availability(dir: &Path, options: &PlotOptions) -> Result<Vec<PathBuf>, PlotError> {
    let mut ctx = Context::read(dir)?;
    let Some(windows) = read_windows(dir, &mut ctx)? else {
        return Ok(Vec::new());
    };
    let chart = Availability::new(ctx, &windows, read_faults(dir)?, options);
    write_chart(dir, &chart)
}

/// Draws `load.svg`/`.png` from `servers.csv`; returns the files written, none if
/// `servers.csv` is absent.
pub fn draw_load(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    match Load::read(dir, Context::read(dir)?)? {
        Some(chart) => write_chart(dir, &chart),
        None => Ok(Vec::new()),
    }
}

/// Draws `comparison.svg`/`.png` from `comparison.csv`, whatever the number of
/// variants; returns the files written, none if `comparison.csv` is absent.
pub fn draw_comparison(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    match Comparison::read(dir, Context::read(dir)?)? {
        Some(chart) => write_chart(dir, &chart),
        None => Ok(Vec::new()),
    }
}

/// Availability and latency share one read of `timeseries.csv` and `faults.csv`.
fn draw_timeseries(dir: &Path, options: &PlotOptions) -> Result<Vec<PathBuf>, PlotError> {
    let mut ctx = Context::read(dir)?;
    let Some(windows) = read_windows(dir, &mut ctx)? else {
        return Ok(Vec::new());
    };
    let faults = read_faults(dir)?;
    let availability = Availability::new(ctx.clone(), &windows, faults.clone(), options);
    let mut written = write_chart(dir, &availability)?;
    written.extend(write_chart(dir, &Latency::new(ctx, &windows, faults))?);
    Ok(written)
}

//! `summary.csv`, `timeseries.csv`, `servers.csv`, `faults.csv` and `comparison.csv`.
//!
//! Headers come from the row types' column lists (`Summary::columns`, ...), so a
//! header can never disagree with its rows.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use super::format;
use super::{ReportError, RunRecord};
use crate::metrics::stats::mean_stddev_ci95;
use crate::metrics::{Cell, FaultRow, RunMetrics, ServerRow, Summary, WindowRow};

/// A CSV writer to a temporary file.
pub(super) type Sink<'a> = ::csv::Writer<&'a mut BufWriter<File>>;

/// Writes `summary.csv`, `timeseries.csv`, `servers.csv` and `faults.csv` into `dir`
/// (created if missing): a header row, then one row per record (and window, server
/// or fault), in the order given.
pub fn write_run_csvs(dir: &Path, runs: &[RunRecord]) -> Result<(), ReportError> {
    create_dir(dir)?;
    write_atomic(&dir.join("summary.csv"), |out| write_summary(out, runs))?;
    write_atomic(&dir.join("timeseries.csv"), |out| {
        write_per_run::<WindowRow>(out, runs)
    })?;
    write_atomic(&dir.join("servers.csv"), |out| {
        write_per_run::<ServerRow>(out, runs)
    })?;
    write_atomic(&dir.join("faults.csv"), |out| {
        write_per_run::<FaultRow>(out, runs)
    })
}

/// Writes `comparison.csv` into `dir` (created if missing): for every variant, in
/// order of first appearance, and every numeric `summary.csv` column, in file order,
/// the mean over its runs, the sample standard deviation and a 95% Student-t
/// interval.
///
/// A run whose value is empty (for example latency with no `ok` call) is left out of
/// that metric, and `runs` says how many runs remained.
pub fn write_comparison_csv(dir: &Path, runs: &[RunRecord]) -> Result<(), ReportError> {
    create_dir(dir)?;
    write_atomic(&dir.join("comparison.csv"), |out| {
        write_comparison(out, runs)
    })
}

/// Creates the output folder and its parents.
pub(super) fn create_dir(dir: &Path) -> Result<(), ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `path` whole or not at all (see [`atomic`](super::atomic)), with `body`
/// filling a CSV writer.
pub(super) fn write_atomic(
    path: &Path,
    body: impl FnOnce(&mut Sink) -> ::csv::Result<()>,
) -> Result<(), ReportError> {
    let io_err = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    super::atomic::write(
        path,
        |file| {
            let mut out = ::csv::Writer::from_writer(file);
            body(&mut out).map_err(|source| ReportError::Csv {
                path: path.to_path_buf(),
                source,
            })?;
            out.flush().map_err(io_err)
        },
        io_err,
    )
}

/// Writes one record: the label cells, then the row's cells.
fn write_row(out: &mut Sink, labels: &[String], cells: &[(&str, Cell<'_>)]) -> ::csv::Result<()> {
    let fields = labels
        .iter()
        .cloned()
        .chain(cells.iter().map(|(_, c)| format::cell(c)));
    out.write_record(fields)
}

/// Writes a header: the label names, then the row's column names.
fn write_header(out: &mut Sink, labels: &[&str], cells: &[(&str, Cell<'_>)]) -> ::csv::Result<()> {
    let names = labels.iter().copied().chain(cells.iter().map(|(n, _)| *n));
    out.write_record(names)
}

/// `summary.csv`: `scenario,variant,seed` then the summary columns.
fn write_summary(out: &mut Sink, runs: &[RunRecord]) -> ::csv::Result<()> {
    write_header(
        out,
        &["scenario", "variant", "seed"],
        &Summary::default().columns(),
    )?;
    for run in runs {
        let labels = [
            run.scenario.to_string(),
            run.variant.to_string(),
            run.seed.to_string(),
        ];
        write_row(out, &labels, &run.metrics.summary.columns())?;
    }
    Ok(())
}

/// The rows a run has many of: windows (`timeseries.csv`), servers (`servers.csv`),
/// faults (`faults.csv`). Each file is `variant,seed` then the row's columns.
trait PerRunRow: Default + Sized {
    /// This run's rows of this kind.
    fn of(metrics: &RunMetrics) -> &[Self];
    /// The row's columns, named.
    fn cells(&self) -> Vec<(&'static str, Cell<'_>)>;
}

impl PerRunRow for WindowRow {
    fn of(metrics: &RunMetrics) -> &[Self] {
        &metrics.windows
    }
    fn cells(&self) -> Vec<(&'static str, Cell<'_>)> {
        self.columns()
    }
}

impl PerRunRow for ServerRow {
    fn of(metrics: &RunMetrics) -> &[Self] {
        &metrics.servers
    }
    fn cells(&self) -> Vec<(&'static str, Cell<'_>)> {
        self.columns()
    }
}

impl PerRunRow for FaultRow {
    fn of(metrics: &RunMetrics) -> &[Self] {
        &metrics.faults
    }
    fn cells(&self) -> Vec<(&'static str, Cell<'_>)> {
        self.columns()
    }
}

/// One file of `R` rows: a header, then every run's rows in the given order.
fn write_per_run<R: PerRunRow>(out: &mut Sink, runs: &[RunRecord]) -> ::csv::Result<()> {
    write_header(out, &["variant", "seed"], &R::default().cells())?;
    for run in runs {
        let labels = [run.variant.to_string(), run.seed.to_string()];
        for row in R::of(run.metrics) {
            write_row(out, &labels, &row.cells())?;
        }
    }
    Ok(())
}

/// The variants in order of first appearance, each with its runs in the given order.
pub(crate) fn by_variant<'r, 'a>(
    runs: &'r [RunRecord<'a>],
) -> Vec<(&'a str, Vec<&'r RunRecord<'a>>)> {
    let mut groups: Vec<(&'a str, Vec<&'r RunRecord<'a>>)> = Vec::new();
    for run in runs {
        match groups.iter_mut().find(|(v, _)| *v == run.variant) {
            Some((_, members)) => members.push(run),
            None => groups.push((run.variant, vec![run])),
        }
    }
    groups
}

/// `comparison.csv`: one row per variant and numeric summary column.
fn write_comparison(out: &mut Sink, runs: &[RunRecord]) -> ::csv::Result<()> {
    out.write_record([
        "variant",
        "metric",
        "mean",
        "stddev",
        "ci95_low",
        "ci95_high",
        "runs",
    ])?;
    let metrics: Vec<&str> = Summary::default()
        .columns()
        .iter()
        .map(|(name, _)| *name)
        .collect();
    for (variant, members) in by_variant(runs) {
        let columns: Vec<_> = members
            .iter()
            .map(|r| r.metrics.summary.columns())
            .collect();
        for (i, metric) in metrics.iter().enumerate() {
            let samples: Vec<f64> = columns.iter().filter_map(|c| c[i].1.as_f64()).collect();
            let s = mean_stddev_ci95(&samples);
            let labels = [variant.to_string(), metric.to_string()];
            out.write_record(labels.into_iter().chain(format::stats(&s)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, record};

    /// The contract headers, verbatim from SCENARIO.md ("Output files").
    const SUMMARY: &str = "scenario,variant,seed,calls,ok,degraded,failed,availability,failed_timeout,failed_error,failed_refused,failed_rejected,failed_breaker_open,failed_no_server,attempts,attempts_per_call,latency_mean_ms,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_p999_ms,latency_max_ms,load_max_over_mean,load_cv,load_jain,windows,windows_meeting_slo,events";
    const TIMESERIES: &str = "variant,seed,t_s,calls,ok,failed,availability,latency_p50_ms,latency_p99_ms,attempts,servers_up";
    const SERVERS: &str = "variant,seed,server,group,zone,tier,received,served,rejected,errors,share,utilization,up_fraction";
    const COMPARISON: &str = "variant,metric,mean,stddev,ci95_low,ci95_high,runs";

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn run_csvs_have_the_contract_headers_and_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out/nested");
        let (a, b) = (metrics(1000, 990, 1.5), metrics(0, 0, 0.0));
        write_run_csvs(&dir, &[record("p2c", 7, &a), record("rr", 8, &b)]).unwrap();

        let summary = read(&dir, "summary.csv");
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines[0], format!("{SUMMARY},failed_unfinished"));
        assert_eq!(
            lines[1],
            "demo,p2c,7,1000,990,0,10,0.99,10,0,0,0,0,0,1010,1.01,1.5,1.5,1.5,3,4.5,6,1.25,0.125,0.96,2,1,10000,0"
        );
        // No calls: ratios and latencies are empty cells, counts are 0.
        assert_eq!(
            lines[2],
            "demo,rr,8,0,0,0,0,,0,0,0,0,0,0,0,,,,,,,,1.25,0.125,0.96,2,1,0,0"
        );
        assert_eq!(lines.len(), 3);

        let timeseries = read(&dir, "timeseries.csv");
        let expected = format!(
            "{TIMESERIES},degraded\n\
             p2c,7,0,1000,990,10,0.99,1.5,3,1010,2,0\n\
             p2c,7,0.5,0,0,0,,,,0,1,0\n\
             rr,8,0,0,0,0,,,,0,2,0\n\
             rr,8,0.5,0,0,0,,,,0,1,0\n"
        );
        assert_eq!(timeseries, expected);

        let servers = read(&dir, "servers.csv");
        let expected = format!(
            "{SERVERS}\n\
             p2c,7,api[0],api,a,0,1000,1000,0,0,0.5,0.25,1\n\
             p2c,7,api[1],api,a,0,10,10,0,0,0.5,0.25,1\n\
             rr,8,api[0],api,a,0,0,0,0,0,0.5,0.25,1\n\
             rr,8,api[1],api,a,0,0,0,0,0,0.5,0.25,1\n"
        );
        assert_eq!(servers, expected);

        let faults = read(&dir, "faults.csv");
        let expected = "variant,seed,fault,kind,target,start_s,end_s,calls_failed,time_to_drain_s,time_to_recover_s\n\
             p2c,7,0,crash,api[0],1,2,10,0.5,\n\
             rr,8,0,crash,api[0],1,2,0,0.5,\n";
        assert_eq!(faults, expected);

        // Only the four files: no temporary file is left behind.
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["faults.csv", "servers.csv", "summary.csv", "timeseries.csv"]
        );
    }

    #[test]
    fn writing_twice_is_byte_identical() {
        let (a, b) = (metrics(1000, 990, 1.5), metrics(3, 1, 0.1 + 0.2));
        let runs = [record("p2c", 1, &a), record("p2c", 2, &b)];
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [one.path(), two.path(), two.path()] {
            write_run_csvs(dir, &runs).unwrap();
            write_comparison_csv(dir, &runs).unwrap();
        }
        for name in [
            "summary.csv",
            "timeseries.csv",
            "servers.csv",
            "comparison.csv",
        ] {
            let (x, y) = (
                fs::read(one.path().join(name)).unwrap(),
                fs::read(two.path().join(name)).unwrap(),
            );
            assert_eq!(x, y, "{name}");
        }
        // Shortest round-trip floats: every digit kept.
        assert!(read(one.path(), "summary.csv").contains(",0.30000000000000004,"));
    }

    #[test]
    fn comparison_rows_per_variant_and_metric() {
        let tmp = tempfile::tempdir().unwrap();
        let (a1, a2, b) = (
            metrics(1000, 990, 1.0),
            metrics(1000, 970, 3.0),
            metrics(0, 0, 0.0),
        );
        let runs = [
            record("p2c", 1, &a1),
            record("rr", 1, &b),
            record("p2c", 2, &a2),
        ];
        write_comparison_csv(tmp.path(), &runs).unwrap();
        let text = read(tmp.path(), "comparison.csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COMPARISON);
        let metrics_per_variant = Summary::default().columns().len();
        assert_eq!(lines.len(), 1 + 2 * metrics_per_variant);
        // Variants in first-appearance order, metrics in summary column order.
        assert_eq!(lines[1], "p2c,calls,1000,0,1000,1000,2");
        assert!(lines[1 + metrics_per_variant].starts_with("rr,calls,"));
        // Latency mean over 2 runs: mean 2, stddev sqrt(2), half-width t(1) sqrt(2)/sqrt(2).
        let row = lines
            .iter()
            .find(|l| l.starts_with("p2c,latency_p50_ms,"))
            .unwrap();
        let cells: Vec<f64> = row.split(',').skip(2).map(|c| c.parse().unwrap()).collect();
        assert_eq!(cells[0], 2.0);
        assert!((cells[1] - 2f64.sqrt()).abs() < 1e-12);
        assert!((cells[2] - (2.0 - 12.706204736174705)).abs() < 1e-9);
        assert!((cells[3] - (2.0 + 12.706204736174705)).abs() < 1e-9);
        assert_eq!(cells[4], 2.0);
        // One run: no stddev, no interval. A metric with no values: only `runs` = 0.
        assert_eq!(lines[1 + metrics_per_variant], "rr,calls,0,,,,1");
        assert!(lines.contains(&"rr,latency_p50_ms,,,,,0"));
    }

    #[test]
    fn errors_name_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("file");
        fs::write(&blocker, "x").unwrap();
        let err = write_run_csvs(&blocker.join("out"), &[]).unwrap_err();
        assert!(matches!(err, ReportError::CreateDir { .. }));
        assert!(err.to_string().contains("file/out"), "{err}");
        // A folder where the file should go: the rename fails, naming the file.
        let dir = tmp.path().join("out");
        fs::create_dir_all(dir.join("comparison.csv")).unwrap();
        let err = write_comparison_csv(&dir, &[]).unwrap_err();
        assert!(err.to_string().contains("comparison.csv"), "{err}");
        let leftovers = fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file was removed");
    }
}

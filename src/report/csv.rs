//! `comparison.csv`, and the atomic writing every whole-file output uses.
//!
//! The per-run files are written as runs finish (`stream.rs`); `comparison.csv` and
//! `paired.csv` need every run, so they are written at the end from [`Results`].

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use super::format;
use super::{ReportError, Results};
use crate::metrics::stats::mean_stddev_ci95;

/// A CSV writer to a temporary file.
pub(super) type Sink<'a> = ::csv::Writer<&'a mut BufWriter<File>>;

/// Writes `comparison.csv` into `dir` (created if missing): for every variant with
/// runs, in plan order, and every numeric `summary.csv` column, in file order, the
/// mean over its runs, the sample standard deviation and a 95% Student-t interval.
/// After `variant` come the `--vary` axis columns, as in `summary.csv`.
///
/// A run whose value is empty (latency with no `ok` call, a failed run) is left out
/// of that metric, and `runs` says how many runs remained.
pub fn write_comparison_csv(dir: &Path, results: &Results) -> Result<(), ReportError> {
    create_dir(dir)?;
    write_atomic(&dir.join("comparison.csv"), |out| {
        write_comparison(out, results)
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

/// `comparison.csv`: one row per variant and numeric summary column.
fn write_comparison(out: &mut Sink, results: &Results) -> ::csv::Result<()> {
    let layout = &results.layout;
    let header = ["variant"]
        .into_iter()
        .map(str::to_string)
        .chain(layout.axes.iter().cloned())
        .chain(
            ["metric", "mean", "stddev", "ci95_low", "ci95_high", "runs"]
                .into_iter()
                .map(str::to_string),
        );
    out.write_record(header)?;
    let metrics = super::summary_columns();
    for (variant, members) in results.by_variant() {
        for (i, metric) in metrics.iter().enumerate() {
            let samples: Vec<f64> = members.iter().filter_map(|r| r.value(i)).collect();
            let s = mean_stddev_ci95(&samples);
            let labels = std::iter::once(layout.variants[variant].clone())
                .chain(layout.axis_values[variant].iter().cloned())
                .chain(std::iter::once(metric.to_string()));
            out.write_record(labels.chain(format::stats(&s)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, results};
    use crate::report::{summary_columns, RunFiles};

    /// The contract headers, verbatim from SCENARIO.md ("Output files").
    const SUMMARY: &str = "scenario,variant,seed,calls,ok,degraded,failed,availability,failed_timeout,failed_error,failed_refused,failed_rejected,failed_breaker_open,failed_no_server,attempts,attempts_per_call,latency_mean_ms,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_p999_ms,latency_max_ms,load_max_over_mean,load_cv,load_jain,windows,windows_meeting_slo,events";
    const TIMESERIES: &str = "variant,seed,t_s,calls,ok,failed,availability,latency_p50_ms,latency_p99_ms,attempts,servers_up";
    const SERVERS: &str = "variant,seed,server,group,zone,tier,received,served,rejected,errors,share,utilization,up_fraction";
    const COMPARISON: &str = "variant,metric,mean,stddev,ci95_low,ci95_high,runs";

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn run_files_have_the_contract_headers_and_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (a, b) = (metrics(1000, 990, 1.5), metrics(0, 0, 0.0));
        let (res, runs) = results(&[("p2c", 7, &a), ("rr", 8, &b)]);
        let mut files = RunFiles::create(dir, &res.layout).unwrap();
        for (index, rows) in &runs {
            files.append(&res.layout, *index, rows).unwrap();
        }
        files.finish().unwrap();

        let summary = read(dir, "summary.csv");
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines[0], format!("{SUMMARY},failed_unfinished,status"));
        assert_eq!(
            lines[1],
            "demo,p2c,7,1000,990,0,10,0.99,10,0,0,0,0,0,1010,1.01,1.5,1.5,1.5,3,4.5,6,1.25,0.125,0.96,2,1,10000,0,ok"
        );
        // No calls: ratios and latencies are empty cells, counts are 0.
        assert_eq!(
            lines[2],
            "demo,rr,8,0,0,0,0,,0,0,0,0,0,0,0,,,,,,,,1.25,0.125,0.96,2,1,0,0,ok"
        );
        assert_eq!(lines.len(), 3);

        let timeseries = read(dir, "timeseries.csv");
        let expected = format!(
            "{TIMESERIES},degraded\n\
             p2c,7,0,1000,990,10,0.99,1.5,3,1010,2,0\n\
             p2c,7,0.5,0,0,0,,,,0,1,0\n\
             rr,8,0,0,0,0,,,,0,2,0\n\
             rr,8,0.5,0,0,0,,,,0,1,0\n"
        );
        assert_eq!(timeseries, expected);

        let servers = read(dir, "servers.csv");
        let expected = format!(
            "{SERVERS}\n\
             p2c,7,api[0],api,a,0,1000,1000,0,0,0.5,0.25,1\n\
             p2c,7,api[1],api,a,0,10,10,0,0,0.5,0.25,1\n\
             rr,8,api[0],api,a,0,0,0,0,0,0.5,0.25,1\n\
             rr,8,api[1],api,a,0,0,0,0,0,0.5,0.25,1\n"
        );
        assert_eq!(servers, expected);

        let faults = read(dir, "faults.csv");
        let expected = "variant,seed,fault,kind,target,start_s,end_s,calls_failed,time_to_drain_s,time_to_recover_s\n\
             p2c,7,0,crash,api[0],1,2,10,0.5,\n\
             rr,8,0,crash,api[0],1,2,0,0.5,\n";
        assert_eq!(faults, expected);

        // Read back, the runs are the same rows.
        let mut back = crate::report::FolderRuns::open(dir, &res.layout).unwrap();
        for (index, rows) in &runs {
            assert_eq!(back.take(&res.layout, *index).unwrap().as_ref(), Some(rows));
        }
    }

    #[test]
    fn comparison_rows_per_variant_and_metric() {
        let tmp = tempfile::tempdir().unwrap();
        let (a1, a2, b) = (
            metrics(1000, 990, 1.0),
            metrics(1000, 970, 3.0),
            metrics(0, 0, 0.0),
        );
        let (res, _) = results(&[("p2c", 1, &a1), ("p2c", 2, &a2), ("rr", 1, &b)]);
        write_comparison_csv(tmp.path(), &res).unwrap();
        let text = read(tmp.path(), "comparison.csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COMPARISON);
        let metrics_per_variant = summary_columns().len();
        assert_eq!(lines.len(), 1 + 2 * metrics_per_variant);
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
        let (res, _) = results(&[]);
        // A folder where the file should go: the rename fails, naming the file.
        let dir = tmp.path().join("out");
        fs::create_dir_all(dir.join("comparison.csv")).unwrap();
        let err = write_comparison_csv(&dir, &res).unwrap_err();
        assert!(err.to_string().contains("comparison.csv"), "{err}");
        let leftovers = fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "the temporary file was removed");
    }
}

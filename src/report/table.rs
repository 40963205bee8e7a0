//! The short summary table printed on the terminal after a run or a comparison.
//!
//! It is for a person glancing at results, so it rounds (3 decimals for ms and
//! ratios); the CSV files keep every digit. Availability is truncated, never rounded
//! up, so `1.000000` always means that every call succeeded.

use super::csv::by_variant;
use super::RunRecord;
use crate::metrics::Summary;

/// The table's columns: header and how to get the value from a run's summary.
type Column = (&'static str, fn(&Summary) -> Option<f64>, fn(f64) -> String);

/// Columns after `variant` and `seeds`.
const COLUMNS: [Column; 7] = [
    ("calls", |s| Some(s.calls as f64), count),
    ("availability", |s| s.availability, availability),
    ("p50_ms", |s| s.latency_p50_ms, fixed3),
    ("p99_ms", |s| s.latency_p99_ms, fixed3),
    ("attempts/call", |s| s.attempts_per_call, fixed3),
    ("load_max/mean", |s| s.load_max_over_mean, fixed3),
    ("slo_windows", |s| Some(s.windows_meeting_slo as f64), count),
];

/// One row per variant (in order of first appearance) with the mean over its seeds,
/// columns aligned; `-` where no run has a value. `slo_windows` is shown as
/// `meeting/total`. Ends with a newline.
pub fn summary_table(runs: &[RunRecord]) -> String {
    let mut rows: Vec<Vec<String>> = vec![["variant", "seeds"]
        .into_iter()
        .chain(COLUMNS.iter().map(|c| c.0))
        .map(str::to_string)
        .collect()];
    for (variant, members) in by_variant(runs) {
        let mut row = vec![variant.to_string(), members.len().to_string()];
        for (_, value, show) in COLUMNS {
            let values: Vec<f64> = members
                .iter()
                .filter_map(|r| value(&r.metrics.summary))
                .collect();
            row.push(mean(&values).map_or_else(|| "-".to_string(), show));
        }
        let total: Vec<f64> = members
            .iter()
            .map(|r| r.metrics.summary.windows as f64)
            .collect();
        if let (Some(last), Some(total)) = (row.last_mut(), mean(&total)) {
            *last = format!("{last}/{}", count(total));
        }
        rows.push(row);
    }
    align(&rows)
}

/// Mean of the values, `None` if there are none.
pub(super) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A count, or a mean of counts: an integer when whole, else one decimal.
pub(super) fn count(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Three decimals.
pub(super) fn fixed3(x: f64) -> String {
    format!("{x:.3}")
}

/// Six decimals, truncated rather than rounded so 0.9999996 does not show as 1.
pub(super) fn availability(x: f64) -> String {
    let long = format!("{x:.12}");
    match long.find('.') {
        Some(dot) => long[..dot + 7].to_string(),
        None => long,
    }
}

/// Left-aligns the first column, right-aligns the others, two spaces apart.
pub(super) fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| match i {
                0 => format!("{c:<w$}", w = widths[i]),
                _ => format!("{c:>w$}", w = widths[i]),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, record};

    #[test]
    fn one_row_per_variant_with_means() {
        let a1 = metrics(1000, 990, 1.0);
        let a2 = metrics(1000, 980, 3.0);
        let b = metrics(0, 0, 0.0);
        let runs = [
            record("p2c", 1, &a1),
            record("rr", 1, &b),
            record("p2c", 2, &a2),
        ];
        let table = summary_table(&runs);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[0].starts_with("variant  seeds  calls  availability"),
            "{table}"
        );
        let p2c: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(p2c[..4], ["p2c", "2", "1000", "0.985000"], "{table}");
        assert_eq!(p2c[4], "2.000", "{table}");
        let rr: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(rr[..5], ["rr", "1", "0", "-", "-"], "{table}");
        // Every line has the same width up to trailing spaces: the columns align.
        let width = |l: &str| l.len();
        assert_eq!(width(lines[1]), width(lines[2]));
    }

    #[test]
    fn availability_is_truncated() {
        assert_eq!(availability(0.9999996), "0.999999");
        assert_eq!(availability(0.999), "0.999000");
        assert_eq!(availability(1.0), "1.000000");
        assert_eq!(count(118.5), "118.5");
        assert_eq!(count(120.0), "120");
    }
}

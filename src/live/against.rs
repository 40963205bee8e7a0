//! A live run held against the simulator: the same scenario, several seeds.
//!
//! The simulator's runs give a mean and a 95% t-interval per metric; the live value
//! is "within" when it is no farther from the simulated mean than the metric's stated
//! tolerance (the interval alone would be too strict: a live run has sources of noise
//! the simulator does not model, such as timer granularity and scheduling).

use crate::metrics::stats::mean_stddev_ci95;
use crate::metrics::{RunMetrics, Summary};

/// How far a live value may be from the simulated mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// An absolute difference.
    Abs(f64),
    /// A relative difference (of the simulated mean), with an absolute floor for
    /// values near zero.
    Rel(f64, f64),
}

impl Tolerance {
    /// True if `live` is within tolerance of `sim`.
    pub fn holds(self, sim: f64, live: f64) -> bool {
        let d = (live - sim).abs();
        match self {
            Tolerance::Abs(t) => d <= t,
            Tolerance::Rel(r, floor) => d <= (r * sim.abs()).max(floor),
        }
    }

    fn show(self) -> String {
        match self {
            Tolerance::Abs(t) => format!("±{t}"),
            Tolerance::Rel(r, _) => format!("±{:.0}%", r * 100.0),
        }
    }
}

/// One metric compared.
#[derive(Clone, Debug)]
pub struct Row {
    /// What (`availability`, `share web[3]`, ...).
    pub metric: String,
    /// The simulated mean.
    pub sim_mean: f64,
    /// The 95% interval of the simulated mean.
    pub sim_ci95: (f64, f64),
    /// The live value.
    pub live: f64,
    /// The tolerance.
    pub tolerance: Tolerance,
    /// Whether the live value is within it.
    pub within: bool,
}

/// A summary metric, as a ratio per call where it is a count.
type Metric = (&'static str, fn(&Summary) -> Option<f64>, Tolerance);

/// The summary metrics compared, with their tolerances (README, "Simulated vs real").
pub const METRICS: [Metric; 6] = [
    ("availability", |s| s.availability, Tolerance::Abs(0.01)),
    (
        "attempts_per_call",
        |s| s.attempts_per_call,
        Tolerance::Abs(0.02),
    ),
    (
        "breaker_open_per_call",
        |s| per_call(s, s.failed_breaker_open),
        Tolerance::Rel(0.15, 0.002),
    ),
    (
        "timeout_per_call",
        |s| per_call(s, s.failed_timeout),
        Tolerance::Rel(0.15, 0.002),
    ),
    (
        "latency_p50_ms",
        |s| s.latency_p50_ms,
        Tolerance::Rel(0.25, 0.5),
    ),
    (
        "latency_p99_ms",
        |s| s.latency_p99_ms,
        Tolerance::Rel(0.25, 1.0),
    ),
];

/// Each server's share of attempts may differ by this much.
pub const SHARE_TOLERANCE: Tolerance = Tolerance::Abs(0.03);

fn per_call(s: &Summary, count: u64) -> Option<f64> {
    (s.calls > 0).then(|| count as f64 / s.calls as f64)
}

/// Compares `live` with the simulator's `sims` (one per seed): the summary metrics,
/// then every server's share of the load.
pub fn compare(live: &RunMetrics, sims: &[RunMetrics]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut push = |metric: String, sim: Vec<f64>, live: Option<f64>, tolerance: Tolerance| {
        let Some(live) = live else { return };
        if sim.is_empty() {
            return;
        }
        let stats = mean_stddev_ci95(&sim);
        let (lo, hi) = if stats.ci95_low.is_finite() {
            (stats.ci95_low, stats.ci95_high)
        } else {
            (stats.mean, stats.mean)
        };
        rows.push(Row {
            metric,
            sim_mean: stats.mean,
            sim_ci95: (lo, hi),
            live,
            tolerance,
            within: tolerance.holds(stats.mean, live),
        });
    };
    for (name, get, tol) in METRICS {
        let sim: Vec<f64> = sims.iter().filter_map(|m| get(&m.summary)).collect();
        push(name.to_string(), sim, get(&live.summary), tol);
    }
    for (i, server) in live.servers.iter().enumerate() {
        let sim: Vec<f64> = sims
            .iter()
            .filter_map(|m| m.servers.get(i).and_then(|s| s.share))
            .collect();
        push(
            format!("share {}", server.server),
            sim,
            server.share,
            SHARE_TOLERANCE,
        );
    }
    rows
}

/// The rows as an aligned table for the terminal. Ends with a newline.
pub fn table(rows: &[Row], seeds: usize) -> String {
    let mut out = vec![vec![
        "metric".to_string(),
        format!("sim mean ({seeds} seeds)"),
        "sim 95% interval".to_string(),
        "live".to_string(),
        "tolerance".to_string(),
        "within".to_string(),
    ]];
    for r in rows {
        out.push(vec![
            r.metric.clone(),
            format!("{:.4}", r.sim_mean),
            format!("[{:.4}, {:.4}]", r.sim_ci95.0, r.sim_ci95.1),
            format!("{:.4}", r.live),
            r.tolerance.show(),
            if r.within { "yes" } else { "NO" }.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..out[0].len())
        .map(|c| out.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in &out {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

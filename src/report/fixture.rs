//! Hand-built run metrics for the report tests.

use super::{Layout, Results, RunRows};
use crate::metrics::FaultRow;
use crate::metrics::{RunMetrics, ServerRow, Summary, WindowRow};

/// A run with `calls` calls of which `ok` succeeded, median latency `p50_ms`, two
/// windows and two servers.
pub(crate) fn metrics(calls: u64, ok: u64, p50_ms: f64) -> RunMetrics {
    let latency = (ok > 0).then_some(p50_ms);
    let summary = Summary {
        calls,
        ok,
        failed: calls - ok,
        availability: (calls > 0).then(|| ok as f64 / calls as f64),
        failed_timeout: calls - ok,
        attempts: calls + (calls - ok),
        attempts_per_call: (calls > 0).then(|| (2 * calls - ok) as f64 / calls as f64),
        latency_mean_ms: latency,
        latency_p50_ms: latency,
        latency_p90_ms: latency,
        latency_p99_ms: latency.map(|l| l * 2.0),
        latency_p999_ms: latency.map(|l| l * 3.0),
        latency_max_ms: latency.map(|l| l * 4.0),
        load_max_over_mean: Some(1.25),
        load_cv: Some(0.125),
        load_jain: Some(0.96),
        windows: 2,
        windows_meeting_slo: 1,
        events: 10 * calls,
        ..Summary::default()
    };
    let windows = vec![
        WindowRow {
            t_s: 0.0,
            calls,
            ok,
            failed: calls - ok,
            availability: summary.availability,
            latency_p50_ms: latency,
            latency_p99_ms: summary.latency_p99_ms,
            attempts: summary.attempts,
            servers_up: 2,
            degraded: 0,
        },
        WindowRow {
            t_s: 0.5,
            servers_up: 1,
            ..WindowRow::default()
        },
    ];
    let server = |i: u32, received: u64| ServerRow {
        server: format!("api[{i}]"),
        group: "api".to_string(),
        zone: "a".to_string(),
        tier: 0,
        received,
        served: received,
        share: Some(0.5),
        utilization: Some(0.25),
        up_fraction: Some(1.0),
        ..ServerRow::default()
    };
    RunMetrics {
        summary,
        windows,
        servers: vec![server(0, calls), server(1, calls - ok)],
        faults: vec![FaultRow {
            fault: 0,
            kind: "crash".into(),
            target: "api[0]".into(),
            start_s: 1.0,
            end_s: 2.0,
            calls_failed: calls - ok,
            time_to_drain_s: Some(0.5),
            time_to_recover_s: None,
        }],
    }
}

/// The runs of scenario `demo` given as `(variant, seed, metrics)`, in order: the
/// results and each run's plan index and rows. Variants are numbered in order of
/// first appearance; the layout's seeds span the smallest to the largest given.
pub(crate) fn results(runs: &[(&str, u64, &RunMetrics)]) -> (Results, Vec<(usize, RunRows)>) {
    let mut variants: Vec<String> = Vec::new();
    for (v, _, _) in runs {
        if !variants.iter().any(|n| n == v) {
            variants.push(v.to_string());
        }
    }
    let first = runs.iter().map(|r| r.1).min().unwrap_or(0);
    let last = runs.iter().map(|r| r.1).max().unwrap_or(0);
    let n = variants.len();
    let layout = Layout::new(
        "demo".into(),
        variants,
        vec![],
        vec![vec![]; n],
        first,
        last - first + 1,
    );
    let mut res = Results::new(layout.clone());
    let mut out = Vec::new();
    for (v, seed, m) in runs {
        let index = layout.index_of(v, *seed).unwrap();
        let rows = RunRows::from_metrics(m);
        res.push(index, &rows);
        out.push((index, rows));
    }
    (res, out)
}

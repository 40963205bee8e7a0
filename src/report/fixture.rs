//! Hand-built run metrics for the report tests.

use super::RunRecord;
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

/// A record of scenario `demo`.
pub(crate) fn record<'a>(variant: &'a str, seed: u64, metrics: &'a RunMetrics) -> RunRecord<'a> {
    RunRecord {
        scenario: "demo",
        variant,
        seed,
        metrics,
    }
}

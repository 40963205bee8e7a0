//! Bugs found in review, each pinned by the scenario that showed it.

mod common;

use common::scenario;
use hasim::metrics::RunMetrics;

fn run(text: &str) -> RunMetrics {
    hasim::sim::run(&scenario(text, &[]), 1).unwrap().metrics
}

/// With `panic_threshold = 0` panic mode never starts, so every endpoint can be
/// ineligible at once: the call fails with `no_server` instead of panicking.
#[test]
fn no_eligible_endpoint_without_panic_mode_fails_the_call() {
    let m = run(r#"
[run]
duration = "10s"
[[servers]]
group = "api"
count = 1
service = "1ms"
error_rate = 0.9
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 200 }
panic_threshold = 0.0
breaker = { scope = "endpoint", minimum_calls = 5, window_size = 10 }
"#);
    assert!(
        m.summary.failed_no_server > 0,
        "calls fail with no_server while the breaker is open"
    );
}

/// A hedge that cannot be sent (here: the limiter is full) is simply not sent; the
/// attempt already out still answers the call.
#[test]
fn a_hedge_that_cannot_go_out_leaves_the_call_alone() {
    let text = r#"
[run]
duration = "60s"
[[servers]]
group = "api"
count = 4
service = { dist = "exponential", mean = "10ms" }
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 50 }
limiter = { kind = "concurrency", max = 1 }
"#;
    let plain = run(text);
    let hedged = run(&format!("{text}hedge = {{ delay = \"10ms\" }}\n"));
    let slowest = hedged.summary.latency_max_ms.unwrap();
    assert!(
        slowest > 20.0,
        "calls slower than the hedge delay still succeed (max {slowest} ms)"
    );
    let (a, b) = (
        plain.summary.availability.unwrap(),
        hedged.summary.availability.unwrap(),
    );
    assert!(
        b >= a - 0.02,
        "hedging must not cost availability: {b} vs {a} without"
    );
}

/// A server that expires and comes back gets one probe chain, not two: probe load
/// (probe_cost) stays what the interval says.
#[test]
fn a_returning_endpoint_is_probed_once_per_interval() {
    let text = r#"
[run]
duration = "100s"
[discovery]
kind = "registry"
heartbeat = "1s"
ttl = "2s"
propagation = "100ms"
[[servers]]
group = "api"
count = 1
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 1 }
health_check = { interval = "10s", probe_cost = "500ms" }
"#;
    let quiet = run(text);
    let crashed = run(&format!(
        "{text}[[faults]]\nkind = \"crash\"\ntarget = \"api[0]\"\nat = \"12s\"\nduration = \"4s\"\n"
    ));
    let (u0, u1) = (
        quiet.servers[0].utilization.unwrap(),
        crashed.servers[0].utilization.unwrap(),
    );
    assert!((u0 - 0.05).abs() < 0.005, "one 500 ms probe per 10 s: {u0}");
    assert!(
        u1 < u0 * 1.2,
        "no second probe chain after the restart: {u1} vs {u0}"
    );
}

/// A server the autoscaler retired stays down even when a crash fault on it ends.
#[test]
fn a_retired_server_stays_down_after_its_crash_ends() {
    let m = run(r#"
[run]
duration = "60s"
window = "1s"
[discovery]
kind = "registry"
[[servers]]
group = "api"
count = 4
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 10 }
[autoscale]
group = "api"
min = 1
max = 4
interval = "5s"
scale_down_stabilization = "5s"
[[faults]]
kind = "crash"
target = "api[3]"
at = "2s"
duration = "50s"
"#);
    let last = m.windows.last().unwrap().servers_up;
    assert_eq!(
        last, 1,
        "scaled down to one server, and the crashed one did not come back"
    );
}

/// A token bucket limits calls, not attempts (POLICIES.md): retries of an admitted
/// call do not spend tokens, so 200 calls/s get through and each may retry.
#[test]
fn token_bucket_counts_calls_not_retries() {
    let m = run(r#"
[run]
duration = "20s"
[[servers]]
group = "api"
count = 2
service = "1ms"
error_rate = 0.5
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 400 }
limiter = { kind = "token_bucket", rate = 200, burst = 10 }
retry = { attempts = 3, backoff = { base = "0s", max = "0s", jitter = "none" } }
"#);
    let admitted = (m.summary.calls - m.summary.failed_rejected) as f64;
    assert!(
        (admitted / 4000.0 - 1.0).abs() < 0.02,
        "200 calls/s admitted: {admitted}"
    );
    let per_call = m.summary.attempts as f64 / admitted;
    assert!(
        (per_call - 1.75).abs() < 0.05,
        "admitted calls retry freely: {per_call} attempts each"
    );
}

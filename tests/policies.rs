//! Policies through whole scenarios, against results we did not write
//! (VALIDATION.md): power of two choices, retry formulas.

mod common;

use common::{assert_matches_theory, per_seed, scenario};

/// N single-worker exponential servers (mean 1 ms) at per-server load `lambda`, one
/// client (so its in-flight counts are the true queue lengths), no network delay.
fn farm(n: u32, lambda: f64, balancer: &str, seconds: u32) -> String {
    format!(
        r#"
[run]
duration = "{seconds}s"
warmup = "2s"
[network]
latency = "0s"
[[servers]]
group = "q"
count = {n}
service = {{ dist = "exponential", mean = "1ms" }}
[[clients]]
name = "c"
target = "q"
balancer = {balancer}
arrival = {{ process = "poisson", rate = {rate} }}
"#,
        rate = lambda * 1000.0 * f64::from(n)
    )
}

/// VALIDATION.md: N = 10, lambda = 0.9, two distinct picks: T = 2.972 +- 0.016 (a
/// simulation of the exact model); random routing would give 10, the N -> infinity
/// limit 2.6141.
#[test]
fn p2c_reproduces_power_of_two_choices() {
    let s = scenario(
        &farm(
            10,
            0.9,
            r#"{ kind = "p2c", choices = 2, distinct = true }"#,
            240,
        ),
        &[],
    );
    let samples = per_seed(&s, 1..9, |s| s.latency_mean_ms.unwrap());
    // The reference has its own uncertainty (+-0.016): widen by it.
    let (mean, half) = common::interval_99(&samples);
    assert!(half < 0.05, "interval too wide: {mean} +- {half}");
    assert!(
        (mean - 2.972).abs() <= half + 0.016,
        "p2c N=10 lambda=0.9: simulated {mean:.4} +- {half:.4}, reference 2.972 +- 0.016"
    );
    assert!(mean > 2.6141, "finite N is slower than the limit");
    eprintln!(
        "p2c N=10 lambda=0.9: simulated {mean:.4} +- {half:.4} (99%), reference 2.972 +- 0.016"
    );
}

/// Power of d choices against random (d = 1): the supermarket model's gain is large.
#[test]
fn more_choices_beat_random() {
    let random = scenario(&farm(10, 0.7, "\"random\"", 60), &[]);
    let p2c = scenario(&farm(10, 0.7, "\"p2c\"", 60), &[]);
    let mean = |s| common::interval_99(&per_seed(s, 1..5, |s| s.latency_mean_ms.unwrap())).0;
    let (r, p) = (mean(&random), mean(&p2c));
    assert!((r - 1.0 / 0.3).abs() < 0.1, "random is M/M/1: {r}");
    assert!(p < 0.6 * r, "p2c {p} vs random {r}");
}

/// Independent failures with probability p and k attempts: success 1 - p^k,
/// attempts per call (1 - p^k) / (1 - p).
#[test]
fn retries_follow_the_retry_formulas() {
    for (p, k) in [(0.5f64, 3u32), (0.2, 2)] {
        let text = farm(4, 0.1, "\"random\"", 100)
            .replace("count = 4", &format!("count = 4\nerror_rate = {p}"))
            + &format!(
                "retry = {{ attempts = {k}, backoff = {{ base = \"1ms\", max = \"1ms\" }} }}\n"
            );
        let s = scenario(&text, &[]);
        let success = 1.0 - p.powi(k as i32);
        let attempts = success / (1.0 - p);
        assert_matches_theory(
            &format!("availability p={p} k={k}"),
            &per_seed(&s, 1..9, |s| s.availability.unwrap()),
            success,
            0.01,
        );
        assert_matches_theory(
            &format!("attempts/call p={p} k={k}"),
            &per_seed(&s, 1..9, |s| s.attempts_per_call.unwrap()),
            attempts,
            0.01,
        );
    }
}

/// A retry budget caps attempts per call near 1 + ratio however bad failures get.
#[test]
fn retry_budget_bounds_attempts() {
    let text = farm(4, 0.1, "\"random\"", 100).replace("count = 4", "count = 4\nerror_rate = 0.9")
        + "retry = { attempts = 5, backoff = { base = \"1ms\", max = \"1ms\" }, budget = { ratio = 0.2, min_per_sec = 0 } }\n";
    let s = scenario(&text, &[]);
    for attempts in per_seed(&s, 1..4, |s| s.attempts_per_call.unwrap()) {
        assert!(
            attempts <= 1.2 + 0.01,
            "attempts/call {attempts} exceeds 1 + ratio"
        );
        assert!(attempts > 1.15, "the budget is used: {attempts}");
    }
}

/// A breaker around a crashed server lets through exactly the calls its rules
/// predict. One closed-loop caller thinks 10 ms between calls, so every call time is
/// known; each admitted call is refused 0.2 ms later (two 0.1 ms network legs). The
/// expected counts come from replaying the resilience4j rules (count window of 10,
/// failure rate 0.5, 1 s open, 2 half-open permits) in this test, independently of
/// the implementation.
#[test]
fn breaker_around_a_crashed_server_admits_what_its_rules_predict() {
    let text = r#"
[run]
duration = "20s"
[network]
latency = "100us"
[[servers]]
group = "api"
count = 1
service = "1ms"
[[clients]]
name = "c"
target = "api"
arrival = { process = "closed", concurrency = 1, think = "10ms" }
breaker = { window_size = 10, minimum_calls = 10, failure_rate = 0.5, wait_in_open = "1s", half_open_calls = 2 }
[[faults]]
kind = "crash"
target = "api"
mode = "refuse"
"#;
    let m = hasim::sim::run(&scenario(text, &[]), 1).unwrap().metrics;

    // The rules, replayed. Times in microseconds.
    let (think, round_trip, wait, end) = (10_000u64, 200u64, 1_000_000u64, 20_000_000u64);
    enum State {
        Closed { failures: u32 },
        Open { since: u64 },
        HalfOpen { admitted: u32, failed: u32 },
    }
    let (mut state, mut t) = (State::Closed { failures: 0 }, think);
    let (mut admitted, mut rejected) = (0u64, 0u64);
    while t < end {
        if let State::Open { since } = state {
            if t > since + wait {
                state = State::HalfOpen {
                    admitted: 0,
                    failed: 0,
                };
            }
        }
        let admit = match &mut state {
            State::Closed { .. } => true,
            State::HalfOpen { admitted, .. } if *admitted < 2 => {
                *admitted += 1;
                true
            }
            _ => false,
        };
        if !admit {
            rejected += 1;
            t += think; // rejected at once, then think
            continue;
        }
        admitted += 1;
        let done = t + round_trip;
        state = match state {
            State::Closed { failures } if failures + 1 >= 10 => State::Open { since: done },
            State::Closed { failures } => State::Closed {
                failures: failures + 1,
            },
            State::HalfOpen { admitted, failed } if failed + 1 >= 2 => {
                let _ = admitted;
                State::Open { since: done }
            }
            State::HalfOpen { admitted, failed } => State::HalfOpen {
                admitted,
                failed: failed + 1,
            },
            open => open,
        };
        t = done + think;
    }
    eprintln!("breaker: predicted {admitted} admitted, {rejected} rejected; simulated {} attempts, {} breaker_open", m.summary.attempts, m.summary.failed_breaker_open);
    assert_eq!(m.summary.attempts, admitted, "calls let through");
    assert_eq!(m.summary.failed_refused, admitted, "each of them refused");
    assert_eq!(m.summary.failed_breaker_open, rejected, "calls failed fast");
    assert_eq!(m.summary.calls, admitted + rejected);
    assert!(
        admitted > 10 + 2 * 15,
        "about two probes per second after the first ten"
    );
}

/// `fallback = "degrade"`: calls that cannot succeed are degraded, not failed; a
/// client token bucket at half the offered rate rejects about half of the calls.
#[test]
fn fallback_degrades_and_token_bucket_limits() {
    let base = r#"
[run]
duration = "20s"
[[servers]]
group = "api"
count = 2
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 400 }
"#;
    let down = format!("{base}fallback = \"degrade\"\n[[faults]]\nkind = \"crash\"\ntarget = \"api\"\nat = \"10s\"\n");
    let m = hasim::sim::run(&scenario(&down, &[]), 1)
        .unwrap()
        .metrics
        .summary;
    assert_eq!(m.failed, 0, "nothing fails outright");
    assert_eq!(m.ok + m.degraded, m.calls);
    let half = m.degraded as f64 / m.calls as f64;
    assert!(
        (half - 0.5).abs() < 0.03,
        "the second half is degraded: {half}"
    );

    let limited =
        format!("{base}limiter = {{ kind = \"token_bucket\", rate = 200, burst = 10 }}\n");
    let m = hasim::sim::run(&scenario(&limited, &[]), 1)
        .unwrap()
        .metrics
        .summary;
    let passed = m.attempts as f64 / (20.0 * 200.0);
    assert!(
        (passed - 1.0).abs() < 0.02,
        "the bucket lets through its rate: {passed}"
    );
    assert_eq!(
        m.failed_rejected + m.ok,
        m.calls,
        "the rest is rejected at the client"
    );
}

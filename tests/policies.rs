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

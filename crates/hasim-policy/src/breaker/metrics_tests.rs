//! `Breaker::metrics`: what each state's deciding window holds, driven through the
//! public calls only. resilience4j reports a rate of `-1` below the minimum; here it is
//! `None`.

use std::time::Duration;

use super::*;
use crate::FailureKind;

fn breaker(config: &str) -> Breaker {
    Breaker::try_new(&toml::from_str(config).expect("config parses")).expect("valid")
}

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * 1_000_000)
}

const FAIL: Outcome = Outcome::Failure(FailureKind::Error);
const FAST: Duration = Duration::from_millis(1);
const SLOW: Duration = Duration::from_secs(61);

/// Admits one call at `now` and reports `outcome` after `latency`.
fn call(b: &mut Breaker, now: Instant, outcome: Outcome, latency: Duration) {
    assert!(matches!(b.admit(now), Admit::Allow | Admit::Probe));
    b.on_outcome(now, outcome, latency);
}

#[test]
fn a_count_window_reports_rates_once_it_holds_its_minimum() {
    let mut b = breaker("window_size = 4\nminimum_calls = 4\nslow_call_rate = 1.0");
    call(&mut b, ms(1), FAIL, FAST);
    call(&mut b, ms(2), Outcome::Success, SLOW);
    let m = b.metrics(ms(2));
    assert_eq!((m.buffered_calls, m.failed_calls, m.slow_calls), (2, 1, 1));
    assert_eq!(
        (m.failure_rate, m.slow_call_rate),
        (None, None),
        "below the minimum"
    );
    assert!(b.admit(ms(3)) == Admit::Allow);
    assert_eq!(b.metrics(ms(3)).calls_in_flight, 1);
    b.on_outcome(ms(3), Outcome::Success, FAST);
    call(&mut b, ms(4), Outcome::Success, FAST);
    let m = b.metrics(ms(4));
    assert_eq!(m.buffered_calls, 4);
    assert_eq!((m.failure_rate, m.slow_call_rate), (Some(0.25), Some(0.25)));
    assert_eq!(m.calls_in_flight, 0);
}

#[test]
fn open_shows_the_calls_that_tripped_it_and_half_open_its_own_trials() {
    let mut b =
        breaker("window_size = 4\nminimum_calls = 4\nwait_in_open = \"1s\"\nhalf_open_calls = 2");
    for i in 0..4 {
        call(
            &mut b,
            ms(i),
            if i % 2 == 0 { FAIL } else { Outcome::Success },
            FAST,
        );
    }
    assert_eq!(b.state(), BreakerState::Open);
    let m = b.metrics(ms(10));
    assert_eq!((m.buffered_calls, m.failure_rate), (4, Some(0.5)));

    assert_eq!(b.admit(ms(1_004)), Admit::Probe);
    let m = b.metrics(ms(1_004));
    assert_eq!(
        (m.buffered_calls, m.calls_in_flight),
        (0, 1),
        "a fresh trial window"
    );
    b.on_outcome(ms(1_005), FAIL, FAST);
    let m = b.metrics(ms(1_005));
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.failure_rate),
        (1, 1, None)
    );
}

#[test]
fn a_time_window_forgets_old_buckets_without_being_moved() {
    let mut b =
        breaker("window = \"time\"\nwindow_size = \"10s\"\nminimum_calls = 2\nfailure_rate = 0.9");
    call(&mut b, ms(500), FAIL, FAST);
    call(&mut b, ms(3_500), Outcome::Success, FAST);
    assert_eq!(b.metrics(ms(9_999)).failure_rate, Some(0.5));
    // At 10.5 s the bucket of 0.5 s has left the 10 s window; at 13.5 s both have.
    assert_eq!(b.metrics(ms(10_500)).buffered_calls, 1);
    assert_eq!(b.metrics(ms(13_500)).buffered_calls, 0);
    // Inspecting moved nothing: a call at 9.9 s still lands beside both.
    call(&mut b, ms(9_900), FAIL, FAST);
    let m = b.metrics(ms(9_900));
    assert_eq!((m.buffered_calls, m.failed_calls), (3, 2));
}

#[test]
fn hystrix_and_consecutive_report_their_own_windows() {
    let mut b = breaker("kind = \"hystrix\"\nrequest_volume = 3");
    call(&mut b, ms(100), FAIL, FAST);
    call(&mut b, ms(200), Outcome::Success, FAST);
    let m = b.metrics(ms(200));
    assert_eq!((m.buffered_calls, m.failure_rate), (2, None));
    call(&mut b, ms(300), Outcome::Success, FAST);
    assert_eq!(b.metrics(ms(300)).failure_rate, Some(1.0 / 3.0));

    let mut b = breaker("kind = \"consecutive\"\nconsecutive_failures = 5");
    call(&mut b, ms(1), FAIL, FAST);
    call(&mut b, ms(2), FAIL, FAST);
    let m = b.metrics(ms(2));
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.failure_rate),
        (2, 2, None)
    );
    call(&mut b, ms(3), Outcome::Success, FAST);
    assert_eq!(b.metrics(ms(3)).failed_calls, 0, "a success ends the run");
}

/// resilience4j/resilience4j,
/// `resilience4j-circuitbreaker/src/test/java/io/github/resilience4j/circuitbreaker/internal/CircuitBreakerMetricsTest.java`,
/// `testCircuitBreakerMetrics`: a count window of 10 with a minimum of 10. That test
/// drives the metrics object alone, which records past the trip; METRICS_ONLY is the
/// breaker state that does the same. (Its not-permitted count has no counterpart:
/// the breaker does not count rejections.)
#[test]
fn resilience4j_circuit_breaker_metrics_test() {
    let mut b = breaker("window_size = 10\nminimum_calls = 10");
    b.metrics_only(ms(0));
    let ok = Outcome::Success;
    for outcome in [ok, ok, FAIL, FAIL] {
        call(&mut b, ms(1), outcome, FAST);
    }
    let m = b.metrics(ms(1));
    assert_eq!((m.buffered_calls, m.failed_calls), (4, 2));
    assert_eq!(m.failure_rate, None, "below the minimum: resilience4j's -1");

    for outcome in [FAIL, FAIL, FAIL, FAIL, ok, ok, ok, ok] {
        call(&mut b, ms(2), outcome, FAST);
    }
    // 12 recorded, the last 10 kept: 4 successes and 6 failures.
    let m = b.metrics(ms(2));
    assert_eq!((m.buffered_calls, m.failed_calls), (10, 6));
    assert_eq!(m.failure_rate, Some(0.6));

    for _ in 0..3 {
        call(&mut b, ms(3), ok, FAST);
    }
    assert_eq!(b.metrics(ms(3)).failure_rate, Some(0.3));
}

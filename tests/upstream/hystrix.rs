//! Hystrix (github.com/Netflix/Hystrix), `hystrix-core`:
//! `src/main/java/com/netflix/hystrix/HystrixCommandProperties.java` (defaults),
//! `src/main/java/com/netflix/hystrix/metric/consumer/HealthCountsStream.java` (the
//! breaker's window), `src/test/java/com/netflix/hystrix/HystrixCircuitBreakerTest.java`.
//!
//! The window question: the breaker reads `HealthCountsStream`, whose buckets are
//! `metrics.healthSnapshot.intervalInMilliseconds` long (default 500 ms), and which
//! keeps `metrics.rollingStats.timeInMilliseconds / 500` of them (10 s / 500 ms =
//! 20). `metrics.rollingStats.numBuckets` (default 10, 1 s buckets) shapes only the
//! rolling counters for dashboards, not the breaker. So hasim's 500 ms buckets over
//! a 10 s window are Hystrix's defaults.

use std::time::Duration;

use hasim_policy::breaker::{
    Admit, Breaker, BreakerConfig, BreakerState, Flavor, TripRule, HYSTRIX_BUCKET,
};
use hasim_policy::time::Instant;
use hasim_policy::{FailureKind, Outcome};

/// `HystrixCommandProperties` defaults: `metricsRollingStatisticalWindow = 10000`,
/// `circuitBreakerRequestVolumeThreshold = 20`, `circuitBreakerErrorThresholdPercentage
/// = 50`, `circuitBreakerSleepWindowInMilliseconds = 5000`,
/// `metricsHealthSnapshotIntervalInMilliseconds = 500`.
#[test]
fn default_window_and_thresholds() {
    let config = BreakerConfig {
        flavor: Flavor::Hystrix,
        ..BreakerConfig::default()
    };
    let r = config.resolved();
    assert_eq!(
        r.trip,
        TripRule::Hystrix {
            size_s: 10,
            request_volume: 20,
            error_percent: 50,
        }
    );
    assert_eq!(r.wait_in_open, Duration::from_secs(5));
    assert_eq!(HYSTRIX_BUCKET, Duration::from_millis(500));
    assert_eq!(
        10_000 / HYSTRIX_BUCKET.as_millis(),
        20,
        "buckets in the window"
    );
}

/// The unit-test properties of `HystrixCommandPropertiesTest.getUnitTestPropertiesSetter`
/// (`errorThresholdPercentage = 40`, `requestVolumeThreshold = 0`, a very long sleep
/// window); hasim needs a volume of at least 1, the same with calls present. The
/// tests' 100 ms health snapshot becomes hasim's fixed 500 ms, so the state is read
/// just after the first boundary instead of after `Thread.sleep(100)`.
fn unit_test_breaker(request_volume: u32) -> Breaker {
    let config = BreakerConfig {
        flavor: Flavor::Hystrix,
        failure_rate: Some(0.4),
        request_volume: Some(request_volume),
        wait_in_open: Some(Duration::from_secs(5_000)),
        window_size: Some(5),
        ..BreakerConfig::default()
    };
    assert_eq!(config.validate(), Ok(()));
    Breaker::new(&config)
}

/// Runs the commands (true = success) at 1 ms apart, then looks at the breaker after
/// the next health snapshot.
fn run(b: &mut Breaker, commands: &[bool]) -> BreakerState {
    for (i, &ok) in commands.iter().enumerate() {
        let now = Instant(i as u64 * 1_000_000);
        assert_eq!(b.admit(now), Admit::Allow);
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure(FailureKind::Error)
        };
        b.on_outcome(now, outcome, Duration::from_millis(1));
    }
    b.handle_timeout(Instant(600_000_000));
    b.state()
}

const S: bool = true;
const F: bool = false;

/// `HystrixCircuitBreakerTest.testTripCircuit`: 4 successes, 4 failures -> open.
#[test]
fn trip_circuit() {
    let mut b = unit_test_breaker(1);
    assert_eq!(run(&mut b, &[S, S, S, S, F, F, F, F]), BreakerState::Open);
    assert!(!b.would_admit(Instant(600_000_000)));
}

/// `HystrixCircuitBreakerTest.testTripCircuitOnFailuresAboveThreshold`: 4 of 8
/// failed (50 % >= 40 %) -> open.
#[test]
fn trip_circuit_on_failures_above_threshold() {
    let mut b = unit_test_breaker(1);
    assert_eq!(run(&mut b, &[S, S, F, S, F, S, F, F]), BreakerState::Open);
}

/// `HystrixCircuitBreakerTest.testCircuitDoesNotTripOnFailuresBelowThreshold`: 3 of 8
/// failed (37 % < 40 %) -> closed.
#[test]
fn circuit_does_not_trip_on_failures_below_threshold() {
    let mut b = unit_test_breaker(1);
    assert_eq!(run(&mut b, &[S, S, F, S, S, F, S, F]), BreakerState::Closed);
}

/// `HystrixCircuitBreakerTest.testLowVolumeDoesNotTripCircuit`: 4 failures with a
/// request volume threshold of 5 -> closed.
#[test]
fn low_volume_does_not_trip_circuit() {
    let mut b = unit_test_breaker(5);
    assert_eq!(run(&mut b, &[F, F, F, F]), BreakerState::Closed);
}

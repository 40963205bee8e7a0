//! Netflix concurrency-limits (github.com/Netflix/concurrency-limits):
//! `concurrency-limits-core/src/test/java/com/netflix/concurrency/limits/limit/AIMDLimitTest.java`.
//!
//! `AIMDLimit.Builder` defaults: `minLimit = 20`, `maxLimit = 200`, `backoffRatio =
//! 0.9`, `timeout = 5 s`. `onSample(startTime, rtt, inflight, didDrop)` is an admitted
//! call completing with `inflight` in flight.

use std::time::Duration;

use hasim_policy::limiter::{Aimd, LimitDecision, LimiterConfig};
use hasim_policy::{FailureKind, Outcome};

fn netflix(initial: u32, min: u32, max: u32) -> Aimd {
    Aimd::new(initial, min, max, 0.9, Some(Duration::from_secs(5)))
}

/// `onSample(0, rtt, inflight, didDrop)`: `inflight` calls admitted, one of them
/// completes.
fn sample(limit: &mut Aimd, rtt: Duration, inflight: u32, drop: bool) {
    for _ in 0..inflight.max(1) {
        assert_eq!(limit.admit(), LimitDecision::Allow);
    }
    let outcome = if drop {
        Outcome::Failure(FailureKind::Timeout)
    } else {
        Outcome::Success
    };
    limit.on_complete(outcome, rtt);
}

/// `AIMDLimitTest.testDefault`: the initial limit is kept as given (10, below the
/// default `minLimit` of 20).
#[test]
fn test_default() {
    let config = LimiterConfig::Aimd {
        initial: 10,
        min: 20,
        max: 200,
        backoff_ratio: 0.9,
        timeout: Some(Duration::from_secs(5)),
    };
    assert_eq!(config.validate(), Ok(()));
    assert_eq!(netflix(10, 20, 200).limit(), 10);
}

/// `AIMDLimitTest.increaseOnSuccess`: 20, a 1 ms success with 10 in flight -> 21.
#[test]
fn increase_on_success() {
    let mut l = netflix(20, 20, 200);
    sample(&mut l, Duration::from_millis(1), 10, false);
    assert_eq!(l.limit(), 21);
}

/// `AIMDLimitTest.decreaseOnDrops`: 30, a drop -> 27.
#[test]
fn decrease_on_drops() {
    let mut l = netflix(30, 20, 200);
    sample(&mut l, Duration::ZERO, 0, true);
    assert_eq!(l.limit(), 27);
}

/// `AIMDLimitTest.successOverflow`: initial 21 = max, `minLimit(0)`: a success stays
/// at the max.
#[test]
fn success_overflow() {
    let config = LimiterConfig::Aimd {
        initial: 21,
        min: 0,
        max: 21,
        backoff_ratio: 0.9,
        timeout: None,
    };
    assert_eq!(config.validate(), Ok(()), "min = 0 is allowed");
    let mut l = netflix(21, 0, 21);
    sample(&mut l, Duration::from_millis(1), 10, false);
    assert_eq!(l.limit(), 21);
}

//! resilience4j (github.com/resilience4j/resilience4j), module
//! `resilience4j-circuitbreaker`: `CircuitBreakerConfigTest`,
//! `internal/CircuitBreakerStateMachineTest`,
//! `internal/CircuitBreakerAutoTransitionStateMachineTest` (all under
//! `src/test/java/io/github/resilience4j/circuitbreaker/`).

use std::time::Duration;

use hasim_policy::breaker::{Admit, Breaker, BreakerConfig, BreakerState, WindowKind};
use hasim_policy::time::Instant;
use hasim_policy::{FailureKind, Outcome};

const FAIL: Outcome = Outcome::Failure(FailureKind::Error);
const OK: Outcome = Outcome::Success;

/// The key a config is rejected for.
fn rejected(config: BreakerConfig) -> &'static str {
    config.validate().unwrap_err().key
}

/// `CircuitBreakerConfigTest`: the builder's `IllegalArgumentException` cases, each
/// as the hasim key it concerns.
#[test]
fn config_bounds() {
    let d = BreakerConfig::default();
    // zeroMaxFailuresShouldFail, zeroFailureRateThresholdShouldFail,
    // failureRateThresholdAboveHundredShouldFail
    for rate in [0.0, 1.01] {
        let c = BreakerConfig {
            failure_rate: Some(rate),
            ..d.clone()
        };
        assert_eq!(rejected(c), "failure_rate");
    }
    // zeroSlowCallRateThresholdShouldFail, slowCallRateThresholdAboveHundredShouldFail
    for rate in [0.0, 1.01] {
        let c = BreakerConfig {
            slow_call_rate: Some(rate),
            ..d.clone()
        };
        assert_eq!(rejected(c), "slow_call_rate");
    }
    // zeroWaitIntervalShouldFail (waitDurationInOpenState must be at least 1 ms)
    for wait in [Duration::ZERO, Duration::from_micros(999)] {
        let c = BreakerConfig {
            wait_in_open: Some(wait),
            ..d.clone()
        };
        assert_eq!(rejected(c), "wait_in_open");
    }
    let one_ms = BreakerConfig {
        wait_in_open: Some(Duration::from_millis(1)),
        ..d.clone()
    };
    assert_eq!(one_ms.validate(), Ok(()));
    // zeroSlowCallDurationThresholdShouldFail (at least 1 ns)
    let c = BreakerConfig {
        slow_call_duration: Some(Duration::ZERO),
        ..d.clone()
    };
    assert_eq!(rejected(c), "slow_call_duration");
    let one_ns = BreakerConfig {
        slow_call_duration: Some(Duration::from_nanos(1)),
        ..d.clone()
    };
    assert_eq!(one_ns.validate(), Ok(()));
    // zeroPermittedNumberOfCallsInHalfOpenStateShouldFail
    let c = BreakerConfig {
        half_open_calls: Some(0),
        ..d.clone()
    };
    assert_eq!(rejected(c), "half_open_calls");
    // zeroSlidingWindowSizeShouldFail(2)
    let c = BreakerConfig {
        window_size: Some(0),
        ..d.clone()
    };
    assert_eq!(rejected(c), "window_size");
    // zeroMinimumNumberOfCallsShouldFail(2)
    let c = BreakerConfig {
        minimum_calls: Some(0),
        ..d.clone()
    };
    assert_eq!(rejected(c), "minimum_calls");
}

/// `CircuitBreakerConfigTest.shouldSetDefaultSettings`: resilience4j's defaults.
#[test]
fn default_settings() {
    let r = BreakerConfig::default().resolved();
    assert_eq!(r.failure_rate, 0.5); // DEFAULT_FAILURE_RATE_THRESHOLD = 50
    assert_eq!(r.slow_call_rate, 1.0); // DEFAULT_SLOW_CALL_RATE_THRESHOLD = 100
    assert_eq!(r.slow_call_duration, Duration::from_secs(60));
    assert_eq!(r.wait_in_open, Duration::from_secs(60));
    assert_eq!(r.half_open_calls, 10);
    assert!(!r.automatic_transition);
}

/// The state machine test's setUp, as far as hasim models it: failure rate 50 %,
/// four half-open calls, slow calls over 4 s at 50 %, time window of 20 s with at
/// least 5 calls, 5 s wait.
fn state_machine_config() -> BreakerConfig {
    BreakerConfig {
        failure_rate: Some(0.5),
        half_open_calls: Some(4),
        slow_call_duration: Some(Duration::from_secs(4)),
        slow_call_rate: Some(0.5),
        max_wait_in_half_open: Some(Duration::from_secs(1)),
        window: Some(WindowKind::Time),
        window_size: Some(20),
        minimum_calls: Some(5),
        wait_in_open: Some(Duration::from_secs(5)),
        ..BreakerConfig::default()
    }
}

/// One call at `now`: asks the breaker and, if admitted, reports `outcome`.
fn call(b: &mut Breaker, now: Instant, outcome: Outcome) -> Admit {
    let admit = b.admit(now);
    if !matches!(admit, Admit::Reject { .. }) {
        b.on_outcome(now, outcome, Duration::ZERO);
    }
    admit
}

/// `CircuitBreakerStateMachineTest.shouldDisableCircuitBreaker`: DISABLED permits
/// every call and records nothing (failures do not trip it, and after `reset` the
/// window is empty).
#[test]
fn disable_circuit_breaker() {
    let mut b = Breaker::new(&state_machine_config());
    b.disable(Instant::ZERO);
    assert_eq!(b.state(), BreakerState::Disabled);
    for _ in 0..10 {
        assert_eq!(call(&mut b, Instant::ZERO, FAIL), Admit::Allow);
    }
    assert_eq!(b.state(), BreakerState::Disabled);
    b.reset(Instant::ZERO);
    assert_eq!(b.state(), BreakerState::Closed);
    for _ in 0..4 {
        assert_eq!(call(&mut b, Instant::ZERO, FAIL), Admit::Allow);
    }
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "nothing was recorded while disabled"
    );
}

/// `CircuitBreakerStateMachineTest.shouldForceOpenCircuitBreaker`: FORCED_OPEN
/// rejects, and still rejects after the 5 s wait has passed (no HALF_OPEN).
#[test]
fn force_open_circuit_breaker() {
    let mut b = Breaker::new(&state_machine_config());
    b.force_open(Instant::ZERO);
    assert_eq!(b.state(), BreakerState::ForcedOpen);
    assert!(matches!(b.admit(Instant::ZERO), Admit::Reject { .. }));
    let later = Instant(6_000_000_000);
    assert!(matches!(b.admit(later), Admit::Reject { .. }));
    assert_eq!(b.state(), BreakerState::ForcedOpen);
    assert!(!b.would_admit(later));
    assert_eq!(b.next_deadline(), None);
}

/// `CircuitBreakerStateMachineTest.shouldRecordMetricsInMetricsOnlyState`: three
/// failures and two successes (60 % failed, above 50 %) and one more failure: the
/// breaker records them and stays METRICS_ONLY.
#[test]
fn record_metrics_in_metrics_only_state() {
    let mut b = Breaker::new(&state_machine_config());
    b.metrics_only(Instant::ZERO);
    for outcome in [FAIL, FAIL, FAIL, OK, OK, FAIL] {
        assert_eq!(call(&mut b, Instant::ZERO, outcome), Admit::Allow);
        assert_eq!(b.state(), BreakerState::MetricsOnly);
    }
}

/// `CircuitBreakerAutoTransitionStateMachineTest.testAutoTransition` and
/// `shouldCancelAutoTransition`: with `automaticTransitionFromOpenToHalfOpenEnabled`
/// and a 2 s wait, opening schedules the transition 2 s later (here: a deadline
/// just after it) and running it gives HALF_OPEN without any call; forcing open
/// cancels it.
#[test]
fn auto_transition() {
    let config = BreakerConfig {
        failure_rate: Some(0.5),
        window: Some(WindowKind::Count),
        window_size: Some(5),
        minimum_calls: Some(5),
        half_open_calls: Some(3),
        automatic_transition: Some(true),
        wait_in_open: Some(Duration::from_secs(2)),
        ..BreakerConfig::default()
    };
    assert_eq!(config.validate(), Ok(()));
    let mut b = Breaker::new(&config);
    for _ in 0..5 {
        let _ = call(&mut b, Instant::ZERO, FAIL);
    }
    assert_eq!(b.state(), BreakerState::Open);
    let deadline = b.next_deadline().expect("the transition is scheduled");
    assert_eq!(deadline, Instant(2_000_000_001));
    b.handle_timeout(deadline);
    assert_eq!(b.state(), BreakerState::HalfOpen);

    let mut b = Breaker::new(&config);
    for _ in 0..5 {
        let _ = call(&mut b, Instant::ZERO, FAIL);
    }
    assert!(b.next_deadline().is_some());
    b.force_open(Instant::ZERO);
    assert_eq!(
        b.next_deadline(),
        None,
        "forcing open cancels the transition"
    );
    // Without the option, OPEN waits for a call (resilience4j's default).
    let manual = BreakerConfig {
        automatic_transition: None,
        ..config
    };
    let mut b = Breaker::new(&manual);
    for _ in 0..5 {
        let _ = call(&mut b, Instant::ZERO, FAIL);
    }
    assert_eq!(b.next_deadline(), None);
    b.handle_timeout(Instant(3_000_000_000));
    assert_eq!(b.state(), BreakerState::Open);
}

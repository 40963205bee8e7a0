//! Every policy a production client builds on its own has a validating constructor:
//! `try_new` returns the config error naming the field, and `new` refuses an invalid
//! config in every build (release included), so no policy runs on a config that
//! `validate()` rejects. Driven through the public API only, as a user would.
#![allow(clippy::field_reassign_with_default)] // the way a user sets one field

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use hasim_policy::autoscale::{AutoscaleConfig, Autoscaler};
use hasim_policy::balancer::{Balancer, BalancerConfig, P2cConfig, Setup};
use hasim_policy::breaker::{Breaker, BreakerConfig};
use hasim_policy::budget::{BudgetConfig, RetryBudget, RetryThrottle, ThrottleConfig};
use hasim_policy::health::{HealthCheckConfig, HealthChecker};
use hasim_policy::hedge::{HedgeConfig, Hedger};
use hasim_policy::limiter::{Limiter, LimiterConfig};
use hasim_policy::outlier::{OutlierConfig, OutlierDetector};
use hasim_policy::retry::{Retrier, RetryConfig};
use hasim_policy::time::Instant;
use hasim_policy::ConfigError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `try_new` gave an error for `key`, and `new` panicked with a message naming it.
fn rejected<T>(key: &str, try_new: Result<T, ConfigError>, new: impl FnOnce() -> T) {
    match try_new {
        Ok(_) => panic!("try_new accepted an invalid `{key}`"),
        Err(e) => assert_eq!(e.key, key, "{e}"),
    }
    let panic = catch_unwind(AssertUnwindSafe(new))
        .err()
        .expect("new panics");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains(&format!("`{key}`")),
        "the panic names the field: {message}"
    );
}

#[test]
fn a_breaker_config_is_checked() {
    assert!(Breaker::try_new(&BreakerConfig::default()).is_ok());
    let mut bad = BreakerConfig::default();
    bad.failure_rate = Some(1.5);
    rejected("failure_rate", Breaker::try_new(&bad), || {
        Breaker::new(&bad)
    });
}

#[test]
fn budget_and_throttle_configs_are_checked() {
    assert!(RetryBudget::try_new(&BudgetConfig::default()).is_ok());
    let mut bad = BudgetConfig::default();
    bad.ratio = -0.1;
    rejected("ratio", RetryBudget::try_new(&bad), || {
        RetryBudget::new(&bad)
    });

    assert!(RetryThrottle::try_new(&ThrottleConfig::default()).is_ok());
    let mut bad = ThrottleConfig::default();
    bad.max_tokens = 0;
    rejected("max_tokens", RetryThrottle::try_new(&bad), || {
        RetryThrottle::new(&bad)
    });
}

#[test]
fn retry_and_hedge_configs_are_checked() {
    assert!(Retrier::try_new(&RetryConfig::default()).is_ok());
    let mut bad = RetryConfig::default();
    bad.attempts = 0;
    rejected("attempts", Retrier::try_new(&bad), || Retrier::new(&bad));

    assert!(Hedger::try_new(&HedgeConfig::default()).is_ok());
    let mut bad = HedgeConfig::default();
    bad.delay = Some(Duration::from_millis(5));
    bad.percentile = Some(0.95);
    rejected("percentile", Hedger::try_new(&bad), || Hedger::new(&bad));
}

#[test]
fn health_and_outlier_configs_are_checked() {
    assert!(HealthChecker::try_new(&HealthCheckConfig::default()).is_ok());
    let mut bad = HealthCheckConfig::default();
    bad.interval = Duration::ZERO;
    rejected("interval", HealthChecker::try_new(&bad), || {
        HealthChecker::new(&bad)
    });

    let now = Instant::ZERO;
    assert!(OutlierDetector::try_new(&OutlierConfig::default(), now).is_ok());
    let mut bad = OutlierConfig::default();
    bad.interval = Duration::ZERO;
    rejected("interval", OutlierDetector::try_new(&bad, now), || {
        OutlierDetector::new(&bad, now)
    });
}

#[test]
fn limiter_autoscaler_and_balancer_configs_are_checked() {
    let now = Instant::ZERO;
    let good = LimiterConfig::TokenBucket {
        rate: 100.0,
        burst: 10,
    };
    assert!(Limiter::try_new(&good, now).is_ok());
    let bad = LimiterConfig::TokenBucket {
        rate: -1.0,
        burst: 10,
    };
    rejected("rate", Limiter::try_new(&bad, now), || {
        Limiter::new(&bad, now)
    });

    let mut good = AutoscaleConfig::default();
    good.group = "api".into();
    good.max = 10;
    assert!(Autoscaler::try_new(&good).is_ok());
    let mut bad = good.clone();
    bad.interval = Duration::ZERO;
    rejected("interval", Autoscaler::try_new(&bad), || {
        Autoscaler::new(&bad)
    });

    let setup = Setup::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let good = BalancerConfig::P2c(P2cConfig::default());
    assert!(Balancer::try_new(&good, &setup, &mut rng).is_ok());
    let bad = BalancerConfig::P2c(P2cConfig {
        choices: 1,
        distinct: true,
    });
    rejected("choices", Balancer::try_new(&bad, &setup, &mut rng), || {
        Balancer::new(&bad, &setup, &mut ChaCha8Rng::seed_from_u64(0))
    });
}

//! One client instance's policy configuration: the policy keys of a scenario's
//! `[[clients]]` table (everything but who calls, how often and how many instances).
//!
//! The simulator builds it from the scenario; a production client (hasim-tower)
//! deserializes it from the same TOML, so the configuration that was simulated is the
//! one that ships.

use std::time::Duration;

use crate::balancer::BalancerConfig;
use crate::breaker::BreakerConfig;
use crate::failover::{check_overprovisioning, FailoverMode, DEFAULT_OVERPROVISIONING};
use crate::health::HealthCheckConfig;
use crate::hedge::HedgeConfig;
use crate::limiter::LimiterConfig;
use crate::outlier::OutlierConfig;
use crate::retry::RetryConfig;
#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::{check_fraction, ConfigError};

/// Every policy of one client instance. `Default` is the scenario language's
/// defaults: round robin, one attempt, no timeout, breaker, hedging, health checks,
/// outlier detection or limiter.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct ClientConfig {
    /// Per-attempt timeout (`None`: wait for the answer however long it takes).
    #[cfg_attr(feature = "serde", serde(with = "duration_str::option", default))]
    pub timeout: Option<Duration>,
    /// Whole-call deadline including retries and backoff (`None`: no deadline).
    #[cfg_attr(feature = "serde", serde(with = "duration_str::option", default))]
    pub deadline: Option<Duration>,
    /// How an endpoint is picked.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::balancer::deserialize_config", default)
    )]
    pub balancer: BalancerConfig,
    /// Retries after a failed attempt (`attempts = 1`: none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub retry: RetryConfig,
    /// Circuit breaker, per call (`scope = "client"`) or per endpoint.
    #[cfg_attr(feature = "serde", serde(default))]
    pub breaker: Option<BreakerConfig>,
    /// Hedged requests.
    #[cfg_attr(feature = "serde", serde(default))]
    pub hedge: Option<HedgeConfig>,
    /// Active health checks.
    #[cfg_attr(feature = "serde", serde(default))]
    pub health_check: Option<HealthCheckConfig>,
    /// Outlier detection (Envoy).
    #[cfg_attr(feature = "serde", serde(default))]
    pub outlier: Option<OutlierConfig>,
    /// Client-side limiter.
    #[cfg_attr(feature = "serde", serde(default))]
    pub limiter: Option<LimiterConfig>,
    /// What the caller gets when a call cannot succeed.
    #[cfg_attr(feature = "serde", serde(default))]
    pub fallback: Fallback,
    /// How traffic spreads over tiers (priorities) of the endpoints.
    #[cfg_attr(feature = "serde", serde(default))]
    pub failover: FailoverMode,
    /// Envoy's overprovisioning factor for `failover = "priority"`.
    #[cfg_attr(feature = "serde", serde(default = "default_overprovisioning"))]
    pub overprovisioning: f64,
    /// Below this fraction of eligible endpoints, ignore health (panic mode, Envoy).
    #[cfg_attr(feature = "serde", serde(default = "default_panic_threshold"))]
    pub panic_threshold: f64,
}

/// Envoy's default panic threshold: 50 % of the endpoints.
pub const DEFAULT_PANIC_THRESHOLD: f64 = 0.5;

#[cfg(feature = "serde")]
fn default_overprovisioning() -> f64 {
    DEFAULT_OVERPROVISIONING
}
#[cfg(feature = "serde")]
fn default_panic_threshold() -> f64 {
    DEFAULT_PANIC_THRESHOLD
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: None,
            deadline: None,
            balancer: BalancerConfig::default(),
            retry: RetryConfig::default(),
            breaker: None,
            hedge: None,
            health_check: None,
            outlier: None,
            limiter: None,
            fallback: Fallback::default(),
            failover: FailoverMode::default(),
            overprovisioning: DEFAULT_OVERPROVISIONING,
            panic_threshold: DEFAULT_PANIC_THRESHOLD,
        }
    }
}

/// What a caller gets when its call cannot succeed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Fallback {
    /// An error: the call fails.
    #[default]
    Fail,
    /// A degraded answer (a cached or default value): the call counts as degraded.
    Degrade,
}

impl ClientConfig {
    /// Checks every parameter of every policy. The error's `section` names the
    /// policy (`retry`, `breaker`, ...) and its `key` the parameter.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [("timeout", self.timeout), ("deadline", self.deadline)] {
            if value == Some(Duration::ZERO) {
                return Err(ConfigError::new(key, "must be > 0 (leave it out for none)"));
            }
        }
        let within = |section: &'static str| move |e: ConfigError| e.in_section(section);
        self.balancer.validate().map_err(within("balancer"))?;
        self.retry.validate().map_err(within("retry"))?;
        if let Some(b) = &self.breaker {
            b.validate().map_err(within("breaker"))?;
        }
        if let Some(h) = &self.hedge {
            h.validate().map_err(within("hedge"))?;
        }
        if let Some(h) = &self.health_check {
            h.validate().map_err(within("health_check"))?;
        }
        if let Some(o) = &self.outlier {
            o.validate().map_err(within("outlier"))?;
        }
        if let Some(l) = &self.limiter {
            l.validate().map_err(within("limiter"))?;
        }
        check_overprovisioning(self.overprovisioning)?;
        check_fraction("panic_threshold", self.panic_threshold)
    }
}

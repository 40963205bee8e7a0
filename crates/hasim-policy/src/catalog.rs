//! Every policy kind with its parameters, defaults and a one-line description: what
//! `hasim policies` prints. Tests parse the parameter lists of the balancers, breaker
//! flavors, retry (with backoff, budget, throttle), hedge, health check, outlier
//! detection and AIMD limiter into their config types and check they equal the code's
//! defaults. The failover, fallback and panic-threshold entries describe scenario keys
//! and are checked by hand.

use super::balancer;

/// One policy kind as a user writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyKind {
    /// The client key (`balancer`, `breaker`, `retry`, ...).
    pub key: &'static str,
    /// The kind or flavor (`p2c`, `resilience4j`), or `""` for single-kind policies.
    pub kind: &'static str,
    /// Parameters with their defaults, as TOML (`choices = 2, distinct = true`).
    pub params: &'static str,
    /// What it does, and whose production behaviour it follows.
    pub about: &'static str,
}

const fn kind(
    key: &'static str,
    kind: &'static str,
    params: &'static str,
    about: &'static str,
) -> PolicyKind {
    PolicyKind {
        key,
        kind,
        params,
        about,
    }
}

/// Policy kinds other than balancers (those come from [`balancer::KINDS`]).
const OTHERS: &[PolicyKind] = &[
    kind(
        "breaker",
        "resilience4j",
        "failure_rate = 0.5, slow_call_rate = 1.0, slow_call_duration = \"60s\", window = \"count\", window_size = 100, minimum_calls = 100, wait_in_open = \"60s\", wait_multiplier = 1.0, half_open_calls = 10, max_wait_in_half_open = \"0s\", automatic_transition = false, on = [\"timeout\", \"error\", \"refused\", \"rejected\"], scope = \"client\"",
        "count or time window of failure and slow-call rates; OPEN, then HALF_OPEN permits; automatic_transition: OPEN ends at its deadline without a call (resilience4j automaticTransitionFromOpenToHalfOpenEnabled); forced open, disabled and metrics-only states in the library API (resilience4j)",
    ),
    kind(
        "breaker",
        "hystrix",
        "window_size = 10, request_volume = 20, failure_rate = 0.5, wait_in_open = \"5s\"",
        "10 s window in 500 ms buckets, trips at >= 20 calls and >= 50% errors; one trial call (Hystrix)",
    ),
    kind(
        "breaker",
        "consecutive",
        "consecutive_failures = 5, wait_in_open = \"5s\"",
        "trips after N failures in a row; one trial after the wait (Finagle failure accrual)",
    ),
    kind(
        "retry",
        "",
        "attempts = 1, on = [\"timeout\", \"error\", \"refused\", \"rejected\"], other_endpoint = true",
        "total attempts per call; a retry avoids endpoints the call already tried; bounded by the deadline",
    ),
    kind(
        "retry.backoff",
        "exponential",
        "base = \"25ms\", max = \"250ms\", jitter = \"full\"",
        "delay min(max, base x 2^(n-1)); jitter none, full, equal or decorrelated (AWS backoff study); kind = \"constant\" too",
    ),
    kind(
        "retry.budget",
        "",
        "ratio = 0.2, min_per_sec = 10, ttl = \"10s\"",
        "retries within ratio of recent calls plus a reserve (Finagle RetryBudget, tower TpsBudget)",
    ),
    kind(
        "retry.throttle",
        "",
        "max_tokens = 10, token_ratio = 0.1",
        "failures cost a token, successes return token_ratio; no retries at <= half (gRPC retry throttling)",
    ),
    kind(
        "hedge",
        "",
        "max_extra = 1, min_data_points = 100",
        "after `delay` (default \"20ms\") or the client's own `percentile` latency (of winning successful attempts, each from its own send, as tower records; needs min_data_points samples), send a copy elsewhere; first success wins (tower Hedge, gRPC A6)",
    ),
    kind(
        "health_check",
        "",
        "interval = \"5s\", interval_jitter = \"0s\", timeout = \"1s\", unhealthy_threshold = 3, healthy_threshold = 2",
        "probes every endpoint as real messages; thresholds of failures/passes in a row; optional probe_cost (Envoy)",
    ),
    kind(
        "outlier",
        "",
        "consecutive_failures = 5, enforcing_consecutive_failures = 100, consecutive_gateway_failures = 5, enforcing_consecutive_gateway_failures = 0, interval = \"10s\", base_ejection = \"30s\", max_ejection_percent = 10, always_eject_one = true, success_rate = false, enforcing_success_rate = 100, success_rate_minimum_hosts = 5, success_rate_request_volume = 100, success_rate_stdev_factor = 1.9, failure_percentage_threshold = 85, enforcing_failure_percentage = 0, failure_percentage_minimum_hosts = 5, failure_percentage_request_volume = 50",
        "ejects endpoints after consecutive failures or gateway failures, low success rate or high failure percentage, for base_ejection x times ejected, at most max_ejection (default max(300s, base_ejection)); enforcing_* are percent chances, Envoy's defaults (Envoy)",
    ),
    kind(
        "limiter",
        "token_bucket",
        "rate = (required), burst = (required)",
        "at most `rate` calls per second, `burst` at once; the rest are rejected at the client",
    ),
    kind("limiter", "concurrency", "max = (required)", "at most `max` attempts in flight"),
    kind(
        "limiter",
        "aimd",
        "initial = 20, min = 1, max = 200, backoff_ratio = 0.9",
        "in-flight cap: drop or timeout -> cap x ratio, success at >= cap/2 in flight -> cap + 1; `initial` is kept until the first sample clamps it and min = 0 is allowed (Netflix concurrency-limits AIMDLimit, whose own default minLimit is 20)",
    ),
    kind(
        "failover",
        "priority",
        "overprovisioning = 1.4",
        "tier P takes min(1, 1.4 x eligible/total) of the traffic, the rest spills to the next tier; when every tier is in panic, load follows endpoint counts (Envoy priorities, recalculateLoadInTotalPanic)",
    ),
    kind("failover", "primary_backup", "", "everything to the lowest tier with an eligible endpoint (active/standby)"),
    kind("fallback", "fail", "", "a call that cannot succeed fails (the default)"),
    kind("fallback", "degrade", "", "a call that cannot succeed gets a degraded answer, counted apart from ok and failed"),
    kind(
        "panic_threshold",
        "",
        "panic_threshold = 0.5",
        "below this fraction of eligible endpoints, ignore health and ejection (Envoy panic mode; Envoy's default 50%, decided per tier by failover::priority_loads)",
    ),
];

/// Every policy kind, balancers first.
pub fn all() -> Vec<PolicyKind> {
    balancer::KINDS
        .iter()
        .map(|&(name, params, about)| kind("balancer", name, params, about))
        .chain(OTHERS.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerConfig;
    use crate::budget::{BudgetConfig, ThrottleConfig};
    use crate::health::HealthCheckConfig;
    use crate::hedge::HedgeConfig;
    use crate::limiter::LimiterConfig;
    use crate::outlier::OutlierConfig;
    use crate::retry::{BackoffConfig, RetryConfig};
    use serde::de::DeserializeOwned;

    fn parse<T: DeserializeOwned>(params: &str) -> T {
        toml::from_str::<toml::Table>(&format!("v = {{ {params} }}"))
            .and_then(|mut t| t.remove("v").unwrap().try_into())
            .unwrap_or_else(|e| panic!("`{params}`: {e}"))
    }

    fn entry(key: &str, kind: &str) -> PolicyKind {
        all()
            .into_iter()
            .find(|p| p.key == key && p.kind == kind)
            .unwrap()
    }

    #[test]
    fn listed_defaults_are_the_code_defaults() {
        assert_eq!(
            parse::<RetryConfig>(entry("retry", "").params),
            RetryConfig::default()
        );
        assert_eq!(
            parse::<BackoffConfig>(entry("retry.backoff", "exponential").params),
            BackoffConfig::default()
        );
        assert_eq!(
            parse::<BudgetConfig>(entry("retry.budget", "").params),
            BudgetConfig::default()
        );
        assert_eq!(
            parse::<ThrottleConfig>(entry("retry.throttle", "").params),
            ThrottleConfig::default()
        );
        assert_eq!(
            parse::<HedgeConfig>(entry("hedge", "").params),
            HedgeConfig::default()
        );
        assert_eq!(
            parse::<HealthCheckConfig>(entry("health_check", "").params),
            HealthCheckConfig::default()
        );
        assert_eq!(
            parse::<OutlierConfig>(entry("outlier", "").params),
            OutlierConfig::default()
        );
        for flavor in ["resilience4j", "hystrix", "consecutive"] {
            let listed: BreakerConfig = parse(&format!(
                "flavor = \"{flavor}\", {}",
                entry("breaker", flavor).params
            ));
            let default: BreakerConfig = parse(&format!("flavor = \"{flavor}\""));
            assert_eq!(listed.resolved(), default.resolved(), "breaker {flavor}");
        }
        let aimd: LimiterConfig = parse(&format!(
            "kind = \"aimd\", {}",
            entry("limiter", "aimd").params
        ));
        assert_eq!(aimd, parse::<LimiterConfig>("kind = \"aimd\""));
    }

    #[test]
    fn every_balancer_kind_is_listed_and_parses() {
        for p in all().iter().filter(|p| p.key == "balancer") {
            let text = if p.params.is_empty() {
                format!("kind = \"{}\"", p.kind)
            } else {
                format!("kind = \"{}\", {}", p.kind, p.params)
            };
            let config: balancer::BalancerConfig = parse(&text);
            assert_eq!(config.kind(), p.kind);
            config.validate().unwrap();
        }
    }
}

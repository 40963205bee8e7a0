//! Every policy kind with its parameters, defaults, a one-line description and a TOML
//! example: what `hasim policies` prints. The scenario tests load every example. Tests parse the parameter lists of the balancers, breaker
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
    /// The `kind` (`p2c`, `resilience4j`), or `""` for single-kind policies.
    pub kind: &'static str,
    /// Parameters with their defaults, as TOML (`choices = 2, distinct = true`).
    pub params: &'static str,
    /// What it does, and whose production behaviour it follows.
    pub about: &'static str,
    /// How to write it in a `[[clients]]` table: one line of TOML, checked by a test
    /// that loads it into a scenario.
    pub example: &'static str,
}

const fn kind(
    key: &'static str,
    kind: &'static str,
    params: &'static str,
    about: &'static str,
    example: &'static str,
) -> PolicyKind {
    PolicyKind {
        key,
        kind,
        params,
        about,
        example,
    }
}

/// How each balancer kind is written (same order as [`balancer::KINDS`]).
const BALANCER_EXAMPLES: &[&str] = &[
    "balancer = \"round_robin\"",
    "balancer = \"random\"",
    "balancer = \"weighted_round_robin\"",
    "balancer = \"weighted_random\"",
    "balancer = \"least_connections\"",
    "balancer = { kind = \"p2c\", choices = 2, distinct = true }",
    "balancer = { kind = \"peak_ewma\", decay = \"10s\", default_rtt = \"30ms\" }",
    "balancer = { kind = \"least_response_time\", decay = \"5s\" }",
    "balancer = { kind = \"ring_hash\", ring_size = 1024 }",
    "balancer = { kind = \"maglev\", table_size = 65537 }",
];

/// Policy kinds other than balancers (those come from [`balancer::KINDS`]).
const OTHERS: &[PolicyKind] = &[
    kind(
        "breaker",
        "resilience4j",
        "failure_rate = 0.5, slow_call_rate = 1.0, slow_call_duration = \"60s\", window = \"count\", window_size = 100, minimum_calls = 100, wait_in_open = \"60s\", wait_multiplier = 1.0, half_open_calls = 10, max_wait_in_half_open = \"0s\", automatic_transition = false, on = [\"timeout\", \"error\", \"refused\", \"rejected\"], scope = \"client\"",
        "count or time window of failure and slow-call rates; OPEN, then HALF_OPEN permits; automatic_transition: OPEN ends at its deadline without a call (resilience4j automaticTransitionFromOpenToHalfOpenEnabled); forced open, disabled and metrics-only states in the library API (resilience4j)",
        "breaker = { kind = \"resilience4j\", failure_rate = 0.5, window_size = 20, minimum_calls = 10, wait_in_open = \"5s\" }",
    ),
    kind(
        "breaker",
        "hystrix",
        "window_size = \"10s\", request_volume = 20, failure_rate = 0.5, wait_in_open = \"5s\", on = [\"timeout\", \"error\", \"refused\", \"rejected\"], scope = \"client\"",
        "10 s window in 500 ms buckets, checked at bucket ends; trips at >= request_volume calls and >= 50% errors; one trial call (Hystrix)",
        "breaker = { kind = \"hystrix\", request_volume = 20, wait_in_open = \"5s\" }",
    ),
    kind(
        "breaker",
        "consecutive",
        "consecutive_failures = 5, wait_in_open = \"5s\", wait_multiplier = 1.0, on = [\"timeout\", \"error\", \"refused\", \"rejected\"], scope = \"client\"",
        "trips after N failures in a row; one trial after the wait, which grows by wait_multiplier per reopening (Finagle failure accrual)",
        "breaker = { kind = \"consecutive\", consecutive_failures = 5, scope = \"endpoint\" }",
    ),
    kind(
        "retry",
        "",
        "attempts = 1, on = [\"timeout\", \"error\", \"refused\", \"rejected\"], other_endpoint = true",
        "total attempts per call, the first included; a retry avoids endpoints the call already tried; no retry starts after the deadline",
        "retry = { attempts = 3, on = [\"timeout\", \"refused\"] }",
    ),
    kind(
        "retry.backoff",
        "exponential",
        "base = \"25ms\", max = \"250ms\", jitter = \"full\"",
        "delay ceiling min(max, base x 2^(n-1)) for retry n; jitter none, full [0, d), equal d/2 + [0, d/2), decorrelated (AWS backoff study). The default kind",
        "retry = { attempts = 3, backoff = { kind = \"exponential\", base = \"10ms\", max = \"1s\", jitter = \"equal\" } }",
    ),
    kind(
        "retry.backoff",
        "constant",
        "base = \"25ms\", max = \"250ms\", jitter = \"full\"",
        "delay ceiling = base for every retry (max still caps it); base = \"0s\" retries at once",
        "retry = { attempts = 3, backoff = { kind = \"constant\", base = \"0s\", jitter = \"none\" } }",
    ),
    kind(
        "retry.budget",
        "",
        "ratio = 0.2, min_per_sec = 10, ttl = \"10s\"",
        "a retry (or hedge) is allowed while retries stay within ratio x recent calls plus min_per_sec x ttl (Finagle RetryBudget, tower TpsBudget)",
        "retry = { attempts = 3, budget = { ratio = 0.1 } }",
    ),
    kind(
        "retry.throttle",
        "",
        "max_tokens = 10, token_ratio = 0.1",
        "each failed attempt costs a token, each success returns token_ratio; no retries while tokens <= max_tokens/2 (gRPC retry throttling). Not with `budget`",
        "retry = { attempts = 3, throttle = { max_tokens = 10, token_ratio = 0.1 } }",
    ),
    kind(
        "hedge",
        "",
        "delay = \"20ms\", max_extra = 1, min_data_points = 100",
        "after `delay` (20ms when neither delay nor percentile is set) or the client's own `percentile` latency (of winning successful attempts, each from its own send, as tower records; needs min_data_points samples), send a copy elsewhere; first success wins (tower Hedge, gRPC A6)",
        "hedge = { percentile = 0.95, max_extra = 1 }",
    ),
    kind(
        "health_check",
        "",
        "interval = \"5s\", interval_jitter = \"0s\", timeout = \"1s\", unhealthy_threshold = 3, healthy_threshold = 2",
        "probes every endpoint as real messages; unhealthy after N failed probes in a row, healthy after M passes; probe_cost (a duration, default none) makes probes take a worker (Envoy)",
        "health_check = { interval = \"2s\", timeout = \"500ms\", unhealthy_threshold = 2 }",
    ),
    kind(
        "outlier",
        "",
        "consecutive_failures = 5, enforcing_consecutive_failures = 100, consecutive_gateway_failures = 5, enforcing_consecutive_gateway_failures = 0, interval = \"10s\", base_ejection = \"30s\", max_ejection_percent = 10, always_eject_one = true, success_rate = false, enforcing_success_rate = 100, success_rate_minimum_hosts = 5, success_rate_request_volume = 100, success_rate_stdev_factor = 1.9, failure_percentage_threshold = 85, enforcing_failure_percentage = 0, failure_percentage_minimum_hosts = 5, failure_percentage_request_volume = 50",
        "ejects endpoints after consecutive failures or gateway failures, low success rate or high failure percentage, for base_ejection x times ejected, at most max_ejection (default max(300s, base_ejection)); enforcing_* are percent chances, Envoy's defaults (Envoy)",
        "outlier = { consecutive_failures = 3, base_ejection = \"10s\" }",
    ),
    kind(
        "limiter",
        "token_bucket",
        "rate = (required), burst = (required)",
        "at most `rate` calls per second on average, `burst` at once; the rest are rejected at the client",
        "limiter = { kind = \"token_bucket\", rate = 500, burst = 50 }",
    ),
    kind(
        "limiter",
        "concurrency",
        "max = (required)",
        "at most `max` attempts in flight; the rest are rejected at the client",
        "limiter = { kind = \"concurrency\", max = 64 }",
    ),
    kind(
        "limiter",
        "aimd",
        "initial = 20, min = 1, max = 200, backoff_ratio = 0.9",
        "in-flight cap: drop or timeout -> cap x ratio, success at >= cap/2 in flight -> cap + 1; `initial` is kept until the first sample clamps it and min = 0 is allowed; `timeout` (default none) counts slower successes as drops (Netflix concurrency-limits AIMDLimit, whose own default minLimit is 20)",
        "limiter = \"aimd\"",
    ),
    kind(
        "failover",
        "priority",
        "overprovisioning = 1.4",
        "tier P takes min(1, 1.4 x eligible/total) of the traffic, the rest spills to the next tier; when every tier is in panic, load follows endpoint counts (Envoy priorities, recalculateLoadInTotalPanic)",
        "failover = \"priority\"",
    ),
    kind(
        "failover",
        "primary_backup",
        "",
        "everything to the lowest tier with an eligible endpoint (active/standby)",
        "failover = \"primary_backup\"",
    ),
    kind(
        "fallback",
        "fail",
        "",
        "a call that cannot succeed fails (the default)",
        "fallback = \"fail\"",
    ),
    kind(
        "fallback",
        "degrade",
        "",
        "a call that cannot succeed gets a degraded answer, counted apart from ok and failed",
        "fallback = \"degrade\"",
    ),
    kind(
        "panic_threshold",
        "",
        "panic_threshold = 0.5",
        "below this fraction of eligible endpoints, ignore health and ejection (Envoy panic mode; Envoy's default 50%, decided per tier by failover::priority_loads)",
        "panic_threshold = 0.3",
    ),
];

/// Every policy kind, balancers first.
pub fn all() -> Vec<PolicyKind> {
    debug_assert_eq!(balancer::KINDS.len(), BALANCER_EXAMPLES.len());
    balancer::KINDS
        .iter()
        .zip(BALANCER_EXAMPLES)
        .map(|(&(name, params, about), example)| kind("balancer", name, params, about, example))
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
            parse::<BackoffConfig>(&format!(
                "kind = \"constant\", {}",
                entry("retry.backoff", "constant").params
            )),
            BackoffConfig {
                kind: crate::retry::BackoffKind::Constant,
                ..BackoffConfig::default()
            }
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
            HedgeConfig {
                delay: Some(crate::hedge::DEFAULT_DELAY),
                ..HedgeConfig::default()
            },
            "the listed delay is the one used when neither delay nor percentile is set"
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
                "kind = \"{flavor}\", {}",
                entry("breaker", flavor).params
            ));
            let default: BreakerConfig = parse(&format!("kind = \"{flavor}\""));
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

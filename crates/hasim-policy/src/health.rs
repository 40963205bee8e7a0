//! Active health checking (Envoy `health_checks`), one checker per client instance.
//!
//! Probes are real messages in the simulator (they cross the network, meet partitions
//! and loss, and take a worker only if `probe_cost` is set), so the caller sends them
//! and times them out. This module is only the bookkeeping a real client keeps: when
//! to probe next, and which endpoints the probe results say are healthy.
//!
//! # Semantics (Envoy `HealthCheckerImplBase::ActiveHealthCheckSession`)
//!
//! - A new endpoint (never probed, or [`forget`](HealthChecker::forget)-ed) is
//!   **unhealthy until its first probe passes**: Envoy sets `FAILED_ACTIVE_HC` on hosts
//!   of a cluster with health checking, so they get no traffic (outside panic mode)
//!   until checked.
//! - The **first result applies at once**: a first pass makes it healthy immediately
//!   ("this makes startup faster", Envoy); a first failure leaves it unhealthy.
//! - After that, `unhealthy_threshold` failures in a row make a healthy endpoint
//!   unhealthy, and `healthy_threshold` passes in a row make an unhealthy one healthy.
//!   A pass resets the failure run, a failure resets the pass run.
//!
//! Not modelled: Envoy marks a host unhealthy at once on a *non-network* failure (an
//! HTTP health check answered with a bad status); here every failed probe counts
//! towards `unhealthy_threshold`, as Envoy does for timeouts and connection failures.
//!
//! # Call order
//!
//! ```text
//! let mut hc = HealthChecker::new(&cfg);             // cfg.validate() already passed
//! // per endpoint: schedule a probe after hc.next_probe_delay(&mut rng)
//! // probe answered in time -> passed = true; error, refusal, loss or timeout -> false
//! match hc.on_probe_result(now, ep, passed) { HealthChange::BecameHealthy => .., _ => .. }
//! if hc.is_healthy(ep) { /* eligible for picks */ }
//! hc.forget(ep);                                      // ep left the discovery view
//! ```
//!
//! `now` must not go backwards between calls.

use std::time::Duration;

use rand::Rng;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::{nanos, Instant};
use crate::{ConfigError, EndpointId};

/// The `health_check` table of a client (Envoy `HealthCheck`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "a health_check table { interval = ..., timeout = ..., ... }"
    )
)]
pub struct HealthCheckConfig {
    /// Time between two probes of the same endpoint (Envoy `interval`).
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub interval: Duration,
    /// Extra wait, uniform in `[0, interval_jitter)`, added to every interval so that
    /// many clients do not probe in lockstep (Envoy `interval_jitter`).
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub interval_jitter: Duration,
    /// A probe not answered within this time has failed (Envoy `timeout`).
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub timeout: Duration,
    /// Failed probes in a row that make a healthy endpoint unhealthy.
    pub unhealthy_threshold: u32,
    /// Passing probes in a row that make an unhealthy endpoint healthy again.
    pub healthy_threshold: u32,
    /// Service time a probe takes on the server; `None`: the probe is answered without
    /// taking a worker (a cheap endpoint served beside the request queue).
    #[cfg_attr(feature = "serde", serde(with = "duration_str::option"))]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::optional_duration")
    )]
    pub probe_cost: Option<Duration>,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            interval: Duration::from_secs(5),
            interval_jitter: Duration::ZERO,
            timeout: Duration::from_secs(1),
            unhealthy_threshold: 3,
            healthy_threshold: 2,
            probe_cost: None,
        }
    }
}

impl HealthCheckConfig {
    /// Checks every value once at load time, so the checker never has to fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval.is_zero() {
            return Err(ConfigError::new(
                "interval",
                "= 0s would probe without pause; use a positive duration such as \"5s\"",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new(
                "timeout",
                "= 0s would fail every probe; use a positive duration such as \"1s\"",
            ));
        }
        if self.unhealthy_threshold == 0 {
            return Err(ConfigError::new(
                "unhealthy_threshold",
                "= 0 is not a number of failed probes; use 1 or more",
            ));
        }
        if self.healthy_threshold == 0 {
            return Err(ConfigError::new(
                "healthy_threshold",
                "= 0 is not a number of passing probes; use 1 or more",
            ));
        }
        Ok(())
    }
}

/// What a probe result changed, so the caller can update its eligible list (and count
/// transitions) only when something happened.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthChange {
    /// The endpoint's health did not change (a streak may have grown).
    Unchanged,
    /// The endpoint is healthy now and was not before.
    BecameHealthy,
    /// The endpoint is unhealthy now and was healthy before.
    BecameUnhealthy,
}

/// One endpoint's health as this client sees it; each state carries only its streak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Never probed since it joined the view: unhealthy, and the first result decides.
    Pending,
    /// Healthy, with the failed probes seen in a row since.
    Healthy { failed_in_row: u32 },
    /// Unhealthy after at least one result, with the passing probes seen in a row.
    Unhealthy { passed_in_row: u32 },
}

/// Health bookkeeping of one client instance for all its endpoints.
///
/// Per-endpoint state lives in a `Vec` indexed by [`EndpointId::index`] and grows on
/// demand, since autoscaling adds endpoints during a run. See the module docs for the
/// call order and the Envoy rules it follows.
#[derive(Clone, Debug)]
pub struct HealthChecker {
    interval: Duration,
    interval_jitter: Duration,
    timeout: Duration,
    unhealthy_threshold: u32,
    healthy_threshold: u32,
    status: Vec<Status>,
    last_now: Instant,
}

impl HealthChecker {
    /// A checker that knows no endpoint yet (every endpoint starts pending).
    ///
    /// # Errors
    ///
    /// The first problem [`HealthCheckConfig::validate`] finds; its `key` names the field.
    pub fn try_new(cfg: &HealthCheckConfig) -> Result<HealthChecker, ConfigError> {
        cfg.validate()?;
        Ok(HealthChecker::build(cfg))
    }

    /// [`HealthChecker::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `cfg.validate()` fails, in every build: no invalid config builds a health checker.
    pub fn new(cfg: &HealthCheckConfig) -> HealthChecker {
        HealthChecker::try_new(cfg).unwrap_or_else(|e| panic!("invalid health checker config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(cfg: &HealthCheckConfig) -> HealthChecker {
        HealthChecker {
            interval: cfg.interval,
            interval_jitter: cfg.interval_jitter,
            timeout: cfg.timeout,
            unhealthy_threshold: cfg.unhealthy_threshold.max(1),
            healthy_threshold: cfg.healthy_threshold.max(1),
            status: Vec::new(),
            last_now: Instant::ZERO,
        }
    }

    /// How long to wait before the next probe of an endpoint: `interval` plus a uniform
    /// jitter in `[0, interval_jitter)`. Draws from `rng` only when jitter is set, so
    /// turning jitter off does not shift the policy's random stream otherwise.
    pub fn next_probe_delay<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let jitter_ns = nanos(self.interval_jitter);
        if jitter_ns == 0 {
            return self.interval;
        }
        self.interval + Duration::from_nanos(rng.random_range(0..jitter_ns))
    }

    /// How long the caller waits for a probe's answer before counting it as failed.
    pub fn probe_timeout(&self) -> Duration {
        self.timeout
    }

    /// Records one probe result for `ep` and says whether its health changed.
    ///
    /// # Panics
    ///
    /// If `now` is earlier than in a previous call (a caller bug).
    pub fn on_probe_result(&mut self, now: Instant, ep: EndpointId, passed: bool) -> HealthChange {
        assert!(
            now >= self.last_now,
            "time went backwards: {now} < {}",
            self.last_now
        );
        self.last_now = now;
        let (unhealthy_threshold, healthy_threshold) =
            (self.unhealthy_threshold, self.healthy_threshold);
        let slot = self.slot(ep);
        let (next, change) = match (*slot, passed) {
            (Status::Pending, true) => (
                Status::Healthy { failed_in_row: 0 },
                HealthChange::BecameHealthy,
            ),
            (Status::Pending, false) => (
                Status::Unhealthy { passed_in_row: 0 },
                HealthChange::Unchanged,
            ),
            (Status::Healthy { .. }, true) => (
                Status::Healthy { failed_in_row: 0 },
                HealthChange::Unchanged,
            ),
            (Status::Healthy { failed_in_row }, false) => {
                let failed_in_row = failed_in_row + 1;
                if failed_in_row >= unhealthy_threshold {
                    (
                        Status::Unhealthy { passed_in_row: 0 },
                        HealthChange::BecameUnhealthy,
                    )
                } else {
                    (Status::Healthy { failed_in_row }, HealthChange::Unchanged)
                }
            }
            (Status::Unhealthy { passed_in_row }, true) => {
                let passed_in_row = passed_in_row + 1;
                if passed_in_row >= healthy_threshold {
                    (
                        Status::Healthy { failed_in_row: 0 },
                        HealthChange::BecameHealthy,
                    )
                } else {
                    (Status::Unhealthy { passed_in_row }, HealthChange::Unchanged)
                }
            }
            (Status::Unhealthy { .. }, false) => (
                Status::Unhealthy { passed_in_row: 0 },
                HealthChange::Unchanged,
            ),
        };
        *slot = next;
        change
    }

    /// True when the probes say `ep` may take traffic. An endpoint never probed is not
    /// healthy (Envoy: unhealthy until the first check passes).
    #[must_use]
    pub fn is_healthy(&self, ep: EndpointId) -> bool {
        matches!(self.status.get(ep.index()), Some(Status::Healthy { .. }))
    }

    /// True while `ep` has had no probe result since it joined the view, so a caller
    /// can tell "not checked yet" from "failed its checks" (for reports).
    #[must_use]
    pub fn is_pending(&self, ep: EndpointId) -> bool {
        matches!(
            self.status
                .get(ep.index())
                .copied()
                .unwrap_or(Status::Pending),
            Status::Pending
        )
    }

    /// `ep` left the discovery view: drop what we knew, so if it comes back it is new
    /// again (pending, and its first probe result applies at once).
    pub fn forget(&mut self, ep: EndpointId) {
        if let Some(slot) = self.status.get_mut(ep.index()) {
            *slot = Status::Pending;
        }
    }

    /// The state slot of `ep`, growing the table on first sight.
    fn slot(&mut self, ep: EndpointId) -> &mut Status {
        let i = ep.index();
        if i >= self.status.len() {
            self.status.resize(i + 1, Status::Pending);
        }
        &mut self.status[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{stream, Role};

    /// One scripted step: at `t_s` seconds, probe of endpoint `ep` passed or failed.
    type Step = (u64, u32, bool);

    /// Runs `script` on a fresh checker and compares each change and the health after
    /// it with `expected`, written as `(change, healthy)` per step.
    fn check(cfg: &HealthCheckConfig, script: &[Step], expected: &[(HealthChange, bool)]) {
        assert_eq!(script.len(), expected.len(), "one expectation per step");
        let mut hc = HealthChecker::new(cfg);
        for (i, (&(t_s, ep, passed), &(want_change, want_healthy))) in
            script.iter().zip(expected).enumerate()
        {
            let now = Instant::from_nanos(t_s * 1_000_000_000);
            let change = hc.on_probe_result(now, EndpointId(ep), passed);
            let healthy = hc.is_healthy(EndpointId(ep));
            assert_eq!(
                (change, healthy),
                (want_change, want_healthy),
                "step {i}: probe of {ep} at {t_s}s passed={passed}"
            );
        }
    }

    use HealthChange::{BecameHealthy as Up, BecameUnhealthy as Down, Unchanged as Same};

    #[test]
    fn first_pass_of_new_endpoint_applies_at_once() {
        let hc = HealthChecker::new(&HealthCheckConfig::default());
        assert!(!hc.is_healthy(EndpointId(3)) && hc.is_pending(EndpointId(3)));
        check(
            &HealthCheckConfig::default(),
            &[(0, 3, true)],
            &[(Up, true)],
        );
    }

    #[test]
    fn first_failure_keeps_new_endpoint_unhealthy_then_needs_healthy_threshold() {
        check(
            &HealthCheckConfig::default(),
            &[(0, 0, false), (5, 0, true), (10, 0, true)],
            &[(Same, false), (Same, false), (Up, true)],
        );
    }

    #[test]
    fn unhealthy_after_threshold_failures_in_a_row() {
        check(
            &HealthCheckConfig::default(),
            &[
                (0, 0, true),
                (5, 0, false),
                (10, 0, false),
                (15, 0, false),
                (20, 0, false),
            ],
            &[
                (Up, true),
                (Same, true),
                (Same, true),
                (Down, false),
                (Same, false),
            ],
        );
    }

    #[test]
    fn a_pass_resets_the_failure_run_and_a_failure_the_pass_run() {
        check(
            &HealthCheckConfig::default(),
            &[
                (0, 0, true),
                (5, 0, false),
                (10, 0, false),
                (15, 0, true), // run of failures broken
                (20, 0, false),
                (25, 0, false),
                (30, 0, false), // third in a row
                (35, 0, true),
                (40, 0, false), // run of passes broken
                (45, 0, true),
                (50, 0, true),
            ],
            &[
                (Up, true),
                (Same, true),
                (Same, true),
                (Same, true),
                (Same, true),
                (Same, true),
                (Down, false),
                (Same, false),
                (Same, false),
                (Same, false),
                (Up, true),
            ],
        );
    }

    #[test]
    fn thresholds_of_one_flip_on_every_result() {
        let cfg = HealthCheckConfig {
            unhealthy_threshold: 1,
            healthy_threshold: 1,
            ..HealthCheckConfig::default()
        };
        check(
            &cfg,
            &[(0, 0, true), (1, 0, false), (2, 0, true)],
            &[(Up, true), (Down, false), (Up, true)],
        );
    }

    #[test]
    fn endpoints_are_independent_and_grow_on_demand() {
        check(
            &HealthCheckConfig::default(),
            &[(0, 7, true), (0, 1, false), (5, 7, false)],
            &[(Up, true), (Same, false), (Same, true)],
        );
    }

    #[test]
    fn a_forgotten_endpoint_is_new_again() {
        let mut hc = HealthChecker::new(&HealthCheckConfig::default());
        let ep = EndpointId(2);
        assert_eq!(hc.on_probe_result(Instant(0), ep, false), Same);
        hc.forget(ep);
        assert!(hc.is_pending(ep));
        assert_eq!(
            hc.on_probe_result(Instant(1), ep, true),
            Up,
            "first result again"
        );
        hc.forget(EndpointId(99)); // unknown: no effect, no panic
    }

    #[test]
    fn probe_delay_is_interval_plus_jitter_below_bound() {
        let mut rng = stream(1, Role::Policy, 0);
        let plain = HealthChecker::new(&HealthCheckConfig::default());
        assert_eq!(plain.next_probe_delay(&mut rng), Duration::from_secs(5));
        let cfg = HealthCheckConfig {
            interval_jitter: Duration::from_millis(500),
            ..HealthCheckConfig::default()
        };
        let hc = HealthChecker::new(&cfg);
        let delays: Vec<Duration> = (0..200).map(|_| hc.next_probe_delay(&mut rng)).collect();
        assert!(delays
            .iter()
            .all(|d| *d >= Duration::from_secs(5) && *d < Duration::from_millis(5500)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(5250)));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(5250)));
    }

    #[test]
    fn config_parses_with_defaults_and_rejects_bad_values() {
        let cfg: HealthCheckConfig =
            toml::from_str("interval = \"2s\"\nprobe_cost = \"1ms\"").unwrap();
        assert_eq!(cfg.interval, Duration::from_secs(2));
        assert_eq!(cfg.probe_cost, Some(Duration::from_millis(1)));
        assert_eq!(cfg.healthy_threshold, 2);
        assert!(cfg.validate().is_ok());
        assert!(toml::from_str::<HealthCheckConfig>("intervall = \"2s\"").is_err());
        let bad = HealthCheckConfig {
            unhealthy_threshold: 0,
            ..HealthCheckConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "unhealthy_threshold");
        let bad = HealthCheckConfig {
            interval: Duration::ZERO,
            ..HealthCheckConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "interval");
    }
}

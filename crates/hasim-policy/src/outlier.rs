//! Outlier detection (Envoy `outlier_detection`), one detector per client instance.
//!
//! Passive health checking: the detector watches the outcomes of the client's own
//! attempts and ejects endpoints that look broken, for a while.
//!
//! # Semantics (Envoy `Outlier::DetectorImpl`)
//!
//! - **Consecutive failures** (`consecutive_5xx`): the `consecutive_failures`-th failure
//!   in a row of an endpoint tries to eject it at once; the run restarts from zero
//!   whether or not the ejection was allowed. An outcome whose kind is not in `on` is a
//!   success and ends the run. `consecutive_failures = 0` turns this detector off.
//! - **Cap** on every ejection: allowed when `100 x (ejected + 1) <= max_ejection_percent
//!   x known`, or when nothing is ejected yet and `always_eject_one` is set (recent
//!   Envoy's `always_eject_one_host`, gRPC's behaviour). The cap counts all ejections
//!   of this client, across tiers, as Envoy does.
//! - **Ejection time** = `base_ejection x multiplier`, capped at `max_ejection`. The
//!   multiplier grows by one on each ejection (while `multiplier x base < max + base`,
//!   so it stops just past the cap) and shrinks by one on every interval tick at which
//!   the endpoint is not ejected: an endpoint that stays good earns its short ejections
//!   back. `max_ejection_time_jitter` is not modelled (Envoy's default is 0).
//! - **Un-ejection only at a tick**: an endpoint returns at the first interval tick at
//!   which `now - ejected_at >= ejection time`, not at the exact expiry. Its failure run
//!   restarts from zero.
//! - **Success rate** (when `success_rate = true`), at every tick, over the known,
//!   non-ejected endpoints with at least `success_rate_request_volume` attempts in the
//!   interval that just ended, and only if at least `success_rate_minimum_hosts`
//!   qualify: with success rates in percent, eject every such endpoint whose rate is
//!   below `mean - success_rate_stdev_factor x stdev` (population stdev), subject to
//!   the cap, in the order of `known`. Un-ejections of a tick happen before its
//!   success-rate ejections. Interval counts restart at every tick.
//!
//! Which failures count: with Envoy's default `split_external_local_origin_errors =
//! false`, `consecutive_5xx` counts 5xx answers *and* locally originated failures
//! (connect failures, timeouts, resets). So `on` defaults to all four kinds: `error`
//! (5xx), `rejected` (503 overloaded), `refused` (connect failure), `timeout`.
//!
//! Success-rate ejection defaults to off (`success_rate = false`), unlike Envoy where
//! `enforcing_success_rate = 100`: with its `request_volume = 100` per interval it
//! needs 10 attempts per second per endpoint per client instance, so it rarely fires
//! in a simulated fleet of many client instances and would silently differ between
//! scenarios of different rates. A scenario opts in, as POLICIES.md says ("when
//! enabled").
//!
//! # Call order
//!
//! ```text
//! let mut od = OutlierDetector::new(&cfg, now);       // cfg.validate() already passed
//! if let Some(e) = od.on_outcome(now, ep, outcome, known.len()) { /* ep left eligible */ }
//! // at or after od.next_deadline():
//! od.handle_timeout(now, &known, |event| match event { .. });
//! if od.is_ejected(ep) { /* not eligible (outside panic mode) */ }
//! od.forget(ep);                                      // ep left the discovery view
//! ```
//!
//! `now` must not go backwards between calls.

use std::time::Duration;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::{nanos, Instant};
use rand::Rng;

use crate::{ConfigError, EndpointId, FailureKind, KindSet, Outcome};

/// The `outlier` table of a client (Envoy `OutlierDetection`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "an outlier table { consecutive_failures = ..., interval = ..., ... }"
    )
)]
pub struct OutlierConfig {
    /// Failures in a row that eject an endpoint at once (Envoy `consecutive_5xx`);
    /// 0 turns consecutive-failure ejection off.
    pub consecutive_failures: u32,
    /// Time between ticks: un-ejection checks and success-rate evaluation.
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub interval: Duration,
    /// Ejection time of a first ejection; later ones last a multiple of it.
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub base_ejection: Duration,
    /// The longest an ejection lasts (Envoy `max_ejection_time`); unset: the larger
    /// of 300 s and `base_ejection`, as Envoy defaults it.
    #[cfg_attr(feature = "serde", serde(with = "duration_str::option"))]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::optional_duration")
    )]
    pub max_ejection: Option<Duration>,
    /// The most endpoints, in percent of the known ones, ejected at the same time.
    pub max_ejection_percent: u32,
    /// Allow one ejection even when the percent cap would forbid it (gRPC, Envoy
    /// `always_eject_one_host`): with 8 endpoints and 10 %, none could be ejected.
    pub always_eject_one: bool,
    /// Evaluate success-rate ejection at each tick (off by default; see module docs).
    pub success_rate: bool,
    /// Endpoints with enough volume needed before success rates are compared.
    pub success_rate_minimum_hosts: u32,
    /// Attempts in one interval an endpoint needs to take part in the comparison.
    pub success_rate_request_volume: u32,
    /// Eject below `mean - factor x stdev` of the success rates.
    pub success_rate_stdev_factor: f64,
    /// Failure kinds that count; others count as successes.
    pub on: KindSet,
    /// Percent chance that a consecutive-failure ejection is enforced (Envoy
    /// `enforcing_consecutive_5xx`, default 100).
    pub enforcing_consecutive_failures: u32,
    /// Gateway failures in a row that eject (Envoy `consecutive_gateway_failure`,
    /// default 5): `rejected` (503), `timeout` (504) and `refused` (connect failure,
    /// which Envoy reports as 503 when local-origin errors are not split).
    pub consecutive_gateway_failures: u32,
    /// Percent chance that a gateway-failure ejection is enforced (Envoy
    /// `enforcing_consecutive_gateway_failure`, default 0: detected, not enforced).
    pub enforcing_consecutive_gateway_failures: u32,
    /// Percent chance that a success-rate ejection is enforced (Envoy
    /// `enforcing_success_rate`, default 100).
    pub enforcing_success_rate: u32,
    /// At each tick, eject endpoints whose failure percentage over the interval is at
    /// least this (Envoy `failure_percentage_threshold`, default 85).
    pub failure_percentage_threshold: u32,
    /// Percent chance that a failure-percentage ejection is enforced (Envoy
    /// `enforcing_failure_percentage`, default 0: off).
    pub enforcing_failure_percentage: u32,
    /// Endpoints with enough volume needed before failure percentages are used
    /// (Envoy `failure_percentage_minimum_hosts`, default 5).
    pub failure_percentage_minimum_hosts: u32,
    /// Attempts in one interval an endpoint needs for its failure percentage to count
    /// (Envoy `failure_percentage_request_volume`, default 50).
    pub failure_percentage_request_volume: u32,
}

impl Default for OutlierConfig {
    fn default() -> Self {
        OutlierConfig {
            consecutive_failures: 5,
            interval: Duration::from_secs(10),
            base_ejection: Duration::from_secs(30),
            max_ejection: None,
            max_ejection_percent: 10,
            always_eject_one: true,
            success_rate: false,
            success_rate_minimum_hosts: 5,
            success_rate_request_volume: 100,
            success_rate_stdev_factor: 1.9,
            on: KindSet::ALL,
            enforcing_consecutive_failures: 100,
            consecutive_gateway_failures: 5,
            enforcing_consecutive_gateway_failures: 0,
            enforcing_success_rate: 100,
            failure_percentage_threshold: 85,
            enforcing_failure_percentage: 0,
            failure_percentage_minimum_hosts: 5,
            failure_percentage_request_volume: 50,
        }
    }
}

/// Envoy's `max_ejection_time` default when the config leaves it out.
pub const DEFAULT_MAX_EJECTION: Duration = Duration::from_secs(300);

impl OutlierConfig {
    /// The longest ejection: `max_ejection`, or Envoy's default `max(300 s,
    /// base_ejection)` when it is not set.
    pub fn max_ejection(&self) -> Duration {
        self.max_ejection
            .unwrap_or(DEFAULT_MAX_EJECTION.max(self.base_ejection))
    }

    /// Checks every value once at load time, so the detector never has to fail.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval.is_zero() {
            return Err(ConfigError::new(
                "interval",
                "= 0s would tick without pause; use a positive duration such as \"10s\"",
            ));
        }
        if self.base_ejection.is_zero() {
            return Err(ConfigError::new(
                "base_ejection",
                "= 0s would eject for no time; use a positive duration such as \"30s\"",
            ));
        }
        if self.max_ejection.is_some_and(|m| m < self.base_ejection) {
            return Err(ConfigError::new(
                "max_ejection",
                "must be at least `base_ejection` (Envoy rejects this too)",
            ));
        }
        for (key, value) in [
            (
                "enforcing_consecutive_failures",
                self.enforcing_consecutive_failures,
            ),
            (
                "enforcing_consecutive_gateway_failures",
                self.enforcing_consecutive_gateway_failures,
            ),
            ("enforcing_success_rate", self.enforcing_success_rate),
            (
                "failure_percentage_threshold",
                self.failure_percentage_threshold,
            ),
            (
                "enforcing_failure_percentage",
                self.enforcing_failure_percentage,
            ),
        ] {
            if value > 100 {
                return Err(ConfigError::new(
                    key,
                    format!("= {value} must be in [0, 100]"),
                ));
            }
        }
        if self.max_ejection_percent > 100 {
            return Err(ConfigError::new(
                "max_ejection_percent",
                format!("= {} must be in [0, 100]", self.max_ejection_percent),
            ));
        }
        let factor = self.success_rate_stdev_factor;
        if !(factor.is_finite() && factor >= 0.0) {
            return Err(ConfigError::new(
                "success_rate_stdev_factor",
                format!("= {factor} must be a finite number >= 0 (Envoy's default is 1.9)"),
            ));
        }
        Ok(())
    }
}

/// Envoy `featureEnabled(key, percent)`: 100 always, 0 never, else a draw below it.
fn enforced(percent: u32, draw: &mut dyn FnMut() -> u32) -> bool {
    match percent {
        0 => false,
        p if p >= 100 => true,
        p => draw() < p,
    }
}

/// Why an endpoint was ejected, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EjectReason {
    /// `consecutive_failures` failures in a row.
    ConsecutiveFailures,
    /// Success rate below the fleet's mean by more than the stdev factor.
    SuccessRate,
    /// `consecutive_gateway_failures` gateway failures in a row.
    GatewayFailures,
    /// Failure percentage over the interval at least `failure_percentage_threshold`.
    FailurePercentage,
}

/// An endpoint just ejected: the caller drops it from the eligible list until an
/// [`OutlierEvent::Unejected`] for it.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ejection {
    /// The endpoint ejected.
    pub endpoint: EndpointId,
    /// What triggered it.
    pub reason: EjectReason,
    /// Its ejection time; it returns at the first tick at or after `now + duration`.
    pub duration: Duration,
}

/// A change reported by [`OutlierDetector::handle_timeout`], one callback each, so a
/// tick needs no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutlierEvent {
    /// An endpoint's ejection time has passed: it is eligible again.
    Unejected(EndpointId),
    /// A success-rate ejection.
    Ejected(Ejection),
}

/// How many endpoints one tick un-ejected and ejected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Endpoints returned to service.
    pub unejected: u32,
    /// Endpoints ejected for their success rate.
    pub ejected: u32,
}

/// Ejection state of one endpoint; each state carries only what is valid in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Taking traffic, with the failures and gateway failures seen in a row.
    Serving {
        failures_in_row: u32,
        gateway_in_row: u32,
    },
    /// Ejected since `at`.
    Ejected { at: Instant },
}

/// Everything the detector keeps about one endpoint.
///
/// Half a cache line, aligned so it never straddles two: a client keeps one per
/// endpoint, and at fleet scale an outcome's host is rarely in cache.
#[derive(Clone, Copy, Debug)]
#[repr(align(32))]
struct Host {
    state: State,
    /// Ejection-time multiplier (Envoy `eject_time_backoff`).
    multiplier: u32,
    /// Attempts and successes since the last tick, for success-rate ejection
    /// (saturating: one endpoint of one client answers far fewer than 4 billion
    /// attempts in an interval).
    requests: u32,
    successes: u32,
}

impl Host {
    const NEW: Host = Host {
        state: State::Serving {
            failures_in_row: 0,
            gateway_in_row: 0,
        },
        multiplier: 0,
        requests: 0,
        successes: 0,
    };

    /// Success rate in percent over the interval, if the host takes part in the
    /// comparison (not ejected, enough volume, and at least one attempt).
    fn success_rate(&self, volume: u64) -> Option<f64> {
        let serving = matches!(self.state, State::Serving { .. });
        (serving && u64::from(self.requests) >= volume.max(1))
            .then(|| f64::from(self.successes) * 100.0 / f64::from(self.requests))
    }
}

/// Outlier detector of one client instance for all its endpoints.
///
/// Per-endpoint state lives in a `Vec` indexed by [`EndpointId::index`], grown on
/// demand. See the module docs for the call order and the Envoy rules.
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    cfg: OutlierConfig,
    hosts: Vec<Host>,
    ejected: usize,
    next_tick: Instant,
    last_now: Instant,
}

impl OutlierDetector {
    /// A detector whose first tick is one `interval` after `now`.
    ///
    /// # Errors
    ///
    /// The first problem [`OutlierConfig::validate`] finds; its `key` names the field.
    pub fn try_new(cfg: &OutlierConfig, now: Instant) -> Result<OutlierDetector, ConfigError> {
        cfg.validate()?;
        Ok(OutlierDetector::build(cfg, now))
    }

    /// [`OutlierDetector::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `cfg.validate()` fails, in every build: no invalid config builds a outlier detector.
    pub fn new(cfg: &OutlierConfig, now: Instant) -> OutlierDetector {
        OutlierDetector::try_new(cfg, now)
            .unwrap_or_else(|e| panic!("invalid outlier detector config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(cfg: &OutlierConfig, now: Instant) -> OutlierDetector {
        OutlierDetector {
            cfg: cfg.clone(),
            hosts: Vec::new(),
            ejected: 0,
            next_tick: now.after(cfg.interval),
            last_now: now,
        }
    }

    /// Records the outcome of one attempt to `ep`; `known_endpoints` is how many
    /// endpoints the client knows now (the base of the percent cap). Returns the
    /// ejection, if this outcome caused one.
    ///
    /// # Panics
    ///
    /// If `now` is earlier than in a previous call (a caller bug).
    pub fn on_outcome(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        known_endpoints: usize,
    ) -> Option<Ejection> {
        self.on_outcome_inner(now, ep, outcome, known_endpoints, &mut || 0)
    }

    /// [`on_outcome`](Self::on_outcome) with Envoy's enforcement draws: an ejection
    /// whose `enforcing_*` percent is below 100 happens only when a uniform draw in
    /// `0..100` from `rng` is below it (Envoy `featureEnabled`). Without an `rng`
    /// ([`on_outcome`](Self::on_outcome)) every percent above 0 enforces.
    pub fn on_outcome_with_rng<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        known_endpoints: usize,
        rng: &mut R,
    ) -> Option<Ejection> {
        self.on_outcome_inner(now, ep, outcome, known_endpoints, &mut || {
            rng.random_range(0..100)
        })
    }

    fn on_outcome_inner(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        known_endpoints: usize,
        draw: &mut dyn FnMut() -> u32,
    ) -> Option<Ejection> {
        self.advance(now);
        let failed = outcome.counts_as_failure(self.cfg.on);
        let gateway = matches!(
            outcome,
            Outcome::Failure(FailureKind::Rejected | FailureKind::Timeout | FailureKind::Refused)
        );
        let threshold = self.cfg.consecutive_failures;
        let gateway_threshold = self.cfg.consecutive_gateway_failures;
        let host = self.host_mut(ep);
        host.requests = host.requests.saturating_add(1);
        host.successes = host.successes.saturating_add(u32::from(!failed));
        let State::Serving {
            failures_in_row,
            gateway_in_row,
        } = &mut host.state
        else {
            return None; // already ejected: outcomes only feed the interval counts
        };
        // Envoy: a 5xx that is not a gateway error ends the gateway run; a non-5xx
        // ends both.
        *gateway_in_row = if gateway { *gateway_in_row + 1 } else { 0 };
        *failures_in_row = if failed { *failures_in_row + 1 } else { 0 };
        let mut reason = None;
        if threshold > 0 && *failures_in_row >= threshold {
            // Envoy resets the run whether or not the ejection happens.
            *failures_in_row = 0;
            reason = Some((
                EjectReason::ConsecutiveFailures,
                self.cfg.enforcing_consecutive_failures,
            ));
        } else if gateway_threshold > 0 && *gateway_in_row >= gateway_threshold {
            *gateway_in_row = 0;
            reason = Some((
                EjectReason::GatewayFailures,
                self.cfg.enforcing_consecutive_gateway_failures,
            ));
        }
        let (reason, enforcing) = reason?;
        if !enforced(enforcing, draw) {
            return None;
        }
        self.try_eject(now, ep, reason, known_endpoints)
    }

    /// True while `ep` is ejected.
    #[must_use]
    pub fn is_ejected(&self, ep: EndpointId) -> bool {
        matches!(
            self.hosts.get(ep.index()).map(|h| h.state),
            Some(State::Ejected { .. })
        )
    }

    /// How many endpoints are ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// The next interval tick: call [`handle_timeout`](Self::handle_timeout) at or
    /// after it. Always `Some`: ticks run even with nothing ejected, since they also
    /// shrink ejection multipliers and restart the success-rate counts.
    pub fn next_deadline(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    /// Runs the interval tick if it is due (a call before
    /// [`next_deadline`](Self::next_deadline) does nothing): un-ejects endpoints whose
    /// ejection time has passed, then runs success-rate ejection over `known` (the
    /// client's current view), reporting each change to `on_event`. The next tick is
    /// one interval after `now`, as Envoy re-arms its timer.
    ///
    /// # Panics
    ///
    /// If `now` is earlier than in a previous call (a caller bug).
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        known: &[EndpointId],
        on_event: impl FnMut(OutlierEvent),
    ) -> TickReport {
        self.handle_timeout_inner(now, known, on_event, &mut || 0)
    }

    /// [`handle_timeout`](Self::handle_timeout) with Envoy's enforcement draws (see
    /// [`on_outcome_with_rng`](Self::on_outcome_with_rng)).
    pub fn handle_timeout_with_rng<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        known: &[EndpointId],
        on_event: impl FnMut(OutlierEvent),
        rng: &mut R,
    ) -> TickReport {
        self.handle_timeout_inner(now, known, on_event, &mut || rng.random_range(0..100))
    }

    fn handle_timeout_inner(
        &mut self,
        now: Instant,
        known: &[EndpointId],
        mut on_event: impl FnMut(OutlierEvent),
        draw: &mut dyn FnMut() -> u32,
    ) -> TickReport {
        self.advance(now);
        let mut report = TickReport::default();
        if now < self.next_tick {
            return report;
        }
        for i in 0..self.hosts.len() {
            if self.uneject_if_due(now, i) {
                report.unejected += 1;
                on_event(OutlierEvent::Unejected(EndpointId(i as u32)));
            }
        }
        if self.cfg.success_rate && self.cfg.enforcing_success_rate > 0 {
            self.success_rate_ejections(now, known, draw, |e| {
                report.ejected += 1;
                on_event(OutlierEvent::Ejected(e));
            });
        }
        if self.cfg.enforcing_failure_percentage > 0 {
            self.failure_percentage_ejections(now, known, draw, |e| {
                report.ejected += 1;
                on_event(OutlierEvent::Ejected(e));
            });
        }
        for host in &mut self.hosts {
            host.requests = 0;
            host.successes = 0;
        }
        self.next_tick = now.after(self.cfg.interval);
        report
    }

    /// `ep` left the discovery view: drop what we knew (an ejection ends, the
    /// multiplier resets), so if it comes back it is new.
    pub fn forget(&mut self, ep: EndpointId) {
        if let Some(host) = self.hosts.get_mut(ep.index()) {
            if matches!(host.state, State::Ejected { .. }) {
                self.ejected -= 1;
            }
            *host = Host::NEW;
        }
    }

    /// Un-ejects host `i` if its ejection time has passed, else (if serving) shrinks
    /// its multiplier. True if it was un-ejected.
    fn uneject_if_due(&mut self, now: Instant, i: usize) -> bool {
        let time = self.ejection_time(self.hosts[i].multiplier);
        let host = &mut self.hosts[i];
        match host.state {
            State::Serving { .. } => {
                host.multiplier = host.multiplier.saturating_sub(1);
                false
            }
            State::Ejected { at } if now.since(at) >= time => {
                host.state = State::Serving {
                    failures_in_row: 0,
                    gateway_in_row: 0,
                };
                self.ejected -= 1;
                true
            }
            State::Ejected { .. } => false,
        }
    }

    /// Success-rate ejection over `known`, without allocating: one pass for the mean,
    /// one for the variance, one to eject.
    fn success_rate_ejections(
        &mut self,
        now: Instant,
        known: &[EndpointId],
        draw: &mut dyn FnMut() -> u32,
        mut on_eject: impl FnMut(Ejection),
    ) {
        let volume = u64::from(self.cfg.success_rate_request_volume);
        let rate = |hosts: &[Host], ep: EndpointId| {
            hosts.get(ep.index()).and_then(|h| h.success_rate(volume))
        };
        let (mut n, mut sum) = (0usize, 0.0);
        for &ep in known {
            if let Some(r) = rate(&self.hosts, ep) {
                n += 1;
                sum += r;
            }
        }
        if n == 0 || n < self.cfg.success_rate_minimum_hosts as usize {
            return;
        }
        let mean = sum / n as f64;
        let variance = known
            .iter()
            .filter_map(|&ep| rate(&self.hosts, ep))
            .map(|r| (r - mean) * (r - mean))
            .sum::<f64>()
            / n as f64;
        let threshold = mean - self.cfg.success_rate_stdev_factor * variance.sqrt();
        for &ep in known {
            if rate(&self.hosts, ep).is_some_and(|r| r < threshold)
                && enforced(self.cfg.enforcing_success_rate, draw)
            {
                if let Some(e) = self.try_eject(now, ep, EjectReason::SuccessRate, known.len()) {
                    on_eject(e);
                }
            }
        }
    }

    /// Failure-percentage ejection over `known` (Envoy `processSuccessRateEjections`,
    /// second half): among the serving endpoints with at least
    /// `failure_percentage_request_volume` attempts in the interval, if at least
    /// `failure_percentage_minimum_hosts` qualify, eject each whose failure percentage
    /// is at least `failure_percentage_threshold`.
    fn failure_percentage_ejections(
        &mut self,
        now: Instant,
        known: &[EndpointId],
        draw: &mut dyn FnMut() -> u32,
        mut on_eject: impl FnMut(Ejection),
    ) {
        let volume = u64::from(self.cfg.failure_percentage_request_volume);
        let rate = |hosts: &[Host], ep: EndpointId| {
            hosts.get(ep.index()).and_then(|h| h.success_rate(volume))
        };
        let qualified = known
            .iter()
            .filter(|&&ep| rate(&self.hosts, ep).is_some())
            .count();
        if qualified == 0 || qualified < self.cfg.failure_percentage_minimum_hosts as usize {
            return;
        }
        let threshold = f64::from(self.cfg.failure_percentage_threshold);
        for &ep in known {
            if rate(&self.hosts, ep).is_some_and(|r| 100.0 - r >= threshold)
                && enforced(self.cfg.enforcing_failure_percentage, draw)
            {
                let reason = EjectReason::FailurePercentage;
                if let Some(e) = self.try_eject(now, ep, reason, known.len()) {
                    on_eject(e);
                }
            }
        }
    }

    /// Ejects `ep` if the cap allows it.
    fn try_eject(
        &mut self,
        now: Instant,
        ep: EndpointId,
        reason: EjectReason,
        known: usize,
    ) -> Option<Ejection> {
        let within_percent = 100 * (self.ejected as u64 + 1)
            <= u64::from(self.cfg.max_ejection_percent) * known as u64;
        let first_one = self.cfg.always_eject_one && self.ejected == 0;
        if !(within_percent || first_one) {
            return None;
        }
        let (base, max) = (
            nanos(self.cfg.base_ejection),
            nanos(self.cfg.max_ejection()),
        );
        let host = self.host_mut(ep);
        debug_assert!(matches!(host.state, State::Serving { .. }));
        if u64::from(host.multiplier).saturating_mul(base) < max.saturating_add(base) {
            host.multiplier += 1;
        }
        host.state = State::Ejected { at: now };
        let multiplier = host.multiplier;
        self.ejected += 1;
        Some(Ejection {
            endpoint: ep,
            reason,
            duration: self.ejection_time(multiplier),
        })
    }

    /// `base_ejection x multiplier`, capped at `max_ejection`.
    fn ejection_time(&self, multiplier: u32) -> Duration {
        let base = nanos(self.cfg.base_ejection);
        let max = nanos(self.cfg.max_ejection());
        Duration::from_nanos(base.saturating_mul(u64::from(multiplier)).min(max))
    }

    /// Starts fetching the state of `ep` into the cache (see [`crate::prefetch`]).
    #[inline]
    pub(crate) fn prefetch_host(&self, ep: EndpointId) {
        if let Some(host) = self.hosts.get(ep.index()) {
            crate::prefetch::prefetch(host, 1);
        }
    }

    /// The state of `ep`, growing the table on first sight.
    fn host_mut(&mut self, ep: EndpointId) -> &mut Host {
        let i = ep.index();
        if i >= self.hosts.len() {
            self.hosts.resize(i + 1, Host::NEW);
        }
        &mut self.hosts[i]
    }

    /// Asserts that time does not go backwards.
    fn advance(&mut self, now: Instant) {
        assert!(
            now >= self.last_now,
            "time went backwards: {now} < {}",
            self.last_now
        );
        self.last_now = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailureKind;

    /// One scripted input. Ticks are not scripted: the helper runs every tick that is
    /// due before each input, as the simulator would.
    #[derive(Clone, Copy)]
    enum In {
        /// `n` attempts to the endpoint that failed (timeout).
        Fail(u32, u32),
        /// One attempt that failed with the given kind.
        FailAs(u32, FailureKind),
        /// `n` successful attempts.
        Ok(u32, u32),
        /// The endpoint left the view.
        Forget(u32),
        /// Nothing: only lets the ticks up to this time run.
        Wait,
    }

    /// Runs `script` of `(time in seconds, input)` against a detector created at 0
    /// whose client knows endpoints `0..known`, and compares the log of everything that
    /// happened (`"<t>s eject <ep> <duration>s <reason>"`, `"<t>s uneject <ep>"`) with
    /// `expected`.
    fn check(cfg: &OutlierConfig, known: u32, script: &[(f64, In)], expected: &[&str]) {
        let ids: Vec<EndpointId> = (0..known).map(EndpointId).collect();
        let mut od = OutlierDetector::new(cfg, Instant::ZERO);
        let mut log: Vec<String> = Vec::new();
        let secs = |t: Instant| t.as_nanos() as f64 / 1e9;
        let eject_line = |t: Instant, e: Ejection| {
            let reason = match e.reason {
                EjectReason::ConsecutiveFailures => "consecutive",
                EjectReason::SuccessRate => "success_rate",
                EjectReason::GatewayFailures => "gateway",
                EjectReason::FailurePercentage => "failure_percentage",
            };
            format!(
                "{}s eject {} {}s {reason}",
                secs(t),
                e.endpoint.0,
                e.duration.as_secs_f64()
            )
        };
        for &(t_s, input) in script {
            let now = Instant::from_nanos((t_s * 1e9).round() as u64);
            while let Some(tick) = od.next_deadline().filter(|&d| d <= now) {
                od.handle_timeout(tick, &ids, |event| match event {
                    OutlierEvent::Unejected(ep) => {
                        log.push(format!("{}s uneject {}", secs(tick), ep.0))
                    }
                    OutlierEvent::Ejected(e) => log.push(eject_line(tick, e)),
                });
            }
            let mut outcome = |ep: u32, outcome: Outcome, log: &mut Vec<String>| {
                if let Some(e) = od.on_outcome(now, EndpointId(ep), outcome, ids.len()) {
                    log.push(eject_line(now, e));
                }
            };
            match input {
                In::Fail(ep, n) => (0..n)
                    .for_each(|_| outcome(ep, Outcome::Failure(FailureKind::Timeout), &mut log)),
                In::FailAs(ep, kind) => outcome(ep, Outcome::Failure(kind), &mut log),
                In::Ok(ep, n) => (0..n).for_each(|_| outcome(ep, Outcome::Success, &mut log)),
                In::Forget(ep) => od.forget(EndpointId(ep)),
                In::Wait => {}
            }
        }
        assert_eq!(log, expected, "log of the script");
        let ejected = ids.iter().filter(|&&ep| od.is_ejected(ep)).count();
        assert_eq!(
            od.ejected_count(),
            ejected,
            "ejected_count agrees with is_ejected"
        );
    }

    fn cfg() -> OutlierConfig {
        OutlierConfig::default()
    }

    #[test]
    fn fifth_failure_in_a_row_ejects_at_once() {
        check(
            &cfg(),
            10,
            &[(1.0, In::Fail(3, 4)), (2.0, In::Fail(3, 1))],
            &["2s eject 3 30s consecutive"],
        );
    }

    #[test]
    fn a_success_ends_the_run() {
        check(
            &cfg(),
            10,
            &[
                (1.0, In::Fail(3, 4)),
                (1.5, In::Ok(3, 1)),
                (2.0, In::Fail(3, 4)),
            ],
            &[],
        );
    }

    #[test]
    fn kinds_not_in_on_count_as_successes() {
        let cfg = OutlierConfig {
            consecutive_failures: 2,
            on: KindSet::NONE.with(FailureKind::Refused),
            ..cfg()
        };
        check(
            &cfg,
            10,
            &[
                (1.0, In::FailAs(0, FailureKind::Refused)),
                (1.0, In::FailAs(0, FailureKind::Error)), // a success: ends the run
                (1.0, In::FailAs(0, FailureKind::Refused)),
                (1.0, In::FailAs(0, FailureKind::Refused)),
            ],
            &["1s eject 0 30s consecutive"],
        );
    }

    #[test]
    fn zero_consecutive_failures_turns_the_detector_off() {
        let cfg = OutlierConfig {
            consecutive_failures: 0,
            ..cfg()
        };
        check(&cfg, 10, &[(1.0, In::Fail(0, 50))], &[]);
    }

    #[test]
    fn cap_allows_ten_percent_of_ten_endpoints() {
        // 100 x 1 <= 10 x 10: one ejection; a second would be 20 %. The blocked
        // endpoint's run restarts, so it needs five more failures once room frees up.
        check(
            &cfg(),
            10,
            &[
                (1.0, In::Fail(0, 5)),
                (2.0, In::Fail(1, 5)),
                (45.0, In::Fail(1, 4)),
                (46.0, In::Fail(1, 1)),
            ],
            &[
                "1s eject 0 30s consecutive",
                "40s uneject 0",
                "46s eject 1 30s consecutive",
            ],
        );
    }

    #[test]
    fn cap_allows_two_of_twenty() {
        check(
            &cfg(),
            20,
            &[
                (1.0, In::Fail(0, 5)),
                (1.0, In::Fail(1, 5)),
                (1.0, In::Fail(2, 5)),
            ],
            &["1s eject 0 30s consecutive", "1s eject 1 30s consecutive"],
        );
    }

    #[test]
    fn always_eject_one_lets_one_through_a_cap_that_rounds_to_zero() {
        // 8 endpoints at 10 %: 100 x 1 > 10 x 8, so only always_eject_one allows it.
        let script = [(1.0, In::Fail(0, 5)), (1.0, In::Fail(1, 5))];
        check(&cfg(), 8, &script, &["1s eject 0 30s consecutive"]);
        let strict = OutlierConfig {
            always_eject_one: false,
            ..cfg()
        };
        check(&strict, 8, &script, &[]);
    }

    #[test]
    fn unejection_waits_for_the_next_tick_after_expiry() {
        // Ejected at 3 s for 30 s: expires at 33 s, returns at the 40 s tick.
        check(
            &cfg(),
            10,
            &[(3.0, In::Fail(0, 5)), (39.9, In::Wait), (41.0, In::Wait)],
            &["3s eject 0 30s consecutive", "40s uneject 0"],
        );
    }

    #[test]
    fn expiry_exactly_at_a_tick_unejects_at_that_tick() {
        check(
            &cfg(),
            10,
            &[(10.0, In::Fail(0, 5)), (40.0, In::Wait)],
            &["10s eject 0 30s consecutive", "40s uneject 0"],
        );
    }

    #[test]
    fn multiplier_grows_with_each_ejection_and_is_capped() {
        // Interval 1 s, base 10 s, max 25 s; re-ejected right after each return,
        // before a tick can shrink the multiplier: 10 s, 20 s, 25 s, 25 s.
        let cfg = OutlierConfig {
            interval: Duration::from_secs(1),
            base_ejection: Duration::from_secs(10),
            max_ejection: Some(Duration::from_secs(25)),
            ..cfg()
        };
        check(
            &cfg,
            10,
            &[
                (0.5, In::Fail(0, 5)),
                (11.5, In::Fail(0, 5)),
                (32.5, In::Fail(0, 5)),
                (58.5, In::Fail(0, 5)),
                (90.0, In::Wait),
            ],
            &[
                "0.5s eject 0 10s consecutive",
                "11s uneject 0",
                "11.5s eject 0 20s consecutive",
                "32s uneject 0",
                "32.5s eject 0 25s consecutive",
                "58s uneject 0",
                "58.5s eject 0 25s consecutive",
                "84s uneject 0",
            ],
        );
    }

    #[test]
    fn multiplier_shrinks_on_each_tick_spent_serving() {
        // Re-ejected right after its return at the 110 s tick (no tick in between
        // found it serving), the multiplier goes 2 -> 3: 90 s.
        check(
            &cfg(),
            10,
            &[
                (1.0, In::Fail(0, 5)),
                (40.5, In::Fail(0, 5)),
                (110.5, In::Fail(0, 5)),
                (250.0, In::Wait),
            ],
            &[
                "1s eject 0 30s consecutive",
                "40s uneject 0",
                "40.5s eject 0 60s consecutive",
                "110s uneject 0",
                "110.5s eject 0 90s consecutive",
                "210s uneject 0",
            ],
        );
        // One tick spent serving (120 s) brings it from 2 to 1, so the next ejection
        // is 60 s, not 90 s.
        check(
            &cfg(),
            10,
            &[
                (1.0, In::Fail(0, 5)),
                (40.5, In::Fail(0, 5)),
                (120.5, In::Fail(0, 5)), // the 120 s tick found it serving: 2 -> 1
                (200.0, In::Wait),
            ],
            &[
                "1s eject 0 30s consecutive",
                "40s uneject 0",
                "40.5s eject 0 60s consecutive",
                "110s uneject 0",
                "120.5s eject 0 60s consecutive",
                "190s uneject 0",
            ],
        );
    }

    #[test]
    fn forget_ends_an_ejection_and_resets_the_multiplier() {
        check(
            &cfg(),
            10,
            &[
                (1.0, In::Fail(0, 5)),
                (2.0, In::Forget(0)),
                (3.0, In::Fail(0, 5)),
            ],
            &["1s eject 0 30s consecutive", "3s eject 0 30s consecutive"],
        );
    }

    fn success_rate_cfg() -> OutlierConfig {
        OutlierConfig {
            success_rate: true,
            consecutive_failures: 0,
            ..cfg()
        }
    }

    /// `ok` successes then `100 - ok` failures at `t` for endpoint `ep`.
    fn volume(t: f64, ep: u32, ok: u32) -> [(f64, In); 2] {
        [(t, In::Ok(ep, ok)), (t, In::Fail(ep, 100 - ok))]
    }

    /// The script where endpoint `i` has `ok[i]` successes out of 100 attempts in the
    /// first interval, evaluated at the 10 s tick.
    fn rates(ok: &[u32]) -> Vec<(f64, In)> {
        let mut script: Vec<(f64, In)> = Vec::new();
        for (ep, &ok) in ok.iter().enumerate() {
            script.extend(volume(1.0, ep as u32, ok));
        }
        script.push((10.0, In::Wait));
        script
    }

    #[test]
    fn success_rate_ejects_below_mean_minus_factor_stdev() {
        // Envoy's worked example: {50, 100, 100, 100, 100} gives mean 90, stdev 20,
        // threshold 90 - 1.9 x 20 = 52, so the 50 % endpoint goes. (With five
        // endpoints one low rate always has z = 2 > 1.9, so any single outlier goes.)
        // The cap (10 % of 5) forbids it; always_eject_one lets it through.
        check(
            &success_rate_cfg(),
            5,
            &rates(&[50, 100, 100, 100, 100]),
            &["10s eject 0 30s success_rate"],
        );
        // {90, 95, 100, 100, 100}: mean 97, stdev 4, threshold 89.4: nobody goes.
        check(
            &success_rate_cfg(),
            5,
            &rates(&[90, 95, 100, 100, 100]),
            &[],
        );
        // {85, 95, 100, 100, 100}: mean 96, stdev 5.83, threshold 84.92: nobody.
        check(
            &success_rate_cfg(),
            5,
            &rates(&[85, 95, 100, 100, 100]),
            &[],
        );
        // {83, 95, 100, 100, 100}: mean 95.6, stdev 6.59, threshold 83.08: 83 goes.
        check(
            &success_rate_cfg(),
            5,
            &rates(&[83, 95, 100, 100, 100]),
            &["10s eject 0 30s success_rate"],
        );
    }

    #[test]
    fn success_rate_ejections_respect_the_cap_in_known_order() {
        // Ten endpoints, two bad ones; 10 % of 10 allows one: the first in `known`.
        let mut ok = vec![100; 10];
        ok[3] = 10;
        ok[7] = 10;
        check(
            &success_rate_cfg(),
            10,
            &rates(&ok),
            &["10s eject 3 30s success_rate"],
        );
    }

    #[test]
    fn success_rate_needs_minimum_hosts_with_volume() {
        // Endpoint 4 has 99 attempts: only four endpoints qualify, fewer than five.
        let mut script: Vec<(f64, In)> = volume(1.0, 0, 50).to_vec();
        for ep in 1..4 {
            script.extend(volume(1.0, ep, 100));
        }
        script.push((1.0, In::Ok(4, 99)));
        script.push((10.0, In::Wait));
        check(&success_rate_cfg(), 5, &script, &[]);
    }

    #[test]
    fn success_rate_counts_restart_every_interval() {
        // The volume is split across two intervals: 50 before the 10 s tick, 50 after.
        let mut script = vec![];
        for ep in 0..5 {
            script.push((1.0, In::Ok(ep, 50)));
        }
        script.push((11.0, In::Fail(0, 4)));
        script.push((11.0, In::Ok(0, 46)));
        for ep in 1..5 {
            script.push((11.0, In::Ok(ep, 50)));
        }
        script.push((20.0, In::Wait));
        check(&success_rate_cfg(), 5, &script, &[]);
    }

    #[test]
    fn success_rate_is_off_by_default() {
        let cfg = OutlierConfig {
            consecutive_failures: 0,
            ..cfg()
        };
        let mut script: Vec<(f64, In)> = volume(1.0, 0, 50).to_vec();
        for ep in 1..5 {
            script.extend(volume(1.0, ep, 100));
        }
        script.push((10.0, In::Wait));
        check(&cfg, 5, &script, &[]);
    }

    #[test]
    fn early_handle_timeout_does_nothing() {
        let mut od = OutlierDetector::new(&cfg(), Instant::ZERO);
        let deadline = od.next_deadline().unwrap();
        assert_eq!(deadline, Instant::from_nanos(10_000_000_000));
        let report = od.handle_timeout(Instant(5), &[], |_| panic!("no events"));
        assert_eq!(report, TickReport::default());
        assert_eq!(od.next_deadline(), Some(deadline));
    }

    #[test]
    fn config_parses_and_validates() {
        let cfg: OutlierConfig =
            toml::from_str("consecutive_failures = 3\nbase_ejection = \"10s\"\non = [\"timeout\"]")
                .unwrap();
        assert_eq!(cfg.consecutive_failures, 3);
        assert!(cfg.on.contains(FailureKind::Timeout) && !cfg.on.contains(FailureKind::Error));
        assert!(cfg.validate().is_ok());
        let bad = OutlierConfig {
            max_ejection: Some(Duration::from_secs(1)),
            ..cfg.clone()
        };
        assert_eq!(bad.validate().unwrap_err().key, "max_ejection");
        let bad = OutlierConfig {
            max_ejection_percent: 101,
            ..cfg
        };
        assert_eq!(bad.validate().unwrap_err().key, "max_ejection_percent");
        assert!(toml::from_str::<OutlierConfig>("consecutive_5xx = 3").is_err());
    }
}

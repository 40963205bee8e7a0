//! Circuit breaker: fail fast while a target is failing, probe it after a wait.
//!
//! Three flavors follow three production breakers (POLICIES.md, "Circuit breaker"):
//! resilience4j (default), Hystrix and Finagle-style consecutive failures. They share
//! one state machine, CLOSED -> OPEN -> HALF_OPEN -> CLOSED or OPEN; they differ in
//! what trips CLOSED (a [`TripRule`]) and in how many probes HALF_OPEN lets
//! through (Hystrix and consecutive: one trial call, any counted failure reopens).
//!
//! Decisions the production systems leave open, and what this breaker does:
//! - Outcomes reported while OPEN change nothing (resilience4j records them in metrics
//!   that HALF_OPEN throws away; Hystrix and Finagle ignore them). The window is
//!   emptied when the breaker closes.
//! - Timers fire exactly at their deadline whatever the caller's timing: every input
//!   first applies the deadlines that have passed (a HALF_OPEN timeout opens the
//!   breaker at the deadline, a Hystrix check trips at its bucket boundary), so
//!   `handle_timeout` only matters when nothing else happens.
//! - In Hystrix and consecutive HALF_OPEN, the first outcome reported decides, whether
//!   it is the trial's or that of a call admitted earlier (Hystrix's `markSuccess` /
//!   `markNonSuccess` and Finagle's probe state behave so; resilience4j records such
//!   late outcomes in HALF_OPEN too).
//! - A cancelled call gives back a HALF_OPEN permit only when that cannot put more
//!   than `half_open_calls` probes in flight (see [`Breaker::on_cancel`]).

mod config;
mod consecutive;
mod hystrix;
#[cfg(feature = "serde")]
pub(crate) mod table;
mod window;

#[cfg(test)]
mod metrics_tests;
#[cfg(test)]
mod model_single_trial_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use config::{
    BreakerConfig, Flavor, Rules, Scope, TripRule, WindowKind, HYSTRIX_BUCKET, MAX_COUNT_WINDOW,
    MAX_TIME_WINDOW_S,
};

use std::sync::Arc;
use std::time::Duration;

use consecutive::ConsecutiveFailures;
use hystrix::HystrixWindow;
use window::{BucketWindow, CountWindow, Sample, SmallCountWindow, SmallTally, Tally};

use crate::time::{nanos, Instant};
use crate::{ConfigError, Outcome};

/// The breaker's answer to "may this call go out?".
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// CLOSED: send the call; report its outcome.
    Allow,
    /// HALF_OPEN: send the call as a probe (it holds one of the `half_open_calls`
    /// permits); report its outcome. Callers may label it in reports.
    Probe,
    /// Fail fast without sending. `retry_at` is the earliest instant at which `admit`
    /// can answer otherwise as far as time alone decides: just after the OPEN wait, or
    /// `now` in a HALF_OPEN whose permits are all out (it then waits for outcomes).
    Reject {
        /// When asking again may help.
        retry_at: Instant,
    },
}

/// The breaker's state, for reports and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BreakerState {
    /// Calls flow; outcomes are recorded in the window.
    Closed,
    /// Calls are rejected until the wait ends.
    Open,
    /// A limited number of probes decide between CLOSED and OPEN.
    HalfOpen,
    /// Set by [`Breaker::force_open`]: every call is rejected until
    /// [`Breaker::reset`] (resilience4j `FORCED_OPEN`).
    ForcedOpen,
    /// Set by [`Breaker::disable`]: every call is allowed, nothing is recorded
    /// (resilience4j `DISABLED`).
    Disabled,
    /// Set by [`Breaker::metrics_only`]: every call is allowed and recorded, but the
    /// breaker never trips (resilience4j `METRICS_ONLY`).
    MetricsOnly,
}

impl BreakerState {
    /// The name used in outputs.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
            BreakerState::ForcedOpen => "forced_open",
            BreakerState::Disabled => "disabled",
            BreakerState::MetricsOnly => "metrics_only",
        }
    }
}

/// What a breaker's deciding window holds (see [`Breaker::metrics`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// Calls recorded in the window (resilience4j `getNumberOfBufferedCalls`).
    pub buffered_calls: u64,
    /// Of those, failures (outcomes whose kind is in `on`).
    pub failed_calls: u64,
    /// Of those, calls slower than `slow_call_duration`.
    pub slow_calls: u64,
    /// `failed_calls / buffered_calls` in [0, 1], once the window holds its minimum.
    pub failure_rate: Option<f64>,
    /// `slow_calls / buffered_calls` in [0, 1], once the window holds its minimum.
    pub slow_call_rate: Option<f64>,
    /// Admitted calls that have not reported yet.
    pub calls_in_flight: u32,
}

/// The state, 16 bytes. CLOSED's window lives in [`Breaker::detector`] and
/// HALF_OPEN's trial counts in [`Breaker::trial`], outside this enum, so that
/// transitions never allocate and the state stays in the breaker's first cache line
/// (see [`Breaker`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Closed,
    Open {
        /// Rejects while `now <= until`.
        until: Instant,
    },
    /// The trial's counts are in [`Breaker::trial`].
    HalfOpen {
        /// `max_wait_in_half_open` expiry; `Instant::MAX` when there is none (an
        /// `Option` would add 8 bytes to every breaker of a fleet).
        expires_at: Instant,
    },
    /// One of the special states an operator sets by hand.
    Special(Special),
}

/// What a HALF_OPEN keeps about its trial calls; meaningful only in HALF_OPEN (each
/// `enter_half_open` starts it afresh).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Trial {
    /// Probes `admit` may still hand out.
    permits_left: u32,
    /// An upper bound on probes in flight: `permits_left + probes_out` never exceeds
    /// `half_open_calls`.
    probes_out: u32,
    /// The fresh count window of this HALF_OPEN (it never wraps: it decides as soon as
    /// it holds `half_open_minimum <= half_open_calls` outcomes).
    tally: SmallTally,
}

/// resilience4j's special states: only the operator's calls leave them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    ForcedOpen,
    Disabled,
    MetricsOnly,
}

/// What trips a CLOSED breaker: a closed enum, dispatched without `dyn`. 24 bytes:
/// the count windows of up to 64 calls inline (their length is in the rules), every
/// other kind boxed, since they would set the size of every breaker (a client keeps
/// one per endpoint) and they are rarer.
#[derive(Clone, Debug)]
enum Detector {
    Count(SmallCountWindow),
    LongCount(Box<CountWindow>),
    Time(Box<BucketWindow>),
    Hystrix(Box<HystrixWindow>),
    Consecutive(ConsecutiveFailures),
}

const SECOND_NS: u64 = 1_000_000_000;

/// A circuit breaker: a sans-IO state machine (quinn-proto's `Connection` is the
/// model). It reads no clock and sets no timer: time comes in as `now`, decisions go
/// out as [`Admit`], and the caller asks [`Breaker::next_deadline`] when to call back.
///
/// # Call order
///
/// ```text
/// let mut b = Breaker::new(&config);           // config.validate() passed
/// match b.admit(now) {                          // before each call (or attempt)
///     Admit::Allow | Admit::Probe => send(),
///     Admit::Reject { retry_at } => fail_fast(retry_at),
/// }
/// b.on_outcome(later, outcome, latency);        // exactly once per admitted call,
/// // or b.on_cancel(later)                      // or this if it was abandoned
/// if let Some(t) = b.next_deadline() {          // after any call above
///     schedule(t);                              // then b.handle_timeout(t_or_later)
/// }
/// ```
///
/// `now` must never go backwards between calls. A rejected call reports nothing.
/// Every admitted call, whatever the state it was admitted in, reports exactly once:
/// the breaker counts calls in flight to know how many probes can still be out.
///
/// # Example
///
/// A resilience4j breaker over the last 4 calls opens when half of them failed, waits
/// 1 s, then lets one probe through and closes when it succeeds:
///
/// ```
/// use std::time::Duration;
/// use hasim_policy::breaker::{Admit, Breaker, BreakerConfig, BreakerState};
/// use hasim_policy::time::Instant;
/// use hasim_policy::{FailureKind, Outcome};
///
/// let mut config = BreakerConfig::default();
/// config.window_size = Some(4);
/// config.minimum_calls = Some(4);
/// config.failure_rate = Some(0.5);
/// config.wait_in_open = Some(Duration::from_secs(1));
/// config.half_open_calls = Some(1);
/// let mut breaker = Breaker::try_new(&config)?;
///
/// let ms = |n: u64| Instant::from_nanos(n * 1_000_000);
/// let latency = Duration::from_millis(3);
/// for (i, failed) in [false, true, false, true].into_iter().enumerate() {
///     let now = ms(i as u64);
///     assert_eq!(breaker.admit(now), Admit::Allow);
///     let outcome = if failed { Outcome::Failure(FailureKind::Error) } else { Outcome::Success };
///     breaker.on_outcome(now, outcome, latency);
/// }
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert!(matches!(breaker.admit(ms(500)), Admit::Reject { .. }));
///
/// // After the wait, one probe; its success closes the breaker.
/// assert_eq!(breaker.admit(ms(1_004)), Admit::Probe);
/// breaker.on_outcome(ms(1_007), Outcome::Success, latency);
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// # Ok::<(), hasim_policy::ConfigError>(())
/// ```
///
/// # Layout
///
/// A client keeps one breaker per endpoint, and at fleet scale (100 instances x 1,000
/// endpoints) the breaker an attempt touches is rarely in cache. So the fields are in
/// a fixed order (`repr(C)`): what every admit and every outcome in CLOSED reads or
/// writes (the rules pointer, calls in flight, the state, a count window of up to 64
/// calls) comes first, in 56 bytes, and what only HALF_OPEN and debug builds use
/// comes after. A caller that puts 8 bytes of its own in front of it (the client's
/// per-endpoint state) gets one cache line per call instead of two.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Breaker {
    /// Shared by every breaker built from one config (a client keeps one per endpoint:
    /// at fleet scale the rules would otherwise be most of each breaker's memory).
    rules: Arc<Rules>,
    /// Admitted calls that have not reported yet (saturating: a client has far fewer
    /// than 4 billion calls out).
    in_flight: u32,
    /// Openings since the breaker last closed: the n-th waits
    /// `wait_in_open x wait_multiplier^(n-1)`.
    openings: u32,
    state: State,
    detector: Detector,
    /// HALF_OPEN's permits and trial counts (stale in other states).
    trial: Trial,
    /// The latest `now` seen, to assert that time never goes backwards (debug builds
    /// only: release builds keep the breaker small, see `CountWindow`).
    #[cfg(debug_assertions)]
    last_now: Instant,
}

impl Breaker {
    /// A CLOSED breaker with an empty window. Every window is allocated here, once.
    ///
    /// # Errors
    ///
    /// The first problem [`BreakerConfig::validate`] finds; its `key` names the field.
    pub fn try_new(config: &BreakerConfig) -> Result<Breaker, ConfigError> {
        config.validate()?;
        Ok(Breaker::build(config))
    }

    /// [`Breaker::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a breaker.
    pub fn new(config: &BreakerConfig) -> Breaker {
        Breaker::try_new(config).unwrap_or_else(|e| panic!("invalid breaker config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(config: &BreakerConfig) -> Breaker {
        Breaker::with_rules(Arc::new(config.resolved()))
    }

    /// A CLOSED breaker running `rules` (from [`BreakerConfig::resolved`] of a
    /// validated config), shared with the other breakers of the same config.
    pub(crate) fn with_rules(rules: Arc<Rules>) -> Breaker {
        let detector = match rules.trip {
            TripRule::CountWindow { size, .. } if size <= SmallCountWindow::MAX => {
                Detector::Count(SmallCountWindow::default())
            }
            TripRule::CountWindow { size, .. } => {
                Detector::LongCount(Box::new(CountWindow::new(size)))
            }
            TripRule::TimeWindow { size_s, .. } => {
                Detector::Time(Box::new(BucketWindow::new(size_s)))
            }
            TripRule::Hystrix {
                size_s,
                request_volume,
                error_percent,
            } => Detector::Hystrix(Box::new(HystrixWindow::new(
                size_s,
                request_volume,
                error_percent,
            ))),
            TripRule::Consecutive { failures } => {
                Detector::Consecutive(ConsecutiveFailures::new(failures))
            }
        };
        Breaker {
            rules,
            in_flight: 0,
            openings: 0,
            state: State::Closed,
            detector,
            trial: Trial::default(),
            #[cfg(debug_assertions)]
            last_now: Instant::ZERO,
        }
    }

    /// The bytes of this breaker, from its start, that an admit and an outcome in
    /// CLOSED touch (with a count window of up to 64 calls): the layout test of the
    /// client's per-endpoint state checks that they stay in one cache line.
    #[cfg(test)]
    pub(crate) fn hot_bytes(&self) -> std::ops::Range<usize> {
        let base = self as *const Breaker as usize;
        let end = |p: usize, size: usize| p - base + size;
        let ends = [
            end(&self.rules as *const _ as usize, 8),
            end(&self.in_flight as *const _ as usize, 4),
            end(&self.openings as *const _ as usize, 4),
            end(
                &self.state as *const _ as usize,
                std::mem::size_of::<State>(),
            ),
            end(
                &self.detector as *const _ as usize,
                std::mem::size_of::<Detector>(),
            ),
        ];
        0..ends.into_iter().max().unwrap_or(0)
    }

    /// The rules this breaker runs, flavor defaults resolved (for reports).
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// May a call go out now? CLOSED allows; OPEN rejects while `now` is not strictly
    /// after the end of its wait, and otherwise moves to HALF_OPEN (no timer needed:
    /// the first call after the wait does it); HALF_OPEN hands out its permits.
    #[must_use = "a rejected call must fail fast, an admitted one must report back"]
    pub fn admit(&mut self, now: Instant) -> Admit {
        self.advance(now);
        if let State::Open { until } = self.state {
            if now <= until {
                return Admit::Reject {
                    retry_at: Instant(until.0.saturating_add(1)),
                };
            }
            self.enter_half_open(now);
        }
        match self.state {
            State::Closed => {
                self.in_flight = self.in_flight.saturating_add(1);
                Admit::Allow
            }
            State::HalfOpen { .. } if self.trial.permits_left > 0 => {
                self.trial.permits_left -= 1;
                self.trial.probes_out += 1;
                self.in_flight = self.in_flight.saturating_add(1);
                Admit::Probe
            }
            State::HalfOpen { .. } => Admit::Reject { retry_at: now },
            State::Special(Special::ForcedOpen) => Admit::Reject {
                retry_at: Instant(u64::MAX),
            },
            State::Special(Special::Disabled | Special::MetricsOnly) => {
                self.in_flight = self.in_flight.saturating_add(1);
                Admit::Allow
            }
            State::Open { .. } => unreachable!("left OPEN above"),
        }
    }

    /// resilience4j `transitionToForcedOpenState`: reject every call until
    /// [`Breaker::reset`]. Calls in flight may still report; their outcomes are
    /// ignored.
    pub fn force_open(&mut self, now: Instant) {
        self.advance(now);
        self.state = State::Special(Special::ForcedOpen);
    }

    /// resilience4j `transitionToDisabledState`: allow every call and record nothing
    /// until [`Breaker::reset`].
    pub fn disable(&mut self, now: Instant) {
        self.advance(now);
        self.state = State::Special(Special::Disabled);
    }

    /// resilience4j `transitionToMetricsOnlyState`: allow every call and keep
    /// recording outcomes in the window, but never trip, until [`Breaker::reset`].
    pub fn metrics_only(&mut self, now: Instant) {
        self.advance(now);
        self.state = State::Special(Special::MetricsOnly);
    }

    /// resilience4j `transitionToClosedState` / `reset`: CLOSED with an empty window,
    /// from any state.
    pub fn reset(&mut self, now: Instant) {
        self.advance(now);
        self.close(now);
    }

    /// An admitted call ended with `outcome` after `latency` (as the caller saw it).
    ///
    /// Outcomes whose kind is not in `on` count as successes; a call is slow when
    /// `latency > slow_call_duration`, and a slow failure counts as both. CLOSED
    /// records it and may trip; HALF_OPEN records it in its own window and decides
    /// once that window holds its minimum; OPEN ignores it (see the module docs).
    pub fn on_outcome(&mut self, now: Instant, outcome: Outcome, latency: Duration) {
        self.advance(now);
        self.settle_one();
        let sample = Sample {
            failed: outcome.counts_as_failure(self.rules.on),
            slow: latency > self.rules.slow_call_duration,
        };
        match &mut self.state {
            State::Closed => {
                if self.record_closed(now, sample) {
                    self.open(now);
                }
            }
            State::Open { .. } | State::Special(Special::ForcedOpen | Special::Disabled) => {}
            State::Special(Special::MetricsOnly) => {
                let _trips = self.record_closed(now, sample);
            }
            State::HalfOpen { .. } => {
                let tally = &mut self.trial.tally;
                tally.add(sample);
                let r = &self.rules;
                if tally.calls >= r.half_open_minimum {
                    if tally
                        .widen()
                        .exceeds(r.half_open_minimum, r.failure_rate, r.slow_call_rate)
                    {
                        self.open(now);
                    } else {
                        self.close(now);
                    }
                }
            }
        }
    }

    /// An admitted call was abandoned without an outcome (a hedge that lost, a call
    /// whose caller gave up). It records nothing.
    ///
    /// In HALF_OPEN it gives back one permit, so a cancelled probe does not leave the
    /// breaker waiting for an outcome that never comes, but only if afterwards
    /// `permits_left + (calls that may still be probes) <= half_open_calls`. The
    /// breaker cannot tell a cancelled probe from a cancelled call admitted before
    /// HALF_OPEN (the API carries no token), so it counts every call in flight as a
    /// possible probe. The permit comes back at once when no older call is in flight;
    /// otherwise it may be held back until they report (their outcomes count in
    /// HALF_OPEN). So no more than `half_open_calls` probes are ever in flight, as
    /// resilience4j's `releasePermission` intends, and once nothing is in flight a
    /// HALF_OPEN breaker can always send a probe (both checked by the model test).
    pub fn on_cancel(&mut self, now: Instant) {
        self.advance(now);
        self.settle_one();
        let limit = self.rules.half_open_calls;
        if let State::HalfOpen { .. } = self.state {
            let t = &mut self.trial;
            t.permits_left = (t.permits_left + 1).min(limit - t.probes_out);
        }
    }

    /// Would [`Breaker::admit`] let a call out at `now`? A read-only look for callers
    /// that choose among endpoints before asking one of them (endpoint scope: an
    /// endpoint whose breaker would reject is not eligible). Call
    /// [`Breaker::handle_timeout`] first so time-driven transitions are applied.
    pub fn would_admit(&self, now: Instant) -> bool {
        match self.state {
            State::Closed => true,
            State::Open { until } => now > until,
            State::HalfOpen { .. } => self.trial.permits_left > 0,
            State::Special(Special::ForcedOpen) => false,
            State::Special(Special::Disabled | Special::MetricsOnly) => true,
        }
    }

    /// The state now, for reports. Between inputs it does not change by itself: OPEN
    /// stays OPEN after its wait until the next `admit`.
    pub fn state(&self) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
            State::Special(Special::ForcedOpen) => BreakerState::ForcedOpen,
            State::Special(Special::Disabled) => BreakerState::Disabled,
            State::Special(Special::MetricsOnly) => BreakerState::MetricsOnly,
        }
    }

    /// When to call [`Breaker::handle_timeout`]: the `max_wait_in_half_open` expiry,
    /// or the next Hystrix bucket boundary whose check could trip. `None` when no
    /// timer is needed (OPEN needs none: the next `admit` ends it).
    pub fn next_deadline(&self) -> Option<Instant> {
        match (&self.state, &self.detector) {
            (State::Open { until }, _) if self.rules.automatic_transition => {
                Some(Instant(until.0.saturating_add(1)))
            }
            (State::HalfOpen { expires_at }, _) => {
                (*expires_at != Instant::MAX).then_some(*expires_at)
            }
            (State::Closed, Detector::Hystrix(h)) => h.next_deadline(),
            _ => None,
        }
    }

    /// What the window that decides the next transition holds at `now`: resilience4j's
    /// `CircuitBreaker.Metrics`, for dashboards and logs. Inspecting changes nothing.
    ///
    /// - CLOSED and METRICS_ONLY: the trip window (a time window without the buckets
    ///   that have left it by `now`). OPEN, FORCED_OPEN and DISABLED: that window as
    ///   it was when the breaker left CLOSED (the calls that tripped it).
    /// - HALF_OPEN: the trial calls of this HALF_OPEN.
    /// - Rates are `None` until the window holds its minimum (`minimum_calls`,
    ///   Hystrix `request_volume`, `half_open_calls`), where resilience4j says `-1`.
    /// - `consecutive`: the current run of failures, and no rates.
    pub fn metrics(&self, now: Instant) -> BreakerMetrics {
        let r = &self.rules;
        let (tally, minimum) = match (&self.state, &self.detector, r.trip) {
            (State::HalfOpen { .. }, _, _) => (self.trial.tally.widen(), r.half_open_minimum),
            (_, Detector::Count(w), TripRule::CountWindow { size, minimum }) => {
                (w.tally(size), minimum)
            }
            (_, Detector::LongCount(w), TripRule::CountWindow { minimum, .. }) => {
                (w.tally(), minimum)
            }
            (_, Detector::Time(w), TripRule::TimeWindow { minimum, .. }) => {
                (w.tally_at(now.as_nanos() / SECOND_NS), minimum)
            }
            (_, Detector::Hystrix(h), _) => (h.tally_at(now), h.request_volume()),
            (_, Detector::Consecutive(c), _) => {
                let run = u64::from(c.run());
                let consecutive = Tally {
                    calls: run,
                    failures: run,
                    slow: 0,
                };
                (consecutive, u32::MAX)
            }
            _ => unreachable!("the detector is built from the trip rule"),
        };
        let rate = |part: u64| {
            (tally.calls > 0 && tally.calls >= u64::from(minimum))
                .then(|| part as f64 / tally.calls as f64)
        };
        BreakerMetrics {
            buffered_calls: tally.calls,
            failed_calls: tally.failures,
            slow_calls: tally.slow,
            failure_rate: rate(tally.failures),
            slow_call_rate: rate(tally.slow),
            calls_in_flight: self.in_flight,
        }
    }

    /// The next instant at which time alone can change what [`Breaker::would_admit`]
    /// answers or the state: just after OPEN's wait, the `max_wait_in_half_open`
    /// expiry, or the next Hystrix bucket check. A caller that keeps an eligible set
    /// (the client stack) re-evaluates the endpoint then, instead of polling every
    /// breaker on every pick. `None`: only inputs can change it.
    pub fn next_change(&self) -> Option<Instant> {
        match self.state {
            State::Open { until } => Some(Instant(until.0.saturating_add(1))),
            _ => self.next_deadline(),
        }
    }

    /// Applies every deadline at or before `now`. Call at or after
    /// [`Breaker::next_deadline`]; calling it at other times is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// Moves to `now`: fires the deadlines that have passed, each at its own instant.
    fn advance(&mut self, now: Instant) {
        #[cfg(debug_assertions)]
        {
            debug_assert!(
                now >= self.last_now,
                "time went backwards: {now} < {}",
                self.last_now
            );
            self.last_now = self.last_now.max(now);
        }
        if let State::Open { until } = self.state {
            // resilience4j `automaticTransitionFromOpenToHalfOpenEnabled`: the wait's
            // end moves OPEN to HALF_OPEN by itself, at that instant.
            if self.rules.automatic_transition && now > until {
                self.enter_half_open(Instant(until.0.saturating_add(1)));
            }
        }
        if let State::HalfOpen { expires_at: t } = self.state {
            if t != Instant::MAX && t <= now {
                self.open(t);
            }
            return;
        }
        let tripped = match (&self.state, &mut self.detector) {
            (State::Closed, Detector::Hystrix(h)) => h.catch_up(now),
            _ => None,
        };
        if let Some(at) = tripped {
            self.open(at);
        }
    }

    /// One admitted call has reported (an outcome or a cancel).
    fn settle_one(&mut self) {
        debug_assert!(self.in_flight > 0, "a report without an admitted call");
        self.in_flight = self.in_flight.saturating_sub(1);
        if let State::HalfOpen { .. } = self.state {
            self.trial.probes_out = self.trial.probes_out.min(self.in_flight);
        }
    }

    /// Records an outcome in CLOSED; true if the breaker must trip now.
    fn record_closed(&mut self, now: Instant, s: Sample) -> bool {
        let r = &self.rules;
        match (&mut self.detector, r.trip) {
            (Detector::Count(w), TripRule::CountWindow { size, minimum }) => {
                w.record(size, s);
                w.tally(size)
                    .exceeds(minimum, r.failure_rate, r.slow_call_rate)
            }
            (Detector::LongCount(w), TripRule::CountWindow { minimum, .. }) => {
                w.record(s);
                w.tally().exceeds(minimum, r.failure_rate, r.slow_call_rate)
            }
            (Detector::Time(w), TripRule::TimeWindow { minimum, .. }) => {
                w.record(now.as_nanos() / SECOND_NS, s);
                w.tally().exceeds(minimum, r.failure_rate, r.slow_call_rate)
            }
            (Detector::Hystrix(h), _) => {
                h.record(now, s);
                false
            }
            (Detector::Consecutive(c), _) => c.record(s),
            _ => unreachable!("the detector is built from the trip rule"),
        }
    }

    /// CLOSED or HALF_OPEN -> OPEN at `at`, for the wait of this opening.
    fn open(&mut self, at: Instant) {
        self.openings = self.openings.saturating_add(1);
        let wait = wait_for_opening(&self.rules, self.openings);
        self.state = State::Open {
            until: at.after(wait),
        };
    }

    /// OPEN -> HALF_OPEN, with a fresh window and every permit.
    fn enter_half_open(&mut self, now: Instant) {
        self.trial = Trial {
            permits_left: self.rules.half_open_calls,
            probes_out: 0,
            tally: SmallTally::default(),
        };
        self.state = State::HalfOpen {
            expires_at: self
                .rules
                .max_wait_in_half_open
                .map_or(Instant::MAX, |d| now.after(d)),
        };
    }

    /// HALF_OPEN -> CLOSED with an empty window; the wait starts over.
    fn close(&mut self, now: Instant) {
        self.openings = 0;
        match &mut self.detector {
            Detector::Count(w) => w.clear(),
            Detector::LongCount(w) => w.clear(),
            Detector::Time(w) => w.clear(),
            Detector::Hystrix(h) => h.reset(now),
            Detector::Consecutive(c) => c.reset(),
        }
        self.state = State::Closed;
    }
}

/// `wait_in_open x wait_multiplier^(n-1)` for the n-th consecutive opening,
/// saturating at "forever" instead of overflowing.
fn wait_for_opening(rules: &Rules, n: u32) -> Duration {
    let exponent = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
    if rules.wait_multiplier == 1.0 || exponent == 0 {
        return rules.wait_in_open;
    }
    let ns = nanos(rules.wait_in_open) as f64 * rules.wait_multiplier.powi(exponent);
    // `as` saturates: infinity becomes u64::MAX.
    Duration::from_nanos(ns as u64)
}

//! The breaker's configuration: what a scenario file says, and the rules it resolves to.
//!
//! "Flavor default unless set" is represented by `Option` fields in [`BreakerConfig`]:
//! `None` means "not written in the scenario", so the flavor's own default applies.
//! [`BreakerConfig::resolved`] turns the options into plain values ([`Rules`]) once;
//! the state machine only ever sees [`Rules`]. This keeps one flat TOML table for
//! every flavor (so `--vary flavor=hystrix` works) while a hystrix breaker still gets
//! hystrix's 5 s wait rather than resilience4j's 60 s.
//!
//! A key that the chosen flavor does not use is an error, not silently ignored: a user
//! who writes `minimum_calls` under `flavor = "hystrix"` is told to use
//! `request_volume`.

use std::time::Duration;

use crate::{check_fraction, ConfigError, KindSet};

/// The largest count window, in calls: a bound on memory per breaker.
pub const MAX_COUNT_WINDOW: u32 = 1_000_000;
/// The largest time window, in seconds (one day): a bound on memory per breaker.
pub const MAX_TIME_WINDOW_S: u32 = 86_400;
/// Hystrix's bucket width: its rolling window is cut into 500 ms buckets.
pub const HYSTRIX_BUCKET: Duration = Duration::from_millis(500);

/// Which production breaker's rules to follow (POLICIES.md, "Circuit breaker").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Flavor {
    /// Failure and slow-call rates over a count or time window, evaluated after every
    /// outcome; several half-open probes (resilience4j).
    #[default]
    Resilience4j,
    /// Integer error percent over a 500 ms-bucket rolling window, evaluated only at
    /// bucket boundaries; one trial call (Hystrix).
    Hystrix,
    /// Trip after a run of consecutive failures; one trial call (Finagle failure
    /// accrual). Its `wait_in_open` defaults to 5 s: Finagle marks a node dead for an
    /// equal-jittered backoff that starts at 5 s and grows to 300 s; a breaker takes
    /// no random numbers, so the start is kept and `wait_multiplier` (default 1)
    /// grows it deterministically if wanted.
    Consecutive,
}

impl Flavor {
    /// The name used in scenario files and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Resilience4j => "resilience4j",
            Flavor::Hystrix => "hystrix",
            Flavor::Consecutive => "consecutive",
        }
    }
}

/// Whose calls one breaker instance watches. The breaker itself does not care; the
/// client uses this to decide how many instances to build and what to report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Scope {
    /// One breaker per client around the whole target; fed per call (resilience4j,
    /// Hystrix around a call).
    #[default]
    Client,
    /// One breaker per endpoint; fed per attempt (Envoy outlier detection, Finagle
    /// failure accrual).
    Endpoint,
}

/// How a resilience4j window is measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum WindowKind {
    /// The last `window_size` calls.
    #[default]
    Count,
    /// The calls of the last `window_size` whole seconds of time.
    Time,
}

/// A circuit breaker as written in a scenario (`breaker = { ... }`).
///
/// Every field but `flavor`, `scope` and `on` is optional: `None` means "the
/// flavor's default" (see the module docs and [`BreakerConfig::resolved`]).
/// Defaults: resilience4j `failure_rate = 0.5`, `slow_call_rate = 1.0`,
/// `slow_call_duration = "60s"`, `window = "count"`, `window_size = 100`,
/// `minimum_calls = 100`, `wait_in_open = "60s"`, `wait_multiplier = 1.0`,
/// `half_open_calls = 10`, `max_wait_in_half_open = "0s"`; hystrix `window_size = 10`
/// (seconds, 500 ms buckets), `request_volume = 20`, `failure_rate = 0.5`,
/// `wait_in_open = "5s"`; consecutive `consecutive_failures = 5`,
/// `wait_in_open = "5s"`, `wait_multiplier = 1.0`.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "super::table::BreakerTable"))]
pub struct BreakerConfig {
    /// Which production breaker to imitate.
    pub flavor: Flavor,
    /// One breaker per client or per endpoint (used by the client, not the breaker).
    pub scope: Scope,
    /// Failure kinds that count as failures; other outcomes count as successes.
    pub on: KindSet,
    /// Trip when the failed share of the window is at least this (inclusive), in
    /// (0, 1]. Hystrix compares integer percents: `ceil(100 x failure_rate)`.
    pub failure_rate: Option<f64>,
    /// Trip when the slow share of the window is at least this (inclusive), in (0, 1].
    pub slow_call_rate: Option<f64>,
    /// A call is slow when it took strictly longer than this.
    pub slow_call_duration: Option<Duration>,
    /// Count or time window (resilience4j).
    pub window: Option<WindowKind>,
    /// Calls (count window) or whole seconds (time window, hystrix).
    pub window_size: Option<u32>,
    /// Rates are computed only once the window holds this many calls (resilience4j).
    pub minimum_calls: Option<u32>,
    /// How long OPEN rejects before the next call may probe.
    pub wait_in_open: Option<Duration>,
    /// The n-th consecutive opening waits `wait_in_open x wait_multiplier^(n-1)`.
    pub wait_multiplier: Option<f64>,
    /// Probes admitted in HALF_OPEN (resilience4j).
    pub half_open_calls: Option<u32>,
    /// HALF_OPEN goes back to OPEN after this long; zero means never (resilience4j).
    pub max_wait_in_half_open: Option<Duration>,
    /// Hystrix trips only with at least this many calls in its window.
    pub request_volume: Option<u32>,
    /// OPEN moves to HALF_OPEN by itself when the wait ends, without waiting for a
    /// call (resilience4j `automaticTransitionFromOpenToHalfOpenEnabled`, default
    /// false). The caller must then call `handle_timeout` at `next_deadline`.
    pub automatic_transition: Option<bool>,
    /// Failures in a row that trip a `consecutive` breaker.
    pub consecutive_failures: Option<u32>,
}

/// What trips a CLOSED breaker, with every default resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TripRule {
    /// resilience4j over the last `size` calls; `minimum` is already
    /// `min(minimum_calls, window_size)`.
    CountWindow {
        /// Calls in the window.
        size: u32,
        /// Calls needed before rates are computed.
        minimum: u32,
    },
    /// resilience4j over the last `size_s` whole seconds.
    TimeWindow {
        /// Seconds in the window.
        size_s: u32,
        /// Calls needed before rates are computed.
        minimum: u32,
    },
    /// Hystrix: `size_s` seconds in 500 ms buckets, checked at bucket boundaries.
    Hystrix {
        /// Seconds in the window.
        size_s: u32,
        /// Calls needed before the error percent is compared.
        request_volume: u32,
        /// Integer error percent that trips (inclusive).
        error_percent: u32,
    },
    /// Finagle failure accrual.
    Consecutive {
        /// Failures in a row that trip.
        failures: u32,
    },
}

/// A breaker's rules with every flavor default applied: what [`super::Breaker`] runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rules {
    /// Failure kinds that count.
    pub on: KindSet,
    /// What trips a CLOSED breaker.
    pub trip: TripRule,
    /// Failure share that trips (resilience4j rates; also HALF_OPEN for every flavor).
    pub failure_rate: f64,
    /// Slow share that trips.
    pub slow_call_rate: f64,
    /// Calls strictly longer than this are slow (`Duration::MAX` when the flavor has
    /// no notion of slow calls, so none ever is).
    pub slow_call_duration: Duration,
    /// The first opening's wait.
    pub wait_in_open: Duration,
    /// Growth of the wait per consecutive opening.
    pub wait_multiplier: f64,
    /// Permits in HALF_OPEN.
    pub half_open_calls: u32,
    /// Outcomes HALF_OPEN needs before it decides: `min(minimum_calls, half_open_calls)`.
    pub half_open_minimum: u32,
    /// HALF_OPEN times out after this; `None` = never.
    pub max_wait_in_half_open: Option<Duration>,
    /// OPEN ends at its deadline without a call (resilience4j only).
    pub automatic_transition: bool,
}

/// The keys each flavor reads; any other optional key is an error.
const RESILIENCE4J_KEYS: &[&str] = &[
    "failure_rate",
    "slow_call_rate",
    "slow_call_duration",
    "window",
    "window_size",
    "minimum_calls",
    "wait_in_open",
    "wait_multiplier",
    "half_open_calls",
    "max_wait_in_half_open",
    "automatic_transition",
];
const HYSTRIX_KEYS: &[&str] = &[
    "failure_rate",
    "window_size",
    "request_volume",
    "wait_in_open",
];
const CONSECUTIVE_KEYS: &[&str] = &["consecutive_failures", "wait_in_open", "wait_multiplier"];

impl BreakerConfig {
    /// Checks every parameter once, at load time; after this, building and using the
    /// breaker is total. Errors name the key and say what would be valid.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let allowed = match self.flavor {
            Flavor::Resilience4j => RESILIENCE4J_KEYS,
            Flavor::Hystrix => HYSTRIX_KEYS,
            Flavor::Consecutive => CONSECUTIVE_KEYS,
        };
        for key in self.keys_set() {
            if !allowed.contains(&key) {
                return Err(ConfigError::new(
                    key,
                    format!(
                        "is not used by kind `{}` (its keys: {})",
                        self.flavor.name(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        // The user's value, not the resolved one: Hystrix turns it into a percent
        // threshold and resolves `failure_rate` itself to 1.0 (single trial).
        positive_fraction("failure_rate", self.failure_rate.unwrap_or(0.5))?;
        let r = self.resolved();
        positive_fraction("slow_call_rate", r.slow_call_rate)?;
        if r.wait_in_open.is_zero() {
            return Err(ConfigError::new("wait_in_open", "must be longer than 0s"));
        }
        // resilience4j `CircuitBreakerConfig.Builder`: `waitDurationInOpenState` must be
        // at least 1 ms and `slowCallDurationThreshold` at least 1 ns.
        if self.flavor == Flavor::Resilience4j {
            if r.wait_in_open < Duration::from_millis(1) {
                return Err(ConfigError::new(
                    "wait_in_open",
                    "must be at least 1ms (resilience4j waitDurationInOpenState)",
                ));
            }
            if r.slow_call_duration.is_zero() {
                return Err(ConfigError::new(
                    "slow_call_duration",
                    "must be longer than 0s (resilience4j slowCallDurationThreshold >= 1ns)",
                ));
            }
        }
        if !(r.wait_multiplier.is_finite() && r.wait_multiplier >= 1.0) {
            return Err(ConfigError::new(
                "wait_multiplier",
                format!("= {} must be a number >= 1", r.wait_multiplier),
            ));
        }
        at_least_one("half_open_calls", r.half_open_calls)?;
        at_least_one("minimum_calls", self.minimum_calls.unwrap_or(1))?;
        match r.trip {
            TripRule::CountWindow { size, .. } => window_size(size, MAX_COUNT_WINDOW, "calls"),
            TripRule::TimeWindow { size_s, .. } => {
                window_size(size_s, MAX_TIME_WINDOW_S, "seconds")
            }
            TripRule::Hystrix {
                size_s,
                request_volume,
                ..
            } => {
                window_size(size_s, MAX_TIME_WINDOW_S, "seconds")?;
                at_least_one("request_volume", request_volume)
            }
            TripRule::Consecutive { failures } => at_least_one("consecutive_failures", failures),
        }
    }

    /// The rules with the flavor's defaults filled in for every key not set.
    ///
    /// Total even on an invalid config (values are taken as written); call
    /// [`BreakerConfig::validate`] first to reject those.
    pub fn resolved(&self) -> Rules {
        let wait_multiplier = self.wait_multiplier.unwrap_or(1.0);
        match self.flavor {
            Flavor::Resilience4j => {
                let minimum_calls = self.minimum_calls.unwrap_or(100);
                let size = self.window_size.unwrap_or(100);
                let half_open_calls = self.half_open_calls.unwrap_or(10);
                let trip = match self.window.unwrap_or_default() {
                    WindowKind::Count => TripRule::CountWindow {
                        size,
                        minimum: minimum_calls.min(size),
                    },
                    WindowKind::Time => TripRule::TimeWindow {
                        size_s: size,
                        minimum: minimum_calls,
                    },
                };
                Rules {
                    on: self.on,
                    trip,
                    failure_rate: self.failure_rate.unwrap_or(0.5),
                    slow_call_rate: self.slow_call_rate.unwrap_or(1.0),
                    slow_call_duration: self.slow_call_duration.unwrap_or(Duration::from_secs(60)),
                    wait_in_open: self.wait_in_open.unwrap_or(Duration::from_secs(60)),
                    wait_multiplier,
                    half_open_calls,
                    half_open_minimum: minimum_calls.min(half_open_calls),
                    max_wait_in_half_open: self.max_wait_in_half_open.filter(|d| !d.is_zero()),
                    automatic_transition: self.automatic_transition.unwrap_or(false),
                }
            }
            Flavor::Hystrix => {
                let failure_rate = self.failure_rate.unwrap_or(0.5);
                single_trial(
                    self.on,
                    TripRule::Hystrix {
                        size_s: self.window_size.unwrap_or(10),
                        request_volume: self.request_volume.unwrap_or(20),
                        error_percent: percent_ceil(failure_rate),
                    },
                    self.wait_in_open.unwrap_or(Duration::from_secs(5)),
                    1.0,
                )
            }
            Flavor::Consecutive => single_trial(
                self.on,
                TripRule::Consecutive {
                    failures: self.consecutive_failures.unwrap_or(5),
                },
                self.wait_in_open.unwrap_or(Duration::from_secs(5)),
                wait_multiplier,
            ),
        }
    }

    /// The optional keys written in the scenario.
    fn keys_set(&self) -> impl Iterator<Item = &'static str> {
        [
            ("failure_rate", self.failure_rate.is_some()),
            ("slow_call_rate", self.slow_call_rate.is_some()),
            ("slow_call_duration", self.slow_call_duration.is_some()),
            ("window", self.window.is_some()),
            ("window_size", self.window_size.is_some()),
            ("minimum_calls", self.minimum_calls.is_some()),
            ("wait_in_open", self.wait_in_open.is_some()),
            ("wait_multiplier", self.wait_multiplier.is_some()),
            ("half_open_calls", self.half_open_calls.is_some()),
            (
                "max_wait_in_half_open",
                self.max_wait_in_half_open.is_some(),
            ),
            ("request_volume", self.request_volume.is_some()),
            ("consecutive_failures", self.consecutive_failures.is_some()),
            ("automatic_transition", self.automatic_transition.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(key, _)| key)
    }
}

/// Rules for the flavors with exactly one trial call after the wait: HALF_OPEN is a
/// window of one call that any counted failure trips, and there are no slow calls.
fn single_trial(on: KindSet, trip: TripRule, wait_in_open: Duration, multiplier: f64) -> Rules {
    Rules {
        on,
        trip,
        failure_rate: 1.0,
        slow_call_rate: 1.0,
        slow_call_duration: Duration::MAX,
        wait_in_open,
        wait_multiplier: multiplier,
        half_open_calls: 1,
        half_open_minimum: 1,
        max_wait_in_half_open: None,
        automatic_transition: false,
    }
}

/// `ceil(100 x rate)`, after rounding away float noise (0.07 x 100 = 7.000000000000001).
fn percent_ceil(rate: f64) -> u32 {
    let percent = (rate * 100.0 * 1e6).round() / 1e6;
    percent.ceil().clamp(0.0, 100.0) as u32
}

fn positive_fraction(key: &'static str, value: f64) -> Result<(), ConfigError> {
    check_fraction(key, value)?;
    if value > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            "= 0 would trip on every window: must be in (0, 1]",
        ))
    }
}

fn at_least_one(key: &'static str, value: u32) -> Result<(), ConfigError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(ConfigError::new(key, "= 0 must be at least 1"))
    }
}

fn window_size(size: u32, max: u32, unit: &str) -> Result<(), ConfigError> {
    if (1..=max).contains(&size) {
        Ok(())
    } else {
        Err(ConfigError::new(
            "window_size",
            format!("= {size} must be between 1 and {max} {unit}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BreakerConfig, String> {
        toml::from_str::<BreakerConfig>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn resilience4j_defaults_apply() {
        let r = parse("").unwrap().resolved();
        assert_eq!(
            r.trip,
            TripRule::CountWindow {
                size: 100,
                minimum: 100
            }
        );
        assert_eq!(r.failure_rate, 0.5);
        assert_eq!(r.slow_call_rate, 1.0);
        assert_eq!(r.slow_call_duration, Duration::from_secs(60));
        assert_eq!(r.wait_in_open, Duration::from_secs(60));
        assert_eq!((r.half_open_calls, r.half_open_minimum), (10, 10));
        assert_eq!(r.max_wait_in_half_open, None);
        assert_eq!(r.on, KindSet::ALL);
    }

    #[test]
    fn count_minimum_is_capped_by_window_size() {
        let c = parse("window_size = 10\nhalf_open_calls = 3").unwrap();
        let r = c.resolved();
        assert_eq!(
            r.trip,
            TripRule::CountWindow {
                size: 10,
                minimum: 10
            }
        );
        assert_eq!(r.half_open_minimum, 3);
        let c = parse("window = \"time\"\nwindow_size = \"10s\"").unwrap();
        assert_eq!(
            c.resolved().trip,
            TripRule::TimeWindow {
                size_s: 10,
                minimum: 100
            }
        );
    }

    #[test]
    fn flavor_defaults_apply() {
        let r = parse("kind = \"hystrix\"").unwrap().resolved();
        assert_eq!(
            r.trip,
            TripRule::Hystrix {
                size_s: 10,
                request_volume: 20,
                error_percent: 50
            }
        );
        assert_eq!(r.wait_in_open, Duration::from_secs(5));
        assert_eq!(r.half_open_calls, 1);
        let r = parse("kind = \"consecutive\"").unwrap().resolved();
        assert_eq!(r.trip, TripRule::Consecutive { failures: 5 });
        assert_eq!(r.wait_in_open, Duration::from_secs(5));
        assert_eq!(percent_ceil(0.07), 7);
        assert_eq!(percent_ceil(0.505), 51);
    }

    #[test]
    fn bad_values_name_the_key() {
        let check = |text: &str, key: &str| {
            let err = parse(text).unwrap().validate().unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
        };
        check("failure_rate = 0.0", "failure_rate");
        check("slow_call_rate = 1.5", "slow_call_rate");
        check("window_size = 0", "window_size");
        check(
            "window = \"time\"\nwindow_size = \"100000s\"",
            "window_size",
        );
        check("minimum_calls = 0", "minimum_calls");
        check("half_open_calls = 0", "half_open_calls");
        check("wait_in_open = \"0s\"", "wait_in_open");
        check("wait_multiplier = 0.5", "wait_multiplier");
        check("kind = \"hystrix\"\nminimum_calls = 5", "minimum_calls");
        check("kind = \"hystrix\"\nrequest_volume = 0", "request_volume");
        check(
            "kind = \"consecutive\"\nconsecutive_failures = 0",
            "consecutive_failures",
        );
        check("request_volume = 5", "request_volume");
        assert!(parse("").unwrap().validate().is_ok());
        assert!(parse("kind = \"hystrix\"").unwrap().validate().is_ok());
        assert!(parse("kind = \"consecutive\"").unwrap().validate().is_ok());
    }

    #[test]
    fn unknown_keys_and_unitless_durations_are_errors() {
        let err = parse("failure_threshold = 0.5").unwrap_err();
        assert!(err.contains("unknown field `failure_threshold`"), "{err}");
        let err = parse("wait_in_open = 5").unwrap_err();
        assert!(err.contains("no unit"), "{err}");
        let c = parse("on = [\"timeout\"]\nwait_in_open = \"5s\"").unwrap();
        assert_eq!(c.wait_in_open, Some(Duration::from_secs(5)));
        assert!(!c.on.contains(crate::FailureKind::Error));
    }
}

//! Hedging: if an attempt has not answered after a delay, send a copy to another
//! endpoint; the first successful answer wins (POLICIES.md "Hedging", tower `Hedge`,
//! gRPC A6 hedging).
//!
//! # Call order
//!
//! ```text
//! let mut hedger = Hedger::new(&config);           // one per client instance
//! // when an attempt is sent, with k hedges of this call sent so far:
//! if k < hedger.max_extra() {
//!     if let Some(delay) = hedger.hedge_delay() { arm_timer(now.after(delay)) }
//! }
//! // the timer fires and the call is still unanswered:
//! match retrier.try_spend_hedge(now) { HedgeDecision::Send => send_copy(), .. }
//! hedger.on_latency(now, latency);                 // every answered attempt
//! ```
//!
//! `now` must never go backwards. The hedger only says when; the budget check lives in
//! `Retrier::try_spend_hedge`, so hedges and retries share one budget.

use std::time::Duration;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::{nanos, Instant};
use crate::{check_fraction, ConfigError};

/// The delay used when neither `delay` nor `percentile` is given.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(20);

/// The most hedges per call: everything is bounded (DESIGN invariant 7).
pub const MAX_EXTRA: u32 = 10;

/// Latencies kept for percentile mode: the last this many answered attempts.
pub const WINDOW_SAMPLES: usize = 1000;

/// Latencies needed before percentile mode hedges at all (tower `min_data_points`):
/// with 100 samples a p95 rests on five slow answers, not on a single outlier.
pub const MIN_SAMPLES: usize = 100;

/// `hedge = { delay | percentile, max_extra }` of a client.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "a hedge table { delay = ... or percentile = ..., max_extra = ... }"
    )
)]
pub struct HedgeConfig {
    /// A fixed delay before each hedge; 20 ms when `percentile` is not given either.
    #[cfg_attr(feature = "serde", serde(with = "duration_str::option"))]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::optional_duration")
    )]
    pub delay: Option<Duration>,
    /// Hedge after this percentile of the client's own recent latencies instead.
    /// Feed the hedger as tower's `Hedge` records: only successful answers that won
    /// their call, each with its own latency from its own send (a hedge that wins
    /// records its latency since the hedge left, not since the call began).
    pub percentile: Option<f64>,
    /// Extra copies per call at most (each after one more delay).
    pub max_extra: u32,
    /// Latencies needed before percentile mode hedges at all (tower
    /// `min_data_points`; tower has no default, hasim's is [`MIN_SAMPLES`]).
    pub min_data_points: u32,
}

impl Default for HedgeConfig {
    fn default() -> Self {
        HedgeConfig {
            delay: None,
            percentile: None,
            max_extra: 1,
            min_data_points: MIN_SAMPLES as u32,
        }
    }
}

impl HedgeConfig {
    /// Checks that at most one of `delay` and `percentile` is set, and the ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(p) = self.percentile {
            if self.delay.is_some() {
                return Err(ConfigError::new(
                    "percentile",
                    "cannot be set together with `delay`; choose one",
                ));
            }
            check_fraction("percentile", p)?;
            if p == 0.0 {
                return Err(ConfigError::new("percentile", "= 0 must be in (0, 1]"));
            }
        }
        if !(1..=WINDOW_SAMPLES as u32).contains(&self.min_data_points) {
            return Err(ConfigError::new(
                "min_data_points",
                format!(
                    "= {} must be in 1..={WINDOW_SAMPLES} (the window keeps {WINDOW_SAMPLES} latencies)",
                    self.min_data_points
                ),
            ));
        }
        if !(1..=MAX_EXTRA).contains(&self.max_extra) {
            return Err(ConfigError::new(
                "max_extra",
                format!(
                    "= {} must be in 1..={MAX_EXTRA} (leave out `hedge` to disable hedging)",
                    self.max_extra
                ),
            ));
        }
        Ok(())
    }
}

/// When to hedge: a fixed delay, or a percentile of recent latencies.
#[derive(Clone, Debug)]
enum Mode {
    Fixed(Duration),
    Percentile {
        /// The percentile in parts per million, so ranks are integer arithmetic.
        ppm: u64,
        /// Latencies needed before a percentile is given.
        min_samples: u64,
        window: LatencyWindow,
    },
}

/// The hedging policy of one client instance.
///
/// Percentile mode keeps the last [`WINDOW_SAMPLES`] latencies both in arrival order (a
/// ring, to know which one to forget) and sorted (so a percentile is one index). Chosen
/// over tower's rotating histogram because it answers from every sample at once instead
/// of a period late, is exact (no bucket rounding), needs no `now` when read, and costs
/// one memmove of at most 8 KB per sample; both buffers are allocated once in `new`.
/// The price: at low call rates the window spans a long time.
///
/// See the module docs for the call order.
#[derive(Clone, Debug)]
pub struct Hedger {
    mode: Mode,
    max_extra: u32,
}

impl Hedger {
    /// The hedger of `config`.
    ///
    /// # Errors
    ///
    /// The first problem [`HedgeConfig::validate`] finds; its `key` names the field.
    pub fn try_new(config: &HedgeConfig) -> Result<Hedger, ConfigError> {
        config.validate()?;
        Ok(Hedger::build(config))
    }

    /// [`Hedger::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a hedger.
    pub fn new(config: &HedgeConfig) -> Hedger {
        Hedger::try_new(config).unwrap_or_else(|e| panic!("invalid hedger config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(config: &HedgeConfig) -> Hedger {
        let mode = match config.percentile {
            Some(p) => Mode::Percentile {
                ppm: (p * 1e6).round() as u64,
                min_samples: u64::from(config.min_data_points),
                window: LatencyWindow::new(),
            },
            None => Mode::Fixed(config.delay.unwrap_or(DEFAULT_DELAY)),
        };
        Hedger {
            mode,
            max_extra: config.max_extra,
        }
    }

    /// An attempt of this client was answered after `latency` (fixed mode ignores it).
    /// Feed what tower's `Hedge` records (its `Latency` layer wraps the original and
    /// the hedge separately; `Select` drops the loser's future before it records, and
    /// errors return before recording): every *successful* answer that the caller
    /// used, original or hedge, with the latency since *that attempt* was sent. Never
    /// feed a cancelled loser or a failure. Because a winning hedge records only its
    /// own short latency, the recorded p95 sits below the true p95 of the first
    /// attempts, and "hedge at p95" hedges more than 5 % of calls, in tower as here
    /// (see `tests/upstream/tower.rs`).
    pub fn on_latency(&mut self, now: Instant, latency: Duration) {
        let _ = now;
        if let Mode::Percentile { window, .. } = &mut self.mode {
            window.push(nanos(latency));
        }
    }

    /// How long to wait before the next hedge; `None` while percentile mode has fewer
    /// than [`MIN_SAMPLES`] latencies (then do not hedge: a guess would be worse).
    #[must_use]
    pub fn hedge_delay(&self) -> Option<Duration> {
        match &self.mode {
            Mode::Fixed(delay) => Some(*delay),
            Mode::Percentile {
                ppm,
                min_samples,
                window,
            } => window
                .percentile(*ppm, *min_samples)
                .map(Duration::from_nanos),
        }
    }

    /// Extra copies a call may send at most.
    pub fn max_extra(&self) -> u32 {
        self.max_extra
    }
}

/// The last [`WINDOW_SAMPLES`] latencies in nanoseconds, in arrival order and sorted.
#[derive(Clone, Debug)]
struct LatencyWindow {
    /// Arrival order; once full, `ring[next]` is the oldest.
    ring: Vec<u64>,
    next: usize,
    /// The same values, ascending.
    sorted: Vec<u64>,
}

impl LatencyWindow {
    fn new() -> LatencyWindow {
        LatencyWindow {
            ring: Vec::with_capacity(WINDOW_SAMPLES),
            next: 0,
            sorted: Vec::with_capacity(WINDOW_SAMPLES),
        }
    }

    fn push(&mut self, ns: u64) {
        if self.ring.len() < WINDOW_SAMPLES {
            self.ring.push(ns);
        } else {
            let old = std::mem::replace(&mut self.ring[self.next], ns);
            self.next = (self.next + 1) % WINDOW_SAMPLES;
            let at = self.sorted.partition_point(|&x| x < old);
            debug_assert_eq!(self.sorted[at], old, "sorted mirrors the ring");
            self.sorted.remove(at);
        }
        let at = self.sorted.partition_point(|&x| x <= ns);
        self.sorted.insert(at, ns);
        debug_assert_eq!(self.sorted.len(), self.ring.len());
    }

    /// Nearest-rank percentile: the smallest value with at least `ppm / 1e6` of the
    /// samples at or below it.
    fn percentile(&self, ppm: u64, min_samples: u64) -> Option<u64> {
        let n = self.sorted.len() as u64;
        if n < min_samples.max(1) {
            return None;
        }
        let rank = (ppm * n).div_ceil(1_000_000).clamp(1, n);
        Some(self.sorted[(rank - 1) as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Feeds `(latency in ms, expected delay in ms after it)` steps to a fresh hedger.
    fn check(config: HedgeConfig, script: &[(u64, Option<u64>)]) {
        config.validate().unwrap();
        let mut hedger = Hedger::new(&config);
        for (step, &(latency_ms, expected)) in script.iter().enumerate() {
            hedger.on_latency(Instant(step as u64 * MS), Duration::from_millis(latency_ms));
            let got = hedger.hedge_delay().map(|d| nanos(d) / MS);
            assert_eq!(got, expected, "step {step}: latency {latency_ms}ms");
        }
    }

    fn percentile(p: f64) -> HedgeConfig {
        HedgeConfig {
            percentile: Some(p),
            ..HedgeConfig::default()
        }
    }

    #[test]
    fn fixed_delay_defaults_to_20ms() {
        let hedger = Hedger::new(&HedgeConfig::default());
        assert_eq!(hedger.hedge_delay(), Some(DEFAULT_DELAY));
        assert_eq!(hedger.max_extra(), 1);
        let config = HedgeConfig {
            delay: Some(Duration::from_millis(7)),
            max_extra: 2,
            ..HedgeConfig::default()
        };
        check(config, &[(500, Some(7)), (1, Some(7))]);
    }

    #[test]
    fn percentile_waits_for_enough_samples() {
        // Latencies 1..=100 ms: nothing before the 100th, then p95 = 95 ms.
        let mut script: Vec<_> = (1..MIN_SAMPLES as u64).map(|ms| (ms, None)).collect();
        script.push((100, Some(95)));
        script.push((0, Some(95))); // 0..=100: rank ceil(95.95) = 96, the 96th smallest is 95
        check(percentile(0.95), &script);
    }

    #[test]
    fn percentile_forgets_the_oldest_samples() {
        let mut hedger = Hedger::new(&percentile(0.5));
        for _ in 0..WINDOW_SAMPLES {
            hedger.on_latency(Instant::ZERO, Duration::from_millis(100));
        }
        assert_eq!(hedger.hedge_delay(), Some(Duration::from_millis(100)));
        for k in 0..WINDOW_SAMPLES {
            hedger.on_latency(Instant::ZERO, Duration::from_millis(10));
            let median = hedger.hedge_delay().unwrap();
            let want = if k + 1 >= WINDOW_SAMPLES / 2 { 10 } else { 100 };
            assert_eq!(
                median,
                Duration::from_millis(want),
                "after {} new samples",
                k + 1
            );
        }
        let Mode::Percentile { window, .. } = &hedger.mode else {
            unreachable!()
        };
        assert_eq!(window.ring.capacity(), WINDOW_SAMPLES, "no reallocation");
        assert!(window.sorted.iter().all(|&x| x == 10 * MS));
    }

    #[test]
    fn extreme_percentiles() {
        let mut script: Vec<_> = (1..MIN_SAMPLES as u64).map(|ms| (ms, None)).collect();
        script.push((100, Some(100)));
        check(percentile(1.0), &script);
        let mut script: Vec<_> = (1..MIN_SAMPLES as u64).map(|ms| (ms, None)).collect();
        script.push((100, Some(1)));
        check(percentile(0.000_001), &script);
    }

    #[test]
    fn validation_and_parsing() {
        let bad = |c: HedgeConfig| c.validate().unwrap_err().key;
        let both = HedgeConfig {
            delay: Some(Duration::from_millis(5)),
            percentile: Some(0.9),
            ..HedgeConfig::default()
        };
        assert_eq!(bad(both), "percentile");
        assert_eq!(bad(percentile(0.0)), "percentile");
        assert_eq!(bad(percentile(1.5)), "percentile");
        let none = HedgeConfig {
            max_extra: 0,
            ..HedgeConfig::default()
        };
        assert_eq!(bad(none), "max_extra");
        let c: HedgeConfig = toml::from_str("delay = \"15ms\"\nmax_extra = 2").unwrap();
        assert_eq!(c.delay, Some(Duration::from_millis(15)));
        assert_eq!(c.max_extra, 2);
        let c: HedgeConfig = toml::from_str("percentile = 0.99").unwrap();
        assert_eq!((c.delay, c.percentile), (None, Some(0.99)));
        assert!(toml::from_str::<HedgeConfig>("delay = 20").is_err());
        assert!(toml::from_str::<HedgeConfig>("after = \"20ms\"").is_err());
    }
}

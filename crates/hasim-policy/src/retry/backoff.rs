//! Backoff between retries: exponential or constant, with the jitters of the AWS
//! "Exponential Backoff and Jitter" study (none, full, equal, decorrelated).
//!
//! All arithmetic is on integer nanoseconds, so a delay never depends on float
//! rounding and `base * 2^(n-1)` saturates instead of overflowing.

use std::time::Duration;

use rand::Rng;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::nanos;
use crate::ConfigError;

/// How the delay ceiling grows with the retry number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum BackoffKind {
    /// `d = min(max, base * 2^(n-1))` for retry n: the usual client default (gRPC,
    /// AWS SDKs), so many failing clients spread out quickly.
    #[default]
    Exponential,
    /// `d = base` for every retry: for comparisons with naive fixed-interval retries.
    /// Write `base = "0s"` for immediate retries.
    Constant,
}

/// How the delay is randomised below its ceiling `d` (AWS backoff study).
///
/// Jitter decorrelates clients that failed at the same moment, so their retries do
/// not arrive as a synchronised wave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Jitter {
    /// Exactly `d`: synchronised retries, the baseline the study warns about.
    None,
    /// Uniform in `[0, d)`: the least total work in the study, the default.
    #[default]
    Full,
    /// `d/2 + uniform in [0, d/2)`: never retries almost at once.
    Equal,
    /// `min(max, uniform in [base, 3 x previous])`, with `previous = base` before the
    /// first retry. It ignores the retry number (its own schedule), so it needs
    /// `kind = "exponential"` and `base > 0`.
    Decorrelated,
}

/// `backoff = { kind, base, max, jitter }` of a retry config.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "a backoff table { kind = \"exponential\" | \"constant\", base = ..., max = ..., jitter = ... }"
    )
)]
pub struct BackoffConfig {
    /// How the ceiling grows with the retry number.
    pub kind: BackoffKind,
    /// The ceiling of the first retry (and the floor of decorrelated jitter).
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub base: Duration,
    /// No delay is ever longer than this.
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub max: Duration,
    /// How the delay is randomised below the ceiling.
    pub jitter: Jitter,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            kind: BackoffKind::Exponential,
            base: Duration::from_millis(25),
            max: Duration::from_millis(250),
            jitter: Jitter::Full,
        }
    }
}

impl BackoffConfig {
    /// Checks `base <= max` and the decorrelated-jitter preconditions.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.base > self.max {
            return Err(ConfigError::new(
                "base",
                format!("= {:?} must not exceed `max` = {:?}", self.base, self.max),
            ));
        }
        if self.jitter == Jitter::Decorrelated {
            if self.kind != BackoffKind::Exponential {
                return Err(ConfigError::new(
                    "jitter",
                    "= \"decorrelated\" has its own schedule; use it with kind = \"exponential\"",
                ));
            }
            if self.base.is_zero() {
                return Err(ConfigError::new(
                    "base",
                    "must be > 0 with jitter = \"decorrelated\" (3 x 0 stays 0)",
                ));
            }
        }
        Ok(())
    }

    /// The ceiling `d` of retry `retry` (1 for the first retry), before jitter.
    pub fn ceiling(&self, retry: u32) -> Duration {
        debug_assert!(retry >= 1, "retry numbers start at 1");
        let (base, max) = (nanos(self.base), nanos(self.max));
        let d = match self.kind {
            BackoffKind::Constant => base,
            BackoffKind::Exponential => {
                let shift = retry.saturating_sub(1);
                if shift >= 64 {
                    u64::MAX
                } else {
                    base.saturating_mul(1u64 << shift)
                }
            }
        };
        Duration::from_nanos(d.min(max))
    }

    /// The delay before retry `retry` (1 for the first retry). `previous` is the delay
    /// this call waited before its previous retry (only decorrelated jitter reads it).
    pub fn delay<R: Rng + ?Sized>(
        &self,
        retry: u32,
        previous: Option<Duration>,
        rng: &mut R,
    ) -> Duration {
        let d = nanos(self.ceiling(retry));
        let ns = match self.jitter {
            Jitter::None => d,
            Jitter::Full => uniform_below(d, rng),
            Jitter::Equal => d / 2 + uniform_below(d - d / 2, rng),
            Jitter::Decorrelated => {
                let base = nanos(self.base);
                let previous = previous.map_or(base, nanos);
                let high = previous.saturating_mul(3).max(base);
                rng.random_range(base..=high).min(nanos(self.max))
            }
        };
        Duration::from_nanos(ns)
    }
}

/// Uniform in `[0, n)`, and 0 when `n == 0` (no draw is made then).
fn uniform_below<R: Rng + ?Sized>(n: u64, rng: &mut R) -> u64 {
    if n == 0 {
        0
    } else {
        rng.random_range(0..n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::{stream, Role};

    const MS: u64 = 1_000_000;

    fn config(kind: BackoffKind, jitter: Jitter) -> BackoffConfig {
        BackoffConfig {
            kind,
            jitter,
            ..BackoffConfig::default()
        }
    }

    /// `(retry, expected ceiling in ms)` pairs.
    fn check_ceilings(config: &BackoffConfig, expected: &[(u32, u64)]) {
        for &(retry, ms) in expected {
            assert_eq!(
                nanos(config.ceiling(retry)),
                ms * MS,
                "ceiling of retry {retry} with {config:?}"
            );
        }
    }

    #[test]
    fn exponential_doubles_up_to_max() {
        let c = config(BackoffKind::Exponential, Jitter::None);
        check_ceilings(
            &c,
            &[(1, 25), (2, 50), (3, 100), (4, 200), (5, 250), (9, 250)],
        );
        check_ceilings(&c, &[(64, 250), (65, 250), (u32::MAX, 250)]);
        let c = config(BackoffKind::Constant, Jitter::None);
        check_ceilings(&c, &[(1, 25), (2, 25), (30, 25)]);
    }

    #[test]
    fn no_jitter_is_the_ceiling() {
        let c = config(BackoffKind::Exponential, Jitter::None);
        let mut rng = stream(1, Role::Policy, 0);
        let got: Vec<u64> = (1..=5)
            .map(|n| nanos(c.delay(n, None, &mut rng)) / MS)
            .collect();
        assert_eq!(got, [25, 50, 100, 200, 250]);
    }

    /// Draws `n` delays of retry `retry` and returns (min, max, mean) in ns.
    fn sample(c: &BackoffConfig, retry: u32, previous: Option<Duration>) -> (u64, u64, f64) {
        let mut rng = stream(42, Role::Policy, 7);
        let draws: Vec<u64> = (0..20_000)
            .map(|_| nanos(c.delay(retry, previous, &mut rng)))
            .collect();
        let mean = draws.iter().map(|&x| x as f64).sum::<f64>() / draws.len() as f64;
        (
            *draws.iter().min().unwrap(),
            *draws.iter().max().unwrap(),
            mean,
        )
    }

    #[test]
    fn full_jitter_is_uniform_below_the_ceiling() {
        let c = config(BackoffKind::Exponential, Jitter::Full);
        let (lo, hi, mean) = sample(&c, 3, None); // d = 100ms
        assert!(hi < 100 * MS && lo < 2 * MS, "[{lo}, {hi}]");
        assert!(
            (mean / (50.0 * MS as f64) - 1.0).abs() < 0.02,
            "mean {mean}"
        );
    }

    #[test]
    fn equal_jitter_stays_in_the_upper_half() {
        let c = config(BackoffKind::Exponential, Jitter::Equal);
        let (lo, hi, mean) = sample(&c, 3, None); // d = 100ms
        assert!(
            (50 * MS..51 * MS).contains(&lo) && hi < 100 * MS,
            "[{lo}, {hi}]"
        );
        assert!(
            (mean / (75.0 * MS as f64) - 1.0).abs() < 0.01,
            "mean {mean}"
        );
    }

    #[test]
    fn decorrelated_jitter_spans_base_to_three_times_previous() {
        let c = config(BackoffKind::Exponential, Jitter::Decorrelated);
        // First retry: previous = base, so uniform in [25, 75] ms.
        let (lo, hi, mean) = sample(&c, 1, None);
        assert!((25 * MS..26 * MS).contains(&lo) && (74 * MS + 1..=75 * MS).contains(&hi));
        assert!(
            (mean / (50.0 * MS as f64) - 1.0).abs() < 0.01,
            "mean {mean}"
        );
        // After 60ms: uniform in [25, 180] ms; capped at max = 250 after 100ms.
        let (lo, hi, _) = sample(&c, 2, Some(Duration::from_millis(60)));
        assert!(
            lo >= 25 * MS && hi <= 180 * MS && hi > 178 * MS,
            "[{lo}, {hi}]"
        );
        let (_, hi, _) = sample(&c, 5, Some(Duration::from_millis(100)));
        assert_eq!(hi, 250 * MS, "capped at max");
        // The retry number is ignored.
        assert_eq!(sample(&c, 1, None), sample(&c, 9, None));
    }

    #[test]
    fn zero_ceilings_draw_nothing() {
        let c = BackoffConfig {
            base: Duration::ZERO,
            ..config(BackoffKind::Constant, Jitter::Full)
        };
        let mut rng = stream(3, Role::Policy, 0);
        assert_eq!(c.delay(1, None, &mut rng), Duration::ZERO);
        let c = BackoffConfig {
            jitter: Jitter::Equal,
            ..c
        };
        assert_eq!(c.delay(4, None, &mut rng), Duration::ZERO);
    }

    #[test]
    fn validation_names_the_key() {
        let bad = |c: BackoffConfig| c.validate().unwrap_err().key;
        let c = BackoffConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            bad(BackoffConfig {
                base: Duration::from_secs(1),
                ..c.clone()
            }),
            "base"
        );
        let decorrelated = config(BackoffKind::Constant, Jitter::Decorrelated);
        assert_eq!(bad(decorrelated), "jitter");
        let zero = BackoffConfig {
            base: Duration::ZERO,
            ..config(BackoffKind::Exponential, Jitter::Decorrelated)
        };
        assert_eq!(bad(zero), "base");
    }

    #[test]
    fn parses_from_toml() {
        let c: BackoffConfig =
            toml::from_str("kind = \"constant\"\nbase = \"10ms\"\njitter = \"equal\"").unwrap();
        assert_eq!(c.kind, BackoffKind::Constant);
        assert_eq!(c.base, Duration::from_millis(10));
        assert_eq!(c.max, Duration::from_millis(250));
        assert_eq!(c.jitter, Jitter::Equal);
        assert!(toml::from_str::<BackoffConfig>("jitter = \"wild\"").is_err());
        assert!(toml::from_str::<BackoffConfig>("base = 10").is_err());
        assert!(toml::from_str::<BackoffConfig>("cap = \"1s\"").is_err());
    }
}

//! gRPC retry throttling (gRFC A6), in the fixed point gRPC prescribes.

use super::Spend;
use crate::ConfigError;

/// `throttle = { max_tokens, token_ratio }` of a retry config.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "a retry throttle table { max_tokens = ..., token_ratio = ... }"
    )
)]
pub struct ThrottleConfig {
    /// Tokens at the start and at most (gRPC `maxTokens`, 1 to 1000).
    pub max_tokens: u32,
    /// Tokens a success gives back (gRPC `tokenRatio`; three decimals are kept).
    pub token_ratio: f64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_tokens: 10,
            token_ratio: 0.1,
        }
    }
}

impl ThrottleConfig {
    /// Checks gRPC's ranges: `0 < max_tokens <= 1000`, `token_ratio >= 0.001`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.max_tokens) {
            return Err(ConfigError::new(
                "max_tokens",
                format!("= {} must be in 1..=1000 (gRPC)", self.max_tokens),
            ));
        }
        if !(self.token_ratio.is_finite() && (0.001..=1000.0).contains(&self.token_ratio)) {
            return Err(ConfigError::new(
                "token_ratio",
                format!(
                    "= {} must be in [0.001, 1000] (gRPC keeps three decimals)",
                    self.token_ratio
                ),
            ));
        }
        Ok(())
    }
}

/// One token in fixed point (gRPC: three decimal places).
const MILLI: u32 = 1000;

/// gRPC retry throttling: tokens start at `max_tokens`; each failed attempt costs one,
/// each success gives back `token_ratio` (capped at `max_tokens`); retries and hedges
/// are disallowed while `tokens <= max_tokens / 2`.
///
/// Call `on_failure` / `on_success` for every attempt outcome (failures only of the
/// kinds the retry policy retries, as gRPC counts only retryable status codes), and
/// `check` before each retry or hedge. Time plays no part. Tokens are thousandths held
/// in integers, as gRPC Java does, so runs are exact.
#[derive(Clone, Debug)]
pub struct RetryThrottle {
    /// Current tokens, in thousandths: `0 <= tokens_milli <= max_milli`.
    tokens_milli: u32,
    /// `max_tokens * 1000`.
    max_milli: u32,
    /// `max_milli / 2` (integer division, as gRPC Java).
    threshold_milli: u32,
    /// `token_ratio * 1000`, rounded.
    ratio_milli: u32,
}

impl RetryThrottle {
    /// A full throttle. The ratio is rounded to thousandths (not
    /// truncated like gRPC Java's cast), so `0.1` is exactly 100 whatever its binary form.
    ///
    /// # Errors
    ///
    /// The first problem [`ThrottleConfig::validate`] finds; its `key` names the field.
    pub fn try_new(config: &ThrottleConfig) -> Result<RetryThrottle, ConfigError> {
        config.validate()?;
        Ok(RetryThrottle::build(config))
    }

    /// [`RetryThrottle::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a retry throttle.
    pub fn new(config: &ThrottleConfig) -> RetryThrottle {
        RetryThrottle::try_new(config)
            .unwrap_or_else(|e| panic!("invalid retry throttle config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(config: &ThrottleConfig) -> RetryThrottle {
        let max_milli = config.max_tokens.saturating_mul(MILLI);
        RetryThrottle {
            tokens_milli: max_milli,
            max_milli,
            threshold_milli: max_milli / 2,
            ratio_milli: (config.token_ratio * MILLI as f64).round() as u32,
        }
    }

    /// An attempt failed with a retryable kind: one token less, not below zero.
    pub fn on_failure(&mut self) {
        self.tokens_milli = self.tokens_milli.saturating_sub(MILLI);
    }

    /// An attempt succeeded: `token_ratio` back, up to `max_tokens`.
    pub fn on_success(&mut self) {
        self.tokens_milli = (self.tokens_milli + self.ratio_milli).min(self.max_milli);
    }

    /// Whether a retry or hedge may go now: only while tokens are above half.
    pub fn check(&self) -> Spend {
        if self.tokens_milli > self.threshold_milli {
            Spend::Granted
        } else {
            Spend::Denied
        }
    }

    /// Current tokens in thousandths, for reports and tests.
    pub fn tokens_milli(&self) -> u32 {
        self.tokens_milli
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Input {
        Fail,
        Succeed,
        Check,
    }
    use Input::{Check as C, Fail as F, Succeed as S};

    /// Runs `(input, expected tokens in thousandths, expected check)` steps.
    fn check(config: ThrottleConfig, script: &[(Input, u32, Option<Spend>)]) {
        config.validate().unwrap();
        let mut t = RetryThrottle::new(&config);
        for (step, &(input, tokens, expected)) in script.iter().enumerate() {
            let got = match input {
                F => {
                    t.on_failure();
                    None
                }
                S => {
                    t.on_success();
                    None
                }
                C => Some(t.check()),
            };
            assert_eq!(
                (t.tokens_milli(), got),
                (tokens, expected),
                "step {step}: {input:?}"
            );
        }
    }

    const OK: Option<Spend> = Some(Spend::Granted);
    const NO: Option<Spend> = Some(Spend::Denied);

    #[test]
    fn threshold_is_exclusive_at_half() {
        let c = ThrottleConfig::default(); // 10 tokens, threshold 5
        let mut script = vec![(C, 10_000, OK)];
        for k in 1..=4 {
            script.push((F, 10_000 - k * 1000, None));
        }
        script.extend([(C, 6_000, OK), (F, 5_000, None), (C, 5_000, NO)]);
        // 5.1 tokens after one success: above half again.
        script.extend([(S, 5_100, None), (C, 5_100, OK)]);
        check(c, &script);
    }

    #[test]
    fn tokens_stay_between_zero_and_max() {
        let c = ThrottleConfig {
            max_tokens: 3,
            token_ratio: 0.5,
        };
        check(
            c,
            &[
                (S, 3_000, None),
                (F, 2_000, None),
                (F, 1_000, None),
                (F, 0, None),
                (F, 0, None),
                (C, 0, NO),
                (S, 500, None),
                (S, 1_000, None),
                (S, 1_500, None),
                (C, 1_500, NO), // threshold 3000 / 2 = 1500, exclusive
                (S, 2_000, None),
                (C, 2_000, OK),
                (S, 2_500, None),
                (S, 3_000, None),
                (S, 3_000, None),
            ],
        );
    }

    #[test]
    fn odd_max_tokens_halve_in_fixed_point() {
        // max 7: threshold 3.5 tokens, so 3.6 retries and 3.5 does not.
        let c = ThrottleConfig {
            max_tokens: 7,
            token_ratio: 0.1,
        };
        let mut script: Vec<_> = (1..=4).map(|k| (F, 7_000 - k * 1000, None)).collect();
        script.extend([(C, 3_000, NO), (S, 3_100, None)]);
        script.extend((2..=5).map(|k| (S, 3_000 + k * 100, None)));
        script.extend([(C, 3_500, NO), (S, 3_600, None), (C, 3_600, OK)]);
        check(c, &script);
    }

    #[test]
    fn ratio_keeps_three_decimals() {
        let t = RetryThrottle::new(&ThrottleConfig {
            max_tokens: 10,
            token_ratio: 0.0015,
        });
        assert_eq!(t.ratio_milli, 2);
        let bad = |c: ThrottleConfig| c.validate().unwrap_err().key;
        let zero = ThrottleConfig {
            max_tokens: 0,
            ..ThrottleConfig::default()
        };
        assert_eq!(bad(zero), "max_tokens");
        let tiny = ThrottleConfig {
            token_ratio: 0.0001,
            ..ThrottleConfig::default()
        };
        assert_eq!(bad(tiny), "token_ratio");
    }
}

//! Client-side limiters (POLICIES.md "Limits"): a token bucket on the call rate, a cap
//! on in-flight attempts, or an AIMD-adapted cap (Netflix concurrency-limits). A
//! rejection is reported as `rejected`, like a server that is full.
//!
//! # Call order
//!
//! ```text
//! let mut limiter = Limiter::new(&config, now);   // one per client instance
//! match limiter.admit(now) {                      // before each call or attempt
//!     LimitDecision::Allow => send(),
//!     LimitDecision::Reject => fail(FailureKind::Rejected),
//! }
//! limiter.on_complete(later, outcome, latency);   // each admitted one that answered
//! limiter.on_cancel(later);                       // or was abandoned (a hedge that lost)
//! ```
//!
//! Every `Allow` is matched by exactly one `on_complete` or `on_cancel`. `now` must
//! never go backwards. Whether calls or attempts are admitted is the caller's choice;
//! POLICIES.md has the token bucket limit calls and the caps limit attempts.

mod aimd;
mod token_bucket;

pub use aimd::Aimd;
pub use token_bucket::TokenBucket;

use std::time::Duration;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::Instant;
use crate::{ConfigError, Outcome};

/// `limiter = { kind = ..., ... }` of a client.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        tag = "kind",
        rename_all = "snake_case",
        deny_unknown_fields,
        expecting = "a limiter table { kind = \"token_bucket\" | \"concurrency\" | \"aimd\", ... }"
    )
)]
pub enum LimiterConfig {
    /// At most `rate` calls per second on average, `burst` at once.
    TokenBucket {
        /// Tokens added per second (kept to 0.001 per second).
        rate: f64,
        /// Bucket size: the most calls admitted at once after a quiet spell.
        burst: u32,
    },
    /// At most `max` admitted and unfinished at once.
    Concurrency {
        /// The in-flight cap.
        max: u32,
    },
    /// An in-flight cap that adapts: Netflix concurrency-limits `AIMDLimit`.
    Aimd {
        /// The cap at the start.
        #[cfg_attr(feature = "serde", serde(default = "aimd_initial"))]
        initial: u32,
        /// The cap never goes below this.
        #[cfg_attr(feature = "serde", serde(default = "aimd_min"))]
        min: u32,
        /// The cap never goes above this.
        #[cfg_attr(feature = "serde", serde(default = "aimd_max"))]
        max: u32,
        /// A drop multiplies the cap by this (then rounds down).
        #[cfg_attr(feature = "serde", serde(default = "aimd_backoff_ratio"))]
        backoff_ratio: f64,
        /// A success slower than this counts as a drop; `None`: latency is ignored.
        #[cfg_attr(feature = "serde", serde(default, with = "duration_str::option"))]
        #[cfg_attr(
            feature = "schema",
            schemars(schema_with = "crate::schema::optional_duration")
        )]
        timeout: Option<Duration>,
    },
}

#[cfg(feature = "serde")]
fn aimd_initial() -> u32 {
    20
}
#[cfg(feature = "serde")]
fn aimd_min() -> u32 {
    1
}
#[cfg(feature = "serde")]
fn aimd_max() -> u32 {
    200
}
#[cfg(feature = "serde")]
fn aimd_backoff_ratio() -> f64 {
    0.9
}

/// The largest token bucket `burst` (keeps the fixed-point arithmetic in `u64`).
pub const MAX_BURST: u32 = 1_000_000;

impl LimiterConfig {
    /// Checks every parameter; after this, building and using the limiter is total.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            LimiterConfig::TokenBucket { rate, burst } => {
                if !(rate.is_finite() && (0.001..=1e9).contains(&rate)) {
                    return Err(ConfigError::new(
                        "rate",
                        format!("= {rate} must be in [0.001, 1e9] calls per second"),
                    ));
                }
                if !(1..=MAX_BURST).contains(&burst) {
                    return Err(ConfigError::new(
                        "burst",
                        format!("= {burst} must be in 1..={MAX_BURST}"),
                    ));
                }
            }
            LimiterConfig::Concurrency { max } => {
                if max == 0 {
                    return Err(ConfigError::new(
                        "max",
                        "= 0 would reject everything; use >= 1",
                    ));
                }
            }
            LimiterConfig::Aimd {
                initial,
                min,
                max,
                backoff_ratio,
                ..
            } => {
                // Netflix `AIMDLimit.Builder` allows `minLimit = 0` and an initial limit
                // outside [min, max] (it only logs a warning); the limit is clamped at
                // the first sample. An initial limit of 0 would admit nothing, so no
                // sample would ever come: rejected.
                if initial == 0 {
                    return Err(ConfigError::new(
                        "initial",
                        "= 0 would admit nothing and never adapt; use >= 1",
                    ));
                }
                if min > max {
                    return Err(ConfigError::new(
                        "min",
                        format!("= {min} exceeds `max` = {max}"),
                    ));
                }
                if max == 0 {
                    return Err(ConfigError::new("max", "= 0 would admit nothing; use >= 1"));
                }
                // Netflix AIMDLimit asserts the same range.
                if !(0.5..1.0).contains(&backoff_ratio) {
                    return Err(ConfigError::new(
                        "backoff_ratio",
                        format!("= {backoff_ratio} must be in [0.5, 1)"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether a call or attempt may go now.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitDecision {
    /// Send it; report its end with `on_complete` or `on_cancel`.
    Allow,
    /// Fail it at once as `rejected`; do not report it again.
    Reject,
}

/// A fixed cap on admitted, unfinished calls or attempts.
#[derive(Clone, Debug)]
pub struct Concurrency {
    max: u32,
    in_flight: u32,
}

impl Concurrency {
    /// A cap of `max` with nothing in flight.
    pub fn new(max: u32) -> Concurrency {
        Concurrency { max, in_flight: 0 }
    }

    /// Admits while fewer than `max` are in flight.
    pub fn admit(&mut self) -> LimitDecision {
        if self.in_flight < self.max {
            self.in_flight += 1;
            LimitDecision::Allow
        } else {
            LimitDecision::Reject
        }
    }

    /// One admitted call or attempt ended, however it ended.
    pub fn release(&mut self) {
        debug_assert!(self.in_flight > 0, "every release matches an Allow");
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Admitted and unfinished now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// A limiter of any kind (a closed enum: no allocation or `dyn`). See the module docs
/// for the call order.
#[derive(Clone, Debug)]
pub enum Limiter {
    /// See [`TokenBucket`].
    TokenBucket(TokenBucket),
    /// See [`Concurrency`].
    Concurrency(Concurrency),
    /// See [`Aimd`].
    Aimd(Aimd),
}

impl Limiter {
    /// The limiter of `config`; a token bucket starts full at `now`.
    ///
    /// # Errors
    ///
    /// The first problem [`LimiterConfig::validate`] finds; its `key` names the field.
    pub fn try_new(config: &LimiterConfig, now: Instant) -> Result<Limiter, ConfigError> {
        config.validate()?;
        Ok(Limiter::build(config, now))
    }

    /// [`Limiter::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a limiter.
    pub fn new(config: &LimiterConfig, now: Instant) -> Limiter {
        Limiter::try_new(config, now).unwrap_or_else(|e| panic!("invalid limiter config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(config: &LimiterConfig, now: Instant) -> Limiter {
        match *config {
            LimiterConfig::TokenBucket { rate, burst } => {
                Limiter::TokenBucket(TokenBucket::new(rate, burst, now))
            }
            LimiterConfig::Concurrency { max } => Limiter::Concurrency(Concurrency::new(max)),
            LimiterConfig::Aimd {
                initial,
                min,
                max,
                backoff_ratio,
                timeout,
            } => Limiter::Aimd(Aimd::new(initial, min, max, backoff_ratio, timeout)),
        }
    }

    /// True for a rate limit on calls (`token_bucket`: POLICIES.md "rejects calls over
    /// the rate"); false for the limits on attempts in flight (`concurrency`, `aimd`).
    /// The caller asks [`Limiter::admit`] once per call or once per attempt accordingly.
    pub fn limits_calls(&self) -> bool {
        matches!(self, Limiter::TokenBucket(_))
    }

    /// Decides about one call or attempt now.
    #[must_use = "a rejected call or attempt must fail as `rejected`, an allowed one be reported"]
    pub fn admit(&mut self, now: Instant) -> LimitDecision {
        match self {
            Limiter::TokenBucket(l) => l.admit(now),
            Limiter::Concurrency(l) => l.admit(),
            Limiter::Aimd(l) => l.admit(),
        }
    }

    /// An admitted call or attempt ended with `outcome` after `latency`.
    pub fn on_complete(&mut self, now: Instant, outcome: Outcome, latency: Duration) {
        let _ = now;
        match self {
            Limiter::TokenBucket(_) => {}
            Limiter::Concurrency(l) => l.release(),
            Limiter::Aimd(l) => l.on_complete(outcome, latency),
        }
    }

    /// An admitted call or attempt was abandoned without an answer: it frees its slot
    /// and teaches AIMD nothing (Netflix `onIgnore`).
    pub fn on_cancel(&mut self, now: Instant) {
        let _ = now;
        match self {
            Limiter::TokenBucket(_) => {}
            Limiter::Concurrency(l) => l.release(),
            Limiter::Aimd(l) => l.on_cancel(),
        }
    }

    /// The current cap, for reports: `burst` for a token bucket, `max` for a fixed
    /// cap, the adapted cap for AIMD.
    pub fn limit(&self) -> u32 {
        match self {
            Limiter::TokenBucket(l) => l.burst(),
            Limiter::Concurrency(l) => l.max,
            Limiter::Aimd(l) => l.limit(),
        }
    }
}

#[cfg(test)]
mod tests;

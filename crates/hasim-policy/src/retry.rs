//! Retries: whether a failed attempt is retried, after how long, and whether the retry
//! budget or throttle allows it (POLICIES.md "Retries").
//!
//! # Call order
//!
//! ```text
//! let mut retrier = Retrier::new(&config);          // one per client instance
//! retrier.on_call_start(now);                       // every call (budget deposit)
//! // ... an attempt ends:
//! retrier.on_attempt_outcome(now, outcome);         // every attempt, hedges too (throttle)
//! match retrier.decide(now, &AttemptInfo { .. }, &mut rng) {   // after a failed attempt
//!     RetryDecision::Retry { after } => schedule_retry(now.after(after)),
//!     RetryDecision::GiveUp(reason) => fail_call(reason),
//! }
//! match retrier.try_spend_hedge(now) {              // before each hedge is sent
//!     HedgeDecision::Send => send_hedge(),
//!     HedgeDecision::Skip(reason) => {}
//! }
//! ```
//!
//! `now` must never go backwards. The caller keeps, per call, the attempts made and the
//! last delay (for decorrelated jitter), and picks another endpoint for the retry when
//! [`Retrier::other_endpoint`] says so.

mod backoff;

pub use backoff::{BackoffConfig, BackoffKind, Jitter};

use std::time::Duration;

use rand::Rng;

use crate::budget::{BudgetConfig, RetryBudget, RetryThrottle, Spend, ThrottleConfig};
use crate::time::Instant;
use crate::{ConfigError, FailureKind, KindSet, Outcome};

/// The most attempts a call may make: everything is bounded (DESIGN invariant 7).
pub const MAX_ATTEMPTS: u32 = 100;

/// `retry = { attempts, on, other_endpoint, backoff, budget | throttle }` of a client.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "a retry table { attempts = ..., backoff = ..., budget = ... }"
    )
)]
pub struct RetryConfig {
    /// Attempts per call in total, the first included (1 = no retries).
    pub attempts: u32,
    /// Failure kinds that are retried; others end the call at once.
    pub on: KindSet,
    /// A retry avoids endpoints this call already tried, when it can (the caller's
    /// eligible list does it; the retrier only carries the flag).
    pub other_endpoint: bool,
    /// Delay before each retry.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::spelling::required")
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::backoff"))]
    pub backoff: BackoffConfig,
    /// Finagle/tower retry budget shared by the client's calls, if any.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::spelling::optional")
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::budget"))]
    pub budget: Option<BudgetConfig>,
    /// gRPC retry throttling, if any (not together with `budget`).
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::spelling::optional")
    )]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::throttle"))]
    pub throttle: Option<ThrottleConfig>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            attempts: 1,
            on: KindSet::ALL,
            other_endpoint: true,
            backoff: BackoffConfig::default(),
            budget: None,
            throttle: None,
        }
    }
}

impl RetryConfig {
    /// Checks every parameter, the nested ones included; afterwards the retrier is total.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_ATTEMPTS).contains(&self.attempts) {
            return Err(ConfigError::new(
                "attempts",
                format!(
                    "= {} must be in 1..={MAX_ATTEMPTS} (total attempts, the first included)",
                    self.attempts
                ),
            ));
        }
        if self.budget.is_some() && self.throttle.is_some() {
            return Err(ConfigError::new(
                "throttle",
                "cannot be set together with `budget`; choose one",
            ));
        }
        self.backoff.validate()?;
        if let Some(budget) = &self.budget {
            budget.validate()?;
        }
        if let Some(throttle) = &self.throttle {
            throttle.validate()?;
        }
        Ok(())
    }
}

/// What the caller knows about a call whose latest attempt just failed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttemptInfo {
    /// Attempts this call has made so far, the failed one included (>= 1). Hedges are
    /// not counted here; they have their own `max_extra`.
    pub attempts_made: u32,
    /// Why the latest attempt failed.
    pub last_failure: FailureKind,
    /// The `after` of this call's previous retry, if any (decorrelated jitter grows it).
    pub previous_delay: Option<Duration>,
    /// The call's deadline, if any: no retry starts at or after it.
    pub deadline: Option<Instant>,
}

/// Why a call stops retrying. Each is reported apart, so a run shows which bound bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The failure kind is not in `on`.
    NotRetryable,
    /// `attempts` attempts were made.
    AttemptsExhausted,
    /// The retry would start at or after the call deadline.
    DeadlineExceeded,
    /// The retry budget is overdrawn.
    BudgetExhausted,
    /// The gRPC throttle is at or below half its tokens.
    Throttled,
}

/// What to do after a failed attempt.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send another attempt `after` from now (the budget has already been charged).
    Retry {
        /// The backoff delay; the caller schedules it.
        after: Duration,
    },
    /// End the call with the latest failure.
    GiveUp(GiveUpReason),
}

/// Whether a hedge may be sent now.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HedgeDecision {
    /// Send it (the budget has already been charged).
    Send,
    /// Do not send it: `BudgetExhausted` or `Throttled`.
    Skip(GiveUpReason),
}

/// What limits retries beyond `attempts`: one of these, never both.
#[derive(Clone, Debug)]
enum Allowance {
    /// Only `attempts` and the deadline.
    Unlimited,
    /// Finagle/tower budget: deposits per call, a withdrawal per retry or hedge.
    Budget(RetryBudget),
    /// gRPC throttle: fed by attempt outcomes, checked per retry or hedge.
    Throttle(RetryThrottle),
}

/// The retry policy of one client instance: owns its budget or throttle, so budgets are
/// per instance (ten instances, ten budgets, as with ten sidecars).
///
/// See the module docs for the call order.
#[derive(Clone, Debug)]
pub struct Retrier {
    attempts: u32,
    on: KindSet,
    other_endpoint: bool,
    backoff: BackoffConfig,
    allowance: Allowance,
}

impl Retrier {
    /// The retrier of `config`, with a full budget or throttle.
    ///
    /// # Errors
    ///
    /// The first problem [`RetryConfig::validate`] finds; its `key` names the field.
    pub fn try_new(config: &RetryConfig) -> Result<Retrier, ConfigError> {
        config.validate()?;
        Ok(Retrier::build(config))
    }

    /// [`Retrier::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a retrier.
    pub fn new(config: &RetryConfig) -> Retrier {
        Retrier::try_new(config).unwrap_or_else(|e| panic!("invalid retrier config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(config: &RetryConfig) -> Retrier {
        let allowance = match (&config.budget, &config.throttle) {
            (Some(budget), _) => Allowance::Budget(RetryBudget::new(budget)),
            (None, Some(throttle)) => Allowance::Throttle(RetryThrottle::new(throttle)),
            (None, None) => Allowance::Unlimited,
        };
        Retrier {
            attempts: config.attempts,
            on: config.on,
            other_endpoint: config.other_endpoint,
            backoff: config.backoff.clone(),
            allowance,
        }
    }

    /// A call started: deposits into the budget (Finagle and tower deposit per request).
    pub fn on_call_start(&mut self, now: Instant) {
        if let Allowance::Budget(budget) = &mut self.allowance {
            budget.deposit(now);
        }
    }

    /// An attempt (first, retry or hedge) ended. Feeds the throttle: a failure of a kind
    /// in `on` costs a token, a success gives `token_ratio` back; other failures are
    /// neutral, as gRPC counts only retryable status codes. Cancelled hedges are not
    /// reported.
    pub fn on_attempt_outcome(&mut self, now: Instant, outcome: Outcome) {
        let _ = now;
        if let Allowance::Throttle(throttle) = &mut self.allowance {
            match outcome {
                Outcome::Success => throttle.on_success(),
                Outcome::Failure(kind) if self.on.contains(kind) => throttle.on_failure(),
                Outcome::Failure(_) => {}
            }
        }
    }

    /// Decides about a failed attempt. Checks, in order: the kind is in `on`, attempts
    /// are left, the backoff ends before the deadline, then the budget or throttle (last,
    /// so a retry that will not happen is never charged). The jitter draw is made only
    /// when the first two checks pass.
    #[must_use = "a retry must be scheduled after `after`, or the call failed"]
    pub fn decide<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        attempt: &AttemptInfo,
        rng: &mut R,
    ) -> RetryDecision {
        debug_assert!(attempt.attempts_made >= 1, "a failed attempt was made");
        if !self.on.contains(attempt.last_failure) {
            return RetryDecision::GiveUp(GiveUpReason::NotRetryable);
        }
        if attempt.attempts_made >= self.attempts {
            return RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        let after = self
            .backoff
            .delay(attempt.attempts_made, attempt.previous_delay, rng);
        if attempt.deadline.is_some_and(|d| now.after(after) >= d) {
            return RetryDecision::GiveUp(GiveUpReason::DeadlineExceeded);
        }
        match self.spend(now) {
            HedgeDecision::Send => RetryDecision::Retry { after },
            HedgeDecision::Skip(reason) => RetryDecision::GiveUp(reason),
        }
    }

    /// Asks to send a hedge now. Hedges go through the budget or throttle when one is set
    /// (tower `Hedge` withdraws from its budget, gRPC A6 throttles hedges too).
    #[must_use = "a granted hedge has been charged to the budget and must be sent"]
    pub fn try_spend_hedge(&mut self, now: Instant) -> HedgeDecision {
        self.spend(now)
    }

    /// Whether a retry should avoid endpoints the call already tried.
    pub fn other_endpoint(&self) -> bool {
        self.other_endpoint
    }

    /// The budget's or throttle's answer for one more retry or hedge.
    fn spend(&mut self, now: Instant) -> HedgeDecision {
        let (spend, reason) = match &mut self.allowance {
            Allowance::Unlimited => (Spend::Granted, GiveUpReason::BudgetExhausted),
            Allowance::Budget(budget) => (budget.withdraw(now), GiveUpReason::BudgetExhausted),
            Allowance::Throttle(throttle) => (throttle.check(), GiveUpReason::Throttled),
        };
        match spend {
            Spend::Granted => HedgeDecision::Send,
            Spend::Denied => HedgeDecision::Skip(reason),
        }
    }
}

#[cfg(test)]
mod tests;

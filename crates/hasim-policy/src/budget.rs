//! Retry budgets: a [`RetryBudget`] (Finagle `RetryBudget`, tower `TpsBudget`) or a
//! [`RetryThrottle`] (gRPC A6 retry throttling). Either one bounds how much extra load
//! retries and hedges add, whatever `attempts` says: the defence against retry storms.
//!
//! # Call order
//!
//! ```text
//! let mut budget = RetryBudget::new(&config);
//! budget.deposit(now);                     // every call, when it starts
//! match budget.withdraw(now) {             // every retry or hedge, before it is sent
//!     Spend::Granted => send_retry(),
//!     Spend::Denied => give_up(),
//! }
//! ```
//!
//! `now` must never go backwards. Both are owned by a `Retrier`, which calls them.
//!
//! # Example
//!
//! A 20% budget with no reserve allows one retry per five calls made in the last
//! `ttl`, and forgets calls older than that:
//!
//! ```
//! use std::time::Duration;
//! use hasim_policy::budget::{BudgetConfig, RetryBudget, Spend};
//! use hasim_policy::time::Instant;
//!
//! let mut config = BudgetConfig::default();
//! config.ratio = 0.2;
//! config.min_per_sec = 0;
//! config.ttl = Duration::from_secs(10);
//! let mut budget = RetryBudget::try_new(&config)?;
//!
//! let now = Instant::from_nanos(1_000);
//! for _ in 0..5 {
//!     budget.deposit(now); // five calls start
//! }
//! assert_eq!(budget.withdraw(now), Spend::Granted); // one retry
//! assert_eq!(budget.withdraw(now), Spend::Denied); // not two
//!
//! let later = now.after(Duration::from_secs(11));
//! budget.deposit(later);
//! assert_eq!(budget.withdraw(later), Spend::Denied, "the old calls have expired");
//! # Ok::<(), hasim_policy::ConfigError>(())
//! ```
//!
//! # Mapping to tower and Finagle
//!
//! The bucket is tower's `TpsBucket` on integer nanoseconds: ten slots of `ttl / 10`,
//! a `writer` for the current slot, `sum = writer + slots + reserve`, and a withdrawal
//! succeeds when `sum >= withdraw_amount`. Two choices follow Finagle, which tower ports:
//!
//! - Amounts are scaled by 1000 for every ratio: `deposit_amount = 1000`,
//!   `withdraw_amount = floor(1000 / ratio)` (Finagle `TokenRetryBudget.ScaleFactor`);
//!   with `ratio = 0` deposits are worth 0 and a withdrawal costs 1. tower uses
//!   `(1, floor(1 / ratio))` when `ratio <= 1`, so `ratio = 0.3` would allow one retry
//!   in 3 calls; with the scale it allows 1000 in 3333.
//! - After a gap of `diff >= window`, `floor(diff / window) - 1` slots are zeroed
//!   (Finagle `WindowedAdder`). tower's loop zeroes one more slot whenever `diff` is not
//!   a multiple of the window, which can shorten the memory to about `ttl / 2`.
//!
//! `reserve = min_per_sec * whole seconds of ttl * withdraw_amount`, as in both.

mod throttle;

pub use throttle::{RetryThrottle, ThrottleConfig};

use std::time::Duration;

#[cfg(feature = "serde")]
use crate::time::duration_str;
use crate::time::{nanos, Instant};
use crate::ConfigError;

/// `budget = { ratio, min_per_sec, ttl }` of a retry config.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        default,
        expecting = "a retry budget table { ratio = ..., min_per_sec = ..., ttl = ... }"
    )
)]
pub struct BudgetConfig {
    /// Retries allowed per call made recently (0.2: one retry per five calls).
    pub ratio: f64,
    /// Retries allowed per second on top of `ratio`, so a client with little traffic
    /// can still retry.
    pub min_per_sec: u32,
    /// How long a deposit (or a withdrawal) is remembered; 1 s to 60 s as in Finagle.
    #[cfg_attr(feature = "serde", serde(with = "duration_str"))]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::duration"))]
    pub ttl: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            ratio: 0.2,
            min_per_sec: 10,
            ttl: Duration::from_secs(10),
        }
    }
}

impl BudgetConfig {
    /// Checks the ranges Finagle and tower assert at construction.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.ratio.is_finite() && (0.0..=SCALE as f64).contains(&self.ratio)) {
            return Err(ConfigError::new(
                "ratio",
                format!("= {} must be in [0, 1000]", self.ratio),
            ));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&self.ttl) {
            return Err(ConfigError::new(
                "ttl",
                format!("= {:?} must be between 1s and 60s", self.ttl),
            ));
        }
        if self.min_per_sec > i32::MAX as u32 {
            return Err(ConfigError::new("min_per_sec", "must be below 2^31"));
        }
        Ok(())
    }
}

/// Whether a budget or throttle lets one more retry or hedge go.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spend {
    /// Go ahead; a budget has already withdrawn the cost.
    Granted,
    /// Do not send it; nothing was withdrawn.
    Denied,
}

/// The fixed-point scale of budget amounts (Finagle `ScaleFactor`).
const SCALE: i64 = 1000;

/// Slots over `ttl` (tower and Finagle use ten).
const SLOTS: usize = 10;

/// A retry budget: a retry (or hedge) is allowed while retries stay within `ratio` of
/// the calls of the last `ttl`, plus `min_per_sec` per second.
///
/// Call `deposit` once per call and `withdraw` before each retry or hedge; see the
/// module docs for the call order and the mapping to tower and Finagle.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    /// Added per call (1000, or 0 when `ratio = 0`).
    deposit_amount: i64,
    /// Taken per retry (`floor(1000 / ratio)`, or 1 when `ratio = 0`).
    withdraw_amount: i64,
    /// Always available on top of the window: `min_per_sec * ttl * withdraw_amount`.
    reserve: i64,
    /// Net amounts of the last ten slots, in ring order.
    slots: [i64; SLOTS],
    /// Net amount of the current slot, committed to `slots[index]` when it expires.
    writer: i64,
    /// Where the current slot will be committed.
    index: usize,
    /// When the current slot started (tower `Generation::time`).
    slot_start: Instant,
    /// Length of a slot in nanoseconds: `ttl / 10`.
    window_ns: u64,
}

impl RetryBudget {
    /// An empty budget (only the reserve is available). The
    /// first slot starts at time zero; since all slots start empty, that is the same as
    /// starting at the first call.
    ///
    /// # Errors
    ///
    /// The first problem [`BudgetConfig::validate`] finds; its `key` names the field.
    pub fn try_new(config: &BudgetConfig) -> Result<RetryBudget, ConfigError> {
        config.validate()?;
        Ok(RetryBudget::build(config))
    }

    /// [`RetryBudget::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a retry budget.
    pub fn new(config: &BudgetConfig) -> RetryBudget {
        RetryBudget::try_new(config).unwrap_or_else(|e| panic!("invalid retry budget config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build(config: &BudgetConfig) -> RetryBudget {
        let (deposit_amount, withdraw_amount) = if config.ratio == 0.0 {
            (0, 1)
        } else {
            (SCALE, ((SCALE as f64 / config.ratio) as i64).max(1))
        };
        let reserve = i64::from(config.min_per_sec)
            .saturating_mul(config.ttl.as_secs() as i64)
            .saturating_mul(withdraw_amount);
        RetryBudget {
            deposit_amount,
            withdraw_amount,
            reserve,
            slots: [0; SLOTS],
            writer: 0,
            index: 0,
            slot_start: Instant::ZERO,
            window_ns: (nanos(config.ttl) / SLOTS as u64).max(1),
        }
    }

    /// A call started: credits `ratio` of a retry.
    pub fn deposit(&mut self, now: Instant) {
        self.expire(now);
        self.writer = self.writer.saturating_add(self.deposit_amount);
    }

    /// Takes one retry's worth if the balance covers it.
    pub fn withdraw(&mut self, now: Instant) -> Spend {
        self.expire(now);
        if self.balance() >= self.withdraw_amount {
            self.writer = self.writer.saturating_sub(self.withdraw_amount);
            Spend::Granted
        } else {
            Spend::Denied
        }
    }

    /// Whole retries the budget would grant now, ignoring expiry since the last call
    /// (for reports and tests).
    pub fn retries_available(&self) -> i64 {
        self.balance().max(0) / self.withdraw_amount
    }

    /// `writer + slots + reserve`, saturating (tower `TpsBucket::sum`).
    fn balance(&self) -> i64 {
        self.slots
            .iter()
            .fold(self.writer, |sum, &slot| sum.saturating_add(slot))
            .saturating_add(self.reserve)
    }

    /// Commits the current slot once it is a window old, and zeroes the slots that a
    /// longer gap skipped (Finagle's count; see the module docs).
    fn expire(&mut self, now: Instant) {
        let diff = now.as_nanos().saturating_sub(self.slot_start.as_nanos());
        if diff < self.window_ns {
            return;
        }
        self.slots[self.index] = std::mem::take(&mut self.writer);
        let start = (self.index + 1) % SLOTS;
        let skipped = diff / self.window_ns - 1;
        // Beyond a full turn every slot is zero already; only the position moves on.
        for k in 0..skipped.min(SLOTS as u64) as usize {
            self.slots[(start + k) % SLOTS] = 0;
        }
        self.index = (start + (skipped % SLOTS as u64) as usize) % SLOTS;
        self.slot_start = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: u64 = 1_000_000;

    /// One step of a budget script.
    #[derive(Clone, Copy, Debug)]
    enum Input {
        Deposit,
        Withdraw,
    }

    /// Runs `(time in ms, input, expected withdrawal)` steps; deposits expect `None`.
    fn check(config: BudgetConfig, script: &[(u64, Input, Option<Spend>)]) {
        let mut budget = RetryBudget::new(&config);
        for (step, &(ms, input, expected)) in script.iter().enumerate() {
            let now = Instant(ms * MS);
            let got = match input {
                Input::Deposit => {
                    budget.deposit(now);
                    None
                }
                Input::Withdraw => Some(budget.withdraw(now)),
            };
            assert_eq!(
                got, expected,
                "step {step} at {ms}ms: {input:?} in {budget:?}"
            );
        }
    }

    fn config(ratio: f64, min_per_sec: u32, ttl_secs: u64) -> BudgetConfig {
        BudgetConfig {
            ratio,
            min_per_sec,
            ttl: Duration::from_secs(ttl_secs),
        }
    }

    use Input::{Deposit as D, Withdraw as W};
    const OK: Option<Spend> = Some(Spend::Granted);
    const NO: Option<Spend> = Some(Spend::Denied);

    #[test]
    fn empty_budget_denies() {
        check(
            config(0.0, 0, 1),
            &[(0, D, None), (0, W, NO), (5000, W, NO)],
        );
    }

    #[test]
    fn reserve_allows_min_per_sec_times_ttl() {
        // 5 per second over 2 s: 10 retries with no calls at all, then none.
        let mut script: Vec<_> = (0..10).map(|_| (0, W, OK)).collect();
        script.push((0, W, NO));
        // The withdrawals are remembered for the whole ttl ...
        script.push((1900, W, NO));
        // ... and forgotten after it: the reserve is whole again.
        script.extend((0..10).map(|_| (4100, W, OK)));
        script.push((4100, W, NO));
        check(config(1.0, 5, 2), &script);
    }

    #[test]
    fn ratio_allows_one_retry_per_five_calls() {
        let mut script = vec![];
        for _ in 0..5 {
            script.push((10, D, None));
        }
        script.extend([(20, W, OK), (20, W, NO)]);
        script.extend((0..4).map(|_| (30, D, None)));
        script.push((30, W, NO)); // 4.9 calls' worth is not enough
        script.extend([(30, D, None), (30, W, OK), (30, W, NO)]);
        check(config(0.2, 0, 1), &script);
    }

    #[test]
    fn slots_expire_after_ttl_like_tower() {
        // tower's `tps_slots` test, ratio 0.5 over 1 s: two deposits per retry.
        check(
            config(0.5, 0, 1),
            &[
                (0, D, None),
                (0, D, None),
                (901, W, OK), // 900 ms later the deposits are still valid
                (2902, D, None),
                (3203, D, None),
                (4004, D, None),
                // The first of the last three is gone, the other two remain.
                (4004, W, OK),
                (4004, W, NO),
            ],
        );
        // tower's `tps_leaky`: a deposit is gone after 3 s.
        check(config(1.0, 0, 1), &[(0, D, None), (3000, W, NO)]);
    }

    #[test]
    fn amounts_are_scaled_by_a_thousand() {
        let b = RetryBudget::new(&config(0.3, 0, 1));
        assert_eq!((b.deposit_amount, b.withdraw_amount), (1000, 3333));
        let b = RetryBudget::new(&config(2.0, 3, 10));
        assert_eq!((b.deposit_amount, b.withdraw_amount), (1000, 500));
        assert_eq!(b.retries_available(), 30);
        let b = RetryBudget::new(&config(0.0, 3, 10));
        assert_eq!((b.deposit_amount, b.withdraw_amount, b.reserve), (0, 1, 30));
    }

    #[test]
    fn long_gaps_zero_every_slot() {
        let mut b = RetryBudget::new(&config(1.0, 0, 1));
        for ms in 0..1000 {
            b.deposit(Instant(ms * MS));
        }
        assert_eq!(b.withdraw(Instant(3_600_000 * MS)), Spend::Denied);
        assert_eq!(b.slots, [0; SLOTS]);
    }

    #[test]
    fn validation_names_the_key() {
        let bad = |c: BudgetConfig| c.validate().unwrap_err().key;
        assert_eq!(BudgetConfig::default().validate(), Ok(()));
        assert_eq!(bad(config(-0.1, 10, 10)), "ratio");
        assert_eq!(bad(config(f64::NAN, 10, 10)), "ratio");
        assert_eq!(bad(config(0.2, 10, 61)), "ttl");
        assert_eq!(bad(config(0.2, 10, 0)), "ttl");
        let c: BudgetConfig = toml::from_str("ratio = 0.5\nttl = \"5s\"").unwrap();
        assert_eq!(c, config(0.5, 10, 5));
        assert!(toml::from_str::<BudgetConfig>("percent = 0.5").is_err());
    }

    proptest! {
        /// Under 100% failure, with every call retrying until the budget says no, the
        /// retries of a run never exceed `ratio` of its calls plus the reserve once per
        /// nine slots (a withdrawal is remembered for at least nine slots).
        #[test]
        fn retries_stay_within_ratio_plus_reserve(
            ratio in 0.0f64..1.0,
            min_per_sec in 0u32..20,
            ttl_secs in 1u64..12,
            gaps_us in proptest::collection::vec(0u64..300_000, 1..3000),
        ) {
            let c = config(ratio, min_per_sec, ttl_secs);
            let mut budget = RetryBudget::new(&c);
            let (mut now, mut calls, mut retries) = (0u64, 0u64, 0u64);
            for gap in gaps_us {
                now += gap * 1000;
                calls += 1;
                budget.deposit(Instant(now));
                while budget.withdraw(Instant(now)) == Spend::Granted {
                    retries += 1;
                    prop_assert!(retries <= 1_000_000, "unbounded");
                }
            }
            let per_call = if ratio == 0.0 { 0.0 } else { 1000.0 / budget.withdraw_amount as f64 };
            let window = (ttl_secs * 1_000_000_000 / 10) as f64;
            let renewals = 1.0 + (now as f64 / (9.0 * window)).floor();
            let reserve = (min_per_sec as u64 * ttl_secs) as f64;
            let bound = per_call * calls as f64 + reserve * renewals;
            prop_assert!(
                retries as f64 <= bound + 1e-9,
                "{retries} retries for {calls} calls over {now}ns, bound {bound}"
            );
            // With the ratio alone, attempts per call stay <= 1 + ratio.
            if min_per_sec == 0 {
                prop_assert!(retries as f64 <= per_call * calls as f64 + 1e-9);
            }
        }
    }
}

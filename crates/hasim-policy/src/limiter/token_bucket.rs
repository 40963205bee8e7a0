//! A token bucket on exact integer arithmetic.

use super::LimitDecision;
use crate::time::Instant;

/// Units of one token: a token is `10^12` units and one nanosecond adds
/// `rate * 1000` units, so refill is exact to 0.001 tokens per second with no float
/// accumulation (integer nanoseconds times integer milli-tokens per second).
const UNITS_PER_TOKEN: u64 = 1_000_000_000_000;

/// Tokens refill continuously at `rate` per second up to `burst`; each admitted call
/// takes one. Starts full, as Envoy's local rate limit and Go's `x/time/rate` do.
///
/// Call order: `admit(now)` per call; nothing to report afterwards.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Tokens now, in units: `0 <= units <= capacity`.
    units: u64,
    /// `burst * UNITS_PER_TOKEN`.
    capacity: u64,
    /// Units added per nanosecond: `round(rate * 1000)`.
    refill_per_ns: u64,
    /// When `units` was last brought up to date.
    updated: Instant,
    burst: u32,
}

impl TokenBucket {
    /// A full bucket at `now` (parameters validated by `LimiterConfig::validate`).
    pub fn new(rate: f64, burst: u32, now: Instant) -> TokenBucket {
        let capacity = u64::from(burst) * UNITS_PER_TOKEN;
        TokenBucket {
            units: capacity,
            capacity,
            refill_per_ns: ((rate * 1000.0).round() as u64).max(1),
            updated: now,
            burst,
        }
    }

    /// Takes a token if one is there.
    pub fn admit(&mut self, now: Instant) -> LimitDecision {
        self.refill(now);
        if self.units >= UNITS_PER_TOKEN {
            self.units -= UNITS_PER_TOKEN;
            LimitDecision::Allow
        } else {
            LimitDecision::Reject
        }
    }

    /// The bucket size.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Whole tokens as of the last `admit` (for reports and tests).
    pub fn tokens(&self) -> u64 {
        self.units / UNITS_PER_TOKEN
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.as_nanos().saturating_sub(self.updated.as_nanos());
        let added = elapsed.saturating_mul(self.refill_per_ns);
        self.units = self.units.saturating_add(added).min(self.capacity);
        self.updated = self.updated.max(now);
    }
}

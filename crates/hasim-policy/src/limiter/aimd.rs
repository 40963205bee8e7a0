//! Additive-increase, multiplicative-decrease concurrency cap (Netflix
//! concurrency-limits `AIMDLimit` behind a `SimpleLimiter`).

use std::time::Duration;

use super::LimitDecision;
use crate::{FailureKind, Outcome};

/// An in-flight cap that adapts to drops.
///
/// On each completed call or attempt, with `in_flight` counted before it is released:
/// - a drop sets `cap = max(min, floor(cap * backoff_ratio))`. Drops are `timeout` and
///   `rejected` failures (the downstream is overloaded or not answering) and successes
///   slower than `timeout` when it is set;
/// - a success with `2 * in_flight >= cap` sets `cap = min(max, cap + 1)`: the cap grows
///   only while it is actually used;
/// - `error` and `refused` failures teach nothing (Netflix `onIgnore`): an application
///   error or a dead server says nothing about congestion, and breakers or health
///   checks handle dead servers.
///
/// Netflix samples the in-flight count when the request starts (it keeps a listener per
/// request); the limiter API has no per-request handle, so the count at completion is
/// used. The cap is an integer and the product is an `f64` rounded down, as in Java.
///
/// Call order: `admit` before each, then exactly one `on_complete` or `on_cancel`.
#[derive(Clone, Debug)]
pub struct Aimd {
    /// The current cap: as configured until the first sample (Netflix keeps
    /// `initialLimit` as given), then `min <= cap <= max`.
    cap: u32,
    min: u32,
    max: u32,
    backoff_ratio: f64,
    timeout: Option<Duration>,
    in_flight: u32,
}

impl Aimd {
    /// A cap of `initial` (kept as given, even outside `[min, max]`, until the first
    /// sample clamps it, as Netflix does) with nothing in flight (parameters validated by
    /// `LimiterConfig::validate`).
    pub fn new(
        initial: u32,
        min: u32,
        max: u32,
        backoff_ratio: f64,
        timeout: Option<Duration>,
    ) -> Aimd {
        Aimd {
            cap: initial,
            min,
            max,
            backoff_ratio,
            timeout,
            in_flight: 0,
        }
    }

    /// Admits while fewer than `cap` are in flight (Netflix `SimpleLimiter`).
    pub fn admit(&mut self) -> LimitDecision {
        if self.in_flight < self.cap {
            self.in_flight += 1;
            LimitDecision::Allow
        } else {
            LimitDecision::Reject
        }
    }

    /// An admitted one ended with `outcome` after `latency`: adapt the cap, free a slot.
    pub fn on_complete(&mut self, outcome: Outcome, latency: Duration) {
        let in_flight = self.in_flight;
        self.release();
        let slow = self.timeout.is_some_and(|t| latency > t);
        match outcome {
            Outcome::Failure(FailureKind::Timeout | FailureKind::Rejected) => self.decrease(),
            Outcome::Success if slow => self.decrease(),
            Outcome::Success if 2 * u64::from(in_flight) >= u64::from(self.cap) => {
                self.cap = (self.cap + 1).clamp(self.min, self.max);
            }
            // Netflix clamps on every sample, even one that leaves the limit alone.
            Outcome::Success => self.cap = self.cap.clamp(self.min, self.max),
            Outcome::Failure(FailureKind::Error | FailureKind::Refused) => {}
        }
    }

    /// An admitted one was abandoned: free its slot, leave the cap alone.
    pub fn on_cancel(&mut self) {
        self.release();
    }

    /// The current cap.
    pub fn limit(&self) -> u32 {
        self.cap
    }

    /// Admitted and unfinished now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    fn decrease(&mut self) {
        let reduced = (f64::from(self.cap) * self.backoff_ratio).floor() as u32;
        self.cap = reduced.clamp(self.min, self.max);
    }

    fn release(&mut self) {
        debug_assert!(self.in_flight > 0, "every completion matches an Allow");
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

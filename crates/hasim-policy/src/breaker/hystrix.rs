//! Hystrix's trip rule: a rolling window of 500 ms buckets, checked only at bucket
//! boundaries (HystrixCircuitBreaker subscribes to a health stream that emits once per
//! bucket).
//!
//! At the boundary at time `b x 500ms` the window is the `n` buckets just finished,
//! `[b - n, b - 1]` (`n = 2 x window_size` seconds): a call at exactly the boundary
//! belongs to the next check. The breaker trips when the window holds at least
//! `request_volume` calls and `100 x errors / calls` (integer division, like Hystrix's
//! integer percent) is at least `error_percent`.
//!
//! Boundaries need a timer, but only while a check could trip: with fewer than
//! `request_volume` calls in the window, no later boundary can trip without a new call
//! (the window only loses calls as time passes), so no wake-up is asked for.

use super::window::{BucketWindow, Sample, Tally};
use crate::time::{nanos, Instant};

use super::config::HYSTRIX_BUCKET;

/// The rolling window and the boundary checks.
#[derive(Clone, Debug)]
pub(crate) struct HystrixWindow {
    buckets: BucketWindow,
    /// Every boundary up to `current x width` has been checked.
    current: u64,
    request_volume: u32,
    error_percent: u32,
}

fn bucket_of(now: Instant) -> u64 {
    now.as_nanos() / nanos(HYSTRIX_BUCKET)
}

fn boundary(bucket: u64) -> Instant {
    Instant(bucket.saturating_mul(nanos(HYSTRIX_BUCKET)))
}

impl HystrixWindow {
    pub fn new(size_s: u32, request_volume: u32, error_percent: u32) -> HystrixWindow {
        HystrixWindow {
            buckets: BucketWindow::new(size_s.saturating_mul(2)),
            current: 0,
            request_volume,
            error_percent,
        }
    }

    /// Runs the checks of every boundary in `(last input, now]`; returns the boundary
    /// at which the breaker trips, if one does. Call before recording anything at `now`.
    pub fn catch_up(&mut self, now: Instant) -> Option<Instant> {
        let target = bucket_of(now);
        while self.current < target {
            if self.buckets.tally().calls < u64::from(self.request_volume) {
                self.current = target;
                break;
            }
            self.current += 1;
            self.buckets.advance_to(self.current - 1);
            if self.trips() {
                return Some(boundary(self.current));
            }
        }
        None
    }

    fn trips(&self) -> bool {
        let t = self.buckets.tally();
        t.calls >= u64::from(self.request_volume)
            && t.failures * 100 / t.calls >= u64::from(self.error_percent)
    }

    /// Records an outcome at `now` (after [`HystrixWindow::catch_up`] to `now`).
    pub fn record(&mut self, now: Instant, s: Sample) {
        debug_assert_eq!(self.current, bucket_of(now), "catch_up first");
        self.buckets.record(bucket_of(now), s);
    }

    /// The rolling window's totals at `now` (the bucket of `now` included).
    pub fn tally_at(&self, now: Instant) -> Tally {
        self.buckets.tally_at(bucket_of(now))
    }

    /// Calls needed before the error percent is compared.
    pub fn request_volume(&self) -> u32 {
        self.request_volume
    }

    /// The next boundary whose check could trip, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        (self.buckets.tally().calls >= u64::from(self.request_volume))
            .then(|| boundary(self.current + 1))
    }

    /// Empties the window (on closing: Hystrix resets its stream); checks start again
    /// from `now`.
    pub fn reset(&mut self, now: Instant) {
        self.buckets.clear();
        self.current = self.current.max(bucket_of(now));
    }
}

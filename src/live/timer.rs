//! Timer waits that are right on average.
//!
//! tokio's timer has a resolution of one millisecond and fires at the first tick at or
//! after the deadline, so a plain `sleep_until` is late by about 0.5-1 ms on average:
//! for a service time of a few milliseconds that is +15% or more, enough to push a
//! server at 80% utilization into saturation. A [`Compensator`] learns the average
//! lateness of its own waits and aims that much earlier, so the mean wait matches the
//! mean asked for (single waits still scatter by about a millisecond; see the README,
//! "Simulated vs real").

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::clock::Clock;
use crate::time::Instant;

/// The most a wait is moved earlier.
const MAX_LEAD_NS: i64 = 2_000_000;

/// A running estimate of how late waits end, shared by every wait of one kind.
#[derive(Debug, Default)]
pub struct Compensator {
    /// How much earlier than the deadline to wake, ns.
    lead_ns: AtomicI64,
}

impl Compensator {
    /// A compensator that starts with no lead.
    pub const fn new() -> Compensator {
        Compensator {
            lead_ns: AtomicI64::new(0),
        }
    }

    /// Waits until about `at` (nothing if `at` has passed).
    pub async fn sleep_until(&self, clock: &Clock, at: Instant) {
        let lead = self.lead_ns.load(Ordering::Relaxed);
        let aim = at.as_nanos().saturating_sub(lead.max(0) as u64);
        tokio::time::sleep_until(clock.wall(Instant(aim))).await;
        let late = clock.now().as_nanos() as i64 - at.as_nanos() as i64;
        // Exponential average of the error with weight 1/16: moves the lead until
        // the waits end on time on average.
        let next = (lead + late / 16).clamp(0, MAX_LEAD_NS);
        self.lead_ns.store(next, Ordering::Relaxed);
    }

    /// Waits about `d` from now.
    pub async fn sleep(&self, clock: &Clock, d: Duration) {
        if !d.is_zero() {
            self.sleep_until(clock, clock.now().after(d)).await;
        }
    }
}

/// The waits of service times (every server shares it: they run on the same timer).
pub static SERVICE: Compensator = Compensator::new();
/// The waits of network delays in the client's transport.
pub static NETWORK: Compensator = Compensator::new();

//! tokio time to the stack's integer nanoseconds.
//!
//! The stack's `Instant` counts nanoseconds since an origin the driver picks: here the
//! service's creation. tokio's clock (not `std`'s) is read, so a runtime with paused
//! time (`#[tokio::test(start_paused = true)]`) runs the stack in virtual time.

use std::time::Duration;

use hasim_policy::time::{nanos, Instant};

/// Far enough in the future to stand for "never" without overflowing tokio's clock.
const NEVER: Duration = Duration::from_secs(30 * 365 * 86_400);

/// The mapping between tokio instants and stack instants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub(crate) fn start() -> Clock {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The stack's `now`.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(nanos(
            tokio::time::Instant::now().duration_since(self.origin),
        ))
    }

    /// The tokio instant at which a stack timer for `at` is due.
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.origin
            .checked_add(Duration::from_nanos(at.as_nanos()))
            .filter(|_| at.as_nanos() < nanos(NEVER))
            .unwrap_or(self.origin + NEVER)
    }
}

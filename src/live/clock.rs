//! Wall time as simulated-time instants.
//!
//! A live run measures with the same [`Recorder`](crate::metrics::Recorder) as the
//! simulator, which counts time as nanoseconds since the start of the run. The clock
//! maps `tokio::time::Instant` (monotonic) onto that scale: the run starts at
//! [`Instant::ZERO`] when the servers are listening and the clients begin.

use std::time::Duration;

use crate::time::Instant;

/// The run's origin on the monotonic clock.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Clock {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// Now, as an instant of the run.
    pub fn now(&self) -> Instant {
        let ns = self.origin.elapsed().as_nanos();
        Instant(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// The wall-clock moment of the run's instant `at`.
    pub fn wall(&self, at: Instant) -> tokio::time::Instant {
        self.origin + Duration::from_nanos(at.as_nanos())
    }
}

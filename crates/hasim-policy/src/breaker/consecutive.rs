//! Finagle failure accrual's trip rule: a run of consecutive failures.

use super::window::Sample;

/// Counts the current run of failures; a success ends the run.
#[derive(Clone, Debug)]
pub(crate) struct ConsecutiveFailures {
    run: u32,
    threshold: u32,
}

impl ConsecutiveFailures {
    pub fn new(threshold: u32) -> ConsecutiveFailures {
        ConsecutiveFailures { run: 0, threshold }
    }

    /// Records an outcome; true when the run reaches the threshold. Slowness does not
    /// matter here.
    pub fn record(&mut self, s: Sample) -> bool {
        self.run = if s.failed { self.run + 1 } else { 0 };
        self.run >= self.threshold
    }

    /// Failures in the current run.
    pub fn run(&self) -> u32 {
        self.run
    }

    /// Forgets the run (on closing).
    pub fn reset(&mut self) {
        self.run = 0;
    }
}

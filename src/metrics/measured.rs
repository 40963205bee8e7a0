//! The measured interval: the one definition of "is this measured?" and of "how much
//! of this span was measured?".
//!
//! A call is measured if it *starts* in `[start, end)` (SCENARIO.md, "Definitions");
//! a server's counters count what *happens* in it (an arrival, the end of a service);
//! busy and up times count the part of a span that falls in it. Every one of those
//! tests goes through [`Measured`], so the recorder, the simulator and `hasim live`
//! cannot disagree about an edge.

use crate::time::Instant;

/// The half-open measured interval `[start, end)` of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured {
    /// The end of the warmup.
    pub start: Instant,
    /// The end of the measured interval, exclusive (the drain follows).
    pub end: Instant,
}

impl Measured {
    /// The interval `[start, end)`.
    #[inline]
    pub fn new(start: Instant, end: Instant) -> Measured {
        Measured { start, end }
    }

    /// True if `t` is inside the interval: a call starting at `t` is measured, an
    /// arrival or end of service at `t` is counted.
    #[inline]
    pub fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }

    /// Nanoseconds of the span `[a, b)` that fall inside the interval (0 if none).
    #[inline]
    pub fn overlap_ns(&self, a: Instant, b: Instant) -> u64 {
        let start = a.max(self.start).as_nanos();
        let end = b.min(self.end).as_nanos();
        end.saturating_sub(start)
    }

    /// Seconds from the start of the interval to `t` (0 before it), as the CSV files
    /// write times.
    pub fn secs(&self, t: Instant) -> f64 {
        t.since(self.start).as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Measured = Measured {
        start: Instant(10),
        end: Instant(20),
    };

    #[test]
    fn contains_is_half_open() {
        assert!(!M.contains(Instant(9)));
        assert!(M.contains(Instant(10)));
        assert!(M.contains(Instant(19)));
        assert!(!M.contains(Instant(20)));
    }

    #[test]
    fn overlap_clips_to_the_interval() {
        assert_eq!(M.overlap_ns(Instant(0), Instant(5)), 0, "before");
        assert_eq!(M.overlap_ns(Instant(5), Instant(15)), 5, "across the start");
        assert_eq!(M.overlap_ns(Instant(12), Instant(14)), 2, "inside");
        assert_eq!(M.overlap_ns(Instant(15), Instant::MAX), 5, "past the end");
        assert_eq!(M.overlap_ns(Instant(25), Instant(30)), 0, "after");
        assert_eq!(M.overlap_ns(Instant(14), Instant(12)), 0, "empty span");
    }
}

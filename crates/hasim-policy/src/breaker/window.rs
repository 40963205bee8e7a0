//! Sliding windows of call outcomes: ring buffers sized once, at construction.
//!
//! Recording an outcome never allocates: a count window overwrites its oldest slot,
//! a bucket window reuses the slot of a bucket that has left the window. Totals are
//! kept incrementally, so reading a rate is O(1).

/// One outcome as a window sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sample {
    /// The outcome counts as a failure (its kind is in `on`).
    pub failed: bool,
    /// The call took strictly longer than `slow_call_duration`.
    pub slow: bool,
}

/// Counts of calls, failed calls and slow calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// u64: a day-long time window at 50k calls/s holds more than `u32::MAX` calls.
    pub calls: u64,
    pub failures: u64,
    pub slow: u64,
}

impl Tally {
    pub fn add(&mut self, s: Sample) {
        self.calls += 1;
        self.failures += u64::from(s.failed);
        self.slow += u64::from(s.slow);
    }

    fn sub(&mut self, other: Tally) {
        debug_assert!(self.calls >= other.calls && self.failures >= other.failures);
        self.calls -= other.calls;
        self.failures -= other.failures;
        self.slow -= other.slow;
    }

    /// resilience4j's test: with at least `minimum` calls, is either rate at or above
    /// its threshold (inclusive)?
    pub fn exceeds(&self, minimum: u32, failure_rate: f64, slow_call_rate: f64) -> bool {
        if self.calls < u64::from(minimum) || self.calls == 0 {
            return false;
        }
        let calls = self.calls as f64;
        self.failures as f64 / calls >= failure_rate || self.slow as f64 / calls >= slow_call_rate
    }
}

/// Counts of the trial calls of a HALF_OPEN (never `u32::MAX` of them): half a
/// [`Tally`], which matters when a client keeps one breaker per endpoint of a large
/// fleet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SmallTally {
    pub calls: u32,
    pub failures: u32,
    pub slow: u32,
}

impl SmallTally {
    pub fn add(&mut self, s: Sample) {
        self.calls += 1;
        self.failures += u32::from(s.failed);
        self.slow += u32::from(s.slow);
    }

    /// The same counts as a [`Tally`], for its rules.
    pub fn widen(self) -> Tally {
        Tally {
            calls: u64::from(self.calls),
            failures: u64::from(self.failures),
            slow: u64::from(self.slow),
        }
    }
}

/// The last `size <= 64` outcomes (resilience4j COUNT_BASED; its default is 100,
/// most configs use less), one bit per outcome and flag, inline.
///
/// A client keeps one breaker per endpoint, so at fleet scale (100 instances x 1,000
/// endpoints) these windows are 100,000 ring buffers touched at random. This one is
/// 24 bytes with no pointer, so recording an outcome touches no memory outside the
/// breaker, and the breaker's hot part fits one cache line. Its length lives in the
/// breaker's shared rules, not here. The counts are the bits' population counts, so
/// they are never kept apart from the bits.
#[derive(Clone, Debug, Default)]
pub(crate) struct SmallCountWindow {
    /// Slot `i` is bit `i`: the outcome failed.
    failed: u64,
    /// Slot `i` is bit `i`: the outcome was slow.
    slow: u64,
    /// Where the next outcome goes (the oldest one once the ring is full).
    next: u8,
    /// Every slot holds an outcome (the ring has wrapped).
    full: bool,
}

impl SmallCountWindow {
    /// The longest window kept inline.
    pub const MAX: u32 = 64;

    /// Records `s` in a window of `size` (at most [`Self::MAX`]) outcomes.
    #[inline]
    pub fn record(&mut self, size: u32, s: Sample) {
        debug_assert!((1..=Self::MAX).contains(&size));
        let mask = 1u64 << self.next;
        self.failed = (self.failed & !mask) | if s.failed { mask } else { 0 };
        self.slow = (self.slow & !mask) | if s.slow { mask } else { 0 };
        if u32::from(self.next) + 1 >= size {
            self.next = 0;
            self.full = true;
        } else {
            self.next += 1;
        }
    }

    /// What a window of `size` outcomes holds (slots not yet written are zero).
    #[inline]
    pub fn tally(&self, size: u32) -> Tally {
        Tally {
            calls: if self.full {
                u64::from(size)
            } else {
                u64::from(self.next)
            },
            failures: self.failed.count_ones().into(),
            slow: self.slow.count_ones().into(),
        }
    }

    pub fn clear(&mut self) {
        *self = SmallCountWindow::default();
    }
}

/// The last `size` outcomes for windows longer than [`SmallCountWindow::MAX`]: the
/// same bits, in a boxed slice.
#[derive(Clone, Debug)]
pub(crate) struct CountWindow {
    /// Slot `i` is bit `i % 64` of words `2 (i / 64)` (failed) and `2 (i / 64) + 1`
    /// (slow).
    words: Box<[u64]>,
    /// The window's length.
    size: u32,
    /// Outcomes held (up to `size`).
    len: u32,
    /// Where the next outcome goes (the oldest one once the ring is full).
    next: u32,
}

impl CountWindow {
    pub fn new(size: u32) -> CountWindow {
        let size = size.max(1);
        CountWindow {
            words: vec![0; 2 * size.div_ceil(64) as usize].into_boxed_slice(),
            size,
            len: 0,
            next: 0,
        }
    }

    pub fn record(&mut self, s: Sample) {
        let slot = self.next;
        let mask = 1u64 << (slot % 64);
        let (failed, slow) = self.words[2 * (slot / 64) as usize..].split_at_mut(1);
        failed[0] = (failed[0] & !mask) | if s.failed { mask } else { 0 };
        slow[0] = (slow[0] & !mask) | if s.slow { mask } else { 0 };
        self.len = (self.len + 1).min(self.size);
        self.next = if self.next + 1 == self.size {
            0
        } else {
            self.next + 1
        };
    }

    pub fn tally(&self) -> Tally {
        let (failures, slow) = self.words.chunks_exact(2).fold((0, 0), |(f, s), pair| {
            (
                f + u64::from(pair[0].count_ones()),
                s + u64::from(pair[1].count_ones()),
            )
        });
        Tally {
            calls: u64::from(self.len),
            failures,
            slow,
        }
    }

    pub fn clear(&mut self) {
        self.words.fill(0);
        self.len = 0;
        self.next = 0;
    }
}

/// The outcomes of the last `n` buckets of equal width (resilience4j TIME_BASED with
/// 1 s buckets, Hystrix's 500 ms buckets). Bucket `b` covers
/// `[b x width, (b + 1) x width)` of time, so buckets align to whole multiples of the
/// width, never to the first call.
#[derive(Clone, Debug)]
pub(crate) struct BucketWindow {
    /// Slot `b % n` holds bucket `b` (or an older one, not yet reset).
    slots: Vec<Tally>,
    /// The newest bucket the window has moved to.
    head: u64,
    tally: Tally,
}

impl BucketWindow {
    pub fn new(buckets: u32) -> BucketWindow {
        BucketWindow {
            slots: vec![Tally::default(); buckets.max(1) as usize],
            head: 0,
            tally: Tally::default(),
        }
    }

    /// Moves the window so `bucket` is its newest: buckets older than
    /// `bucket - n + 1` leave it. O(buckets moved), at most O(n).
    pub fn advance_to(&mut self, bucket: u64) {
        if bucket <= self.head {
            return;
        }
        let n = self.slots.len() as u64;
        let steps = (bucket - self.head).min(n);
        for k in 0..steps {
            let slot = &mut self.slots[((bucket - k) % n) as usize];
            self.tally.sub(*slot);
            *slot = Tally::default();
        }
        self.head = bucket;
    }

    /// Records `s` in `bucket`, which must not be older than the newest bucket.
    pub fn record(&mut self, bucket: u64, s: Sample) {
        debug_assert!(bucket >= self.head, "time went backwards");
        let bucket = bucket.max(self.head);
        self.advance_to(bucket);
        let n = self.slots.len() as u64;
        self.slots[(bucket % n) as usize].add(s);
        self.tally.add(s);
    }

    /// Totals over the buckets in the window, as of the newest bucket moved to.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// Totals over the window as it would be with `bucket` its newest, without moving
    /// it (an inspection must not change what the next outcome sees). O(buckets).
    pub fn tally_at(&self, bucket: u64) -> Tally {
        let mut t = self.tally;
        if bucket > self.head {
            let n = self.slots.len() as u64;
            for k in 0..(bucket - self.head).min(n) {
                t.sub(self.slots[((bucket - k) % n) as usize]);
            }
        }
        t
    }

    pub fn clear(&mut self) {
        self.slots.fill(Tally::default());
        self.tally = Tally::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Sample = Sample {
        failed: false,
        slow: false,
    };
    const FAIL: Sample = Sample {
        failed: true,
        slow: false,
    };
    const SLOW_FAIL: Sample = Sample {
        failed: true,
        slow: true,
    };

    #[test]
    fn count_window_forgets_the_oldest() {
        let mut w = SmallCountWindow::default();
        for s in [FAIL, SLOW_FAIL, OK] {
            w.record(3, s);
        }
        assert_eq!(
            w.tally(3),
            Tally {
                calls: 3,
                failures: 2,
                slow: 1
            }
        );
        w.record(3, OK); // FAIL leaves
        assert_eq!(
            w.tally(3),
            Tally {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        w.record(3, OK); // SLOW_FAIL leaves
        assert_eq!(w.tally(3).failures + w.tally(3).slow, 0);
        w.clear();
        assert_eq!(w.tally(3), Tally::default());
        w.record(3, FAIL);
        assert_eq!(w.tally(3).calls, 1);
    }

    /// Inline windows of every length from 1 to 64 hold exactly the last `size`
    /// outcomes, as a queue does.
    #[test]
    fn small_count_windows_match_a_queue() {
        let sample = |i: u32| Sample {
            failed: i % 3 == 0,
            slow: i % 7 < 2,
        };
        for size in 1..=SmallCountWindow::MAX {
            let mut w = SmallCountWindow::default();
            let mut reference = std::collections::VecDeque::new();
            for i in 0..3 * size + 5 {
                w.record(size, sample(i));
                reference.push_back(sample(i));
                if reference.len() > size as usize {
                    reference.pop_front();
                }
                let expected = reference.iter().fold(Tally::default(), |mut t, &s| {
                    t.add(s);
                    t
                });
                assert_eq!(w.tally(size), expected, "size {size}, after {i}");
            }
        }
    }

    /// Windows past 64 calls keep their bits in a boxed slice: the ring forgets the
    /// oldest outcome across word boundaries exactly as an inline one does.
    #[test]
    fn a_large_count_window_forgets_the_oldest_across_words() {
        let size = 130;
        let mut w = CountWindow::new(size);
        let sample = |i: u32| Sample {
            failed: i % 3 == 0,
            slow: i % 5 == 0,
        };
        let mut reference = std::collections::VecDeque::new();
        for i in 0..1_000u32 {
            w.record(sample(i));
            reference.push_back(sample(i));
            if reference.len() > size as usize {
                reference.pop_front();
            }
            let expected = reference.iter().fold(Tally::default(), |mut t, &s| {
                t.add(s);
                t
            });
            assert_eq!(w.tally(), expected, "after {i}");
        }
        w.clear();
        w.record(FAIL);
        assert_eq!(w.tally().failures, 1);
        assert_eq!(w.tally().calls, 1);
    }

    #[test]
    fn bucket_window_counts_a_bucket_for_n_buckets() {
        let mut w = BucketWindow::new(3);
        w.record(5, FAIL);
        w.record(6, OK);
        w.advance_to(7);
        assert_eq!(w.tally().calls, 2);
        w.advance_to(8); // bucket 5 leaves: 8 >= 5 + 3
        assert_eq!(
            w.tally(),
            Tally {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        w.advance_to(1_000);
        assert_eq!(w.tally(), Tally::default());
        w.record(1_000, SLOW_FAIL);
        assert_eq!(w.tally().slow, 1);
    }

    #[test]
    fn exceeds_is_inclusive_and_needs_the_minimum() {
        let t = Tally {
            calls: 4,
            failures: 2,
            slow: 4,
        };
        assert!(t.exceeds(4, 0.5, 1.1));
        assert!(!t.exceeds(5, 0.5, 1.0));
        assert!(!t.exceeds(4, 0.51, 1.01));
        assert!(t.exceeds(4, 0.9, 1.0));
        assert!(!Tally::default().exceeds(0, 0.1, 0.1));
    }
}

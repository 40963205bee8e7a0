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

/// The last `size` outcomes (resilience4j COUNT_BASED), one bit per outcome and flag.
///
/// A client keeps one breaker per endpoint, so at fleet scale (100 instances x 1,000
/// endpoints) these windows are 100,000 ring buffers touched at random. Windows of up
/// to 64 calls (resilience4j's default is 100, most configs use less) keep their bits
/// inline, so recording an outcome touches no memory outside the breaker itself; larger
/// ones keep them in one boxed slice. The counts are the bits' population counts, so
/// they are never kept apart from the bits.
#[derive(Clone, Debug)]
pub(crate) struct CountWindow {
    bits: Bits,
    /// The window's length.
    size: u32,
    /// Outcomes held (up to `size`).
    len: u32,
    /// Where the next outcome goes (the oldest one once the ring is full).
    next: u32,
}

/// The `failed` and `slow` flags of each slot of a count window.
#[derive(Clone, Debug)]
enum Bits {
    /// Slot `i` is bit `i` of each word (windows of up to 64 calls).
    Inline { failed: u64, slow: u64 },
    /// Slot `i` is bit `i % 64` of words `2 (i / 64)` (failed) and `2 (i / 64) + 1`
    /// (slow).
    Boxed(Box<[u64]>),
}

impl Bits {
    fn new(size: u32) -> Bits {
        if size <= 64 {
            Bits::Inline { failed: 0, slow: 0 }
        } else {
            Bits::Boxed(vec![0; 2 * size.div_ceil(64) as usize].into_boxed_slice())
        }
    }

    #[inline]
    fn words(&mut self, slot: u32) -> (&mut u64, &mut u64, u64) {
        let mask = 1u64 << (slot % 64);
        match self {
            Bits::Inline { failed, slow } => (failed, slow, mask),
            Bits::Boxed(words) => {
                let (failed, slow) = words[2 * (slot / 64) as usize..].split_at_mut(1);
                (&mut failed[0], &mut slow[0], mask)
            }
        }
    }

    /// Stores `s` in `slot`.
    #[inline]
    fn set(&mut self, slot: u32, s: Sample) {
        let (failed, slow, mask) = self.words(slot);
        *failed = (*failed & !mask) | if s.failed { mask } else { 0 };
        *slow = (*slow & !mask) | if s.slow { mask } else { 0 };
    }

    /// Failed and slow outcomes held (slots not yet written are zero).
    fn counts(&self) -> (u64, u64) {
        match self {
            Bits::Inline { failed, slow } => (failed.count_ones().into(), slow.count_ones().into()),
            Bits::Boxed(words) => words.chunks_exact(2).fold((0, 0), |(f, s), pair| {
                (
                    f + u64::from(pair[0].count_ones()),
                    s + u64::from(pair[1].count_ones()),
                )
            }),
        }
    }

    fn clear(&mut self) {
        match self {
            Bits::Inline { failed, slow } => (*failed, *slow) = (0, 0),
            Bits::Boxed(words) => words.fill(0),
        }
    }
}

impl CountWindow {
    pub fn new(size: u32) -> CountWindow {
        let size = size.max(1);
        CountWindow {
            bits: Bits::new(size),
            size,
            len: 0,
            next: 0,
        }
    }

    pub fn record(&mut self, s: Sample) {
        self.bits.set(self.next, s);
        self.len = (self.len + 1).min(self.size);
        self.next = if self.next + 1 == self.size {
            0
        } else {
            self.next + 1
        };
    }

    pub fn tally(&self) -> Tally {
        let (failures, slow) = self.bits.counts();
        Tally {
            calls: u64::from(self.len),
            failures,
            slow,
        }
    }

    pub fn clear(&mut self) {
        self.bits.clear();
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
        let mut w = CountWindow::new(3);
        for s in [FAIL, SLOW_FAIL, OK] {
            w.record(s);
        }
        assert_eq!(
            w.tally(),
            Tally {
                calls: 3,
                failures: 2,
                slow: 1
            }
        );
        w.record(OK); // FAIL leaves
        assert_eq!(
            w.tally(),
            Tally {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        w.record(OK); // SLOW_FAIL leaves
        assert_eq!(w.tally().failures + w.tally().slow, 0);
        w.clear();
        assert_eq!(w.tally(), Tally::default());
        w.record(FAIL);
        assert_eq!(w.tally().calls, 1);
    }

    /// Windows past 64 calls keep their bits in a boxed slice: the ring forgets the
    /// oldest outcome across word boundaries exactly as the inline one does.
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

//! A radix heap: the engine's pending-event set (issue 14: a faster pending-event set,
//! measured against the binary heap; see `benches/README.md`).
//!
//! A discrete-event simulation only ever asks for the smallest key, and never
//! schedules before the last key it took (time does not go backwards, and the
//! sequence number in the low bits always grows). A radix heap (Ahuja, Mehlhorn,
//! Orlin and Tarjan, 1990) uses exactly that: an entry waits in the bucket of the
//! highest bit in which its key differs from the last key taken, so a push is one
//! `Vec::push`, and a pop takes the minimum from the lowest non-empty bucket, first
//! spreading that bucket over the buckets below when it is not bucket 0. Each entry moves down a few buckets over its
//! life instead of sifting through `log n` levels of a binary heap on every push and
//! pop, and the buckets are contiguous vectors, which is what matters once a fleet
//! keeps thousands of events pending.
//!
//! Keys must be unique (the engine's `(time, seq)` keys are), so the order entries
//! leave in is fully determined by their keys, as with any correct priority queue.

/// What a radix heap orders by.
pub trait Keyed {
    /// The key; smaller leaves first.
    fn key(&self) -> u128;
}

/// Bucket `0` holds entries whose key equals `last`; bucket `b >= 1` those whose key
/// first differs from `last` in bit `b - 1` (counted from the lowest).
const BUCKETS: usize = 129;

/// A min-priority queue of entries with unique, never-decreasing keys.
#[derive(Debug)]
pub struct RadixHeap<T> {
    /// The last key taken (or found to be the minimum); no entry is below it.
    last: u128,
    buckets: Vec<Vec<T>>,
    /// Bit `b` set while bucket `b` is not empty (bucket 128 is bit 0 of `high`).
    low: u128,
    high: bool,
    len: usize,
    /// The smallest key, once [`RadixHeap::peek_key`] has looked (kept up to date by
    /// pushes; forgotten by pops).
    min: Option<u128>,
    /// Where the entry with key `min` is (bucket, index), valid while `min` is `Some`.
    min_at: (usize, usize),
}

impl<T: Keyed> RadixHeap<T> {
    /// An empty heap whose first key may be anything.
    pub fn new() -> RadixHeap<T> {
        RadixHeap {
            last: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            low: 0,
            high: false,
            len: 0,
            min: None,
            min_at: (0, 0),
        }
    }

    /// Entries held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries the buckets have room for without reallocating.
    pub fn capacity(&self) -> usize {
        self.buckets.iter().map(Vec::capacity).sum()
    }

    #[inline]
    fn bucket_of(&self, key: u128) -> usize {
        (128 - (key ^ self.last).leading_zeros()) as usize
    }

    #[inline]
    fn mark(&mut self, bucket: usize) {
        if bucket < 128 {
            self.low |= 1 << bucket;
        } else {
            self.high = true;
        }
    }

    /// Adds `entry`; its key must not be below the last key popped.
    #[inline]
    pub fn push(&mut self, entry: T) {
        let key = entry.key();
        debug_assert!(key >= self.last, "a radix heap key went backwards");
        let b = self.bucket_of(key);
        if self.min.is_some_and(|m| key < m) {
            self.min = Some(key);
            self.min_at = (b, self.buckets[b].len());
        }
        self.buckets[b].push(entry);
        self.mark(b);
        self.len += 1;
    }

    /// The lowest non-empty bucket, if any.
    #[inline]
    fn first_bucket(&self) -> Option<usize> {
        if self.low != 0 {
            Some(self.low.trailing_zeros() as usize)
        } else if self.high {
            Some(128)
        } else {
            None
        }
    }

    /// The smallest key, if any. It is in the lowest non-empty bucket: every key
    /// there has a 1 where `last` and the keys of lower buckets have a 0.
    #[inline]
    pub fn peek_key(&mut self) -> Option<u128> {
        if self.min.is_none() {
            let b = self.first_bucket()?;
            let (i, key) = if b == 0 {
                (0, self.last)
            } else {
                let keys = self.buckets[b].iter().map(Keyed::key).enumerate();
                keys.min_by_key(|&(_, key)| key)
                    .expect("a marked bucket is not empty")
            };
            (self.min, self.min_at) = (Some(key), (b, i));
        }
        self.min
    }

    /// The entry with the smallest key, if any (the one [`RadixHeap::pop`] takes next).
    #[inline]
    pub fn peek(&mut self) -> Option<&T> {
        self.peek_key()?;
        let (b, i) = self.min_at;
        self.buckets[b].get(i)
    }

    /// Removes and returns the entry with the smallest key. When that entry is not in
    /// bucket 0, `last` becomes its key and its bucket is spread over the buckets
    /// below (every entry there agreed with the old `last` above the bucket's bit, and
    /// the new `last` is one of them).
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let min = self.peek_key()?;
        self.min = None;
        let b = self.first_bucket().expect("peek_key found an entry");
        if b != 0 {
            self.last = min;
            let mut bucket = std::mem::take(&mut self.buckets[b]);
            if b < 128 {
                self.low &= !(1 << b);
            } else {
                self.high = false;
            }
            for entry in bucket.drain(..) {
                let to = self.bucket_of(entry.key());
                self.buckets[to].push(entry);
                self.mark(to);
            }
            self.buckets[b] = bucket; // keep its room for the next entries
        }
        let entry = self.buckets[0].pop().expect("the minimum is in bucket 0");
        debug_assert!(self.buckets[0].is_empty(), "keys are unique");
        self.low &= !1;
        self.len -= 1;
        Some(entry)
    }

    /// Keeps only the entries for which `keep` holds (their order is kept: it is
    /// their keys').
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.min = None;
        self.len = 0;
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            bucket.retain(&mut keep);
            self.len += bucket.len();
            let bit_set = !bucket.is_empty();
            if b < 128 {
                self.low = (self.low & !(1 << b)) | (u128::from(bit_set) << b);
            } else {
                self.high = bit_set;
            }
        }
    }

    /// Gives back memory once the buckets hold much more room than entries, keeping
    /// twice `room` in all.
    pub fn shrink_to(&mut self, room: usize) {
        for bucket in &mut self.buckets {
            bucket.shrink_to((2 * bucket.len()).min(room));
        }
    }
}

impl<T: Keyed> Default for RadixHeap<T> {
    fn default() -> Self {
        RadixHeap::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BinaryHeap;

    impl Keyed for u128 {
        fn key(&self) -> u128 {
            *self
        }
    }

    /// Interleaved pushes and pops, each push at or after the last pop, come out in
    /// the order a binary heap gives, and a peek shows the entry the next pop takes.
    fn same_as_binary_heap(ops: Vec<(bool, u64)>) {
        let mut radix = RadixHeap::<u128>::new();
        let mut binary = BinaryHeap::new();
        let mut now = 0u64;
        let mut seq = 0u64;
        for (push, delta) in ops {
            if push {
                let key = (u128::from(now + delta) << 64) | u128::from(seq);
                seq += 1;
                radix.push(key);
                binary.push(std::cmp::Reverse(key));
            } else {
                let a = radix.pop();
                let b = binary.pop().map(|r| r.0);
                assert_eq!(a, b);
                if let Some(k) = a {
                    now = (k >> 64) as u64;
                }
            }
            assert_eq!(radix.len(), binary.len());
            // Peeking (between any two operations) shows what the next pop takes.
            if delta % 3 == 0 {
                assert_eq!(radix.peek().copied(), binary.peek().map(|r| r.0));
            }
        }
        while let Some(b) = binary.pop() {
            assert_eq!(radix.pop(), Some(b.0));
        }
        assert!(radix.is_empty());
        assert_eq!(radix.pop(), None);
    }

    proptest! {
        #[test]
        fn pops_like_a_binary_heap(ops in proptest::collection::vec((any::<bool>(), 0u64..1_000_000_000), 0..400)) {
            same_as_binary_heap(ops);
        }

        #[test]
        fn pops_like_a_binary_heap_with_ties(ops in proptest::collection::vec((any::<bool>(), 0u64..3), 0..400)) {
            same_as_binary_heap(ops);
        }
    }

    #[test]
    fn far_keys_use_the_top_bucket() {
        let mut h = RadixHeap::<u128>::new();
        h.push(u128::MAX);
        h.push(1);
        h.push(1 << 127);
        assert_eq!(h.pop(), Some(1));
        assert_eq!(h.pop(), Some(1 << 127));
        assert_eq!(h.pop(), Some(u128::MAX));
        assert_eq!(h.pop(), None);
    }

    #[test]
    fn retain_keeps_the_order_of_the_rest() {
        let mut h = RadixHeap::<u128>::new();
        for k in [50u128, 10, 40, 20, 30] {
            h.push(k);
        }
        assert_eq!(h.pop(), Some(10));
        h.retain(|&k| k != 30);
        assert_eq!(h.len(), 3);
        let rest: Vec<u128> = std::iter::from_fn(|| h.pop()).collect();
        assert_eq!(rest, vec![20, 40, 50]);
    }
}

//! A calendar queue with one rung: the engine's pending-event set once a fleet keeps
//! a thousand events or more pending (issue 8; measured in `benches/README.md`,
//! "Pending-event set").
//!
//! At fleet scale the pending set is mostly service ends spread over the next few
//! service times, and a binary heap of a few thousand of them walks about twelve
//! levels, the lower ones outside L1, on every pop. Here time is cut into slots of
//! `2^shift` ns. Entries of the current slot (or earlier) wait in `near`, a short list
//! sorted latest first, so a pop is a `Vec::pop`; entries of the next slots wait
//! unsorted in one bucket per slot, in a ring (a push is one `Vec::push`); entries
//! beyond the ring wait unsorted in `far`. When `near` runs dry, the next busy slot's
//! bucket (found in a bitmap) is sorted and becomes the new `near`. The slot width is
//! chosen so that a slot holds about [`PER_SLOT`] entries, and the ring so that it
//! spans several times the nearer half of them; both are chosen again whenever the
//! number of entries has doubled or halved since.
//!
//! The width only changes the speed: whatever it is, entries leave in key order, as
//! from any correct priority queue over unique keys.

use std::cmp::Reverse;

use super::pending::Keyed;

/// How many entries a slot should hold on average when the width is chosen.
/// Measured on the fleet workload at 1,000 servers (`benches/README.md`): 16 and 8
/// were about equally fast (within this machine's noise), 4 and 32 slower.
const PER_SLOT: usize = 16;
/// The fewest and the most buckets in the ring (powers of two).
const MIN_SLOTS: usize = 256;
const MAX_SLOTS: usize = 1 << 16;
/// The widest slot, `2^40` ns (about 18 minutes).
const MAX_SHIFT: u32 = 40;

/// A min-priority queue of entries with unique keys that never go below the last key
/// popped; the high 64 bits of a key are its time in ns.
#[derive(Debug)]
pub struct Calendar<T> {
    /// Entries of slot `current` and earlier, sorted by key from the largest down:
    /// the next entry is the last. Empty only when the whole queue is.
    ///
    /// A sorted list rather than a binary heap: a slot holds about [`PER_SLOT`]
    /// entries, sorted once when the slot becomes current, and `std`'s
    /// `BinaryHeap::pop` swaps the last entry into the root in pieces that the next
    /// load reads back across a store, a stall `perf annotate` put at 9% of the
    /// loop's samples at 1,000 servers. Not for fewer instructions: the fleet at
    /// 1,000 servers runs 0.5% more (`benches/README.md`). An entry pushed into the
    /// current slot is inserted in place (a binary search and a short `memmove`).
    near: Vec<T>,
    /// Bucket `s & mask` holds the entries of slot `s`, for `current < s <= current +
    /// mask`.
    buckets: Vec<Vec<T>>,
    /// `buckets.len() - 1` (the length is a power of two).
    mask: usize,
    /// Bit `i % 64` of word `i / 64` is set while bucket `i` holds an entry.
    busy: Vec<u64>,
    /// Entries of slots beyond the ring (when they were placed).
    far: Vec<T>,
    /// The smallest slot in `far` (`u64::MAX` when it is empty).
    far_min: u64,
    /// The slot `near` covers up to.
    current: u64,
    /// A slot is `2^shift` ns.
    shift: u32,
    len: usize,
    /// Entries held when the width and the ring were last chosen.
    tuned_len: usize,
}

/// The time of a key, in ns.
#[inline]
fn time_of(key: u128) -> u64 {
    (key >> 64) as u64
}

impl<T: Keyed> Calendar<T> {
    /// A queue holding `entries` (see the module docs for how it lays them out).
    pub fn from_entries(entries: Vec<T>) -> Calendar<T> {
        let mut queue = Calendar {
            near: Vec::new(),
            buckets: Vec::new(),
            mask: 0,
            busy: Vec::new(),
            far: Vec::new(),
            far_min: u64::MAX,
            current: 0,
            shift: 0,
            len: 0,
            tuned_len: 0,
        };
        queue.lay_out(entries);
        queue
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

    /// Entries it has room for without reallocating.
    pub fn capacity(&self) -> usize {
        self.near.capacity()
            + self.far.capacity()
            + self.buckets.iter().map(Vec::capacity).sum::<usize>()
    }

    /// The slot of `key`.
    #[inline]
    fn slot_of(&self, key: u128) -> u64 {
        time_of(key) >> self.shift
    }

    /// Adds `entry` (its key must not be below the last key popped).
    #[inline]
    pub fn push(&mut self, entry: T) {
        let slot = self.slot_of(entry.key());
        if self.len == 0 {
            self.current = slot;
        }
        self.len += 1;
        self.place(slot, entry);
        if self.len >= 2 * self.tuned_len {
            self.retune();
        }
    }

    /// Puts `entry`, of slot `slot`, where it belongs given `current`.
    #[inline(always)]
    fn place(&mut self, slot: u64, entry: T) {
        if slot <= self.current {
            let key = entry.key();
            let at = self.near.partition_point(|e| e.key() > key);
            self.near.insert(at, entry);
        } else if slot - self.current <= self.mask as u64 {
            let i = slot as usize & self.mask;
            self.buckets[i].push(entry);
            self.mark(i, true);
        } else {
            self.far_min = self.far_min.min(slot);
            self.far.push(entry);
        }
    }

    /// The smallest key, if any.
    #[inline]
    pub fn peek_key(&self) -> Option<u128> {
        self.peek().map(Keyed::key)
    }

    /// The entry with the smallest key, if any.
    #[inline]
    pub fn peek(&self) -> Option<&T> {
        self.near.last()
    }

    /// The entry with the second smallest key when it is in `near`; `None` when
    /// `near` holds a single entry (the next one then waits unsorted in a bucket:
    /// this is only a hint for prefetching).
    #[inline]
    pub fn peek_second(&self) -> Option<Option<&T>> {
        let second = self.near.len().checked_sub(2)?;
        Some(self.near.get(second))
    }

    /// Removes and returns the entry with the smallest key.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let entry = self.near.pop()?;
        self.len -= 1;
        if self.near.is_empty() && self.len > 0 {
            if 2 * self.len < self.tuned_len {
                self.retune();
            } else {
                self.advance();
            }
        }
        Some(entry)
    }

    /// `near` ran dry: make the next busy slot (a bucket's, or the first of `far`'s)
    /// the current one and move its entries into `near`.
    fn advance(&mut self) {
        while self.near.is_empty() {
            let bucket_slot = self.next_busy_slot();
            if bucket_slot.is_none() && self.far.is_empty() {
                debug_assert!(false, "{} entries counted but none held", self.len);
                self.len = 0;
                return;
            }
            if self.far_min <= bucket_slot.unwrap_or(u64::MAX) {
                // `far` comes first (or the ring is empty): the ring moves to its
                // first slot, and `far` spreads over it.
                self.current = self.far_min;
                let far = std::mem::take(&mut self.far);
                self.far_min = u64::MAX;
                for entry in far {
                    let slot = self.slot_of(entry.key());
                    self.place(slot, entry);
                }
            } else if let Some(slot) = bucket_slot {
                self.current = slot;
            }
            let i = self.current as usize & self.mask;
            if self.is_busy(i) {
                self.mark(i, false);
                // Taken rather than copied into `near`: the next bucket to fill
                // reuses the memory just freed, still in cache. Keeping each
                // bucket's room, a pool of emptied lists and room reserved at a
                // bucket's first push all ran fewer instructions with more cache
                // misses and no gain in time (`benches/README.md`). `near` may hold
                // entries `far` just placed.
                let mut bucket = std::mem::take(&mut self.buckets[i]);
                if !self.near.is_empty() {
                    bucket.append(&mut self.near);
                }
                bucket.sort_unstable_by_key(|e| Reverse(e.key()));
                self.near = bucket;
            }
        }
    }

    /// Whether bucket `i` holds an entry.
    #[inline]
    fn is_busy(&self, i: usize) -> bool {
        self.busy[i / 64] & (1 << (i % 64)) != 0
    }

    /// Records whether bucket `i` holds an entry.
    #[inline]
    fn mark(&mut self, i: usize, busy: bool) {
        if busy {
            self.busy[i / 64] |= 1 << (i % 64);
        } else {
            self.busy[i / 64] &= !(1 << (i % 64));
        }
    }

    /// The first slot after `current` whose bucket holds an entry.
    fn next_busy_slot(&self) -> Option<u64> {
        let words = self.busy.len();
        let start = (self.current as usize + 1) & self.mask;
        // Walk the bitmap from `start`, wrapping once.
        for step in 0..=words {
            let word_at = (start / 64 + step) % words;
            let mut word = self.busy[word_at];
            if step == 0 {
                word &= u64::MAX << (start % 64);
            } else if step == words {
                word &= !(u64::MAX << (start % 64));
            }
            if word != 0 {
                let i = word_at * 64 + word.trailing_zeros() as usize;
                let ahead = (i + self.buckets.len() - start) & self.mask;
                return Some(self.current + 1 + ahead as u64);
            }
        }
        None
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.near.retain(&mut keep);
        for i in 0..self.buckets.len() {
            if self.is_busy(i) {
                self.buckets[i].retain(&mut keep);
                let busy = !self.buckets[i].is_empty();
                self.mark(i, busy);
            }
        }
        self.far.retain(&mut keep);
        let far_min = self.far.iter().map(|e| self.slot_of(e.key())).min();
        self.far_min = far_min.unwrap_or(u64::MAX);
        self.len =
            self.near.len() + self.far.len() + self.buckets.iter().map(Vec::len).sum::<usize>();
        if 2 * self.len < self.tuned_len {
            self.retune();
        } else if self.near.is_empty() && self.len > 0 {
            self.advance();
        }
    }

    /// Gives back memory (the engine asks once the set holds much more room than
    /// entries): `near` and `far` keep room for `room` entries, each bucket for twice
    /// what it holds, at most `room`.
    pub fn shrink_to(&mut self, room: usize) {
        self.near.shrink_to(room);
        self.far.shrink_to(room);
        for bucket in &mut self.buckets {
            bucket.shrink_to((2 * bucket.len()).min(room));
        }
    }

    /// Removes every entry, in no particular order.
    pub fn drain(&mut self) -> Vec<T> {
        let mut all: Vec<T> = std::mem::take(&mut self.near);
        for bucket in &mut self.buckets {
            all.append(bucket);
        }
        all.append(&mut self.far);
        self.busy.fill(0);
        self.far_min = u64::MAX;
        self.len = 0;
        all
    }

    /// Chooses the width and the ring again for the entries held now.
    #[cold]
    #[inline(never)]
    fn retune(&mut self) {
        let entries = self.drain();
        self.lay_out(entries);
    }

    /// Chooses the width and the ring for `entries` and puts them in the (empty)
    /// queue.
    fn lay_out(&mut self, entries: Vec<T>) {
        debug_assert!(self.is_empty());
        let (shift, slots) = layout_for(&entries);
        self.shift = shift;
        self.buckets.resize_with(slots, Vec::new);
        self.buckets.truncate(slots);
        self.mask = slots - 1;
        self.busy.clear();
        self.busy.resize(slots.div_ceil(64), 0);
        self.len = entries.len();
        self.tuned_len = entries.len();
        let Some(first) = entries.iter().map(|e| self.slot_of(e.key())).min() else {
            return;
        };
        self.current = first;
        for entry in entries {
            let slot = self.slot_of(entry.key());
            self.place(slot, entry);
        }
    }
}

/// The slot width (as a power of two of ns) and the ring's length for `entries`:
/// about [`PER_SLOT`] entries to a slot over the nearer half of their times (the far
/// half, timers a long way ahead say, must not widen the slots of the busy near
/// future), and a ring four times as long as that half needs.
fn layout_for<T: Keyed>(entries: &[T]) -> (u32, usize) {
    let mut times: Vec<u64> = entries.iter().map(|e| time_of(e.key())).collect();
    if times.len() < 2 {
        return (0, MIN_SLOTS);
    }
    let half = (times.len() - 1) / 2;
    let first = times.iter().copied().min().unwrap_or(0);
    let (_, &mut median, _) = times.select_nth_unstable(half);
    let slots = (half / PER_SLOT).max(1);
    let width = ((median - first) / slots as u64).max(1);
    let shift = (63 - width.leading_zeros()).min(MAX_SHIFT);
    let ring = (4 * slots).next_power_of_two().clamp(MIN_SLOTS, MAX_SLOTS);
    (shift, ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BinaryHeap;

    /// Pushes and pops in any interleaving (keys never below the last popped; times
    /// near, in the ring and far ahead) come out exactly as from `std`'s binary heap,
    /// for any slot width, with compactions in between.
    fn matches_a_binary_heap(ops: Vec<(u8, u64)>, shift: u32) {
        let mut queue = Calendar::<u128>::from_entries(Vec::new());
        queue.shift = shift;
        let mut reference = BinaryHeap::new();
        let (mut seq, mut now) = (0u128, 0u64);
        for (op, delta) in ops {
            match op % 8 {
                0..=4 => {
                    seq += 1;
                    let key = (u128::from(now + delta) << 64) | seq;
                    queue.push(key);
                    reference.push(Reverse(key));
                }
                5 | 6 => {
                    let got = queue.pop();
                    assert_eq!(got, reference.pop().map(|r| r.0));
                    if let Some(key) = got {
                        now = time_of(key);
                    }
                }
                _ => {
                    let drop = |k: &u128| k % 3 != 0;
                    queue.retain(drop);
                    reference.retain(|r| drop(&r.0));
                }
            }
            assert_eq!(queue.len(), reference.len());
            assert_eq!(queue.peek_key(), reference.peek().map(|r| r.0));
        }
        while let Some(key) = queue.pop() {
            assert_eq!(Some(key), reference.pop().map(|r| r.0));
        }
        assert!(reference.is_empty());
    }

    proptest! {
        #[test]
        fn pops_in_key_order(
            ops in proptest::collection::vec((any::<u8>(), 0u64..5_000), 0..600),
            shift in 0u32..6,
        ) {
            matches_a_binary_heap(ops, shift);
        }

        #[test]
        fn far_entries_come_back_in_order(
            ops in proptest::collection::vec((any::<u8>(), 0u64..1_000_000), 0..400),
        ) {
            // Width 1 ns: almost every push lands beyond the ring.
            matches_a_binary_heap(ops, 0);
        }
    }

    #[test]
    fn the_width_follows_the_nearer_half() {
        let key = |t: u64, s: u128| (u128::from(t) << 64) | s;
        // 1,000 entries 1 us apart, then 1,000 an hour ahead.
        let entries: Vec<u128> = (0..1000)
            .map(|i| key(i * 1000, i.into()))
            .chain((0..1000).map(|i| key(3_600_000_000_000 + i, (1000 + i).into())))
            .collect();
        let (shift, ring) = layout_for(&entries);
        // Sixteen entries (16 us) to a slot, rounded down to a power of two: 2^13 ns;
        // 999 / 2 / 16 = 31 slots for the nearer half, four times that in the ring.
        assert_eq!((shift, ring), (13, 256), "shift {shift}, ring {ring}");
    }

    #[test]
    fn the_second_comes_from_near_when_it_holds_two() {
        let key = |s: u128| (5 << 64) | s;
        let mut queue = Calendar::<u128>::from_entries(vec![key(3), key(1), key(2)]);
        assert_eq!(queue.peek_second(), Some(Some(&key(2))));
        queue.pop();
        queue.pop();
        assert_eq!(queue.peek_second(), None, "one left: no hint");
    }
}

//! The event queue and the clock.
//!
//! Pending events wait in a priority queue keyed by `(time, sequence)` (`pending.rs`: a
//! 4-ary heap while few are pending, a calendar queue when many are):
//! equal times run first-in first-out, so the order never depends on the queue's
//! internals. Beside it, a few FIFO *lanes* take events that arrive in time order:
//! the timers of one class (every attempt timeout of a population is armed `timeout`
//! after its send, so they come sorted) and messages crossing a network with a
//! constant latency. Pushing and popping them is O(1) and they never weigh on the
//! heap, which at fleet scale would hold mostly such timers. Likewise *chains*
//! (`chains.rs`), one per closed-form server, take its answers, which come in time
//! order per server but not across servers. A lane or chain entry is still
//! ordered by the same `(time, sequence)` key against everything else, so which queue
//! holds an event never changes the order events run in. Cancelled timers are not
//! removed: each carries the generation of what it refers to and is dropped when it
//! reaches the top and no longer matches (lazy cancellation). Every popped event is
//! folded into a running hash, the run's determinism fingerprint.
//!
//! Lazy cancellation alone lets dead timers pile up: at 1e6 calls/s with a 1 h attempt
//! timeout, every finished call leaves an entry that stays an hour. So once a queue
//! (the heap, or one lane) has grown fourfold since it was last compacted,
//! [`Engine::compact_grown`] drops its entries the world says are dead. Each queue
//! keeps its own threshold, so a queue that does not grow (the heap of a fleet run,
//! holding ends of service that are all live) is not scanned, nor its entries' owners
//! asked, each time another queue (a lane of call deadlines, mostly dead) fills up.
//! Entries have unique keys, so removing some never changes the order of the others;
//! the dropped ones are accounted for so that `processed` ends the same as if they had
//! been popped (see `compact_grown`). Compacting also saves time: a dead timer
//! dropped in a pass over its lane costs far less than one popped and run to do
//! nothing, so queues are compacted from a small size ([`MIN_COMPACT`]).

use std::collections::VecDeque;
use std::time::Duration;

use super::chains::Chains;
use super::event::Event;
use super::pending::{earlier, Keyed, PendingSet};
use crate::policy::client::Timer;
use crate::time::Instant;

/// One scheduled event. `key` packs `(time, seq)` as `time << 64 | seq`, so entries
/// are ordered by one integer comparison.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u128,
    event: Event,
}

impl Entry {
    #[inline]
    fn time(&self) -> u64 {
        (self.key >> 64) as u64
    }
}

impl Keyed for Entry {
    #[inline]
    fn key(&self) -> u128 {
        self.key
    }
}

/// How many FIFO lanes the engine keeps (lane numbers are `0..LANES`): one per class of
/// client timer, one for each direction of network transit, and one for open-loop
/// arrivals.
pub const LANES: usize = Timer::CLASSES + 3;
const _: () = assert!(LANES <= 16, "Engine::busy has a bit per lane");

/// The lane of requests in transit to their servers. With a constant latency (no fault
/// on the path, or a fault that only drops) they arrive in the order they were sent,
/// so a W1-like run never puts them in the heap.
pub const LANE_REQUESTS: usize = Timer::CLASSES;

/// The lane of answers in transit back to their clients (in order for the same reason).
pub const LANE_RESPONSES: usize = Timer::CLASSES + 1;

/// The lane of open-loop arrivals. A single client instance's arrivals come in time
/// order, so a W1-like run (one instance) keeps its next arrival out of the heap; with
/// many instances an arrival that comes before the lane's last one goes to the heap.
pub const LANE_ARRIVALS: usize = Timer::CLASSES + 2;

/// Where the next event waits: the heap or one of the lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The top of the heap.
    Heap,
    /// The front of this lane.
    Lane(usize),
    /// The first of the chains' fronts.
    Chain,
}

/// The next event to run, from [`Engine::peek`]: its time and where it waits, so
/// [`Engine::pop_peeked`] takes it without looking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Next {
    /// When it runs.
    pub time: Instant,
    source: Source,
}

/// The clock and the pending events of one run.
#[derive(Debug)]
pub struct Engine {
    now: Instant,
    heap: PendingSet<Entry>,
    /// FIFO lanes of entries in `(time, seq)` order; see the module docs.
    lanes: [VecDeque<Entry>; LANES],
    /// The key of each lane's front, `u128::MAX` for an idle lane (no entry has
    /// that key: its sequence number would be the 2^64-th), side by side: finding the
    /// first front is a minimum over this small array, not a look into each busy
    /// lane's buffer.
    front_keys: [u128; LANES],
    /// Bit `i` is set when lane `i` holds an entry: finding the first front compares
    /// only the busy lanes' keys (W1 keeps two of the ten busy), not every lane's.
    busy: u16,
    /// Whether `first_lane` and `first_key` are up to date: a push to a lane keeps
    /// them so, and only taking a lane's front (or compacting) makes them stale, so
    /// most peeks read them instead of comparing every busy lane's front.
    first_known: bool,
    /// The lane whose front comes first (any lane when none is busy).
    first_lane: usize,
    /// That front's key (`u128::MAX` when no lane is busy).
    first_key: u128,
    /// FIFO chains, one per producer of entries in key order (a closed-form server's
    /// answers; `chains.rs`). Compaction leaves them alone: what they hold stays
    /// live.
    chains: Chains<Entry>,
    next_seq: u64,
    processed: u64,
    fingerprint: u64,
    /// Per queue (each lane, then the heap: index [`HEAP`]), the length at which
    /// [`Engine::compact_grown`] next compacts it: [`GROWTH`] times what it kept the
    /// last time, and at least [`MIN_COMPACT`].
    compact_at: [usize; QUEUES],
}

/// The heap's index in [`Engine::compact_at`] (after the lanes').
const HEAP: usize = LANES;
/// The queues compaction looks at: the lanes and the heap.
const QUEUES: usize = LANES + 1;

/// How much a queue grows between two compactions. Each compaction also scans the
/// entries still live, so the larger this is, the fewer times a live entry is looked
/// at (a third of a scan per dead entry at 4, one at 2); the smaller, the less memory
/// dead entries hold. Measured on the fleet workload (cachegrind, per call): 2 with
/// a single threshold for all queues, 5,339 instructions and 15.35 last-level
/// misses; 2 per queue, 5,390 and 15.30; 4 per queue, 5,305 and 15.01; 8 per queue,
/// 5,526 and 14.87.
const GROWTH: usize = 4;

/// The smallest queue worth compacting. Small: compacting saves time as well as
/// memory, since each dead entry it drops is an event the loop does not pop (see
/// `budget::COMPACT_EVERY` for the measurements), and below this a queue's dead
/// entries cost little either way.
const MIN_COMPACT: usize = 128;

/// The size in bytes of one pending entry (for the memory budget).
pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// FNV-1a 64-bit offset basis and prime: a simple, stable fold for the fingerprint.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Engine {
    /// An empty queue at time zero.
    pub fn new() -> Engine {
        Engine {
            now: Instant::ZERO,
            heap: PendingSet::new(),
            lanes: Default::default(),
            front_keys: [u128::MAX; LANES],
            busy: 0,
            first_known: true,
            first_lane: 0,
            first_key: u128::MAX,
            chains: Chains::new(),
            next_seq: 0,
            processed: 0,
            fingerprint: FNV_OFFSET,
            compact_at: [MIN_COMPACT; QUEUES],
        }
    }

    /// Pending entries, live or dead, in the heap, the lanes and the chains.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>() + self.chains.len()
    }

    /// True if there is nothing pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
            && self.chains.is_empty()
            && self.front_keys.iter().all(|&key| key == u128::MAX)
    }

    /// Entries the heap, the lanes and the chains have room for without reallocating
    /// (what they hold in memory).
    pub fn capacity(&self) -> usize {
        self.heap.capacity()
            + self.lanes.iter().map(VecDeque::capacity).sum::<usize>()
            + self.chains.capacity()
    }

    /// The entries queue `q` holds (a lane, or the heap: [`HEAP`]).
    #[inline]
    fn queue_len(&self, q: usize) -> usize {
        if q == HEAP {
            self.heap.len()
        } else {
            self.lanes[q].len()
        }
    }

    /// True when some queue has grown [`GROWTH`]-fold since it was last compacted
    /// (compaction stays amortised O(1) per push). Out of line: the event loop asks
    /// only every few hundred events, and inlined, its loop over the queues made the
    /// loop's code worse.
    #[inline(never)]
    pub fn wants_compaction(&self) -> bool {
        (0..QUEUES).any(|q| self.queue_len(q) >= self.compact_at[q])
    }

    /// Drops the entries for which `is_dead` holds from every queue, keeping the pop
    /// order of the rest; see [`Engine::compact_grown`]. Returns how many were
    /// dropped.
    #[cfg(test)]
    pub fn compact(
        &mut self,
        is_dead: impl FnMut(&Event) -> bool,
        measure_end: Instant,
        drain_end: Instant,
    ) -> usize {
        self.compact_queues(is_dead, measure_end, drain_end, [true; QUEUES])
    }

    /// Drops the entries for which `is_dead` holds from the queues that have grown
    /// [`GROWTH`]-fold since they were last compacted ([`Engine::wants_compaction`]),
    /// keeping the pop order of the rest. Every queue thus holds at most [`GROWTH`]
    /// times what it kept at its last compaction (or [`MIN_COMPACT`]), plus what was
    /// pushed since the last call; and `is_dead` is asked about no entry of a queue
    /// that has not grown.
    ///
    /// A dead entry is one whose handler would do nothing, now or later (a timer of a
    /// freed slot). The event loop stops at the first entry after `drain_end`, and not
    /// before `measure_end`, so a dead entry before `measure_end` would certainly have
    /// been popped: it is counted in `processed` now. One after `drain_end` would never
    /// be popped: it is dropped uncounted. One in between is kept, because whether it
    /// would be popped depends on when the last measured call ends. So `processed`
    /// ends the same whichever queues are compacted, and when. The fingerprint skips
    /// dropped entries (it is not part of any output). Returns how many were dropped.
    pub fn compact_grown(
        &mut self,
        is_dead: impl FnMut(&Event) -> bool,
        measure_end: Instant,
        drain_end: Instant,
    ) -> usize {
        let grown: [bool; QUEUES] =
            std::array::from_fn(|q| self.queue_len(q) >= self.compact_at[q]);
        self.compact_queues(is_dead, measure_end, drain_end, grown)
    }

    /// Compacts queue `q` where `which[q]` (see [`Engine::compact_grown`]).
    fn compact_queues(
        &mut self,
        mut is_dead: impl FnMut(&Event) -> bool,
        measure_end: Instant,
        drain_end: Instant,
        which: [bool; QUEUES],
    ) -> usize {
        let before = self.len();
        let (lo, hi) = (measure_end.as_nanos(), drain_end.as_nanos());
        let mut counted = 0u64;
        let mut keep = |e: &Entry| {
            let t = e.time();
            if (lo..=hi).contains(&t) || !is_dead(&e.event) {
                return true;
            }
            if t < lo {
                counted += 1;
            }
            false
        };
        if which[HEAP] {
            self.heap.retain(&mut keep);
            shrink_if_sparse(
                &mut self.heap,
                PendingSet::len,
                PendingSet::capacity,
                |h, n| h.shrink_to(n),
            );
            self.compact_at[HEAP] = (GROWTH * self.heap.len()).max(MIN_COMPACT);
        }
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            if !which[i] {
                continue;
            }
            self.first_known = false;
            // `retain` keeps the survivors' order, so a lane stays sorted.
            lane.retain(&mut keep);
            self.front_keys[i] = lane.front().map_or(u128::MAX, |front| front.key);
            if lane.is_empty() {
                self.busy &= !(1 << i);
            }
            shrink_if_sparse(lane, VecDeque::len, VecDeque::capacity, |q, n| {
                q.shrink_to(n)
            });
            self.compact_at[i] = (GROWTH * lane.len()).max(MIN_COMPACT);
        }
        self.processed += counted;
        before - self.len()
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// The running hash of every popped `(time, kind)`.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Schedules `event` at `at` (never in the past).
    #[inline]
    pub fn schedule_at(&mut self, at: Instant, event: Event) {
        debug_assert!(
            at >= self.now,
            "scheduled {event:?} at {at} before now {}",
            self.now
        );
        let entry = self.entry(at, event);
        self.heap.push(entry);
    }

    /// Schedules `event` at `at` in FIFO lane `lane` if it comes no earlier than the
    /// lane's last entry (then it costs O(1)), or in the heap otherwise. Either way it
    /// runs exactly when [`Engine::schedule_at`] would have run it.
    #[inline(always)]
    pub fn schedule_at_lane(&mut self, at: Instant, lane: usize, event: Event) {
        debug_assert!(at >= self.now, "scheduled {event:?} at {at} before now");
        let entry = self.entry(at, event);
        let lane = lane % LANES;
        let queue = &mut self.lanes[lane];
        match queue.back() {
            Some(last) if last.time() > entry.time() => self.heap.push(entry),
            Some(_) => queue.push_back(entry), // behind the front: the first front stays
            None => {
                let key = entry.key;
                queue.push_back(entry);
                self.front_keys[lane] = key;
                self.busy |= 1 << lane;
                if self.first_known && key < self.first_key {
                    (self.first_lane, self.first_key) = (lane, key);
                }
            }
        }
    }

    /// Schedules `event` at `at` at the back of FIFO chain `chain` (see `chains.rs`)
    /// if it comes no earlier than the chain's last entry, or in the heap otherwise.
    /// Either way it runs exactly when [`Engine::schedule_at`] would have run it. Only
    /// for events that compaction would never drop: chains are not compacted.
    #[inline]
    pub fn schedule_at_chain(&mut self, at: Instant, chain: u32, event: Event) {
        debug_assert!(at >= self.now, "scheduled {event:?} at {at} before now");
        let entry = self.entry(at, event);
        if let Err(entry) = self.chains.push(chain, entry) {
            self.heap.push(entry);
        }
    }

    /// The entry for `event` at `at` (clamped to now), taking the next sequence number.
    #[inline]
    fn entry(&mut self, at: Instant, event: Event) -> Entry {
        let at = at.max(self.now);
        let key = (u128::from(at.as_nanos()) << 64) | u128::from(self.next_seq);
        debug_assert!(key != u128::MAX, "the largest key marks an idle lane");
        self.next_seq += 1;
        Entry { key, event }
    }

    /// The lane whose front entry comes first and its key, if any lane has one.
    #[inline]
    fn first_lane(&mut self) -> Option<(usize, u128)> {
        if !self.first_known {
            let (lane, key) = self.scan_lanes().unwrap_or((0, u128::MAX));
            (self.first_lane, self.first_key, self.first_known) = (lane, key, true);
        }
        (self.first_key != u128::MAX).then_some((self.first_lane, self.first_key))
    }

    /// [`Engine::first_lane`] found by comparing the busy lanes' front keys.
    #[inline]
    fn scan_lanes(&self) -> Option<(usize, u128)> {
        let mut best = (0, u128::MAX);
        let mut busy = self.busy;
        while busy != 0 {
            let lane = busy.trailing_zeros() as usize;
            busy &= busy - 1;
            if self.front_keys[lane] < best.1 {
                best = (lane, self.front_keys[lane]);
            }
        }
        (best.1 != u128::MAX).then_some(best)
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn schedule_in(&mut self, delay: Duration, event: Event) {
        self.schedule_at(self.now.after(delay), event);
    }

    /// Schedules `event` after `delay_ns` nanoseconds.
    #[inline]
    pub fn schedule_in_ns(&mut self, delay_ns: u64, event: Event) {
        self.schedule_at(Instant(self.now.as_nanos().saturating_add(delay_ns)), event);
    }

    /// Schedules `event` after `delay_ns` nanoseconds in lane `lane` (see
    /// [`Engine::schedule_at_lane`]).
    #[inline]
    pub fn schedule_in_ns_lane(&mut self, delay_ns: u64, lane: usize, event: Event) {
        let at = Instant(self.now.as_nanos().saturating_add(delay_ns));
        self.schedule_at_lane(at, lane, event);
    }

    /// The next event's time and where it waits, if anything is pending.
    ///
    /// Always inlined: it runs once per event, and when a change elsewhere (the
    /// calendar queue's `near` list) tipped the compiler into calling it out of line,
    /// W1 ran 2.2% more instructions (callgrind, W1 at 20 s: 635.8M -> 650.0M).
    #[inline(always)]
    pub fn peek(&mut self) -> Option<Next> {
        // The earlier of the first lane's front and the heap's top, then the chains'
        // first front if earlier still. `u128::MAX` stands for "none yet": no entry
        // has that key (see `Engine::entry`). Written over options instead, W1 at 20 s
        // ran 1.2% more instructions with a loop over the heap and the chains, 11% more
        // with a `min_by_key` over all three (callgrind).
        let (mut source, mut key) = match (self.first_lane(), self.heap.peek_key()) {
            (Some((lane, key)), Some(top)) if key < top => (Source::Lane(lane), key),
            (Some((lane, key)), None) => (Source::Lane(lane), key),
            (_, Some(top)) => (Source::Heap, top),
            (None, None) => (Source::Heap, u128::MAX),
        };
        match self.chains.peek_key() {
            Some(front) if front < key => (source, key) = (Source::Chain, front),
            _ if key == u128::MAX => return None,
            _ => {}
        }
        Some(Next {
            time: Instant((key >> 64) as u64),
            source,
        })
    }

    /// The next two events, as far as is cheap to see: what [`Engine::pop`] would
    /// return now and after that, if nothing is scheduled in between (so the caller
    /// can fetch the memory they will touch while it runs the current one). The
    /// second is `None` when nothing else is pending, and also when the set is a
    /// calendar queue whose current slot holds a single entry.
    #[inline]
    pub fn peek_two(&mut self) -> (Option<Event>, Option<Event>) {
        let Some(next) = self.peek() else {
            return (None, None);
        };
        // `peek` has just brought the first lane up to date.
        let first_lane = (self.first_key != u128::MAX)
            .then(|| self.lanes[self.first_lane].front().copied())
            .flatten();
        let Engine {
            heap,
            lanes,
            front_keys,
            chains,
            ..
        } = self;
        // The second is the earliest of each queue's candidate: its first entry, or
        // its second when the first is the next event.
        let (first, second) = match next.source {
            Source::Lane(lane) => {
                let mut second = lanes[lane].get(1);
                for (other, &key) in front_keys.iter().enumerate() {
                    if other != lane && second.is_none_or(|s| key < s.key) {
                        second = lanes[other].front().or(second);
                    }
                }
                let second = earlier(second.copied(), chains.peek().copied());
                (
                    lanes[lane].front().copied(),
                    earlier(second, heap.peek().copied()),
                )
            }
            Source::Heap => {
                let Some(in_heap) = heap.peek_second().map(|e| e.copied()) else {
                    return (heap.peek().map(|e| e.event), None);
                };
                let second = earlier(in_heap, chains.peek().copied());
                (heap.peek().copied(), earlier(second, first_lane))
            }
            Source::Chain => {
                let second = earlier(chains.peek_second(), first_lane);
                (
                    chains.peek().copied(),
                    earlier(second, heap.peek().copied()),
                )
            }
        };
        (first.map(|e| e.event), second.map(|e| e.event))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&mut self) -> Option<Instant> {
        self.peek().map(|next| next.time)
    }

    /// Pops the next event, advancing the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        let next = self.peek()?;
        Some(self.pop_peeked(next))
    }

    /// Pops the event [`Engine::peek`] just returned (nothing may be scheduled or
    /// compacted in between), advancing the clock to its time.
    #[inline]
    pub fn pop_peeked(&mut self, next: Next) -> Event {
        let entry = match next.source {
            Source::Lane(lane) => {
                let queue = &mut self.lanes[lane];
                let entry = queue.pop_front().expect("a peeked lane is not empty");
                self.first_known = false;
                match queue.front() {
                    Some(front) => self.front_keys[lane] = front.key,
                    None => {
                        self.front_keys[lane] = u128::MAX;
                        self.busy &= !(1 << lane);
                    }
                }
                entry
            }
            Source::Heap => self.heap.pop().expect("a peeked heap is not empty"),
            Source::Chain => self.chains.pop().expect("a peeked chain is not empty"),
        };
        debug_assert_eq!(
            entry.time(),
            next.time.as_nanos(),
            "popped what was not peeked"
        );
        let time = entry.time();
        // `schedule_at` never schedules before `now`, so time cannot go backwards.
        debug_assert!(time >= self.now.as_nanos(), "time went backwards");
        self.now = Instant(time);
        self.processed += 1;
        self.fingerprint = (self.fingerprint ^ time).wrapping_mul(FNV_PRIME);
        self.fingerprint = (self.fingerprint ^ entry.event.kind() as u64).wrapping_mul(FNV_PRIME);
        entry.event
    }
}

/// Gives memory back when a queue holds room for more than twice what it may grow to
/// before its next compaction ([`GROWTH`] times its entries), keeping that much (so
/// a queue that refills does not reallocate on its way there).
fn shrink_if_sparse<Q>(
    queue: &mut Q,
    len: impl Fn(&Q) -> usize,
    capacity: impl Fn(&Q) -> usize,
    shrink_to: impl FnOnce(&mut Q, usize),
) {
    let room = len(queue).max(MIN_COMPACT);
    if capacity(queue) > 2 * GROWTH * room {
        shrink_to(queue, GROWTH * room);
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::ids::ClientId;
    use crate::sim::lcg;

    #[test]
    fn pops_in_time_then_fifo_order() {
        let mut e = Engine::new();
        e.schedule_at(
            Instant(20),
            Event::ArrivalTick {
                client: ClientId(1),
            },
        );
        e.schedule_at(
            Instant(10),
            Event::ArrivalTick {
                client: ClientId(2),
            },
        );
        e.schedule_at(
            Instant(20),
            Event::ArrivalTick {
                client: ClientId(3),
            },
        );
        e.schedule_at(
            Instant(10),
            Event::ArrivalTick {
                client: ClientId(4),
            },
        );
        let order: Vec<u32> = std::iter::from_fn(|| e.pop())
            .map(|ev| match ev {
                Event::ArrivalTick { client } => client.0,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![2, 4, 1, 3]);
        assert_eq!(e.now(), Instant(20));
        assert_eq!(e.processed(), 4);
    }

    impl Engine {
        /// The first front found in the lanes themselves (what `front_keys` mirrors).
        fn scan_queues(&self) -> Option<(usize, u128)> {
            let fronts = self.lanes.iter().enumerate();
            let fronts = fronts.filter_map(|(lane, q)| q.front().map(|e| (lane, e.key)));
            fronts.min_by_key(|&(_, key)| key)
        }
    }

    /// Pushes to lanes (empty or not, in order or not) interleaved with pops: the
    /// first front the engine keeps is always the one a scan of the lanes finds, and
    /// the events leave in the order of a single heap.
    #[test]
    fn the_kept_first_front_matches_a_scan_of_the_lanes() {
        let mut laned = Engine::new();
        let mut plain = Engine::new();
        let mut next = lcg(12345);
        let mut popped = 0;
        for i in 0..20_000u32 {
            if next() % 3 != 0 {
                let at = Instant(laned.now().as_nanos() + next() % 50);
                let lane = (next() % LANES as u64) as usize;
                let event = Event::ArrivalTick {
                    client: ClientId(i),
                };
                laned.schedule_at_lane(at, lane, event);
                plain.schedule_at(at, event);
            } else if laned.peek_time().is_some() {
                assert_eq!(laned.pop(), plain.pop());
                popped += 1;
            }
            let scanned = laned.scan_lanes();
            assert_eq!(
                scanned,
                laned.scan_queues(),
                "the kept front keys are the fronts"
            );
            assert_eq!(laned.first_lane(), scanned);
        }
        assert!(popped > 5_000);
        while let Some(event) = laned.pop() {
            assert_eq!(Some(event), plain.pop());
        }
        assert_eq!(plain.pop(), None);
    }

    /// `peek_two` names the next two pops, whatever mix of lanes, chains and heap holds
    /// them, with both the small heap and (past its threshold) a calendar queue, where
    /// the second may be left unnamed but is never wrong.
    #[test]
    fn peek_two_names_the_next_two_pops() {
        for pending in [300u64, 20_000] {
            let mut e = Engine::new();
            let mut next = lcg(777);
            let (mut named, mut checked) = (0, 0);
            for i in 0..60_000u32 {
                if (e.len() as u64) < pending && next() % 3 != 0 {
                    let at = Instant(e.now().as_nanos() + next() % 5_000);
                    let lane = (next() % (LANES as u64 + 6)) as usize;
                    let event = Event::ArrivalTick {
                        client: ClientId(i),
                    };
                    if lane < LANES {
                        e.schedule_at_lane(at, lane, event);
                    } else if lane < LANES + 3 {
                        e.schedule_at(at, event);
                    } else {
                        e.schedule_at_chain(at, (lane - LANES) as u32, event);
                    }
                    continue;
                }
                let (first, second) = e.peek_two();
                assert_eq!(first, e.pop());
                if let Some(second) = second {
                    assert_eq!(Some(second), e.peek_two().0);
                    named += 1;
                }
                checked += 1;
            }
            assert!(checked > 10_000, "{checked}");
            assert!(named * 2 > checked, "{named} of {checked}");
        }
    }

    #[test]
    fn lanes_keep_the_order_of_a_single_heap() {
        // The same schedule through lanes (some pushes out of order, which fall back to
        // the heap) and through the heap alone pops in the same order.
        let plan: [(u64, usize); 9] = [
            (30, 0),
            (10, 1),
            (30, 0),
            (20, 0), // earlier than lane 0's last: goes to the heap
            (10, 1),
            (40, 1),
            (30, 2),
            (10, 2), // earlier than lane 2's last
            (30, 3),
        ];
        let mut laned = Engine::new();
        let mut plain = Engine::new();
        for (i, &(t, lane)) in plan.iter().enumerate() {
            let event = Event::ArrivalTick {
                client: ClientId(i as u32),
            };
            laned.schedule_at_lane(Instant(t), lane, event);
            plain.schedule_at(Instant(t), event);
        }
        let mut order = Vec::new();
        while let Some(t) = laned.peek_time() {
            assert_eq!(Some(t), plain.peek_time());
            let (a, b) = (laned.pop(), plain.pop());
            assert_eq!(a, b);
            order.push(a.unwrap());
        }
        assert_eq!(order.len(), plan.len());
        assert_eq!(plain.pop(), None);
        assert_eq!(laned.fingerprint(), plain.fingerprint());
    }

    /// Random schedules through chains (each mostly in time order, some entries out
    /// of it, which go to the heap) and lanes pop in the order of the heap alone.
    #[test]
    fn chains_keep_the_order_of_a_single_heap() {
        let mut next = lcg(4242);
        let mut chained = Engine::new();
        let mut plain = Engine::new();
        let mut last = [0u64; 8];
        let mut popped = 0;
        for i in 0..30_000u32 {
            if next() % 3 == 0 {
                let (a, b) = (chained.pop(), plain.pop());
                assert_eq!(a, b);
                popped += u32::from(a.is_some());
                continue;
            }
            let event = Event::ArrivalTick {
                client: ClientId(i),
            };
            let queue = (next() % 10) as usize;
            let now = chained.now().as_nanos();
            let at = if queue < last.len() {
                // Mostly after the chain's last entry, sometimes before it.
                let at = if next() % 6 == 0 {
                    now + next() % 20
                } else {
                    last[queue].max(now) + next() % 500
                };
                last[queue] = last[queue].max(at);
                chained.schedule_at_chain(Instant(at), queue as u32, event);
                at
            } else {
                let at = now + next() % 500;
                chained.schedule_at_lane(Instant(at), queue % LANES, event);
                at
            };
            plain.schedule_at(Instant(at), event);
        }
        assert!(popped > 5_000);
        while let Some(event) = plain.pop() {
            assert_eq!(chained.pop(), Some(event));
        }
        assert!(chained.is_empty() && chained.pop().is_none());
        assert_eq!(chained.fingerprint(), plain.fingerprint());
    }

    #[test]
    fn fingerprint_depends_on_times_and_kinds() {
        let run = |t: u64| {
            let mut e = Engine::new();
            e.schedule_at(
                Instant(t),
                Event::ArrivalTick {
                    client: ClientId(0),
                },
            );
            e.pop();
            e.fingerprint()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    /// Only a queue that has grown since it was last compacted is compacted: the
    /// owners of a small heap's entries are not asked each time a lane of dead timers
    /// fills up, and the lane is cut back to what is live.
    #[test]
    fn only_grown_queues_are_compacted() {
        let tick = |client| Event::ArrivalTick {
            client: ClientId(client),
        };
        let mut e = Engine::new();
        for i in 0..100u32 {
            e.schedule_at(Instant(u64::from(1000 + i)), tick(i)); // heap, live
        }
        let lane_entries = MIN_COMPACT as u32 + 10;
        for i in 0..lane_entries {
            // Lane 0, in time order; all dead but every hundredth.
            e.schedule_at_lane(Instant(u64::from(i)), 0, tick(1000 + i));
        }
        assert!(e.wants_compaction());
        let mut asked_heap = 0;
        let dropped = e.compact_grown(
            |ev| {
                let Event::ArrivalTick { client } = *ev else {
                    unreachable!()
                };
                if client.0 < 1000 {
                    asked_heap += 1;
                }
                client.0 >= 1000 && client.0 % 100 != 0
            },
            Instant(1_000_000),
            Instant(2_000_000),
        );
        assert_eq!(
            asked_heap, 0,
            "the heap has not grown: its entries are not looked at"
        );
        let kept_in_lane = (lane_entries as usize).div_ceil(100);
        assert_eq!(dropped, lane_entries as usize - kept_in_lane);
        assert_eq!(
            e.processed(),
            dropped as u64,
            "dead before measure_end: counted"
        );
        assert!(!e.wants_compaction());
        assert_eq!(e.len(), 100 + kept_in_lane);
        // The survivors still leave in time order, the lane's before the heap's.
        let mut last = 0;
        while e.pop().is_some() {
            assert!(e.now().as_nanos() >= last);
            last = e.now().as_nanos();
        }
    }

    /// Compaction keeps the order of live entries, counts dead ones before
    /// `measure_end` as processed, keeps dead ones in the drain window and drops the
    /// rest uncounted.
    #[test]
    fn compaction_keeps_order_and_counts() {
        let tick = |client| Event::ArrivalTick {
            client: ClientId(client),
        };
        let mut e = Engine::new();
        // Odd clients are dead; times 0..40, measure_end 20, drain_end 30.
        for i in 0..40u32 {
            e.schedule_at(Instant(u64::from(40 - i)), tick(i));
        }
        let dropped = e.compact(
            |ev| matches!(ev, Event::ArrivalTick { client } if client.0 % 2 == 1),
            Instant(20),
            Instant(30),
        );
        // Dead at times < 20: clients 21..=39 odd (times 19..1) -> 10; kept in [20,30]:
        // times 20..=30 -> clients 10..=20, odd ones kept; dropped > 30: clients 1..9 odd (5).
        assert_eq!(dropped, 15);
        assert_eq!(e.processed(), 10);
        let mut last = 0;
        while let Some(ev) = e.pop() {
            let Event::ArrivalTick {
                client: ClientId(client),
            } = ev
            else {
                unreachable!()
            };
            let t = u64::from(40 - client);
            assert!(t >= last);
            last = t;
            assert!(client % 2 == 0 || (20..=30).contains(&t), "{client}");
        }
        assert_eq!(e.processed(), 10 + 20 + 5);
    }
}

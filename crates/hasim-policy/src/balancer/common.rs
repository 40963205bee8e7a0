//! Small pieces shared by several balancers: client-local in-flight counts, sampling
//! without allocation, eligibility look-ups and a fixed 64-bit mixer.
//!
//! Kept apart so each algorithm file reads as the algorithm only.

use rand::Rng;

use super::PickRequest;
use crate::{Endpoint, EndpointId};

/// Client-local in-flight attempts per endpoint, counted from `on_send` and the
/// matching `on_complete`/`on_cancel`: the only load a real client knows.
#[derive(Clone, Debug, Default)]
pub(super) struct InFlight {
    /// Indexed by `EndpointId`; grows on first use of an id (ids are dense).
    counts: Vec<u32>,
}

impl InFlight {
    /// Attempts sent to `ep` and not yet answered or cancelled.
    #[inline]
    pub(super) fn get(&self, ep: EndpointId) -> u32 {
        self.counts.get(ep.index()).copied().unwrap_or(0)
    }

    /// An attempt to `ep` left.
    pub(super) fn add(&mut self, ep: EndpointId) {
        if self.counts.len() <= ep.index() {
            self.counts.resize(ep.index() + 1, 0);
        }
        self.counts[ep.index()] += 1;
    }

    /// An attempt to `ep` ended. Every `add` is matched by exactly one `remove`; a
    /// stray one is a caller bug, caught in tests and ignored in release so picks stay
    /// total.
    pub(super) fn remove(&mut self, ep: EndpointId) {
        let count = self.counts.get_mut(ep.index());
        debug_assert!(
            count.as_ref().is_some_and(|c| **c > 0),
            "on_complete/on_cancel without on_send for {ep:?}"
        );
        if let Some(c) = count {
            *c = c.saturating_sub(1);
        }
    }
}

/// The endpoints a pick may choose from: a sorted list minus a few positions in it,
/// read in place, by position.
///
/// A retry that avoids the endpoints its call already tried picks from "eligible
/// minus tried". Removing them from the list and putting them back moves half of it
/// twice, and at fleet scale that list (8 bytes per endpoint, per client instance) is
/// rarely in cache: a `memmove` of a 1,000-endpoint list was the largest single source
/// of cache misses per call. Balancers that only count and index their candidates
/// (random, round robin, p2c, peak EWMA) read this view instead, and see exactly the
/// same sequence as the shortened list, so they pick the same endpoints.
///
/// When the list is a whole range of ids (its ids are sorted and distinct, so that is
/// when its last id minus its first is its length minus one: every known endpoint of
/// a densely numbered view eligible, the usual state of a healthy fleet), the id at a
/// position is computed rather than read, which saves a cache miss per candidate at
/// fleet scale; the answer is the same either way. The client stack also knows when
/// an eligible list is a range of known ids minus a few not eligible
/// ([`Candidates::dense`]): the id is then computed from those few.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidates<'a> {
    list: &'a [Endpoint],
    /// Positions in `list` to leave out, strictly ascending, fewer than `list.len()`.
    skip: &'a [usize],
    /// `(first, holes)` when `list` is the range of ids from `first` minus `holes`
    /// (sorted; none when the list is a whole range): an id is then computed, from
    /// the short `holes` list that stays in cache, instead of read from `list`, which
    /// at fleet scale does not.
    dense: Option<(u32, &'a [EndpointId])>,
}

impl<'a> Candidates<'a> {
    /// Every endpoint of `list` (sorted by id, ids distinct, as `PickRequest`
    /// promises).
    #[inline]
    pub(crate) fn all(list: &'a [Endpoint]) -> Candidates<'a> {
        Candidates::skipping(list, &[])
    }

    /// `list` without the entries at `skip` (strictly ascending positions in `list`,
    /// fewer than its length).
    #[inline]
    pub(crate) fn skipping(list: &'a [Endpoint], skip: &'a [usize]) -> Candidates<'a> {
        debug_assert!(
            skip.windows(2).all(|w| w[0] < w[1]),
            "skip is strictly ascending"
        );
        debug_assert!(skip.len() < list.len().max(1) && skip.iter().all(|&p| p < list.len()));
        let dense = range_start(list).map(|first| (first, &[][..]));
        Candidates { list, skip, dense }
    }

    /// [`Candidates::skipping`] for a `list` its caller knows to be the ids from
    /// `first` up, minus `holes` (sorted, distinct, all above `first`): nothing of
    /// `list` but its length is read, here or by [`Candidates::id`].
    #[inline]
    pub(crate) fn dense(
        list: &'a [Endpoint],
        skip: &'a [usize],
        first: u32,
        holes: &'a [EndpointId],
    ) -> Candidates<'a> {
        debug_assert!(skip.len() < list.len().max(1) && skip.iter().all(|&p| p < list.len()));
        Candidates {
            list,
            skip,
            dense: Some((first, holes)),
        }
    }

    /// How many endpoints there are to choose from.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.list.len() - self.skip.len()
    }

    /// The id of the `i`-th endpoint to choose from (`i < len()`): the `i`-th of
    /// `list` once the skipped entries are taken out. Steps over the skipped positions
    /// in ascending order, so it costs one look at each (a retry skips a handful at
    /// most).
    #[inline]
    pub(crate) fn id(&self, i: usize) -> EndpointId {
        let mut at = i;
        for &p in self.skip {
            if p <= at {
                at += 1;
            } else {
                break;
            }
        }
        let Some((first, holes)) = self.dense else {
            return self.list[at].id;
        };
        let id = nth_outside(first, holes, at);
        debug_assert_eq!(
            self.list[at].id, id,
            "the list is the range minus the holes"
        );
        id
    }
}

/// The first id of `list` (sorted by id, each once) when its ids are a whole range:
/// its last id minus its first is its length minus one.
pub(crate) fn range_start(list: &[Endpoint]) -> Option<u32> {
    match (list.first(), list.last()) {
        (Some(first), Some(last))
            if last.id.0.wrapping_sub(first.id.0) as usize == list.len() - 1 =>
        {
            Some(first.id.0)
        }
        _ => None,
    }
}

/// The `at`-th id (from 0) of the ids from `first` up that are not in `holes`
/// (sorted, distinct, none below `first`). The `i`-th hole has `holes[i] - first - i`
/// ids outside `holes` before it, which grows with `i`: a binary search finds how
/// many holes come before the answer.
#[inline]
pub(crate) fn nth_outside(first: u32, holes: &[EndpointId], at: usize) -> EndpointId {
    let (mut lo, mut hi) = (0, holes.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if (holes[mid].0 - first) as usize - mid <= at {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    EndpointId(first + (at + lo) as u32)
}

/// The `known` list a hashing balancer's ring or table was built over. With the
/// caller's generation number ([`PickRequest::known_generation`]) "has it changed?"
/// is one comparison; without one the lists are compared, O(n) per pick.
#[derive(Clone, Debug, Default)]
pub(super) struct BuiltFor {
    endpoints: Vec<Endpoint>,
    generation: Option<u64>,
}

impl BuiltFor {
    /// True if `req.known` is not what was built over; then it is remembered as
    /// built (the caller rebuilds).
    pub(super) fn changed(&mut self, req: &PickRequest) -> bool {
        let same = match req.known_generation {
            Some(g) => self.generation == Some(g),
            None => self.endpoints == req.known,
        };
        if same {
            return false;
        }
        self.endpoints.clear();
        self.endpoints.extend_from_slice(req.known);
        self.generation = req.known_generation;
        true
    }
}

/// A weight as used by the algorithms: the caller promises >= 1; 0 is read as 1 so a
/// broken caller cannot divide by zero or starve the schedule.
#[inline]
pub(super) fn weight_of(ep: &Endpoint) -> u64 {
    u64::from(ep.weight.max(1))
}

/// True if `id` is in `eligible` (sorted by id, as `PickRequest` promises).
#[inline]
pub(super) fn is_eligible(eligible: &[Endpoint], id: EndpointId) -> bool {
    eligible.binary_search_by_key(&id, |e| e.id).is_ok()
}

/// Two distinct uniform indices in `0..n` (`n >= 2`), in draw order, without
/// allocation (tower's P2C sampling).
#[inline]
pub(super) fn two_distinct<R: Rng + ?Sized>(n: usize, rng: &mut R) -> (usize, usize) {
    debug_assert!(n >= 2);
    let a = rng.random_range(0..n);
    let mut b = rng.random_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    (a, b)
}

/// The index of an eligible endpoint with the smallest `key`, ties broken uniformly
/// at random. Two passes over the slice and at most one random draw: no allocation.
pub(super) fn min_with_random_ties<K, R>(
    eligible: &[Endpoint],
    key: impl Fn(EndpointId) -> K,
    rng: &mut R,
) -> EndpointId
where
    K: PartialOrd + Copy,
    R: Rng + ?Sized,
{
    let mut best = key(eligible[0].id);
    let mut ties = 0usize;
    for ep in eligible {
        let k = key(ep.id);
        if k < best {
            best = k;
            ties = 1;
        } else if k == best {
            ties += 1;
        }
    }
    let mut chosen = if ties > 1 {
        rng.random_range(0..ties)
    } else {
        0
    };
    for ep in eligible {
        if key(ep.id) == best {
            if chosen == 0 {
                return ep.id;
            }
            chosen -= 1;
        }
    }
    unreachable!("the minimum occurs at least once")
}

/// A fixed, platform-independent 64-bit mixer (the splitmix64 finalizer). It is a
/// bijection, so distinct inputs never collide, and it never depends on a process
/// seed the way `DefaultHasher` does: a ring is the same in every run.
#[inline]
pub(super) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Where a request key lands in hash space: the key is first reduced to `key_space`
/// (the scenario's key universe), then mixed so nearby keys scatter.
#[inline]
pub(super) fn key_point(hash_key: u64, key_space: u64) -> u64 {
    mix64(hash_key % key_space.max(1))
}

/// The endpoint used when a hash table has no eligible entry at all (the caller passed
/// an eligible endpoint that is not in `known`): a fixed choice by key, so picks stay
/// total and deterministic.
#[inline]
pub(super) fn fallback(eligible: &[Endpoint], point: u64) -> EndpointId {
    eligible[(point % eligible.len() as u64) as usize].id
}

#[cfg(test)]
pub(super) mod testing {
    //! Helpers shared by the balancer unit tests.

    use crate::test_rng::{stream, Role, TestRng};
    use crate::{Endpoint, EndpointId};

    /// Endpoints with the given ids, weight 1.
    pub fn eps(ids: &[u32]) -> Vec<Endpoint> {
        ids.iter().map(|&i| ep(i, 1)).collect()
    }

    /// One endpoint.
    pub fn ep(id: u32, weight: u32) -> Endpoint {
        Endpoint {
            id: EndpointId(id),
            weight,
        }
    }

    /// A fixed test stream.
    pub fn rng(n: u64) -> TestRng {
        stream(42, Role::Policy, n)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn in_flight_counts_up_and_down() {
        let mut f = InFlight::default();
        assert_eq!(f.get(EndpointId(7)), 0);
        f.add(EndpointId(7));
        f.add(EndpointId(7));
        f.remove(EndpointId(7));
        assert_eq!(f.get(EndpointId(7)), 1);
        assert_eq!(f.get(EndpointId(3)), 0);
    }

    #[test]
    fn two_distinct_is_uniform_over_ordered_pairs() {
        let mut r = rng(1);
        let mut counts = [[0u32; 3]; 3];
        for _ in 0..60_000 {
            let (a, b) = two_distinct(3, &mut r);
            assert_ne!(a, b);
            counts[a][b] += 1;
        }
        for (a, row) in counts.iter().enumerate() {
            for (b, &c) in row.iter().enumerate() {
                if a != b {
                    assert!((9_300..10_700).contains(&c), "({a},{b}): {c}");
                }
            }
        }
    }

    #[test]
    fn min_ties_are_broken_uniformly() {
        let e = eps(&[0, 1, 2, 3]);
        let load = [5u32, 1, 9, 1];
        let mut r = rng(2);
        let mut counts = [0u32; 4];
        for _ in 0..20_000 {
            counts[min_with_random_ties(&e, |id| load[id.index()], &mut r).index()] += 1;
        }
        assert_eq!(counts[0] + counts[2], 0);
        assert!((9_500..10_500).contains(&counts[1]), "{counts:?}");
    }

    #[test]
    fn mixer_is_fixed() {
        // Pinned so a ring never changes between versions by accident.
        assert_eq!(mix64(0), 0xE220_A839_7B1D_CDAF);
    }
}

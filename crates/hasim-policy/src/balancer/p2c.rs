//! Power of `choices` random choices, least in-flight (Envoy LEAST_REQUEST; Finagle
//! and tower P2C with two distinct picks).

use rand::Rng;

use super::common::{Candidates, InFlight};
use super::PickRequest;
use crate::{ConfigError, EndpointId};

/// The most picks per request: keeps a pick's cost bounded whatever the scenario says.
pub const MAX_CHOICES: u32 = 1024;

/// Parameters of `p2c`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct P2cConfig {
    /// Random picks per request (Envoy `choice_count`).
    pub choices: u32,
    /// Picks are distinct endpoints (Finagle, tower) rather than drawn with
    /// replacement (Envoy).
    pub distinct: bool,
}

impl Default for P2cConfig {
    fn default() -> Self {
        P2cConfig {
            choices: 2,
            distinct: true,
        }
    }
}

impl P2cConfig {
    /// Checks `2 <= choices <= MAX_CHOICES`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if (2..=MAX_CHOICES).contains(&self.choices) {
            Ok(())
        } else {
            Err(ConfigError::new(
                "choices",
                format!(
                    "= {} must be between 2 and {MAX_CHOICES} (1 would be plain random)",
                    self.choices
                ),
            ))
        }
    }
}

/// Samples `choices` eligible endpoints and keeps the one with the fewest attempts in
/// flight from this client; on a tie the earliest pick wins (Envoy's strict `<`).
/// With `distinct`, the k-th pick is uniform over the endpoints not picked yet, so
/// pick order is a uniform random order and ties stay fair.
#[derive(Clone, Debug)]
pub struct P2c {
    choices: usize,
    distinct: bool,
    in_flight: InFlight,
    /// Indices already picked in this request, ascending. Reused (inline up to four
    /// choices), so a pick never allocates after warm-up.
    taken: Taken,
}

impl P2c {
    /// A balancer for a validated config.
    pub fn new(config: &P2cConfig) -> P2c {
        P2c {
            choices: config.choices as usize,
            distinct: config.distinct,
            in_flight: InFlight::default(),
            taken: Taken::with_capacity(config.choices as usize),
        }
    }

    /// The least-loaded of `choices` random eligible endpoints.
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        self.pick_in(Candidates::all(req.eligible), rng)
    }

    /// [`P2c::pick`] over `candidates` (the eligible list, or that list minus the
    /// endpoints a retry avoids, read in place).
    pub(crate) fn pick_in<R: Rng + ?Sized>(
        &mut self,
        candidates: Candidates,
        rng: &mut R,
    ) -> EndpointId {
        let in_flight = &self.in_flight;
        least_loaded(
            self.choices,
            self.distinct,
            &mut self.taken,
            candidates,
            |id| in_flight.get(id),
            rng,
        )
    }

    /// [`P2c::pick_in`] with each endpoint's in-flight count read from `load` instead
    /// of this balancer's own counts, for a caller that keeps them itself (and then
    /// calls neither `on_send` nor `on_done`). The client stack keeps them in its
    /// per-endpoint state, in the cache line a send and an outcome touch anyway: at
    /// fleet scale a separate count is one more cache miss per candidate.
    pub(crate) fn pick_with_loads<R: Rng + ?Sized>(
        &mut self,
        candidates: Candidates,
        load: impl Fn(EndpointId) -> u32,
        rng: &mut R,
    ) -> EndpointId {
        least_loaded(
            self.choices,
            self.distinct,
            &mut self.taken,
            candidates,
            load,
            rng,
        )
    }

    /// Calls `each` with the endpoints the next [`P2c::pick_with_loads`] over
    /// `candidates` would compare if it drew on `rng` (a copy of the stream), and
    /// changes nothing: what a driver prefetches before the pick (see
    /// [`crate::client::Client::prefetch_start_call`]).
    pub(crate) fn peek_candidates<R: Rng + ?Sized>(
        &self,
        candidates: Candidates,
        each: impl Fn(EndpointId),
        rng: &mut R,
    ) {
        let mut taken = Taken::new();
        let load = |id| {
            each(id);
            0
        };
        least_loaded(
            self.choices,
            self.distinct,
            &mut taken,
            candidates,
            load,
            rng,
        );
    }

    /// An attempt to `ep` left.
    pub fn on_send(&mut self, ep: EndpointId) {
        self.in_flight.add(ep);
    }

    /// An attempt to `ep` ended (answered, timed out or cancelled).
    pub fn on_done(&mut self, ep: EndpointId) {
        self.in_flight.remove(ep);
    }
}

/// The positions a pick has drawn so far.
type Taken = smallvec::SmallVec<[usize; 4]>;

/// The least-loaded of `choices` random picks among `candidates` (distinct ones if
/// `distinct`), the first drawn on a tie. `taken` is scratch space.
fn least_loaded<R: Rng + ?Sized>(
    choices: usize,
    distinct: bool,
    taken: &mut Taken,
    candidates: Candidates,
    load: impl Fn(EndpointId) -> u32,
    rng: &mut R,
) -> EndpointId {
    let n = candidates.len();
    if n == 1 {
        return candidates.id(0);
    }
    let draws = if distinct { choices.min(n) } else { choices };
    if distinct && draws == 2 {
        // The default, unrolled: the same two draws `draw_distinct` makes (the
        // second among the `n - 1` others, stepping over the first), without the
        // scratch list. Every call of a p2c client comes through here.
        let first = rng.random_range(0..n);
        let mut second = rng.random_range(0..n - 1);
        if second >= first {
            second += 1;
        }
        let (a, b) = (candidates.id(first), candidates.id(second));
        let load_a = load(a);
        return if load(b) < load_a { b } else { a };
    }
    taken.clear();
    let mut best: Option<(EndpointId, u32)> = None;
    for _ in 0..draws {
        let i = if distinct {
            draw_distinct(taken, n, rng)
        } else {
            rng.random_range(0..n)
        };
        let id = candidates.id(i);
        let load = load(id);
        match best {
            Some((_, l)) if l <= load => {}
            _ => best = Some((id, load)),
        }
    }
    best.expect("at least two draws").0
}

/// A uniform index in `0..n` not in `taken` (ascending), added to it: draw among the
/// `n - k` left and step over the taken ones in ascending order (tower's trick for
/// two, generalized).
fn draw_distinct<R: Rng + ?Sized>(taken: &mut Taken, n: usize, rng: &mut R) -> usize {
    let mut i = rng.random_range(0..n - taken.len());
    for &t in taken.iter() {
        if t <= i {
            i += 1;
        } else {
            break;
        }
    }
    let at = taken.partition_point(|&t| t < i);
    taken.insert(at, i);
    i
}

#[cfg(test)]
mod tests {
    use super::super::common::testing::{eps, rng};
    use super::*;
    use crate::time::Instant;

    fn pick_counts(b: &mut P2c, ids: &[u32], picks: u32) -> Vec<u32> {
        let e = eps(ids);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        let mut r = rng(11);
        let mut counts = vec![0u32; 16];
        for _ in 0..picks {
            counts[b.pick(&req, &mut r).index()] += 1;
        }
        counts
    }

    fn loaded(config: P2cConfig, loads: &[(u32, u32)]) -> P2c {
        let mut b = P2c::new(&config);
        for &(ep, n) in loads {
            (0..n).for_each(|_| b.on_send(EndpointId(ep)));
        }
        b
    }

    #[test]
    fn the_most_loaded_of_three_is_never_picked_with_distinct_pairs() {
        let mut b = loaded(P2cConfig::default(), &[(0, 1), (1, 2), (2, 5)]);
        let c = pick_counts(&mut b, &[0, 1, 2], 30_000);
        assert_eq!(c[2], 0, "{c:?}");
        // 0 wins both pairs it is in (2/3), 1 wins only {1,2} (1/3).
        assert!((19_300..20_700).contains(&c[0]), "{c:?}");
    }

    /// The candidates a peek on a copy of the stream names are the ones the pick then
    /// compares: the pick chooses among them, and both drew as much from the stream.
    #[test]
    fn a_peek_names_the_candidates_the_pick_compares() {
        for config in [
            P2cConfig::default(),
            P2cConfig {
                choices: 3,
                distinct: false,
            },
        ] {
            let mut b = P2c::new(&config);
            let e = eps(&(0..40).collect::<Vec<u32>>());
            let skip = [3, 17];
            let mut r = rng(5);
            for pick in 0..2_000u32 {
                let candidates = Candidates::skipping(&e, if pick % 2 == 0 { &[] } else { &skip });
                let named = std::cell::RefCell::new(Vec::new());
                let mut copy = r.clone();
                b.peek_candidates(candidates, |id| named.borrow_mut().push(id), &mut copy);
                let load = |id: EndpointId| id.0.wrapping_mul(2_654_435_761) % 7;
                let picked = b.pick_with_loads(candidates, load, &mut r);
                let named = named.into_inner();
                assert_eq!(named.len(), config.choices as usize);
                assert!(named.contains(&picked), "{picked:?} not in {named:?}");
                assert_eq!(copy.random::<u64>(), r.clone().random::<u64>());
            }
        }
    }

    #[test]
    fn with_replacement_the_worst_is_picked_when_drawn_twice() {
        let config = P2cConfig {
            choices: 2,
            distinct: false,
        };
        let mut b = loaded(config, &[(0, 1), (1, 5)]);
        let c = pick_counts(&mut b, &[0, 1], 40_000);
        assert!((9_400..10_600).contains(&c[1]), "1/4 of picks: {c:?}");
    }

    #[test]
    fn ties_go_to_the_first_pick_so_stay_uniform() {
        let mut b = P2c::new(&P2cConfig::default());
        let c = pick_counts(&mut b, &[0, 1, 2, 3], 40_000);
        assert!(
            c[..4].iter().all(|&x| (9_400..10_600).contains(&x)),
            "{c:?}"
        );
    }

    #[test]
    fn on_a_tie_the_first_pick_wins() {
        let e = eps(&[0, 1, 2, 3, 4]);
        let req = PickRequest {
            now: Instant::ZERO,
            eligible: &e,
            known: &e,
            hash_key: 0,
            known_generation: None,
        };
        // Endpoint 4 is busier; the others tie.
        let mut b = loaded(P2cConfig::default(), &[(4, 1)]);
        let mut r = rng(12);
        for _ in 0..200 {
            // Replay the draws: first uniform over 5, second over the 4 others.
            let mut replay = r.clone();
            let first = replay.random_range(0..5usize);
            let mut second = replay.random_range(0..4usize);
            if second >= first {
                second += 1;
            }
            let want = if first == 4 { second } else { first };
            assert_eq!(b.pick(&req, &mut r), EndpointId(want as u32));
        }
    }

    #[test]
    fn choices_over_the_eligible_count_scan_everything() {
        let config = P2cConfig {
            choices: 10,
            distinct: true,
        };
        let mut b = loaded(config, &[(0, 3), (1, 1), (2, 2)]);
        let c = pick_counts(&mut b, &[0, 1, 2], 1_000);
        assert_eq!(c[1], 1_000, "{c:?}");
    }

    #[test]
    fn one_endpoint_is_returned_without_drawing() {
        let mut b = loaded(P2cConfig::default(), &[(4, 9)]);
        assert_eq!(pick_counts(&mut b, &[4], 10)[4], 10);
    }

    #[test]
    fn completions_lower_the_load() {
        let mut b = loaded(P2cConfig::default(), &[(0, 2), (1, 1)]);
        assert_eq!(pick_counts(&mut b, &[0, 1], 100)[1], 100);
        b.on_done(EndpointId(0));
        b.on_done(EndpointId(0));
        assert_eq!(pick_counts(&mut b, &[0, 1], 100)[0], 100);
    }

    #[test]
    fn validation_names_the_range() {
        assert!(P2cConfig::default().validate().is_ok());
        let err = P2cConfig {
            choices: 1,
            distinct: true,
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.key, "choices");
        assert!(err.problem.contains("between 2 and"), "{err}");
    }
}

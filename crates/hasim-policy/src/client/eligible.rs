//! The endpoints a pick may choose from, kept up to date as things change.
//!
//! Every endpoint the client knows sits in its tier's `known` list; those that health
//! checks, outlier detection and their endpoint breaker all allow sit in the tier's
//! `eligible` list too. Both lists stay sorted by id (balancers and hashing rely on
//! it), so a change costs one binary search and one `memmove` of at most the tier's
//! size (a few microseconds at 10,000 endpoints), while a pick costs nothing extra:
//! the balancer gets a slice. Changes (a breaker opening, an ejection, a health flip,
//! discovery) are rare next to picks, which is what makes the cost of a call
//! independent of the fleet's size.

use crate::balancer::{range_start, Candidates};
use crate::{Endpoint, EndpointId};

/// The endpoints of one tier.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tier {
    /// The tier number (0 = primary).
    pub(crate) tier: u32,
    /// Every known endpoint of the tier, sorted by id.
    pub(crate) known: Vec<Endpoint>,
    /// The eligible ones, sorted by id.
    pub(crate) eligible: Vec<Endpoint>,
    /// The known ones that are not eligible, sorted by id.
    pub(crate) holes: Vec<EndpointId>,
    /// The first known id, when the known ids are a whole range (the usual state of a
    /// densely numbered view): the eligible list is then that range minus `holes`.
    pub(crate) known_from: Option<u32>,
}

impl Tier {
    /// The known list (`known`) or the eligible one as a pick's candidates, without
    /// the positions in `skip`. When the known ids are a range, the ids are computed
    /// from `holes` (see [`Candidates::dense`]).
    #[inline]
    pub(crate) fn candidates<'a>(&'a self, known: bool, skip: &'a [usize]) -> Candidates<'a> {
        let list = if known { &self.known } else { &self.eligible };
        match self.known_from {
            Some(first) => {
                Candidates::dense(list, skip, first, if known { &[] } else { &self.holes })
            }
            None => Candidates::skipping(list, skip),
        }
    }

    /// Notes whether the known ids are a whole range, after `known` changed.
    fn known_changed(&mut self) {
        self.known_from = range_start(&self.known);
    }

    /// Moves `ep` (known) into the eligible list or out of it; true if it moved.
    fn set_eligible(&mut self, ep: Endpoint, eligible: bool) -> bool {
        let moved = if eligible {
            insert_sorted(&mut self.eligible, ep)
        } else {
            remove_sorted(&mut self.eligible, ep.id)
        };
        if moved {
            let hole_moved = if eligible {
                remove_sorted(&mut self.holes, ep.id)
            } else {
                insert_sorted(&mut self.holes, ep.id)
            };
            debug_assert!(hole_moved, "holes are the known endpoints not eligible");
        }
        moved
    }

    /// The known list (`true`) or the eligible one, to pick from.
    pub(crate) fn list_mut(&mut self, known: bool) -> &mut Vec<Endpoint> {
        if known {
            &mut self.known
        } else {
            &mut self.eligible
        }
    }
}

/// Known and eligible endpoints, per tier and in all.
#[derive(Clone, Debug, Default)]
pub(crate) struct EligibleSet {
    /// Tiers with at least one known endpoint, sorted by tier number.
    pub(crate) tiers: Vec<Tier>,
    /// Every known endpoint of every tier, sorted by id (hashing balancers build their
    /// ring or table over it).
    pub(crate) known: Vec<Endpoint>,
    /// Eligible endpoints over all tiers.
    pub(crate) eligible_count: usize,
    /// Changes whenever `known` does: hashing balancers rebuild only then
    /// ([`crate::balancer::PickRequest::known_generation`]).
    pub(crate) known_generation: u64,
}

/// What the sorted lists hold: endpoints, or (a tier's holes) bare ids.
trait ById: Copy {
    fn id(&self) -> EndpointId;
}

impl ById for Endpoint {
    fn id(&self) -> EndpointId {
        self.id
    }
}

impl ById for EndpointId {
    fn id(&self) -> EndpointId {
        *self
    }
}

/// Inserts `item` into `list` (sorted by id) unless its id is there; true if
/// inserted. An id above all others is pushed without a search: a view is usually
/// learned in id order (at fleet scale, 100 instances x 1,000 endpoints at start-up).
fn insert_sorted<T: ById>(list: &mut Vec<T>, item: T) -> bool {
    if list.last().is_none_or(|last| last.id() < item.id()) {
        list.push(item);
        return true;
    }
    match list.binary_search_by_key(&item.id(), T::id) {
        Ok(_) => false,
        Err(i) => {
            list.insert(i, item);
            true
        }
    }
}

/// Removes `id` from `list` (sorted by id) if it is there; true if removed.
fn remove_sorted<T: ById>(list: &mut Vec<T>, id: EndpointId) -> bool {
    match list.binary_search_by_key(&id, T::id) {
        Ok(i) => {
            list.remove(i);
            true
        }
        Err(_) => false,
    }
}

/// Sets the weight of `id` in `list` if it is there.
fn reweigh(list: &mut [Endpoint], id: EndpointId, weight: u32) {
    if let Ok(i) = list.binary_search_by_key(&id, |e| e.id) {
        list[i].weight = weight;
    }
}

impl EligibleSet {
    /// The index of tier number `tier` in `tiers`, added if new.
    fn tier_index(&mut self, tier: u32) -> usize {
        match self.tiers.binary_search_by_key(&tier, |t| t.tier) {
            Ok(i) => i,
            Err(i) => {
                self.tiers.insert(
                    i,
                    Tier {
                        tier,
                        ..Tier::default()
                    },
                );
                i
            }
        }
    }

    /// `ep` joins tier `tier`, eligible or not.
    pub(crate) fn add(&mut self, ep: Endpoint, tier: u32, eligible: bool) {
        let t = self.tier_index(tier);
        let set = &mut self.tiers[t];
        if insert_sorted(&mut set.known, ep) {
            set.known_changed();
            // New to the tier: eligible, or one of its holes.
            if eligible {
                let inserted = insert_sorted(&mut set.eligible, ep);
                debug_assert!(inserted, "the eligible endpoints are known");
                self.eligible_count += 1;
            } else {
                insert_sorted(&mut set.holes, ep.id);
            }
        } else if eligible && set.set_eligible(ep, true) {
            self.eligible_count += 1;
        }
        if insert_sorted(&mut self.known, ep) {
            self.known_generation += 1;
        }
    }

    /// `id` of tier `tier` leaves; a tier left empty is dropped.
    pub(crate) fn remove(&mut self, id: EndpointId, tier: u32) {
        if remove_sorted(&mut self.known, id) {
            self.known_generation += 1;
        }
        let Ok(t) = self.tiers.binary_search_by_key(&tier, |t| t.tier) else {
            return;
        };
        let set = &mut self.tiers[t];
        if remove_sorted(&mut set.known, id) {
            set.known_changed();
        }
        if remove_sorted(&mut set.eligible, id) {
            self.eligible_count -= 1;
        } else {
            remove_sorted(&mut set.holes, id);
        }
        if set.known.is_empty() {
            self.tiers.remove(t);
        }
    }

    /// `ep` (known, in tier `tier`) becomes eligible or not.
    pub(crate) fn set_eligible(&mut self, ep: Endpoint, tier: u32, eligible: bool) {
        let Ok(t) = self.tiers.binary_search_by_key(&tier, |t| t.tier) else {
            return;
        };
        if self.tiers[t].set_eligible(ep, eligible) {
            if eligible {
                self.eligible_count += 1;
            } else {
                self.eligible_count -= 1;
            }
        }
    }

    /// `id` in tier `tier` now has `weight`.
    pub(crate) fn set_weight(&mut self, id: EndpointId, tier: u32, weight: u32) {
        reweigh(&mut self.known, id, weight);
        self.known_generation += 1;
        if let Ok(t) = self.tiers.binary_search_by_key(&tier, |t| t.tier) {
            reweigh(&mut self.tiers[t].known, id, weight);
            reweigh(&mut self.tiers[t].eligible, id, weight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(id: u32) -> Endpoint {
        Endpoint {
            id: EndpointId(id),
            weight: 1,
        }
    }

    fn ids(list: &[Endpoint]) -> Vec<u32> {
        list.iter().map(|e| e.id.0).collect()
    }

    #[test]
    fn lists_stay_sorted_and_counted() {
        let mut set = EligibleSet::default();
        set.add(ep(5), 0, true);
        set.add(ep(1), 0, false);
        set.add(ep(3), 1, true);
        assert_eq!(ids(&set.known), [1, 3, 5]);
        assert_eq!(ids(&set.tiers[0].known), [1, 5]);
        assert_eq!(ids(&set.tiers[0].eligible), [5]);
        assert_eq!(set.eligible_count, 2);
        set.set_eligible(ep(1), 0, true);
        set.set_eligible(ep(1), 0, true);
        assert_eq!(ids(&set.tiers[0].eligible), [1, 5]);
        assert_eq!(set.eligible_count, 3, "setting twice counts once");
        set.remove(EndpointId(3), 1);
        assert_eq!(set.tiers.len(), 1, "an empty tier is dropped");
        assert_eq!(set.eligible_count, 2);
        assert!(set.tiers[0].holes.is_empty());
        set.set_weight(EndpointId(5), 0, 7);
        assert_eq!(set.tiers[0].eligible[1].weight, 7);
        assert_eq!(set.known[1].weight, 7);
    }

    /// Whatever joins, leaves or flips, a tier's holes are its known endpoints that
    /// are not eligible, and when its known ids are a range the candidates computed
    /// from the holes name the eligible list's ids, position by position.
    #[test]
    fn holes_are_the_known_minus_the_eligible() {
        let mut set = EligibleSet::default();
        let mut x = 12345u64;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u32
        };
        for id in 0..30 {
            set.add(ep(id), 0, next() % 2 == 0);
        }
        let mut checked_dense = 0;
        for step in 0..4000 {
            let id = next() % 32;
            match next() % 8 {
                // A gap in the known range comes and goes.
                0 | 1 => set.add(ep(id), 0, next() % 2 == 0),
                2 if step % 8 == 0 => set.remove(EndpointId(id), 0),
                // Only a known endpoint changes eligibility (the stack's contract).
                _ if set.known.iter().any(|k| k.id.0 == id) => {
                    set.set_eligible(ep(id), 0, next() % 3 != 0)
                }
                _ => {}
            }
            let Some(tier) = set.tiers.first() else {
                continue;
            };
            let expected: Vec<EndpointId> = tier
                .known
                .iter()
                .filter(|k| tier.eligible.binary_search_by_key(&k.id, |e| e.id).is_err())
                .map(|k| k.id)
                .collect();
            assert_eq!(tier.holes, expected, "step {step}");
            let range = tier.known.last().map(|l| l.id.0 - tier.known[0].id.0 + 1);
            assert_eq!(
                tier.known_from.is_some(),
                range == Some(tier.known.len() as u32),
                "step {step}"
            );
            if tier.known_from.is_some() {
                let candidates = tier.candidates(false, &[]);
                assert_eq!(candidates.len(), tier.eligible.len());
                for (i, e) in tier.eligible.iter().enumerate() {
                    assert_eq!(candidates.id(i), e.id, "step {step}, position {i}");
                }
                checked_dense += 1;
            }
        }
        assert!(checked_dense > 100, "{checked_dense} dense states checked");
    }
}

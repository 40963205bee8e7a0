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
}

impl Tier {
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

/// Inserts `ep` into `list` (sorted by id) unless it is there; true if inserted.
fn insert_sorted(list: &mut Vec<Endpoint>, ep: Endpoint) -> bool {
    match list.binary_search_by_key(&ep.id, |e| e.id) {
        Ok(_) => false,
        Err(i) => {
            list.insert(i, ep);
            true
        }
    }
}

/// Removes `id` from `list` (sorted by id) if it is there; true if removed.
fn remove_sorted(list: &mut Vec<Endpoint>, id: EndpointId) -> bool {
    match list.binary_search_by_key(&id, |e| e.id) {
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
        insert_sorted(&mut self.tiers[t].known, ep);
        if insert_sorted(&mut self.known, ep) {
            self.known_generation += 1;
        }
        if eligible && insert_sorted(&mut self.tiers[t].eligible, ep) {
            self.eligible_count += 1;
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
        remove_sorted(&mut set.known, id);
        if remove_sorted(&mut set.eligible, id) {
            self.eligible_count -= 1;
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
        let list = &mut self.tiers[t].eligible;
        if eligible {
            if insert_sorted(list, ep) {
                self.eligible_count += 1;
            }
        } else if remove_sorted(list, ep.id) {
            self.eligible_count -= 1;
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
        set.set_weight(EndpointId(5), 0, 7);
        assert_eq!(set.tiers[0].eligible[1].weight, 7);
        assert_eq!(set.known[1].weight, 7);
    }
}

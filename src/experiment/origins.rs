//! Where each run of a sweep's plan comes from, without a slot per run.
//!
//! A plan can hold millions of runs (`--seeds 1000000` over a few variants), and
//! nothing about a run needs memory before it starts: whether it is this folder's
//! (`--shard`) is arithmetic on its index, and only runs already on disk (`--resume`,
//! `merge`) are listed. So start-up memory does not grow with the number of seeds
//! (issue 14); what grows is the list of runs found in earlier folders, which are
//! on disk already.

use std::collections::BTreeMap;

use super::Shard;

/// Where run `i` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Not in this folder (another shard's).
    Skip,
    /// From earlier folder number `.0`.
    Folder(u16),
    /// From the workers.
    Run,
}

/// The origin of every run of a plan: runs found in earlier folders come from them,
/// the others of this folder's shard (every run, unsharded) from the workers.
#[derive(Clone, Debug)]
pub(crate) struct Origins {
    /// Runs in the plan.
    runs: usize,
    /// This folder's shard (`None`: every run).
    shard: Option<Shard>,
    /// Runs found in earlier folders: plan index -> folder number.
    found: BTreeMap<usize, u16>,
}

impl Origins {
    /// Every run of a plan of `runs` in `shard` (all, if `None`) from the workers.
    pub(crate) fn new(runs: usize, shard: Option<Shard>) -> Origins {
        Origins {
            runs,
            shard,
            found: BTreeMap::new(),
        }
    }

    /// Run `index` (of this folder, not found yet) comes from earlier folder `folder`;
    /// a run found in two folders comes from the first.
    pub(crate) fn found_in(&mut self, index: usize, folder: u16) {
        if self.get(index) == Origin::Run {
            self.found.insert(index, folder);
        }
    }

    /// Where run `index` comes from.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Origin {
        if let Some(&folder) = self.found.get(&index) {
            Origin::Folder(folder)
        } else if self.shard.is_none_or(|s| s.holds(index)) {
            Origin::Run
        } else {
            Origin::Skip
        }
    }

    /// Runs in the plan (this folder's or not).
    pub(crate) fn runs(&self) -> usize {
        self.runs
    }

    /// Every run's origin, in plan order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, Origin)> + '_ {
        (0..self.runs).map(|index| (index, self.get(index)))
    }

    /// How many runs come from `origin`.
    pub(crate) fn count(&self, origin: Origin) -> usize {
        self.iter().filter(|&(_, o)| o == origin).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_and_found_runs_give_each_run_one_origin() {
        let shard = Shard { index: 2, count: 3 };
        let mut origins = Origins::new(8, Some(shard));
        origins.found_in(4, 0);
        origins.found_in(4, 1); // the first folder keeps it
        origins.found_in(3, 0); // another shard's: stays skipped
        let all: Vec<Origin> = origins.iter().map(|(_, o)| o).collect();
        use Origin::*;
        assert_eq!(all, [Skip, Run, Skip, Skip, Folder(0), Skip, Skip, Run]);
        assert_eq!(origins.count(Run), 2);
        assert_eq!(origins.count(Folder(0)), 1);
        assert_eq!(origins.count(Skip), 5);
        let whole = Origins::new(3, None);
        assert!(whole.iter().all(|(_, o)| o == Run));
    }

    #[test]
    fn a_plan_of_millions_holds_nothing_per_run() {
        let origins = Origins::new(50_000_000, None);
        assert_eq!(
            std::mem::size_of_val(&origins),
            std::mem::size_of::<Origins>()
        );
        assert_eq!(origins.get(49_999_999), Origin::Run);
        assert!(origins.found.is_empty());
    }
}

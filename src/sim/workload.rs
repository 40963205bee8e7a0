//! Arrival processes of client instances.

use rand::Rng;
use rand_distr::Exp1;

use crate::dist::Dist;
use crate::rng::SimRng;
use crate::scenario::ArrivalConfig;

/// How one client instance's calls arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// Exponential gaps with this mean (ns).
    Poisson {
        /// Mean gap between calls, ns.
        mean_gap_ns: f64,
    },
    /// Evenly spaced calls this far apart (ns, fractional so long runs do not drift).
    Constant {
        /// Gap between calls, ns.
        gap_ns: f64,
    },
    /// `callers` callers, each starting its next call after the previous one ends and
    /// it has thought.
    Closed {
        /// Callers in this instance.
        callers: u32,
        /// Think time.
        think: Dist,
    },
}

impl Arrivals {
    /// The arrivals of one of `instances` instances sharing `config`'s total rate.
    pub fn per_instance(config: &ArrivalConfig, instances: u32) -> Arrivals {
        let per = |rate: f64| 1e9 * f64::from(instances) / rate;
        match config {
            ArrivalConfig::Poisson { rate } => Arrivals::Poisson {
                mean_gap_ns: per(*rate),
            },
            ArrivalConfig::Constant { rate } => Arrivals::Constant { gap_ns: per(*rate) },
            ArrivalConfig::Closed { concurrency, think } => Arrivals::Closed {
                callers: *concurrency,
                think: think.clone(),
            },
        }
    }

    /// The gap before the next open-loop arrival, ns (`last_ns` is the previous
    /// arrival's exact time for evenly spaced arrivals).
    #[inline]
    pub fn next_arrival(&self, rng: &mut SimRng, last_ns: f64) -> f64 {
        match self {
            Arrivals::Poisson { mean_gap_ns } => last_ns + rng.sample::<f64, _>(Exp1) * mean_gap_ns,
            Arrivals::Constant { gap_ns } => last_ns + gap_ns,
            Arrivals::Closed { .. } => f64::INFINITY,
        }
    }

    /// The first arrival: Poisson starts memoryless; evenly spaced instances start at a
    /// random phase so they are not synchronized.
    pub fn first_arrival(&self, rng: &mut SimRng) -> f64 {
        match self {
            Arrivals::Poisson { .. } => self.next_arrival(rng, 0.0),
            Arrivals::Constant { gap_ns } => rng.random::<f64>() * gap_ns,
            Arrivals::Closed { .. } => f64::INFINITY,
        }
    }
}

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
    /// Poisson whose mean gap is `burst_gap_ns` in `[from_ns, to_ns)` and `mean_gap_ns`
    /// elsewhere.
    Burst {
        /// Mean gap outside the burst, ns.
        mean_gap_ns: f64,
        /// Mean gap during the burst, ns.
        burst_gap_ns: f64,
        /// Burst start, ns since the start of the run.
        from_ns: f64,
        /// Burst end, ns since the start of the run.
        to_ns: f64,
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
    pub fn per_instance(config: &ArrivalConfig, instances: u32, warmup_ns: u64) -> Arrivals {
        let per = |rate: f64| 1e9 * f64::from(instances) / rate;
        match config {
            ArrivalConfig::Poisson { rate } => Arrivals::Poisson {
                mean_gap_ns: per(*rate),
            },
            ArrivalConfig::Constant { rate } => Arrivals::Constant { gap_ns: per(*rate) },
            ArrivalConfig::Burst {
                rate,
                burst_rate,
                at,
                duration,
            } => {
                let from_ns = warmup_ns as f64 + crate::time::nanos(*at) as f64;
                Arrivals::Burst {
                    mean_gap_ns: per(*rate),
                    burst_gap_ns: per(*burst_rate),
                    from_ns,
                    to_ns: from_ns + crate::time::nanos(*duration) as f64,
                }
            }
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
            Arrivals::Burst {
                mean_gap_ns,
                burst_gap_ns,
                from_ns,
                to_ns,
            } => {
                // One unit-mean exponential of "work", spent at the rate of each piece
                // of the timeline it crosses (memorylessness makes this exact).
                let mut work: f64 = rng.sample(Exp1);
                let mut t = last_ns;
                loop {
                    let (gap, boundary) = if t < *from_ns {
                        (*mean_gap_ns, *from_ns)
                    } else if t < *to_ns {
                        (*burst_gap_ns, *to_ns)
                    } else {
                        (*mean_gap_ns, f64::INFINITY)
                    };
                    let next = t + work * gap;
                    if next < boundary {
                        return next;
                    }
                    work -= (boundary - t) / gap;
                    t = boundary;
                }
            }
            Arrivals::Closed { .. } => f64::INFINITY,
        }
    }

    /// The first arrival: Poisson starts memoryless; evenly spaced instances start at a
    /// random phase so they are not synchronized.
    pub fn first_arrival(&self, rng: &mut SimRng) -> f64 {
        match self {
            Arrivals::Poisson { .. } | Arrivals::Burst { .. } => self.next_arrival(rng, 0.0),
            Arrivals::Constant { gap_ns } => rng.random::<f64>() * gap_ns,
            Arrivals::Closed { .. } => f64::INFINITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Role};

    #[test]
    fn bursts_raise_the_rate_only_inside_their_window() {
        let a = Arrivals::Burst {
            mean_gap_ns: 1e6,
            burst_gap_ns: 2.5e5,
            from_ns: 10e9,
            to_ns: 20e9,
        };
        let mut rng = stream(1, Role::Arrivals, 0);
        let (mut t, mut counts) = (0.0, [0u32; 3]);
        while t < 30e9 {
            t = a.next_arrival(&mut rng, t);
            if t < 30e9 {
                counts[(t / 10e9) as usize] += 1;
            }
        }
        // 1000/s, then 4000/s, then 1000/s for 10 s each (Poisson: sd ~ 1-2%).
        assert!((9_700..10_300).contains(&counts[0]), "{counts:?}");
        assert!((39_400..40_600).contains(&counts[1]), "{counts:?}");
        assert!((9_700..10_300).contains(&counts[2]), "{counts:?}");
    }
}

//! The network: one-way latency and loss for every message.
//!
//! The sender's own random stream draws the delay and the loss, so what one node sends
//! never shifts the draws of another.

use crate::dist::Dist;
use crate::rng::SimRng;
use rand::Rng;

/// Latency and loss shared by every link.
#[derive(Clone, Debug)]
pub struct Network {
    latency: Dist,
    loss: f64,
    /// The one delay every message takes, when there is no loss and the latency is
    /// constant (the common case of benchmarks and theory checks: no draw, no match).
    steady_ns: Option<u64>,
}

impl Network {
    /// A network with the given one-way latency and loss probability.
    pub fn new(latency: Dist, loss: f64) -> Network {
        let steady_ns = match latency {
            Dist::Constant { ns } if loss == 0.0 => Some(ns),
            _ => None,
        };
        Network {
            latency,
            loss,
            steady_ns,
        }
    }

    /// True if every message arrives after the same delay: no loss, constant latency
    /// (then [`Network::transit_ns`] draws no random number).
    pub fn is_steady(&self) -> bool {
        self.steady_ns.is_some()
    }

    /// The one-way delay of a message in nanoseconds, or `None` if it is lost.
    #[inline]
    pub fn transit_ns(&self, rng: &mut SimRng) -> Option<u64> {
        if let Some(ns) = self.steady_ns {
            return Some(ns);
        }
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return None;
        }
        Some(self.latency.sample_ns(rng))
    }
}

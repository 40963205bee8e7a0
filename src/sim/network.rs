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
}

impl Network {
    /// A network with the given one-way latency and loss probability.
    pub fn new(latency: Dist, loss: f64) -> Network {
        Network { latency, loss }
    }

    /// True if every message arrives after the same delay: no loss, constant latency
    /// (then [`Network::transit_ns`] draws no random number).
    pub fn is_steady(&self) -> bool {
        self.loss == 0.0 && matches!(self.latency, Dist::Constant { .. })
    }

    /// The one-way delay of a message in nanoseconds, or `None` if it is lost.
    #[inline]
    pub fn transit_ns(&self, rng: &mut SimRng) -> Option<u64> {
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return None;
        }
        Some(self.latency.sample_ns(rng))
    }
}

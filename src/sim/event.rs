//! The closed set of events. Small and `Copy`: no allocation per event, no `dyn`.
//!
//! Events that may be cancelled carry the generation of the slot they refer to; a stale
//! generation means "cancelled" and the event is dropped when popped.

use super::ids::{ClientId, RequestId, ServerId};
use crate::policy::client::Timer;

/// What a server's answer says, as it travels back to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Served successfully.
    Ok,
    /// Served, but with an error.
    Error,
    /// Turned away at once: the queue was full.
    Rejected,
    /// Connection refused: the server is down.
    Refused,
}

/// Everything that can happen in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next open-loop arrival of client instance `client`.
    ArrivalTick {
        /// Client instance index.
        client: ClientId,
    },
    /// A closed-loop caller of client instance `client` starts its next call.
    CallerWake {
        /// Client instance index.
        client: ClientId,
    },
    /// An attempt's request reaches its server.
    RequestArrive {
        /// Attempt slot.
        attempt: RequestId,
        /// Attempt generation.
        gen: u32,
    },
    /// A server finishes serving an attempt.
    ServiceDone {
        /// Attempt slot.
        attempt: RequestId,
        /// Attempt generation.
        gen: u32,
        /// The server's life (a crash starts a new one; work of an old life is lost).
        epoch: u32,
    },
    /// An attempt's answer reaches its client.
    ResponseArrive {
        /// Attempt slot.
        attempt: RequestId,
        /// Attempt generation.
        gen: u32,
        /// What the server said.
        reply: Reply,
    },
    /// A timer armed by client instance `client`'s policy stack fires (attempt
    /// timeouts, backoffs, hedges, deadlines, probes, outlier ticks; the stack ignores
    /// the ones that no longer matter).
    ClientTimer {
        /// Client instance index.
        client: ClientId,
        /// The stack's timer token.
        timer: Timer,
    },
    /// Fault `fault` (declaration index) begins.
    FaultStart {
        /// Fault index.
        fault: u32,
    },
    /// Fault `fault` ends.
    FaultEnd {
        /// Fault index.
        fault: u32,
    },
    /// `random_crash` fault `fault` takes `server` down.
    ServerFail {
        /// Server id.
        server: ServerId,
        /// Fault index.
        fault: u32,
    },
    /// `random_crash` fault `fault` brings `server` back.
    ServerRepair {
        /// Server id.
        server: ServerId,
        /// Fault index.
        fault: u32,
    },
    /// `server` sends a heartbeat to the registry (stale if its life `epoch` ended).
    Heartbeat {
        /// Server id.
        server: ServerId,
        /// The server's life when the chain started.
        epoch: u32,
    },
    /// The registry checks whether `server`'s entry has expired.
    RegistryExpire {
        /// Server id.
        server: ServerId,
    },
    /// Watchers learn that `server` was added to (or removed from) the registry.
    ViewChange {
        /// Server id.
        server: ServerId,
        /// Added (true) or removed.
        add: bool,
    },
    /// Client instance `client` polls the registry.
    ViewPoll {
        /// Client instance index.
        client: ClientId,
    },
    /// The autoscaler evaluates.
    AutoscaleTick,
    /// A provisioned server becomes ready.
    ServerReady {
        /// Server id.
        server: ServerId,
    },
    /// A scaled-down server stops.
    ServerRetire {
        /// Server id.
        server: ServerId,
    },
}

impl Event {
    /// A small number per kind, for the determinism fingerprint.
    pub fn kind(&self) -> u8 {
        match self {
            Event::ArrivalTick { .. } => 1,
            Event::CallerWake { .. } => 2,
            Event::RequestArrive { .. } => 3,
            Event::ServiceDone { .. } => 4,
            Event::ResponseArrive { .. } => 5,
            Event::ClientTimer { .. } => 6,
            Event::FaultStart { .. } => 12,
            Event::FaultEnd { .. } => 13,
            Event::ServerFail { .. } => 14,
            Event::ServerRepair { .. } => 15,
            Event::Heartbeat { .. } => 16,
            Event::RegistryExpire { .. } => 17,
            Event::ViewChange { .. } => 18,
            Event::ViewPoll { .. } => 19,
            Event::AutoscaleTick => 20,
            Event::ServerReady { .. } => 21,
            Event::ServerRetire { .. } => 22,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        assert!(
            std::mem::size_of::<Event>() <= 16,
            "{} bytes",
            std::mem::size_of::<Event>()
        );
    }
}

//! The closed set of events. Small and `Copy`: no allocation per event, no `dyn`.
//!
//! Events that may be cancelled carry the generation of the slot they refer to; a stale
//! generation means "cancelled" and the event is dropped when popped.

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
        client: u32,
    },
    /// A closed-loop caller of client instance `client` starts its next call.
    CallerWake {
        /// Client instance index.
        client: u32,
    },
    /// An attempt's request reaches its server.
    RequestArrive {
        /// Attempt slot.
        attempt: u32,
        /// Attempt generation.
        gen: u32,
    },
    /// A server finishes serving an attempt.
    ServiceDone {
        /// Attempt slot.
        attempt: u32,
        /// Attempt generation.
        gen: u32,
        /// The server's life (a crash starts a new one; work of an old life is lost).
        epoch: u32,
    },
    /// An attempt's answer reaches its client.
    ResponseArrive {
        /// Attempt slot.
        attempt: u32,
        /// Attempt generation.
        gen: u32,
        /// What the server said.
        reply: Reply,
    },
    /// An attempt's timeout fires (stale if the attempt already ended).
    AttemptTimeout {
        /// Attempt slot.
        attempt: u32,
        /// Attempt generation.
        gen: u32,
    },
    /// A call's backoff has elapsed: send the next attempt.
    RetryStart {
        /// Call slot.
        call: u32,
        /// Call generation.
        gen: u32,
    },
    /// A call's deadline fires (stale if the call already ended).
    CallDeadline {
        /// Call slot.
        call: u32,
        /// Call generation.
        gen: u32,
    },
    /// A call has waited its hedge delay: send another copy (stale if it ended).
    HedgeTimer {
        /// Call slot.
        call: u32,
        /// Call generation.
        gen: u32,
    },
    /// Client instance `client` probes `endpoint` (active health checking).
    ProbeTick {
        /// Client instance index.
        client: u32,
        /// Endpoint id (server index).
        endpoint: u32,
    },
    /// Client instance `client`'s outlier detector evaluates its interval.
    OutlierTick {
        /// Client instance index.
        client: u32,
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
            Event::AttemptTimeout { .. } => 6,
            Event::RetryStart { .. } => 7,
            Event::CallDeadline { .. } => 8,
            Event::HedgeTimer { .. } => 9,
            Event::ProbeTick { .. } => 10,
            Event::OutlierTick { .. } => 11,
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

//! Clients: the simulator's driver of `hasim_policy::client::Client`.
//!
//! Each client instance runs the production client stack unchanged: the stack is the
//! state machine, and its `Action`s are the effects `world.rs` carries out (it starts
//! calls when the arrival process says so, sends attempts and probes across the
//! network, arms the stack's timers as events, hands answers back, and records
//! finished calls). This file holds the instance (its stack, streams and arrival
//! process) and the requests it sends ([`Attempt`]); it decides nothing itself (which
//! endpoint, whether to retry, hedge or fail fast are the stack's calls).
//!
//! Availability is about calls; load is about attempts (DESIGN.md).

use std::time::Duration;

use rand::Rng;

use super::event::Reply;
use super::ids::{ClientId, PopulationId, ServerId};
use super::workload::Arrivals;
use crate::policy::client::{AttemptId, Client, ProbeId};
use crate::policy::{FailureKind, Outcome};
use crate::rng::SimRng;
use crate::time::{nanos, Instant};

/// One client instance: its own policy stack, random streams and arrival process.
#[derive(Debug)]
pub struct ClientInstance {
    /// Its population (whose target groups it may learn of).
    pub population: PopulationId,
    /// How calls arrive.
    pub arrivals: Arrivals,
    /// Exact time of the last open-loop arrival (ns, fractional).
    pub last_arrival_ns: f64,
    /// The production client stack: every policy decision of this instance. It owns
    /// the instance's policy stream (balancer, jitter, tier choice).
    pub stack: Client<SimRng>,
    /// Arrival times.
    pub arrivals_rng: SimRng,
    /// Per-call draws (request keys, think times).
    pub calls_rng: SimRng,
    /// Latency and loss of its requests.
    pub net_rng: SimRng,
    /// Service time a health probe takes at the server (`probe_cost`), if any.
    pub probe_cost: Option<Duration>,
}

/// Who is waiting for a request in the world.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    /// An attempt of a call.
    Attempt(AttemptId),
    /// A health-check probe.
    Probe(ProbeId),
}

/// A request in the world: sent by a client, crossing the network, queued or served
/// at its server, or its answer on the way back. It lives exactly as long as it is in
/// the world; whether its client still waits for it is the client stack's business.
#[derive(Debug)]
pub struct Attempt {
    /// Who waits for the answer (the stack's ticket).
    pub owner: Owner,
    /// Client instance.
    pub client: ClientId,
    /// Server (= endpoint id).
    pub server: ServerId,
    /// When service started.
    pub service_start: Instant,
    /// Service time of a probe that takes a worker (`probe_cost`), else 0.
    pub probe_cost_ns: u64,
}

impl Attempt {
    /// True for a health-check probe, which is not part of any call.
    #[inline]
    pub fn is_probe(&self) -> bool {
        matches!(self.owner, Owner::Probe(_))
    }
}

impl ClientInstance {
    /// The next open-loop arrival, in nanoseconds (drawn on its arrivals stream from
    /// the exact time of the last one).
    #[inline]
    pub fn next_arrival_ns(&mut self) -> u64 {
        let next = self
            .arrivals
            .next_arrival(&mut self.arrivals_rng, self.last_arrival_ns);
        self.last_arrival_ns = next;
        next as u64
    }

    /// The application asks for a call at `now` (its request key drawn on the calls
    /// stream); the stack decides what happens to it and queues its actions.
    #[inline]
    pub fn start_call(&mut self, now: Instant) {
        let hash_key = self.calls_rng.random::<u64>();
        let _call = self.stack.start_call(now, hash_key);
    }

    /// A closed-loop caller's think time before its next call (drawn on the calls
    /// stream); `None` for an open-loop instance.
    #[inline]
    pub fn think_ns(&mut self) -> Option<u64> {
        match &self.arrivals {
            Arrivals::Closed { think, .. } => Some(think.sample_ns(&mut self.calls_rng)),
            _ => None,
        }
    }

    /// The service time a health probe of this instance takes at the server.
    #[inline]
    pub fn probe_cost_ns(&self) -> u64 {
        self.probe_cost.map_or(0, nanos)
    }

    /// The answer `reply` to the request `owner` waits for reaches the stack at `now`
    /// (it ignores answers it no longer waits for).
    #[inline]
    pub fn on_answer(&mut self, now: Instant, owner: Owner, reply: Reply) {
        let _report = match owner {
            Owner::Attempt(id) => self.stack.on_attempt_outcome(now, id, outcome_of(reply)),
            Owner::Probe(id) => self.stack.on_probe_result(now, id, reply == Reply::Ok),
        };
    }
}

/// What the client sees of a server's reply.
pub fn outcome_of(reply: Reply) -> Outcome {
    match reply {
        Reply::Ok => Outcome::Success,
        Reply::Error => Outcome::Failure(FailureKind::Error),
        Reply::Rejected => Outcome::Failure(FailureKind::Rejected),
        Reply::Refused => Outcome::Failure(FailureKind::Refused),
    }
}

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
use crate::policy::client::{AttemptId, Client, ClientConfig, ProbeId};
use crate::policy::prefetch::prefetch;
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
    /// Whether each call draws a request key: only when its balancer reads one
    /// (`ring_hash`, `maglev`), or when the stream also gives think times (a
    /// closed-loop instance: skipping the keys would move those draws). Otherwise
    /// the key goes unused, and not drawing it leaves every other draw in place
    /// while sparing a draw per call (and, at fleet scale, a stream's cache lines).
    pub draws_keys: bool,
    /// Latency and loss of its requests.
    pub net_rng: SimRng,
    /// Service time a health probe takes at the server (`probe_cost`), if any.
    pub probe_cost: Option<Duration>,
}

/// [`ClientInstance::draws_keys`] for an instance of `config` whose calls arrive as
/// `arrivals`.
pub fn draws_keys(config: &ClientConfig, arrivals: &Arrivals) -> bool {
    config.balancer.reads_hash_key() || matches!(arrivals, Arrivals::Closed { .. })
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

    /// Starts fetching the random streams a call start draws on (arrivals, network,
    /// the stack's own, and calls when it draws keys), which at fleet scale have left
    /// the cache since this instance's last call (see [`crate::policy::prefetch`]).
    #[inline]
    pub fn prefetch_streams(&self) {
        for stream in [&self.arrivals_rng, &self.net_rng] {
            prefetch(stream, 8);
        }
        if self.draws_keys {
            prefetch(&self.calls_rng, 8);
        }
        self.stack.prefetch_stream();
    }

    /// The application asks for a call at `now` (its request key drawn on the calls
    /// stream when anything reads it, see [`ClientInstance::draws_keys`]); the stack
    /// decides what happens to it and queues its actions.
    #[inline]
    pub fn start_call(&mut self, now: Instant) {
        let hash_key = if self.draws_keys {
            self.calls_rng.random::<u64>()
        } else {
            0
        };
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

#[cfg(test)]
mod tests {
    //! The instance with scripted answers: its draws stay on their own streams, and
    //! answers reach the stack as the outcomes the stack's policies act on.
    use super::*;
    use crate::policy::client::{Action, CallResult, ClientConfig};
    use crate::policy::{Endpoint, EndpointId};
    use crate::rng::{stream, Role};

    fn instance(arrivals: Arrivals) -> ClientInstance {
        let mut stack = Client::try_new(
            &ClientConfig::default(),
            Instant::ZERO,
            stream(7, Role::Policy, 0),
        )
        .expect("the default config is valid");
        let endpoint = Endpoint {
            id: EndpointId(0),
            weight: 1,
        };
        stack.on_endpoint_added(Instant::ZERO, endpoint, 0);
        let draws_keys = draws_keys(stack.config(), &arrivals);
        ClientInstance {
            population: PopulationId(0),
            arrivals,
            last_arrival_ns: 0.0,
            stack,
            arrivals_rng: stream(7, Role::Arrivals, 0),
            calls_rng: stream(7, Role::Calls, 0),
            draws_keys,
            net_rng: stream(7, Role::Network, 0),
            probe_cost: None,
        }
    }

    const POISSON: Arrivals = Arrivals::Poisson {
        mean_gap_ns: 1_000_000.0,
    };

    #[test]
    fn every_reply_is_the_outcome_the_policies_act_on() {
        assert_eq!(outcome_of(Reply::Ok), Outcome::Success);
        assert_eq!(
            outcome_of(Reply::Error),
            Outcome::Failure(FailureKind::Error)
        );
        assert_eq!(
            outcome_of(Reply::Rejected),
            Outcome::Failure(FailureKind::Rejected)
        );
        assert_eq!(
            outcome_of(Reply::Refused),
            Outcome::Failure(FailureKind::Refused)
        );
    }

    #[test]
    fn arrivals_advance_on_their_own_stream() {
        let mut a = instance(POISSON);
        let mut b = instance(POISSON);
        // Calls started on `b` draw on its calls stream, never on its arrivals.
        b.start_call(Instant::ZERO);
        b.start_call(Instant::ZERO);
        let times_a: Vec<u64> = (0..100).map(|_| a.next_arrival_ns()).collect();
        let times_b: Vec<u64> = (0..100).map(|_| b.next_arrival_ns()).collect();
        assert_eq!(times_a, times_b);
        assert!(times_a.windows(2).all(|w| w[0] <= w[1]), "{times_a:?}");
        let mean_gap = *times_a.last().unwrap() as f64 / 100.0;
        assert!(
            (0.6e6..1.5e6).contains(&mean_gap),
            "mean gap {mean_gap} ns for a 1 ms Poisson process"
        );
        assert_eq!(a.think_ns(), None, "open loop: no think time");
    }

    #[test]
    fn an_answer_finishes_the_call_once() {
        let mut c = instance(POISSON);
        c.start_call(Instant::ZERO);
        let attempt = std::iter::from_fn(|| c.stack.poll_action())
            .find_map(|a| match a {
                Action::SendAttempt { attempt, .. } => Some(attempt),
                _ => None,
            })
            .expect("the call sends an attempt");
        let answer = Instant::from_nanos(2_000_000);
        c.on_answer(answer, Owner::Attempt(attempt), Reply::Ok);
        let finished: Vec<CallResult> = std::iter::from_fn(|| c.stack.poll_action())
            .filter_map(|a| match a {
                Action::FinishCall { result, .. } => Some(result),
                _ => None,
            })
            .collect();
        assert_eq!(finished, [CallResult::Ok]);
        // A duplicate answer (a late copy) is the stack's to ignore.
        c.on_answer(answer, Owner::Attempt(attempt), Reply::Error);
        assert_eq!(c.stack.poll_action(), None);
        assert_eq!(c.stack.calls_in_progress(), 0);
    }
}

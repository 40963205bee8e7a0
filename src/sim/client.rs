//! Clients: the simulator's driver of `hasim_policy::client::Client`.
//!
//! Each client instance runs the production client stack unchanged; this file only
//! carries its decisions out in the simulated world: it starts calls when the arrival
//! process says so, sends attempts and probes across the network, arms the stack's
//! timers as events, hands answers back, and records finished calls. It decides
//! nothing itself (which endpoint, whether to retry, hedge or fail fast are the
//! stack's calls).
//!
//! Availability is about calls; load is about attempts (DESIGN.md).

use std::time::Duration;

use rand::Rng;

use super::engine::LANE_REQUESTS;
use super::event::{Event, Reply};
use super::ids::{ClientId, PopulationId, ServerId};
use super::network::Node;
use super::workload::Arrivals;
use super::world::World;
use crate::metrics::CallResult;
use crate::policy::client::{Action, AttemptId, Client, ProbeId, Timer};
use crate::policy::{EndpointId, FailureKind, Outcome};
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

impl World {
    /// An open-loop arrival: start a call and schedule the next arrival.
    pub(crate) fn on_arrival_tick(&mut self, client: ClientId) {
        let now = self.engine.now();
        if now >= self.measured.end {
            return;
        }
        let c = &mut self.clients[client.index()];
        let next = c
            .arrivals
            .next_arrival(&mut c.arrivals_rng, c.last_arrival_ns);
        c.last_arrival_ns = next;
        self.engine
            .schedule_at(Instant(next as u64).max(now), Event::ArrivalTick { client });
        self.start_call(client);
    }

    /// A closed-loop caller starts its next call.
    pub(crate) fn on_caller_wake(&mut self, client: ClientId) {
        if self.engine.now() < self.measured.end {
            self.start_call(client);
        }
    }

    /// The application asks for a call; the stack decides what happens to it.
    fn start_call(&mut self, client: ClientId) {
        let now = self.engine.now();
        if self.measured.contains(now) {
            self.open_measured += 1;
        }
        let c = &mut self.clients[client.index()];
        let hash_key = c.calls_rng.random::<u64>();
        let _call = c.stack.start_call(now, hash_key);
        self.apply_actions(client);
    }

    /// A timer the stack armed fires.
    pub(crate) fn on_client_timer(&mut self, client: ClientId, timer: Timer) {
        let now = self.engine.now();
        self.clients[client.index()].stack.on_timer(now, timer);
        self.apply_actions(client);
    }

    /// Carries out every decision the stack of `client` has queued, in order.
    pub(crate) fn apply_actions(&mut self, client: ClientId) {
        while let Some(action) = self.clients[client.index()].stack.poll_action() {
            match action {
                Action::SendAttempt {
                    attempt,
                    endpoint,
                    call_started,
                    ..
                } => {
                    if self.measured.contains(call_started) {
                        self.recorder.on_attempt(call_started);
                    }
                    self.launch(client, Owner::Attempt(attempt), endpoint, 0);
                }
                Action::SendProbe { probe, endpoint } => {
                    let cost_ns = self.clients[client.index()].probe_cost.map_or(0, nanos);
                    self.launch(client, Owner::Probe(probe), endpoint, cost_ns);
                }
                Action::ArmTimer { at, timer } => {
                    let at = at.max(self.engine.now());
                    let event = Event::ClientTimer { client, timer };
                    self.engine.schedule_at_lane(at, timer.class(), event);
                }
                Action::FinishCall {
                    started, result, ..
                } => self.on_call_finished(client, started, result),
                // The simulated server still serves an abandoned attempt (work is not
                // cancelled); its late answer is ignored by the stack.
                Action::CancelAttempt { .. } => {}
                other => debug_assert!(false, "an action the simulator does not know: {other:?}"),
            }
        }
    }

    /// Sends a request (an attempt or a probe) from `client` to server `ep` across
    /// the network.
    fn launch(&mut self, client: ClientId, owner: Owner, ep: EndpointId, probe_cost_ns: u64) {
        let (attempt, gen) = self.attempts.insert(Attempt {
            owner,
            client,
            server: ServerId(ep.0),
            service_start: Instant::ZERO,
            probe_cost_ns,
        });
        let net_rng = &mut self.clients[client.index()].net_rng;
        match self
            .network
            .transit(Node::Client(client.0), Node::Server(ep.0), net_rng)
        {
            Some(delay) if self.servers[ep.0 as usize].closed_form.is_some() => {
                let arrive = Instant(self.engine.now().as_nanos().saturating_add(delay));
                self.serve_in_closed_form(attempt, arrive);
            }
            Some(delay) => self.engine.schedule_in_ns_lane(
                delay,
                LANE_REQUESTS,
                Event::RequestArrive { attempt, gen },
            ),
            None => self.attempts.remove(attempt), // lost: the stack's timeout sees to it
        }
    }

    /// A server's answer reaches its client: the request leaves the world and the
    /// stack learns the outcome (it ignores answers it no longer waits for).
    pub(crate) fn on_response(&mut self, attempt: u32, gen: u32, reply: Reply) {
        let now = self.engine.now();
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let (owner, client) = (a.owner, a.client);
        self.attempts.remove(attempt);
        let stack = &mut self.clients[client.index()].stack;
        let _report = match owner {
            Owner::Attempt(id) => stack.on_attempt_outcome(now, id, outcome_of(reply)),
            Owner::Probe(id) => stack.on_probe_result(now, id, reply == Reply::Ok),
        };
        self.apply_actions(client);
    }

    /// A call ended: record it if measured, and let a closed-loop caller think.
    fn on_call_finished(&mut self, client: ClientId, started: Instant, result: CallResult) {
        let now = self.engine.now();
        if self.measured.contains(started) {
            self.recorder.on_call_end(started, now, result);
            self.open_measured -= 1;
            if let CallResult::Failed(_) = result {
                self.fault_log.on_call_failed(started);
            }
        }
        let ci = &mut self.clients[client.index()];
        if let Arrivals::Closed { think, .. } = &ci.arrivals {
            if now < self.measured.end {
                let delay = think.sample_ns(&mut ci.calls_rng);
                self.engine
                    .schedule_in_ns(delay, Event::CallerWake { client });
            }
        }
    }
}

/// What the client sees of a server's reply.
fn outcome_of(reply: Reply) -> Outcome {
    match reply {
        Reply::Ok => Outcome::Success,
        Reply::Error => Outcome::Failure(FailureKind::Error),
        Reply::Rejected => Outcome::Failure(FailureKind::Rejected),
        Reply::Refused => Outcome::Failure(FailureKind::Refused),
    }
}

//! The world of one run: servers, clients, calls and attempts in flight, the network,
//! the recorder, and the loop that drives them.
//!
//! Handlers live beside the entities they concern (`server.rs`, `client.rs`) as
//! `impl World` blocks; this file builds the world and runs the loop.

use std::collections::VecDeque;
use std::time::Duration;

use super::engine::Engine;
use super::event::Event;
use super::network::Network;
use super::policies::ClientPolicies;
use super::slab::Slab;
use super::workload::Arrivals;
use super::{RunError, RunOutput};
use crate::dist::Dist;
use crate::metrics::{Recorder, RecorderConfig, ServerStats};
use crate::policy::balancer::{Balancer, Setup};
use crate::policy::{Endpoint, EndpointId, FailureKind};
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{ClientConfig, QueueLimit, Scenario};
use crate::time::Instant;

/// A server: workers, a FIFO queue, and counters over the measured interval.
#[derive(Debug)]
pub struct Server {
    /// Index into `World::groups`.
    pub group: usize,
    /// Failover tier of its group.
    pub tier: u32,
    /// Workers.
    pub concurrency: u32,
    /// Workers busy now.
    pub busy: u32,
    /// Attempts waiting for a worker.
    pub queue: VecDeque<u32>,
    /// Waiting attempts allowed.
    pub queue_limit: QueueLimit,
    /// False while crashed.
    pub up: bool,
    /// The server's life; work started in an earlier life is lost.
    pub epoch: u32,
    /// Service times and error draws.
    pub rng: SimRng,
    /// Latency and loss of its answers.
    pub net_rng: SimRng,
    /// Counters restricted to the measured interval.
    pub stats: ServerStats,
    /// When it last came up (for up time).
    pub up_since: Instant,
}

/// What every server of a group shares.
#[derive(Debug)]
pub struct Group {
    /// Service time of one request on one worker.
    pub service: Dist,
    /// Probability that a served request answers with an error.
    pub error_rate: f64,
}

/// One client instance: its own policies, random streams and view of the servers.
#[derive(Debug)]
pub struct ClientInstance {
    /// Index into `World::populations`.
    pub population: usize,
    /// How calls arrive.
    pub arrivals: Arrivals,
    /// Exact time of the last open-loop arrival (ns, fractional).
    pub last_arrival_ns: f64,
    /// Picks an endpoint per attempt.
    pub balancer: Balancer,
    /// Retry, breaker, hedging, health, outlier detection, limiter.
    pub policies: ClientPolicies,
    /// Arrival times.
    pub arrivals_rng: SimRng,
    /// Policy decisions (balancer, jitter).
    pub policy_rng: SimRng,
    /// Per-call draws (request keys, think times).
    pub calls_rng: SimRng,
    /// Latency and loss of its requests.
    pub net_rng: SimRng,
    /// Every endpoint this client knows, sorted by id.
    pub view: Vec<Endpoint>,
    /// The ids of `view`, for policies that take ids.
    pub view_ids: Vec<EndpointId>,
    /// Scratch list of eligible endpoints for one pick (kept to avoid allocation).
    pub eligible: Vec<Endpoint>,
}

/// A call: what the application asked for. It may make several attempts.
#[derive(Debug, Default)]
pub struct Call {
    /// Client instance.
    pub client: u32,
    /// When the application asked.
    pub start: Instant,
    /// Started inside the measured interval.
    pub measured: bool,
    /// Attempts sent so far, hedges not included.
    pub attempts_made: u32,
    /// Hedged copies sent so far.
    pub hedges: u32,
    /// The client-scope breaker admitted this call and awaits its outcome.
    pub breaker_admitted: bool,
    /// Attempts sent and not yet answered.
    pub outstanding: u32,
    /// Endpoints already tried (for `other_endpoint`).
    pub tried: Vec<EndpointId>,
    /// Attempt slots still awaited, so finishing the call can abandon them.
    pub pending: Vec<u32>,
    /// Request key for hashing balancers.
    pub hash_key: u64,
    /// The last attempt's failure.
    pub last_failure: Option<FailureKind>,
    /// The previous backoff (decorrelated jitter needs it).
    pub previous_delay: Option<Duration>,
    /// No attempt starts after this.
    pub deadline: Option<Instant>,
}

/// An attempt: one RPC to one server.
#[derive(Debug, Default)]
pub struct Attempt {
    /// Call slot and its generation.
    pub call: u32,
    /// Generation of the call slot when the attempt was sent.
    pub call_gen: u32,
    /// Client instance.
    pub client: u32,
    /// Server (= endpoint id).
    pub server: u32,
    /// When the client sent it.
    pub sent_at: Instant,
    /// When service started.
    pub service_start: Instant,
    /// The client still waits for its answer.
    pub client_waiting: bool,
    /// The request or its answer is still in the network or at the server.
    pub in_world: bool,
    /// A health-check probe, not part of any call.
    pub probe: bool,
    /// Service time of a probe that takes a worker (`probe_cost`), else 0.
    pub probe_cost_ns: u64,
}

/// Static parameters of a client population.
#[derive(Debug)]
pub struct Population {
    /// The scenario's client config.
    pub config: ClientConfig,
}

/// Everything in one run.
pub struct World {
    pub(crate) engine: Engine,
    pub(crate) servers: Vec<Server>,
    pub(crate) groups: Vec<Group>,
    pub(crate) clients: Vec<ClientInstance>,
    pub(crate) populations: Vec<Population>,
    pub(crate) calls: Slab<Call>,
    pub(crate) attempts: Slab<Attempt>,
    pub(crate) network: Network,
    pub(crate) recorder: Recorder,
    /// Each endpoint's failover tier, by id.
    pub(crate) tier_of: Vec<u32>,
    pub(crate) measure_start: Instant,
    pub(crate) measure_end: Instant,
    pub(crate) drain_end: Instant,
    pub(crate) max_events: u64,
    /// Measured calls not yet finished.
    pub(crate) open_measured: u64,
}

/// Entity numbers of client streams start here, apart from servers' in the same role.
const CLIENT_ENTITY_BASE: u64 = 1 << 40;

impl World {
    /// Builds the world of `scenario` for `seed`.
    pub fn build(scenario: &Scenario, seed: u64) -> World {
        let cfg = &scenario.config;
        let run = &cfg.run;
        let measure_start = Instant::ZERO.after(run.warmup);
        let measure_end = measure_start.after(run.duration);
        let mut servers = Vec::new();
        let mut groups = Vec::new();
        for (gi, g) in cfg.servers.iter().enumerate() {
            groups.push(Group {
                service: g.service.clone(),
                error_rate: g.error_rate,
            });
            for i in 0..g.count {
                let id = servers.len() as u64;
                servers.push(Server {
                    group: gi,
                    tier: g.tier,
                    concurrency: g.concurrency,
                    busy: 0,
                    queue: VecDeque::new(),
                    queue_limit: g.queue,
                    up: true,
                    epoch: 0,
                    rng: stream(seed, Role::Service, id),
                    net_rng: stream(seed, Role::Network, id),
                    stats: ServerStats {
                        name: format!("{}[{i}]", g.group),
                        group: g.group.clone(),
                        zone: g.zone.clone(),
                        tier: g.tier,
                        in_target: cfg.clients.iter().any(|c| c.target.0.contains(&g.group)),
                        received: 0,
                        served: 0,
                        rejected: 0,
                        errors: 0,
                        busy_ns: 0,
                        concurrency: g.concurrency,
                        up_ns: 0,
                    },
                    up_since: Instant::ZERO,
                });
            }
        }
        let mut clients = Vec::new();
        let mut populations = Vec::new();
        for (pi, c) in cfg.clients.iter().enumerate() {
            let view: Vec<Endpoint> = servers
                .iter()
                .enumerate()
                .filter(|(_, s)| c.target.0.contains(&cfg.servers[s.group].group))
                .map(|(i, s)| Endpoint {
                    id: EndpointId(i as u32),
                    weight: cfg.servers[s.group].weight,
                })
                .collect();
            let setup = Setup {
                attempt_timeout: c.timeout,
            };
            for _ in 0..c.instances {
                let entity = CLIENT_ENTITY_BASE + clients.len() as u64;
                let mut policy_rng = stream(seed, Role::Policy, entity);
                clients.push(ClientInstance {
                    policies: ClientPolicies::new(c, servers.len(), Instant::ZERO),
                    population: pi,
                    arrivals: Arrivals::per_instance(&c.arrival, c.instances),
                    last_arrival_ns: 0.0,
                    balancer: Balancer::new(&c.balancer, &setup, &mut policy_rng),
                    arrivals_rng: stream(seed, Role::Arrivals, entity),
                    policy_rng,
                    calls_rng: stream(seed, Role::Calls, entity),
                    net_rng: stream(seed, Role::Network, entity),
                    eligible: Vec::with_capacity(view.len()),
                    view_ids: view.iter().map(|ep| ep.id).collect(),
                    view: view.clone(),
                });
            }
            populations.push(Population { config: c.clone() });
        }
        let mut recorder = Recorder::new(RecorderConfig {
            measure_start,
            measure_end,
            window: run.window,
            slo: run.slo,
        });
        recorder.on_servers_up(Instant::ZERO, servers.len() as u32);
        World {
            tier_of: servers.iter().map(|s| s.tier).collect(),
            engine: Engine::new(),
            servers,
            groups,
            clients,
            populations,
            calls: Slab::new(),
            attempts: Slab::new(),
            network: Network::new(cfg.network.latency.clone(), cfg.network.loss),
            recorder,
            measure_start,
            measure_end,
            drain_end: measure_end.after(run.drain),
            max_events: run.max_events,
            open_measured: 0,
        }
    }

    /// Runs to the end of the drain (or until every measured call has finished).
    pub fn run(mut self) -> Result<RunOutput, RunError> {
        self.start_workload();
        while let Some(t) = self.engine.peek_time() {
            if (t >= self.measure_end && self.open_measured == 0) || t > self.drain_end {
                break;
            }
            if self.engine.processed() >= self.max_events {
                return Err(RunError::TooManyEvents {
                    limit: self.max_events,
                    at: self.engine.now(),
                });
            }
            let event = self.engine.pop().expect("peeked");
            self.dispatch(event);
        }
        Ok(self.finish())
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::ArrivalTick { client } => self.on_arrival_tick(client),
            Event::CallerWake { client } => self.on_caller_wake(client),
            Event::RequestArrive { attempt, gen } => self.on_request_arrive(attempt, gen),
            Event::ServiceDone {
                attempt,
                gen,
                epoch,
            } => self.on_service_done(attempt, gen, epoch),
            Event::ResponseArrive {
                attempt,
                gen,
                reply,
            } => self.on_response(attempt, gen, reply),
            Event::AttemptTimeout { attempt, gen } => self.on_attempt_timeout(attempt, gen),
            Event::RetryStart { call, gen } => self.on_retry_start(call, gen),
            Event::CallDeadline { call, gen } => self.on_call_deadline(call, gen),
            Event::HedgeTimer { call, gen } => self.on_hedge_timer(call, gen),
            Event::ProbeTick { client, endpoint } => self.on_probe_tick(client, endpoint),
            Event::OutlierTick { client } => self.on_outlier_tick(client),
        }
    }

    /// Schedules every client's first arrivals, health probes and outlier ticks.
    fn start_workload(&mut self) {
        self.start_health_checks();
        for c in 0..self.clients.len() {
            if let Some(at) = self.clients[c]
                .policies
                .outlier
                .as_ref()
                .and_then(|o| o.next_deadline())
            {
                self.engine
                    .schedule_at(at, Event::OutlierTick { client: c as u32 });
            }
            let client = &mut self.clients[c];
            match &client.arrivals {
                Arrivals::Closed { callers, think } => {
                    for _ in 0..*callers {
                        let delay = think.sample_ns(&mut client.calls_rng);
                        self.engine
                            .schedule_in_ns(delay, Event::CallerWake { client: c as u32 });
                    }
                }
                open => {
                    let first = open.first_arrival(&mut client.arrivals_rng);
                    client.last_arrival_ns = first;
                    self.engine.schedule_at(
                        Instant(first as u64),
                        Event::ArrivalTick { client: c as u32 },
                    );
                }
            }
        }
    }

    /// Ends the run: unfinished measured calls fail, server counters close.
    fn finish(mut self) -> RunOutput {
        let end = self.engine.now().max(self.measure_end);
        let open: Vec<u32> = self.calls.live_indexes().collect();
        for call in open {
            let c = self.calls.get(call);
            if c.measured {
                self.recorder.on_call_end(
                    c.start,
                    end,
                    crate::metrics::CallResult::Failed(crate::metrics::FailReason::Unfinished),
                );
            }
        }
        for s in &mut self.servers {
            if s.up {
                s.stats.up_ns += overlap_ns(s.up_since, end, self.measure_start, self.measure_end);
            }
        }
        let stats: Vec<ServerStats> = self.servers.into_iter().map(|s| s.stats).collect();
        let events = self.engine.processed();
        RunOutput {
            fingerprint: self.engine.fingerprint(),
            events,
            metrics: self.recorder.finish(&stats, events),
        }
    }

    /// True while `t` is inside the measured interval.
    #[inline]
    pub(crate) fn in_measure(&self, t: Instant) -> bool {
        t >= self.measure_start && t < self.measure_end
    }
}

/// Nanoseconds of `[a, b)` that fall inside `[lo, hi)`.
#[inline]
pub(crate) fn overlap_ns(a: Instant, b: Instant, lo: Instant, hi: Instant) -> u64 {
    let start = a.max(lo).as_nanos();
    let end = b.min(hi).as_nanos();
    end.saturating_sub(start)
}

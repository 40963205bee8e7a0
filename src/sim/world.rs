//! The world of one run: servers, clients, calls and attempts in flight, the network,
//! the recorder, and the loop that drives them.
//!
//! Handlers live beside the entities they concern (`server.rs`, `client.rs`) as
//! `impl World` blocks; this file builds the world and runs the loop.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::autoscale::AutoscaleRun;
use super::discovery::Registry;
use super::engine::Engine;
use super::event::Event;
use super::fault::FaultState;
use super::network::Network;
use super::policies::ClientPolicies;
use super::slab::Slab;
use super::workload::Arrivals;
use super::{RunError, RunOutput};
use crate::metrics::{Recorder, RecorderConfig, ServerStats};
use crate::policy::autoscale::Autoscaler;
use crate::policy::balancer::{Balancer, Setup};
use crate::policy::{Endpoint, EndpointId, FailureKind};
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{
    ClientConfig, CrashMode, QueueLimit, Scenario, ScenarioFile, ServerGroupConfig,
};
use crate::time::{nanos, Instant};

/// A server: workers, a FIFO queue, and counters over the measured interval.
#[derive(Debug)]
pub struct Server {
    /// Index into `World::groups`.
    pub group: usize,
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
    /// Attempts being served now (lost if it crashes).
    pub in_service: Vec<u32>,
    /// Active reasons to be down (crash faults, provisioning); up when zero.
    pub down_reasons: u32,
    /// How the latest crash looks to clients.
    pub crash_mode: CrashMode,
    /// Service-time multiplier from active `slow` faults.
    pub slow_factor: f64,
    /// Probability of answering with an error at once, from active `errors` faults.
    pub fail_fast_rate: f64,
    /// When it last received an attempt (for `time_to_drain_s`).
    pub last_arrival: Option<Instant>,
    /// Removed by the autoscaler: deregistered, then stopped for good.
    pub retired: bool,
    /// Worker-nanoseconds of service so far (for autoscaling), up to `busy_changed_at`.
    pub busy_integral: u128,
    /// When `busy` last changed.
    pub busy_changed_at: Instant,
}

impl ClientInstance {
    /// True if `ep` is in this client's view.
    #[inline]
    pub fn knows(&self, ep: EndpointId) -> bool {
        self.view.binary_search_by_key(&ep, |e| e.id).is_ok()
    }
}

impl Server {
    /// Brings `busy_integral` up to `now` (call before `busy` changes).
    #[inline]
    pub fn settle_busy(&mut self, now: Instant) {
        self.busy_integral +=
            u128::from(self.busy) * u128::from(now.as_nanos() - self.busy_changed_at.as_nanos());
        self.busy_changed_at = now;
    }
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
    /// Scratch list of eligible endpoints for one pick (kept to avoid allocation).
    pub eligible: Vec<Endpoint>,
    /// Endpoints with a health-probe chain running, by id.
    pub probing: Vec<bool>,
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
    /// Indexes of its target groups.
    pub target_groups: Vec<usize>,
}

/// Everything in one run.
pub struct World {
    pub(crate) engine: Engine,
    pub(crate) servers: Vec<Server>,
    pub(crate) groups: Vec<ServerGroupConfig>,
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
    /// `run.max_memory`: bytes the growing state may hold (`budget.rs`).
    pub(crate) max_memory: u64,
    /// Time-series window, ns (for fault recovery times).
    pub(crate) window_ns: u64,
    /// The per-window availability objective.
    pub(crate) slo: f64,
    /// Measured calls not yet finished.
    pub(crate) open_measured: u64,
    /// Servers up now.
    pub(crate) servers_up: u32,
    /// Declared faults and the ones acting on messages.
    pub(crate) faults: FaultState,
    /// Service discovery.
    pub(crate) registry: Registry,
    /// The autoscaler, if any.
    pub(crate) autoscale: Option<AutoscaleRun>,
    /// Random phases of heartbeats and polls.
    pub(crate) control_rng: SimRng,
    /// The run's seed (streams of servers added later).
    pub(crate) seed: u64,
}

/// Events between two progress reports (cheap: one relaxed store).
const PROGRESS_EVERY: u64 = 1 << 16;

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
            groups.push(g.clone());
            for i in 0..g.count {
                servers.push(new_server(cfg, gi, i, servers.len() as u64, seed));
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
            let tiers: std::collections::BTreeSet<u32> = cfg
                .servers
                .iter()
                .filter(|g| c.target.0.contains(&g.group))
                .map(|g| g.tier)
                .collect();
            let multi_tier = tiers.len() > 1;
            let setup = Setup {
                attempt_timeout: c.timeout,
            };
            for _ in 0..c.instances {
                let entity = CLIENT_ENTITY_BASE + clients.len() as u64;
                let mut policy_rng = stream(seed, Role::Policy, entity);
                clients.push(ClientInstance {
                    policies: ClientPolicies::new(c, servers.len(), multi_tier, Instant::ZERO),
                    population: pi,
                    arrivals: Arrivals::per_instance(&c.arrival, c.instances, nanos(run.warmup)),
                    last_arrival_ns: 0.0,
                    balancer: Balancer::new(&c.balancer, &setup, &mut policy_rng),
                    arrivals_rng: stream(seed, Role::Arrivals, entity),
                    policy_rng,
                    calls_rng: stream(seed, Role::Calls, entity),
                    net_rng: stream(seed, Role::Network, entity),
                    eligible: Vec::with_capacity(view.len()),
                    probing: vec![false; servers.len()],
                    view: view.clone(),
                });
            }
            populations.push(Population {
                config: c.clone(),
                target_groups: (0..cfg.servers.len())
                    .filter(|&g| c.target.0.contains(&cfg.servers[g].group))
                    .collect(),
            });
        }
        let mut recorder = Recorder::new(RecorderConfig {
            measure_start,
            measure_end,
            window: run.window,
            slo: run.slo,
        });
        recorder.on_servers_up(Instant::ZERO, servers.len() as u32);
        let measure = measure_start;
        World {
            servers_up: servers.len() as u32,
            faults: FaultState::new(cfg, &scenario.faults, measure, seed),
            registry: Registry::new(&cfg.discovery, servers.len()),
            autoscale: cfg.autoscale.as_ref().map(|a| AutoscaleRun {
                policy: Autoscaler::new(a),
                group: cfg
                    .servers
                    .iter()
                    .position(|g| g.group == a.group)
                    .unwrap_or(0),
                config: a.clone(),
                busy_at_last_tick: Vec::new(),
                last_tick: Instant::ZERO,
            }),
            control_rng: stream(seed, Role::Control, 0),
            seed,
            tier_of: servers.iter().map(|s| s.stats.tier).collect(),
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
            max_memory: run.max_memory,
            window_ns: nanos(run.window),
            slo: run.slo,
            open_measured: 0,
        }
    }

    /// Runs to the end of the drain (or until every measured call has finished).
    pub fn run(mut self, progress: &AtomicU64) -> Result<RunOutput, RunError> {
        self.start_workload();
        let end_ns = self.measure_end.as_nanos().max(1);
        while let Some(t) = self.engine.peek_time() {
            if self.engine.processed() % PROGRESS_EVERY == 0 {
                let permille = u128::from(t.as_nanos().min(end_ns)) * 1000 / u128::from(end_ns);
                progress.store(permille as u64, Ordering::Relaxed);
            }
            if self.engine.processed() % super::budget::CHECK_EVERY == 0 {
                self.check_budget()?;
            }
            self.compact_timers();
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
            Event::FaultStart { fault } => self.on_fault_start(fault),
            Event::FaultEnd { fault } => self.on_fault_end(fault),
            Event::ServerFail { server, fault } => self.on_server_fail(server, fault),
            Event::ServerRepair { server, fault } => self.on_server_repair(server, fault),
            Event::Heartbeat { server, epoch } => self.on_heartbeat(server, epoch),
            Event::RegistryExpire { server } => self.on_registry_expire(server),
            Event::ViewChange { server, add } => self.on_view_change(server, add),
            Event::ViewPoll { client } => self.on_view_poll(client),
            Event::AutoscaleTick => self.on_autoscale_tick(),
            Event::ServerReady { server } => self.on_server_ready(server),
            Event::ServerRetire { server } => self.on_server_retire(server),
        }
    }

    /// Schedules every client's first arrivals, health probes and outlier ticks.
    fn start_workload(&mut self) {
        self.schedule_faults();
        self.start_discovery();
        self.start_autoscaler();
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
        let stats: Vec<ServerStats> = self.servers.iter().map(|s| s.stats.clone()).collect();
        let events = self.engine.processed();
        let fingerprint = self.engine.fingerprint();
        let World {
            recorder,
            mut faults,
            servers,
            measure_start,
            measure_end,
            window_ns,
            slo,
            ..
        } = self;
        let mut metrics = recorder.finish(&stats, events);
        metrics.faults = faults.rows(
            &servers,
            &metrics.windows,
            window_ns,
            slo,
            measure_start,
            measure_end,
        );
        RunOutput {
            fingerprint,
            metrics,
        }
    }

    /// Adds a server to `group` (autoscaling): down until it is provisioned, known to
    /// no one until it registers.
    pub(crate) fn add_server(&mut self, group: usize) -> u32 {
        let id = self.servers.len() as u32;
        let index = self.servers.iter().filter(|s| s.group == group).count() as u32;
        let mut server = new_server_from(
            &self.groups[group],
            group,
            index,
            u64::from(id),
            self.seed,
            true,
        );
        server.up = false;
        server.down_reasons = 1;
        self.servers.push(server);
        self.tier_of.push(self.groups[group].tier);
        self.registry.registered.push(false);
        self.registry.last_heartbeat.push(Instant::ZERO);
        for c in &mut self.clients {
            c.probing.push(false);
        }
        id
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

/// Server `index` of group `gi` with global id `id`, up from the start.
fn new_server(cfg: &ScenarioFile, gi: usize, index: u32, id: u64, seed: u64) -> Server {
    let g = &cfg.servers[gi];
    let mut server = new_server_from(g, gi, index, id, seed, false);
    server.stats.in_target = cfg.clients.iter().any(|c| c.target.0.contains(&g.group));
    server
}

/// A fresh server of group config `g`.
fn new_server_from(
    g: &ServerGroupConfig,
    gi: usize,
    index: u32,
    id: u64,
    seed: u64,
    in_target: bool,
) -> Server {
    Server {
        group: gi,
        concurrency: g.concurrency,
        busy: 0,
        queue: VecDeque::new(),
        queue_limit: g.queue,
        up: true,
        epoch: 0,
        rng: stream(seed, Role::Service, id),
        net_rng: stream(seed, Role::Network, id),
        stats: ServerStats {
            name: format!("{}[{index}]", g.group),
            group: g.group.clone(),
            zone: g.zone.clone(),
            tier: g.tier,
            in_target,
            received: 0,
            served: 0,
            rejected: 0,
            errors: 0,
            busy_ns: 0,
            concurrency: g.concurrency,
            up_ns: 0,
        },
        up_since: Instant::ZERO,
        in_service: Vec::new(),
        down_reasons: 0,
        crash_mode: CrashMode::Refuse,
        slow_factor: 1.0,
        fail_fast_rate: 0.0,
        last_arrival: None,
        retired: false,
        busy_integral: 0,
        busy_changed_at: Instant::ZERO,
    }
}

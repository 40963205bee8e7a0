//! The world of one run: servers, clients, calls and attempts in flight, the network,
//! the recorder, and the loop that drives them.
//!
//! The parts are state machines that own their data and know nothing of the world:
//! servers (`server.rs`), the network (`network.rs`), the fault schedule
//! (`fault.rs`), the registry (`discovery.rs`), the autoscaler (`autoscale.rs`) and
//! each client instance's production stack (`client.rs`). Told what happened, each
//! returns what should follow (`Arrival`, `FaultEffect`, `RegistryEffect`,
//! `ScaleEffect`, the stack's `Action`s). This file alone owns the engine and applies
//! those effects: it schedules their events, moves requests between clients and
//! servers, and feeds the recorder. No other file has an `impl World`.

use std::sync::atomic::{AtomicU64, Ordering};

use super::autoscale::{AutoscaleRun, Sample, ScaleEffect};
use super::budget;
use super::client::{draws_keys, Attempt, ClientInstance, Owner};
use super::closed_form::{self, ClosedForm};
use super::discovery::{Registry, RegistryEffect, RegistryTimer};
use super::engine::Engine;
use super::engine::LANE_ARRIVALS;
use super::engine::LANE_REQUESTS;
use super::engine::LANE_RESPONSES;
use super::event::Event;
use super::event::Reply;
use super::fault::{FaultEffect, FaultSchedule, FaultStep};
use super::ids::{ClientId, GroupId, PopulationId, RequestId, ServerId};
use super::network::Network;
use super::network::Node;
use super::server::{Arrival, Served, Server, ServerState};
use super::slab::Slab;
use super::topology::Topology;
use super::workload::Arrivals;
use super::{RunError, RunOutput};
use crate::metrics::CallResult;
use crate::metrics::{FaultLog, Measured, Recorder, RecorderConfig, ServerStats};
use crate::policy::client::Client;
use crate::policy::client::{Action, Timer};
use crate::policy::{Endpoint, EndpointId};
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{CrashMode, Scenario, ScenarioFile};
use crate::time::{nanos, Instant};

/// Everything in one run.
pub struct World {
    pub(crate) engine: Engine,
    pub(crate) servers: Vec<Server>,
    /// Groups, populations' targets, the autoscaled group: the scenario as ids.
    pub(crate) topology: Topology,
    pub(crate) clients: Vec<ClientInstance>,
    pub(crate) attempts: Slab<Attempt>,
    pub(crate) network: Network,
    pub(crate) recorder: Recorder,
    /// Each endpoint's failover tier, by id.
    pub(crate) tier_of: Vec<u32>,
    /// The measured interval.
    pub(crate) measured: Measured,
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
    /// Whether the loop prefetches for the next events (`world/prefetch.rs`): only
    /// when the state is too large to stay in cache (see [`prefetch::PREFETCH_FROM`]).
    prefetch: bool,
    /// The fault schedule.
    pub(crate) faults: FaultSchedule,
    /// Scratch buffer for the schedule's effects (kept to reuse its allocation).
    fault_effects: Vec<FaultEffect>,
    /// What each fault cost, for faults.csv.
    pub(crate) fault_log: FaultLog,
    /// Service discovery.
    pub(crate) registry: Registry,
    /// Scratch buffer for the registry's effects.
    registry_effects: Vec<RegistryEffect>,
    /// The autoscaler, if any.
    pub(crate) autoscale: Option<AutoscaleRun>,
    /// Random phases of heartbeats and polls.
    pub(crate) control_rng: SimRng,
    /// The run's seed (streams of servers added later).
    pub(crate) seed: u64,
    /// Services solved in closed form that end after `measure_end` (see
    /// [`World::finish`]): `(end, server, busy ns inside the measured interval)`.
    pub(crate) busy_tail: Vec<(Instant, ServerId, u64)>,
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
        let topology = Topology::resolve(cfg);
        let mut servers = Vec::new();
        for (gi, g) in cfg.servers.iter().enumerate() {
            for i in 0..g.count {
                let (id, in_target) = (servers.len() as u64, topology.targeted[gi]);
                servers.push(Server::new(g, GroupId(gi as u32), i, id, seed, in_target));
            }
        }
        let mut clients = Vec::new();
        for (pi, c) in cfg.clients.iter().enumerate() {
            let targets = &topology.targets[pi];
            let view: Vec<(Endpoint, u32)> = servers
                .iter()
                .enumerate()
                .filter(|(_, s)| targets.contains(&s.group))
                .map(|(i, s)| {
                    let group = topology.group(s.group);
                    let ep = Endpoint {
                        id: EndpointId(i as u32),
                        weight: group.weight,
                    };
                    (ep, group.tier)
                })
                .collect();
            let stack_config = c.policy();
            for _ in 0..c.instances {
                let entity = CLIENT_ENTITY_BASE + clients.len() as u64;
                let policy_rng = stream(seed, Role::Policy, entity);
                let mut stack = Client::try_new(&stack_config, Instant::ZERO, policy_rng)
                    .expect("the scenario loader validated every client config");
                stack.reserve_endpoints(view.len());
                for &(ep, tier) in &view {
                    stack.on_endpoint_added(Instant::ZERO, ep, tier);
                }
                let arrivals = Arrivals::per_instance(&c.arrival, c.instances, nanos(run.warmup));
                clients.push(ClientInstance {
                    population: PopulationId(pi as u32),
                    draws_keys: draws_keys(&stack_config, &arrivals),
                    arrivals,
                    last_arrival_ns: 0.0,
                    stack,
                    arrivals_rng: stream(seed, Role::Arrivals, entity),
                    calls_rng: stream(seed, Role::Calls, entity),
                    net_rng: stream(seed, Role::Network, entity),
                    probe_cost: c.health_check.as_ref().and_then(|h| h.probe_cost),
                });
            }
        }
        let mut recorder = Recorder::new(RecorderConfig {
            measure_start,
            measure_end,
            window: run.window,
            slo: run.slo,
        });
        recorder.on_servers_up(Instant::ZERO, servers.len() as u32);
        let faults = FaultSchedule::new(cfg, &scenario.faults, measure_start, seed);
        let fault_log = faults.log(cfg);
        let network = Network::new(cfg.network.latency.clone(), cfg.network.loss);
        solve_undisturbed_servers(&mut servers, cfg, &faults, &network);
        World {
            servers_up: servers.len() as u32,
            prefetch: clients.len().saturating_mul(servers.len()) >= prefetch::PREFETCH_FROM,
            faults,
            fault_effects: Vec::new(),
            fault_log,
            registry: Registry::new(&cfg.discovery, servers.len()),
            registry_effects: Vec::new(),
            autoscale: cfg.autoscale.as_ref().map(|a| {
                let group = topology.autoscaled;
                let group = group.expect("the scenario loader checked autoscale.group");
                AutoscaleRun::new(a, group)
            }),
            control_rng: stream(seed, Role::Control, 0),
            seed,
            tier_of: servers.iter().map(|s| s.stats.tier).collect(),
            engine: Engine::new(),
            servers,
            topology,
            clients,
            attempts: Slab::new(),
            network,
            recorder,
            measured: Measured::new(measure_start, measure_end),
            drain_end: measure_end.after(run.drain),
            max_events: run.max_events,
            max_memory: run.max_memory,
            window_ns: nanos(run.window),
            slo: run.slo,
            open_measured: 0,
            busy_tail: Vec::new(),
        }
    }

    /// Runs to the end of the drain (or until every measured call has finished).
    pub fn run(mut self, progress: &AtomicU64) -> Result<RunOutput, RunError> {
        self.start_workload();
        let end_ns = self.measured.end.as_nanos().max(1);
        // The time of the first event left unrun (none: every event ran).
        let stopped_at;
        loop {
            // Before the peek: compaction may drop the entry a peek would have seen.
            if self.engine.processed() % budget::COMPACT_EVERY == 0 {
                let (clients, attempts) = (&self.clients, &self.attempts);
                let (end, drain_end) = (self.measured.end, self.drain_end);
                budget::compact_timers(&mut self.engine, clients, attempts, end, drain_end);
            }
            if self.engine.processed() % budget::CHECK_EVERY == 0 {
                let (clients, attempts) = (&self.clients, &self.attempts);
                let parts = budget::Parts {
                    engine: &self.engine,
                    clients,
                    attempts,
                    servers: &self.servers,
                };
                budget::check_budget(&parts, self.max_memory)?;
            }
            let Some(next) = self.engine.peek() else {
                stopped_at = Instant::MAX;
                break;
            };
            let t = next.time;
            if self.engine.processed() % PROGRESS_EVERY == 0 {
                let permille = u128::from(t.as_nanos().min(end_ns)) * 1000 / u128::from(end_ns);
                progress.store(permille as u64, Ordering::Relaxed);
            }
            if (t >= self.measured.end && self.open_measured == 0) || t > self.drain_end {
                stopped_at = t;
                break;
            }
            if self.engine.processed() >= self.max_events {
                return Err(RunError::TooManyEvents {
                    limit: self.max_events,
                    at: self.engine.now(),
                });
            }
            let event = self.engine.pop_peeked(next);
            if self.prefetch {
                self.prefetch_ahead();
            }
            self.dispatch(event);
        }
        Ok(self.finish(stopped_at))
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
            Event::ClientTimer { client, timer } => self.on_client_timer(client, timer),
            _ => self.on_control(event),
        }
    }

    /// The rare events: faults, discovery, autoscaling. Kept out of line so the
    /// loop's dispatch of the per-call events stays as small as it was.
    #[inline(never)]
    fn on_control(&mut self, event: Event) {
        match event {
            Event::FaultStart { fault } => self.on_faults(|f, out| f.start(fault, out)),
            Event::FaultEnd { fault } => self.on_faults(|f, out| f.end(fault, out)),
            Event::ServerFail { server, fault } => {
                self.on_faults(|f, out| f.step(FaultStep::Fail { server, fault }, out))
            }
            Event::ServerRepair { server, fault } => {
                self.on_faults(|f, out| f.step(FaultStep::Repair { server, fault }, out))
            }
            Event::Heartbeat { server, epoch } => {
                let now = self.engine.now();
                let s = &self.servers[server.index()];
                let alive = s.is_up() && s.epoch == epoch && !s.retired;
                self.on_registry(|r, out| r.on_heartbeat(now, server, epoch, alive, out));
            }
            Event::RegistryExpire { server } => {
                let now = self.engine.now();
                self.on_registry(|r, out| r.on_expire(now, server, out));
            }
            Event::ViewChange { server, add } => {
                self.on_registry(|r, out| r.on_notify(server, add, out));
            }
            Event::ViewPoll { client } => self.on_registry(|r, out| r.on_poll(client, out)),
            Event::AutoscaleTick => self.on_autoscale_tick(),
            Event::ServerReady { server } => {
                // A provisioned server starts and registers, unless retired meanwhile.
                if !self.servers[server.index()].retired {
                    self.repair_server(server);
                }
            }
            // Retiring adds a reason to be down that never ends, so a crash fault that
            // ends later (or a provisioning still under way) cannot bring it back.
            Event::ServerRetire { server } => self.crash_server(server, CrashMode::Refuse),
            Event::ArrivalTick { .. }
            | Event::CallerWake { .. }
            | Event::RequestArrive { .. }
            | Event::ServiceDone { .. }
            | Event::ResponseArrive { .. }
            | Event::ClientTimer { .. } => unreachable!("dispatched in `dispatch`"),
        }
    }

    /// Schedules every client's first arrivals, and the timers its stack armed when it
    /// learned its endpoints (first health probes, outlier ticks).
    fn start_workload(&mut self) {
        for (at, fault, start) in self.faults.timeline() {
            let event = if start {
                Event::FaultStart { fault }
            } else {
                Event::FaultEnd { fault }
            };
            self.engine.schedule_at(at, event);
        }
        let clients = self.clients.len() as u32;
        let mut effects = std::mem::take(&mut self.registry_effects);
        self.registry
            .start(clients, &mut self.control_rng, &mut effects);
        self.apply_registry(effects);
        if let Some(a) = &self.autoscale {
            self.engine
                .schedule_at(a.first_tick(), Event::AutoscaleTick);
        }
        for c in 0..self.clients.len() as u32 {
            self.apply_actions(ClientId(c));
        }
        for c in 0..self.clients.len() {
            let client = &mut self.clients[c];
            match &client.arrivals {
                Arrivals::Closed { callers, think } => {
                    for _ in 0..*callers {
                        let delay = think.sample_ns(&mut client.calls_rng);
                        self.engine.schedule_in_ns(
                            delay,
                            Event::CallerWake {
                                client: ClientId(c as u32),
                            },
                        );
                    }
                }
                open => {
                    let first = open.first_arrival(&mut client.arrivals_rng);
                    client.last_arrival_ns = first;
                    self.engine.schedule_at(
                        Instant(first as u64),
                        Event::ArrivalTick {
                            client: ClientId(c as u32),
                        },
                    );
                }
            }
        }
    }

    /// Ends the run: unfinished measured calls fail, server counters close.
    ///
    /// A service solved in closed form that ends after `measure_end` counts its busy
    /// time only if its end came before `stopped_at`, as the event that would have
    /// ended it would only have run then.
    fn finish(mut self, stopped_at: Instant) -> RunOutput {
        for &(end, server, busy_ns) in &self.busy_tail {
            if end < stopped_at {
                self.servers[server.index()].add_busy_ns(u128::from(busy_ns));
            }
        }
        let end = self.engine.now().max(self.measured.end);
        for client in &self.clients {
            for (_, start) in client.stack.open_calls() {
                if self.measured.contains(start) {
                    self.recorder.on_call_end(
                        start,
                        end,
                        crate::metrics::CallResult::Failed(crate::metrics::FailReason::Unfinished),
                    );
                }
            }
        }
        for s in &mut self.servers {
            if s.is_up() {
                s.stats.up_ns += self.measured.overlap_ns(s.up_since, end);
            }
        }
        let stats: Vec<ServerStats> = self.servers.iter().map(Server::stats).collect();
        let events = self.engine.processed();
        let fingerprint = self.engine.fingerprint();
        let active: Vec<u32> = self.faults.active().collect();
        for fault in active {
            self.record_last_hit(fault);
        }
        let mut metrics = self.recorder.finish(&stats, events);
        metrics.faults =
            self.fault_log
                .rows(&metrics.windows, self.window_ns, self.slo, self.measured);
        RunOutput {
            fingerprint,
            metrics,
        }
    }

    /// Tells the fault schedule something (`tell`) and carries out its effects, in
    /// order.
    fn on_faults(&mut self, tell: impl FnOnce(&mut FaultSchedule, &mut Vec<FaultEffect>)) {
        let mut effects = std::mem::take(&mut self.fault_effects);
        tell(&mut self.faults, &mut effects);
        for effect in effects.drain(..) {
            match effect {
                FaultEffect::Crash { server, mode } => self.crash_server(server, mode),
                FaultEffect::Repair { server } => self.repair_server(server),
                FaultEffect::Gray {
                    server,
                    slow_factor,
                    fail_fast_rate,
                } => {
                    let server = &mut self.servers[server.index()];
                    server.slow_factor = slow_factor;
                    server.fail_fast_rate = fail_fast_rate;
                }
                FaultEffect::MessagesOn { fault, effect } => {
                    self.network.fault_started(fault, effect);
                }
                FaultEffect::MessagesOff { fault } => self.network.fault_ended(fault),
                FaultEffect::RegistryDown(down) => {
                    let now = self.engine.now();
                    let servers = &self.servers;
                    let alive = |s: ServerId| {
                        let server = &servers[s.index()];
                        server.is_up() && !server.retired
                    };
                    let mut effects = std::mem::take(&mut self.registry_effects);
                    self.registry.set_down(now, down, alive, &mut effects);
                    self.apply_registry(effects);
                }
                FaultEffect::Ended { fault } => self.record_last_hit(fault),
                FaultEffect::Later { after_ns, step } => {
                    let event = match step {
                        FaultStep::Fail { server, fault } => Event::ServerFail { server, fault },
                        FaultStep::Repair { server, fault } => {
                            Event::ServerRepair { server, fault }
                        }
                    };
                    self.engine.schedule_in_ns(after_ns, event);
                }
            }
        }
        self.fault_effects = effects;
    }

    /// Tells the registry something (`tell`) and carries out its effects, in order.
    pub(crate) fn on_registry(
        &mut self,
        tell: impl FnOnce(&mut Registry, &mut Vec<RegistryEffect>),
    ) {
        let mut effects = std::mem::take(&mut self.registry_effects);
        tell(&mut self.registry, &mut effects);
        self.apply_registry(effects);
    }

    /// Carries out the registry's `effects` (drained; the buffer is kept for reuse).
    fn apply_registry(&mut self, mut effects: Vec<RegistryEffect>) {
        for effect in effects.drain(..) {
            match effect {
                RegistryEffect::Later { after_ns, timer } => {
                    let event = match timer {
                        RegistryTimer::Heartbeat { server, epoch } => {
                            Event::Heartbeat { server, epoch }
                        }
                        RegistryTimer::Expire { server } => Event::RegistryExpire { server },
                        RegistryTimer::Notify { server, add } => Event::ViewChange { server, add },
                        RegistryTimer::Poll { client } => Event::ViewPoll { client },
                    };
                    self.engine.schedule_in_ns(after_ns, event);
                }
                RegistryEffect::View {
                    client: Some(client),
                    server,
                    listed,
                } => self.apply_view_change(client, server, listed),
                RegistryEffect::View {
                    client: None,
                    server,
                    listed,
                } => {
                    for client in (0..self.clients.len() as u32).map(ClientId) {
                        self.apply_view_change(client, server, listed);
                    }
                }
            }
        }
        self.registry_effects = effects;
    }

    /// Adds `s` to (or removes it from) client `c`'s view if it is in its targets.
    fn apply_view_change(&mut self, c: ClientId, s: ServerId, add: bool) {
        let group = self.servers[s.index()].group;
        let ci = &mut self.clients[c.index()];
        if !self.topology.targets[ci.population.index()].contains(&group) {
            return;
        }
        let now = self.engine.now();
        let id = EndpointId(s.0);
        match (add, ci.stack.knows(id)) {
            (true, false) => {
                let group = self.topology.group(group);
                let ep = Endpoint {
                    id,
                    weight: group.weight,
                };
                ci.stack.on_endpoint_added(now, ep, group.tier);
            }
            (false, true) => ci.stack.on_endpoint_removed(now, id),
            _ => return,
        }
        self.apply_actions(c);
    }

    /// An autoscaler tick: it samples its group's servers (settling their busy time
    /// up to now) and its effects are carried out.
    fn on_autoscale_tick(&mut self) {
        let now = self.engine.now();
        let Some(a) = &mut self.autoscale else {
            return;
        };
        let group = a.group();
        let servers = self.servers.len();
        let samples = self
            .servers
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.group == group && !s.retired)
            .map(|(id, s)| {
                s.settle_busy(now);
                Sample {
                    server: ServerId(id as u32),
                    busy_integral: s.busy_integral,
                    up: s.is_up(),
                    concurrency: s.concurrency,
                }
            });
        let mut effects = Vec::new();
        a.tick(now, samples, servers, &mut effects);
        for effect in effects {
            match effect {
                ScaleEffect::TickAt { at } => self.engine.schedule_at(at, Event::AutoscaleTick),
                ScaleEffect::Add {
                    group,
                    ready_after_ns,
                } => {
                    let server = self.add_server(group);
                    let event = Event::ServerReady { server };
                    self.engine.schedule_in_ns(ready_after_ns, event);
                }
                ScaleEffect::Retire { server } => {
                    // It leaves the registry now and stops once watchers know.
                    self.servers[server.index()].retired = true;
                    self.on_registry(|r, out| r.deregister(server, out));
                    let after_ns = self.registry.propagation_ns();
                    let event = Event::ServerRetire { server };
                    self.engine.schedule_in_ns(after_ns, event);
                }
            }
        }
    }

    /// Records for faults.csv when fault `fault`'s target servers last received an
    /// attempt since it started (as of now: its end, or the end of the run).
    fn record_last_hit(&mut self, fault: u32) {
        let servers = &self.servers;
        let last_hit = self
            .faults
            .last_hit(fault, |s| servers[s.index()].last_arrival);
        self.fault_log.set_last_hit(fault as usize, last_hit);
    }

    /// A request reaches its server: the server serves, queues, rejects or refuses
    /// it, or lets it vanish.
    pub(crate) fn on_request_arrive(&mut self, attempt: RequestId, gen: u32) {
        let now = self.engine.now();
        let in_measure = self.measured.contains(now);
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server.index();
        let probe = a.is_probe().then_some(a.probe_cost_ns);
        match self.servers[s].on_arrival(now, attempt, probe, in_measure) {
            Arrival::Answer(reply) => self.reply(attempt, reply),
            Arrival::Vanish => self.drop_request(attempt),
            Arrival::Serve => self.start_service(s, attempt),
            Arrival::Queued => {}
        }
    }

    /// A worker of server `s` takes `attempt`; its end of service is scheduled.
    fn start_service(&mut self, s: usize, attempt: RequestId) {
        let now = self.engine.now();
        let server = &mut self.servers[s];
        let a = self.attempts.get_mut(attempt);
        let probe = a.is_probe().then_some(a.probe_cost_ns);
        let group = &self.topology.groups[server.group.index()];
        let service_ns = server.start_service(now, attempt, probe, group);
        a.service_start = now;
        let epoch = server.epoch;
        let gen = self.attempts.generation(attempt);
        let event = Event::ServiceDone {
            attempt,
            gen,
            epoch,
        };
        self.engine.schedule_in_ns(service_ns, event);
    }

    /// A worker finishes: the server answers, then takes the next waiting request.
    pub(crate) fn on_service_done(&mut self, attempt: RequestId, gen: u32, epoch: u32) {
        let now = self.engine.now();
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server.index();
        let done = Served {
            attempt,
            started: a.service_start,
            epoch,
            probe: a.is_probe(),
        };
        let server = &mut self.servers[s];
        let error_rate = self.topology.groups[server.group.index()].error_rate;
        let Some(reply) = server.end_of_service(now, done, self.measured, error_rate) else {
            return;
        };
        self.reply(attempt, reply);
        if let Some(next) = self.servers[s].queue.pop_front() {
            self.start_service(s, next);
        }
    }

    /// A request that will reach a server solved in closed form at `arrive`: the
    /// server answers it now, and the answer is sent when it leaves the server.
    #[inline]
    pub(crate) fn serve_in_closed_form(&mut self, attempt: RequestId, arrive: Instant) {
        let a = self.attempts.get(attempt);
        let s = a.server;
        let probe = a.is_probe().then_some(a.probe_cost_ns);
        let server = &mut self.servers[s.index()];
        let group = &self.topology.groups[server.group.index()];
        let answered = server.serve_in_closed_form(arrive, probe, self.measured, group);
        if let Some(busy_ns) = answered.busy_tail_ns {
            self.busy_tail.push((answered.at, s, busy_ns));
        }
        self.reply_at(attempt, answered.at, answered.reply);
    }

    /// Sends the server's answer for `attempt` back over the network, now.
    pub(crate) fn reply(&mut self, attempt: RequestId, reply: Reply) {
        self.reply_at(attempt, self.engine.now(), reply);
    }

    /// Sends the server's answer for `attempt` back over the network, leaving at `at`.
    /// Later than now only for a server solved in closed form, whose answers cross a
    /// steady network with no fault: no draw and no fault to meet, so deciding the
    /// transit early changes nothing.
    #[inline]
    fn reply_at(&mut self, attempt: RequestId, at: Instant, reply: Reply) {
        let a = self.attempts.get(attempt);
        let (s, client) = (a.server, a.client);
        let server = &mut self.servers[s.index()];
        let closed_form = server.closed_form.is_some();
        match self.network.transit(
            Node::Server(s.0),
            Node::Client(client.0),
            &mut server.net_rng,
        ) {
            Some(delay) => {
                let gen = self.attempts.generation(attempt);
                let event = Event::ResponseArrive {
                    attempt,
                    gen,
                    reply,
                };
                let arrive = Instant(at.as_nanos().saturating_add(delay));
                if closed_form {
                    // A closed-form server's answers are sent when their requests are,
                    // so many wait at once; with one worker they leave in order, and a
                    // chain per server keeps them out of the heap (`chains.rs`).
                    self.engine.schedule_at_chain(arrive, s.0, event);
                } else {
                    self.engine.schedule_at_lane(arrive, LANE_RESPONSES, event);
                }
            }
            None => self.drop_request(attempt),
        }
    }

    /// Server `s` goes down (one more reason to be down). Work in flight is lost: with
    /// `refuse` the host resets the connections (clients see `refused` at once), with
    /// `blackhole` nothing answers.
    pub(crate) fn crash_server(&mut self, s: ServerId, mode: CrashMode) {
        let now = self.engine.now();
        let attempts = &self.attempts;
        let started = |a: RequestId| attempts.get(a).service_start;
        let mut lost = Vec::new();
        if !self.servers[s.index()].crash(now, mode, self.measured, started, &mut lost) {
            return;
        }
        for attempt in lost {
            match mode {
                CrashMode::Refuse => self.reply(attempt, Reply::Refused),
                CrashMode::Blackhole => self.drop_request(attempt),
            }
        }
        self.servers_up -= 1;
        self.recorder.on_servers_up(now, self.servers_up);
    }

    /// Server `s` loses one reason to be down; with none left it restarts, empty and
    /// cold, and registers again.
    pub(crate) fn repair_server(&mut self, s: ServerId) {
        let now = self.engine.now();
        if !self.servers[s.index()].repair(now) {
            return;
        }
        self.servers_up += 1;
        self.recorder.on_servers_up(now, self.servers_up);
        let epoch = self.servers[s.index()].epoch;
        self.on_registry(|r, out| r.on_server_up(s, epoch, out));
    }

    /// The request or its answer left the world (lost, or the server's life ended):
    /// nothing will come back; the stack's timeout, if any, ends the wait.
    pub(crate) fn drop_request(&mut self, attempt: RequestId) {
        self.attempts.remove(attempt);
    }

    /// Adds a server to `group` (autoscaling): down until it is provisioned, known to
    /// no one until it registers.
    pub(crate) fn add_server(&mut self, group: GroupId) -> ServerId {
        let id = ServerId(self.servers.len() as u32);
        let index = self.servers.iter().filter(|s| s.group == group).count() as u32;
        let config = self.topology.group(group);
        let mut server = Server::new(config, group, index, u64::from(id.0), self.seed, true);
        server.state = ServerState::Down {
            reasons: 1,
            mode: CrashMode::Refuse,
        };
        self.servers.push(server);
        self.tier_of.push(self.topology.group(group).tier);
        self.registry.add_server();
        id
    }
}

/// The client side: each instance's stack decides, the world carries out its
/// `Action`s (`client.rs` holds the instances).
impl World {
    /// An open-loop arrival: start a call and schedule the next arrival.
    pub(crate) fn on_arrival_tick(&mut self, client: ClientId) {
        let now = self.engine.now();
        if now >= self.measured.end {
            return;
        }
        let next = Instant(self.clients[client.index()].next_arrival_ns());
        let event = Event::ArrivalTick { client };
        self.engine
            .schedule_at_lane(next.max(now), LANE_ARRIVALS, event);
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
        self.clients[client.index()].start_call(now);
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
                    let cost_ns = self.clients[client.index()].probe_cost_ns();
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
    pub(crate) fn on_response(&mut self, attempt: RequestId, gen: u32, reply: Reply) {
        let now = self.engine.now();
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let (owner, client) = (a.owner, a.client);
        self.attempts.remove(attempt);
        self.clients[client.index()].on_answer(now, owner, reply);
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
        if now < self.measured.end {
            if let Some(delay) = self.clients[client.index()].think_ns() {
                self.engine
                    .schedule_in_ns(delay, Event::CallerWake { client });
            }
        }
    }
}

/// Gives every server that nothing can disturb its closed-form queue.
fn solve_undisturbed_servers(
    servers: &mut [Server],
    cfg: &ScenarioFile,
    faults: &FaultSchedule,
    network: &Network,
) {
    let network_faults = faults.acts_on_network();
    for (id, server) in servers.iter_mut().enumerate() {
        let group = &cfg.servers[server.group.index()];
        let conditions = closed_form::Conditions {
            steady_network: network.is_steady(),
            network_faults,
            autoscaled: cfg.autoscale.is_some(),
            server_faulted: faults.targets_server(ServerId(id as u32)),
            concurrency: server.concurrency,
            error_rate: group.error_rate,
        };
        if closed_form::qualifies(conditions) {
            server.closed_form = Some(ClosedForm::new(server.concurrency, server.queue_limit));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Override;
    use std::path::Path;

    /// Runs `text` with seed 7, its qualifying servers solved in closed form or, with
    /// `closed_form` false, every server driven by events.
    fn run(text: &str, closed_form: bool) -> RunOutput {
        let scenario = Scenario::from_text(Path::new("x.toml"), text, &[] as &[Override])
            .expect("a valid scenario");
        let mut world = World::build(&scenario, 7);
        if !closed_form {
            for server in &mut world.servers {
                server.closed_form = None;
            }
        }
        world.run(&AtomicU64::new(0)).expect("the run ends")
    }

    /// A scenario where every server qualifies: queueing on several workers, a
    /// bounded queue that rejects, errors on a one-worker group, health probes that
    /// take a worker, timeouts, retries and p2c (whose picks depend on answers). The
    /// one-worker group's long tail makes some services outlive the run, whose busy
    /// time only counts if they end before the loop stops (`World::finish`).
    const UNDISTURBED: &str = r#"
name = "closed-form"
[run]
duration = "20s"
warmup = "2s"
drain = "1s"
window = "1s"
[network]
latency = "150us"
[[servers]]
group = "api"
count = 4
concurrency = 2
queue = 3
service = { dist = "exponential", mean = "4ms" }
[[servers]]
group = "solo"
count = 2
service = { dist = "lognormal", median = "3ms", p99 = "1s" }
error_rate = 0.05
[[clients]]
name = "web"
instances = 3
target = ["api", "solo"]
balancer = "p2c"
arrival = { process = "poisson", rate = 2400 }
timeout = "20ms"
retry = { attempts = 3, budget = { ratio = 0.5 } }
health_check = { interval = "1s", probe_cost = "1ms" }
"#;

    /// Solving undisturbed servers at send time changes the number of events and
    /// nothing else: every measured number is the one the event-driven path gives.
    #[test]
    fn closed_form_servers_measure_what_events_measure() {
        let fast = run(UNDISTURBED, true);
        let slow = run(UNDISTURBED, false);
        let (mut fast_m, mut slow_m) = (fast.metrics, slow.metrics);
        // Two events fewer per request: its arrival and its end of service.
        let (fast_events, slow_events) = (fast_m.summary.events, slow_m.summary.events);
        assert!(
            fast_events < slow_events * 8 / 10,
            "{fast_events} vs {slow_events}"
        );
        assert!(
            fast_m.servers.iter().any(|s| s.rejected > 0),
            "the queue limit acts"
        );
        assert!(
            fast_m.servers.iter().any(|s| s.errors > 0),
            "errors are drawn"
        );
        fast_m.summary.events = 0;
        slow_m.summary.events = 0;
        assert_eq!(fast_m, slow_m);
    }

    /// Prefetching for the next event is a hint to the CPU: forced on in a small world
    /// (where it is off by default), it changes neither the events nor any number.
    /// The scenario takes every path `prefetch_ahead` has a case for: requests
    /// queued at servers driven by events (a crash and a slowdown keep them off the
    /// closed form), answers, attempt timeouts and deadlines, retries, p2c picks over
    /// endpoint breakers and outlier ejection, and several instances.
    #[test]
    fn prefetching_changes_no_output() {
        let text = format!(
            "{UNDISTURBED}\n[[faults]]\nkind = \"crash\"\ntarget = \"api[0]\"\nat = \"4s\"\nduration = \"4s\"\n\
             [[faults]]\nkind = \"slow\"\ntarget = \"api[1..3]\"\nat = \"6s\"\nduration = \"6s\"\nfactor = 8\n"
        )
        .replace(
            "timeout = \"20ms\"",
            "timeout = \"20ms\"\ndeadline = \"60ms\"\nbreaker = { scope = \"endpoint\", minimum_calls = 10, window_size = 20, wait_in_open = \"1s\" }\noutlier = { consecutive_failures = 5 }",
        );
        let scenario = Scenario::from_text(Path::new("x.toml"), &text, &[]).unwrap();
        let outputs: Vec<RunOutput> = [false, true]
            .into_iter()
            .map(|prefetch| {
                let mut world = World::build(&scenario, 7);
                assert!(
                    !world.prefetch,
                    "3 instances x 6 servers is below PREFETCH_FROM"
                );
                world.prefetch = prefetch;
                world.run(&AtomicU64::new(0)).expect("the run ends")
            })
            .collect();
        assert!(outputs[0].metrics.summary.events > 100_000);
        assert_eq!(outputs[0].fingerprint, outputs[1].fingerprint);
        assert_eq!(outputs[0].metrics, outputs[1].metrics);
    }

    /// A call draws a request key only if its balancer reads one (or the calls
    /// stream also gives think times): p2c ignores the key, so drawing it or not
    /// changes no event and no number, while `ring_hash` routes by it.
    #[test]
    fn unread_request_keys_are_not_drawn_and_change_nothing() {
        let world = |text: &str| {
            let scenario = Scenario::from_text(Path::new("x.toml"), text, &[]).unwrap();
            World::build(&scenario, 7)
        };
        // Each scenario run with keys drawn and without.
        let outputs = |text: &str| -> Vec<RunOutput> {
            [false, true]
                .into_iter()
                .map(|draw| {
                    let mut world = world(text);
                    for client in &mut world.clients {
                        client.draws_keys = draw;
                    }
                    world.run(&AtomicU64::new(0)).expect("the run ends")
                })
                .collect()
        };
        assert!(
            !world(UNDISTURBED).clients[0].draws_keys,
            "p2c reads no key"
        );
        let p2c = outputs(UNDISTURBED);
        assert_eq!(p2c[0].fingerprint, p2c[1].fingerprint);
        assert_eq!(p2c[0].metrics, p2c[1].metrics);
        let hashing = UNDISTURBED.replace("balancer = \"p2c\"", "balancer = \"ring_hash\"");
        assert!(world(&hashing).clients[0].draws_keys, "ring_hash reads it");
        let ring = outputs(&hashing);
        assert_ne!(
            ring[0].metrics, ring[1].metrics,
            "ring_hash routes by the key: without draws every call has key 0"
        );
    }

    /// A fault on one server keeps that server on events, the others in closed form.
    #[test]
    fn only_undisturbed_servers_are_solved_in_closed_form() {
        let text = format!(
            "{UNDISTURBED}\n[[faults]]\nkind = \"slow\"\ntarget = \"api[1]\"\nat = \"5s\"\nduration = \"5s\"\nfactor = 3\n"
        );
        let scenario = Scenario::from_text(Path::new("x.toml"), &text, &[]).unwrap();
        let world = World::build(&scenario, 7);
        let solved: Vec<bool> = world
            .servers
            .iter()
            .map(|s| s.closed_form.is_some())
            .collect();
        assert_eq!(solved, vec![true, false, true, true, true, true]);
        let lossy = UNDISTURBED.replace("latency = \"150us\"", "latency = \"150us\"\nloss = 0.01");
        let scenario = Scenario::from_text(Path::new("x.toml"), &lossy, &[]).unwrap();
        let world = World::build(&scenario, 7);
        assert!(world.servers.iter().all(|s| s.closed_form.is_none()));
    }
}

mod prefetch;

#[cfg(test)]
mod handler_tests;

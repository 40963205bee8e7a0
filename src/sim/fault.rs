//! Faults at run time: when each starts and ends, which nodes it hits, and what it
//! does to servers (crash, slow, errors) and to messages (latency, loss, partition).
//!
//! Each declared fault draws from its own random stream (per server for
//! `random_crash`), so the same seed gives every variant the same faults.

use rand::Rng;
use rand_distr::Exp1;

use super::event::{Event, Reply};
use super::ids::ServerId;
use super::network::{MessageFault, Node, NodeSet};
use super::server::Server;
use super::world::World;
use crate::metrics::{FaultLog, FaultSpan};
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{CrashMode, Fault, FaultKind, ScenarioFile};
use crate::time::{nanos, Instant};

/// One declared fault during a run.
#[derive(Debug)]
pub struct FaultRun {
    /// The checked declaration.
    pub spec: Fault,
    /// When it starts and ends (`Instant::MAX`: never ends).
    pub start: Instant,
    /// See `start`.
    pub end: Instant,
    /// Targets (or the first side of a partition).
    pub targets: NodeSet,
    /// The second side of a partition.
    pub other: NodeSet,
    /// Between its start and end.
    pub active: bool,
    /// `random_crash`: which target servers it holds down now, by server id.
    pub holding_down: Vec<bool>,
    /// `random_crash`: one stream per server, so each fails independently.
    pub server_rngs: Vec<SimRng>,
}

impl FaultRun {
    /// True for the kinds that act on messages (latency, loss, partition).
    pub fn acts_on_network(&self) -> bool {
        matches!(
            self.spec.kind,
            FaultKind::Latency { .. } | FaultKind::Loss { .. } | FaultKind::Partition { .. }
        )
    }
}

/// Every fault of a run.
#[derive(Debug, Default)]
pub struct FaultState {
    /// In declaration order.
    pub runs: Vec<FaultRun>,
}

impl FaultState {
    /// Resolves the faults of `cfg`; times are after the warmup at `measure_start`.
    pub fn new(
        cfg: &ScenarioFile,
        faults: &[Fault],
        measure_start: Instant,
        seed: u64,
    ) -> FaultState {
        let runs = faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let (targets, other) = match &f.kind {
                    FaultKind::Partition { a, b, .. } => {
                        (NodeSet::resolve(cfg, a), NodeSet::resolve(cfg, b))
                    }
                    _ => (
                        f.target
                            .as_ref()
                            .map(|t| NodeSet::resolve(cfg, t))
                            .unwrap_or_default(),
                        NodeSet::default(),
                    ),
                };
                let start = measure_start.after(f.at);
                let server_rngs = match f.kind {
                    FaultKind::RandomCrash { .. } => (0..targets.server_slots() as u64)
                        .map(|s| stream(seed, Role::Faults, (1 << 40) | ((i as u64) << 24) | s))
                        .collect(),
                    _ => Vec::new(),
                };
                FaultRun {
                    server_rngs,
                    spec: f.clone(),
                    start,
                    end: f.duration.map_or(Instant::MAX, |d| start.after(d)),
                    holding_down: vec![false; targets.server_slots()],
                    targets,
                    other,
                    active: false,
                }
            })
            .collect();
        FaultState { runs }
    }

    /// When fault `fault`'s target servers last received an attempt since it started
    /// (as of now: its end, or the end of the run).
    pub fn last_hit(&self, fault: usize, servers: &[Server]) -> Option<Instant> {
        let f = &self.runs[fault];
        f.targets
            .server_ids()
            .into_iter()
            .filter_map(|s| servers[s as usize].last_arrival)
            .filter(|&t| t >= f.start)
            .max()
    }

    /// The measurement side of every fault, nothing counted yet: kind, target as
    /// written in `cfg` (both sides of a partition), span, and whether it hits servers.
    pub fn log(&self, cfg: &ScenarioFile) -> FaultLog {
        let spans = self
            .runs
            .iter()
            .zip(&cfg.faults)
            .map(|(f, raw)| {
                let partition = matches!(f.spec.kind, FaultKind::Partition { .. });
                let target = if partition {
                    raw.between.clone().unwrap_or_default().join(" | ")
                } else {
                    raw.target.clone().unwrap_or_default()
                };
                let hits_servers = !partition && !f.targets.server_ids().is_empty();
                FaultSpan::new(f.spec.kind.name(), target, f.start, f.end, hits_servers)
            })
            .collect();
        FaultLog::new(spans)
    }
}

impl World {
    /// Schedules the start and end of every fault.
    pub(crate) fn schedule_faults(&mut self) {
        for (i, f) in self.faults.runs.iter().enumerate() {
            self.engine
                .schedule_at(f.start, Event::FaultStart { fault: i as u32 });
            if f.end != Instant::MAX {
                self.engine
                    .schedule_at(f.end, Event::FaultEnd { fault: i as u32 });
            }
        }
    }

    /// A fault begins.
    pub(crate) fn on_fault_start(&mut self, fault: u32) {
        let f = &mut self.faults.runs[fault as usize];
        f.active = true;
        let servers: Vec<ServerId> = f.targets.server_ids().into_iter().map(ServerId).collect();
        match f.spec.kind.clone() {
            FaultKind::Crash { mode } => {
                for s in servers {
                    self.crash_server(s, mode);
                }
            }
            FaultKind::RandomCrash { mtbf, mttr, .. } => {
                // Each server starts in its stationary state: down with probability
                // MTTR / (MTBF + MTTR); exponential times are memoryless.
                let down = nanos(mttr) as f64 / (nanos(mtbf) + nanos(mttr)) as f64;
                for s in servers {
                    let rng = &mut self.faults.runs[fault as usize].server_rngs[s.index()];
                    if rng.random::<f64>() < down {
                        self.on_server_fail(s, fault);
                    } else {
                        let up_ns = exp_ns(rng, mtbf);
                        self.engine
                            .schedule_in_ns(up_ns, Event::ServerFail { server: s, fault });
                    }
                }
            }
            FaultKind::Slow { .. } | FaultKind::Errors { .. } => {
                for s in servers {
                    self.refresh_gray(s);
                }
            }
            FaultKind::Latency { .. } | FaultKind::Loss { .. } | FaultKind::Partition { .. } => {
                let f = &self.faults.runs[fault as usize];
                let message_fault = MessageFault::new(&f.spec.kind, &f.targets, &f.other);
                if let Some(m) = message_fault {
                    self.network.fault_started(fault, m);
                }
            }
            FaultKind::RegistryDown => self.set_registry_down(true),
        }
    }

    /// A fault ends: everything it did is undone.
    pub(crate) fn on_fault_end(&mut self, fault: u32) {
        let last_hit = self.faults.last_hit(fault as usize, &self.servers);
        self.fault_log.set_last_hit(fault as usize, last_hit);
        let f = &mut self.faults.runs[fault as usize];
        f.active = false;
        let servers: Vec<ServerId> = f.targets.server_ids().into_iter().map(ServerId).collect();
        match f.spec.kind {
            FaultKind::Crash { .. } => {
                for s in servers {
                    self.repair_server(s);
                }
            }
            FaultKind::RandomCrash { .. } => {
                for s in servers {
                    let f = &mut self.faults.runs[fault as usize];
                    if std::mem::take(&mut f.holding_down[s.index()]) {
                        self.repair_server(s);
                    }
                }
            }
            FaultKind::Slow { .. } | FaultKind::Errors { .. } => {
                for s in servers {
                    self.refresh_gray(s);
                }
            }
            FaultKind::Latency { .. } | FaultKind::Loss { .. } | FaultKind::Partition { .. } => {
                self.network.fault_ended(fault);
            }
            FaultKind::RegistryDown => self.set_registry_down(false),
        }
    }

    /// `random_crash`: server `s` fails; it comes back after an exponential MTTR.
    pub(crate) fn on_server_fail(&mut self, s: ServerId, fault: u32) {
        let f = &mut self.faults.runs[fault as usize];
        let FaultKind::RandomCrash { mttr, mode, .. } = f.spec.kind else {
            return;
        };
        if !f.active || f.holding_down[s.index()] {
            return;
        }
        f.holding_down[s.index()] = true;
        let down_ns = exp_ns(&mut f.server_rngs[s.index()], mttr);
        self.crash_server(s, mode);
        self.engine
            .schedule_in_ns(down_ns, Event::ServerRepair { server: s, fault });
    }

    /// `random_crash`: server `s` is repaired; it fails again after an exponential MTBF.
    pub(crate) fn on_server_repair(&mut self, s: ServerId, fault: u32) {
        let f = &mut self.faults.runs[fault as usize];
        let FaultKind::RandomCrash { mtbf, .. } = f.spec.kind else {
            return;
        };
        if !f.active || !std::mem::take(&mut f.holding_down[s.index()]) {
            return;
        }
        let up_ns = exp_ns(&mut f.server_rngs[s.index()], mtbf);
        self.repair_server(s);
        self.engine
            .schedule_in_ns(up_ns, Event::ServerFail { server: s, fault });
    }

    /// Server `s` goes down (one more reason to be down). Work in flight is lost: with
    /// `refuse` the host resets the connections (clients see `refused` at once), with
    /// `blackhole` nothing answers.
    pub(crate) fn crash_server(&mut self, s: ServerId, mode: CrashMode) {
        let now = self.engine.now();
        let measured = self.measured;
        let server = &mut self.servers[s.index()];
        if !server.add_down_reason(mode) {
            return; // already down: the first crash's mode stays in force
        }
        server.epoch += 1;
        server.stats.up_ns += measured.overlap_ns(server.up_since, now);
        // Work in service until now was done, even if its answer is lost.
        server.settle_busy(now);
        for &attempt in &server.in_service {
            let started = self.attempts.get(attempt).service_start;
            server.stats.busy_ns += u128::from(measured.overlap_ns(started, now));
        }
        server.busy = 0;
        let mut lost: Vec<u32> = server.in_service.drain(..).collect();
        lost.extend(server.queue.drain(..));
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
    /// cold (nothing queued, nothing in flight), and registers again.
    pub(crate) fn repair_server(&mut self, s: ServerId) {
        let now = self.engine.now();
        let server = &mut self.servers[s.index()];
        if !server.remove_down_reason() {
            return;
        }
        server.up_since = now;
        self.servers_up += 1;
        self.recorder.on_servers_up(now, self.servers_up);
        self.on_server_up_for_discovery(s);
    }

    /// Recomputes server `s`'s slow factor and fail-fast error rate from the active
    /// `slow` and `errors` faults that target it.
    fn refresh_gray(&mut self, s: ServerId) {
        let (mut factor, mut ok) = (1.0, 1.0);
        for f in &self.faults.runs {
            if f.active && f.targets.contains(Node::Server(s.0)) {
                match f.spec.kind {
                    FaultKind::Slow { factor: x } => factor *= x,
                    FaultKind::Errors { rate } => ok *= 1.0 - rate,
                    _ => {}
                }
            }
        }
        let server = &mut self.servers[s.index()];
        server.slow_factor = factor;
        server.fail_fast_rate = 1.0 - ok;
    }
}

/// An exponential duration with the given mean, in nanoseconds.
fn exp_ns(rng: &mut SimRng, mean: std::time::Duration) -> u64 {
    (rng.sample::<f64, _>(Exp1) * nanos(mean) as f64) as u64
}

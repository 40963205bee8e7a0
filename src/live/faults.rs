//! The fault schedule in real time, and where each fault is injected.
//!
//! | kind | injected in |
//! | --- | --- |
//! | `crash` (`refuse`) | the server: its listener closes (the kernel refuses new connections) and open connections are reset |
//! | `crash` (`blackhole`) | the server: it keeps accepting and reading, and answers nothing |
//! | `slow`, `errors` | the server's handler (service times multiplied; immediate `500`s) |
//! | `latency`, `loss`, `partition` | the client's transport, before a request is sent and when its answer comes back (an extra timer wait, or a message dropped: the attempt never completes and the stack's timeout ends it) |
//!
//! Targets are resolved exactly as the simulator resolves them ([`NodeSet`]), times
//! are counted from the end of the warmup, and `faults.csv` gets the same columns.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::Rng;

use super::clock::Clock;
use super::server::{lock, LiveServer};
use crate::dist::Dist;
use crate::metrics::{FaultLog, FaultRow, FaultSpan, Measured, Recorder, WindowRow};
use crate::rng::SimRng;
use crate::scenario::{FaultKind, Scenario};
use crate::sim::{Node, NodeSet};
use crate::time::Instant;

/// One declared fault during a live run.
#[derive(Debug)]
pub struct LiveFault {
    kind: FaultKind,
    label: String,
    /// Start and end (`Instant::MAX`: until the end of the run).
    pub start: Instant,
    /// See `start`.
    pub end: Instant,
    targets: NodeSet,
    other: NodeSet,
    active: AtomicBool,
    calls_failed: AtomicU64,
    /// When a target server last received an attempt, as of the fault's end.
    last_hit: Mutex<Option<Instant>>,
}

/// Every fault of the run, and the scenario's base network.
#[derive(Debug)]
pub struct LiveFaults {
    /// In declaration order.
    pub faults: Vec<LiveFault>,
    latency: Dist,
    loss: f64,
}

impl LiveFaults {
    /// Resolves the faults of `scenario`, measured from `measure_start`.
    pub fn new(scenario: &Scenario, measure_start: Instant) -> LiveFaults {
        let cfg = &scenario.config;
        let faults = scenario
            .faults
            .iter()
            .zip(&cfg.faults)
            .map(|(f, raw)| {
                let (targets, other, label) = match &f.kind {
                    FaultKind::Partition { a, b, .. } => (
                        NodeSet::resolve(cfg, a),
                        NodeSet::resolve(cfg, b),
                        raw.between.clone().unwrap_or_default().join(" | "),
                    ),
                    _ => (
                        f.target
                            .as_ref()
                            .map(|t| NodeSet::resolve(cfg, t))
                            .unwrap_or_default(),
                        NodeSet::default(),
                        raw.target.clone().unwrap_or_default(),
                    ),
                };
                let start = measure_start.after(f.at);
                LiveFault {
                    kind: f.kind.clone(),
                    label,
                    start,
                    end: f.duration.map_or(Instant::MAX, |d| start.after(d)),
                    targets,
                    other,
                    active: AtomicBool::new(false),
                    calls_failed: AtomicU64::new(0),
                    last_hit: Mutex::new(None),
                }
            })
            .collect();
        LiveFaults {
            faults,
            latency: cfg.network.latency.clone(),
            loss: cfg.network.loss,
        }
    }

    /// The one-way delay of a message from `src` to `dst` (the scenario's network
    /// latency plus active `latency` faults), or `None` if it is lost (network loss,
    /// a `loss` fault, a partition). Mirrors the simulator's `transit`.
    pub fn transit(&self, src: Node, dst: Node, rng: &mut SimRng) -> Option<u64> {
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return None;
        }
        let mut delay = self.latency.sample_ns(rng);
        for f in self
            .faults
            .iter()
            .filter(|f| f.active.load(Ordering::Relaxed))
        {
            match &f.kind {
                FaultKind::Partition { one_way, .. } if blocks(f, *one_way, src, dst) => {
                    return None;
                }
                FaultKind::Loss { rate }
                    if (f.targets.contains(src) || f.targets.contains(dst))
                        && rng.random::<f64>() < *rate =>
                {
                    return None;
                }
                FaultKind::Latency { latency }
                    if f.targets.contains(src) || f.targets.contains(dst) =>
                {
                    delay = delay.saturating_add(latency.sample_ns(rng));
                }
                _ => {}
            }
        }
        Some(delay)
    }

    /// True if an active partition drops messages from `src` to `dst` now (checked
    /// again when an answer comes back, so a partition that starts while a request
    /// is served drops its answer).
    pub fn partitioned(&self, src: Node, dst: Node) -> bool {
        self.faults.iter().any(|f| {
            f.active.load(Ordering::Relaxed)
                && matches!(f.kind, FaultKind::Partition { one_way, .. } if blocks(f, one_way, src, dst))
        })
    }

    /// Counts a failed measured call that started at `start` against every fault
    /// active then.
    pub fn on_call_failed(&self, start: Instant) {
        for f in &self.faults {
            if f.start <= start && start < f.end {
                f.calls_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Runs the schedule: starts and ends every fault at its time. Returns when the
    /// last one has ended or `until` is reached.
    pub async fn run(
        self: Arc<Self>,
        clock: Clock,
        servers: Vec<Arc<LiveServer>>,
        recorder: Arc<Mutex<Recorder>>,
        until: Instant,
    ) -> std::io::Result<()> {
        let mut moments: Vec<(Instant, usize, bool)> = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            moments.push((f.start, i, true));
            if f.end != Instant::MAX {
                moments.push((f.end, i, false));
            }
        }
        moments.sort_by_key(|&(t, i, start)| (t, !start, i));
        for (at, i, start) in moments {
            if at > until {
                break;
            }
            tokio::time::sleep_until(clock.wall(at)).await;
            let f = &self.faults[i];
            f.active.store(start, Ordering::Relaxed);
            let targets: Vec<(u32, &Arc<LiveServer>)> = f
                .targets
                .server_ids()
                .into_iter()
                .filter_map(|s| servers.get(s as usize).map(|server| (s, server)))
                .collect();
            match &f.kind {
                FaultKind::Crash { mode } => {
                    for (_, s) in &targets {
                        if start {
                            s.crash(*mode);
                        } else {
                            s.repair()?;
                        }
                    }
                    let up = servers.iter().filter(|s| s.is_up()).count() as u32;
                    let mut rec = lock(&recorder);
                    rec.on_servers_up(clock.now(), up);
                }
                FaultKind::Slow { .. } | FaultKind::Errors { .. } => {
                    for &(id, s) in &targets {
                        self.refresh_gray(id, s);
                    }
                }
                _ => {}
            }
            if !start {
                self.snapshot_drain(i, &servers);
            }
        }
        Ok(())
    }

    /// Sets server `s`'s slow factor and fail-fast rate from every active fault on it
    /// (factors multiply; error rates combine as independent draws).
    fn refresh_gray(&self, s: u32, server: &LiveServer) {
        let (mut factor, mut ok) = (1.0, 1.0);
        for f in &self.faults {
            if f.active.load(Ordering::Relaxed) && f.targets.contains(Node::Server(s)) {
                match f.kind {
                    FaultKind::Slow { factor: x } => factor *= x,
                    FaultKind::Errors { rate } => ok *= 1.0 - rate,
                    _ => {}
                }
            }
        }
        let mut inner = lock(&server.inner);
        inner.slow_factor = factor;
        inner.fail_fast_rate = 1.0 - ok;
    }

    /// Records, as of fault `i`'s end, when its target servers last received an
    /// attempt.
    fn snapshot_drain(&self, i: usize, servers: &[Arc<LiveServer>]) {
        let f = &self.faults[i];
        let last = f
            .targets
            .server_ids()
            .into_iter()
            .filter_map(|s| servers.get(s as usize))
            .filter_map(|s| lock(&s.inner).last_arrival)
            .filter(|&t| t >= f.start)
            .max();
        *lock(&f.last_hit) = last;
    }

    /// The `faults.csv` rows, computed by `metrics` as for a simulated run.
    pub fn rows(
        &self,
        servers: &[Arc<LiveServer>],
        windows: &[WindowRow],
        window_ns: u64,
        slo: f64,
        measure: Measured,
    ) -> Vec<FaultRow> {
        for (i, f) in self.faults.iter().enumerate() {
            if f.active.load(Ordering::Relaxed) {
                self.snapshot_drain(i, servers);
            }
        }
        let spans = self
            .faults
            .iter()
            .map(|f| FaultSpan {
                hits_servers: !f.targets.server_ids().is_empty()
                    && !matches!(f.kind, FaultKind::Partition { .. }),
                calls_failed: f.calls_failed.load(Ordering::Relaxed),
                last_hit: *lock(&f.last_hit),
                ..FaultSpan::new(f.kind.name(), f.label.clone(), f.start, f.end, false)
            })
            .collect();
        FaultLog::new(spans).rows(windows, window_ns, slo, measure)
    }
}

/// True if partition `f` drops a message from `src` to `dst`.
fn blocks(f: &LiveFault, one_way: bool, src: Node, dst: Node) -> bool {
    let forward = f.targets.contains(src) && f.other.contains(dst);
    let backward = f.other.contains(src) && f.targets.contains(dst);
    forward || (!one_way && backward)
}

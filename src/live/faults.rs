//! The fault schedule in real time, and where each fault is injected.
//!
//! | kind | injected in |
//! | --- | --- |
//! | `crash`, `random_crash` (`refuse`) | the server: its listener closes (the kernel refuses new connections) and open connections are reset |
//! | `crash`, `random_crash` (`blackhole`) | the server: it keeps accepting and reading, and answers nothing |
//! | `slow`, `errors` | the server's handler (service times multiplied; immediate `500`s) |
//! | `latency`, `loss`, `partition` | the client's transport, before a request is sent and when its answer comes back (an extra timer wait, or a message dropped: the attempt never completes and the stack's timeout ends it) |
//!
//! The schedule is the simulator's own [`FaultSchedule`]: the same targets, the same
//! times counted from the end of the warmup, and the same `random_crash` draws for the
//! same seed. This module only carries out its effects on real servers and on the
//! simulator's [`Network`], which the client's transport asks for every message; the
//! `faults.csv` rows come from the same [`FaultLog`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::clock::Clock;
use super::server::{lock, LiveServer};
use crate::metrics::{FaultLog, FaultRow, Measured, Recorder, WindowRow};
use crate::rng::SimRng;
use crate::scenario::Scenario;
use crate::sim::{FaultEffect, FaultSchedule, FaultStep, Network, Node};
use crate::time::Instant;

/// Every fault of the run, the network they act on, and what each cost.
#[derive(Debug)]
pub struct LiveFaults {
    /// Which faults are on, and the `random_crash` streams.
    schedule: Mutex<FaultSchedule>,
    /// The scenario's latency and loss, and the message faults on now.
    network: Mutex<Network>,
    /// What each fault cost, for `faults.csv`.
    log: Mutex<FaultLog>,
}

/// What comes due in the schedule's own time.
#[derive(Clone, Copy, Debug)]
enum Due {
    Start(u32),
    End(u32),
    Step(FaultStep),
}

impl LiveFaults {
    /// Resolves the faults of `scenario`, measured from `measure_start`, with the
    /// simulator's streams for `seed`.
    pub fn new(scenario: &Scenario, measure_start: Instant, seed: u64) -> LiveFaults {
        let cfg = &scenario.config;
        let schedule = FaultSchedule::new(cfg, &scenario.faults, measure_start, seed);
        LiveFaults {
            log: Mutex::new(schedule.log(cfg)),
            schedule: Mutex::new(schedule),
            network: Mutex::new(Network::new(cfg.network.latency.clone(), cfg.network.loss)),
        }
    }

    /// The one-way delay of a message from `src` to `dst`, or `None` if it is lost:
    /// the simulator's [`Network::transit`], with the message faults on now.
    pub fn transit(&self, src: Node, dst: Node, rng: &mut SimRng) -> Option<u64> {
        lock(&self.network).transit(src, dst, rng)
    }

    /// True if a partition on now drops messages from `src` to `dst`.
    pub fn partitioned(&self, src: Node, dst: Node) -> bool {
        lock(&self.network).partitioned(src, dst)
    }

    /// Counts a failed measured call that started at `start` against every fault
    /// on then.
    pub fn on_call_failed(&self, start: Instant) {
        lock(&self.log).on_call_failed(start);
    }

    /// Runs the schedule: tells it each start, end and `random_crash` step at its
    /// time, in the simulator's order (by time, then in the order they were asked
    /// for), and carries out its effects. Returns when nothing is due before `until`.
    pub async fn run(
        self: Arc<Self>,
        clock: Clock,
        servers: Vec<Arc<LiveServer>>,
        recorder: Arc<Mutex<Recorder>>,
        until: Instant,
    ) -> std::io::Result<()> {
        let mut due: BTreeMap<(Instant, u64), Due> = BTreeMap::new();
        for (at, fault, start) in lock(&self.schedule).timeline() {
            let what = if start {
                Due::Start(fault)
            } else {
                Due::End(fault)
            };
            due.insert((at, due.len() as u64), what);
        }
        let mut asked = due.len() as u64;
        let mut effects = Vec::new();
        while let Some(((at, _), what)) = due.pop_first() {
            if at > until {
                break;
            }
            tokio::time::sleep_until(clock.wall(at)).await;
            {
                let mut schedule = lock(&self.schedule);
                match what {
                    Due::Start(fault) => schedule.start(fault, &mut effects),
                    Due::End(fault) => schedule.end(fault, &mut effects),
                    Due::Step(step) => schedule.step(step, &mut effects),
                }
            }
            let mut servers_changed = false;
            for effect in effects.drain(..) {
                match effect {
                    FaultEffect::Crash { server, mode } => {
                        if let Some(s) = servers.get(server.index()) {
                            s.crash(mode);
                            servers_changed = true;
                        }
                    }
                    FaultEffect::Repair { server } => {
                        if let Some(s) = servers.get(server.index()) {
                            s.repair()?;
                            servers_changed = true;
                        }
                    }
                    FaultEffect::Gray {
                        server,
                        slow_factor,
                        fail_fast_rate,
                    } => {
                        if let Some(s) = servers.get(server.index()) {
                            let mut inner = lock(&s.inner);
                            inner.slow_factor = slow_factor;
                            inner.fail_fast_rate = fail_fast_rate;
                        }
                    }
                    FaultEffect::MessagesOn { fault, effect } => {
                        lock(&self.network).fault_started(fault, effect);
                    }
                    FaultEffect::MessagesOff { fault } => lock(&self.network).fault_ended(fault),
                    // `check` refuses registry discovery, so there is no registry to
                    // take down (and refuses `registry_down` by name).
                    FaultEffect::RegistryDown(_) => {}
                    FaultEffect::Ended { fault } => self.record_last_hit(fault, &servers),
                    FaultEffect::Later { after_ns, step } => {
                        let when = Instant::from_nanos(at.as_nanos().saturating_add(after_ns));
                        due.insert((when, asked), Due::Step(step));
                        asked += 1;
                    }
                }
            }
            if servers_changed {
                let up = servers.iter().filter(|s| s.is_up()).count() as u32;
                lock(&recorder).on_servers_up(clock.now(), up);
            }
        }
        Ok(())
    }

    /// Records for `faults.csv` when fault `fault`'s target servers last received an
    /// attempt since it started (as of now: its end, or the end of the run).
    fn record_last_hit(&self, fault: u32, servers: &[Arc<LiveServer>]) {
        let last_hit = lock(&self.schedule).last_hit(fault, |s| {
            servers
                .get(s.index())
                .and_then(|s| lock(&s.inner).last_arrival)
        });
        lock(&self.log).set_last_hit(fault as usize, last_hit);
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
        let active: Vec<u32> = lock(&self.schedule).active().collect();
        for fault in active {
            self.record_last_hit(fault, servers);
        }
        lock(&self.log).rows(windows, window_ns, slo, measure)
    }
}

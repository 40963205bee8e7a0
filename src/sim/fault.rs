//! The fault schedule: when each declared fault starts and ends, which nodes it hits,
//! and what it does, as effects for the world to carry out (crash or repair a server,
//! slow it down or make it fail fast, act on messages, take the registry down).
//!
//! A state machine over the faults alone: it reads no server, queue or clock, so what
//! it does is a pure function of the scenario, the seed and the times it is told of
//! (its own start, end and `random_crash` steps). `world.rs` applies its effects; `hasim
//! live` could drive real servers from the same effects. Each declared fault draws
//! from its own random stream (per server for `random_crash`), so the same seed gives
//! every variant the same faults.

use rand::Rng;
use rand_distr::Exp1;

use super::ids::ServerId;
use super::network::{MessageFault, Node, NodeSet};
use crate::metrics::{FaultLog, FaultSpan};
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{CrashMode, Fault, FaultKind, ScenarioFile};
use crate::time::{nanos, Instant};

/// What the world must do because of a fault, in the order given.
#[derive(Clone, Debug)]
pub enum FaultEffect {
    /// `server` gets one more reason to be down; a new crash looks like `mode`.
    Crash {
        /// The server.
        server: ServerId,
        /// How the crash looks to clients.
        mode: CrashMode,
    },
    /// `server` loses one reason to be down.
    Repair {
        /// The server.
        server: ServerId,
    },
    /// `server`'s gray failure changed: its service times are multiplied by
    /// `slow_factor` and it fails fast with probability `fail_fast_rate`.
    Gray {
        /// The server.
        server: ServerId,
        /// Product of the active `slow` factors on it.
        slow_factor: f64,
        /// Combined rate of the active `errors` faults on it.
        fail_fast_rate: f64,
    },
    /// Fault `fault` starts acting on messages.
    MessagesOn {
        /// Fault index.
        fault: u32,
        /// What it does to them.
        effect: MessageFault,
    },
    /// Fault `fault` stops acting on messages.
    MessagesOff {
        /// Fault index.
        fault: u32,
    },
    /// The registry goes down (true) or comes back.
    RegistryDown(bool),
    /// Fault `fault` ended: time its targets' drain now (`faults.csv`).
    Ended {
        /// Fault index.
        fault: u32,
    },
    /// Tell the schedule `step` in `after_ns` nanoseconds (`random_crash`).
    Later {
        /// Delay from now.
        after_ns: u64,
        /// What to tell it.
        step: FaultStep,
    },
}

/// A `random_crash` step the schedule asked to be told of later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStep {
    /// `server` fails.
    Fail {
        /// The server.
        server: ServerId,
        /// Fault index.
        fault: u32,
    },
    /// `server` is repaired.
    Repair {
        /// The server.
        server: ServerId,
        /// Fault index.
        fault: u32,
    },
}

/// One declared fault during a run.
#[derive(Debug)]
struct FaultRun {
    /// The checked declaration.
    spec: Fault,
    /// When it starts and ends (`Instant::MAX`: never ends).
    start: Instant,
    /// See `start`.
    end: Instant,
    /// Targets (or the first side of a partition).
    targets: NodeSet,
    /// The second side of a partition.
    other: NodeSet,
    /// Between its start and end.
    active: bool,
    /// `random_crash`: which target servers it holds down now, by server id.
    holding_down: Vec<bool>,
    /// `random_crash`: one stream per server, so each fails independently.
    server_rngs: Vec<SimRng>,
}

impl FaultRun {
    /// True for the kinds that act on messages (latency, loss, partition).
    fn acts_on_network(&self) -> bool {
        matches!(
            self.spec.kind,
            FaultKind::Latency { .. } | FaultKind::Loss { .. } | FaultKind::Partition { .. }
        )
    }
}

/// Every fault of a run, and what each is doing now.
#[derive(Debug, Default)]
pub struct FaultSchedule {
    /// In declaration order.
    runs: Vec<FaultRun>,
}

impl FaultSchedule {
    /// Resolves the faults of `cfg`; times are after the warmup at `measure_start`.
    pub fn new(
        cfg: &ScenarioFile,
        faults: &[Fault],
        measure_start: Instant,
        seed: u64,
    ) -> FaultSchedule {
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
        FaultSchedule { runs }
    }

    /// Every fault's start and end (`true` for a start), in declaration order, a
    /// fault's start before its end; a fault that never ends has no end.
    pub fn timeline(&self) -> impl Iterator<Item = (Instant, u32, bool)> + '_ {
        self.runs.iter().enumerate().flat_map(|(i, f)| {
            let end = (f.end != Instant::MAX).then_some((f.end, i as u32, false));
            std::iter::once((f.start, i as u32, true)).chain(end)
        })
    }

    /// True if some fault acts on messages (latency, loss, partition).
    pub fn acts_on_network(&self) -> bool {
        self.runs.iter().any(FaultRun::acts_on_network)
    }

    /// True if some fault targets `server`.
    pub fn targets_server(&self, server: ServerId) -> bool {
        self.runs
            .iter()
            .any(|f| f.targets.contains(Node::Server(server.0)))
    }

    /// The faults on now, in declaration order.
    pub fn active(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.runs.len() as u32).filter(|&i| self.runs[i as usize].active)
    }

    /// The latest time since fault `fault` started that one of its target servers
    /// received an attempt, given when each last did (`faults.csv`'s time to drain).
    pub fn last_hit(
        &self,
        fault: u32,
        last_arrival: impl Fn(ServerId) -> Option<Instant>,
    ) -> Option<Instant> {
        let f = &self.runs[fault as usize];
        f.targets
            .server_ids()
            .into_iter()
            .filter_map(|s| last_arrival(ServerId(s)))
            .filter(|&t| t >= f.start)
            .max()
    }

    /// Fault `fault` starts: its effects go to `out`, in order.
    pub fn start(&mut self, fault: u32, out: &mut Vec<FaultEffect>) {
        let f = &mut self.runs[fault as usize];
        f.active = true;
        let servers = f.targets.server_ids().into_iter().map(ServerId);
        match f.spec.kind {
            FaultKind::Crash { mode } => {
                out.extend(servers.map(|server| FaultEffect::Crash { server, mode }));
            }
            FaultKind::RandomCrash { mtbf, mttr, .. } => {
                // Each server starts in its stationary state: down with probability
                // MTTR / (MTBF + MTTR); exponential times are memoryless.
                let down = nanos(mttr) as f64 / (nanos(mtbf) + nanos(mttr)) as f64;
                for server in servers {
                    let rng = &mut self.runs[fault as usize].server_rngs[server.index()];
                    if rng.random::<f64>() < down {
                        self.step(FaultStep::Fail { server, fault }, out);
                    } else {
                        let after_ns = exp_ns(rng, mtbf);
                        let step = FaultStep::Fail { server, fault };
                        out.push(FaultEffect::Later { after_ns, step });
                    }
                }
            }
            FaultKind::Slow { .. } | FaultKind::Errors { .. } => {
                for server in servers {
                    out.push(self.gray(server));
                }
            }
            FaultKind::Latency { .. } | FaultKind::Loss { .. } | FaultKind::Partition { .. } => {
                if let Some(effect) = MessageFault::new(&f.spec.kind, &f.targets, &f.other) {
                    out.push(FaultEffect::MessagesOn { fault, effect });
                }
            }
            FaultKind::RegistryDown => out.push(FaultEffect::RegistryDown(true)),
        }
    }

    /// Fault `fault` ends: everything it did is undone (effects to `out`, in order).
    pub fn end(&mut self, fault: u32, out: &mut Vec<FaultEffect>) {
        out.push(FaultEffect::Ended { fault });
        let f = &mut self.runs[fault as usize];
        f.active = false;
        let servers = f.targets.server_ids().into_iter().map(ServerId);
        match f.spec.kind {
            FaultKind::Crash { .. } => {
                out.extend(servers.map(|server| FaultEffect::Repair { server }));
            }
            FaultKind::RandomCrash { .. } => {
                for server in servers {
                    if std::mem::take(&mut f.holding_down[server.index()]) {
                        out.push(FaultEffect::Repair { server });
                    }
                }
            }
            FaultKind::Slow { .. } | FaultKind::Errors { .. } => {
                for server in servers {
                    out.push(self.gray(server));
                }
            }
            FaultKind::Latency { .. } | FaultKind::Loss { .. } | FaultKind::Partition { .. } => {
                out.push(FaultEffect::MessagesOff { fault });
            }
            FaultKind::RegistryDown => out.push(FaultEffect::RegistryDown(false)),
        }
    }

    /// A `random_crash` step it asked for comes due: the server fails (and is
    /// repaired after an exponential MTTR) or is repaired (and fails again after an
    /// exponential MTBF). Nothing if the fault has ended meanwhile.
    pub fn step(&mut self, step: FaultStep, out: &mut Vec<FaultEffect>) {
        let (FaultStep::Fail { server, fault } | FaultStep::Repair { server, fault }) = step;
        let f = &mut self.runs[fault as usize];
        let FaultKind::RandomCrash { mtbf, mttr, mode } = f.spec.kind else {
            return;
        };
        let s = server.index();
        match step {
            FaultStep::Fail { .. } => {
                if !f.active || f.holding_down[s] {
                    return;
                }
                f.holding_down[s] = true;
                let after_ns = exp_ns(&mut f.server_rngs[s], mttr);
                out.push(FaultEffect::Crash { server, mode });
                let step = FaultStep::Repair { server, fault };
                out.push(FaultEffect::Later { after_ns, step });
            }
            FaultStep::Repair { .. } => {
                if !f.active || !std::mem::take(&mut f.holding_down[s]) {
                    return;
                }
                let after_ns = exp_ns(&mut f.server_rngs[s], mtbf);
                out.push(FaultEffect::Repair { server });
                let step = FaultStep::Fail { server, fault };
                out.push(FaultEffect::Later { after_ns, step });
            }
        }
    }

    /// `server`'s slow factor and fail-fast rate from the active `slow` and `errors`
    /// faults that target it (factors multiply; error rates combine as independent
    /// draws).
    fn gray(&self, server: ServerId) -> FaultEffect {
        let (mut factor, mut ok) = (1.0, 1.0);
        for f in &self.runs {
            if f.active && f.targets.contains(Node::Server(server.0)) {
                match f.spec.kind {
                    FaultKind::Slow { factor: x } => factor *= x,
                    FaultKind::Errors { rate } => ok *= 1.0 - rate,
                    _ => {}
                }
            }
        }
        FaultEffect::Gray {
            server,
            slow_factor: factor,
            fail_fast_rate: 1.0 - ok,
        }
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

/// An exponential duration with the given mean, in nanoseconds.
fn exp_ns(rng: &mut SimRng, mean: std::time::Duration) -> u64 {
    (rng.sample::<f64, _>(Exp1) * nanos(mean) as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use std::path::Path;

    const SEC: u64 = 1_000_000_000;

    /// Four `api` servers and one client instance, no warmup, then `faults`.
    fn schedule(faults: &str) -> FaultSchedule {
        let text = format!(
            r#"
name = "faults"
[run]
duration = "60s"
warmup = "0s"
[[servers]]
group = "api"
count = 4
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = {{ process = "poisson", rate = 100 }}
{faults}"#
        );
        let scenario = Scenario::from_text(Path::new("x.toml"), &text, &[]).expect("valid");
        FaultSchedule::new(&scenario.config, &scenario.faults, Instant::ZERO, 7)
    }

    /// An effect, written short: `crash 1 refuse`, `gray 1 x3 e0.5`, `later fail 2`...
    fn show(e: &FaultEffect) -> String {
        match e {
            FaultEffect::Crash { server, mode } => format!("crash {} {mode:?}", server.0),
            FaultEffect::Repair { server } => format!("repair {}", server.0),
            FaultEffect::Gray {
                server,
                slow_factor,
                fail_fast_rate,
            } => format!("gray {} x{slow_factor} e{fail_fast_rate}", server.0),
            FaultEffect::MessagesOn { fault, .. } => format!("messages on {fault}"),
            FaultEffect::MessagesOff { fault } => format!("messages off {fault}"),
            FaultEffect::RegistryDown(down) => format!("registry down {down}"),
            FaultEffect::Ended { fault } => format!("ended {fault}"),
            FaultEffect::Later { step, .. } => match step {
                FaultStep::Fail { server, .. } => format!("later fail {}", server.0),
                FaultStep::Repair { server, .. } => format!("later repair {}", server.0),
            },
        }
    }

    /// What the schedule is told.
    #[derive(Clone, Copy)]
    enum Tell {
        Start(u32),
        End(u32),
        Step(FaultStep),
    }

    /// Tells `s` each of `script` and compares its effects with `expected`.
    fn check(s: &mut FaultSchedule, script: &[(Tell, &[&str])]) {
        for (i, &(tell, expected)) in script.iter().enumerate() {
            let mut out = Vec::new();
            match tell {
                Tell::Start(f) => s.start(f, &mut out),
                Tell::End(f) => s.end(f, &mut out),
                Tell::Step(step) => s.step(step, &mut out),
            }
            let got: Vec<String> = out.iter().map(show).collect();
            assert_eq!(got, expected, "step {i}");
        }
    }

    const fn fail(server: u32, fault: u32) -> Tell {
        Tell::Step(FaultStep::Fail {
            server: ServerId(server),
            fault,
        })
    }

    const fn repair(server: u32, fault: u32) -> Tell {
        Tell::Step(FaultStep::Repair {
            server: ServerId(server),
            fault,
        })
    }

    #[test]
    fn a_crash_takes_its_targets_down_and_brings_them_back() {
        let mut s = schedule(
            "[[faults]]\nkind = \"crash\"\ntarget = \"api[1..3]\"\nat = \"5s\"\nduration = \"10s\"\nmode = \"blackhole\"\n",
        );
        let timeline: Vec<_> = s.timeline().collect();
        assert_eq!(
            timeline,
            [(Instant(5 * SEC), 0, true), (Instant(15 * SEC), 0, false)]
        );
        check(
            &mut s,
            &[
                (Tell::Start(0), &["crash 1 Blackhole", "crash 2 Blackhole"]),
                (Tell::End(0), &["ended 0", "repair 1", "repair 2"]),
            ],
        );
        assert!(s.targets_server(ServerId(2)) && !s.targets_server(ServerId(3)));
        assert!(!s.acts_on_network());
    }

    #[test]
    fn gray_failures_on_one_server_combine_and_undo() {
        let mut s = schedule(
            "[[faults]]\nkind = \"slow\"\ntarget = \"api[0..2]\"\nat = \"1s\"\nduration = \"10s\"\nfactor = 3\n\
             [[faults]]\nkind = \"errors\"\ntarget = \"api[1]\"\nat = \"2s\"\nduration = \"20s\"\nrate = 0.5\n",
        );
        check(
            &mut s,
            &[
                (Tell::Start(0), &["gray 0 x3 e0", "gray 1 x3 e0"]),
                (Tell::Start(1), &["gray 1 x3 e0.5"]),
                (Tell::End(0), &["ended 0", "gray 0 x1 e0", "gray 1 x1 e0.5"]),
                (Tell::End(1), &["ended 1", "gray 1 x1 e0"]),
            ],
        );
        assert_eq!(s.active().count(), 0);
    }

    #[test]
    fn message_faults_and_registry_down_switch_on_and_off() {
        let mut s = schedule(
            "[[faults]]\nkind = \"partition\"\nbetween = [\"web\", \"api[0]\"]\nat = \"1s\"\nduration = \"2s\"\n\
             [[faults]]\nkind = \"registry_down\"\nat = \"1s\"\n\
             [discovery]\nkind = \"registry\"\n",
        );
        assert!(s.acts_on_network());
        let timeline: Vec<_> = s.timeline().collect();
        assert_eq!(timeline.len(), 3, "registry_down never ends");
        check(
            &mut s,
            &[
                (Tell::Start(0), &["messages on 0"]),
                (Tell::Start(1), &["registry down true"]),
                (Tell::End(0), &["ended 0", "messages off 0"]),
            ],
        );
        assert_eq!(s.active().collect::<Vec<_>>(), [1]);
    }

    const RANDOM: &str = "[[faults]]\nkind = \"random_crash\"\ntarget = \"api\"\nat = \"1s\"\nduration = \"30s\"\nmtbf = \"100s\"\nmttr = \"1s\"\n";

    #[test]
    fn random_crashes_hold_each_server_down_at_most_once() {
        let mut s = schedule(RANDOM);
        // MTTR / (MTBF + MTTR) ~ 1%: with this seed every server starts up, each with
        // its next failure pending.
        check(
            &mut s,
            &[
                (
                    Tell::Start(0),
                    &[
                        "later fail 0",
                        "later fail 1",
                        "later fail 2",
                        "later fail 3",
                    ],
                ),
                (fail(2, 0), &["crash 2 Refuse", "later repair 2"]),
                (fail(2, 0), &[]),   // already held down
                (repair(1, 0), &[]), // not held down
                (repair(2, 0), &["repair 2", "later fail 2"]),
                (fail(3, 0), &["crash 3 Refuse", "later repair 3"]),
                (Tell::End(0), &["ended 0", "repair 3"]),
                (fail(0, 0), &[]), // after the end
                (repair(3, 0), &[]),
            ],
        );
    }

    #[test]
    fn the_schedule_is_a_function_of_the_scenario_and_seed() {
        let run = || {
            let mut s = schedule(RANDOM);
            let mut out = Vec::new();
            s.start(0, &mut out);
            s.step(
                FaultStep::Fail {
                    server: ServerId(1),
                    fault: 0,
                },
                &mut out,
            );
            out.iter()
                .map(|e| match e {
                    FaultEffect::Later { after_ns, .. } => after_ns.to_string(),
                    other => show(other),
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert_eq!(first.len(), 6);
    }
}

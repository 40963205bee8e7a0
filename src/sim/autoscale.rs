//! Horizontal autoscaling of one server group (Kubernetes HPA semantics, in
//! `policy::autoscale`): every interval the group's mean utilization since the last
//! tick feeds the autoscaler; new servers become ready after `provision` and register
//! like any other; removed servers deregister at once and stop after the registry's
//! propagation delay, so watchers have heard before they go.
//!
//! [`AutoscaleRun`] is a state machine over the autoscaler alone: at each tick the
//! world hands it one [`Sample`] per server of the group still in service, and it
//! returns [`ScaleEffect`]s (the next tick, servers to add, servers to retire) for
//! `world.rs` to carry out.

use std::time::Duration;

use super::ids::{GroupId, ServerId};
use crate::policy::autoscale::{AutoscaleConfig, Autoscaler, ScaleDecision};
use crate::time::{nanos, Instant};

/// What the world must do for the autoscaler, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleEffect {
    /// Tick again at `at`.
    TickAt {
        /// When.
        at: Instant,
    },
    /// Add a server to `group`, ready `ready_after_ns` from now.
    Add {
        /// The group.
        group: GroupId,
        /// Provisioning time.
        ready_after_ns: u64,
    },
    /// Take `server` out of service: deregister it now, stop it once watchers know.
    Retire {
        /// The server.
        server: ServerId,
    },
}

/// One server of the scaled group that is not retired, as of a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The server.
    pub server: ServerId,
    /// Its worker-nanoseconds of service so far, up to the tick.
    pub busy_integral: u128,
    /// Up (ready), as opposed to crashed or still provisioning.
    pub up: bool,
    /// Its workers.
    pub concurrency: u32,
}

/// The autoscaler of a run and what it needs between ticks.
#[derive(Debug)]
pub struct AutoscaleRun {
    /// The HPA decision logic.
    policy: Autoscaler,
    /// The group it scales.
    group: GroupId,
    /// Provisioning time of a new server.
    provision: Duration,
    /// Each server's busy integral (worker-ns) at the previous tick, by server id.
    busy_at_last_tick: Vec<u128>,
    /// When the previous tick ran.
    last_tick: Instant,
}

impl AutoscaleRun {
    /// The autoscaler of `config`, scaling `group`.
    pub fn new(config: &AutoscaleConfig, group: GroupId) -> AutoscaleRun {
        AutoscaleRun {
            policy: Autoscaler::new(config),
            group,
            provision: config.provision,
            busy_at_last_tick: Vec::new(),
            last_tick: Instant::ZERO,
        }
    }

    /// The group it scales.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// When the first tick is due.
    pub fn first_tick(&self) -> Instant {
        self.policy.next_deadline()
    }

    /// A tick at `now`, with a sample of every server of the group not retired (in id
    /// order; `servers` is the number of servers in the world). Ready servers'
    /// utilization since the last tick decides; replicas still provisioning count
    /// (as HPA counts them). Scaling down retires the newest servers first.
    pub fn tick(
        &mut self,
        now: Instant,
        samples: impl Iterator<Item = Sample>,
        servers: usize,
        out: &mut Vec<ScaleEffect>,
    ) {
        let elapsed = now.since(self.last_tick).as_nanos().max(1);
        let (mut used, mut capacity) = (0u128, 0u128);
        let mut active = Vec::new();
        self.busy_at_last_tick.resize(servers, 0);
        for sample in samples {
            active.push(sample.server);
            let last = &mut self.busy_at_last_tick[sample.server.index()];
            let delta = sample.busy_integral - *last;
            *last = sample.busy_integral;
            if sample.up {
                used += delta;
                capacity += u128::from(sample.concurrency) * elapsed;
            }
        }
        self.last_tick = now;
        let replicas = active.len() as u32;
        let utilization = if capacity == 0 {
            0.0
        } else {
            used as f64 / capacity as f64
        };
        let decision = self.policy.on_tick(now, replicas, utilization);
        out.push(ScaleEffect::TickAt {
            at: self.policy.next_deadline().max(now),
        });
        let ScaleDecision::ScaleTo(target) = decision else {
            return;
        };
        if target > replicas {
            let ready_after_ns = nanos(self.provision);
            for _ in replicas..target {
                out.push(ScaleEffect::Add {
                    group: self.group,
                    ready_after_ns,
                });
            }
        } else {
            let retire = (replicas - target) as usize;
            for &server in active.iter().rev().take(retire) {
                out.push(ScaleEffect::Retire { server });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    /// Ticks every 10 s aiming at 50% utilization, 1 to 6 replicas, no scale-down
    /// stabilization, 30 s to provision.
    fn autoscaler() -> AutoscaleRun {
        let config = AutoscaleConfig {
            group: "api".into(),
            interval: Duration::from_secs(10),
            target_utilization: 0.5,
            min: 1,
            max: 6,
            scale_down_stabilization: Duration::ZERO,
            provision: Duration::from_secs(30),
            ..AutoscaleConfig::default()
        };
        AutoscaleRun::new(&config, GroupId(1))
    }

    /// Server `id` with one worker, up or not, busy `busy_s` seconds so far.
    fn sample(id: u32, busy_s: u64, up: bool) -> Sample {
        Sample {
            server: ServerId(id),
            busy_integral: u128::from(busy_s * SEC),
            up,
            concurrency: 1,
        }
    }

    fn tick(a: &mut AutoscaleRun, t_s: u64, samples: &[Sample]) -> Vec<ScaleEffect> {
        let mut out = Vec::new();
        a.tick(Instant(t_s * SEC), samples.iter().copied(), 8, &mut out);
        out
    }

    fn tick_at(t_s: u64) -> ScaleEffect {
        ScaleEffect::TickAt {
            at: Instant(t_s * SEC),
        }
    }

    #[test]
    fn a_busy_group_grows_by_the_utilization_ratio() {
        let mut a = autoscaler();
        assert_eq!(a.first_tick(), Instant(10 * SEC));
        // Two servers 90% busy over 10 s: 0.9 / 0.5 x 2 = 3.6 -> 4 replicas.
        let add = ScaleEffect::Add {
            group: GroupId(1),
            ready_after_ns: 30 * SEC,
        };
        assert_eq!(
            tick(&mut a, 10, &[sample(2, 9, true), sample(3, 9, true)]),
            [tick_at(20), add, add]
        );
        // Provisioning replicas count but add no capacity: 2 x 5 s busy of 20 s ready
        // capacity is 50%: hold.
        let samples = [
            sample(2, 14, true),
            sample(3, 14, true),
            sample(4, 0, false),
            sample(5, 0, false),
        ];
        assert_eq!(tick(&mut a, 20, &samples), [tick_at(30)]);
    }

    #[test]
    fn an_idle_group_retires_its_newest_servers_first() {
        let mut a = autoscaler();
        let samples = [
            sample(0, 5, true),
            sample(2, 0, true),
            sample(5, 0, true),
            sample(7, 0, true),
        ];
        // 5 s busy of 40 s: 12.5%, a quarter of the target: 4 x 0.25 = 1 replica.
        let retire = |s| ScaleEffect::Retire {
            server: ServerId(s),
        };
        assert_eq!(
            tick(&mut a, 10, &samples),
            [tick_at(20), retire(7), retire(5), retire(2)]
        );
    }

    #[test]
    fn utilization_counts_only_the_busy_time_since_the_last_tick() {
        let mut a = autoscaler();
        let _ = tick(&mut a, 10, &[sample(0, 5, true)]); // 50%: hold
                                                         // Busy 5 s more in the next 10 s: still 50%, although 10 s busy in all.
        assert_eq!(tick(&mut a, 20, &[sample(0, 10, true)]), [tick_at(30)]);
    }
}

//! Horizontal autoscaling of one server group (Kubernetes HPA semantics, in
//! `policy::autoscale`): every interval the group's mean utilization since the last
//! tick feeds the autoscaler; new servers become ready after `provision` and register
//! like any other; removed servers deregister at once and stop after the registry's
//! propagation delay, so watchers have heard before they go.

use super::event::Event;
use super::ids::{GroupId, ServerId};
use super::world::World;
use crate::policy::autoscale::{AutoscaleConfig, Autoscaler, ScaleDecision};
use crate::time::Instant;

/// The autoscaler of a run and what it needs between ticks.
#[derive(Debug)]
pub struct AutoscaleRun {
    /// The HPA decision logic.
    pub policy: Autoscaler,
    /// The group it scales.
    pub group: GroupId,
    /// The configuration.
    pub config: AutoscaleConfig,
    /// Each server's busy integral (worker-ns) at the previous tick, by server id.
    pub busy_at_last_tick: Vec<u128>,
    /// When the previous tick ran.
    pub last_tick: Instant,
}

impl World {
    /// Schedules the first autoscaler tick.
    pub(crate) fn start_autoscaler(&mut self) {
        if let Some(a) = &self.autoscale {
            self.engine
                .schedule_at(a.policy.next_deadline(), Event::AutoscaleTick);
        }
    }

    /// An HPA tick: measure the group's utilization and scale.
    pub(crate) fn on_autoscale_tick(&mut self) {
        let now = self.engine.now();
        let Some(mut a) = self.autoscale.take() else {
            return;
        };
        let elapsed = now.since(a.last_tick).as_nanos().max(1);
        let (mut used, mut capacity) = (0u128, 0u128);
        let mut replicas = 0u32;
        for (s, server) in self.servers.iter_mut().enumerate() {
            if server.group != a.group || server.retired {
                continue;
            }
            replicas += 1; // ready or still provisioning: HPA counts both
            server.settle_busy(now);
            a.busy_at_last_tick.resize(self.tier_of.len(), 0);
            let delta = server.busy_integral - a.busy_at_last_tick[s];
            a.busy_at_last_tick[s] = server.busy_integral;
            if server.is_up() {
                used += delta;
                capacity += u128::from(server.concurrency) * elapsed;
            }
        }
        a.last_tick = now;
        let utilization = if capacity == 0 {
            0.0
        } else {
            used as f64 / capacity as f64
        };
        let decision = a.policy.on_tick(now, replicas, utilization);
        let (group, provision) = (a.group, a.config.provision);
        self.engine
            .schedule_at(a.policy.next_deadline().max(now), Event::AutoscaleTick);
        self.autoscale = Some(a);
        if let ScaleDecision::ScaleTo(target) = decision {
            if target > replicas {
                for _ in replicas..target {
                    let s = self.add_server(group);
                    self.engine
                        .schedule_in(provision, Event::ServerReady { server: s });
                }
            } else {
                let mut active: Vec<ServerId> = (0..self.servers.len() as u32)
                    .map(ServerId)
                    .filter(|&s| {
                        let server = &self.servers[s.index()];
                        server.group == group && !server.retired
                    })
                    .collect();
                for s in active.drain(..).rev().take((replicas - target) as usize) {
                    self.retire_server(s);
                }
            }
        }
    }

    /// A provisioned server is ready: it starts and registers.
    pub(crate) fn on_server_ready(&mut self, s: ServerId) {
        if !self.servers[s.index()].retired {
            self.repair_server(s);
        }
    }

    /// A scaled-down server leaves the registry now and stops once watchers know.
    fn retire_server(&mut self, s: ServerId) {
        self.servers[s.index()].retired = true;
        self.on_registry(|r, out| r.deregister(s, out));
        self.engine.schedule_in_ns(
            self.registry.propagation_ns(),
            Event::ServerRetire { server: s },
        );
    }

    /// Retiring adds a reason to be down that never ends, so a crash fault that ends
    /// later (or a provisioning still under way) cannot bring the server back.
    pub(crate) fn on_server_retire(&mut self, s: ServerId) {
        self.crash_server(s, crate::scenario::CrashMode::Refuse);
    }
}

//! Active health checks and outlier-detection ticks of client instances.
//!
//! Probes are real messages: they cross the network (so partitions and loss apply),
//! reach the server, and take a worker only when `probe_cost` is set.

use super::event::Event;
use super::fault::{transit, Node};
use super::world::World;
use crate::policy::EndpointId;
use crate::time::nanos;

impl World {
    /// Every client with health checks probes every endpoint in its view at once
    /// (Envoy starts checking a host as soon as it is added), then every interval.
    pub(crate) fn start_health_checks(&mut self) {
        for c in 0..self.clients.len() {
            if self.clients[c].policies.health.is_some() {
                for i in 0..self.clients[c].view.len() {
                    let endpoint = self.clients[c].view[i].id.0;
                    self.clients[c].probing[endpoint as usize] = true;
                    self.engine.schedule_in_ns(
                        0,
                        Event::ProbeTick {
                            client: c as u32,
                            endpoint,
                        },
                    );
                }
            }
        }
    }

    /// Time to probe `endpoint`: send the probe and schedule the next one.
    pub(crate) fn on_probe_tick(&mut self, client: u32, endpoint: u32) {
        let ci = &mut self.clients[client as usize];
        let Some(health) = &ci.policies.health else {
            return;
        };
        if !ci.knows(EndpointId(endpoint)) {
            ci.probing[endpoint as usize] = false; // left the view: stop probing it
            return;
        }
        let next = health.next_probe_delay(&mut ci.policy_rng);
        let timeout = health.probe_timeout();
        let cost_ns = self.populations[ci.population]
            .config
            .health_check
            .as_ref()
            .and_then(|h| h.probe_cost)
            .map_or(0, nanos);
        let now = self.engine.now();
        self.engine
            .schedule_in(next, Event::ProbeTick { client, endpoint });
        let (attempt, gen) = self.attempts.insert_with(|a| {
            a.call = u32::MAX;
            a.call_gen = 0;
            a.client = client;
            a.server = endpoint;
            a.sent_at = now;
            a.client_waiting = true;
            a.in_world = true;
            a.probe = true;
            a.probe_cost_ns = cost_ns;
        });
        match transit(
            &self.network,
            &self.faults,
            Node::Client(client),
            Node::Server(endpoint),
            &mut ci.net_rng,
        ) {
            Some(delay) => self
                .engine
                .schedule_in_ns(delay, Event::RequestArrive { attempt, gen }),
            None => self.attempts.get_mut(attempt).in_world = false,
        }
        self.engine
            .schedule_in(timeout, Event::AttemptTimeout { attempt, gen });
    }

    /// A probe's answer arrived (`passed` if the server answered ok), or it timed out.
    pub(crate) fn on_probe_result(&mut self, attempt: u32, passed: bool) {
        let now = self.engine.now();
        let a = self.attempts.get_mut(attempt);
        a.client_waiting = false;
        let (client, ep) = (a.client, EndpointId(a.server));
        if !a.in_world {
            self.attempts.remove(attempt);
        }
        let ci = &mut self.clients[client as usize];
        if !ci.knows(ep) {
            return; // the endpoint left the view while the probe was out
        }
        if let Some(health) = &mut ci.policies.health {
            let _change = health.on_probe_result(now, ep, passed);
        }
    }

    /// The outlier detector's interval tick: un-eject expired endpoints, evaluate
    /// success rates, and schedule the next tick.
    pub(crate) fn on_outlier_tick(&mut self, client: u32) {
        let now = self.engine.now();
        let ci = &mut self.clients[client as usize];
        let Some(outlier) = &mut ci.policies.outlier else {
            return;
        };
        let known: Vec<EndpointId> = ci.view.iter().map(|ep| ep.id).collect(); // once per interval
        let _report = outlier.handle_timeout(now, &known, |_| {});
        if let Some(at) = outlier.next_deadline() {
            self.engine
                .schedule_at(at.max(now), Event::OutlierTick { client });
        }
    }
}

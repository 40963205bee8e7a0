//! Service discovery: what each client believes exists.
//!
//! `static`: every client knows every server from the start and never forgets one.
//! `registry`: servers register when they start and heartbeat; the registry drops a
//! server `ttl` after its last heartbeat (ZooKeeper session, Consul TTL, Eureka lease);
//! clients learn of each change `propagation` later (watch) or fetch the whole list
//! every `refresh` (poll). A crashed server stays in client views until it expires:
//! that delay is what the simulation shows. While the registry is down
//! (`registry_down`) nothing changes; when it comes back, servers that are up count
//! as having just sent a heartbeat and stale entries expire on the usual schedule.

use rand::Rng;

use super::event::Event;
use super::ids::{ClientId, ServerId};
use super::world::World;
use crate::policy::{Endpoint, EndpointId};
use crate::scenario::{DiscoveryConfig, DiscoveryKind};
use crate::time::{nanos, Instant};

/// The registry's own state (unused with static discovery).
#[derive(Debug)]
pub struct Registry {
    /// The configuration, defaults resolved by its accessors.
    pub config: DiscoveryConfig,
    /// Which servers the registry lists, by id.
    pub registered: Vec<bool>,
    /// Each server's last heartbeat the registry accepted.
    pub last_heartbeat: Vec<Instant>,
    /// `registry_down` is in effect.
    pub down: bool,
}

impl Registry {
    /// A registry listing every one of `servers` servers, as at the start of a run.
    pub fn new(config: &DiscoveryConfig, servers: usize) -> Registry {
        Registry {
            config: config.clone(),
            registered: vec![true; servers],
            last_heartbeat: vec![Instant::ZERO; servers],
            down: false,
        }
    }

    /// True with `kind = "registry"`.
    pub fn is_dynamic(&self) -> bool {
        self.config.kind == DiscoveryKind::Registry
    }
}

impl World {
    /// Starts heartbeats (each server at a random phase) and client polling.
    pub(crate) fn start_discovery(&mut self) {
        if !self.registry.is_dynamic() {
            return;
        }
        let heartbeat = nanos(self.registry.config.heartbeat());
        let ttl = self.registry.config.ttl();
        for s in (0..self.servers.len() as u32).map(ServerId) {
            let phase = self.control_rng.random_range(0..heartbeat.max(1));
            let epoch = self.servers[s.index()].epoch;
            self.engine
                .schedule_in_ns(phase, Event::Heartbeat { server: s, epoch });
            self.engine
                .schedule_in(ttl, Event::RegistryExpire { server: s });
        }
        if let Some(refresh) = self.registry.config.refresh {
            for c in (0..self.clients.len() as u32).map(ClientId) {
                let phase = self.control_rng.random_range(0..nanos(refresh).max(1));
                self.engine
                    .schedule_in_ns(phase, Event::ViewPoll { client: c });
            }
        }
    }

    /// A server's heartbeat: the registry renews (or makes) its entry.
    pub(crate) fn on_heartbeat(&mut self, s: ServerId, epoch: u32) {
        let server = &self.servers[s.index()];
        if !server.is_up() || server.epoch != epoch || server.retired {
            return; // a heartbeat chain of an earlier life
        }
        let now = self.engine.now();
        // The next heartbeat is scheduled before this one's expiry check, so with
        // equal times the renewal wins.
        self.engine.schedule_in(
            self.registry.config.heartbeat(),
            Event::Heartbeat { server: s, epoch },
        );
        if !self.registry.down {
            self.registry.last_heartbeat[s.index()] = now;
            if !self.registry.registered[s.index()] {
                self.set_registered(s, true);
            }
            self.engine.schedule_in(
                self.registry.config.ttl(),
                Event::RegistryExpire { server: s },
            );
        }
    }

    /// The registry checks whether server `s` has outlived its TTL.
    pub(crate) fn on_registry_expire(&mut self, s: ServerId) {
        let now = self.engine.now();
        let r = &self.registry;
        if !r.down
            && r.registered[s.index()]
            && now >= r.last_heartbeat[s.index()].after(r.config.ttl())
        {
            self.set_registered(s, false);
        }
    }

    /// The registry's entry for `s` changes; watchers hear of it `propagation` later.
    pub(crate) fn set_registered(&mut self, s: ServerId, add: bool) {
        self.registry.registered[s.index()] = add;
        if self.registry.config.refresh.is_none() {
            self.engine.schedule_in(
                self.registry.config.propagation(),
                Event::ViewChange { server: s, add },
            );
        }
    }

    /// A watch notification reaches every client.
    pub(crate) fn on_view_change(&mut self, s: ServerId, add: bool) {
        for c in (0..self.clients.len() as u32).map(ClientId) {
            self.apply_view_change(c, s, add);
        }
    }

    /// Client `c` polls the registry and takes its whole list.
    pub(crate) fn on_view_poll(&mut self, c: ClientId) {
        for s in (0..self.servers.len() as u32).map(ServerId) {
            let listed = self.registry.registered[s.index()];
            self.apply_view_change(c, s, listed);
        }
        if let Some(refresh) = self.registry.config.refresh {
            self.engine
                .schedule_in(refresh, Event::ViewPoll { client: c });
        }
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

    /// A restarted server registers at once and heartbeats again.
    pub(crate) fn on_server_up_for_discovery(&mut self, s: ServerId) {
        if self.registry.is_dynamic() {
            let epoch = self.servers[s.index()].epoch;
            self.engine
                .schedule_in_ns(0, Event::Heartbeat { server: s, epoch });
        }
    }

    /// `registry_down` starts or ends.
    pub(crate) fn set_registry_down(&mut self, down: bool) {
        self.registry.down = down;
        if down {
            return;
        }
        let now = self.engine.now();
        for s in (0..self.servers.len() as u32).map(ServerId) {
            let server = &self.servers[s.index()];
            if server.is_up() && !server.retired {
                self.registry.last_heartbeat[s.index()] = now;
                if !self.registry.registered[s.index()] {
                    self.set_registered(s, true);
                }
            }
            self.engine.schedule_in(
                self.registry.config.ttl(),
                Event::RegistryExpire { server: s },
            );
        }
    }
}

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
//!
//! [`Registry`] is a state machine over the registry alone: told of heartbeats,
//! expiry checks, polls and servers coming up, it returns [`RegistryEffect`]s (wake me
//! later; tell a client what is listed) and `world.rs` carries them out.

use rand::Rng;

use super::ids::{ClientId, ServerId};
use crate::rng::SimRng;
use crate::scenario::{DiscoveryConfig, DiscoveryKind};
use crate::time::{nanos, Instant};

/// What the world must do for the registry, in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryEffect {
    /// Tell the registry `timer` in `after_ns` nanoseconds.
    Later {
        /// Delay from now.
        after_ns: u64,
        /// What to tell it.
        timer: RegistryTimer,
    },
    /// Client `client` (every client if `None`) learns whether `server` is listed.
    View {
        /// Who learns it.
        client: Option<ClientId>,
        /// The server.
        server: ServerId,
        /// Listed (add it) or not (remove it).
        listed: bool,
    },
}

/// Something the registry asked to be told of later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryTimer {
    /// `server` sends a heartbeat (a chain of its life `epoch`).
    Heartbeat {
        /// The server.
        server: ServerId,
        /// Its life when the chain started.
        epoch: u32,
    },
    /// Check whether `server`'s entry has expired.
    Expire {
        /// The server.
        server: ServerId,
    },
    /// Watchers hear that `server` was added or removed.
    Notify {
        /// The server.
        server: ServerId,
        /// Added (true) or removed.
        add: bool,
    },
    /// `client` polls the whole list.
    Poll {
        /// The client instance.
        client: ClientId,
    },
}

/// The registry's own state (unused with static discovery).
#[derive(Debug)]
pub struct Registry {
    /// The configuration, defaults resolved by its accessors.
    config: DiscoveryConfig,
    /// Which servers the registry lists, by id.
    registered: Vec<bool>,
    /// Each server's last heartbeat the registry accepted.
    last_heartbeat: Vec<Instant>,
    /// `registry_down` is in effect.
    down: bool,
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

    /// How long watchers take to hear of a change.
    pub fn propagation_ns(&self) -> u64 {
        nanos(self.config.propagation())
    }

    /// True if the registry lists `server`.
    #[cfg(test)]
    pub fn is_listed(&self, server: ServerId) -> bool {
        self.registered[server.index()]
    }

    /// A server was added (autoscaling): unlisted until it heartbeats.
    pub fn add_server(&mut self) {
        self.registered.push(false);
        self.last_heartbeat.push(Instant::ZERO);
    }

    /// The start of a run with `clients` client instances: every server heartbeats
    /// from a random phase (drawn from `rng`, in server order) and its entry is
    /// checked a TTL later; with polling, every client polls from a random phase.
    pub fn start(&self, clients: u32, rng: &mut SimRng, out: &mut Vec<RegistryEffect>) {
        if !self.is_dynamic() {
            return;
        }
        let heartbeat = nanos(self.config.heartbeat());
        let ttl = nanos(self.config.ttl());
        for server in (0..self.registered.len() as u32).map(ServerId) {
            let phase = rng.random_range(0..heartbeat.max(1));
            later(out, phase, RegistryTimer::Heartbeat { server, epoch: 0 });
            later(out, ttl, RegistryTimer::Expire { server });
        }
        if let Some(refresh) = self.config.refresh {
            for client in (0..clients).map(ClientId) {
                let phase = rng.random_range(0..nanos(refresh).max(1));
                later(out, phase, RegistryTimer::Poll { client });
            }
        }
    }

    /// A heartbeat of `server`'s chain arrives at `now`; `alive` if that chain is the
    /// server's current life (up, same epoch, not retired), else the chain ends. The
    /// registry renews (or makes) its entry unless it is down.
    pub fn on_heartbeat(
        &mut self,
        now: Instant,
        server: ServerId,
        epoch: u32,
        alive: bool,
        out: &mut Vec<RegistryEffect>,
    ) {
        if !alive {
            return; // a heartbeat chain of an earlier life
        }
        // The next heartbeat is scheduled before this one's expiry check, so with
        // equal times the renewal wins.
        let heartbeat = nanos(self.config.heartbeat());
        later(out, heartbeat, RegistryTimer::Heartbeat { server, epoch });
        if !self.down {
            self.last_heartbeat[server.index()] = now;
            if !self.registered[server.index()] {
                self.set_registered(server, true, out);
            }
            later(
                out,
                nanos(self.config.ttl()),
                RegistryTimer::Expire { server },
            );
        }
    }

    /// The registry checks at `now` whether `server` has outlived its TTL.
    pub fn on_expire(&mut self, now: Instant, server: ServerId, out: &mut Vec<RegistryEffect>) {
        let s = server.index();
        if !self.down
            && self.registered[s]
            && now >= self.last_heartbeat[s].after(self.config.ttl())
        {
            self.set_registered(server, false, out);
        }
    }

    /// A watch notification: every client hears of the change.
    pub fn on_notify(&self, server: ServerId, add: bool, out: &mut Vec<RegistryEffect>) {
        out.push(RegistryEffect::View {
            client: None,
            server,
            listed: add,
        });
    }

    /// `client` polls: it takes the whole list, and polls again a `refresh` later.
    pub fn on_poll(&self, client: ClientId, out: &mut Vec<RegistryEffect>) {
        for (s, &listed) in self.registered.iter().enumerate() {
            out.push(RegistryEffect::View {
                client: Some(client),
                server: ServerId(s as u32),
                listed,
            });
        }
        if let Some(refresh) = self.config.refresh {
            later(out, nanos(refresh), RegistryTimer::Poll { client });
        }
    }

    /// `server` (re)started in life `epoch`: it registers at once and heartbeats again.
    pub fn on_server_up(&self, server: ServerId, epoch: u32, out: &mut Vec<RegistryEffect>) {
        if self.is_dynamic() {
            later(out, 0, RegistryTimer::Heartbeat { server, epoch });
        }
    }

    /// `server` leaves the registry now (scaled down).
    pub fn deregister(&mut self, server: ServerId, out: &mut Vec<RegistryEffect>) {
        if self.registered[server.index()] {
            self.set_registered(server, false, out);
        }
    }

    /// `registry_down` starts or ends at `now`. When it ends, the servers `alive`
    /// says are up (and not retired) count as having just sent a heartbeat, and every
    /// entry is checked a TTL later.
    pub fn set_down(
        &mut self,
        now: Instant,
        down: bool,
        alive: impl Fn(ServerId) -> bool,
        out: &mut Vec<RegistryEffect>,
    ) {
        self.down = down;
        if down {
            return;
        }
        let ttl = nanos(self.config.ttl());
        for server in (0..self.registered.len() as u32).map(ServerId) {
            if alive(server) {
                self.last_heartbeat[server.index()] = now;
                if !self.registered[server.index()] {
                    self.set_registered(server, true, out);
                }
            }
            later(out, ttl, RegistryTimer::Expire { server });
        }
    }

    /// The entry for `server` changes; watchers hear of it `propagation` later.
    fn set_registered(&mut self, server: ServerId, add: bool, out: &mut Vec<RegistryEffect>) {
        self.registered[server.index()] = add;
        if self.config.refresh.is_none() {
            later(
                out,
                self.propagation_ns(),
                RegistryTimer::Notify { server, add },
            );
        }
    }
}

fn later(out: &mut Vec<RegistryEffect>, after_ns: u64, timer: RegistryTimer) {
    out.push(RegistryEffect::Later { after_ns, timer });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Role};
    use std::time::Duration;

    const MS: u64 = 1_000_000;
    const SEC: u64 = 1_000_000_000;

    /// Heartbeat 1 s, TTL 3 s, watchers hear 500 ms later (or poll every `refresh`).
    fn registry(servers: usize, refresh: Option<Duration>) -> Registry {
        let config = DiscoveryConfig {
            kind: DiscoveryKind::Registry,
            heartbeat: Some(Duration::from_secs(1)),
            ttl: Some(Duration::from_secs(3)),
            propagation: Some(Duration::from_millis(500)),
            refresh,
        };
        Registry::new(&config, servers)
    }

    fn at(ns: u64) -> Instant {
        Instant(ns)
    }

    fn later(after_ns: u64, timer: RegistryTimer) -> RegistryEffect {
        RegistryEffect::Later { after_ns, timer }
    }

    fn hb(server: u32) -> RegistryTimer {
        RegistryTimer::Heartbeat {
            server: ServerId(server),
            epoch: 0,
        }
    }

    fn expire(server: u32) -> RegistryTimer {
        RegistryTimer::Expire {
            server: ServerId(server),
        }
    }

    fn notify(server: u32, add: bool) -> RegistryTimer {
        RegistryTimer::Notify {
            server: ServerId(server),
            add,
        }
    }

    /// Runs `step` on `r` and returns its effects.
    fn effects(
        r: &mut Registry,
        step: impl FnOnce(&mut Registry, &mut Vec<RegistryEffect>),
    ) -> Vec<RegistryEffect> {
        let mut out = Vec::new();
        step(r, &mut out);
        out
    }

    #[test]
    fn start_phases_heartbeats_and_polls() {
        let mut rng = stream(1, Role::Control, 0);
        let r = registry(2, Some(Duration::from_secs(2)));
        let mut out = Vec::new();
        r.start(3, &mut rng, &mut out);
        let kinds: Vec<RegistryTimer> = out
            .iter()
            .map(|e| match *e {
                RegistryEffect::Later { after_ns, timer } => {
                    assert!(after_ns <= 3 * SEC, "{e:?}");
                    timer
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let poll = |c| RegistryTimer::Poll {
            client: ClientId(c),
        };
        assert_eq!(
            kinds,
            [
                hb(0),
                expire(0),
                hb(1),
                expire(1),
                poll(0),
                poll(1),
                poll(2)
            ]
        );
        assert_eq!(
            out[1],
            later(3 * SEC, expire(0)),
            "the first check a TTL in"
        );
        let mut fixed = Vec::new();
        let config = DiscoveryConfig::default();
        Registry::new(&config, 2).start(3, &mut rng, &mut fixed);
        assert!(fixed.is_empty(), "static discovery does nothing");
    }

    #[test]
    fn a_silent_server_expires_a_ttl_after_its_last_heartbeat() {
        let mut r = registry(2, None);
        let s0 = ServerId(0);
        assert_eq!(
            effects(&mut r, |r, out| r.on_heartbeat(at(SEC), s0, 0, true, out)),
            [later(SEC, hb(0)), later(3 * SEC, expire(0))]
        );
        // The server crashed: its chain ends.
        assert!(effects(&mut r, |r, out| r.on_heartbeat(
            at(2 * SEC),
            s0,
            0,
            false,
            out
        ))
        .is_empty());
        assert!(effects(&mut r, |r, out| r.on_expire(
            at(3 * SEC + 500 * MS),
            s0,
            out
        ))
        .is_empty());
        assert_eq!(
            effects(&mut r, |r, out| r.on_expire(at(4 * SEC), s0, out)),
            [later(500 * MS, notify(0, false))]
        );
        assert!(!r.is_listed(s0) && r.is_listed(ServerId(1)));
        assert_eq!(
            effects(&mut r, |r, out| r.on_notify(s0, false, out)),
            [RegistryEffect::View {
                client: None,
                server: s0,
                listed: false
            }]
        );
        // It restarts: it heartbeats at once and is listed again.
        assert_eq!(
            effects(&mut r, |r, out| r.on_server_up(s0, 1, out)),
            [later(
                0,
                RegistryTimer::Heartbeat {
                    server: s0,
                    epoch: 1
                }
            )]
        );
        assert_eq!(
            effects(&mut r, |r, out| r.on_heartbeat(
                at(9 * SEC),
                s0,
                1,
                true,
                out
            )),
            [
                later(
                    SEC,
                    RegistryTimer::Heartbeat {
                        server: s0,
                        epoch: 1
                    }
                ),
                later(500 * MS, notify(0, true)),
                later(3 * SEC, expire(0))
            ]
        );
        assert!(r.is_listed(s0));
    }

    #[test]
    fn while_down_nothing_changes_and_up_servers_count_as_renewed_after() {
        let mut r = registry(2, None);
        let (s0, s1) = (ServerId(0), ServerId(1));
        r.deregister(s1, &mut Vec::new());
        let _ = effects(&mut r, |r, out| r.set_down(at(SEC), true, |_| true, out));
        assert_eq!(
            effects(&mut r, |r, out| r.on_heartbeat(
                at(2 * SEC),
                s1,
                0,
                true,
                out
            )),
            [later(SEC, hb(1))],
            "the chain goes on, the registry records nothing"
        );
        assert!(effects(&mut r, |r, out| r.on_expire(at(10 * SEC), s0, out)).is_empty());
        assert!(r.is_listed(s0) && !r.is_listed(s1));
        // Back at 11 s: only s1 is up; it is listed again, both are checked at 14 s.
        assert_eq!(
            effects(&mut r, |r, out| r.set_down(
                at(11 * SEC),
                false,
                |s| s == s1,
                out
            )),
            [
                later(3 * SEC, expire(0)),
                later(500 * MS, notify(1, true)),
                later(3 * SEC, expire(1))
            ]
        );
        assert_eq!(
            effects(&mut r, |r, out| r.on_expire(at(14 * SEC), s0, out)),
            [later(500 * MS, notify(0, false))],
            "s0's last heartbeat was at 0 s"
        );
        let _ = effects(&mut r, |r, out| {
            r.on_heartbeat(at(12 * SEC), s1, 0, true, out)
        });
        assert!(
            effects(&mut r, |r, out| r.on_expire(at(14 * SEC), s1, out)).is_empty(),
            "s1 renewed at 12 s"
        );
    }

    #[test]
    fn polling_clients_take_the_whole_list_and_no_one_is_notified() {
        let mut r = registry(3, Some(Duration::from_secs(2)));
        let c = ClientId(4);
        assert!(effects(&mut r, |r, out| r.deregister(ServerId(1), out)).is_empty());
        let view = |server, listed| RegistryEffect::View {
            client: Some(c),
            server: ServerId(server),
            listed,
        };
        assert_eq!(
            effects(&mut r, |r, out| r.on_poll(c, out)),
            [
                view(0, true),
                view(1, false),
                view(2, true),
                later(2 * SEC, RegistryTimer::Poll { client: c })
            ]
        );
    }
}

//! The network: one-way latency and loss for every message, and the faults acting on
//! messages (extra latency, loss, partitions) while they are on.
//!
//! The sender's own random stream draws the delay and the loss, so what one node sends
//! never shifts the draws of another.

use rand::Rng;

use crate::dist::Dist;
use crate::rng::SimRng;
use crate::scenario::{FaultKind, ScenarioFile, Selector};

/// One end of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// A server, by id.
    Server(u32),
    /// A client instance, by index.
    Client(u32),
}

/// A set of servers and client instances, as bitmaps.
#[derive(Clone, Debug, Default)]
pub struct NodeSet {
    servers: Vec<bool>,
    clients: Vec<bool>,
}

impl NodeSet {
    /// True if `node` is in the set.
    #[inline]
    pub fn contains(&self, node: Node) -> bool {
        match node {
            Node::Server(s) => self.servers.get(s as usize).copied().unwrap_or(false),
            Node::Client(c) => self.clients.get(c as usize).copied().unwrap_or(false),
        }
    }

    /// The number of servers the set was resolved over (members or not).
    pub fn server_slots(&self) -> usize {
        self.servers.len()
    }

    /// The server ids in the set, in order.
    pub fn server_ids(&self) -> Vec<u32> {
        (0..self.servers.len() as u32)
            .filter(|&s| self.servers[s as usize])
            .collect()
    }

    /// The nodes `selector` names in `cfg` (validated at load time).
    pub fn resolve(cfg: &ScenarioFile, selector: &Selector) -> NodeSet {
        let mut set = NodeSet::default();
        for g in &cfg.servers {
            for i in 0..g.count {
                let hit = match selector {
                    Selector::Zone(z) => &g.zone == z,
                    Selector::Named { name, range } => &g.group == name && in_range(i, *range),
                };
                set.servers.push(hit);
            }
        }
        for c in &cfg.clients {
            for i in 0..c.instances {
                let hit = matches!(selector, Selector::Named { name, range } if &c.name == name && in_range(i, *range));
                set.clients.push(hit);
            }
        }
        set
    }
}

fn in_range(i: u32, range: Option<(u32, u32)>) -> bool {
    range.is_none_or(|(a, b)| i >= a && i < b)
}

/// Latency and loss shared by every link.
#[derive(Clone, Debug)]
pub struct Network {
    latency: Dist,
    loss: f64,
    /// The one delay every message takes, when there is no loss and the latency is
    /// constant (the common case of benchmarks and theory checks: no draw, no match).
    steady_ns: Option<u64>,
    /// Message faults on now, by fault index, in the order they started (the order
    /// their draws are made in).
    faults: Vec<(u32, MessageFault)>,
}

/// What a fault does to the messages it concerns.
#[derive(Clone, Debug)]
enum MessageEffect {
    /// Drops messages from `targets` to `other` (and back, unless one-way).
    Partition { one_way: bool },
    /// Drops each message to or from a target with probability `rate`.
    Loss { rate: f64 },
    /// Adds a delay drawn from `latency` to each message to or from a target.
    Latency { latency: Dist },
}

/// A fault acting on messages.
#[derive(Clone, Debug)]
pub struct MessageFault {
    effect: MessageEffect,
    targets: NodeSet,
    other: NodeSet,
}

impl MessageFault {
    /// The message fault of `kind` on `targets` (and `other`, the far side of a
    /// partition); `None` for kinds that do not act on messages.
    pub fn new(kind: &FaultKind, targets: &NodeSet, other: &NodeSet) -> Option<MessageFault> {
        let effect = match kind {
            FaultKind::Partition { one_way, .. } => MessageEffect::Partition { one_way: *one_way },
            FaultKind::Loss { rate } => MessageEffect::Loss { rate: *rate },
            FaultKind::Latency { latency } => MessageEffect::Latency {
                latency: latency.clone(),
            },
            _ => return None,
        };
        Some(MessageFault {
            effect,
            targets: targets.clone(),
            other: other.clone(),
        })
    }
}

impl MessageFault {
    /// True if this is a partition that drops a message from `src` to `dst`.
    #[inline]
    fn cuts(&self, src: Node, dst: Node) -> bool {
        let MessageEffect::Partition { one_way } = self.effect else {
            return false;
        };
        let forward = self.targets.contains(src) && self.other.contains(dst);
        let backward = self.other.contains(src) && self.targets.contains(dst);
        forward || (!one_way && backward)
    }
}

impl Network {
    /// A network with the given one-way latency and loss probability.
    pub fn new(latency: Dist, loss: f64) -> Network {
        let steady_ns = match latency {
            Dist::Constant { ns } if loss == 0.0 => Some(ns),
            _ => None,
        };
        Network {
            latency,
            loss,
            steady_ns,
            faults: Vec::new(),
        }
    }

    /// Fault `fault` starts acting on messages.
    pub fn fault_started(&mut self, fault: u32, effect: MessageFault) {
        self.faults.push((fault, effect));
    }

    /// Fault `fault` stops acting on messages.
    pub fn fault_ended(&mut self, fault: u32) {
        self.faults.retain(|&(i, _)| i != fault);
    }

    /// A message from `src` to `dst`: its one-way delay in nanoseconds, or `None` if
    /// it is lost (by the network, a loss fault or a partition). Draws come from the
    /// sender's stream `rng`: the base delay first, then each fault's in the order
    /// they started.
    #[inline]
    pub fn transit(&self, src: Node, dst: Node, rng: &mut SimRng) -> Option<u64> {
        if self.faults.is_empty() {
            return self.transit_ns(rng);
        }
        self.transit_through_faults(src, dst, rng)
    }

    /// [`Network::transit`] while some fault acts on messages: out of line, so the
    /// common path (no fault on) stays small enough to inline into every sender.
    #[inline(never)]
    fn transit_through_faults(&self, src: Node, dst: Node, rng: &mut SimRng) -> Option<u64> {
        let mut delay = self.transit_ns(rng)?;
        for (_, f) in &self.faults {
            match &f.effect {
                MessageEffect::Partition { .. } if f.cuts(src, dst) => return None,
                MessageEffect::Loss { rate }
                    if (f.targets.contains(src) || f.targets.contains(dst))
                        && rng.random::<f64>() < *rate =>
                {
                    return None;
                }
                MessageEffect::Latency { latency }
                    if f.targets.contains(src) || f.targets.contains(dst) =>
                {
                    delay = delay.saturating_add(latency.sample_ns(rng));
                }
                _ => {}
            }
        }
        Some(delay)
    }

    /// True if a partition on now drops messages from `src` to `dst` (draws nothing).
    /// `hasim live` asks again when an answer comes back, so a partition that starts
    /// while a request is served drops its answer.
    pub fn partitioned(&self, src: Node, dst: Node) -> bool {
        self.faults.iter().any(|(_, f)| f.cuts(src, dst))
    }

    /// True if every message arrives after the same delay: no loss, constant latency
    /// (then [`Network::transit_ns`] draws no random number).
    pub fn is_steady(&self) -> bool {
        self.steady_ns.is_some()
    }

    /// The one-way delay of a message in nanoseconds, or `None` if it is lost.
    #[inline]
    pub fn transit_ns(&self, rng: &mut SimRng) -> Option<u64> {
        if let Some(ns) = self.steady_ns {
            return Some(ns);
        }
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return None;
        }
        Some(self.latency.sample_ns(rng))
    }
}

#[cfg(test)]
mod tests {
    //! Scripted messages across a small scenario: who is in a fault's node set, and
    //! what each kind of message fault does to a message and to the sender's draws.
    use std::path::Path;

    use super::*;
    use crate::rng::{stream, Role};
    use crate::scenario::Scenario;

    /// Two `api` servers, one `db` server in zone `b`, two `web` client instances.
    fn cfg() -> ScenarioFile {
        let text = r#"
name = "network"
[run]
duration = "1s"
[[servers]]
group = "api"
count = 2
service = "1ms"
[[servers]]
group = "db"
zone = "b"
count = 1
service = "1ms"
[[clients]]
name = "web"
instances = 2
target = ["api", "db"]
arrival = { process = "poisson", rate = 100 }
"#;
        Scenario::from_text(Path::new("x.toml"), text, &[])
            .expect("valid")
            .config
    }

    fn named(name: &str, range: Option<(u32, u32)>) -> Selector {
        Selector::Named {
            name: name.to_string(),
            range,
        }
    }

    #[test]
    fn selectors_resolve_to_servers_and_clients_by_id() {
        let cfg = cfg();
        let api1 = NodeSet::resolve(&cfg, &named("api", Some((1, 2))));
        assert_eq!(api1.server_ids(), [1]);
        assert_eq!(api1.server_slots(), 3);
        let zone_b = NodeSet::resolve(&cfg, &Selector::Zone("b".into()));
        assert_eq!(zone_b.server_ids(), [2]);
        let web = NodeSet::resolve(&cfg, &named("web", None));
        assert!(web.contains(Node::Client(0)) && web.contains(Node::Client(1)));
        assert!(!web.contains(Node::Server(0)) && !web.contains(Node::Client(2)));
    }

    #[test]
    fn a_steady_network_draws_nothing() {
        let net = Network::new(Dist::Constant { ns: 100_000 }, 0.0);
        assert!(net.is_steady());
        let mut rng = stream(1, Role::Network, 0);
        let mut untouched = stream(1, Role::Network, 0);
        assert_eq!(net.transit_ns(&mut rng), Some(100_000));
        assert_eq!(rng.random::<u64>(), untouched.random::<u64>());
    }

    #[test]
    fn message_faults_act_only_on_their_nodes_while_on() {
        let cfg = cfg();
        let api0 = NodeSet::resolve(&cfg, &named("api", Some((0, 1))));
        let web = NodeSet::resolve(&cfg, &named("web", None));
        let mut net = Network::new(Dist::Constant { ns: 100_000 }, 0.0);
        let mut rng = stream(1, Role::Network, 0);
        let (client, api0_node, api1_node) = (Node::Client(0), Node::Server(0), Node::Server(1));

        let one_way = FaultKind::Partition {
            a: named("api", Some((0, 1))),
            b: named("web", None),
            one_way: true,
        };
        net.fault_started(0, MessageFault::new(&one_way, &api0, &web).unwrap());
        assert_eq!(
            net.transit(api0_node, client, &mut rng),
            None,
            "api[0] -> web cut"
        );
        assert_eq!(
            net.transit(client, api0_node, &mut rng),
            Some(100_000),
            "one way"
        );
        assert_eq!(net.transit(client, api1_node, &mut rng), Some(100_000));
        net.fault_ended(0);
        assert_eq!(net.transit(api0_node, client, &mut rng), Some(100_000));

        let extra = FaultKind::Latency {
            latency: Dist::Constant { ns: 5_000_000 },
        };
        net.fault_started(
            1,
            MessageFault::new(&extra, &api0, &NodeSet::default()).unwrap(),
        );
        assert_eq!(net.transit(client, api0_node, &mut rng), Some(5_100_000));
        assert_eq!(net.transit(client, api1_node, &mut rng), Some(100_000));

        let lossy = FaultKind::Loss { rate: 1.0 };
        net.fault_started(
            2,
            MessageFault::new(&lossy, &api0, &NodeSet::default()).unwrap(),
        );
        assert_eq!(
            net.transit(api0_node, client, &mut rng),
            None,
            "every message lost"
        );
        assert_eq!(net.transit(api1_node, client, &mut rng), Some(100_000));
    }
}

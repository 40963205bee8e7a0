//! Servers: a request arrives, waits in a FIFO queue for one of `concurrency` workers,
//! is served for a sampled time, and its answer is sent back.

use std::collections::VecDeque;

use rand::Rng;

use super::closed_form::ClosedForm;
use super::engine::LANE_RESPONSES;
use super::event::{Event, Reply};
use super::ids::{GroupId, ServerId};
use super::network::Node;
use super::world::World;
use crate::metrics::ServerStats;
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{CrashMode, QueueLimit, ServerGroupConfig};
use crate::time::Instant;

/// Whether a server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Serving.
    Up,
    /// Down for `reasons` active causes (crash faults, provisioning, retirement), at
    /// least one; it answers as the crash that took it down says (`mode`).
    Down {
        /// Active reasons to be down.
        reasons: u32,
        /// How it looks to clients: refused connections or silence.
        mode: CrashMode,
    },
}

/// A server: workers, a FIFO queue, and counters over the measured interval.
#[derive(Debug)]
pub struct Server {
    /// Its group.
    pub group: GroupId,
    /// Workers.
    pub concurrency: u32,
    /// Workers busy now.
    pub busy: u32,
    /// Attempts waiting for a worker.
    pub queue: VecDeque<u32>,
    /// Waiting attempts allowed.
    pub queue_limit: QueueLimit,
    /// Serving, or down (and how it looks to clients).
    pub state: ServerState,
    /// The server's life; work started in an earlier life is lost.
    pub epoch: u32,
    /// Service times and error draws.
    pub rng: SimRng,
    /// Latency and loss of its answers.
    pub net_rng: SimRng,
    /// Counters restricted to the measured interval.
    pub stats: ServerStats,
    /// When it last came up (for up time).
    pub up_since: Instant,
    /// Attempts being served now (lost if it crashes).
    pub in_service: Vec<u32>,
    /// Service-time multiplier from active `slow` faults.
    pub slow_factor: f64,
    /// Probability of answering with an error at once, from active `errors` faults.
    pub fail_fast_rate: f64,
    /// When it last received an attempt (for `time_to_drain_s`).
    pub last_arrival: Option<Instant>,
    /// Removed by the autoscaler: deregistered, then stopped for good.
    pub retired: bool,
    /// Worker-nanoseconds of service so far (for autoscaling), up to `busy_changed_at`.
    pub busy_integral: u128,
    /// When `busy` last changed.
    pub busy_changed_at: Instant,
    /// Its queue solved at send time, when nothing can disturb it (`closed_form.rs`);
    /// then `busy`, `queue` and `in_service` stay empty.
    pub closed_form: Option<ClosedForm>,
}

impl Server {
    /// Server `index` of group `gi` (config `g`), with global id `id`: up, idle,
    /// its streams drawn from `seed` by id.
    pub fn new(
        g: &ServerGroupConfig,
        gi: GroupId,
        index: u32,
        id: u64,
        seed: u64,
        in_target: bool,
    ) -> Server {
        Server {
            group: gi,
            concurrency: g.concurrency,
            busy: 0,
            queue: VecDeque::new(),
            queue_limit: g.queue,
            state: ServerState::Up,
            epoch: 0,
            rng: stream(seed, Role::Service, id),
            net_rng: stream(seed, Role::Network, id),
            stats: ServerStats {
                name: format!("{}[{index}]", g.group),
                group: g.group.clone(),
                zone: g.zone.clone(),
                tier: g.tier,
                in_target,
                received: 0,
                served: 0,
                rejected: 0,
                errors: 0,
                busy_ns: 0,
                concurrency: g.concurrency,
                up_ns: 0,
            },
            up_since: Instant::ZERO,
            in_service: Vec::new(),
            slow_factor: 1.0,
            fail_fast_rate: 0.0,
            last_arrival: None,
            retired: false,
            busy_integral: 0,
            busy_changed_at: Instant::ZERO,
            closed_form: None,
        }
    }

    /// True while it serves.
    #[inline]
    pub fn is_up(&self) -> bool {
        self.state == ServerState::Up
    }

    /// One more reason to be down. True if it was up: a crash (that looks like
    /// `mode` to clients) has just begun; otherwise the first crash's mode stays.
    pub fn add_down_reason(&mut self, mode: CrashMode) -> bool {
        match &mut self.state {
            ServerState::Up => {
                self.state = ServerState::Down { reasons: 1, mode };
                true
            }
            ServerState::Down { reasons, .. } => {
                *reasons += 1;
                false
            }
        }
    }

    /// One reason to be down fewer. True if none is left: it is up again.
    pub fn remove_down_reason(&mut self) -> bool {
        match &mut self.state {
            ServerState::Up => {
                debug_assert!(false, "a server that is up has no reason to be down");
                false
            }
            ServerState::Down { reasons: 1, .. } => {
                self.state = ServerState::Up;
                true
            }
            ServerState::Down { reasons, .. } => {
                *reasons -= 1;
                false
            }
        }
    }

    /// Requests waiting for a worker (as of the last one sent, if solved in closed
    /// form).
    pub fn queued(&self) -> usize {
        self.queue.len() + self.closed_form.as_ref().map_or(0, ClosedForm::waiting)
    }

    /// The service time of a request: a probe's fixed cost (`probe_cost_ns`), or a
    /// draw from the group's distribution on the server's stream; scaled by any
    /// slowdown.
    pub fn service_ns(&mut self, group: &ServerGroupConfig, probe_cost_ns: Option<u64>) -> u64 {
        let service_ns = probe_cost_ns.unwrap_or_else(|| group.service.sample_ns(&mut self.rng));
        if self.slow_factor == 1.0 {
            service_ns
        } else {
            (service_ns as f64 * self.slow_factor) as u64
        }
    }

    /// A service ends: whether it failed (drawn on the server's stream at the group's
    /// `error_rate`; never for a probe), counted if it ended in the measured interval.
    /// Returns the answer to send.
    pub fn end_service(&mut self, error_rate: f64, probe: bool, ended_in_measure: bool) -> Reply {
        let error_rate = if probe { 0.0 } else { error_rate };
        let failed = error_rate > 0.0 && self.rng.random::<f64>() < error_rate;
        if ended_in_measure && !probe {
            self.stats.served += 1;
            if failed {
                self.stats.errors += 1;
            }
        }
        if failed {
            Reply::Error
        } else {
            Reply::Ok
        }
    }

    /// Brings `busy_integral` up to `now` (call before `busy` changes).
    #[inline]
    pub fn settle_busy(&mut self, now: Instant) {
        self.busy_integral +=
            u128::from(self.busy) * u128::from(now.as_nanos() - self.busy_changed_at.as_nanos());
        self.busy_changed_at = now;
    }
}

impl World {
    /// A request reaches its server: serve, queue, reject or refuse it.
    pub(crate) fn on_request_arrive(&mut self, attempt: u32, gen: u32) {
        let now = self.engine.now();
        let in_measure = self.measured.contains(now);
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server.index();
        let (probe, probe_cost_ns) = (a.is_probe(), a.probe_cost_ns);
        let server = &mut self.servers[s];
        if !probe {
            server.last_arrival = Some(now);
        }
        if let ServerState::Down { mode, .. } = server.state {
            match mode {
                CrashMode::Refuse => self.reply(attempt, Reply::Refused),
                CrashMode::Blackhole => self.drop_request(attempt),
            }
            return;
        }
        if probe && probe_cost_ns == 0 {
            self.reply(attempt, Reply::Ok); // a free health check: no worker needed
            return;
        }
        if in_measure && !probe {
            server.stats.received += 1;
        }
        // A fail-fast gray failure answers with an error at once; health checks,
        // which hit a different handler, still pass.
        if !probe
            && server.fail_fast_rate > 0.0
            && server.rng.random::<f64>() < server.fail_fast_rate
        {
            if in_measure {
                server.stats.errors += 1;
            }
            self.reply(attempt, Reply::Error);
            return;
        }
        if server.busy < server.concurrency {
            self.start_service(s, attempt);
        } else if match server.queue_limit {
            QueueLimit::Unbounded => true,
            QueueLimit::Bounded(limit) => server.queue.len() < limit as usize,
        } {
            server.queue.push_back(attempt);
        } else {
            if in_measure && !probe {
                server.stats.rejected += 1;
            }
            self.reply(attempt, Reply::Rejected);
        }
    }

    /// A request that will reach a server solved in closed form at `arrive`: what
    /// [`World::on_request_arrive`], the service and [`World::on_service_done`] would
    /// do, done now, in the same order of random draws, with the answer scheduled at
    /// its client (`closed_form.rs` says when this holds). Such a server is never
    /// down, slowed or failing fast, and its answers draw nothing from the network.
    pub(crate) fn serve_in_closed_form(&mut self, attempt: u32, arrive: Instant) {
        let measured = self.measured;
        let in_measure = measured.contains(arrive);
        let a = self.attempts.get(attempt);
        let s = a.server.index();
        let (probe, probe_cost_ns) = (a.is_probe(), a.probe_cost_ns);
        if probe && probe_cost_ns == 0 {
            self.reply_at(attempt, arrive, Reply::Ok);
            return;
        }
        let server = &mut self.servers[s];
        if !probe {
            server.last_arrival = Some(arrive);
            if in_measure {
                server.stats.received += 1;
            }
        }
        let queue = server.closed_form.as_mut().expect("a closed-form server");
        let Some(start) = queue.start_of(arrive.as_nanos()) else {
            if in_measure && !probe {
                server.stats.rejected += 1;
            }
            self.reply_at(attempt, arrive, Reply::Rejected);
            return;
        };
        let group = &self.topology.groups[server.group.index()];
        let service_ns = server.service_ns(group, probe.then_some(probe_cost_ns));
        let done = Instant(start.saturating_add(service_ns));
        if let Some(queue) = server.closed_form.as_mut() {
            queue.occupy(done.as_nanos());
        }
        let busy_ns = measured.overlap_ns(Instant(start), done);
        if done < measured.end {
            server.stats.busy_ns += u128::from(busy_ns);
        } else if busy_ns > 0 {
            self.busy_tail.push((done, ServerId(s as u32), busy_ns));
        }
        let reply = server.end_service(group.error_rate, probe, measured.contains(done));
        self.reply_at(attempt, done, reply);
    }

    /// A worker of server `s` takes `attempt`.
    fn start_service(&mut self, s: usize, attempt: u32) {
        let now = self.engine.now();
        let server = &mut self.servers[s];
        server.settle_busy(now);
        server.busy += 1;
        server.in_service.push(attempt);
        let a = self.attempts.get_mut(attempt);
        let probe_cost_ns = a.is_probe().then_some(a.probe_cost_ns);
        let service_ns =
            server.service_ns(&self.topology.groups[server.group.index()], probe_cost_ns);
        a.service_start = now;
        let epoch = server.epoch;
        let gen = self.attempts.generation(attempt);
        self.engine.schedule_in_ns(
            service_ns,
            Event::ServiceDone {
                attempt,
                gen,
                epoch,
            },
        );
    }

    /// A worker finishes: answer, then take the next waiting request.
    pub(crate) fn on_service_done(&mut self, attempt: u32, gen: u32, epoch: u32) {
        let now = self.engine.now();
        let measured = self.measured;
        let in_measure = measured.contains(now);
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server.index();
        let (started, probe) = (a.service_start, a.is_probe());
        let server = &mut self.servers[s];
        if server.epoch != epoch {
            return; // served by a life that has ended: the work was lost
        }
        server.settle_busy(now);
        server.busy -= 1;
        if let Some(i) = server.in_service.iter().position(|&x| x == attempt) {
            server.in_service.swap_remove(i);
        }
        server.stats.busy_ns += u128::from(measured.overlap_ns(started, now));
        let reply = server.end_service(
            self.topology.groups[server.group.index()].error_rate,
            probe,
            in_measure,
        );
        self.reply(attempt, reply);
        let server = &mut self.servers[s];
        if let Some(next) = server.queue.pop_front() {
            self.start_service(s, next);
        }
    }

    /// Sends the server's answer for `attempt` back over the network, now.
    pub(crate) fn reply(&mut self, attempt: u32, reply: Reply) {
        self.reply_at(attempt, self.engine.now(), reply);
    }

    /// Sends the server's answer for `attempt` back over the network, leaving at `at`.
    /// Later than now only for a server solved in closed form, whose answers cross a
    /// steady network with no fault: no draw and no fault to meet, so deciding the
    /// transit early changes nothing.
    fn reply_at(&mut self, attempt: u32, at: Instant, reply: Reply) {
        let a = self.attempts.get(attempt);
        let (s, client) = (a.server, a.client);
        let rng = &mut self.servers[s.index()].net_rng;
        match self
            .network
            .transit(Node::Server(s.0), Node::Client(client.0), rng)
        {
            Some(delay) => {
                let gen = self.attempts.generation(attempt);
                let event = Event::ResponseArrive {
                    attempt,
                    gen,
                    reply,
                };
                let arrive = Instant(at.as_nanos().saturating_add(delay));
                self.engine.schedule_at_lane(arrive, LANE_RESPONSES, event);
            }
            None => self.drop_request(attempt),
        }
    }
}

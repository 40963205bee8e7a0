//! Servers: a request arrives, waits in a FIFO queue for one of `concurrency` workers,
//! is served for a sampled time, and its answer is sent back.

use rand::Rng;

use super::engine::LANE_RESPONSES;
use super::event::{Event, Reply};
use super::fault::{transit, Node};
use super::world::World;
use crate::scenario::{CrashMode, QueueLimit};
use crate::time::Instant;

impl World {
    /// A request reaches its server: serve, queue, reject or refuse it.
    pub(crate) fn on_request_arrive(&mut self, attempt: u32, gen: u32) {
        let now = self.engine.now();
        let in_measure = self.measured.contains(now);
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server as usize;
        let (probe, probe_cost_ns) = (a.is_probe(), a.probe_cost_ns);
        let server = &mut self.servers[s];
        if !probe {
            server.last_arrival = Some(now);
        }
        if !server.up {
            match server.crash_mode {
                CrashMode::Refuse => self.reply(attempt, Reply::Refused),
                CrashMode::Blackhole => self.leave_world(attempt),
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
        let s = a.server as usize;
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
        let group = &self.groups[server.group];
        let service_ns = server.service_ns(group, probe.then_some(probe_cost_ns));
        let done = Instant(start.saturating_add(service_ns));
        if let Some(queue) = server.closed_form.as_mut() {
            queue.occupy(done.as_nanos());
        }
        let busy_ns = measured.overlap_ns(Instant(start), done);
        if done < measured.end {
            server.stats.busy_ns += u128::from(busy_ns);
        } else if busy_ns > 0 {
            self.busy_tail.push((done, s as u32, busy_ns));
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
        let service_ns = server.service_ns(&self.groups[server.group], probe_cost_ns);
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
        let s = a.server as usize;
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
        let reply = server.end_service(self.groups[server.group].error_rate, probe, in_measure);
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
        let rng = &mut self.servers[s as usize].net_rng;
        match transit(
            &self.network,
            &self.faults,
            Node::Server(s),
            Node::Client(client),
            rng,
        ) {
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
            None => self.leave_world(attempt),
        }
    }
}

//! Servers: a request arrives, waits in a FIFO queue for one of `concurrency` workers,
//! is served for a sampled time, and its answer is sent back.

use rand::Rng;

use super::event::{Event, Reply};
use super::world::{overlap_ns, World};
use crate::scenario::QueueLimit;

impl World {
    /// A request reaches its server: serve, queue, reject or refuse it.
    pub(crate) fn on_request_arrive(&mut self, attempt: u32, gen: u32) {
        let now = self.engine.now();
        let in_measure = self.in_measure(now);
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server as usize;
        let (probe, probe_cost_ns) = (a.probe, a.probe_cost_ns);
        let server = &mut self.servers[s];
        if !server.up {
            self.reply(attempt, Reply::Refused);
            return;
        }
        if probe && probe_cost_ns == 0 {
            self.reply(attempt, Reply::Ok); // a free health check: no worker needed
            return;
        }
        if in_measure && !probe {
            server.stats.received += 1;
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

    /// A worker of server `s` takes `attempt`.
    fn start_service(&mut self, s: usize, attempt: u32) {
        let now = self.engine.now();
        let server = &mut self.servers[s];
        server.busy += 1;
        let a = self.attempts.get_mut(attempt);
        let service_ns = if a.probe {
            a.probe_cost_ns
        } else {
            self.groups[server.group].service.sample_ns(&mut server.rng)
        };
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
        let (measure_start, measure_end) = (self.measure_start, self.measure_end);
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        let s = a.server as usize;
        let (started, probe) = (a.service_start, a.probe);
        let server = &mut self.servers[s];
        if server.epoch != epoch {
            return; // served by a life that has ended: the work was lost
        }
        server.busy -= 1;
        server.stats.busy_ns += u128::from(overlap_ns(started, now, measure_start, measure_end));
        let error_rate = if probe {
            0.0
        } else {
            self.groups[server.group].error_rate
        };
        let failed = error_rate > 0.0 && server.rng.random::<f64>() < error_rate;
        if now >= measure_start && now < measure_end && !probe {
            server.stats.served += 1;
            if failed {
                server.stats.errors += 1;
            }
        }
        self.reply(attempt, if failed { Reply::Error } else { Reply::Ok });
        let server = &mut self.servers[s];
        if let Some(next) = server.queue.pop_front() {
            self.start_service(s, next);
        }
    }

    /// Sends the server's answer for `attempt` back over the network.
    pub(crate) fn reply(&mut self, attempt: u32, reply: Reply) {
        let s = self.attempts.get(attempt).server as usize;
        match self.network.transit_ns(&mut self.servers[s].net_rng) {
            Some(delay) => {
                let gen = self.attempts.generation(attempt);
                self.engine.schedule_in_ns(
                    delay,
                    Event::ResponseArrive {
                        attempt,
                        gen,
                        reply,
                    },
                );
            }
            None => self.leave_world(attempt),
        }
    }
}

//! Servers: a request arrives, waits in a FIFO queue for one of `concurrency` workers,
//! is served for a sampled time, and its answer is sent back.

use rand::Rng;

use super::event::{Event, Reply};
use super::fault::{transit, Node};
use super::world::{overlap_ns, World};
use crate::scenario::{CrashMode, QueueLimit};

impl World {
    /// A request reaches its server: serve, queue, reject or refuse it.
    pub(crate) fn on_request_arrive(&mut self, attempt: u32, gen: u32) {
        let now = self.engine.now();
        let in_measure = self.in_measure(now);
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

    /// A worker of server `s` takes `attempt`.
    fn start_service(&mut self, s: usize, attempt: u32) {
        let now = self.engine.now();
        let server = &mut self.servers[s];
        server.settle_busy(now);
        server.busy += 1;
        server.in_service.push(attempt);
        let a = self.attempts.get_mut(attempt);
        let service_ns = if a.is_probe() {
            a.probe_cost_ns
        } else {
            self.groups[server.group].service.sample_ns(&mut server.rng)
        };
        let service_ns = if server.slow_factor == 1.0 {
            service_ns
        } else {
            (service_ns as f64 * server.slow_factor) as u64
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

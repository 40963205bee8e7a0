//! Servers: a request arrives, waits in a FIFO queue for one of `concurrency` workers,
//! is served for a sampled time, and its answer is sent back.
//!
//! [`Server`] is a state machine over one server: told that a request arrived, that
//! a service ended or that it crashed, it updates its workers, queue and counters
//! and says what happens to the request ([`Arrival`], a [`Reply`], the requests a
//! crash lost); `world.rs` sends the answers and schedules the ends of service.
//! Requests are named by their slot in the world's request slab.

use std::collections::VecDeque;

use rand::Rng;
use smallvec::SmallVec;

use super::closed_form::ClosedForm;
use super::event::Reply;
use super::ids::{GroupId, RequestId};
use crate::metrics::{Measured, ServerStats};
use crate::rng::{stream, Role, SimRng};
use crate::scenario::{CrashMode, QueueLimit, ServerGroupConfig};
use crate::time::Instant;

/// What a server does with a request that reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// It answers at once (refused while down, a free health check, a fail-fast
    /// error, a full queue).
    Answer(Reply),
    /// Nothing will ever come back (down, blackholed).
    Vanish,
    /// A worker is free: start serving it now ([`Server::start_service`]).
    Serve,
    /// It waits in the queue.
    Queued,
}

/// A service that ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    /// The request.
    pub attempt: RequestId,
    /// When its service started.
    pub started: Instant,
    /// The server's life it started in.
    pub epoch: u32,
    /// A health probe (not counted, never an error).
    pub probe: bool,
}

/// A request answered by a server solved in closed form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The answer.
    pub reply: Reply,
    /// When it leaves the server.
    pub at: Instant,
    /// Busy time inside the measured interval of a service that ends after it
    /// (counted only if the run gets that far: `World::finish`).
    pub busy_tail_ns: Option<u64>,
}

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
///
/// `repr(C)` and aligned to a cache line so that what a request touches is in the
/// first three lines (the fleet workload has a thousand servers, each visited every
/// few milliseconds, long enough for its lines to leave a 2 MB cache): the worker and
/// fault state, then the arrival time and the per-request counters, then the queue
/// and the requests in service. The queue limit (read only when every worker is
/// busy), the random streams and the names come after.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Server {
    /// Workers busy now.
    pub busy: u32,
    /// Workers.
    pub concurrency: u32,
    /// The server's life; work started in an earlier life is lost.
    pub epoch: u32,
    /// Its group.
    pub group: GroupId,
    /// Serving, or down (and how it looks to clients).
    pub state: ServerState,
    /// Service-time multiplier from active `slow` faults.
    pub slow_factor: f64,
    /// Probability of answering with an error at once, from active `errors` faults.
    pub fail_fast_rate: f64,
    /// When `busy` last changed.
    pub busy_changed_at: Instant,
    /// Worker-nanoseconds of service so far (for autoscaling), up to `busy_changed_at`.
    pub busy_integral: u128,
    /// When it last received an attempt (for `time_to_drain_s`).
    pub last_arrival: Option<Instant>,
    /// The counters each request updates (see [`Server::stats`]).
    counts: Counts,
    /// Attempts waiting for a worker.
    pub queue: VecDeque<RequestId>,
    /// Attempts being served now (lost if it crashes); inline up to four workers.
    pub in_service: SmallVec<[RequestId; 4]>,
    /// Waiting attempts allowed.
    pub queue_limit: QueueLimit,
    /// Service times and error draws.
    pub rng: SimRng,
    /// Latency and loss of its answers.
    pub net_rng: SimRng,
    /// Its name and group, and the counters not updated per request (up time);
    /// [`Server::stats`] adds the per-request ones.
    pub stats: ServerStats,
    /// When it last came up (for up time).
    pub up_since: Instant,
    /// Removed by the autoscaler: deregistered, then stopped for good.
    pub retired: bool,
    /// Its queue solved at send time, when nothing can disturb it (`closed_form.rs`);
    /// then `busy`, `queue` and `in_service` stay empty.
    pub closed_form: Option<ClosedForm>,
}

/// The counters of [`ServerStats`] that every request updates, restricted to the
/// measured interval, kept in the server's second line rather than in `stats` (whose
/// layout is not ours and which holds the names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
struct Counts {
    /// Worker-nanoseconds of service.
    busy_ns: u128,
    /// Requests received.
    received: u64,
    /// Requests served.
    served: u64,
    /// Requests turned away by a full queue.
    rejected: u64,
    /// Requests answered with an error.
    errors: u64,
}

/// The counters of server `index` of group `g` before its first request (shared with
/// `hasim live`, whose servers report the same `servers.csv` columns).
pub(crate) fn idle_stats(g: &ServerGroupConfig, index: u32, in_target: bool) -> ServerStats {
    ServerStats {
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
    }
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
            busy: 0,
            concurrency: g.concurrency,
            epoch: 0,
            group: gi,
            state: ServerState::Up,
            slow_factor: 1.0,
            fail_fast_rate: 0.0,
            busy_changed_at: Instant::ZERO,
            busy_integral: 0,
            last_arrival: None,
            counts: Counts::default(),
            queue: VecDeque::new(),
            in_service: SmallVec::new(),
            queue_limit: g.queue,
            rng: stream(seed, Role::Service, id),
            net_rng: stream(seed, Role::Network, id),
            stats: idle_stats(g, index, in_target),
            up_since: Instant::ZERO,
            retired: false,
            closed_form: None,
        }
    }

    /// Its counters over the measured interval, those updated per request included.
    pub fn stats(&self) -> ServerStats {
        let c = self.counts;
        ServerStats {
            received: c.received,
            served: c.served,
            rejected: c.rejected,
            errors: c.errors,
            busy_ns: c.busy_ns,
            ..self.stats.clone()
        }
    }

    /// Adds busy time counted after the fact (a closed-form service that ended
    /// after the measured interval, once the run got that far).
    pub fn add_busy_ns(&mut self, busy_ns: u128) {
        self.counts.busy_ns += busy_ns;
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
            self.counts.served += 1;
            if failed {
                self.counts.errors += 1;
            }
        }
        if failed {
            Reply::Error
        } else {
            Reply::Ok
        }
    }

    /// Request `attempt` (a probe costing `probe_cost_ns` of service, or a call's
    /// attempt) arrives at `now`; `in_measure` if `now` is measured.
    #[inline]
    pub fn on_arrival(
        &mut self,
        now: Instant,
        attempt: RequestId,
        probe: Option<u64>,
        in_measure: bool,
    ) -> Arrival {
        let is_probe = probe.is_some();
        if !is_probe {
            self.last_arrival = Some(now);
        }
        if let ServerState::Down { mode, .. } = self.state {
            return match mode {
                CrashMode::Refuse => Arrival::Answer(Reply::Refused),
                CrashMode::Blackhole => Arrival::Vanish,
            };
        }
        if probe == Some(0) {
            return Arrival::Answer(Reply::Ok); // a free health check: no worker needed
        }
        if in_measure && !is_probe {
            self.counts.received += 1;
        }
        // A fail-fast gray failure answers with an error at once; health checks,
        // which hit a different handler, still pass.
        if !is_probe && self.fail_fast_rate > 0.0 && self.rng.random::<f64>() < self.fail_fast_rate
        {
            if in_measure {
                self.counts.errors += 1;
            }
            return Arrival::Answer(Reply::Error);
        }
        if self.busy < self.concurrency {
            Arrival::Serve
        } else if match self.queue_limit {
            QueueLimit::Unbounded => true,
            QueueLimit::Bounded(limit) => self.queue.len() < limit as usize,
        } {
            self.queue.push_back(attempt);
            Arrival::Queued
        } else {
            if in_measure && !is_probe {
                self.counts.rejected += 1;
            }
            Arrival::Answer(Reply::Rejected)
        }
    }

    /// A worker takes `attempt` at `now`; returns its service time.
    #[inline]
    pub fn start_service(
        &mut self,
        now: Instant,
        attempt: RequestId,
        probe: Option<u64>,
        group: &ServerGroupConfig,
    ) -> u64 {
        self.settle_busy(now);
        self.busy += 1;
        self.in_service.push(attempt);
        self.service_ns(group, probe)
    }

    /// The service `done` ends at `now`: the answer, or `None` if the life it was
    /// started in has ended (the work was lost). The caller then starts the next
    /// waiting request, if any (`queue.pop_front()`).
    #[inline]
    pub fn end_of_service(
        &mut self,
        now: Instant,
        done: Served,
        measured: Measured,
        error_rate: f64,
    ) -> Option<Reply> {
        let Served {
            attempt,
            started,
            epoch,
            probe,
        } = done;
        if self.epoch != epoch {
            return None; // served by a life that has ended: the work was lost
        }
        self.settle_busy(now);
        self.busy -= 1;
        if let Some(i) = self.in_service.iter().position(|&x| x == attempt) {
            self.in_service.swap_remove(i);
        }
        self.counts.busy_ns += u128::from(measured.overlap_ns(started, now));
        Some(self.end_service(error_rate, probe, measured.contains(now)))
    }

    /// A request that will reach this server, solved in closed form, at `arrive`:
    /// what [`Server::on_arrival`], the service and [`Server::end_of_service`] would
    /// do, done now, in the same order of random draws (`closed_form.rs` says when
    /// this holds: never down, slowed or failing fast).
    #[inline]
    pub fn serve_in_closed_form(
        &mut self,
        arrive: Instant,
        probe: Option<u64>,
        measured: Measured,
        group: &ServerGroupConfig,
    ) -> Answered {
        let is_probe = probe.is_some();
        let in_measure = measured.contains(arrive);
        let answer = |reply| Answered {
            reply,
            at: arrive,
            busy_tail_ns: None,
        };
        if probe == Some(0) {
            return answer(Reply::Ok);
        }
        if !is_probe {
            self.last_arrival = Some(arrive);
            if in_measure {
                self.counts.received += 1;
            }
        }
        let queue = self.closed_form.as_mut().expect("a closed-form server");
        let Some(start) = queue.start_of(arrive.as_nanos()) else {
            if in_measure && !is_probe {
                self.counts.rejected += 1;
            }
            return answer(Reply::Rejected);
        };
        let service_ns = self.service_ns(group, probe);
        let done = Instant(start.saturating_add(service_ns));
        if let Some(queue) = self.closed_form.as_mut() {
            queue.occupy(done.as_nanos());
        }
        let busy_ns = measured.overlap_ns(Instant(start), done);
        let mut busy_tail_ns = None;
        if done < measured.end {
            self.counts.busy_ns += u128::from(busy_ns);
        } else if busy_ns > 0 {
            busy_tail_ns = Some(busy_ns);
        }
        let reply = self.end_service(group.error_rate, is_probe, measured.contains(done));
        Answered {
            reply,
            at: done,
            busy_tail_ns,
        }
    }

    /// The server goes down at `now` (one more reason to be down). If it was up, a
    /// new life begins: up and busy time are counted up to now (work in service was
    /// done, even if its answer is lost) and the requests in service, then those
    /// queued, are moved to `lost` (their answers are `mode`'s to give). Returns true
    /// if it was up. `started` gives a request's start of service.
    pub fn crash(
        &mut self,
        now: Instant,
        mode: CrashMode,
        measured: Measured,
        started: impl Fn(RequestId) -> Instant,
        lost: &mut Vec<RequestId>,
    ) -> bool {
        if !self.add_down_reason(mode) {
            return false; // already down: the first crash's mode stays in force
        }
        self.epoch += 1;
        self.stats.up_ns += measured.overlap_ns(self.up_since, now);
        self.settle_busy(now);
        for &attempt in &self.in_service {
            self.counts.busy_ns += u128::from(measured.overlap_ns(started(attempt), now));
        }
        self.busy = 0;
        lost.extend(self.in_service.drain(..));
        lost.extend(self.queue.drain(..));
        true
    }

    /// The server loses one reason to be down at `now`; true if it restarts (empty
    /// and cold: nothing queued, nothing in flight).
    pub fn repair(&mut self, now: Instant) -> bool {
        if !self.remove_down_reason() {
            return false;
        }
        self.up_since = now;
        true
    }

    /// Brings `busy_integral` up to `now` (call before `busy` changes).
    #[inline]
    pub fn settle_busy(&mut self, now: Instant) {
        self.busy_integral +=
            u128::from(self.busy) * u128::from(now.as_nanos() - self.busy_changed_at.as_nanos());
        self.busy_changed_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use std::path::Path;

    const MS: u64 = 1_000_000;

    /// Group `api`: two workers, one queue slot, 1 ms service, no errors.
    fn group() -> ServerGroupConfig {
        let text = r#"
name = "server"
[run]
duration = "1s"
[[servers]]
group = "api"
count = 1
concurrency = 2
queue = 1
service = "1ms"
[[clients]]
name = "web"
target = "api"
arrival = { process = "poisson", rate = 100 }
"#;
        let scenario = Scenario::from_text(Path::new("x.toml"), text, &[]).expect("valid");
        scenario.config.servers[0].clone()
    }

    fn at(ms: u64) -> Instant {
        Instant(ms * MS)
    }

    /// Measured from 0 to 100 ms.
    const MEASURED: Measured = Measured {
        start: Instant(0),
        end: Instant(100 * MS),
    };

    /// What a request touches is in the server's first three cache lines (the
    /// streams and names after them), and the requests in service of a server with
    /// up to four workers are inline.
    #[test]
    fn per_request_fields_are_in_the_first_three_lines() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(align_of::<Server>(), 64);
        let ends = [
            offset_of!(Server, busy_integral) + size_of::<u128>(),
            offset_of!(Server, counts) + size_of::<Counts>(),
            offset_of!(Server, in_service) + size_of::<SmallVec<[RequestId; 4]>>(),
        ];
        assert_eq!(
            ends[0], 64,
            "the worker and fault state fill the first line"
        );
        assert_eq!(
            ends[1], 128,
            "the arrival time and counters fill the second"
        );
        assert!(
            ends[2] <= 192,
            "the queue and requests in service: {}",
            ends[2]
        );
        assert!(offset_of!(Server, queue_limit) < offset_of!(Server, rng));
        let g = group();
        let mut s = Server::new(&g, GroupId(0), 0, 0, 1, true);
        for a in 0..4 {
            s.in_service.push(RequestId(a));
        }
        assert!(!s.in_service.spilled());
    }

    #[test]
    fn workers_then_queue_then_rejection() {
        let g = group();
        let mut s = Server::new(&g, GroupId(0), 0, 0, 1, true);
        let arrive = |s: &mut Server, a| s.on_arrival(at(1), RequestId(a), None, true);
        assert_eq!(arrive(&mut s, 10), Arrival::Serve);
        assert_eq!(s.start_service(at(1), RequestId(10), None, &g), MS);
        assert_eq!(arrive(&mut s, 11), Arrival::Serve);
        assert_eq!(s.start_service(at(1), RequestId(11), None, &g), MS);
        assert_eq!(arrive(&mut s, 12), Arrival::Queued);
        assert_eq!(arrive(&mut s, 13), Arrival::Answer(Reply::Rejected));
        assert_eq!((s.busy, s.queued()), (2, 1));
        assert_eq!((s.stats().received, s.stats().rejected), (4, 1));
        let done = Served {
            attempt: RequestId(10),
            started: at(1),
            epoch: 0,
            probe: false,
        };
        assert_eq!(
            s.end_of_service(at(2), done, MEASURED, 0.0),
            Some(Reply::Ok)
        );
        assert_eq!(
            s.queue.pop_front(),
            Some(RequestId(12)),
            "the caller starts the next"
        );
        assert_eq!(
            (s.busy, s.stats().served, s.stats().busy_ns),
            (1, 1, u128::from(MS))
        );
        // A free health check needs no worker and is not counted.
        assert_eq!(
            s.on_arrival(at(3), RequestId(14), Some(0), true),
            Arrival::Answer(Reply::Ok)
        );
        assert_eq!(s.stats().received, 4);
    }

    #[test]
    fn a_crash_loses_the_work_of_its_life_and_a_repair_starts_a_new_one() {
        let g = group();
        let mut s = Server::new(&g, GroupId(0), 0, 0, 1, true);
        for a in [RequestId(1), RequestId(2)] {
            assert_eq!(s.on_arrival(at(1), a, None, true), Arrival::Serve);
            let _ = s.start_service(at(1), a, None, &g);
        }
        assert_eq!(
            s.on_arrival(at(1), RequestId(3), None, true),
            Arrival::Queued
        );
        let mut lost = Vec::new();
        assert!(s.crash(at(5), CrashMode::Blackhole, MEASURED, |_| at(1), &mut lost));
        assert_eq!(
            lost,
            [RequestId(1), RequestId(2), RequestId(3)],
            "in service first, then queued"
        );
        assert_eq!(
            s.stats().busy_ns,
            u128::from(8 * MS),
            "two workers busy 4 ms"
        );
        assert_eq!(s.stats.up_ns, 5 * MS);
        assert!(!s.crash(at(6), CrashMode::Refuse, MEASURED, |_| at(1), &mut lost));
        assert_eq!(
            s.on_arrival(at(7), RequestId(4), None, true),
            Arrival::Vanish,
            "first mode"
        );
        let old = Served {
            attempt: RequestId(1),
            started: at(1),
            epoch: 0,
            probe: false,
        };
        assert_eq!(s.end_of_service(at(8), old, MEASURED, 0.0), None);
        assert!(!s.repair(at(9)), "one reason left");
        assert!(s.repair(at(10)));
        assert!(s.is_up() && s.epoch == 1 && s.up_since == at(10));
        assert_eq!(
            s.on_arrival(at(11), RequestId(5), None, true),
            Arrival::Serve
        );
    }
}

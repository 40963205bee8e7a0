//! The FIFO queue of a server that nothing can disturb, solved when a request is sent
//! instead of event by event (issue 14: fewer events per call where nothing can
//! happen in between).
//!
//! A server's queue only needs events because something might interrupt it: a crash
//! loses its work, a slowdown changes its service times, an autoscaler retires it, a
//! network fault changes or drops its answers. When none of that can touch a server
//! (see [`qualifies`]), each request's fate follows from Lindley's recursion for a
//! FIFO queue with `c` workers: it starts at `max(arrival, earliest free worker)` and
//! ends a sampled service time later. With a constant network latency, requests
//! reach the server in the order they were sent, so the server can compute all of it
//! at send time, drawing the same random numbers in the same order as the
//! event-driven path: one call costs two events (its arrival and its answer's) instead
//! of four.
//!
//! What a client sees is the same: its answer arrives at the same instant with the
//! same reply. Only the order among events at the very same nanosecond can differ
//! (the answer is scheduled earlier, so it takes an earlier sequence number), as can
//! a bounded queue's admission of a request that arrives at the nanosecond a worker
//! frees up (here the worker counts as free).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::scenario::QueueLimit;

/// The workers and waiting line of one server, as of the last request sent to it.
#[derive(Debug)]
pub struct ClosedForm {
    /// When each worker is next free, earliest first (ns).
    free_at: BinaryHeap<Reverse<u64>>,
    /// Start times of requests that had to wait, in order: the ones after
    /// an arrival are the ones still waiting then (a bounded queue's length, and what
    /// the memory budget counts).
    waiting_starts: VecDeque<u64>,
    queue_limit: QueueLimit,
}

impl ClosedForm {
    /// An idle server with `concurrency` workers.
    pub fn new(concurrency: u32, queue_limit: QueueLimit) -> ClosedForm {
        ClosedForm {
            free_at: (0..concurrency).map(|_| Reverse(0)).collect(),
            waiting_starts: VecDeque::new(),
            queue_limit,
        }
    }

    /// When a request arriving at `arrive` starts service, or `None` if every worker
    /// is busy and the waiting line is full (the modelled server turns it away, as
    /// `World::on_request_arrive` does). Requests must come in arrival order; one
    /// that starts must be followed by [`ClosedForm::occupy`] with its end.
    #[inline]
    pub fn start_of(&mut self, arrive: u64) -> Option<u64> {
        let Reverse(free) = *self.free_at.peek().expect("a server has a worker");
        if free <= arrive {
            return Some(arrive);
        }
        while self.waiting_starts.front().is_some_and(|&s| s <= arrive) {
            self.waiting_starts.pop_front();
        }
        if let QueueLimit::Bounded(limit) = self.queue_limit {
            if self.waiting_starts.len() >= limit as usize {
                return None;
            }
        }
        self.waiting_starts.push_back(free);
        Some(free)
    }

    /// The request [`ClosedForm::start_of`] just started holds the earliest free worker
    /// until `done`.
    #[inline]
    pub fn occupy(&mut self, done: u64) {
        *self.free_at.peek_mut().expect("a server has a worker") = Reverse(done);
    }

    /// Requests waiting for a worker, as of the last arrival.
    pub fn waiting(&self) -> usize {
        self.waiting_starts.len()
    }

    /// The memory it holds, in bytes (for the memory budget).
    pub fn bytes(&self) -> usize {
        (self.free_at.capacity() + self.waiting_starts.capacity()) * std::mem::size_of::<u64>()
    }
}

/// What decides whether a server may be solved in closed form.
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    /// The network's latency is constant and nothing is lost, so requests arrive in
    /// the order they are sent and an answer's transit draws no random number.
    pub steady_network: bool,
    /// Some fault acts on the network (latency, loss, partition) at some point.
    pub network_faults: bool,
    /// An autoscaler may add, provision or retire servers.
    pub autoscaled: bool,
    /// Some fault targets this server (crash, random crash, slowdown, errors).
    pub server_faulted: bool,
    /// Workers of this server.
    pub concurrency: u32,
    /// Its group's error rate.
    pub error_rate: f64,
}

/// The most workers a closed-form server keeps (one free time each). A server with
/// more (an "infinite server" model with a million workers, say) runs on events,
/// which keep nothing per worker.
pub const MAX_WORKERS: u32 = 4096;

/// True if nothing can interrupt the server's queue, so [`ClosedForm`] gives the same
/// result as events. An error rate needs one worker: the error of each request is
/// drawn from the server's stream when service ends, so with several workers the
/// draws would come in a different order.
pub fn qualifies(c: Conditions) -> bool {
    c.steady_network
        && !c.network_faults
        && !c.autoscaled
        && !c.server_faulted
        && c.concurrency <= MAX_WORKERS
        && (c.error_rate == 0.0 || c.concurrency == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lindley's recursion on one worker: each start is the later of its arrival and
    /// the previous end.
    #[test]
    fn one_worker_serves_in_arrival_order() {
        let mut q = ClosedForm::new(1, QueueLimit::Unbounded);
        let mut starts = Vec::new();
        for (arrive, service) in [(0, 10), (5, 10), (30, 1), (30, 4)] {
            let start = q.start_of(arrive).unwrap();
            q.occupy(start + service);
            starts.push(start);
        }
        assert_eq!(starts, vec![0, 10, 30, 31]);
    }

    /// With two workers a request takes whichever frees first.
    #[test]
    fn several_workers_take_the_earliest_free() {
        let mut q = ClosedForm::new(2, QueueLimit::Unbounded);
        let mut starts = Vec::new();
        for (arrive, service) in [(0, 100), (0, 10), (1, 5), (2, 5)] {
            let start = q.start_of(arrive).unwrap();
            q.occupy(start + service);
            starts.push(start);
        }
        // Worker B: 0..10, then 10..15, then 15..20; worker A busy until 100.
        assert_eq!(starts, vec![0, 0, 10, 15]);
    }

    /// A bounded line rejects while it is full and admits again once a waiting
    /// request has started.
    #[test]
    fn a_full_line_rejects_until_someone_starts() {
        let mut q = ClosedForm::new(1, QueueLimit::Bounded(1));
        let start = q.start_of(0).unwrap();
        q.occupy(start + 10);
        let start = q.start_of(1).unwrap(); // waits until 10
        assert_eq!(start, 10);
        q.occupy(start + 10);
        assert_eq!(q.start_of(2), None, "one waiting already");
        let start = q.start_of(10).unwrap(); // the waiting one started at 10
        assert_eq!(start, 20);
        q.occupy(start + 10);
        assert_eq!(q.waiting(), 1);
    }

    #[test]
    fn only_undisturbed_servers_qualify() {
        let base = Conditions {
            steady_network: true,
            network_faults: false,
            autoscaled: false,
            server_faulted: false,
            concurrency: 4,
            error_rate: 0.0,
        };
        assert!(qualifies(base));
        for c in [
            Conditions {
                steady_network: false,
                ..base
            },
            Conditions {
                network_faults: true,
                ..base
            },
            Conditions {
                autoscaled: true,
                ..base
            },
            Conditions {
                server_faulted: true,
                ..base
            },
            Conditions {
                error_rate: 0.1,
                ..base
            },
            Conditions {
                concurrency: MAX_WORKERS + 1,
                ..base
            },
        ] {
            assert!(!qualifies(c), "{c:?}");
        }
        assert!(qualifies(Conditions {
            error_rate: 0.1,
            concurrency: 1,
            ..base
        }));
    }
}

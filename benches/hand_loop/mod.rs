//! A minimal hand-written event loop for exactly workload W1: the baseline hasim is
//! measured against (issue 2: "a minimal hand-written event loop for W1 does about
//! 5.6 million calls/s here: keep the engine within reach of that").
//!
//! W1 (`benches/workloads/w1.toml`): 16 single-worker FIFO servers with exponential
//! 1 ms service, Poisson arrivals at 14,400/s, random routing, 0.1 ms constant one-way
//! latency. Each call is four events, as in hasim: arrival, request arrive, service
//! done, response arrive.
//!
//! It does what any simulator of W1 must do and nothing more, so the gap to hasim is
//! the price of hasim's generality (slabs with generations, policies, per-window
//! metrics, the fingerprint). To keep the comparison fair it draws from the same
//! generator (ChaCha8, one stream per role) and distributions (`Exp1`), keeps exact
//! fractional arrival times as hasim does, and records every latency into an HDR
//! histogram. It lives in `benches/hand_loop/mod.rs` rather than
//! `benches/hand_loop.rs` because cargo would take a top-level `benches/*.rs` file
//! for a bench target of its own.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp1;

/// Servers in W1.
const SERVERS: usize = 16;
/// Mean service time, ns (1 ms).
const SERVICE_MEAN_NS: f64 = 1e6;
/// Calls per second.
const ARRIVAL_RATE: f64 = 14_400.0;
/// One-way network latency, ns (100 us each way).
const LATENCY_NS: u64 = 100_000;

/// The four events of a call. `start` is the call's arrival time, carried along so
/// the response knows the latency without a per-call table.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// The next call arrives at the client.
    Arrival,
    /// A request reaches `server`.
    RequestArrive { server: u8, start: u64 },
    /// `server` finishes the call it is serving.
    ServiceDone { server: u8, start: u64 },
    /// The answer reaches the client.
    ResponseArrive { start: u64 },
}

/// A scheduled event, ordered by `(time, seq)` so equal times run first-in first-out.
#[derive(Clone, Copy, Debug)]
struct Entry {
    time: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest event must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// One single-worker FIFO server.
#[derive(Default)]
struct Server {
    busy: bool,
    /// Start times of the calls waiting for the worker.
    queue: VecDeque<u64>,
}

/// What a run of the hand loop produced.
#[derive(Debug)]
pub struct Output {
    /// Calls completed.
    pub calls: u64,
    /// Events processed.
    pub events: u64,
    /// Mean call latency, ms (about 10.2 ms: M/M/1 at rho 0.9 plus two hops).
    pub latency_mean_ms: f64,
    /// 99th percentile of call latency, ms.
    pub latency_p99_ms: f64,
}

/// A ChaCha8 stream, as `hasim::rng::stream` builds them.
fn stream(seed: u64, id: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

/// Exponential sample with mean `mean_ns`, rounded to whole ns (as hasim does).
#[inline]
fn exp_ns(rng: &mut ChaCha8Rng, mean_ns: f64) -> u64 {
    (rng.sample::<f64, _>(Exp1) * mean_ns).round() as u64
}

/// Simulates W1 until `calls` calls have arrived and all of them have finished.
pub fn run(calls: u64, seed: u64) -> Output {
    let mut arrivals_rng = stream(seed, 1);
    let mut routing_rng = stream(seed, 2);
    let mut service_rng: Vec<ChaCha8Rng> =
        (0..SERVERS as u64).map(|s| stream(seed, 100 + s)).collect();
    let mut servers: Vec<Server> = (0..SERVERS).map(|_| Server::default()).collect();
    let mut latency = Histogram::<u64>::new(3).expect("3 significant digits are valid");
    let mut latency_sum_ns: u128 = 0;

    let mut heap: BinaryHeap<Entry> = BinaryHeap::with_capacity(1024);
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Entry>, time: u64, event: Event| {
        heap.push(Entry { time, seq, event });
        seq += 1;
    };

    let mean_gap_ns = 1e9 / ARRIVAL_RATE;
    // Exact (fractional) arrival time, so rounding never drifts the rate.
    let mut next_arrival = arrivals_rng.sample::<f64, _>(Exp1) * mean_gap_ns;
    let mut arrived = 0u64;
    let mut done = 0u64;
    let mut events = 0u64;
    if calls > 0 {
        push(&mut heap, next_arrival as u64, Event::Arrival);
    }

    while let Some(Entry {
        time: now, event, ..
    }) = heap.pop()
    {
        events += 1;
        match event {
            Event::Arrival => {
                arrived += 1;
                if arrived < calls {
                    next_arrival += arrivals_rng.sample::<f64, _>(Exp1) * mean_gap_ns;
                    push(&mut heap, (next_arrival as u64).max(now), Event::Arrival);
                }
                let server = routing_rng.random_range(0..SERVERS) as u8;
                push(
                    &mut heap,
                    now + LATENCY_NS,
                    Event::RequestArrive { server, start: now },
                );
            }
            Event::RequestArrive { server, start } => {
                let s = &mut servers[server as usize];
                if s.busy {
                    s.queue.push_back(start);
                } else {
                    s.busy = true;
                    let service = exp_ns(&mut service_rng[server as usize], SERVICE_MEAN_NS);
                    push(
                        &mut heap,
                        now + service,
                        Event::ServiceDone { server, start },
                    );
                }
            }
            Event::ServiceDone { server, start } => {
                push(&mut heap, now + LATENCY_NS, Event::ResponseArrive { start });
                let s = &mut servers[server as usize];
                match s.queue.pop_front() {
                    Some(next) => {
                        let service = exp_ns(&mut service_rng[server as usize], SERVICE_MEAN_NS);
                        push(
                            &mut heap,
                            now + service,
                            Event::ServiceDone {
                                server,
                                start: next,
                            },
                        );
                    }
                    None => s.busy = false,
                }
            }
            Event::ResponseArrive { start } => {
                let ns = now - start;
                if latency.record(ns).is_err() {
                    latency.saturating_record(ns);
                }
                latency_sum_ns += u128::from(ns);
                done += 1;
            }
        }
    }
    Output {
        calls: done,
        events,
        latency_mean_ms: if done == 0 {
            0.0
        } else {
            latency_sum_ns as f64 / done as f64 / 1e6
        },
        latency_p99_ms: latency.value_at_quantile(0.99) as f64 / 1e6,
    }
}

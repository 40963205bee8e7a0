//! One scenario server as a real HTTP/1.1 server (hyper) on its own 127.0.0.1 port.
//!
//! It has the scenario's workers (a fair, FIFO semaphore of `concurrency` permits),
//! its queue limit (a request that finds every worker busy and the queue full gets an
//! immediate `503`, "rejected"), its service time (a real `tokio::time::sleep` of a
//! duration drawn from the group's distribution with the server's seeded stream) and
//! its error rate (a `500` after service). `GET /health` is a health probe: answered
//! at once, or after `probe_cost` on a worker when the client asks for it.
//!
//! Faults of the server itself act in its accept path and handler (see `faults.rs`):
//! a `refuse` crash closes the listener (new connections are refused by the kernel)
//! and resets every open connection (`SO_LINGER` 0); a `blackhole` crash keeps
//! accepting but never answers; `slow` multiplies service times; `errors` answers
//! `500` at once at a rate.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use super::clock::Clock;
use crate::dist::Dist;
use crate::metrics::{Measured, ServerStats};
use crate::rng::SimRng;
use crate::scenario::{CrashMode, QueueLimit};
use crate::time::Instant;

/// The path of health probes.
pub const HEALTH_PATH: &str = "/health";
/// The header by which a probe asks to take a worker for this many nanoseconds.
pub const PROBE_COST_HEADER: &str = "x-hasim-probe-cost-ns";

/// What the handler and the fault schedule share about one server.
#[derive(Debug)]
pub struct Inner {
    /// Service times and error draws (the server's `Role::Service` stream).
    pub rng: SimRng,
    /// Counters over the measured interval (as `hasim run` counts them).
    pub stats: ServerStats,
    /// Requests waiting for a worker now.
    pub waiting: u32,
    /// False while crashed.
    pub up: bool,
    /// How the latest crash looks.
    pub mode: CrashMode,
    /// Active crash faults.
    pub down_reasons: u32,
    /// Service-time multiplier of active `slow` faults.
    pub slow_factor: f64,
    /// Rate of immediate `500`s from active `errors` faults.
    pub fail_fast_rate: f64,
    /// When it last came up.
    pub up_since: Instant,
    /// When it last received a call's attempt.
    pub last_arrival: Option<Instant>,
}

/// One live server.
#[derive(Debug)]
pub struct LiveServer {
    /// Its port on 127.0.0.1.
    pub addr: SocketAddr,
    queue: QueueLimit,
    service: Dist,
    error_rate: f64,
    workers: Semaphore,
    /// Mutable state, shared with the fault schedule.
    pub inner: Mutex<Inner>,
    /// Bumped to reset every open connection (a `refuse` crash).
    life: watch::Sender<u32>,
    /// The accept loop, while listening.
    acceptor: Mutex<Option<JoinHandle<()>>>,
    clock: Clock,
    measure: Measured,
}

/// Locks a mutex; a panic elsewhere cannot leave these counters half-updated, so a
/// poisoned lock is used as is.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a server is built from.
#[derive(Debug)]
pub struct ServerSpec {
    /// Workers.
    pub concurrency: u32,
    /// Waiting requests allowed.
    pub queue: QueueLimit,
    /// Service time.
    pub service: Dist,
    /// Probability of a `500` after service.
    pub error_rate: f64,
    /// Its counters' identity (name, group, zone, tier, in_target).
    pub stats: ServerStats,
    /// Its `Role::Service` stream.
    pub rng: SimRng,
}

impl LiveServer {
    /// Binds a fresh port on 127.0.0.1 and starts accepting.
    pub async fn start(
        spec: ServerSpec,
        clock: Clock,
        measure: Measured,
    ) -> std::io::Result<Arc<LiveServer>> {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let server = Arc::new(LiveServer {
            addr,
            queue: spec.queue,
            service: spec.service,
            error_rate: spec.error_rate,
            workers: Semaphore::new(spec.concurrency as usize),
            inner: Mutex::new(Inner {
                rng: spec.rng,
                stats: spec.stats,
                waiting: 0,
                up: true,
                mode: CrashMode::Refuse,
                down_reasons: 0,
                slow_factor: 1.0,
                fail_fast_rate: 0.0,
                up_since: Instant::ZERO,
                last_arrival: None,
            }),
            life: watch::Sender::new(0),
            acceptor: Mutex::new(None),
            clock,
            measure,
        });
        server.spawn_acceptor(listener);
        Ok(server)
    }

    fn spawn_acceptor(self: &Arc<Self>, listener: TcpListener) {
        let me = Arc::clone(self);
        let task = tokio::spawn(async move { me.accept_loop(listener).await });
        *lock(&self.acceptor) = Some(task);
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue; // EMFILE and the like: try again
            };
            // Closing with linger 0 sends a reset, as a crashed host's kernel would
            // (with a zero linger, close never blocks: the deprecation is about
            // non-zero values).
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            let _ = stream.set_nodelay(true);
            let me = Arc::clone(&self);
            let mut life = self.life.subscribe();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let me = Arc::clone(&me);
                    async move { Ok::<_, Infallible>(me.handle(req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = life.changed() => {} // dropped: the connection is reset
                }
            });
        }
    }

    /// Crashes the server (`refuse`: stop listening and reset every connection;
    /// `blackhole`: keep accepting, answer nothing).
    pub fn crash(&self, mode: CrashMode) {
        let now = self.clock.now();
        {
            let mut inner = lock(&self.inner);
            inner.down_reasons += 1;
            inner.mode = mode;
            if inner.up {
                inner.up = false;
                let up_ns = self.measure.overlap_ns(inner.up_since, now);
                inner.stats.up_ns += up_ns;
            }
        }
        if mode == CrashMode::Refuse {
            if let Some(task) = lock(&self.acceptor).take() {
                task.abort(); // drops the listener: the port refuses connections
            }
            self.life.send_modify(|l| *l += 1);
        }
    }

    /// Ends one crash; the server comes back (listening again on the same port) when
    /// no crash is left.
    pub fn repair(self: &Arc<Self>) -> std::io::Result<()> {
        let now = self.clock.now();
        {
            let mut inner = lock(&self.inner);
            inner.down_reasons = inner.down_reasons.saturating_sub(1);
            if inner.down_reasons > 0 || inner.up {
                return Ok(());
            }
            inner.up = true;
            inner.up_since = now;
        }
        // Connections kept through a blackhole are reset too: the process restarted.
        self.life.send_modify(|l| *l += 1);
        if lock(&self.acceptor).is_none() {
            self.spawn_acceptor(bind(self.addr)?);
        }
        Ok(())
    }

    /// True while up.
    pub fn is_up(&self) -> bool {
        lock(&self.inner).up
    }

    /// Closes the server's counters at `end` and returns them.
    pub fn finish(&self, end: Instant) -> ServerStats {
        let mut inner = lock(&self.inner);
        if inner.up {
            let up_ns = self.measure.overlap_ns(inner.up_since, end);
            inner.stats.up_ns += up_ns;
        }
        inner.stats.clone()
    }

    fn in_measure(&self, t: Instant) -> bool {
        self.measure.contains(t)
    }

    /// Serves one request.
    async fn handle(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let now = self.clock.now();
        let probe = req.uri().path() == HEALTH_PATH;
        let probe_cost_ns: u64 = req
            .headers()
            .get(PROBE_COST_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let measured = self.in_measure(now) && !probe;
        let life = *self.life.borrow();
        let service_ns = match self.admit(probe, probe_cost_ns, now, measured) {
            Admission::Answer(status) => return answer(status),
            Admission::Never => return never().await, // blackhole (a refused one is reset)
            Admission::Serve(ns) => ns,
        };
        let permit = self.workers.acquire().await;
        lock(&self.inner).waiting -= 1;
        let Ok(permit) = permit else {
            return never().await; // the semaphore is never closed
        };
        let started = self.clock.now();
        super::timer::SERVICE
            .sleep_until(&self.clock, started.after(Duration::from_nanos(service_ns)))
            .await;
        let status = self.complete(probe, started, life);
        drop(permit);
        match status {
            Some(status) => answer(status),
            None => never().await, // a crash during service: the work is lost
        }
    }

    /// What happens to a request on arrival (counted as `hasim run` counts it).
    fn admit(&self, probe: bool, probe_cost_ns: u64, now: Instant, measured: bool) -> Admission {
        let mut inner = lock(&self.inner);
        if !inner.up {
            return Admission::Never;
        }
        if !probe {
            inner.last_arrival = Some(now);
        }
        if probe && probe_cost_ns == 0 {
            return Admission::Answer(StatusCode::OK);
        }
        if measured {
            inner.stats.received += 1;
        }
        if !probe && inner.fail_fast_rate > 0.0 && inner.rng.random::<f64>() < inner.fail_fast_rate
        {
            if measured {
                inner.stats.errors += 1;
            }
            return Admission::Answer(StatusCode::INTERNAL_SERVER_ERROR);
        }
        let all_busy = self.workers.available_permits() == 0;
        let full = match self.queue {
            QueueLimit::Unbounded => false,
            QueueLimit::Bounded(limit) => inner.waiting >= limit,
        };
        if all_busy && full {
            if measured {
                inner.stats.rejected += 1;
            }
            return Admission::Answer(StatusCode::SERVICE_UNAVAILABLE);
        }
        inner.waiting += 1;
        let base = if probe {
            probe_cost_ns
        } else {
            self.service.sample_ns(&mut inner.rng)
        };
        Admission::Serve(if inner.slow_factor == 1.0 {
            base
        } else {
            (base as f64 * inner.slow_factor) as u64
        })
    }

    /// The end of service that started at `started` in life `life`: the answer, or
    /// `None` if the server crashed meanwhile.
    fn complete(&self, probe: bool, started: Instant, life: u32) -> Option<StatusCode> {
        let done = self.clock.now();
        let same_life = *self.life.borrow() == life;
        let mut inner = lock(&self.inner);
        if !inner.up || !same_life {
            return None;
        }
        inner.stats.busy_ns += u128::from(self.measure.overlap_ns(started, done));
        let failed = !probe && self.error_rate > 0.0 && inner.rng.random::<f64>() < self.error_rate;
        if self.in_measure(done) && !probe {
            inner.stats.served += 1;
            if failed {
                inner.stats.errors += 1;
            }
        }
        Some(if failed {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        })
    }
}

/// What the server does with an arriving request.
enum Admission {
    /// Answer at once with this status.
    Answer(StatusCode),
    /// Never answer (a blackholed server).
    Never,
    /// Take a worker for this many nanoseconds.
    Serve(u64),
}

/// An empty answer with `status`.
fn answer(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// Never answers: the connection stays open until the client gives up.
async fn never() -> Response<Full<Bytes>> {
    std::future::pending().await
}

/// A listener on `addr` that can rebind the same port right after a close.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

//! One client instance in real time: its arrival process, its client stack, and the
//! requests it sends.
//!
//! Like the simulator's driver, it decides nothing: it starts calls when the arrival
//! process says so, carries out the stack's actions (attempts and probes become HTTP
//! requests on tasks of their own; timers go into a local timer map), hands answers
//! back with the wall time mapped to run instants, and records finished calls.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::clock::Clock;
use super::faults::LiveFaults;
use super::server::lock;
use super::transport::{self, Http};
use crate::metrics::{CallResult, FailReason, Measured, Recorder};
use crate::policy::client::{Action, AttemptId, Client, ProbeId, Timer};
use crate::policy::Outcome;
use crate::rng::SimRng;
use crate::sim::{Arrivals, Node};
use crate::time::{nanos, Instant};

/// What every instance of a run shares.
#[derive(Debug)]
pub struct RunShared {
    /// The run's clock.
    pub clock: Clock,
    /// The one recorder of the run.
    pub recorder: Arc<Mutex<Recorder>>,
    /// Faults acting on messages, and per-fault counters.
    pub faults: Arc<LiveFaults>,
    /// Each server's address, by endpoint id.
    pub addrs: Vec<SocketAddr>,
    /// The measured interval.
    pub measure: Measured,
    /// No call is waited for past this.
    pub drain_end: Instant,
    /// Inputs handed to client stacks (the `events` column of a live run).
    pub events: AtomicU64,
}

/// One client instance, before it runs.
#[derive(Debug)]
pub struct Instance {
    /// Its index over every population (its node id for faults).
    pub index: u32,
    /// Its client stack, endpoints already added.
    pub stack: Client<SimRng>,
    /// Its arrival process.
    pub arrivals: Arrivals,
    /// Arrival times.
    pub arrivals_rng: SimRng,
    /// Per-call draws (request keys, think times).
    pub calls_rng: SimRng,
    /// Latency and loss of its messages.
    pub net_rng: SimRng,
    /// What a health probe costs at the server.
    pub probe_cost: Option<Duration>,
    /// How long a request task may wait for its answer before it is dropped (the
    /// stack has timed it out by then); `None`: until the end of the run.
    pub give_up_after: Option<Duration>,
}

/// An answer coming back to the instance.
#[derive(Debug)]
enum Input {
    Attempt(AttemptId, Outcome),
    Probe(ProbeId, bool),
}

/// Something the instance waits for.
#[derive(Clone, Copy, Debug)]
enum Wake {
    Stack(Timer),
    Arrival,
    Caller,
}

/// The running instance.
struct Driver {
    inst: Instance,
    shared: Arc<RunShared>,
    http: Http,
    wakes: BTreeMap<(Instant, u64), Wake>,
    seq: u64,
    last_arrival_ns: f64,
    open_measured: u64,
    in_flight: BTreeMap<AttemptId, AbortHandle>,
    probes: BTreeMap<ProbeId, AbortHandle>,
    tx: mpsc::UnboundedSender<Input>,
}

/// Runs `inst` until the measured interval is over and its measured calls have
/// finished (or the drain ends).
pub async fn run(inst: Instance, shared: Arc<RunShared>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut d = Driver {
        inst,
        shared,
        http: transport::http_client(),
        wakes: BTreeMap::new(),
        seq: 0,
        last_arrival_ns: 0.0,
        open_measured: 0,
        in_flight: BTreeMap::new(),
        probes: BTreeMap::new(),
        tx,
    };
    d.start();
    loop {
        let now = d.shared.clock.now();
        let end = d.shared.measure.end;
        if (now >= end && d.open_measured == 0) || now > d.shared.drain_end {
            break;
        }
        let next = d
            .wakes
            .first_key_value()
            .map_or(d.shared.drain_end, |(k, _)| k.0)
            .min(d.shared.drain_end.after(Duration::from_millis(1)));
        let next = if now < end { next.min(end) } else { next };
        tokio::select! {
            input = rx.recv() => {
                if let Some(input) = input {
                    d.on_input(input);
                }
            }
            _ = tokio::time::sleep_until(d.shared.clock.wall(next)) => d.on_wakes(),
        }
    }
    d.finish();
}

impl Driver {
    /// Arms the stack's first timers and the first arrivals.
    fn start(&mut self) {
        self.apply_actions();
        match &self.inst.arrivals {
            Arrivals::Closed { callers, think } => {
                let delays: Vec<u64> = (0..*callers)
                    .map(|_| think.sample_ns(&mut self.inst.calls_rng))
                    .collect();
                for d in delays {
                    self.wake_at(Instant(d), Wake::Caller);
                }
            }
            open => {
                let first = open.first_arrival(&mut self.inst.arrivals_rng);
                self.last_arrival_ns = first;
                self.wake_at(Instant(first as u64), Wake::Arrival);
            }
        }
    }

    fn wake_at(&mut self, at: Instant, wake: Wake) {
        self.seq += 1;
        self.wakes.insert((at, self.seq), wake);
    }

    /// Handles every wake-up that is due.
    fn on_wakes(&mut self) {
        let now = self.shared.clock.now();
        while let Some(entry) = self.wakes.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let wake = entry.remove();
            match wake {
                Wake::Stack(timer) => {
                    self.inst.stack.on_timer(now, timer);
                    self.count_event();
                }
                Wake::Arrival => {
                    if now < self.shared.measure.end {
                        let next = self
                            .inst
                            .arrivals
                            .next_arrival(&mut self.inst.arrivals_rng, self.last_arrival_ns);
                        self.last_arrival_ns = next;
                        self.wake_at(Instant(next as u64), Wake::Arrival);
                        self.start_call(now);
                    }
                }
                Wake::Caller => {
                    if now < self.shared.measure.end {
                        self.start_call(now);
                    }
                }
            }
            self.apply_actions();
        }
    }

    fn count_event(&self) {
        self.shared.events.fetch_add(1, Ordering::Relaxed);
    }

    fn in_measure(&self, t: Instant) -> bool {
        self.shared.measure.contains(t)
    }

    fn start_call(&mut self, now: Instant) {
        if self.in_measure(now) {
            self.open_measured += 1;
        }
        let key = self.inst.calls_rng.random::<u64>();
        let _call = self.inst.stack.start_call(now, key);
        self.count_event();
    }

    fn on_input(&mut self, input: Input) {
        let now = self.shared.clock.now();
        let _report = match input {
            Input::Attempt(id, outcome) => {
                self.in_flight.remove(&id);
                self.inst.stack.on_attempt_outcome(now, id, outcome)
            }
            Input::Probe(id, passed) => {
                self.probes.remove(&id);
                self.inst.stack.on_probe_result(now, id, passed)
            }
        };
        self.count_event();
        self.apply_actions();
    }

    /// Carries out every decision the stack has queued, in order.
    fn apply_actions(&mut self) {
        while let Some(action) = self.inst.stack.poll_action() {
            match action {
                Action::SendAttempt {
                    attempt,
                    endpoint,
                    call_started,
                    ..
                } => {
                    if self.in_measure(call_started) {
                        lock(&self.shared.recorder).on_attempt(call_started);
                    }
                    let tx = self.tx.clone();
                    if let Some(h) = self.launch(endpoint.0, None, move |o| {
                        let _ = tx.send(Input::Attempt(attempt, o));
                    }) {
                        self.in_flight.insert(attempt, h);
                    }
                }
                Action::SendProbe { probe, endpoint } => {
                    let cost = self.inst.probe_cost.map_or(0, nanos);
                    let tx = self.tx.clone();
                    if let Some(h) = self.launch(endpoint.0, Some(cost), move |o| {
                        let _ = tx.send(Input::Probe(probe, o == Outcome::Success));
                    }) {
                        self.probes.insert(probe, h);
                    }
                }
                Action::ArmTimer { at, timer } => self.wake_at(at, Wake::Stack(timer)),
                Action::CancelAttempt { attempt, .. } => {
                    if let Some(h) = self.in_flight.remove(&attempt) {
                        h.abort(); // drops the request: hyper closes its connection
                    }
                }
                Action::FinishCall {
                    started, result, ..
                } => self.on_call_finished(started, result),
                _ => {}
            }
        }
    }

    /// Sends a request to server `server` on a task of its own, through the client's
    /// transport faults; `done` gets the outcome unless the request or its answer is
    /// lost (then only the stack's timeout ends the wait).
    fn launch(
        &mut self,
        server: u32,
        probe: Option<u64>,
        done: impl FnOnce(Outcome) + Send + 'static,
    ) -> Option<AbortHandle> {
        let (me, to) = (Node::Client(self.inst.index), Node::Server(server));
        let faults = &self.shared.faults;
        let there = faults.transit(me, to, &mut self.inst.net_rng)?;
        let back = faults.transit(to, me, &mut self.inst.net_rng);
        let addr = *self.shared.addrs.get(server as usize)?;
        let (http, faults, clock) = (
            self.http.clone(),
            Arc::clone(&self.shared.faults),
            self.shared.clock,
        );
        let give_up = self.inst.give_up_after;
        let task = tokio::spawn(async move {
            let exchange = async {
                pause(&clock, there).await;
                let outcome = transport::send(&http, addr, probe).await;
                let back = back?;
                if faults.partitioned(to, me) {
                    return None;
                }
                pause(&clock, back).await;
                Some(outcome)
            };
            let outcome = match give_up {
                Some(limit) => tokio::time::timeout(limit, exchange).await.ok().flatten(),
                None => exchange.await,
            };
            if let Some(outcome) = outcome {
                done(outcome);
            }
        });
        Some(task.abort_handle())
    }

    /// A call ended: record it if measured, and let a closed-loop caller think.
    fn on_call_finished(&mut self, started: Instant, result: CallResult) {
        let now = self.shared.clock.now();
        if self.in_measure(started) {
            lock(&self.shared.recorder).on_call_end(started, now, result);
            self.open_measured = self.open_measured.saturating_sub(1);
            if let CallResult::Failed(_) = result {
                self.shared.faults.on_call_failed(started);
            }
        }
        if let Arrivals::Closed { think, .. } = &self.inst.arrivals {
            if now < self.shared.measure.end {
                let delay = think.sample_ns(&mut self.inst.calls_rng);
                self.wake_at(now.after(Duration::from_nanos(delay)), Wake::Caller);
            }
        }
    }

    /// The run is over for this instance: measured calls still open fail as
    /// `unfinished`, and every request still out is dropped.
    fn finish(&mut self) {
        let end = self.shared.clock.now().max(self.shared.measure.end);
        {
            let mut rec = lock(&self.shared.recorder);
            for (_, start) in self.inst.stack.open_calls() {
                if self.in_measure(start) {
                    rec.on_call_end(start, end, CallResult::Failed(FailReason::Unfinished));
                }
            }
        }
        for h in self.in_flight.values().chain(self.probes.values()) {
            h.abort();
        }
    }
}

/// Waits a message's one-way delay (nothing for a zero delay: no timer round).
async fn pause(clock: &Clock, ns: u64) {
    super::timer::NETWORK
        .sleep(clock, Duration::from_nanos(ns))
        .await;
}

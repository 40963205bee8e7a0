//! The task that owns the stack and carries out its actions.
//!
//! One driver per [`HasimService`](crate::HasimService): it receives calls and
//! endpoint changes, feeds them to [`Client`] with tokio's `now`, and drains the
//! stack's actions after every input: `SendAttempt` runs `ready().await` then `call` on
//! a clone of the endpoint's service (the attempt's own future, polled here),
//! `CancelAttempt` drops that future, `ArmTimer` goes into a timer map served by one
//! `sleep_until`, `SendProbe` runs the user's probe, `FinishCall` answers the caller.
//!
//! Everything happens in one task, in a fixed order per wake-up (changes, discovery,
//! new calls, finished attempts, finished probes, due timers), so with paused time and
//! a fixed seed a test replays identically.

// Keys are only looked up in the map, never iterated, so its order cannot leak into
// any decision; a `Hash + Eq` key is what `tower::discover` asks of users.
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use hasim_policy::client::{
    Action, AttemptId, AttemptKind, CallId, CallResult, Client, FailReason, ProbeId, Report, Timer,
};
use hasim_policy::time::Instant;
use hasim_policy::{Endpoint, EndpointId, FailureKind, Outcome};
use tokio::sync::mpsc;
use tower::discover::Change;
use tower::{Service, ServiceExt};

use crate::builder::{Classifier, DegradeFn, DiscoverStream, ObserveFn, ProbeFn};
use crate::handle::Control;
use crate::service::CallMsg;
use crate::{BoxRng, Error};

/// What the driver reports to an observer ([`Builder::observe`](crate::Builder::observe)).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a, K> {
    /// An attempt went out to `key`.
    AttemptSent {
        /// The endpoint's key.
        key: &'a K,
        /// Its id in the stack.
        endpoint: EndpointId,
        /// First try, retry or hedge.
        kind: AttemptKind,
    },
    /// The inner service answered an attempt (classified as `outcome`). Attempts the
    /// stack timed out or cancelled do not answer.
    AttemptEnded {
        /// The endpoint's key.
        key: &'a K,
        /// Its id in the stack.
        endpoint: EndpointId,
        /// The classifier's verdict.
        outcome: Outcome,
        /// Time since the attempt was sent.
        latency: Duration,
    },
    /// The stack gave up on an attempt (a hedge that lost, a deadline): its future
    /// was dropped.
    AttemptCancelled {
        /// The endpoint's key.
        key: &'a K,
        /// Its id in the stack.
        endpoint: EndpointId,
    },
    /// A health probe answered (or timed out: `passed = false`).
    ProbeEnded {
        /// The endpoint's key.
        key: &'a K,
        /// Its id in the stack.
        endpoint: EndpointId,
        /// Healthy or not.
        passed: bool,
    },
    /// A call ended and its caller was answered.
    CallFinished {
        /// How it ended (after the fallback).
        result: CallResult,
        /// Time since the call started.
        latency: Duration,
    },
}

/// The user's functions and the few config values the driver needs itself.
pub(crate) struct Hooks<K, S, Rsp, E> {
    pub(crate) classify: Classifier<Rsp, E>,
    pub(crate) probe: Option<ProbeFn<K, S>>,
    pub(crate) degrade: Option<DegradeFn<Rsp, E>>,
    pub(crate) observe: Option<ObserveFn<K>>,
    pub(crate) probe_timeout: Option<Duration>,
    pub(crate) attempt_timeout: Option<Duration>,
}

/// One endpoint id's slot.
struct Slot<K, S> {
    key: K,
    service: S,
    /// Still in the view (false: removed, waiting for its attempts and probes).
    live: bool,
    /// Attempts and probes sent to it and not yet ended here.
    out: u32,
}

/// One call in progress.
struct CallSlot<Req, Rsp, E> {
    id: CallId,
    request: Req,
    reply: tokio::sync::oneshot::Sender<Result<Rsp, Error<E>>>,
    /// The result of the attempt the stack last learned about (the response on
    /// success, the inner error on failure).
    last: Option<Result<Rsp, E>>,
}

/// The call slot for `S`'s responses and errors.
type CallSlotOf<S, Req> = CallSlot<Req, <S as Service<Req>>::Response, <S as Service<Req>>::Error>;

/// An attempt's future's end.
struct AttemptDone<Rsp, E> {
    attempt: AttemptId,
    call: CallId,
    endpoint: EndpointId,
    sent_at: Instant,
    /// `None`: cancelled or timed out here (the stack already knows).
    result: Option<Result<Rsp, E>>,
}

type AttemptFuture<Rsp, E> = Pin<Box<dyn Future<Output = AttemptDone<Rsp, E>> + Send>>;
type ProbeFuture = Pin<Box<dyn Future<Output = (ProbeId, EndpointId, bool)> + Send>>;

/// The driver of one [`HasimService`](crate::HasimService): a future to spawn (done by
/// [`Builder::build`](crate::Builder::build)). It ends when every service clone and
/// handle has been dropped and no call is in progress.
#[must_use = "the driver does nothing unless spawned or polled"]
pub struct Driver<K, S, Req>
where
    S: Service<Req>,
{
    client: Client<BoxRng>,
    clock: crate::clock::Clock,
    hooks: Hooks<K, S, S::Response, S::Error>,
    calls_rx: mpsc::UnboundedReceiver<CallMsg<Req, S::Response, S::Error>>,
    control_rx: mpsc::UnboundedReceiver<Control<K, S>>,
    discover: Option<DiscoverStream<K, S>>,
    calls_open: bool,
    control_open: bool,
    /// Endpoint slots by id.
    slots: Vec<Option<Slot<K, S>>>,
    /// Live keys to their ids (looked up, never iterated).
    #[allow(clippy::disallowed_types)]
    ids: HashMap<K, u32>,
    /// Ids free for reuse, lowest first.
    free: BTreeSet<u32>,
    /// Calls in progress by slot.
    calls: Vec<Option<CallSlotOf<S, Req>>>,
    /// Abort handles of attempts out, by slot.
    aborts: Vec<Option<(AttemptId, AbortHandle)>>,
    attempts: FuturesUnordered<AttemptFuture<S::Response, S::Error>>,
    probes: FuturesUnordered<ProbeFuture>,
    /// Armed timers by (instant, arming order).
    timers: BTreeMap<(Instant, u64), Timer>,
    timer_seq: u64,
    /// The sleep until the earliest timer (made on first use: creating one needs a
    /// runtime, building the driver does not).
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

// The driver never pins its fields in place (its futures and sleep are boxed), so it
// can move freely whatever `K`, `S` and `Req` are.
impl<K, S, Req> Unpin for Driver<K, S, Req> where S: Service<Req> {}

impl<K, S, Req> std::fmt::Debug for Driver<K, S, Req>
where
    S: Service<Req>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("calls_in_progress", &self.client.calls_in_progress())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl<K, S, Req> Driver<K, S, Req>
where
    K: Clone + Eq + Hash + Send + 'static,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
{
    pub(crate) fn new(
        client: Client<BoxRng>,
        clock: crate::clock::Clock,
        hooks: Hooks<K, S, S::Response, S::Error>,
        calls_rx: mpsc::UnboundedReceiver<CallMsg<Req, S::Response, S::Error>>,
        control_rx: mpsc::UnboundedReceiver<Control<K, S>>,
        discover: Option<DiscoverStream<K, S>>,
    ) -> Self {
        let mut driver = Driver {
            client,
            sleep: None,
            clock,
            hooks,
            calls_rx,
            control_rx,
            discover,
            calls_open: true,
            control_open: true,
            slots: Vec::new(),
            ids: Default::default(),
            free: BTreeSet::new(),
            calls: Vec::new(),
            aborts: Vec::new(),
            attempts: FuturesUnordered::new(),
            probes: FuturesUnordered::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
        };
        driver.drain();
        driver
    }

    // ----- the endpoint set -----------------------------------------------------------

    /// Adds (or replaces the service and weight of) `key`.
    pub(crate) fn add(&mut self, key: K, service: S, weight: u32, tier: u32) {
        let now = self.clock.now();
        let weight = weight.max(1);
        if let Some(&id) = self.ids.get(&key) {
            if let Some(slot) = self.slots[id as usize].as_mut() {
                slot.service = service;
            }
            self.client.on_endpoint_changed(now, EndpointId(id), weight);
            return self.drain();
        }
        let id = match self.free.pop_first() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.slots[id as usize] = Some(Slot {
            key: key.clone(),
            service,
            live: true,
            out: 0,
        });
        self.ids.insert(key, id);
        let endpoint = Endpoint {
            id: EndpointId(id),
            weight,
        };
        self.client.on_endpoint_added(now, endpoint, tier);
        self.drain();
    }

    /// Removes `key` from the view; its id is freed once nothing sent to it is out.
    fn remove(&mut self, key: &K) {
        let Some(id) = self.ids.remove(key) else {
            return;
        };
        self.client
            .on_endpoint_removed(self.clock.now(), EndpointId(id));
        if let Some(slot) = self.slots[id as usize].as_mut() {
            slot.live = false;
        }
        self.release_if_idle(id);
        self.drain();
    }

    fn set_weight(&mut self, key: &K, weight: u32) {
        if let Some(&id) = self.ids.get(key) {
            self.client
                .on_endpoint_changed(self.clock.now(), EndpointId(id), weight.max(1));
            self.drain();
        }
    }

    /// Frees `id` for reuse if its endpoint left and nothing sent to it is out.
    fn release_if_idle(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        if slot.as_ref().is_some_and(|s| !s.live && s.out == 0) {
            *slot = None;
            self.free.insert(id);
        }
    }

    fn apply(&mut self, control: Control<K, S>) {
        match control {
            Control::Add {
                key,
                service,
                weight,
                tier,
            } => self.add(key, service, weight, tier),
            Control::Remove(key) => self.remove(&key),
            Control::SetWeight(key, weight) => self.set_weight(&key, weight),
            Control::Inspect(f) => f(&self.client),
        }
    }

    fn apply_change(&mut self, change: Change<K, S>) {
        match change {
            Change::Insert(key, service) => self.add(key, service, 1, 0),
            Change::Remove(key) => self.remove(&key),
        }
    }

    // ----- calls ------------------------------------------------------------------------

    fn start(&mut self, msg: CallMsg<Req, S::Response, S::Error>) {
        let id = self.client.start_call(self.clock.now(), msg.hash_key);
        let slot = id.slot() as usize;
        if self.calls.len() <= slot {
            self.calls.resize_with(slot + 1, || None);
        }
        self.calls[slot] = Some(CallSlot {
            id,
            request: msg.request,
            reply: msg.reply,
            last: None,
        });
        self.drain();
    }

    fn call_mut(&mut self, id: CallId) -> Option<&mut CallSlot<Req, S::Response, S::Error>> {
        self.calls
            .get_mut(id.slot() as usize)?
            .as_mut()
            .filter(|c| c.id == id)
    }

    /// Carries out every action the stack has queued.
    fn drain(&mut self) {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::SendAttempt {
                    call,
                    attempt,
                    endpoint,
                    kind,
                    ..
                } => self.send_attempt(call, attempt, endpoint, kind),
                Action::CancelAttempt {
                    attempt, endpoint, ..
                } => self.cancel_attempt(attempt, endpoint),
                Action::FinishCall {
                    call,
                    started,
                    result,
                } => self.finish(call, started, result),
                Action::SendProbe { probe, endpoint } => self.send_probe(probe, endpoint),
                Action::ArmTimer { at, timer } => {
                    self.timer_seq += 1;
                    self.timers.insert((at, self.timer_seq), timer);
                }
                _ => {}
            }
        }
    }

    fn send_attempt(
        &mut self,
        call: CallId,
        attempt: AttemptId,
        endpoint: EndpointId,
        kind: AttemptKind,
    ) {
        let now = self.clock.now();
        let request = self.call_mut(call).map(|c| c.request.clone());
        let slot = self
            .slots
            .get_mut(endpoint.index())
            .and_then(Option::as_mut);
        let (Some(request), Some(slot)) = (request, slot) else {
            // Cannot happen (the stack sends only to live calls and known endpoints);
            // if it did, a refused connection is the honest report.
            let _ = self.client.on_attempt_outcome(
                now,
                attempt,
                Outcome::Failure(FailureKind::Refused),
            );
            return;
        };
        slot.out += 1;
        if let Some(observe) = &mut self.hooks.observe {
            observe(
                now,
                Event::AttemptSent {
                    key: &slot.key,
                    endpoint,
                    kind,
                },
            );
        }
        let (abort, registration) = AbortHandle::new_pair();
        // `oneshot` awaits the clone's `poll_ready`, then calls it.
        let inner = Abortable::new(slot.service.clone().oneshot(request), registration);
        // The stack times the attempt out itself (its timer reports the timeout); the
        // inner future is dropped at the same instant so a request that never answers
        // does not stay in memory.
        let timeout_at = self
            .hooks
            .attempt_timeout
            .map(|t| self.clock.deadline(now.after(t)));
        let future = async move {
            let result = match timeout_at {
                Some(at) => tokio::time::timeout_at(at, inner).await.ok(),
                None => Some(inner.await),
            };
            AttemptDone {
                attempt,
                call,
                endpoint,
                sent_at: now,
                result: result.and_then(Result::ok),
            }
        };
        self.attempts.push(future.boxed());
        let i = attempt.slot() as usize;
        if self.aborts.len() <= i {
            self.aborts.resize_with(i + 1, || None);
        }
        self.aborts[i] = Some((attempt, abort));
    }

    fn cancel_attempt(&mut self, attempt: AttemptId, endpoint: EndpointId) {
        let i = attempt.slot() as usize;
        if let Some(entry) = self.aborts.get_mut(i) {
            if entry.as_ref().is_some_and(|(a, _)| *a == attempt) {
                if let Some((_, abort)) = entry.take() {
                    abort.abort();
                }
            }
        }
        if let (Some(observe), Some(Some(slot))) =
            (&mut self.hooks.observe, self.slots.get(endpoint.index()))
        {
            observe(
                self.clock.now(),
                Event::AttemptCancelled {
                    key: &slot.key,
                    endpoint,
                },
            );
        }
    }

    fn attempt_done(&mut self, done: AttemptDone<S::Response, S::Error>) {
        let now = self.clock.now();
        let i = done.attempt.slot() as usize;
        if let Some(entry) = self.aborts.get_mut(i) {
            if entry.as_ref().is_some_and(|(a, _)| *a == done.attempt) {
                *entry = None;
            }
        }
        let id = done.endpoint.0;
        let key = match self.slots.get_mut(id as usize).and_then(Option::as_mut) {
            Some(slot) => {
                slot.out = slot.out.saturating_sub(1);
                Some(slot.key.clone())
            }
            None => None,
        };
        if let Some(result) = done.result {
            let outcome = (self.hooks.classify)(&result);
            if let (Some(observe), Some(key)) = (&mut self.hooks.observe, &key) {
                observe(
                    now,
                    Event::AttemptEnded {
                        key,
                        endpoint: done.endpoint,
                        outcome,
                        latency: now.since(done.sent_at),
                    },
                );
            }
            if self.client.on_attempt_outcome(now, done.attempt, outcome) == Report::Taken {
                if let Some(call) = self.call_mut(done.call) {
                    call.last = Some(result);
                }
            }
            self.drain();
        }
        self.release_if_idle(id);
    }

    fn finish(&mut self, call: CallId, started: Instant, result: CallResult) {
        let now = self.clock.now();
        if let Some(observe) = &mut self.hooks.observe {
            observe(
                now,
                Event::CallFinished {
                    result,
                    latency: now.since(started),
                },
            );
        }
        let Some(slot) = self
            .calls
            .get_mut(call.slot() as usize)
            .and_then(|c| c.take_if(|c| c.id == call))
        else {
            return;
        };
        let answer = match (result, slot.last) {
            (CallResult::Ok, Some(Ok(response))) => Ok(response),
            (CallResult::Ok, Some(Err(e))) => Err(Error::Inner(e)),
            (CallResult::Degraded, last) => {
                let source = last.and_then(Result::err);
                match &self.hooks.degrade {
                    Some(f) => f(source),
                    None => Err(Error::Degraded),
                }
            }
            (CallResult::Failed(reason), last) => Err(Error::Failed {
                reason,
                source: last.and_then(Result::err),
            }),
            // The stack finishes a call Ok only after a success it was told about.
            (CallResult::Ok, None) => Err(Error::Failed {
                reason: FailReason::Unfinished,
                source: None,
            }),
        };
        let _ = slot.reply.send(answer);
    }

    // ----- probes -----------------------------------------------------------------------

    fn send_probe(&mut self, probe: ProbeId, endpoint: EndpointId) {
        let (Some(f), Some(Some(slot))) = (
            self.hooks.probe.as_ref(),
            self.slots.get_mut(endpoint.index()),
        ) else {
            let _ = self.client.on_probe_result(self.clock.now(), probe, false);
            return;
        };
        slot.out += 1;
        let check = f(&slot.key, slot.service.clone());
        let limit = self
            .hooks
            .probe_timeout
            .map(|t| self.clock.deadline(self.clock.now().after(t)));
        self.probes.push(
            async move {
                let passed = match limit {
                    Some(at) => tokio::time::timeout_at(at, check).await.unwrap_or(false),
                    None => check.await,
                };
                (probe, endpoint, passed)
            }
            .boxed(),
        );
    }

    fn probe_done(&mut self, probe: ProbeId, endpoint: EndpointId, passed: bool) {
        let now = self.clock.now();
        if let Some(slot) = self
            .slots
            .get_mut(endpoint.index())
            .and_then(Option::as_mut)
        {
            slot.out = slot.out.saturating_sub(1);
            if let Some(observe) = &mut self.hooks.observe {
                observe(
                    now,
                    Event::ProbeEnded {
                        key: &slot.key,
                        endpoint,
                        passed,
                    },
                );
            }
        }
        let _ = self.client.on_probe_result(now, probe, passed);
        self.drain();
        self.release_if_idle(endpoint.0);
    }

    // ----- timers -----------------------------------------------------------------------

    /// Fires every timer due now; true if any fired.
    fn fire_due(&mut self) -> bool {
        let now = self.clock.now();
        let mut fired = false;
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            self.client.on_timer(now, timer);
            self.drain();
            fired = true;
        }
        fired
    }
}

impl<K, S, Req> Future for Driver<K, S, Req>
where
    K: Clone + Eq + Hash + Send + 'static,
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    Req: Clone + Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            let mut busy = false;
            while this.control_open {
                match this.control_rx.poll_recv(cx) {
                    Poll::Ready(Some(control)) => {
                        this.apply(control);
                        busy = true;
                    }
                    Poll::Ready(None) => this.control_open = false,
                    Poll::Pending => break,
                }
            }
            while let Some(discover) = this.discover.as_mut() {
                match discover.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(change))) => {
                        this.apply_change(change);
                        busy = true;
                    }
                    Poll::Ready(_) => this.discover = None,
                    Poll::Pending => break,
                }
            }
            while this.calls_open {
                match this.calls_rx.poll_recv(cx) {
                    Poll::Ready(Some(msg)) => {
                        this.start(msg);
                        busy = true;
                    }
                    Poll::Ready(None) => this.calls_open = false,
                    Poll::Pending => break,
                }
            }
            while let Poll::Ready(Some(done)) = this.attempts.poll_next_unpin(cx) {
                this.attempt_done(done);
                busy = true;
            }
            while let Poll::Ready(Some((probe, endpoint, passed))) = this.probes.poll_next_unpin(cx)
            {
                this.probe_done(probe, endpoint, passed);
                busy = true;
            }
            busy |= this.fire_due();
            if busy {
                continue;
            }
            if let Some(&(at, _)) = this.timers.keys().next() {
                let deadline = this.clock.deadline(at);
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    continue;
                }
            }
            if !this.calls_open && !this.control_open && this.client.calls_in_progress() == 0 {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
    }
}

//! The whole client policy stack of one client instance, as one sans-IO state machine.
//!
//! [`Client`] owns one instance's balancer, retrier (with its budget or throttle),
//! call or endpoint breakers, hedger, health checker, outlier detector and limiter,
//! and combines them the way a production client does: which endpoints are eligible,
//! panic mode, failover over tiers, and the order limiter -> breaker -> pick ->
//! attempt -> retry or hedge. The simulator drives it, `hasim-tower` drives it behind
//! a `tower::Service`, and `hasim live` drives it over real sockets: the same code
//! decides in all three.
//!
//! It is shaped like quinn-proto's `Connection`: inputs are method calls that take
//! `now`; outputs are [`Action`]s the driver drains with [`Client::poll_action`] (send
//! this attempt, send this probe, arm this timer, finish this call). Calls, attempts
//! and probes are identified by tickets ([`CallId`], [`AttemptId`], [`ProbeId`]): an
//! outcome reported twice, late, or after its call ended is recognised and ignored.
//!
//! # Call order
//!
//! ```text
//! let mut client = Client::try_new(&config, now, rng)?;    // validates the config
//! client.reserve_endpoints(view.len());                   // optional: a large view
//! client.on_endpoint_added(now, endpoint, tier);          // the discovery view
//! let call = client.start_call(now, hash_key);            // the application asks
//! while let Some(action) = client.poll_action() { ... }   // after EVERY input
//! client.on_attempt_outcome(later, attempt, outcome);     // an answer (or an error)
//! client.on_timer(at_or_after, timer);                    // a timer it armed fired
//! client.on_probe_result(later, probe, passed);           // a health probe's answer
//! client.on_endpoint_removed(later, id);                  // discovery forgot it
//! ```
//!
//! `now` should never go backwards; if it does (a driver mixing clocks), the stack
//! uses the latest `now` it has seen instead, so nothing panics and no state moves
//! back in time.
//!
//! # Cost per call
//!
//! The eligible set is kept up to date when something changes (a breaker opens or its
//! open window ends, an ejection starts or ends, a health state flips, an endpoint
//! joins or leaves), never rebuilt per pick; breakers say when time alone can next
//! change them, and the stack catches up with those instants on the next input. So a
//! first attempt adds no per-endpoint work in the stack: the balancer gets a slice,
//! and what a pick costs is the balancer's own (O(1) for `random`, `round_robin` and
//! `p2c`; a scan for `least_connections`; see each balancer's docs). A retry that must
//! avoid endpoints its call already tried (`other_endpoint`) finds them in the sorted
//! list (a binary search each); `random`, `round_robin`, `p2c` and `peak_ewma` then
//! pick around them in place, the other kinds from a list without them (a `memmove`
//! out and back). A change to the eligible set costs a binary search and a `memmove`.
//!
//! A call arms its deadline timer only when no attempt timeout is due before it (see
//! `Call::deadline_due`): a call answered before its first attempt timeout arms one
//! timer, not two, and the deadline still fires at its instant whenever the call is
//! still open then.
//!
//! At fleet scale what a call costs is mostly the cache lines it touches, since the
//! per-endpoint state of many instances does not fit in a core's cache. A send and
//! the outcome of a CLOSED breaker touch one line of the endpoint's state (see
//! `EndpointState`); with `p2c` the stack keeps the in-flight counts there too, so a
//! pick reads the first line of each candidate and nothing else per candidate when
//! the eligible list is a whole range of ids.
//!
//! # Example
//!
//! ```
//! use hasim_policy::client::{Action, CallResult, Client, ClientConfig};
//! use hasim_policy::time::Instant;
//! use hasim_policy::{Endpoint, EndpointId, Outcome};
//! use rand::rngs::mock::StepRng;
//!
//! let mut client = Client::try_new(&ClientConfig::default(), Instant::ZERO, StepRng::new(0, 1))?;
//! client.on_endpoint_added(Instant::ZERO, Endpoint { id: EndpointId(0), weight: 1 }, 0);
//! let call = client.start_call(Instant::ZERO, 0);
//! let Some(Action::SendAttempt { attempt, endpoint, .. }) = client.poll_action() else {
//!     unreachable!("one endpoint, no limits: the attempt goes out")
//! };
//! assert_eq!(endpoint, EndpointId(0));
//! client.on_attempt_outcome(Instant::from_nanos(1_000), attempt, Outcome::Success);
//! assert!(matches!(
//!     client.poll_action(),
//!     Some(Action::FinishCall { call: c, result: CallResult::Ok, .. }) if c == call
//! ));
//! # Ok::<(), hasim_policy::ConfigError>(())
//! ```

mod action;
mod config;
mod eligible;
mod ids;
mod outcome;
#[cfg(test)]
mod tests;

pub use action::{Action, AttemptKind, Timer};
pub use config::{ClientConfig, Fallback, DEFAULT_PANIC_THRESHOLD};
pub use ids::{AttemptId, CallId, ProbeId};
pub use outcome::{CallResult, FailReason};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use rand::Rng;
use smallvec::SmallVec;

use action::TimerKind;
use eligible::EligibleSet;
use ids::Slab;

use crate::balancer::{Balancer, PickRequest, Setup};
use crate::breaker::{Admit, Breaker, Rules, Scope};
use crate::failover::{
    overprovisioning_percent, panic_percent, pick_tier, priority_loads, tier_loads, FailoverMode,
    PriorityHosts, PriorityLoads, TierHealth,
};
use crate::health::{HealthChange, HealthChecker};
use crate::hedge::Hedger;
use crate::limiter::{LimitDecision, Limiter};
use crate::outlier::{OutlierDetector, OutlierEvent};
use crate::retry::{AttemptInfo, HedgeDecision, Retrier, RetryDecision};
use crate::time::Instant;
use crate::{ConfigError, Endpoint, EndpointId, FailureKind, Outcome};

/// Whether an outcome was taken or ignored.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// The stack was waiting for it and has acted on it.
    Taken,
    /// Its attempt or probe had already ended (answered, timed out, or abandoned when
    /// its call ended); nothing changed.
    Stale,
}

/// What the stack keeps about one endpoint id.
///
/// At fleet scale (100 instances x 1,000 endpoints: 100,000 of these) the state of the
/// endpoint a call picked is rarely in cache, so its layout is fixed (`repr(C)`,
/// aligned to a cache line): the first line holds everything an attempt's send and a
/// CLOSED breaker's outcome read or write (the flags, then the breaker's hot part, see
/// [`Breaker`]), and the second what only changes of eligibility, breaker wake-ups
/// and HALF_OPEN use. One line fill per touch, not two; 128 bytes in all.
#[derive(Clone, Debug, Default)]
#[repr(C, align(64))]
struct EndpointState {
    /// In the discovery view now.
    known: bool,
    /// In the eligible set now.
    eligible: bool,
    /// Ejected by outlier detection now: a copy of the detector's answer, kept here so
    /// that re-evaluating an endpoint after an attempt (every call) reads no outlier
    /// host, which at fleet scale is one cache miss more per call.
    ejected: bool,
    /// A health-probe chain runs for it (one chain per endpoint, even if it leaves and
    /// comes back between two ticks).
    probing: bool,
    /// Attempts sent to it and not yet answered or cancelled, when the balancer is
    /// `p2c` (which then reads its loads here instead of keeping its own counts: two
    /// cache lines fewer per call). Kept when it leaves the view, like the balancer's
    /// own counts, since those attempts still report.
    in_flight: u32,
    /// Its breaker (`scope = "endpoint"`), while known: its hot part ends the first
    /// cache line.
    breaker: Option<Breaker>,
    /// Its tier (valid while known).
    tier: u32,
    /// Its weight (valid while known).
    weight: u32,
    /// The instant of its pending breaker wake-up in `wakes`, if any.
    wake_at: Option<Instant>,
}

/// Schedules a wake-up of `id`'s breaker at `next` (when time alone can next change
/// it), unless that one is already pending.
///
/// Out of line and cold on purpose: only OPEN, HALF_OPEN and Hystrix breakers have
/// such an instant, and when this was inlined into `refresh` the compiler read
/// `wake_at` (in the second cache line of the endpoint's state) on every refresh,
/// one cache miss more per send and per outcome at fleet scale.
#[cold]
#[inline(never)]
fn schedule_wake(
    wake_at: &mut Option<Instant>,
    wakes: &mut BinaryHeap<Reverse<(Instant, u32)>>,
    id: EndpointId,
    next: Instant,
) {
    if *wake_at != Some(next) {
        *wake_at = Some(next);
        wakes.push(Reverse((next, id.0)));
    }
}

/// One call in progress, 88 bytes: a slab slot of 96, where the plain layout took 128
/// and a slot 136 (two or three cache lines, depending on where a slot starts, instead
/// of three or four). Every call writes its whole slot when it starts and reads most
/// of it when it ends, so its size is cache lines touched per call: hence the packed
/// fields below.
#[derive(Clone, Debug)]
struct Call {
    start: Instant,
    hash_key: u64,
    /// The deadline, meaningful only when `has_deadline` (an `Option<Instant>` takes
    /// 16 bytes; `Instant::MAX` cannot stand for "none", since a huge deadline
    /// saturates to it).
    deadline_at: Instant,
    /// The previous backoff in nanoseconds (decorrelated jitter grows it), 0 for none:
    /// a zero backoff retries at once and is never stored, and backoffs are far
    /// below the 584 years a `u64` of nanoseconds holds.
    previous_delay_ns: u64,
    /// Endpoints already tried, kept only when a retry reads them (`other_endpoint`);
    /// inline up to four, so starting, answering and finishing a call touch no list
    /// on the heap.
    tried: SmallVec<[EndpointId; 4]>,
    /// Attempts out and awaited.
    pending: SmallVec<[AttemptId; 2]>,
    /// Attempts sent so far, hedges not included (at most `retry::MAX_ATTEMPTS`).
    attempts_made: u16,
    /// Hedged copies sent so far (at most `hedge::MAX_EXTRA`).
    hedges: u16,
    /// The client-scope breaker admitted it and awaits its outcome.
    breaker_admitted: bool,
    has_deadline: bool,
    /// Its deadline timer is armed (see [`Call::deadline_due`]).
    deadline_armed: bool,
}

impl Call {
    fn deadline(&self) -> Option<Instant> {
        self.has_deadline.then_some(self.deadline_at)
    }

    /// The deadline, if its timer is to be armed now: the call has one, not armed
    /// yet, and the attempt just sent has no timeout due before it (`timeout_at`,
    /// `None` for no timeout). Marks it armed.
    ///
    /// Why lazily: nearly every call ends long before its deadline, and then its timer
    /// is dead weight the driver must store and later pop or discard (with a 100 ms
    /// attempt timeout and a 300 ms deadline, one event in seven of a fleet's was such
    /// a timer: `benches/README.md`, "Dead timers"). Armed lazily, the deadline fires
    /// at the same instant whenever the call is open then: while an attempt is out, its
    /// timeout fires before the deadline (or the deadline was armed when it was sent);
    /// between attempts, the retrier only waits for a backoff that ends before the
    /// deadline, and the retry or hedge sent then asks again. The one difference is the
    /// order among timers and events due at the very same nanosecond: the deadline is
    /// armed later, after events scheduled since the call started.
    fn deadline_due(&mut self, timeout_at: Option<Instant>) -> Option<Instant> {
        let due = self.has_deadline
            && !self.deadline_armed
            && timeout_at.is_none_or(|t| t >= self.deadline_at);
        self.deadline_armed |= due;
        due.then_some(self.deadline_at)
    }

    fn previous_delay(&self) -> Option<std::time::Duration> {
        (self.previous_delay_ns > 0)
            .then(|| std::time::Duration::from_nanos(self.previous_delay_ns))
    }
}

/// One attempt in flight.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    call: CallId,
    endpoint: EndpointId,
    sent_at: Instant,
}

/// One health probe in flight.
#[derive(Clone, Copy, Debug)]
struct Probe {
    endpoint: EndpointId,
}

/// One client instance's whole policy stack. See the module docs for the call order.
///
/// `R` is the instance's random generator (seed it for reproducible runs): balancer
/// picks, backoff jitter, tier choice and probe jitter draw from it, in a fixed order.
#[derive(Clone, Debug)]
pub struct Client<R> {
    config: ClientConfig,
    rng: R,
    balancer: Balancer,
    /// The balancer is `p2c`, whose only per-endpoint state is the in-flight counts:
    /// the stack keeps them in `EndpointState::in_flight` instead, and never calls the
    /// balancer's `on_send`, `on_complete` or `on_cancel`.
    loads_here: bool,
    retrier: Retrier,
    call_breaker: Option<Breaker>,
    /// The rules of per-endpoint breakers, if any (each new endpoint gets a breaker
    /// sharing them).
    endpoint_breaker: Option<Arc<Rules>>,
    hedger: Option<Hedger>,
    health: Option<HealthChecker>,
    outlier: Option<OutlierDetector>,
    limiter: Option<Limiter>,
    endpoints: Vec<EndpointState>,
    set: EligibleSet,
    /// Breaker wake-ups: (instant, endpoint id), earliest first.
    wakes: BinaryHeap<Reverse<(Instant, u32)>>,
    calls: Slab<Call>,
    attempts: Slab<Attempt>,
    probes: Slab<Probe>,
    actions: VecDeque<Action>,
    /// Scratch space reused across picks and ticks (no allocation per call).
    scratch: Vec<Endpoint>,
    scratch_ids: Vec<EndpointId>,
    /// Positions in the pick's list of the endpoints a retry avoids, ascending.
    skip: Vec<usize>,
    tier_health: Vec<TierHealth>,
    tier_loads: Vec<f64>,
    /// Scratch of the Envoy priority computation (per-tier panic), reused per pick.
    priority_hosts: Vec<PriorityHosts>,
    priority_state: PriorityLoads,
    /// The view is in panic with fewer eligible endpoints than this:
    /// `ceil(panic_threshold x known)`, kept up to date as endpoints join and leave.
    /// For a whole number of eligible endpoints `e`, `e < ceil(x)` exactly when
    /// `e < x`, so this is the threshold's own comparison without two conversions
    /// and a multiplication per pick.
    panic_below: usize,
    last_now: Instant,
}

impl<R: Rng> Client<R> {
    /// A client with no endpoints yet, after checking every parameter of `config`
    /// (the error names the policy and the key). `rng` is the instance's own stream.
    pub fn try_new(config: &ClientConfig, now: Instant, mut rng: R) -> Result<Self, ConfigError> {
        config.validate()?;
        let setup = Setup {
            attempt_timeout: config.timeout,
        };
        let balancer = Balancer::new(&config.balancer, &setup, &mut rng);
        let (call_breaker, endpoint_breaker) = match &config.breaker {
            Some(b) if b.scope == Scope::Endpoint => (None, Some(Arc::new(b.resolved()))),
            Some(b) => (Some(Breaker::new(b)), None),
            None => (None, None),
        };
        let outlier = config
            .outlier
            .as_ref()
            .map(|o| OutlierDetector::new(o, now));
        let mut client = Client {
            rng,
            loads_here: matches!(balancer, Balancer::P2c(_)),
            balancer,
            retrier: Retrier::new(&config.retry),
            call_breaker,
            endpoint_breaker,
            hedger: config.hedge.as_ref().map(Hedger::new),
            health: config.health_check.as_ref().map(HealthChecker::new),
            limiter: config.limiter.as_ref().map(|l| Limiter::new(l, now)),
            outlier,
            config: config.clone(),
            endpoints: Vec::new(),
            set: EligibleSet::default(),
            wakes: BinaryHeap::new(),
            calls: Slab::default(),
            attempts: Slab::default(),
            probes: Slab::default(),
            actions: VecDeque::new(),
            scratch: Vec::new(),
            scratch_ids: Vec::new(),
            skip: Vec::new(),
            tier_health: Vec::new(),
            tier_loads: Vec::new(),
            priority_hosts: Vec::new(),
            priority_state: PriorityLoads::default(),
            panic_below: 0,
            last_now: now,
        };
        if let Some(at) = client.outlier.as_ref().and_then(|o| o.next_deadline()) {
            client.arm(at, TimerKind::OutlierTick);
        }
        Ok(client)
    }

    /// The next decision to carry out, in order; `None` when there is nothing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ----- inputs: the discovery view -------------------------------------------------

    /// `endpoint` joined the view in failover tier `tier` (0 = primary). With health
    /// checks it is not eligible until its first probe passes (Envoy), and its first
    /// probe goes out at once.
    pub fn on_endpoint_added(&mut self, now: Instant, endpoint: Endpoint, tier: u32) {
        let now = self.advance(now);
        let i = endpoint.id.index();
        if self.endpoints.len() <= i {
            self.endpoints.resize_with(i + 1, EndpointState::default);
        }
        if self.endpoints[i].known {
            return self.on_endpoint_changed(now, endpoint.id, endpoint.weight);
        }
        let state = &mut self.endpoints[i];
        state.known = true;
        state.tier = tier;
        state.weight = endpoint.weight;
        state.breaker = self
            .endpoint_breaker
            .as_ref()
            .map(|rules| Breaker::with_rules(Arc::clone(rules)));
        let eligible = self.health.is_none();
        state.eligible = eligible;
        self.set.add(endpoint, tier, eligible);
        if self.health.is_some() && !state.probing {
            state.probing = true;
            self.arm(now, TimerKind::ProbeTick(endpoint.id));
        }
        self.panic_below = self.panic_bound();
    }

    /// Room for `additional` more endpoints, as [`Vec::reserve`]: a caller about to
    /// add a large view one endpoint at a time calls it first, so the per-endpoint
    /// states are allocated once instead of being copied each time they double
    /// (at 1,000 endpoints, about 128 KB copied per client, and the cache lines those
    /// copies write). It changes no decision.
    pub fn reserve_endpoints(&mut self, additional: usize) {
        self.endpoints.reserve(additional);
        self.set.known.reserve(additional);
    }

    /// `id` left the view: everything the stack knew of it is dropped (its breaker,
    /// health and ejection state), so if it comes back it is a new endpoint. Attempts
    /// already sent to it still report their outcomes.
    pub fn on_endpoint_removed(&mut self, now: Instant, id: EndpointId) {
        self.advance(now);
        let Some(state) = self.endpoints.get_mut(id.index()).filter(|s| s.known) else {
            return;
        };
        state.known = false;
        state.eligible = false;
        state.ejected = false;
        state.breaker = None;
        state.wake_at = None;
        self.set.remove(id, state.tier);
        self.panic_below = self.panic_bound();
        if let Some(h) = &mut self.health {
            h.forget(id);
        }
        if let Some(o) = &mut self.outlier {
            o.forget(id);
        }
    }

    /// `id`'s balancing weight changed (a no-op for endpoints not in the view).
    pub fn on_endpoint_changed(&mut self, now: Instant, id: EndpointId, weight: u32) {
        self.advance(now);
        if let Some(state) = self.endpoints.get_mut(id.index()).filter(|s| s.known) {
            state.weight = weight;
            self.set.set_weight(id, state.tier, weight);
        }
    }

    // ----- inputs: calls and attempts -------------------------------------------------

    /// The application asks for a call. `hash_key` is the request's key for hashing
    /// balancers (ignored by the others). The limiter (a rate limit on calls) and a
    /// client-scope breaker decide first, then the first attempt goes out, or the call
    /// fails at once (its `FinishCall` is among the actions).
    pub fn start_call(&mut self, now: Instant, hash_key: u64) -> CallId {
        let now = self.advance(now);
        let deadline = self.config.deadline.map(|d| now.after(d));
        self.retrier.on_call_start(now);
        let rate_limited = match self.limiter.as_mut() {
            Some(l) if l.limits_calls() => l.admit(now) == LimitDecision::Reject,
            _ => false,
        };
        let admitted = match self.call_breaker.as_mut() {
            Some(_) if rate_limited => None,
            None => None,
            Some(b) => Some(matches!(b.admit(now), Admit::Allow | Admit::Probe)),
        };
        let call = CallId(self.calls.insert(Call {
            start: now,
            hash_key,
            deadline_at: deadline.unwrap_or(Instant::ZERO),
            previous_delay_ns: 0,
            tried: SmallVec::new(),
            pending: SmallVec::new(),
            attempts_made: 0,
            hedges: 0,
            breaker_admitted: admitted == Some(true),
            has_deadline: deadline.is_some(),
            deadline_armed: false,
        }));
        if rate_limited {
            self.finish_call(now, call, CallResult::Failed(FailReason::Rejected));
        } else if admitted == Some(false) {
            self.finish_call(now, call, CallResult::Failed(FailReason::BreakerOpen));
        } else {
            if self.send_primary(now, call, AttemptKind::First) {
                if let Some(delay) = self.hedger.as_ref().and_then(|h| h.hedge_delay()) {
                    self.arm(now.after(delay), TimerKind::Hedge(call));
                }
            }
        }
        call
    }

    /// An attempt ended with `outcome` (an answer, an error, a refused connection; the
    /// stack produces timeouts itself). Every per-attempt policy learns it, then the
    /// call finishes, waits for its other attempts, or retries.
    pub fn on_attempt_outcome(
        &mut self,
        now: Instant,
        attempt: AttemptId,
        outcome: Outcome,
    ) -> Report {
        let now = self.advance(now);
        let Some(a) = self.attempts.remove(attempt.0) else {
            return Report::Stale;
        };
        // Its call's slot is read last, after every policy has learnt the outcome:
        // fetch it now so that miss overlaps their work (see `crate::prefetch`).
        self.calls.prefetch(a.call.0);
        let ep = a.endpoint;
        let latency = now.since(a.sent_at);
        if self.loads_here {
            self.load_done(ep);
        } else {
            self.balancer.on_complete(now, ep, outcome, latency);
        }
        self.retrier.on_attempt_outcome(now, outcome);
        if let (Some(h), Outcome::Success) = (&mut self.hedger, outcome) {
            h.on_latency(now, latency);
        }
        if let Some(o) = &mut self.outlier {
            // Envoy's `enforcing_*` percents draw from the stream only when strictly
            // between 0 and 100 (the defaults are 0 or 100: no draw).
            let known = self.set.known.len();
            if let Some(ejection) = o.on_outcome_with_rng(now, ep, outcome, known, &mut self.rng) {
                self.on_ejection_change(now, ejection.endpoint);
            }
        }
        if let Some(b) = self.breaker_mut(ep) {
            b.on_outcome(now, outcome, latency);
            self.refresh(now, ep);
        }
        if let Some(l) = &mut self.limiter {
            l.on_complete(now, outcome, latency);
        }
        let Some(call) = self.calls.get_mut(a.call.0) else {
            return Report::Taken;
        };
        match call.pending[..] {
            // The usual case, one attempt out: no `retain` loop.
            [only] if only == attempt => call.pending.clear(),
            _ => call.pending.retain(|p| *p != attempt),
        }
        match outcome {
            Outcome::Success => self.finish_call(now, a.call, CallResult::Ok),
            Outcome::Failure(kind) if call.pending.is_empty() => {
                self.after_failure(now, a.call, kind)
            }
            Outcome::Failure(_) => {} // other attempts of the call are still out
        }
        Report::Taken
    }

    /// A health probe's answer (`passed`: the endpoint answered healthy).
    pub fn on_probe_result(&mut self, now: Instant, probe: ProbeId, passed: bool) -> Report {
        let now = self.advance(now);
        let Some(p) = self.probes.remove(probe.0) else {
            return Report::Stale;
        };
        if !self.knows(p.endpoint) {
            return Report::Taken; // it left the view while the probe was out
        }
        if let Some(h) = &mut self.health {
            if h.on_probe_result(now, p.endpoint, passed) != HealthChange::Unchanged {
                self.refresh(now, p.endpoint);
            }
        }
        Report::Taken
    }

    /// A timer armed by an [`Action::ArmTimer`] fired (at or after its instant).
    pub fn on_timer(&mut self, now: Instant, timer: Timer) {
        let now = self.advance(now);
        match timer.0 {
            TimerKind::AttemptTimeout(attempt) => {
                let _ =
                    self.on_attempt_outcome(now, attempt, Outcome::Failure(FailureKind::Timeout));
            }
            TimerKind::Retry(call) => {
                if self.calls.get(call.0).is_some() {
                    self.send_primary(now, call, AttemptKind::Retry);
                }
            }
            TimerKind::Deadline(call) => {
                if self.calls.get(call.0).is_some() {
                    self.finish_call(now, call, CallResult::Failed(FailReason::Timeout));
                }
            }
            TimerKind::Hedge(call) => self.on_hedge_timer(now, call),
            TimerKind::ProbeTick(ep) => self.on_probe_tick(now, ep),
            TimerKind::ProbeTimeout(probe) => {
                let _ = self.on_probe_result(now, probe, false);
            }
            TimerKind::OutlierTick => self.on_outlier_tick(now),
        }
    }

    // ----- inspection -----------------------------------------------------------------

    /// Every endpoint in the view, sorted by id.
    pub fn known(&self) -> &[Endpoint] {
        &self.set.known
    }

    /// True if `id` is in the view.
    pub fn knows(&self, id: EndpointId) -> bool {
        self.endpoints.get(id.index()).is_some_and(|s| s.known)
    }

    /// True if `id` may be picked now (known, healthy, not ejected, its breaker
    /// admits), as of the last input.
    pub fn is_eligible(&self, id: EndpointId) -> bool {
        self.endpoints.get(id.index()).is_some_and(|s| s.eligible)
    }

    /// How many endpoints are eligible now, as of the last input.
    pub fn eligible_count(&self) -> usize {
        self.set.eligible_count
    }

    /// True if so few endpoints are eligible that picks ignore health, ejection and
    /// breakers (panic mode: fewer than `panic_threshold` of the known ones). With
    /// `priority` failover over several tiers, picks decide panic per tier (see
    /// `choose_tier`); this whole-view answer is then only a summary.
    pub fn is_panicking(&self) -> bool {
        let panics = self.set.eligible_count < self.panic_below;
        debug_assert_eq!(
            panics,
            (self.set.eligible_count as f64)
                < self.config.panic_threshold * self.set.known.len() as f64
        );
        panics
    }

    /// The client-scope breaker, if any.
    pub fn call_breaker(&self) -> Option<&Breaker> {
        self.call_breaker.as_ref()
    }

    /// The breaker of endpoint `id` (`scope = "endpoint"`), while it is known.
    pub fn endpoint_breaker(&self, id: EndpointId) -> Option<&Breaker> {
        self.endpoints.get(id.index())?.breaker.as_ref()
    }

    /// The outlier detector, if any (ejections, for reports).
    pub fn outlier(&self) -> Option<&OutlierDetector> {
        self.outlier.as_ref()
    }

    /// The health checker, if any.
    pub fn health(&self) -> Option<&HealthChecker> {
        self.health.as_ref()
    }

    /// The limiter, if any (its current cap, for reports).
    pub fn limiter(&self) -> Option<&Limiter> {
        self.limiter.as_ref()
    }

    /// Calls in progress (started, not finished).
    pub fn calls_in_progress(&self) -> usize {
        self.calls.len()
    }

    /// Attempts sent and still awaited.
    pub fn attempts_in_flight(&self) -> usize {
        self.attempts.len()
    }

    /// A hint, for a driver that knows `attempt` (sent to `endpoint`) will report
    /// next: starts fetching what [`Client::on_attempt_outcome`] will read (the
    /// attempt's ticket slot, the endpoint's state with its breaker, its outlier
    /// host), so the cache misses overlap each other and the driver's own work
    /// instead of following one another. It changes nothing else; a wrong guess
    /// costs only the fetch. At fleet scale (100 instances x 1,000 endpoints) these
    /// lines are rarely in cache; see [`crate::prefetch`].
    #[inline]
    pub fn prefetch_outcome(&self, attempt: AttemptId, endpoint: EndpointId) {
        self.attempts.prefetch(attempt.0);
        if let Some(state) = self.endpoints.get(endpoint.index()) {
            crate::prefetch::prefetch(state, 1);
        }
        if let Some(outlier) = &self.outlier {
            outlier.prefetch_host(endpoint);
        }
    }

    /// A hint, for a driver that knows this instance will draw soon (a call starts
    /// within the next events): starts fetching the instance's random stream, which
    /// at fleet scale has left the cache since its last draw. See
    /// [`Client::prefetch_start_call`].
    #[inline]
    pub fn prefetch_stream(&self) {
        crate::prefetch::prefetch(&self.rng, 8);
    }

    /// A hint, for a driver that knows `timer` fires next: starts fetching the ticket
    /// slot [`Client::on_timer`] will check first (most attempt timeouts and
    /// deadlines find their attempt or call already ended). Changes nothing else.
    #[inline]
    pub fn prefetch_timer(&self, timer: Timer) {
        match timer.0 {
            TimerKind::AttemptTimeout(attempt) => self.attempts.prefetch(attempt.0),
            TimerKind::Retry(call) | TimerKind::Hedge(call) | TimerKind::Deadline(call) => {
                self.calls.prefetch(call.0)
            }
            TimerKind::ProbeTimeout(probe) => self.probes.prefetch(probe.0),
            TimerKind::ProbeTick(_) | TimerKind::OutlierTick => {}
        }
    }

    /// False if `timer` can no longer do anything because the call, attempt or probe
    /// it was armed for has ended, so a driver may drop it instead of keeping it until
    /// its instant (a driver with millions of long timeouts should). Firing a timer
    /// this calls dead is a no-op; true means only that it may still matter.
    pub fn is_timer_live(&self, timer: Timer) -> bool {
        match timer.0 {
            TimerKind::AttemptTimeout(attempt) => self.attempts.get(attempt.0).is_some(),
            TimerKind::Retry(call) | TimerKind::Hedge(call) | TimerKind::Deadline(call) => {
                self.calls.get(call.0).is_some()
            }
            TimerKind::ProbeTimeout(probe) => self.probes.get(probe.0).is_some(),
            TimerKind::ProbeTick(_) | TimerKind::OutlierTick => true,
        }
    }

    /// Bytes its calls, attempts and probes hold (slots kept for reuse included):
    /// the part of the stack that grows with the load, for drivers that keep a
    /// memory budget. The per-endpoint state is fixed by the endpoint count.
    pub fn bytes_in_flight(&self) -> usize {
        use std::mem::size_of;
        // A call's lists are inline (a call that spills them is rare and short-lived).
        self.calls.slots_held() * size_of::<(u32, Option<Call>)>()
            + self.attempts.slots_held() * size_of::<(u32, Option<Attempt>)>()
            + self.probes.slots_held() * size_of::<(u32, Option<Probe>)>()
    }

    /// The configuration it runs.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Calls in progress, with their start times (in slot order), for drivers that
    /// stop waiting (the simulator's drain end counts them as unfinished).
    pub fn open_calls(&self) -> impl Iterator<Item = (CallId, Instant)> + '_ {
        self.calls.iter().map(|(t, c)| (CallId(t), c.start))
    }

    // ----- the call lifecycle ---------------------------------------------------------

    /// Sends the first attempt or a retry of `call`; if none can go out, the call ends
    /// with the reason. True if the attempt went out.
    fn send_primary(&mut self, now: Instant, call: CallId, kind: AttemptKind) -> bool {
        match self.send_attempt(now, call, kind) {
            Ok(()) => true,
            Err(reason) => {
                self.finish_call(now, call, CallResult::Failed(reason));
                false
            }
        }
    }

    /// Picks an endpoint and sends one attempt of `call`, or says why none could go
    /// out. It never ends the call: a hedge that cannot go out leaves the attempts
    /// already out to finish.
    fn send_attempt(
        &mut self,
        now: Instant,
        call: CallId,
        kind: AttemptKind,
    ) -> Result<(), FailReason> {
        self.catch_up(now);
        let ep = self.pick(now, call)?;
        if let Some(b) = self.breaker_mut(ep) {
            let admit = b.admit(now);
            self.refresh(now, ep);
            if let Admit::Reject { .. } = admit {
                return Err(FailReason::BreakerOpen);
            }
        }
        let attempt_limit = self.limiter.as_mut().filter(|l| !l.limits_calls());
        if let Some(LimitDecision::Reject) = attempt_limit.map(|l| l.admit(now)) {
            if let Some(b) = self.breaker_mut(ep) {
                b.on_cancel(now);
                self.refresh(now, ep);
            }
            return Err(FailReason::Rejected);
        }
        if self.loads_here {
            self.endpoints[ep.index()].in_flight += 1;
        } else {
            self.balancer.on_send(now, ep);
        }
        let attempt = AttemptId(self.attempts.insert(Attempt {
            call,
            endpoint: ep,
            sent_at: now,
        }));
        let c = self.calls.get_mut(call.0).expect("a live call sends");
        match kind {
            AttemptKind::Hedge => c.hedges += 1,
            AttemptKind::First | AttemptKind::Retry => c.attempts_made += 1,
        }
        if self.retrier.other_endpoint() {
            c.tried.push(ep);
        }
        c.pending.push(attempt);
        let call_started = c.start;
        let timeout_at = self.config.timeout.map(|t| now.after(t));
        if let Some(at) = c.deadline_due(timeout_at) {
            self.arm(at, TimerKind::Deadline(call));
        }
        self.actions.push_back(Action::SendAttempt {
            call,
            attempt,
            endpoint: ep,
            kind,
            call_started,
        });
        if let Some(at) = timeout_at {
            self.arm(at, TimerKind::AttemptTimeout(attempt));
        }
        Ok(())
    }

    /// The endpoint for the next attempt of `call`: the balancer's pick among the
    /// eligible endpoints (all known ones in panic mode) of one tier chosen by the
    /// failover rule, avoiding endpoints the call already tried when it can.
    fn pick(&mut self, now: Instant, call: CallId) -> Result<EndpointId, FailReason> {
        if self.set.known.is_empty() {
            return Err(FailReason::NoServer);
        }
        let (tier, panic) = if self.set.tiers.len() > 1 {
            self.choose_tier()
        } else {
            (0, self.is_panicking())
        };
        let Some(from_known) = self.picks_from_known(tier, panic) else {
            return Err(FailReason::NoServer); // none eligible anywhere (panic_threshold 0)
        };
        let c = self.calls.get(call.0).expect("a live call picks");
        let Self {
            set,
            scratch,
            skip,
            balancer,
            rng,
            retrier,
            endpoints,
            ..
        } = self;
        let candidates = set.tiers[tier].list_mut(from_known);
        // A retry avoids the endpoints its call tried, when any other remains: the
        // balancer sees exactly "candidates minus tried". Their positions in the
        // (sorted) list, ascending and without repeats:
        skip.clear();
        if retrier.other_endpoint() {
            for id in &c.tried {
                if let Ok(i) = candidates.binary_search_by_key(id, |e| e.id) {
                    if let Err(at) = skip.binary_search(&i) {
                        skip.insert(at, i);
                    }
                }
            }
        }
        let avoid = !skip.is_empty() && skip.len() < candidates.len();
        if let Balancer::P2c(p2c) = balancer {
            // The loads are in the endpoints' states (see `loads_here`).
            let skip = if avoid { &skip[..] } else { &[] };
            let candidates = set.tiers[tier].candidates(from_known, skip);
            let load = |id: EndpointId| endpoints[id.index()].in_flight;
            return Ok(p2c.pick_with_loads(candidates, load, rng));
        }
        let candidates = set.tiers[tier].list_mut(from_known);
        let (known, hash_key) = (&set.known[..], c.hash_key);
        let known_generation = Some(set.known_generation);
        let request = PickRequest {
            now,
            eligible: candidates,
            known,
            hash_key,
            known_generation,
        };
        if !avoid {
            // Further attempts must not move a schedule the first attempts follow
            // (Envoy's weighted round robin answers a retry without consuming a slot).
            // Nothing sent yet (`tried` is not kept without `other_endpoint`).
            return Ok(if c.attempts_made == 0 && c.hedges == 0 {
                balancer.pick(&request, rng)
            } else {
                balancer.pick_again(&request, rng)
            });
        }
        // Most kinds read the list around the skipped entries in place; the others get
        // a list without them, which costs a `memmove` out and back.
        if let Some(picked) = balancer.pick_skipping(&request, skip, rng) {
            return Ok(picked);
        }
        scratch.clear();
        scratch.extend(skip.iter().rev().map(|&i| candidates.remove(i)));
        let request = PickRequest {
            now,
            eligible: candidates,
            known,
            hash_key,
            known_generation,
        };
        let picked = balancer.pick_again(&request, rng);
        for ep in scratch.iter() {
            if let Err(i) = candidates.binary_search_by_key(&ep.id, |e| e.id) {
                candidates.insert(i, *ep);
            }
        }
        Ok(picked)
    }

    /// Whether a pick in tier `tier` (an index in `set.tiers`) chooses among its
    /// known endpoints (in panic, or when it has none eligible while other tiers do)
    /// rather than its eligible ones; `None` when nothing is eligible anywhere.
    fn picks_from_known(&self, tier: usize, panic: bool) -> Option<bool> {
        let none_here = self.set.tiers[tier].eligible.is_empty();
        if panic || (none_here && self.set.eligible_count > 0) {
            Some(true)
        } else if none_here {
            None
        } else {
            Some(false)
        }
    }

    /// The index in `set.tiers` of the tier this pick goes to (the failover rule; one
    /// draw from the stream whatever the loads), and whether that tier is in panic.
    ///
    /// `priority` failover follows Envoy per priority (`recalculatePerPriorityPanic`):
    /// a tier is in panic when fewer than `panic_threshold` of its endpoints are
    /// eligible and the tiers together cannot carry the load (normalized availability
    /// under 100); when every tier is, loads follow the endpoint counts ("total
    /// panic"). `primary_backup` keeps the whole-view panic of [`Client::is_panicking`].
    fn choose_tier(&mut self) -> (usize, bool) {
        self.tier_loads.clear();
        self.tier_loads.resize(self.set.tiers.len(), 0.0);
        if self.config.failover == FailoverMode::Priority {
            self.priority_hosts.clear();
            self.priority_hosts
                .extend(self.set.tiers.iter().map(|t| PriorityHosts {
                    healthy: t.eligible.len() as u64,
                    degraded: 0,
                    total: t.known.len() as u64,
                }));
            priority_loads(
                &self.priority_hosts,
                overprovisioning_percent(self.config.overprovisioning),
                panic_percent(self.config.panic_threshold),
                &mut self.priority_state,
            );
            let state = &self.priority_state;
            for (load, (h, d)) in self
                .tier_loads
                .iter_mut()
                .zip(state.healthy.iter().zip(&state.degraded))
            {
                *load = f64::from(h + d) / 100.0;
            }
            let tier = pick_tier(&self.tier_loads, &mut self.rng);
            let panic = self.priority_state.total_panic || self.priority_state.panic[tier];
            return (tier, panic);
        }
        let panic = self.is_panicking();
        self.tier_health.clear();
        self.tier_health
            .extend(self.set.tiers.iter().map(|t| TierHealth {
                eligible: if panic {
                    t.known.len()
                } else {
                    t.eligible.len()
                } as u32,
                total: t.known.len() as u32,
            }));
        tier_loads(
            self.config.failover,
            &self.tier_health,
            self.config.overprovisioning,
            &mut self.tier_loads,
        );
        (pick_tier(&self.tier_loads, &mut self.rng), panic)
    }

    /// The last outstanding attempt of `call` failed with `kind`: retry after a
    /// backoff, or give up.
    fn after_failure(&mut self, now: Instant, call: CallId, kind: FailureKind) {
        let c = self.calls.get_mut(call.0).expect("a live call fails");
        let info = AttemptInfo {
            attempts_made: u32::from(c.attempts_made),
            last_failure: kind,
            previous_delay: c.previous_delay(),
            deadline: c.deadline(),
        };
        match self.retrier.decide(now, &info, &mut self.rng) {
            RetryDecision::Retry { after } if after.is_zero() => {
                self.send_primary(now, call, AttemptKind::Retry);
            }
            RetryDecision::Retry { after } => {
                // Saturates at 584 years; a zero backoff took the branch above.
                c.previous_delay_ns = u64::try_from(after.as_nanos()).unwrap_or(u64::MAX);
                self.arm(now.after(after), TimerKind::Retry(call));
            }
            RetryDecision::GiveUp(_) => {
                self.finish_call(now, call, CallResult::Failed(FailReason::of_attempt(kind)))
            }
        }
    }

    /// The hedge delay passed with `call` still open: send another copy if the hedge
    /// allowance, the deadline and the budget allow, and arm the next hedge.
    fn on_hedge_timer(&mut self, now: Instant, call: CallId) {
        let (Some(c), Some(hedger)) = (self.calls.get(call.0), &self.hedger) else {
            return;
        };
        if c.pending.is_empty()
            || u32::from(c.hedges) >= hedger.max_extra()
            || c.deadline().is_some_and(|d| now >= d)
        {
            return;
        }
        let delay = hedger.hedge_delay();
        let max_extra = hedger.max_extra();
        if self.retrier.try_spend_hedge(now) != HedgeDecision::Send {
            return;
        }
        if self.send_attempt(now, call, AttemptKind::Hedge).is_ok() {
            let hedges = self
                .calls
                .get(call.0)
                .map_or(max_extra, |c| u32::from(c.hedges));
            if let (Some(delay), true) = (delay, hedges < max_extra) {
                self.arm(now.after(delay), TimerKind::Hedge(call));
            }
        }
    }

    /// `call` ends with `result`: the client-scope breaker learns it, the fallback
    /// applies, its outstanding attempts are abandoned and its slot freed.
    fn finish_call(&mut self, now: Instant, call: CallId, result: CallResult) {
        let Some(c) = self.calls.get_mut(call.0) else {
            return;
        };
        // Read in place and free the slot: moving the whole call out copied it.
        let (started, breaker_admitted) = (c.start, c.breaker_admitted);
        let pending = std::mem::take(&mut c.pending);
        self.calls.free(call.0);
        if breaker_admitted {
            if let Some(b) = &mut self.call_breaker {
                let latency = now.since(started);
                match result {
                    CallResult::Ok => b.on_outcome(now, Outcome::Success, latency),
                    CallResult::Failed(reason) => match reason.attempt_kind() {
                        Some(kind) => b.on_outcome(now, Outcome::Failure(kind), latency),
                        None => b.on_cancel(now),
                    },
                    CallResult::Degraded => b.on_cancel(now),
                }
            }
        }
        let result = match result {
            CallResult::Failed(reason)
                if self.config.fallback == Fallback::Degrade
                    && reason != FailReason::Unfinished =>
            {
                CallResult::Degraded
            }
            other => other,
        };
        self.actions.push_back(Action::FinishCall {
            call,
            started,
            result,
        });
        for &attempt in &pending {
            let Some(a) = self.attempts.remove(attempt.0) else {
                continue;
            };
            if self.loads_here {
                self.load_done(a.endpoint);
            } else {
                self.balancer.on_cancel(now, a.endpoint);
            }
            if let Some(b) = self.breaker_mut(a.endpoint) {
                b.on_cancel(now);
                self.refresh(now, a.endpoint);
            }
            if let Some(l) = &mut self.limiter {
                l.on_cancel(now);
            }
            self.actions.push_back(Action::CancelAttempt {
                call,
                attempt,
                endpoint: a.endpoint,
            });
        }
    }

    // ----- health checks and outlier ticks ---------------------------------------------

    /// Time to probe `ep`: send the probe and arm the next tick, or end the chain if
    /// `ep` left the view.
    fn on_probe_tick(&mut self, now: Instant, ep: EndpointId) {
        let Some(health) = &self.health else {
            return;
        };
        if !self.knows(ep) {
            if let Some(state) = self.endpoints.get_mut(ep.index()) {
                state.probing = false;
            }
            return;
        }
        let next = health.next_probe_delay(&mut self.rng);
        let timeout = health.probe_timeout();
        self.arm(now.after(next), TimerKind::ProbeTick(ep));
        let probe = ProbeId(self.probes.insert(Probe { endpoint: ep }));
        self.actions.push_back(Action::SendProbe {
            probe,
            endpoint: ep,
        });
        self.arm(now.after(timeout), TimerKind::ProbeTimeout(probe));
    }

    /// Outlier detection's interval tick: un-eject expired endpoints, evaluate success
    /// rates, arm the next tick.
    fn on_outlier_tick(&mut self, now: Instant) {
        let Some(outlier) = &mut self.outlier else {
            return;
        };
        self.scratch_ids.clear();
        self.scratch_ids
            .extend(self.set.known.iter().map(|ep| ep.id));
        let mut changed = std::mem::take(&mut self.scratch);
        changed.clear();
        let note = |event| {
            let id = match event {
                OutlierEvent::Unejected(id) => id,
                OutlierEvent::Ejected(e) => e.endpoint,
            };
            changed.push(Endpoint { id, weight: 0 });
        };
        let _report = outlier.handle_timeout_with_rng(now, &self.scratch_ids, note, &mut self.rng);
        let next = outlier.next_deadline();
        for ep in &changed {
            self.on_ejection_change(now, ep.id);
        }
        self.scratch = changed;
        if let Some(at) = next {
            self.arm(at.max(now), TimerKind::OutlierTick);
        }
    }

    // ----- eligibility ------------------------------------------------------------------

    /// Re-evaluates whether `id` is eligible (known, healthy, not ejected, its breaker
    /// admits at `now`), updates the set if that changed, and schedules the breaker's
    /// next time-driven change.
    fn refresh(&mut self, now: Instant, id: EndpointId) {
        let Some(state) = self.endpoints.get_mut(id.index()).filter(|s| s.known) else {
            return;
        };
        debug_assert_eq!(
            state.ejected,
            self.outlier.as_ref().is_some_and(|o| o.is_ejected(id)),
            "the ejection flag of {id:?} follows the outlier detector"
        );
        let mut eligible = self.health.as_ref().is_none_or(|h| h.is_healthy(id)) && !state.ejected;
        if let Some(b) = &mut state.breaker {
            b.handle_timeout(now);
            eligible &= b.would_admit(now);
            // Only a change still ahead needs a wake-up: an OPEN breaker whose wait
            // has passed (without automatic transition) reports the wait's end until
            // its next admit, and re-arming that past instant would wake forever.
            if let Some(next) = b.next_change().filter(|&t| t > now) {
                schedule_wake(&mut state.wake_at, &mut self.wakes, id, next);
            }
        }
        if eligible != state.eligible {
            state.eligible = eligible;
            let ep = Endpoint {
                id,
                weight: state.weight,
            };
            self.set.set_eligible(ep, state.tier, eligible);
        }
    }

    /// Outlier detection ejected `id` or let it back: copy that into its state, where
    /// `refresh` reads it, then re-evaluate it.
    fn on_ejection_change(&mut self, now: Instant, id: EndpointId) {
        let ejected = self.outlier.as_ref().is_some_and(|o| o.is_ejected(id));
        if let Some(state) = self.endpoints.get_mut(id.index()) {
            state.ejected = ejected;
        }
        self.refresh(now, id);
    }

    /// Applies every breaker wake-up due at or before `now`.
    fn catch_up(&mut self, now: Instant) {
        while let Some(&Reverse((at, id))) = self.wakes.peek() {
            if at > now {
                break;
            }
            self.wakes.pop();
            let state = &mut self.endpoints[id as usize];
            if state.wake_at == Some(at) {
                state.wake_at = None;
                self.refresh(now, EndpointId(id));
            }
        }
    }

    // ----- small helpers ------------------------------------------------------------------

    /// `panic_below` for the view as it is now.
    fn panic_bound(&self) -> usize {
        // A fraction in [0, 1] (`validate`) times a count: finite, not negative.
        (self.config.panic_threshold * self.set.known.len() as f64).ceil() as usize
    }

    /// An attempt to `ep` ended (answered, timed out or cancelled), with the loads kept
    /// here (`loads_here`). Every send is matched by exactly one of these; a stray one
    /// would be a bug, caught in debug builds and ignored in release, as the
    /// balancer's own counts do.
    fn load_done(&mut self, ep: EndpointId) {
        let count = self.endpoints.get_mut(ep.index()).map(|s| &mut s.in_flight);
        debug_assert!(
            count.as_ref().is_some_and(|c| **c > 0),
            "an attempt to {ep:?} ended twice"
        );
        if let Some(c) = count {
            *c = c.saturating_sub(1);
        }
    }

    /// The breaker of known endpoint `ep`, if endpoint breakers are on.
    fn breaker_mut(&mut self, ep: EndpointId) -> Option<&mut Breaker> {
        self.endpoints.get_mut(ep.index())?.breaker.as_mut()
    }

    /// Queues a timer.
    fn arm(&mut self, at: Instant, kind: TimerKind) {
        self.actions.push_back(Action::ArmTimer {
            at,
            timer: Timer(kind),
        });
    }

    /// The instant to act at: `now`, or the latest instant seen if `now` is earlier.
    fn advance(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }
}

/// The hint that draws on a copy of the stream, hence `R: Clone`.
impl<R: Rng + Clone> Client<R> {
    /// A hint, for a driver that knows a call is about to start: starts fetching the
    /// slots the call and its first attempt will take and the endpoint states the
    /// first pick will most likely compare. With `p2c` over one tier, it draws the
    /// candidates on a copy of the instance's stream (so the real pick draws the same
    /// ones unless something else draws first) and prefetches their states (see
    /// [`crate::prefetch`]). It reads the stream: call [`Client::prefetch_stream`] an
    /// event earlier. It changes no state and no decision; a wrong guess costs only
    /// the fetches.
    pub fn prefetch_start_call(&self) {
        self.calls.prefetch_next_free();
        self.attempts.prefetch_next_free();
        let Balancer::P2c(p2c) = &self.balancer else {
            return;
        };
        let [tier] = &self.set.tiers[..] else {
            return;
        };
        let Some(from_known) = self.picks_from_known(0, self.is_panicking()) else {
            return;
        };
        let candidates = tier.candidates(from_known, &[]);
        if candidates.len() < 2 {
            return;
        }
        let each = |id: EndpointId| {
            if let Some(state) = self.endpoints.get(id.index()) {
                crate::prefetch::prefetch(state, 1);
            }
        };
        p2c.peek_candidates(candidates, each, &mut self.rng.clone());
    }
}

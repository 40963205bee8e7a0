//! Clients: calls arrive, each call sends attempts through the client's policies,
//! reads the answers (or times out), retries or hedges, and ends with one result.
//!
//! Availability is about calls; load is about attempts (DESIGN.md).

use rand::Rng;

use super::event::{Event, Reply};
use super::fault::{transit, Node};
use super::workload::Arrivals;
use super::world::World;
use crate::metrics::{CallResult, FailReason};
use crate::policy::balancer::PickRequest;
use crate::policy::breaker::Admit;
use crate::policy::limiter::LimitDecision;
use crate::policy::retry::{AttemptInfo, HedgeDecision, RetryDecision};
use crate::policy::{Endpoint, EndpointId, FailureKind, Outcome};
use crate::scenario::Fallback;
use crate::time::Instant;

impl World {
    /// An open-loop arrival: start a call and schedule the next arrival.
    pub(crate) fn on_arrival_tick(&mut self, client: u32) {
        let now = self.engine.now();
        if now >= self.measure_end {
            return;
        }
        let c = &mut self.clients[client as usize];
        let next = c
            .arrivals
            .next_arrival(&mut c.arrivals_rng, c.last_arrival_ns);
        c.last_arrival_ns = next;
        self.engine
            .schedule_at(Instant(next as u64).max(now), Event::ArrivalTick { client });
        self.start_call(client);
    }

    /// A closed-loop caller starts its next call.
    pub(crate) fn on_caller_wake(&mut self, client: u32) {
        if self.engine.now() < self.measure_end {
            self.start_call(client);
        }
    }

    /// The application asks for a call: the client-scope breaker decides whether it
    /// goes out at all.
    fn start_call(&mut self, client: u32) {
        let now = self.engine.now();
        let measured = self.in_measure(now);
        let c = &mut self.clients[client as usize];
        let config = &self.populations[c.population].config;
        let deadline = config.deadline.map(|d| now.after(d));
        let hash_key = c.calls_rng.random::<u64>();
        c.policies.retrier.on_call_start(now);
        // A rate limit on calls turns the call away before anything else sees it.
        let rate_limited = match c.policies.limiter.as_mut() {
            Some(l) if l.limits_calls() => l.admit(now) == LimitDecision::Reject,
            _ => false,
        };
        let admitted = match c.policies.call_breaker.as_mut() {
            Some(_) if rate_limited => None,
            None => None,
            Some(b) => Some(matches!(b.admit(now), Admit::Allow | Admit::Probe)),
        };
        let (call, gen) = self.calls.insert_with(|call| {
            call.client = client;
            call.start = now;
            call.measured = measured;
            call.attempts_made = 0;
            call.hedges = 0;
            call.breaker_admitted = admitted == Some(true);
            call.outstanding = 0;
            call.tried.clear();
            call.pending.clear();
            call.hash_key = hash_key;
            call.last_failure = None;
            call.previous_delay = None;
            call.deadline = deadline;
        });
        if measured {
            self.open_measured += 1;
        }
        if rate_limited {
            self.finish_call(call, CallResult::Failed(FailReason::Rejected));
            return;
        }
        if admitted == Some(false) {
            self.finish_call(call, CallResult::Failed(FailReason::BreakerOpen));
            return;
        }
        if let Some(at) = deadline {
            self.engine
                .schedule_at(at, Event::CallDeadline { call, gen });
        }
        if self.send_primary(call) {
            let c = &self.clients[client as usize];
            if let Some(delay) = c.policies.hedger.as_ref().and_then(|h| h.hedge_delay()) {
                self.engine
                    .schedule_in(delay, Event::HedgeTimer { call, gen });
            }
        }
    }

    /// Sends the first attempt or a retry of `call`; if none can go out (no endpoint,
    /// an endpoint breaker, the limiter), the call ends with that reason.
    fn send_primary(&mut self, call: u32) -> bool {
        match self.send_attempt(call, false) {
            Ok(()) => true,
            Err(reason) => {
                self.finish_call(call, CallResult::Failed(reason));
                false
            }
        }
    }

    /// Picks an endpoint and sends one attempt of `call` (a hedged copy if `hedge`),
    /// or says why none could go out. It never ends the call: a hedge that cannot be
    /// sent leaves the attempts already out to finish.
    fn send_attempt(&mut self, call: u32, hedge: bool) -> Result<(), FailReason> {
        let now = self.engine.now();
        let call_gen = self.calls.generation(call);
        let c = self.calls.get_mut(call);
        let client = c.client;
        let ci = &mut self.clients[client as usize];
        if ci.view.is_empty() {
            return Err(FailReason::NoServer);
        }
        let eligible: &[Endpoint] = if ci.policies.whole_view_is_eligible(&c.tried) {
            &ci.view // the common case: no copy
        } else {
            ci.policies.eligible(
                now,
                &ci.view,
                &self.tier_of,
                &c.tried,
                &mut ci.eligible,
                &mut ci.policy_rng,
            );
            &ci.eligible
        };
        if eligible.is_empty() {
            return Err(FailReason::NoServer); // possible with panic_threshold = 0
        }
        let request = PickRequest {
            now,
            eligible,
            known: &ci.view,
            hash_key: c.hash_key,
        };
        let ep = ci.balancer.pick(&request, &mut ci.policy_rng);
        if let Some(b) = ci.policies.endpoint_breakers.get_mut(ep.index()) {
            if let Admit::Reject { .. } = b.admit(now) {
                return Err(FailReason::BreakerOpen);
            }
        }
        let attempt_limit = ci.policies.limiter.as_mut().filter(|l| !l.limits_calls());
        if let Some(LimitDecision::Reject) = attempt_limit.map(|l| l.admit(now)) {
            if let Some(b) = ci.policies.endpoint_breakers.get_mut(ep.index()) {
                b.on_cancel(now);
            }
            return Err(FailReason::Rejected);
        }
        ci.balancer.on_send(now, ep);
        if hedge {
            c.hedges += 1;
        } else {
            c.attempts_made += 1;
        }
        c.outstanding += 1;
        c.tried.push(ep);
        if c.measured {
            self.recorder.on_attempt(c.start);
        }
        let (attempt, gen) = self.attempts.insert_with(|a| {
            a.call = call;
            a.call_gen = call_gen;
            a.client = client;
            a.server = ep.0;
            a.sent_at = now;
            a.client_waiting = true;
            a.in_world = true;
            a.probe = false;
            a.probe_cost_ns = 0;
        });
        self.calls.get_mut(call).pending.push(attempt);
        match transit(
            &self.network,
            &self.faults,
            Node::Client(client),
            Node::Server(ep.0),
            &mut ci.net_rng,
        ) {
            Some(delay) => self
                .engine
                .schedule_in_ns(delay, Event::RequestArrive { attempt, gen }),
            None => self.attempts.get_mut(attempt).in_world = false,
        }
        if let Some(timeout) = self.populations[ci.population].config.timeout {
            self.engine
                .schedule_in(timeout, Event::AttemptTimeout { attempt, gen });
        }
        Ok(())
    }

    /// A server's answer reaches the client.
    pub(crate) fn on_response(&mut self, attempt: u32, gen: u32, reply: Reply) {
        let Some(a) = self.attempts.get_live(attempt, gen) else {
            return;
        };
        a.in_world = false;
        if !a.client_waiting {
            self.attempts.remove(attempt); // a late answer to an abandoned attempt
            return;
        }
        if a.probe {
            self.on_probe_result(attempt, reply == Reply::Ok);
            return;
        }
        let outcome = match reply {
            Reply::Ok => Outcome::Success,
            Reply::Error => Outcome::Failure(FailureKind::Error),
            Reply::Rejected => Outcome::Failure(FailureKind::Rejected),
            Reply::Refused => Outcome::Failure(FailureKind::Refused),
        };
        self.complete_attempt(attempt, outcome);
    }

    /// The attempt timeout fires before an answer arrived.
    pub(crate) fn on_attempt_timeout(&mut self, attempt: u32, gen: u32) {
        match self.attempts.get_live(attempt, gen) {
            Some(a) if a.client_waiting && a.probe => self.on_probe_result(attempt, false),
            Some(a) if a.client_waiting => {
                self.complete_attempt(attempt, Outcome::Failure(FailureKind::Timeout))
            }
            _ => {}
        }
    }

    /// The request or its answer left the world (lost, or the server's life ended).
    pub(crate) fn leave_world(&mut self, attempt: u32) {
        let a = self.attempts.get_mut(attempt);
        a.in_world = false;
        if !a.client_waiting {
            self.attempts.remove(attempt);
        }
    }

    /// The client has the outcome of an attempt: tell the policies, then the call.
    fn complete_attempt(&mut self, attempt: u32, outcome: Outcome) {
        let now = self.engine.now();
        let a = self.attempts.get_mut(attempt);
        a.client_waiting = false;
        let (client, ep, sent_at, call, call_gen) = (
            a.client,
            EndpointId(a.server),
            a.sent_at,
            a.call,
            a.call_gen,
        );
        if !a.in_world {
            self.attempts.remove(attempt);
        }
        let latency = now.since(sent_at);
        let ci = &mut self.clients[client as usize];
        ci.balancer.on_complete(now, ep, outcome, latency);
        ci.policies
            .on_attempt_outcome(now, ep, outcome, latency, ci.view.len());
        let Some(c) = self.calls.get_live(call, call_gen) else {
            return;
        };
        c.outstanding -= 1;
        c.pending.retain(|&p| p != attempt);
        match outcome {
            Outcome::Success => self.finish_call(call, CallResult::Ok),
            Outcome::Failure(kind) => {
                c.last_failure = Some(kind);
                if c.outstanding == 0 {
                    self.after_failure(call, kind);
                }
            }
        }
    }

    /// The last outstanding attempt failed: retry after a backoff, or give up.
    fn after_failure(&mut self, call: u32, kind: FailureKind) {
        let now = self.engine.now();
        let c = self.calls.get_mut(call);
        let info = AttemptInfo {
            attempts_made: c.attempts_made,
            last_failure: kind,
            previous_delay: c.previous_delay,
            deadline: c.deadline,
        };
        let ci = &mut self.clients[c.client as usize];
        match ci.policies.retrier.decide(now, &info, &mut ci.policy_rng) {
            RetryDecision::Retry { after } if after.is_zero() => {
                self.send_primary(call);
            }
            RetryDecision::Retry { after } => {
                c.previous_delay = Some(after);
                let gen = self.calls.generation(call);
                self.engine
                    .schedule_in(after, Event::RetryStart { call, gen });
            }
            RetryDecision::GiveUp(_) => {
                self.finish_call(call, CallResult::Failed(fail_reason(kind)))
            }
        }
    }

    /// A backoff has elapsed.
    pub(crate) fn on_retry_start(&mut self, call: u32, gen: u32) {
        if self.calls.get_live(call, gen).is_some() {
            self.send_primary(call);
        }
    }

    /// The hedge delay has passed with the call still open: send another copy if the
    /// hedge allowance and the budget allow, and arm the next hedge.
    pub(crate) fn on_hedge_timer(&mut self, call: u32, gen: u32) {
        let now = self.engine.now();
        let Some(c) = self.calls.get_live(call, gen) else {
            return;
        };
        let ci = &mut self.clients[c.client as usize];
        let Some(hedger) = &ci.policies.hedger else {
            return;
        };
        if c.outstanding == 0
            || c.hedges >= hedger.max_extra()
            || c.deadline.is_some_and(|d| now >= d)
        {
            return;
        }
        let delay = hedger.hedge_delay();
        if ci.policies.retrier.try_spend_hedge(now) != HedgeDecision::Send {
            return;
        }
        if self.send_attempt(call, true).is_ok() {
            let c = self.calls.get(call);
            let max_extra = self.clients[c.client as usize]
                .policies
                .hedger
                .as_ref()
                .map_or(0, |h| h.max_extra());
            if let (Some(delay), true) = (delay, c.hedges < max_extra) {
                self.engine
                    .schedule_in(delay, Event::HedgeTimer { call, gen });
            }
        }
    }

    /// The call's deadline passed before it ended.
    pub(crate) fn on_call_deadline(&mut self, call: u32, gen: u32) {
        if self.calls.get_live(call, gen).is_some() {
            self.finish_call(call, CallResult::Failed(FailReason::Timeout));
        }
    }

    /// The call ends with `result`: tell the client-scope breaker, apply the fallback,
    /// record it, abandon its outstanding attempts and free its slot.
    fn finish_call(&mut self, call: u32, result: CallResult) {
        let now = self.engine.now();
        let c = self.calls.get_mut(call);
        let client = c.client as usize;
        let ci = &mut self.clients[client];
        if c.breaker_admitted {
            if let Some(b) = &mut ci.policies.call_breaker {
                match result {
                    CallResult::Ok => b.on_outcome(now, Outcome::Success, now.since(c.start)),
                    CallResult::Failed(reason) => match failure_kind(reason) {
                        Some(kind) => b.on_outcome(now, Outcome::Failure(kind), now.since(c.start)),
                        None => b.on_cancel(now),
                    },
                    CallResult::Degraded => b.on_cancel(now),
                }
            }
        }
        let fallback = self.populations[ci.population].config.fallback;
        let result = match result {
            CallResult::Failed(reason)
                if fallback == Fallback::Degrade && reason != FailReason::Unfinished =>
            {
                CallResult::Degraded
            }
            other => other,
        };
        if c.measured {
            self.recorder.on_call_end(c.start, now, result);
            self.open_measured -= 1;
            if let CallResult::Failed(_) = result {
                self.faults.on_call_failed(c.start);
            }
        }
        for &attempt in &c.pending {
            let a = self.attempts.get_mut(attempt);
            a.client_waiting = false;
            let ep = EndpointId(a.server);
            ci.balancer.on_cancel(now, ep);
            ci.policies.on_attempt_cancel(now, ep);
            if !a.in_world {
                self.attempts.remove(attempt);
            }
        }
        self.calls.remove(call);
        if let Arrivals::Closed { think, .. } = &ci.arrivals {
            if now < self.measure_end {
                let delay = think.sample_ns(&mut ci.calls_rng);
                self.engine.schedule_in_ns(
                    delay,
                    Event::CallerWake {
                        client: client as u32,
                    },
                );
            }
        }
    }
}

/// The call-level reason for a failed last attempt.
fn fail_reason(kind: FailureKind) -> FailReason {
    match kind {
        FailureKind::Timeout => FailReason::Timeout,
        FailureKind::Error => FailReason::Error,
        FailureKind::Refused => FailReason::Refused,
        FailureKind::Rejected => FailReason::Rejected,
    }
}

/// The failure kind a client-scope breaker sees for a failed call, if any: a call
/// that never reached a server (no endpoint, breaker open, unfinished) reports none.
fn failure_kind(reason: FailReason) -> Option<FailureKind> {
    match reason {
        FailReason::Timeout => Some(FailureKind::Timeout),
        FailReason::Error => Some(FailureKind::Error),
        FailReason::Refused => Some(FailureKind::Refused),
        FailReason::Rejected => Some(FailureKind::Rejected),
        FailReason::BreakerOpen | FailReason::NoServer | FailReason::Unfinished => None,
    }
}

//! Clients: calls arrive, each call sends attempts through the client's policies,
//! reads the answers (or times out), retries, and ends with one result.
//!
//! Availability is about calls; load is about attempts (DESIGN.md).

use std::time::Duration;

use rand::Rng;

use super::event::{Event, Reply};
use super::workload::Arrivals;
use super::world::World;
use crate::metrics::{CallResult, FailReason};
use crate::policy::balancer::PickRequest;
use crate::policy::{EndpointId, FailureKind, Outcome};
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

    /// The application asks for a call.
    fn start_call(&mut self, client: u32) {
        let now = self.engine.now();
        let measured = self.in_measure(now);
        let c = &mut self.clients[client as usize];
        let config = &self.populations[c.population].config;
        let deadline = config.deadline.map(|d| now.after(d));
        let hash_key = c.calls_rng.random::<u64>();
        let (call, gen) = self.calls.insert_with(|call| {
            call.client = client;
            call.start = now;
            call.measured = measured;
            call.attempts_made = 0;
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
        if let Some(at) = deadline {
            self.engine
                .schedule_at(at, Event::CallDeadline { call, gen });
        }
        self.send_attempt(call);
    }

    /// Picks an endpoint and sends one attempt of `call`.
    fn send_attempt(&mut self, call: u32) {
        let now = self.engine.now();
        let call_gen = self.calls.generation(call);
        let c = self.calls.get_mut(call);
        let client = c.client;
        let ci = &mut self.clients[client as usize];
        if ci.view.is_empty() {
            self.finish_call(call, CallResult::Failed(FailReason::NoServer));
            return;
        }
        ci.eligible.clear();
        ci.eligible
            .extend(ci.view.iter().filter(|ep| !c.tried.contains(&ep.id)));
        if ci.eligible.is_empty() {
            ci.eligible.extend_from_slice(&ci.view);
        }
        let request = PickRequest {
            now,
            eligible: &ci.eligible,
            known: &ci.view,
            hash_key: c.hash_key,
        };
        let ep = ci.balancer.pick(&request, &mut ci.policy_rng);
        ci.balancer.on_send(now, ep);
        c.attempts_made += 1;
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
        });
        self.calls.get_mut(call).pending.push(attempt);
        match self.network.transit_ns(&mut ci.net_rng) {
            Some(delay) => self
                .engine
                .schedule_in_ns(delay, Event::RequestArrive { attempt, gen }),
            None => self.attempts.get_mut(attempt).in_world = false,
        }
        if let Some(timeout) = self.populations[ci.population].config.timeout {
            self.engine
                .schedule_in(timeout, Event::AttemptTimeout { attempt, gen });
        }
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
        self.clients[client as usize]
            .balancer
            .on_complete(now, ep, outcome, now.since(sent_at));
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
        match self.retry_delay(call, kind) {
            Some(after) if after.is_zero() => self.send_attempt(call),
            Some(after) => {
                let gen = self.calls.generation(call);
                self.calls.get_mut(call).previous_delay = Some(after);
                self.engine
                    .schedule_in(after, Event::RetryStart { call, gen });
            }
            None => self.finish_call(call, CallResult::Failed(fail_reason(kind))),
        }
    }

    /// The retry policy's answer: wait this long and retry, or `None` to give up.
    fn retry_delay(&mut self, call: u32, kind: FailureKind) -> Option<Duration> {
        let _ = (call, kind);
        None
    }

    /// A backoff has elapsed.
    pub(crate) fn on_retry_start(&mut self, call: u32, gen: u32) {
        if self.calls.get_live(call, gen).is_some() {
            self.send_attempt(call);
        }
    }

    /// The call's deadline passed before it ended.
    pub(crate) fn on_call_deadline(&mut self, call: u32, gen: u32) {
        if self.calls.get_live(call, gen).is_some() {
            self.finish_call(call, CallResult::Failed(FailReason::Timeout));
        }
    }

    /// The call ends with `result`: record it, abandon its attempts, free its slot.
    fn finish_call(&mut self, call: u32, result: CallResult) {
        let now = self.engine.now();
        let c = self.calls.get_mut(call);
        let client = c.client as usize;
        if c.measured {
            self.recorder.on_call_end(c.start, now, result);
            self.open_measured -= 1;
        }
        for &attempt in &c.pending {
            let a = self.attempts.get_mut(attempt);
            a.client_waiting = false;
            self.clients[client]
                .balancer
                .on_cancel(now, EndpointId(a.server));
            if !a.in_world {
                self.attempts.remove(attempt);
            }
        }
        self.calls.remove(call);
        let ci = &mut self.clients[client];
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

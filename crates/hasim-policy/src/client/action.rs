//! What the stack asks its driver to do, and the timers it asks for.

use super::ids::{AttemptId, CallId, ProbeId};
use super::outcome::CallResult;
use crate::time::Instant;
use crate::EndpointId;

/// One decision for the driver, in the order the stack made them. Drain them with
/// [`Client::poll_action`](super::Client::poll_action) after every input.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send an attempt of `call` to `endpoint`; report its outcome with
    /// [`Client::on_attempt_outcome`](super::Client::on_attempt_outcome) and `attempt`.
    /// The stack times it out itself (an `ArmTimer` follows when a timeout is set).
    SendAttempt {
        /// The call it belongs to.
        call: CallId,
        /// Its ticket.
        attempt: AttemptId,
        /// Where to send it.
        endpoint: EndpointId,
        /// First try, retry or hedge.
        kind: AttemptKind,
        /// When the call started (drivers that measure per call need it).
        call_started: Instant,
    },
    /// Stop waiting for `attempt` (its call ended: a hedge that lost, a deadline).
    /// Drivers that can cancel the request (drop its future) should; a later outcome
    /// for it is ignored either way.
    CancelAttempt {
        /// The call it belonged to.
        call: CallId,
        /// Its ticket.
        attempt: AttemptId,
        /// Where it was sent.
        endpoint: EndpointId,
    },
    /// The call is over: give the application `result`.
    FinishCall {
        /// The call.
        call: CallId,
        /// When it started.
        started: Instant,
        /// How it ended (after the fallback).
        result: CallResult,
    },
    /// Send a health-check probe to `endpoint`; report with
    /// [`Client::on_probe_result`](super::Client::on_probe_result).
    SendProbe {
        /// Its ticket.
        probe: ProbeId,
        /// Where to send it.
        endpoint: EndpointId,
    },
    /// Call [`Client::on_timer`](super::Client::on_timer) with `timer` at or after
    /// `at`. Timers are never withdrawn: one that no longer matters is ignored when
    /// it fires, so drivers need no cancellation.
    ArmTimer {
        /// When.
        at: Instant,
        /// What to hand back.
        timer: Timer,
    },
}

/// Why an attempt is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    /// The call's first attempt.
    First,
    /// A retry after a failed attempt.
    Retry,
    /// A hedged copy sent while earlier attempts are still out.
    Hedge,
}

/// A timer the stack asked for: opaque to drivers, handed back to
/// [`Client::on_timer`](super::Client::on_timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer(pub(crate) TimerKind);

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// The attempt's timeout.
    AttemptTimeout(AttemptId),
    /// A retry's backoff ended.
    Retry(CallId),
    /// Time to send a hedge.
    Hedge(CallId),
    /// The call's deadline.
    Deadline(CallId),
    /// Time to probe an endpoint.
    ProbeTick(EndpointId),
    /// A probe's timeout.
    ProbeTimeout(ProbeId),
    /// Outlier detection's interval tick.
    OutlierTick,
}

impl Timer {
    /// Timers of one class armed by one client stack come with a fixed delay after
    /// their arming (attempt timeouts, deadlines, fixed hedge delays, probe timeouts),
    /// so they tend to come in time order: a driver may keep one FIFO queue per class
    /// and fall back to its general timer queue for the rare one that does not fit.
    /// Classes are numbered `0..Timer::CLASSES`.
    pub fn class(self) -> usize {
        match self.0 {
            TimerKind::AttemptTimeout(_) => 0,
            TimerKind::Retry(_) => 1,
            TimerKind::Hedge(_) => 2,
            TimerKind::Deadline(_) => 3,
            TimerKind::ProbeTick(_) => 4,
            TimerKind::ProbeTimeout(_) => 5,
            TimerKind::OutlierTick => 6,
        }
    }

    /// How many classes [`Timer::class`] returns.
    pub const CLASSES: usize = 7;

    /// A short name of what the timer is for, for traces and fingerprints.
    pub fn name(self) -> &'static str {
        match self.0 {
            TimerKind::AttemptTimeout(_) => "attempt_timeout",
            TimerKind::Retry(_) => "retry",
            TimerKind::Hedge(_) => "hedge",
            TimerKind::Deadline(_) => "deadline",
            TimerKind::ProbeTick(_) => "probe_tick",
            TimerKind::ProbeTimeout(_) => "probe_timeout",
            TimerKind::OutlierTick => "outlier_tick",
        }
    }
}

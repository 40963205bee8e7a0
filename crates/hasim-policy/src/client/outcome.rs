//! How a call ends, as the client stack decides it.
//!
//! Availability is about calls (DESIGN.md), so each call ends exactly one way. The
//! stack picks the reason; a driver only adds [`FailReason::Unfinished`] for calls it
//! stopped waiting for (the simulator's drain end).

use crate::FailureKind;

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallResult {
    /// A successful answer; the only result whose latency a report should record.
    Ok,
    /// The fallback answered (`fallback = "degrade"`): the user got something, but not
    /// the real answer, so it is neither ok nor failed.
    Degraded,
    /// The call failed, for one reason.
    Failed(FailReason),
}

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailReason {
    /// No answer before the attempt timeout or the call deadline.
    Timeout,
    /// The server answered with an error.
    Error,
    /// Connection refused.
    Refused,
    /// A full server queue or a client limiter turned it away.
    Rejected,
    /// A circuit breaker failed it fast.
    BreakerOpen,
    /// No endpoint to send it to.
    NoServer,
    /// Still open when the driver stopped waiting (never produced by the stack).
    Unfinished,
}

impl FailReason {
    /// Every reason, in the order of the `failed_*` columns of hasim's reports.
    pub const ALL: [FailReason; 7] = [
        FailReason::Timeout,
        FailReason::Error,
        FailReason::Refused,
        FailReason::Rejected,
        FailReason::BreakerOpen,
        FailReason::NoServer,
        FailReason::Unfinished,
    ];

    /// The reason's position in [`FailReason::ALL`], to index counters without a map.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The reason's name in reports and messages (`breaker_open`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FailReason::Timeout => "timeout",
            FailReason::Error => "error",
            FailReason::Refused => "refused",
            FailReason::Rejected => "rejected",
            FailReason::BreakerOpen => "breaker_open",
            FailReason::NoServer => "no_server",
            FailReason::Unfinished => "unfinished",
        }
    }

    /// The call-level reason for an attempt that failed with `kind`.
    pub fn of_attempt(kind: FailureKind) -> FailReason {
        match kind {
            FailureKind::Timeout => FailReason::Timeout,
            FailureKind::Error => FailReason::Error,
            FailureKind::Refused => FailReason::Refused,
            FailureKind::Rejected => FailReason::Rejected,
        }
    }

    /// The failure kind a client-scope breaker records for a call that failed so, if
    /// any: a call that never reached a server (no endpoint, breaker open, unfinished)
    /// records none.
    pub fn attempt_kind(self) -> Option<FailureKind> {
        match self {
            FailReason::Timeout => Some(FailureKind::Timeout),
            FailReason::Error => Some(FailureKind::Error),
            FailReason::Refused => Some(FailureKind::Refused),
            FailReason::Rejected => Some(FailureKind::Rejected),
            FailReason::BreakerOpen | FailReason::NoServer | FailReason::Unfinished => None,
        }
    }
}

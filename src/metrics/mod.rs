//! What a run measured: counters, latency histograms, time windows and load spread.
//!
//! The simulator feeds a [`Recorder`] as calls and attempts happen, then hands it the
//! per-server counters at the end ([`Recorder::finish`]); the result, [`RunMetrics`],
//! holds exactly the numbers that `report` writes to `summary.csv`, `timeseries.csv`
//! and `servers.csv`; the simulator adds the `faults.csv` rows (see SCENARIO.md,
//! "Output files" and "Definitions").
//!
//! # Call order
//!
//! 1. [`Recorder::new`] with the measured interval `[measure_start, measure_end)`.
//! 2. During the run, in simulated-time order: [`Recorder::on_servers_up`] whenever the
//!    number of up servers changes (and once at the start with the initial number);
//!    [`Recorder::on_attempt`] for every attempt of a measured call;
//!    [`Recorder::on_call_end`] once per measured call. Use
//!    [`Recorder::is_measured`] to decide whether a call is measured.
//! 3. [`Recorder::finish`] after the drain, with every server's [`ServerStats`].
//!
//! # Memory
//!
//! Memory does not grow with the number of calls: one summary histogram (3 significant
//! digits) plus, per window, a few counters and a small histogram (2 significant
//! digits) allocated only once the window has an `ok` call.
//!
//! # Empty values
//!
//! A ratio whose denominator is zero (availability of a window without calls, latency
//! with no `ok` call, load spread with no load) is `None` and becomes an empty CSV
//! cell: a made-up 0 or 1 would be read as a measurement.

mod latency;
mod recorder;
mod rows;
pub mod spread;
pub mod stats;

pub use recorder::{Recorder, RecorderConfig};
pub use rows::{Cell, FaultRow, RunMetrics, ServerRow, ServerStats, Summary, WindowRow};

/// How a measured call ended (SCENARIO.md, "Definitions": calls).
///
/// Availability is about calls, so each call ends exactly one way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallResult {
    /// A successful answer; the only result whose latency is recorded.
    Ok,
    /// The fallback answered: the user got something, but not the real answer, so it
    /// is neither `ok` nor `failed`.
    Degraded,
    /// The call failed, for one reason.
    Failed(FailReason),
}

/// Why a call failed; each reason has its own `failed_*` column in `summary.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailReason {
    /// No answer before the attempt timeout or the call deadline (`failed_timeout`).
    Timeout,
    /// The server answered with an error (`failed_error`).
    Error,
    /// Connection refused (`failed_refused`).
    Refused,
    /// A full queue or a limiter rejected it (`failed_rejected`).
    Rejected,
    /// The circuit breaker failed it fast (`failed_breaker_open`).
    BreakerOpen,
    /// No eligible endpoint (`failed_no_server`).
    NoServer,
    /// Still open when the drain ended; counted in `failed` and in the extra column
    /// `failed_unfinished`, so slow calls at the end are never silently dropped.
    Unfinished,
}

impl FailReason {
    /// Every reason, in the order of the `failed_*` columns.
    pub const ALL: [FailReason; 7] = [
        FailReason::Timeout,
        FailReason::Error,
        FailReason::Refused,
        FailReason::Rejected,
        FailReason::BreakerOpen,
        FailReason::NoServer,
        FailReason::Unfinished,
    ];

    /// The reason's position in [`FailReason::ALL`], to index per-reason counters
    /// without a map.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The reason's name in CSV columns and messages (`breaker_open`, ...).
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
}

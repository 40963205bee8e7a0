//! The rows a run produces, with their CSV columns in contract order.
//!
//! Each row type lists its own columns ([`Summary::columns`], ...), so the header and
//! the values can never drift apart, and `comparison.csv` walks the same list.

/// One CSV cell before formatting.
///
/// Keeping the kind (integer, possibly-empty float, text) lets the writer format
/// integers as integers and `None` as an empty cell, in one place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// A count or an id: written as an integer.
    Int(u64),
    /// A ratio or a time: `None` (or a non-finite value) is written as an empty cell.
    Float(Option<f64>),
    /// A name.
    Text(&'a str),
}

impl Cell<'_> {
    /// The cell as a number for averaging over seeds; `None` for text and empty cells.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Cell::Int(v) => Some(v as f64),
            Cell::Float(v) => v.filter(|x| x.is_finite()),
            Cell::Text(_) => None,
        }
    }
}

/// What the simulator knows about one server at the end of a run.
///
/// The recorder never sees servers during the run: the simulator already counts
/// per-server work, so it hands the totals over once, in [`super::Recorder::finish`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerStats {
    /// Instance name, e.g. `"api[3]"`.
    pub name: String,
    /// Its server group.
    pub group: String,
    /// Its zone.
    pub zone: String,
    /// Failover tier (0 = primary).
    pub tier: u32,
    /// Whether the server is in some client's target groups: only those count in the
    /// load spread, since the others are not supposed to get load.
    pub in_target: bool,
    /// Attempts that reached it during the measured interval.
    pub received: u64,
    /// Attempts it served (answered, successfully or with an error).
    pub served: u64,
    /// Attempts its full queue rejected.
    pub rejected: u64,
    /// Attempts it answered with an error.
    pub errors: u64,
    /// Worker-busy time inside the measured interval, summed over workers.
    pub busy_ns: u128,
    /// Requests it serves at once (workers).
    pub concurrency: u32,
    /// Up time inside the measured interval.
    pub up_ns: u64,
}

/// The whole-run numbers: one `summary.csv` row without its `scenario,variant,seed`.
///
/// Field meanings are SCENARIO.md's "Definitions"; `None` is an empty cell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Calls that started in the measured interval.
    pub calls: u64,
    /// Calls with a successful answer.
    pub ok: u64,
    /// Calls the fallback answered.
    pub degraded: u64,
    /// Failed calls, every reason including `unfinished`.
    pub failed: u64,
    /// `ok / calls`; empty without calls.
    pub availability: Option<f64>,
    /// Calls failed by a timeout or deadline.
    pub failed_timeout: u64,
    /// Calls failed by a server error answer.
    pub failed_error: u64,
    /// Calls failed by a refused connection.
    pub failed_refused: u64,
    /// Calls failed by a full queue or a limiter.
    pub failed_rejected: u64,
    /// Calls failed fast by an open breaker.
    pub failed_breaker_open: u64,
    /// Calls failed for want of an eligible endpoint.
    pub failed_no_server: u64,
    /// Attempts (first tries, retries, hedges) of measured calls.
    pub attempts: u64,
    /// `attempts / calls`; empty without calls.
    pub attempts_per_call: Option<f64>,
    /// Exact mean latency of `ok` calls; empty without them.
    pub latency_mean_ms: Option<f64>,
    /// Median latency of `ok` calls (histogram, 3 significant digits).
    pub latency_p50_ms: Option<f64>,
    /// 90th percentile latency of `ok` calls.
    pub latency_p90_ms: Option<f64>,
    /// 99th percentile latency of `ok` calls.
    pub latency_p99_ms: Option<f64>,
    /// 99.9th percentile latency of `ok` calls.
    pub latency_p999_ms: Option<f64>,
    /// Exact maximum latency of `ok` calls.
    pub latency_max_ms: Option<f64>,
    /// Highest server load over the mean load (see [`super::spread`]).
    pub load_max_over_mean: Option<f64>,
    /// Population standard deviation of load over its mean.
    pub load_cv: Option<f64>,
    /// Jain's fairness index of load: 1 even, 1/n all on one.
    pub load_jain: Option<f64>,
    /// Measured windows: ceil(duration / window).
    pub windows: u64,
    /// Windows with availability >= `slo`; windows without calls count.
    pub windows_meeting_slo: u64,
    /// Events the simulator processed (the run's cost, not wall time).
    pub events: u64,
    /// Extra column (after the contract's): calls still open when the drain ended,
    /// also counted in `failed`.
    pub failed_unfinished: u64,
}

impl Summary {
    /// The numeric columns of `summary.csv`, in file order (after
    /// `scenario,variant,seed`).
    pub fn columns(&self) -> Vec<(&'static str, Cell<'static>)> {
        use Cell::{Float as F, Int as I};
        vec![
            ("calls", I(self.calls)),
            ("ok", I(self.ok)),
            ("degraded", I(self.degraded)),
            ("failed", I(self.failed)),
            ("availability", F(self.availability)),
            ("failed_timeout", I(self.failed_timeout)),
            ("failed_error", I(self.failed_error)),
            ("failed_refused", I(self.failed_refused)),
            ("failed_rejected", I(self.failed_rejected)),
            ("failed_breaker_open", I(self.failed_breaker_open)),
            ("failed_no_server", I(self.failed_no_server)),
            ("attempts", I(self.attempts)),
            ("attempts_per_call", F(self.attempts_per_call)),
            ("latency_mean_ms", F(self.latency_mean_ms)),
            ("latency_p50_ms", F(self.latency_p50_ms)),
            ("latency_p90_ms", F(self.latency_p90_ms)),
            ("latency_p99_ms", F(self.latency_p99_ms)),
            ("latency_p999_ms", F(self.latency_p999_ms)),
            ("latency_max_ms", F(self.latency_max_ms)),
            ("load_max_over_mean", F(self.load_max_over_mean)),
            ("load_cv", F(self.load_cv)),
            ("load_jain", F(self.load_jain)),
            ("windows", I(self.windows)),
            ("windows_meeting_slo", I(self.windows_meeting_slo)),
            ("events", I(self.events)),
            ("failed_unfinished", I(self.failed_unfinished)),
        ]
    }
}

/// One time window: a `timeseries.csv` row without its `variant,seed`.
///
/// Calls and attempts are counted in the window of the call's start, so a window's
/// numbers describe the calls that arrived in it, however long they took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowRow {
    /// Window start in seconds, relative to the start of the measured interval.
    pub t_s: f64,
    /// Calls that started in the window.
    pub calls: u64,
    /// Of them, successful.
    pub ok: u64,
    /// Of them, failed (any reason).
    pub failed: u64,
    /// `ok / calls`; empty without calls.
    pub availability: Option<f64>,
    /// Median latency of its `ok` calls (2 significant digits).
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile latency of its `ok` calls (2 significant digits).
    pub latency_p99_ms: Option<f64>,
    /// Attempts of the calls that started in the window.
    pub attempts: u64,
    /// Servers up at the window's start (after every change at that very instant).
    pub servers_up: u32,
    /// Extra column: calls the fallback answered (`calls - ok - failed`).
    pub degraded: u64,
}

impl WindowRow {
    /// The columns of `timeseries.csv` after `variant,seed`, in file order.
    pub fn columns(&self) -> Vec<(&'static str, Cell<'static>)> {
        use Cell::{Float as F, Int as I};
        vec![
            ("t_s", F(Some(self.t_s))),
            ("calls", I(self.calls)),
            ("ok", I(self.ok)),
            ("failed", I(self.failed)),
            ("availability", F(self.availability)),
            ("latency_p50_ms", F(self.latency_p50_ms)),
            ("latency_p99_ms", F(self.latency_p99_ms)),
            ("attempts", I(self.attempts)),
            ("servers_up", I(u64::from(self.servers_up))),
            ("degraded", I(self.degraded)),
        ]
    }
}

/// One server: a `servers.csv` row without its `variant,seed`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerRow {
    /// Instance name, e.g. `"api[3]"`.
    pub server: String,
    /// Server group.
    pub group: String,
    /// Zone.
    pub zone: String,
    /// Failover tier.
    pub tier: u32,
    /// Attempts received in the measured interval.
    pub received: u64,
    /// Attempts served.
    pub served: u64,
    /// Attempts rejected by a full queue.
    pub rejected: u64,
    /// Attempts answered with an error.
    pub errors: u64,
    /// `received` / total `received` over the servers counted in the load spread
    /// (in a target group and up for some of the measured interval), so shares sum to
    /// 1 over them; empty for other servers and when they received nothing.
    pub share: Option<f64>,
    /// `busy_ns / (concurrency * up_ns)`; empty if never up.
    pub utilization: Option<f64>,
    /// `up_ns` / measured duration.
    pub up_fraction: Option<f64>,
}

impl ServerRow {
    /// The columns of `servers.csv` after `variant,seed`, in file order.
    pub fn columns(&self) -> Vec<(&'static str, Cell<'_>)> {
        use Cell::{Float as F, Int as I, Text as T};
        vec![
            ("server", T(&self.server)),
            ("group", T(&self.group)),
            ("zone", T(&self.zone)),
            ("tier", I(u64::from(self.tier))),
            ("received", I(self.received)),
            ("served", I(self.served)),
            ("rejected", I(self.rejected)),
            ("errors", I(self.errors)),
            ("share", F(self.share)),
            ("utilization", F(self.utilization)),
            ("up_fraction", F(self.up_fraction)),
        ]
    }
}

/// One fault: a `faults.csv` row without its `variant,seed`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultRow {
    /// Its position among the scenario's `[[faults]]`, from 0.
    pub fault: u64,
    /// `crash`, `slow`, ...
    pub kind: String,
    /// The selector as written (`api[0]`; both sides for a partition).
    pub target: String,
    /// Start, seconds after the start of the measured interval.
    pub start_s: f64,
    /// End, seconds after the start of the measured interval.
    pub end_s: f64,
    /// Measured calls that started during the fault and failed.
    pub calls_failed: u64,
    /// From the start until the targets received no more attempts; empty if they
    /// never stopped (or the fault hits no servers).
    pub time_to_drain_s: Option<f64>,
    /// From the start until the first window from which every window meets the SLO up
    /// to the end of the run or the next fault; empty if never.
    pub time_to_recover_s: Option<f64>,
}

impl FaultRow {
    /// The columns of `faults.csv` after `variant,seed`, in file order.
    pub fn columns(&self) -> Vec<(&'static str, Cell<'_>)> {
        use Cell::{Float as F, Int as I, Text as T};
        vec![
            ("fault", I(self.fault)),
            ("kind", T(&self.kind)),
            ("target", T(&self.target)),
            ("start_s", F(Some(self.start_s))),
            ("end_s", F(Some(self.end_s))),
            ("calls_failed", I(self.calls_failed)),
            ("time_to_drain_s", F(self.time_to_drain_s)),
            ("time_to_recover_s", F(self.time_to_recover_s)),
        ]
    }
}

/// Everything one run (one variant and seed) measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetrics {
    /// The whole-run numbers.
    pub summary: Summary,
    /// One row per measured window, in time order.
    pub windows: Vec<WindowRow>,
    /// One row per server, in the order the simulator listed them.
    pub servers: Vec<ServerRow>,
    /// One row per declared fault, in file order (filled in by the simulator).
    pub faults: Vec<FaultRow>,
}

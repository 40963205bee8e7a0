//! Production policies as sans-IO state machines.
//!
//! Nothing in this module knows about the simulator: it never imports `sim`,
//! `scenario`, `report` or `experiment`, never reads a clock and never touches OS
//! entropy. Time comes in as `now: Instant` (nanoseconds since any fixed origin the
//! caller picks), randomness through a `&mut R: Rng` argument, outcomes as data. The
//! same code runs inside the simulator and behind a real RPC client.
//!
//! # Call order (every policy)
//!
//! 1. Build from a validated config (`Config::validate()` runs at load time; after it
//!    every call is total: policies do not fail).
//! 2. Before an attempt: ask for a decision (`pick`, `admit`, `decide`, ...) with the
//!    current `now`. Decisions are `#[must_use]` enums with active verbs.
//! 3. When the attempt starts: report it (`on_send`), so client-local in-flight counts
//!    are right.
//! 4. When it ends: report the outcome (`on_complete` / `on_outcome`) with the latency
//!    the client observed. An attempt abandoned without an answer (a hedge that lost)
//!    is reported with `on_cancel`.
//! 5. Policies with timers expose `next_deadline()` (an `Option<Instant>`, or an
//!    `Instant` for the autoscaler, which always has a next tick); the caller calls
//!    back at or after it. Health checks give the delay to the next probe instead
//!    (`next_probe_delay`). No policy sleeps.
//!
//! `now` must never go backwards between calls on the same instance.

pub mod autoscale;
pub mod balancer;
pub mod breaker;
pub mod budget;
pub mod catalog;
pub mod client;
pub mod failover;
pub mod health;
pub mod hedge;
pub mod limiter;
pub mod outlier;
pub mod prefetch;
pub mod retry;
/// Hand-written JSON Schema parts for the custom deserializers.
#[cfg(feature = "schema")]
pub mod schema;
#[cfg(feature = "serde")]
pub mod spelling;
#[cfg(test)]
mod test_rng;
pub mod time;

#[cfg(feature = "serde")]
use serde::Deserialize;

/// The README's examples compile and run with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// This crate's version, for `hasim --version` and bug reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A dense index of an endpoint chosen by the caller (0, 1, 2, ...).
///
/// Policies keep per-endpoint state in `Vec`s indexed by it: no hashing, so iteration
/// order never depends on anything but the ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(pub u32);

impl EndpointId {
    /// The id as a `Vec` index.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a caller knows about one endpoint when it asks for a pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's id.
    pub id: EndpointId,
    /// Its balancing weight (>= 1).
    pub weight: u32,
}

/// Why an attempt (or a call) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FailureKind {
    /// No answer within the attempt timeout.
    Timeout,
    /// The server answered with an error.
    Error,
    /// Connection refused: the server is down.
    Refused,
    /// The server's queue (or a limiter) turned the request away at once.
    Rejected,
}

impl FailureKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FailureKind; 4] = [
        FailureKind::Timeout,
        FailureKind::Error,
        FailureKind::Refused,
        FailureKind::Rejected,
    ];

    /// The name used in scenario files and outputs.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Error => "error",
            FailureKind::Refused => "refused",
            FailureKind::Rejected => "rejected",
        }
    }
}

/// The result of one attempt, or of one call, as a policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A successful answer.
    Success,
    /// A failure of the given kind.
    Failure(FailureKind),
}

impl Outcome {
    /// True for a failure whose kind is in `on`.
    pub fn counts_as_failure(self, on: KindSet) -> bool {
        matches!(self, Outcome::Failure(kind) if on.contains(kind))
    }
}

/// A set of failure kinds: the `on = [...]` lists of retry, breaker and outlier configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindSet(u8);

impl KindSet {
    /// Every failure kind.
    pub const ALL: KindSet = KindSet(0b1111);
    /// No failure kind.
    pub const NONE: KindSet = KindSet(0);

    /// True if `kind` is in the set.
    #[inline]
    pub fn contains(self, kind: FailureKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    /// The set with `kind` added.
    pub fn with(self, kind: FailureKind) -> KindSet {
        KindSet(self.0 | (1 << kind as u8))
    }
}

impl Default for KindSet {
    fn default() -> Self {
        KindSet::ALL
    }
}

#[cfg(feature = "serde")]
impl<'de> Deserialize<'de> for KindSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KindSet, D::Error> {
        let kinds = Vec::<FailureKind>::deserialize(d)?;
        Ok(kinds.into_iter().fold(KindSet::NONE, KindSet::with))
    }
}

/// A configuration value outside its valid range, found once at load time.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The policy the parameter belongs to when the error comes from a whole client
    /// stack (`retry`, `breaker`, ...); `None` for a single policy's own check.
    pub section: Option<&'static str>,
    /// The parameter's name as written in the scenario file (`half_open_calls`).
    pub key: &'static str,
    /// What is wrong and what would be valid.
    pub problem: String,
}

impl ConfigError {
    /// An error for `key`.
    pub fn new(key: &'static str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            section: None,
            key,
            problem: problem.into(),
        }
    }

    /// The same error, said of the parameter `key` of policy `section`.
    pub fn in_section(self, section: &'static str) -> ConfigError {
        ConfigError {
            section: Some(section),
            ..self
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.section {
            Some(section) => write!(f, "`{section}.{}` {}", self.key, self.problem),
            None => write!(f, "`{}` {}", self.key, self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Checks that a probability-like `value` of `key` lies in [0, 1].
pub fn check_fraction(key: &'static str, value: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!("= {value} must be in [0, 1]"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_sets_parse_and_match() {
        #[derive(serde::Deserialize)]
        struct Holder {
            on: KindSet,
        }
        let set = toml::from_str::<Holder>(r#"on = ["timeout", "refused"]"#)
            .unwrap()
            .on;
        assert!(set.contains(FailureKind::Timeout) && set.contains(FailureKind::Refused));
        assert!(!set.contains(FailureKind::Error) && !set.contains(FailureKind::Rejected));
        assert!(Outcome::Failure(FailureKind::Timeout).counts_as_failure(set));
        assert!(!Outcome::Failure(FailureKind::Error).counts_as_failure(set));
        assert!(!Outcome::Success.counts_as_failure(KindSet::ALL));
        let err = toml::from_str::<Holder>(r#"on = ["timeout", "oops"]"#)
            .err()
            .unwrap();
        assert!(err.message().contains("unknown variant `oops`"), "{err}");
    }
}

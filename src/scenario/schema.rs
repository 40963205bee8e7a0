//! The scenario file's typed form: what SCENARIO.md documents, key for key.
//!
//! Every struct denies unknown fields (a typo is an error, never a silent default);
//! defaults are the documented ones. Range checks and references between sections are
//! in `validate.rs`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{de, Deserialize, Deserializer};

use super::faults::FaultConfig;
use crate::dist::Dist;
use crate::policy::autoscale::AutoscaleConfig;
use crate::policy::balancer::BalancerConfig;
use crate::policy::breaker::BreakerConfig;
use crate::policy::client::ClientConfig as PolicyConfig;
pub use crate::policy::client::Fallback;
use crate::policy::failover::{FailoverMode, DEFAULT_OVERPROVISIONING};
use crate::policy::health::HealthCheckConfig;
use crate::policy::hedge::HedgeConfig;
use crate::policy::limiter::LimiterConfig;
use crate::policy::outlier::OutlierConfig;
use crate::policy::retry::RetryConfig;
use crate::policy::spelling;
use crate::time::duration_str;

/// The whole scenario file.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a scenario: top-level keys name, description, [run], [network], [[servers]], [[clients]], [[faults]], [discovery], [autoscale], [[variants]]"
)]
pub struct ScenarioFile {
    /// Default: the file name without `.toml`.
    pub name: Option<String>,
    /// What the scenario shows, for people.
    #[serde(default)]
    pub description: String,
    /// Duration, warmup, seed, windows, limits.
    pub run: RunConfig,
    /// One-way latency and loss between any two nodes.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Server groups.
    pub servers: Vec<ServerGroupConfig>,
    /// Client populations.
    pub clients: Vec<ClientConfig>,
    /// What goes wrong, where and when.
    #[serde(default)]
    pub faults: Vec<FaultConfig>,
    /// How clients learn which servers exist.
    #[serde(default)]
    pub discovery: DiscoveryConfig,
    /// Horizontal autoscaling of one server group.
    #[serde(default)]
    pub autoscale: Option<AutoscaleConfig>,
    /// Named sets of overrides, for `compare`.
    #[serde(default)]
    pub variants: Vec<VariantConfig>,
}

/// `[discovery]`: how clients learn which servers exist.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [discovery] table { kind = \"static\" | \"registry\", ... }"
)]
pub struct DiscoveryConfig {
    /// `static` (default) or `registry`.
    #[serde(default)]
    pub kind: DiscoveryKind,
    /// Registry: interval between a server's heartbeats (default 5s).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub heartbeat: Option<Duration>,
    /// Registry: a server is dropped this long after its last heartbeat (default 15s).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub ttl: Option<Duration>,
    /// Registry, watch mode: clients learn of a change this much later (default 1s).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub propagation: Option<Duration>,
    /// Registry, poll mode: clients fetch the registry this often (Eureka style).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub refresh: Option<Duration>,
}

/// Which discovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryKind {
    /// Every client knows every server from the start and never forgets one.
    #[default]
    Static,
    /// Servers register and heartbeat; clients see what the registry told them.
    Registry,
}

impl DiscoveryConfig {
    /// Heartbeat interval.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat.unwrap_or(Duration::from_secs(5))
    }
    /// Time to live after the last heartbeat.
    pub fn ttl(&self) -> Duration {
        self.ttl.unwrap_or(Duration::from_secs(15))
    }
    /// Watch propagation delay.
    pub fn propagation(&self) -> Duration {
        self.propagation.unwrap_or(Duration::from_secs(1))
    }
}

/// `[run]`: what is simulated and measured.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [run] table { duration = ..., ... }"
)]
pub struct RunConfig {
    /// Measured simulated time (required).
    #[serde(with = "duration_str")]
    #[schemars(schema_with = "crate::policy::schema::duration")]
    pub duration: Duration,
    /// Simulated first, not measured.
    #[serde(with = "duration_str", default)]
    #[schemars(schema_with = "crate::policy::schema::duration")]
    pub warmup: Duration,
    /// The default seed (`--seed` overrides it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Time-series bucket.
    #[serde(with = "duration_str", default = "default_window")]
    #[schemars(schema_with = "crate::policy::schema::duration")]
    pub window: Duration,
    /// Per-window availability objective.
    #[serde(default = "default_slo")]
    pub slo: f64,
    /// Longest time after the measured interval to let measured calls finish.
    #[serde(with = "duration_str", default = "default_drain")]
    #[schemars(schema_with = "crate::policy::schema::duration")]
    pub drain: Duration,
    /// Safety bound on the number of events of one run.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Memory the run's state may hold (`"1GiB"`, or bytes); see `limits.rs`.
    #[serde(
        deserialize_with = "super::limits::bytes_str::deserialize",
        default = "super::limits::default_max_memory"
    )]
    #[schemars(schema_with = "super::json_schema::byte_size")]
    pub max_memory: u64,
}

fn default_seed() -> u64 {
    1
}
fn default_window() -> Duration {
    Duration::from_secs(1)
}
fn default_slo() -> f64 {
    0.999
}
fn default_drain() -> Duration {
    Duration::from_secs(60)
}
/// Large but finite: about 15 minutes of simulation at typical speed.
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;
fn default_max_events() -> u64 {
    DEFAULT_MAX_EVENTS
}

/// `[network]`: every message between a client and a server crosses it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [network] table { latency = ..., loss = ... }"
)]
pub struct NetworkConfig {
    /// One-way latency of each message (default 100us, a datacenter hop).
    #[serde(default = "default_latency")]
    pub latency: Dist,
    /// Probability that a message is dropped.
    #[serde(default)]
    pub loss: f64,
}

fn default_latency() -> Dist {
    Dist::constant(Duration::from_micros(100))
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency: default_latency(),
            loss: 0.0,
        }
    }
}

/// `[[servers]]`: a group of identical servers.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[servers]] table { group = ..., count = ..., service = ... }"
)]
pub struct ServerGroupConfig {
    /// Unique name; servers are `group[0]`, `group[1]`, ...
    pub group: String,
    /// Number of servers (>= 1).
    pub count: u32,
    /// Failure domain, for selectors like `zone:a`.
    #[serde(default = "default_zone")]
    pub zone: String,
    /// Failover priority, 0 = primary.
    #[serde(default)]
    pub tier: u32,
    /// Balancer weight (>= 1).
    #[serde(default = "one")]
    pub weight: u32,
    /// Requests served at once (>= 1).
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Waiting requests allowed; a full queue rejects at once.
    #[serde(default)]
    pub queue: QueueLimit,
    /// Service time of one request on one worker.
    pub service: Dist,
    /// Probability that a served request answers with an error.
    #[serde(default)]
    pub error_rate: f64,
}

fn default_zone() -> String {
    "default".to_string()
}
fn one() -> u32 {
    1
}

/// A queue capacity: `"unbounded"` or a number of waiting requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueLimit {
    /// No limit (the default).
    #[default]
    Unbounded,
    /// At most this many waiting requests (0: reject whenever every worker is busy).
    Bounded(u32),
}

impl<'de> Deserialize<'de> for QueueLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<QueueLimit, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = QueueLimit;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"unbounded\" or a number of waiting requests >= 0")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueueLimit, E> {
                match v {
                    "unbounded" => Ok(QueueLimit::Unbounded),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QueueLimit, E> {
                u32::try_from(v)
                    .map(QueueLimit::Bounded)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `[[clients]]`: a population of identical callers.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[clients]] table { name = ..., target = ..., arrival = ... }"
)]
pub struct ClientConfig {
    /// Unique name; instances are `name[0]`, `name[1]`, ...
    pub name: String,
    /// Independent client processes, each with its own policy state.
    #[serde(default = "one")]
    pub instances: u32,
    /// The server group(s) called.
    pub target: Targets,
    /// How calls arrive (rates are totals over all instances).
    pub arrival: ArrivalConfig,
    /// Per-attempt timeout (default: none).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub timeout: Option<Duration>,
    /// Whole-call deadline including retries (default: none).
    #[serde(with = "duration_str::option", default)]
    #[schemars(schema_with = "crate::policy::schema::optional_duration")]
    pub deadline: Option<Duration>,
    /// How an endpoint is picked.
    #[serde(deserialize_with = "spelling::required", default)]
    #[schemars(schema_with = "crate::policy::schema::balancer")]
    pub balancer: BalancerConfig,
    /// Retries after a failed attempt (default and `"none"`: `attempts = 1`).
    #[serde(deserialize_with = "spelling::or_default", default)]
    #[schemars(schema_with = "crate::policy::schema::retry")]
    pub retry: RetryConfig,
    /// Circuit breaker (absent, `"none"` or `false`: none).
    #[serde(deserialize_with = "spelling::optional", default)]
    #[schemars(schema_with = "crate::policy::schema::breaker")]
    pub breaker: Option<BreakerConfig>,
    /// Hedged requests (absent: none).
    #[serde(deserialize_with = "spelling::optional", default)]
    #[schemars(schema_with = "crate::policy::schema::hedge")]
    pub hedge: Option<HedgeConfig>,
    /// Active health checks (absent: none).
    #[serde(deserialize_with = "spelling::optional", default)]
    #[schemars(schema_with = "crate::policy::schema::health_check")]
    pub health_check: Option<HealthCheckConfig>,
    /// Outlier detection (absent: none).
    #[serde(deserialize_with = "spelling::optional", default)]
    #[schemars(schema_with = "crate::policy::schema::outlier")]
    pub outlier: Option<OutlierConfig>,
    /// Client-side limiter (absent: none).
    #[serde(deserialize_with = "spelling::optional", default)]
    #[schemars(schema_with = "crate::policy::schema::limiter")]
    pub limiter: Option<LimiterConfig>,
    /// What the caller gets when a call cannot succeed.
    #[serde(default)]
    pub fallback: Fallback,
    /// How traffic spreads over tiers of the target groups.
    #[serde(default)]
    pub failover: FailoverMode,
    /// Envoy's overprovisioning factor for `failover = "priority"`.
    #[serde(default = "default_overprovisioning")]
    pub overprovisioning: f64,
    /// Below this fraction of eligible endpoints, ignore health (panic mode).
    #[serde(default = "default_panic_threshold")]
    pub panic_threshold: f64,
}

impl ClientConfig {
    /// The policy keys of this population, as the client stack takes them (the same
    /// keys a production client deserializes; see `hasim_policy::client`).
    pub fn policy(&self) -> PolicyConfig {
        let mut p = PolicyConfig::default();
        p.timeout = self.timeout;
        p.deadline = self.deadline;
        p.balancer = self.balancer.clone();
        p.retry = self.retry.clone();
        p.breaker = self.breaker.clone();
        p.hedge = self.hedge.clone();
        p.health_check = self.health_check.clone();
        p.outlier = self.outlier.clone();
        p.limiter = self.limiter.clone();
        p.fallback = self.fallback;
        p.failover = self.failover;
        p.overprovisioning = self.overprovisioning;
        p.panic_threshold = self.panic_threshold;
        p
    }
}

fn default_overprovisioning() -> f64 {
    DEFAULT_OVERPROVISIONING
}
fn default_panic_threshold() -> f64 {
    0.5
}

/// A client's target: one group name or a list of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets(pub Vec<String>);

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Targets, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        match OneOrMany::deserialize(d)
            .map_err(|_| de::Error::custom("expected a server group name or a list of them"))?
        {
            OneOrMany::One(s) => Ok(Targets(vec![s])),
            OneOrMany::Many(v) => Ok(Targets(v)),
        }
    }
}

/// How calls arrive at one client population.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(
    tag = "process",
    rename_all = "snake_case",
    deny_unknown_fields,
    expecting = "an arrival table { process = \"poisson\" | \"constant\" | \"burst\" | \"closed\", ... }"
)]
pub enum ArrivalConfig {
    /// Poisson arrivals at `rate` calls/s in total, split evenly over instances.
    Poisson {
        /// Calls per second over all instances.
        rate: f64,
    },
    /// Evenly spaced arrivals at `rate` calls/s in total.
    Constant {
        /// Calls per second over all instances.
        rate: f64,
    },
    /// Poisson at `rate`, switching to `burst_rate` from `at` (after the warmup) for
    /// `duration`: a traffic burst.
    Burst {
        /// Calls per second outside the burst, over all instances.
        rate: f64,
        /// Calls per second during the burst, over all instances.
        burst_rate: f64,
        /// Burst start, counted from the end of the warmup.
        #[serde(with = "duration_str")]
        #[schemars(schema_with = "crate::policy::schema::duration")]
        at: Duration,
        /// Burst length.
        #[serde(with = "duration_str")]
        #[schemars(schema_with = "crate::policy::schema::duration")]
        duration: Duration,
    },
    /// `concurrency` callers per instance; each starts its next call when the previous
    /// ends, after thinking.
    Closed {
        /// Callers per instance.
        concurrency: u32,
        /// Think time between a call's end and the next call (required, mean > 0).
        think: Dist,
    },
}

/// `[[variants]]`: a named set of overrides.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[variants]] table { name = ..., set = { ... } }"
)]
pub struct VariantConfig {
    /// Shown in outputs (`variant` column).
    pub name: String,
    /// Dotted keys and values, as with `--set`.
    #[serde(default)]
    #[schemars(schema_with = "super::json_schema::variant_set")]
    pub set: toml::Table,
}

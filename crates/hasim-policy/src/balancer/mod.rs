//! Load balancers: pick one endpoint among those the caller says are eligible.
//!
//! Each balancer keeps only its own client's view (client-local in-flight counts, the
//! latencies it observed), never the servers' true state: that is all a real client
//! knows. Health, ejection, endpoint breakers, panic mode and "avoid endpoints this
//! call already tried" are the caller's business: it passes the resulting eligible list.
//!
//! # Call order
//!
//! ```text
//! let mut b = Balancer::new(&config, &setup, &mut rng);
//! let known_generation = None; // or a number that changes whenever `known` does
//! let req = PickRequest { now, eligible, known, hash_key, known_generation };
//! let ep = b.pick(&req, &mut rng);
//! b.on_send(now, ep);                                  // the attempt leaves
//! b.on_complete(later, ep, outcome, latency);          // its answer (or timeout) arrives
//! // or b.on_cancel(later, ep) if the caller abandons it (a hedge that lost)
//! ```
//!
//! Every `on_send` is matched by exactly one `on_complete` or `on_cancel`.
//!
//! # Kinds and files
//!
//! One file per algorithm; `common.rs` holds in-flight counts, sampling without
//! allocation and the fixed hash mixer, `ewma.rs` the latency estimates.
//!
//! | kind | file | state |
//! |---|---|---|
//! | `round_robin`, `random` | `round_robin.rs`, `random.rs` | a counter / none |
//! | `weighted_round_robin` | `weighted_round_robin.rs` | EDF heap over the eligible set |
//! | `weighted_random` | `weighted_random.rs` | none |
//! | `least_connections`, `p2c` | `least_connections.rs`, `p2c.rs` | in-flight counts |
//! | `peak_ewma` | `peak_ewma.rs` | in-flight counts, peak-EWMA latencies |
//! | `least_response_time` | `least_response_time.rs` | in-flight counts, decaying EWMA latencies |
//! | `ring_hash`, `maglev` | `ring_hash.rs`, `maglev.rs` | ring / table over `known` |
//!
//! A pick allocates only when it rebuilds: the schedule, ring and table are rebuilt
//! only when the set they cover (ids and weights) changes. All state is in `Vec`s indexed
//! by endpoint id, and the only hashing is `common::mix64`, fixed across runs.

mod common;
pub(crate) use common::{range_start, Candidates};
mod edf;
mod ewma;
mod least_connections;
mod least_response_time;
mod maglev;
mod p2c;
mod peak_ewma;
#[cfg(test)]
mod proptests;
mod random;
mod ring_hash;
mod round_robin;
mod weighted_random;
mod weighted_round_robin;

pub use edf::{EdfScheduler, MAX_PRE_PICKS};
pub use least_connections::LeastConnections;
pub use least_response_time::{LeastResponseTime, LeastResponseTimeConfig};
pub use maglev::{Maglev, MaglevConfig, MAX_TABLE_SIZE};
pub use p2c::{P2c, P2cConfig, MAX_CHOICES};
pub use peak_ewma::{PeakEwma, PeakEwmaConfig};
pub use random::Random;
pub use ring_hash::{RingHash, RingHashConfig, MAX_RING_ENTRIES};
pub use round_robin::RoundRobin;
pub use weighted_random::WeightedRandom;
pub use weighted_round_robin::WeightedRoundRobin;

use std::time::Duration;

use rand::Rng;
#[cfg(feature = "serde")]
use serde::Deserializer;

use crate::time::Instant;
use crate::{ConfigError, Endpoint, EndpointId, Outcome};

/// A balancer as written in a scenario: a kind name (`"p2c"`) or a table
/// (`{ kind = "p2c", choices = 3 }`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "serde",
    serde(
        tag = "kind",
        rename_all = "snake_case",
        deny_unknown_fields,
        expecting = "a balancer table { kind = \"...\", ... }"
    )
)]
pub enum BalancerConfig {
    /// Next eligible endpoint in order, from a random start (Envoy, gRPC).
    RoundRobin {},
    /// Uniform over the eligible endpoints (Envoy RANDOM).
    Random {},
    /// Earliest-deadline-first by weight (Envoy EDF).
    WeightedRoundRobin {},
    /// Random with probability proportional to weight.
    WeightedRandom {},
    /// Fewest client-local in-flight attempts over all eligible endpoints.
    LeastConnections {},
    /// Least in-flight of `choices` random picks: distinct ones (Finagle, tower,
    /// `distinct = true`) or with replacement (Envoy LEAST_REQUEST, `distinct = false`).
    P2c(P2cConfig),
    /// Peak-EWMA latency x load over two random picks (Finagle, tower, Linkerd).
    PeakEwma(PeakEwmaConfig),
    /// Lowest moving-average latency x (in-flight + 1) (nginx-plus `least_time`).
    LeastResponseTime(LeastResponseTimeConfig),
    /// Consistent hashing on a ring (Envoy RING_HASH).
    RingHash(RingHashConfig),
    /// Maglev lookup table (Envoy MAGLEV).
    Maglev(MaglevConfig),
}

impl Default for BalancerConfig {
    fn default() -> Self {
        BalancerConfig::RoundRobin {}
    }
}

/// Every balancer kind with its parameters and a one-line description, for
/// `hasim policies` and error messages.
pub const KINDS: &[(&str, &str, &str)] = &[
    (
        "round_robin",
        "",
        "next eligible endpoint in order; each instance starts at a random offset (Envoy, gRPC)",
    ),
    (
        "random",
        "",
        "uniform over the eligible endpoints (Envoy RANDOM)",
    ),
    (
        "weighted_round_robin",
        "",
        "earliest-deadline-first by weight, ties in insertion order, started with a random number of emulated picks and weight changes applied at the next pick (Envoy EDF, createWithPicks); retries do not move the schedule",
    ),
    (
        "weighted_random",
        "",
        "random with probability proportional to weight",
    ),
    (
        "least_connections",
        "",
        "fewest client-local in-flight attempts, full scan, ties at random",
    ),
    (
        "p2c",
        "choices = 2, distinct = true",
        "least in-flight of `choices` random picks, ties to the first drawn; distinct = true: two different endpoints (Finagle P2C, tower p2c); distinct = false: drawn with replacement, may pick one endpoint twice (Envoy LEAST_REQUEST choice_count)",
    ),
    (
        "peak_ewma",
        "decay = \"10s\", default_rtt = \"30ms\", penalize_failures = true",
        "two random picks, cost = peak-EWMA latency x (in-flight + 1) (Finagle, tower, Linkerd)",
    ),
    (
        "least_response_time",
        "decay = \"10s\", penalize_failures = true",
        "lowest moving-average latency x (in-flight + 1), full scan, ties at random; averages decay toward 0 while idle (nginx-plus least_time)",
    ),
    (
        "ring_hash",
        "ring_size = 1024, key_space = 1000000",
        "consistent hashing on a ring, ring_size entries per weight (Envoy RING_HASH)",
    ),
    (
        "maglev",
        "table_size = 65537, key_space = 1000000",
        "Maglev lookup table of prime size (Envoy MAGLEV)",
    ),
];

impl BalancerConfig {
    /// True for the kinds that read [`PickRequest::hash_key`] (`ring_hash`, `maglev`):
    /// a driver whose request keys serve nothing else may skip computing them for the
    /// other kinds, which ignore the key.
    pub fn reads_hash_key(&self) -> bool {
        matches!(
            self,
            BalancerConfig::RingHash(_) | BalancerConfig::Maglev(_)
        )
    }

    /// The kind's name as written in scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            BalancerConfig::RoundRobin {} => "round_robin",
            BalancerConfig::Random {} => "random",
            BalancerConfig::WeightedRoundRobin {} => "weighted_round_robin",
            BalancerConfig::WeightedRandom {} => "weighted_random",
            BalancerConfig::LeastConnections {} => "least_connections",
            BalancerConfig::P2c(_) => "p2c",
            BalancerConfig::PeakEwma(_) => "peak_ewma",
            BalancerConfig::LeastResponseTime(_) => "least_response_time",
            BalancerConfig::RingHash(_) => "ring_hash",
            BalancerConfig::Maglev(_) => "maglev",
        }
    }

    /// Checks every parameter; after this, building and using the balancer is total.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            BalancerConfig::RoundRobin {}
            | BalancerConfig::Random {}
            | BalancerConfig::WeightedRoundRobin {}
            | BalancerConfig::WeightedRandom {}
            | BalancerConfig::LeastConnections {} => Ok(()),
            BalancerConfig::P2c(c) => c.validate(),
            BalancerConfig::PeakEwma(c) => c.validate(),
            BalancerConfig::LeastResponseTime(c) => c.validate(),
            BalancerConfig::RingHash(c) => c.validate(),
            BalancerConfig::Maglev(c) => c.validate(),
        }
    }

    /// Checks what depends on the scenario's endpoint count rather than on the
    /// balancer alone: a Maglev table needs at least one slot per endpoint. Call it
    /// with the largest number of endpoints a client can know.
    pub fn validate_endpoints(&self, max_known: usize) -> Result<(), ConfigError> {
        match self {
            BalancerConfig::Maglev(c) => c.check_endpoints(max_known),
            _ => Ok(()),
        }
    }
}

/// Serde adapter so a config field can be `"p2c"` or `{ kind = "p2c", ... }`:
/// use `#[cfg_attr(feature = "serde", serde(deserialize_with = "balancer::deserialize_config"))]`.
#[cfg(feature = "serde")]
pub fn deserialize_config<'de, D: Deserializer<'de>>(d: D) -> Result<BalancerConfig, D::Error> {
    crate::spelling::required(d)
}

/// What the caller tells a balancer once, when building it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// The client's per-attempt timeout: latency-based balancers charge a failed
    /// attempt this long (`penalize_failures`), so failing fast never looks attractive.
    pub attempt_timeout: Option<Duration>,
}

/// One pick: what the caller knows right now.
#[derive(Clone, Copy, Debug)]
pub struct PickRequest<'a> {
    /// The current time; never earlier than in a previous call.
    pub now: Instant,
    /// The endpoints the pick may return, sorted by id, each id once. Never empty.
    pub eligible: &'a [Endpoint],
    /// Every endpoint in the client's view, sorted by id: hashing balancers build their
    /// ring over it, so a key keeps its endpoint while others come and go.
    pub known: &'a [Endpoint],
    /// The request key for hashing balancers (ignored by the others).
    pub hash_key: u64,
    /// A number the caller changes whenever `known` changes (an endpoint joins, leaves
    /// or is reweighed), or `None` if it keeps none. Ring hash and maglev rebuild when
    /// `known` changes: with a generation they tell in O(1); without, they compare
    /// `known` with the list they were built over, O(n) per pick.
    pub known_generation: Option<u64>,
}

/// A balancer of any kind (a closed enum: dispatch without allocation or `dyn`).
#[derive(Clone, Debug)]
pub enum Balancer {
    /// See [`RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`Random`].
    Random(Random),
    /// See [`WeightedRoundRobin`].
    WeightedRoundRobin(WeightedRoundRobin),
    /// See [`WeightedRandom`].
    WeightedRandom(WeightedRandom),
    /// See [`LeastConnections`].
    LeastConnections(LeastConnections),
    /// See [`P2c`].
    P2c(P2c),
    /// See [`PeakEwma`].
    PeakEwma(PeakEwma),
    /// See [`LeastResponseTime`].
    LeastResponseTime(LeastResponseTime),
    /// See [`RingHash`].
    RingHash(RingHash),
    /// See [`Maglev`].
    Maglev(Maglev),
}

impl Balancer {
    /// The balancer of `config`. `rng` seeds random starting points.
    ///
    /// # Errors
    ///
    /// The first problem [`BalancerConfig::validate`] finds; its `key` names the field.
    pub fn try_new<R: Rng + ?Sized>(
        config: &BalancerConfig,
        setup: &Setup,
        rng: &mut R,
    ) -> Result<Balancer, ConfigError> {
        config.validate()?;
        Ok(Balancer::build(config, setup, rng))
    }

    /// [`Balancer::try_new`] for a config known to be valid (checked at load time).
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails, in every build: no invalid config builds a balancer.
    pub fn new<R: Rng + ?Sized>(config: &BalancerConfig, setup: &Setup, rng: &mut R) -> Balancer {
        Balancer::try_new(config, setup, rng)
            .unwrap_or_else(|e| panic!("invalid balancer config: {e}"))
    }

    /// Builds from a config that passed `validate()`.
    fn build<R: Rng + ?Sized>(config: &BalancerConfig, setup: &Setup, rng: &mut R) -> Balancer {
        match config {
            BalancerConfig::RoundRobin {} => Balancer::RoundRobin(RoundRobin::new(rng)),
            BalancerConfig::Random {} => Balancer::Random(Random),
            BalancerConfig::WeightedRoundRobin {} => {
                Balancer::WeightedRoundRobin(WeightedRoundRobin::new())
            }
            BalancerConfig::WeightedRandom {} => Balancer::WeightedRandom(WeightedRandom),
            BalancerConfig::LeastConnections {} => {
                Balancer::LeastConnections(LeastConnections::new())
            }
            BalancerConfig::P2c(c) => Balancer::P2c(P2c::new(c)),
            BalancerConfig::PeakEwma(c) => Balancer::PeakEwma(PeakEwma::new(c, setup)),
            BalancerConfig::LeastResponseTime(c) => {
                Balancer::LeastResponseTime(LeastResponseTime::new(c, setup))
            }
            BalancerConfig::RingHash(c) => Balancer::RingHash(RingHash::new(c)),
            BalancerConfig::Maglev(c) => Balancer::Maglev(Maglev::new(c)),
        }
    }

    /// Picks an endpoint from `req.eligible` (never empty).
    #[must_use]
    pub fn pick<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        debug_assert!(
            !req.eligible.is_empty(),
            "the caller handles an empty eligible set"
        );
        match self {
            Balancer::RoundRobin(b) => b.pick(req),
            Balancer::Random(b) => b.pick(req, rng),
            Balancer::WeightedRoundRobin(b) => b.pick(req, rng),
            Balancer::WeightedRandom(b) => b.pick(req, rng),
            Balancer::LeastConnections(b) => b.pick(req, rng),
            Balancer::P2c(b) => b.pick(req, rng),
            Balancer::PeakEwma(b) => b.pick(req, rng),
            Balancer::LeastResponseTime(b) => b.pick(req, rng),
            Balancer::RingHash(b) => b.pick(req),
            Balancer::Maglev(b) => b.pick(req),
        }
    }

    /// Picks an endpoint for a further attempt of a call already sent (a retry or a
    /// hedge), from `req.eligible` (never empty; typically narrowed to the endpoints
    /// the call has not tried). Weighted round robin answers from its schedule without
    /// moving it, so retries do not skew the first attempts' shares; every other kind
    /// picks as [`Balancer::pick`] does.
    #[must_use]
    pub fn pick_again<R: Rng + ?Sized>(&mut self, req: &PickRequest, rng: &mut R) -> EndpointId {
        match self {
            Balancer::WeightedRoundRobin(b) => b.pick_again(req, rng),
            _ => self.pick(req, rng),
        }
    }

    /// [`Balancer::pick_again`] over `req.eligible` minus the entries at positions
    /// `skip` (strictly ascending, fewer than the list's length), read in place
    /// instead of removed from the list and put back. `None` for the kinds that need
    /// the shortened list itself (those that scan it, keep a schedule over it, or look
    /// ids up in it); the caller then shortens it. The kinds that answer pick exactly
    /// what they would from the shortened list, with the same draws.
    pub(crate) fn pick_skipping<R: Rng + ?Sized>(
        &mut self,
        req: &PickRequest,
        skip: &[usize],
        rng: &mut R,
    ) -> Option<EndpointId> {
        let candidates = common::Candidates::skipping(req.eligible, skip);
        match self {
            Balancer::RoundRobin(b) => Some(b.pick_in(candidates)),
            Balancer::Random(b) => Some(b.pick_in(candidates, rng)),
            Balancer::P2c(b) => Some(b.pick_in(candidates, rng)),
            Balancer::PeakEwma(b) => Some(b.pick_in(req.now, candidates, rng)),
            Balancer::WeightedRoundRobin(_)
            | Balancer::WeightedRandom(_)
            | Balancer::LeastConnections(_)
            | Balancer::LeastResponseTime(_)
            | Balancer::RingHash(_)
            | Balancer::Maglev(_) => None,
        }
    }

    /// An attempt to `ep` has been sent.
    ///
    /// Inline: for the six kinds that keep no load it is nothing, which a call
    /// would still pay for on every attempt (W1: 25 instructions).
    #[inline]
    pub fn on_send(&mut self, now: Instant, ep: EndpointId) {
        let _ = now;
        match self {
            Balancer::LeastConnections(b) => b.on_send(ep),
            Balancer::P2c(b) => b.on_send(ep),
            Balancer::PeakEwma(b) => b.on_send(now, ep),
            Balancer::LeastResponseTime(b) => b.on_send(ep),
            Balancer::RoundRobin(_)
            | Balancer::Random(_)
            | Balancer::WeightedRoundRobin(_)
            | Balancer::WeightedRandom(_)
            | Balancer::RingHash(_)
            | Balancer::Maglev(_) => {}
        }
    }

    /// An attempt to `ep` ended with `outcome` after `latency` (as the client saw it).
    /// Inline for the same reason as [`Balancer::on_send`].
    #[inline]
    pub fn on_complete(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        latency: Duration,
    ) {
        match self {
            Balancer::LeastConnections(b) => b.on_done(ep),
            Balancer::P2c(b) => b.on_done(ep),
            Balancer::PeakEwma(b) => b.on_complete(now, ep, outcome, latency),
            Balancer::LeastResponseTime(b) => b.on_complete(now, ep, outcome, latency),
            Balancer::RoundRobin(_)
            | Balancer::Random(_)
            | Balancer::WeightedRoundRobin(_)
            | Balancer::WeightedRandom(_)
            | Balancer::RingHash(_)
            | Balancer::Maglev(_) => {}
        }
    }

    /// An attempt to `ep` was abandoned without an answer (a hedge that lost): it
    /// leaves the in-flight count but teaches nothing about latency.
    pub fn on_cancel(&mut self, now: Instant, ep: EndpointId) {
        let _ = now;
        match self {
            Balancer::LeastConnections(b) => b.on_done(ep),
            Balancer::P2c(b) => b.on_done(ep),
            Balancer::PeakEwma(b) => b.on_cancel(ep),
            Balancer::LeastResponseTime(b) => b.on_cancel(ep),
            Balancer::RoundRobin(_)
            | Balancer::Random(_)
            | Balancer::WeightedRoundRobin(_)
            | Balancer::WeightedRandom(_)
            | Balancer::RingHash(_)
            | Balancer::Maglev(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "deserialize_config")]
        b: BalancerConfig,
    }

    fn parse(text: &str) -> Result<BalancerConfig, String> {
        toml::from_str::<Holder>(&format!("b = {text}"))
            .map(|h| h.b)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn shorthand_and_table_forms() {
        assert_eq!(parse(r#""random""#).unwrap(), BalancerConfig::Random {});
        assert_eq!(
            parse(r#"{ kind = "round_robin" }"#).unwrap(),
            BalancerConfig::RoundRobin {}
        );
    }

    #[test]
    fn every_kind_parses_with_defaults_and_validates() {
        for (name, params, _) in KINDS {
            let config = parse(&format!("\"{name}\"")).unwrap();
            assert_eq!(config.kind(), *name);
            assert_eq!(config.validate(), Ok(()), "{name}");
            assert_eq!(parse(&format!("{{ kind = \"{name}\" }}")).unwrap(), config);
            // The parameters listed in KINDS are exactly the defaults.
            let sep = if params.is_empty() { "" } else { ", " };
            let spelled = parse(&format!("{{ kind = \"{name}\"{sep}{params} }}")).unwrap();
            assert_eq!(spelled, config, "{name}");
            let _ = Balancer::new(
                &config,
                &Setup::default(),
                &mut crate::test_rng::stream(1, crate::test_rng::Role::Policy, 0),
            );
        }
        assert_eq!(
            parse(r#""peak_ewma""#).unwrap(),
            BalancerConfig::PeakEwma(PeakEwmaConfig {
                decay: Duration::from_secs(10),
                default_rtt: Duration::from_millis(30),
                penalize_failures: true,
            })
        );
    }

    #[test]
    fn parameters_parse_and_bad_values_fail_validation() {
        assert_eq!(
            parse(r#"{ kind = "p2c", choices = 3, distinct = false }"#).unwrap(),
            BalancerConfig::P2c(P2cConfig {
                choices: 3,
                distinct: false
            })
        );
        let lrt = parse(r#"{ kind = "least_response_time", decay = "2s" }"#).unwrap();
        assert_eq!(
            lrt,
            BalancerConfig::LeastResponseTime(LeastResponseTimeConfig {
                decay: Duration::from_secs(2),
                penalize_failures: true
            })
        );
        let check_bad = |text: &str, key: &str| {
            let err = parse(text).unwrap().validate().unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
        };
        check_bad(r#"{ kind = "p2c", choices = 1 }"#, "choices");
        check_bad(r#"{ kind = "peak_ewma", decay = "0s" }"#, "decay");
        check_bad(
            r#"{ kind = "peak_ewma", default_rtt = "0ms" }"#,
            "default_rtt",
        );
        check_bad(r#"{ kind = "ring_hash", ring_size = 0 }"#, "ring_size");
        check_bad(r#"{ kind = "maglev", table_size = 65536 }"#, "table_size");
        check_bad(r#"{ kind = "maglev", key_space = 0 }"#, "key_space");
        let maglev = parse(r#"{ kind = "maglev", table_size = 7 }"#).unwrap();
        assert!(maglev.validate_endpoints(7).is_ok());
        assert_eq!(maglev.validate_endpoints(8).unwrap_err().key, "table_size");
        let err = parse(r#"{ kind = "peak_ewma", decay = 10 }"#).unwrap_err();
        assert!(err.contains("no unit"), "{err}");
        let err = parse(r#"{ kind = "ring_hash", replicas = 3 }"#).unwrap_err();
        assert!(err.contains("unknown field `replicas`"), "{err}");
    }

    /// A retry's pick over the list read around the skipped positions (no `memmove`)
    /// returns what a pick over the shortened list returns, with the same draws, for
    /// every kind that answers `pick_skipping`: with lists that are a whole range of
    /// ids (ids computed) and lists with gaps (ids read), in and out of load.
    #[test]
    fn picking_around_skipped_entries_equals_picking_from_the_shortened_list() {
        use rand::Rng;
        let mut cases = crate::test_rng::stream(3, crate::test_rng::Role::Policy, 0);
        let configs = [
            BalancerConfig::RoundRobin {},
            BalancerConfig::Random {},
            BalancerConfig::P2c(P2cConfig::default()),
            BalancerConfig::P2c(P2cConfig {
                choices: 3,
                distinct: false,
            }),
            BalancerConfig::PeakEwma(PeakEwmaConfig::default()),
        ];
        for config in &configs {
            let mut rng = crate::test_rng::stream(4, crate::test_rng::Role::Policy, 1);
            let mut skipping = Balancer::new(config, &Setup::default(), &mut rng);
            let mut shortened = skipping.clone();
            for round in 0..2_000u32 {
                // 2 to 12 endpoints from a start id, with gaps in odd rounds.
                let n = cases.random_range(2..=12u32);
                let start = cases.random_range(0..5u32);
                let ids: Vec<u32> = (0..n)
                    .map(|i| start + i * if round % 2 == 1 { 2 } else { 1 })
                    .collect();
                let list: Vec<Endpoint> = ids
                    .iter()
                    .map(|&id| Endpoint {
                        id: EndpointId(id),
                        weight: 1,
                    })
                    .collect();
                let mut skip: Vec<usize> = (0..n as usize)
                    .filter(|_| cases.random_range(0..4) == 0)
                    .collect();
                skip.truncate(n as usize - 1);
                let rest: Vec<Endpoint> = (0..list.len())
                    .filter(|i| !skip.contains(i))
                    .map(|i| list[i])
                    .collect();
                let now = Instant::from_nanos(u64::from(round) * 1_000);
                let request = |eligible| PickRequest {
                    now,
                    eligible,
                    known: &list,
                    hash_key: 0,
                    known_generation: None,
                };
                let mut r2 = rng.clone();
                let a = skipping
                    .pick_skipping(&request(&list[..]), &skip, &mut rng)
                    .expect("these kinds read around skipped entries");
                let b = shortened.pick_again(&request(&rest[..]), &mut r2);
                assert_eq!(
                    a,
                    b,
                    "{} round {round}: {ids:?} skip {skip:?}",
                    config.kind()
                );
                assert_eq!(rng, r2, "the same draws");
                // Some load, so least-loaded kinds have something to compare.
                for bal in [&mut skipping, &mut shortened] {
                    bal.on_send(now, a);
                    if round % 3 == 0 {
                        bal.on_complete(now, a, Outcome::Success, Duration::from_millis(2));
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_kinds_and_parameters_are_errors() {
        let err = parse(r#""fastest""#).unwrap_err();
        assert!(err.contains("unknown balancer kind `fastest`"), "{err}");
        assert!(err.contains("round_robin"), "lists the valid kinds: {err}");
        let err = parse(r#"{ kind = "random", choices = 2 }"#).unwrap_err();
        assert!(err.contains("unknown field `choices`"), "{err}");
    }
}

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
//! let ep = b.pick(&PickRequest { now, eligible, known, hash_key }, &mut rng);
//! b.on_send(now, ep);                                  // the attempt leaves
//! b.on_complete(later, ep, outcome, latency);          // its answer (or timeout) arrives
//! // or b.on_cancel(later, ep) if the caller abandons it (a hedge that lost)
//! ```
//!
//! Every `on_send` is matched by exactly one `on_complete` or `on_cancel`.

mod random;
mod round_robin;

pub use random::Random;
pub use round_robin::RoundRobin;

use std::time::Duration;

use rand::Rng;
use serde::de::{self, value::MapDeserializer, IntoDeserializer};
use serde::{Deserialize, Deserializer};

use crate::policy::{ConfigError, Endpoint, EndpointId, Outcome};
use crate::time::Instant;

/// A balancer as written in a scenario: a kind name (`"p2c"`) or a table
/// (`{ kind = "p2c", choices = 3 }`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BalancerConfig {
    /// Next eligible endpoint in order, from a random start (Envoy, gRPC).
    RoundRobin {},
    /// Uniform over the eligible endpoints (Envoy RANDOM).
    Random {},
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
];

impl BalancerConfig {
    /// The kind's name as written in scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            BalancerConfig::RoundRobin {} => "round_robin",
            BalancerConfig::Random {} => "random",
        }
    }

    /// Checks every parameter; after this, building and using the balancer is total.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            BalancerConfig::RoundRobin {} | BalancerConfig::Random {} => Ok(()),
        }
    }

    /// Reads the string shorthand or the table form.
    fn from_any<'de, D: Deserializer<'de>>(d: D) -> Result<BalancerConfig, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = BalancerConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                let names: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
                write!(
                    f,
                    "a balancer kind or a table {{ kind = ... }}; kinds: {}",
                    names.join(", ")
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BalancerConfig, E> {
                let map =
                    MapDeserializer::<_, E>::new(std::iter::once(("kind", v.into_deserializer())));
                BalancerConfig::deserialize(map)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<BalancerConfig, A::Error> {
                BalancerConfig::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Serde adapter so a config field can be `"p2c"` or `{ kind = "p2c", ... }`:
/// use `#[serde(deserialize_with = "balancer::deserialize_config")]`.
pub fn deserialize_config<'de, D: Deserializer<'de>>(d: D) -> Result<BalancerConfig, D::Error> {
    BalancerConfig::from_any(d)
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
    /// The endpoints the pick may return, sorted by id. Never empty.
    pub eligible: &'a [Endpoint],
    /// Every endpoint in the client's view, sorted by id: hashing balancers build their
    /// ring over it, so a key keeps its endpoint while others come and go.
    pub known: &'a [Endpoint],
    /// The request key for hashing balancers (ignored by the others).
    pub hash_key: u64,
}

/// A balancer of any kind (a closed enum: dispatch without allocation or `dyn`).
#[derive(Clone, Debug)]
pub enum Balancer {
    /// See [`RoundRobin`].
    RoundRobin(RoundRobin),
    /// See [`Random`].
    Random(Random),
}

impl Balancer {
    /// Builds the balancer of a validated config. `rng` seeds random starting points.
    pub fn new<R: Rng + ?Sized>(config: &BalancerConfig, _setup: &Setup, rng: &mut R) -> Balancer {
        match config {
            BalancerConfig::RoundRobin {} => Balancer::RoundRobin(RoundRobin::new(rng)),
            BalancerConfig::Random {} => Balancer::Random(Random),
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
        }
    }

    /// An attempt to `ep` has been sent.
    pub fn on_send(&mut self, now: Instant, ep: EndpointId) {
        let _ = (now, ep);
        match self {
            Balancer::RoundRobin(_) | Balancer::Random(_) => {}
        }
    }

    /// An attempt to `ep` ended with `outcome` after `latency` (as the client saw it).
    pub fn on_complete(
        &mut self,
        now: Instant,
        ep: EndpointId,
        outcome: Outcome,
        latency: Duration,
    ) {
        let _ = (now, ep, outcome, latency);
        match self {
            Balancer::RoundRobin(_) | Balancer::Random(_) => {}
        }
    }

    /// An attempt to `ep` was abandoned without an answer (a hedge that lost).
    pub fn on_cancel(&mut self, now: Instant, ep: EndpointId) {
        let _ = (now, ep);
        match self {
            Balancer::RoundRobin(_) | Balancer::Random(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
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
    fn unknown_kinds_and_parameters_are_errors() {
        let err = parse(r#""fastest""#).unwrap_err();
        assert!(err.contains("unknown variant `fastest`"), "{err}");
        assert!(err.contains("round_robin"), "lists the valid kinds: {err}");
        let err = parse(r#"{ kind = "random", choices = 2 }"#).unwrap_err();
        assert!(err.contains("unknown field `choices`"), "{err}");
    }
}

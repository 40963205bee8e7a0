//! One way to write every policy table (serde side).
//!
//! Every policy value in a scenario is written the same way:
//!
//! - a table, whose `kind` chooses the kind where a policy has several
//!   (`breaker = { kind = "hystrix", wait_in_open = "5s" }`);
//! - a bare word as shorthand for `{ kind = "word" }` with every parameter at its
//!   default (`balancer = "p2c"`, `limiter = "aimd"`);
//! - `"none"` or `false` to remove an optional policy (`breaker = "none"`), which is
//!   what `--set clients.web.breaker=none` needs to compare "with vs without".
//!
//! The functions here are `deserialize_with` adapters for those three forms; the
//! tables themselves stay ordinary derives. Errors say which forms are valid, never an
//! internal type name.

use serde::de::{self, value::MapDeserializer, IntoDeserializer};
use serde::{Deserialize, Deserializer};

/// A policy table as a scenario key: its name and the kinds it accepts.
pub trait PolicyTable: for<'de> Deserialize<'de> {
    /// The client key (`breaker`), for messages.
    const KEY: &'static str;
    /// The `kind`s it accepts; empty for a table without kinds (`hedge`).
    const KINDS: &'static [&'static str];
}

/// The words that remove an optional policy.
pub const NONE_WORDS: &str = "\"none\" or false";

/// Which of the three forms a value took.
enum Form<T> {
    Table(T),
    Removed,
}

/// What the visitor expects, for the "invalid type" message.
fn expected<T: PolicyTable>(f: &mut std::fmt::Formatter, removable: bool) -> std::fmt::Result {
    if T::KINDS.is_empty() {
        write!(f, "a `{}` table {{ ... }}", T::KEY)?;
    } else {
        write!(
            f,
            "a `{}` kind ({}) or a table {{ kind = \"...\", ... }}",
            T::KEY,
            T::KINDS.join(", ")
        )?;
    }
    if removable {
        write!(f, ", or {NONE_WORDS} for no {}", T::KEY)?;
    }
    Ok(())
}

fn any_form<'de, D: Deserializer<'de>, T: PolicyTable>(
    d: D,
    removable: bool,
) -> Result<Form<T>, D::Error> {
    struct Visitor<T>(bool, std::marker::PhantomData<T>);
    impl<'de, T: PolicyTable> de::Visitor<'de> for Visitor<T> {
        type Value = Form<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            expected::<T>(f, self.0)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Form<T>, E> {
            if !v && self.0 {
                Ok(Form::Removed)
            } else {
                Err(E::invalid_type(de::Unexpected::Bool(v), &self))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Form<T>, E> {
            if v == "none" {
                return if self.0 {
                    Ok(Form::Removed)
                } else {
                    Err(E::custom(format!(
                        "`{}` cannot be removed; choose a kind: {}",
                        T::KEY,
                        T::KINDS.join(", ")
                    )))
                };
            }
            if T::KINDS.is_empty() {
                return Err(E::invalid_value(de::Unexpected::Str(v), &self));
            }
            if !T::KINDS.contains(&v) {
                return Err(E::custom(unknown_kind(T::KEY, v, T::KINDS)));
            }
            let map =
                MapDeserializer::<_, E>::new(std::iter::once(("kind", v.into_deserializer())));
            T::deserialize(map).map(Form::Table)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Form<T>, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Form::Table)
        }
    }
    d.deserialize_any(Visitor::<T>(removable, std::marker::PhantomData))
}

/// "unknown breaker kind `hytrix`; did you mean `hystrix`? (kinds: ...)".
pub fn unknown_kind(key: &str, word: &str, kinds: &[&str]) -> String {
    let mut message = format!("unknown {key} kind `{word}`");
    if let Some(best) = closest(word, kinds) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    message.push_str(&format!(" (kinds: {})", kinds.join(", ")));
    message
}

/// The candidate nearest to `word` when it is near enough to be a typo: at most a
/// third of its letters changed (rounded up). Plain Levenshtein distance, small enough to keep
/// this crate free of dependencies beyond `rand`.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d > 0 && *d <= c.chars().count().div_ceil(3))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// A policy that must be present (`balancer`): a kind word or a table.
pub fn required<'de, D: Deserializer<'de>, T: PolicyTable>(d: D) -> Result<T, D::Error> {
    match any_form::<D, T>(d, false)? {
        Form::Table(t) => Ok(t),
        Form::Removed => unreachable!("not removable"),
    }
}

/// An optional policy (`breaker`, `hedge`, ...): absent, `"none"` or `false` is `None`.
/// Use with `#[serde(default, deserialize_with = "spelling::optional")]`.
pub fn optional<'de, D: Deserializer<'de>, T: PolicyTable>(d: D) -> Result<Option<T>, D::Error> {
    Ok(match any_form::<D, T>(d, true)? {
        Form::Table(t) => Some(t),
        Form::Removed => None,
    })
}

/// A policy whose absence is a default table (`retry`: `"none"` is one attempt).
pub fn or_default<'de, D: Deserializer<'de>, T: PolicyTable + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(match any_form::<D, T>(d, true)? {
        Form::Table(t) => t,
        Form::Removed => T::default(),
    })
}

macro_rules! table {
    ($ty:ty, $key:expr, [$($kind:expr),*]) => {
        impl PolicyTable for $ty {
            const KEY: &'static str = $key;
            const KINDS: &'static [&'static str] = &[$($kind),*];
        }
    };
}

table!(
    crate::balancer::BalancerConfig,
    "balancer",
    [
        "round_robin",
        "random",
        "weighted_round_robin",
        "weighted_random",
        "least_connections",
        "p2c",
        "peak_ewma",
        "least_response_time",
        "ring_hash",
        "maglev"
    ]
);
table!(
    crate::breaker::BreakerConfig,
    "breaker",
    ["resilience4j", "hystrix", "consecutive"]
);
table!(
    crate::limiter::LimiterConfig,
    "limiter",
    ["token_bucket", "concurrency", "aimd"]
);
table!(
    crate::retry::BackoffConfig,
    "backoff",
    ["exponential", "constant"]
);
table!(crate::retry::RetryConfig, "retry", []);
table!(crate::budget::BudgetConfig, "budget", []);
table!(crate::budget::ThrottleConfig, "throttle", []);
table!(crate::hedge::HedgeConfig, "hedge", []);
table!(crate::health::HealthCheckConfig, "health_check", []);
table!(crate::outlier::OutlierConfig, "outlier", []);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerConfig;
    use crate::hedge::HedgeConfig;
    use crate::limiter::LimiterConfig;
    use crate::retry::RetryConfig;

    #[derive(serde::Deserialize, Debug)]
    struct Client {
        #[serde(default, deserialize_with = "optional")]
        breaker: Option<BreakerConfig>,
        #[serde(default, deserialize_with = "optional")]
        limiter: Option<LimiterConfig>,
        #[serde(default, deserialize_with = "optional")]
        hedge: Option<HedgeConfig>,
        #[serde(default, deserialize_with = "or_default")]
        retry: RetryConfig,
    }

    fn parse(text: &str) -> Result<Client, String> {
        toml::from_str::<Client>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn three_forms() {
        let c = parse("breaker = \"hystrix\"\nlimiter = \"aimd\"\nhedge = {}").unwrap();
        assert_eq!(
            c.breaker.unwrap().flavor,
            crate::breaker::Flavor::Hystrix,
            "bare word = kind"
        );
        assert!(matches!(c.limiter, Some(LimiterConfig::Aimd { .. })));
        assert!(c.hedge.is_some());
        let c = parse("breaker = \"none\"\nlimiter = false\nhedge = \"none\"\nretry = \"none\"")
            .unwrap();
        assert!(c.breaker.is_none() && c.limiter.is_none() && c.hedge.is_none());
        assert_eq!(c.retry, RetryConfig::default());
        let c = parse("breaker = { kind = \"consecutive\", consecutive_failures = 3 }").unwrap();
        assert_eq!(c.breaker.unwrap().consecutive_failures, Some(3));
    }

    #[test]
    fn errors_name_the_forms_and_suggest() {
        let e = parse("breaker = \"hytrix\"").unwrap_err();
        assert!(e.contains("did you mean `hystrix`?"), "{e}");
        let e = parse("breaker = 3").unwrap_err();
        assert!(
            e.contains("a `breaker` kind (resilience4j, hystrix, consecutive)")
                && e.contains("\"none\" or false"),
            "{e}"
        );
        assert!(!e.contains("struct"), "{e}");
        let e = parse("hedge = \"fast\"").unwrap_err();
        assert!(e.contains("a `hedge` table"), "{e}");
        let e = parse("limiter = true").unwrap_err();
        assert!(e.contains("limiter"), "{e}");
    }

    #[test]
    fn closest_only_for_typos() {
        assert_eq!(closest("timout", &["timeout", "deadline"]), Some("timeout"));
        assert_eq!(closest("zzz", &["timeout", "deadline"]), None);
        assert_eq!(closest("p2", &["p2c", "random"]), Some("p2c"));
    }
}

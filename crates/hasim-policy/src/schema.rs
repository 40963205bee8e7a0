//! Hand-written JSON Schema parts (feature `schema`) for the values whose serde
//! deserializers are custom: duration strings, the three spellings of a policy
//! (table, bare word, `"none"`/`false`), breaker window sizes and failure-kind sets.
//!
//! The tables themselves derive `schemars::JsonSchema` next to their `Deserialize`, so
//! the schema follows the same types the parser uses; only these adapters are written
//! by hand, and they mirror `time::duration_str` and `spelling` exactly.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::spelling::{PolicyTable, NONE_WORDS};

/// The grammar `time::parse_duration` accepts: a non-negative number (digits, `.`,
/// `_`) followed by a unit.
pub const DURATION_PATTERN: &str = r"^\s*[0-9_]*\.?[0-9_]*\s*(ns|us|µs|ms|s|m|min|h|d)\s*$";

/// A duration string with a unit (`"250us"`, `"1.5ms"`, `"2s"`).
pub fn duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": DURATION_PATTERN,
        "description": "A duration: a number and a unit (ns, us, µs, ms, s, m, min, h, d), e.g. \"250us\", \"1.5ms\", \"2s\"."
    })
}

/// An optional duration: a duration string, or `"none"` for none.
pub fn optional_duration(g: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [duration(g), { "const": "none" }]
    })
}

/// A policy value: its table, a bare kind word, and (if `removable`) `"none"`/`false`.
fn policy<T: PolicyTable + JsonSchema>(g: &mut SchemaGenerator, removable: bool) -> Schema {
    let mut any = vec![g.subschema_for::<T>()];
    if !T::KINDS.is_empty() {
        any.push(json_schema!({ "enum": T::KINDS }));
    }
    if removable {
        any.push(json_schema!({ "enum": ["none", false] }));
    }
    let description = if removable {
        format!(
            "A `{}` table, a bare kind word, or {NONE_WORDS} for none.",
            T::KEY
        )
    } else {
        format!("A `{}` table or a bare kind word.", T::KEY)
    };
    json_schema!({ "anyOf": any, "description": description })
}

/// `balancer`: a table or a kind word (it cannot be removed).
pub fn balancer(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::balancer::BalancerConfig>(g, false)
}
/// `retry`: a table, or `"none"`/`false` for one attempt.
pub fn retry(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::retry::RetryConfig>(g, true)
}
/// `retry.backoff`: a table or a kind word.
pub fn backoff(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::retry::BackoffConfig>(g, false)
}
/// `retry.budget`.
pub fn budget(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::budget::BudgetConfig>(g, true)
}
/// `retry.throttle`.
pub fn throttle(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::budget::ThrottleConfig>(g, true)
}
/// `breaker`: the breaker table (`BreakerConfig` is read through it).
pub fn breaker(g: &mut SchemaGenerator) -> Schema {
    let any = vec![
        g.subschema_for::<crate::breaker::table::BreakerTable>(),
        json_schema!({ "enum": <crate::breaker::BreakerConfig as PolicyTable>::KINDS }),
        json_schema!({ "enum": ["none", false] }),
    ];
    json_schema!({
        "anyOf": any,
        "description": format!("A `breaker` table, a bare kind word, or {NONE_WORDS} for none.")
    })
}
/// `hedge`.
pub fn hedge(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::hedge::HedgeConfig>(g, true)
}
/// `health_check`.
pub fn health_check(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::health::HealthCheckConfig>(g, true)
}
/// `outlier`.
pub fn outlier(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::outlier::OutlierConfig>(g, true)
}
/// `limiter`.
pub fn limiter(g: &mut SchemaGenerator) -> Schema {
    policy::<crate::limiter::LimiterConfig>(g, true)
}

/// A breaker `window_size`: a number of calls or a duration.
pub fn window_size(g: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "integer", "minimum": 0, "maximum": u32::MAX },
            duration(g)
        ],
        "description": "A number of calls (count window) or a duration like \"10s\" (time window)."
    })
}

impl JsonSchema for crate::KindSet {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KindSet".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut s = Vec::<crate::FailureKind>::json_schema(g);
        s.insert("description".into(), "A list of failure kinds.".into());
        s
    }
}

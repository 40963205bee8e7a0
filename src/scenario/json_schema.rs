//! The JSON Schema of scenario files (`hasim schema`, `docs/hasim.schema.json`).
//!
//! Derived with schemars from the same types serde reads (`schema.rs`, `faults.rs`
//! and the policy tables of `hasim-policy`), so a key the loader accepts is a key the
//! schema knows. Values read by hand-written deserializers get hand-written schema
//! parts here (distributions, queue limits, targets, byte sizes, fault kinds) and in
//! `hasim_policy::schema` (durations, policy spellings). The schema checks keys and
//! types; ranges and references between sections stay with `hasim validate`.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use super::schema::{QueueLimit, ScenarioFile, Targets};
use crate::dist::Dist;
use crate::policy::schema::duration;

/// The schema as pretty JSON, ending in a newline.
pub fn text() -> String {
    let mut schema = schemars::schema_for!(ScenarioFile);
    schema.insert("title".into(), "hasim scenario".into());
    schema.insert(
        "description".into(),
        "A hasim scenario file (TOML). Reference: docs/scenario.md.".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON value prints");
    text.push('\n');
    text
}

/// `run.max_memory`: a size string (`"1GiB"`, `"512MB"`) or a number of bytes.
pub fn byte_size(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            {
                "type": "string",
                "pattern": "^\\s*[0-9.]+\\s*([bB]|[kKmMgGtT][iI]?[bB])?\\s*$"
            }
        ],
        "description": "A size: a number of bytes, or a string with a unit B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB), e.g. \"1GiB\"."
    })
}

/// `[[variants]].set`: dotted keys and values, as with `--set`.
pub fn variant_set(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "description": "Dotted keys (\"clients.web.balancer\") and their values, as with --set."
    })
}

/// `[[faults]].kind`.
pub fn fault_kind(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "enum": ["crash", "random_crash", "slow", "errors", "latency", "loss", "partition", "registry_down"]
    })
}

impl JsonSchema for Dist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Distribution".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let d = duration(g);
        let this = g.subschema_for::<Dist>();
        json_schema!({
            "description": "A distribution of durations: a duration string (constant) or a table { dist = ..., ... }.",
            "anyOf": [
                d,
                {
                    "type": "object",
                    "properties": {
                        "dist": { "enum": ["constant", "uniform", "exponential", "lognormal", "pareto", "bimodal", "empirical"] },
                        "value": d, "min": d, "max": d, "mean": d, "median": d, "p99": d,
                        "stddev": d, "scale": d,
                        "shape": { "type": "number" },
                        "fast": this, "slow": this,
                        "slow_probability": { "type": "number" },
                        "file": { "type": "string" }
                    },
                    "required": ["dist"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for QueueLimit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "QueueLimit".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "\"unbounded\" or a number of waiting requests >= 0.",
            "anyOf": [
                { "const": "unbounded" },
                { "type": "integer", "minimum": 0, "maximum": u32::MAX }
            ]
        })
    }
}

impl JsonSchema for Targets {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Targets".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A server group name or a list of them.",
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

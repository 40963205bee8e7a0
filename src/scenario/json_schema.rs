//! The JSON Schema of scenario files (placeholder until generated from the types).

/// The schema as pretty JSON.
pub fn text() -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "hasim scenario",
        "type": "object"
    }))
    .expect("a JSON value prints")
}

//! Serde's messages in the scenario's own words: "did you mean" for a misspelt key or
//! kind, and the missing key named as a key.

use crate::policy::spelling::closest;

/// Adds "did you mean `timeout`?" to serde's "unknown field `timout`, expected one of
/// `a`, `b`" (and the same for unknown variants), and says "valid:" instead of
/// "expected one of".
pub fn explain(message: &str) -> String {
    for what in ["unknown field `", "unknown variant `"] {
        let Some(rest) = message.strip_prefix(what) else {
            continue;
        };
        let Some((word, tail)) = rest.split_once('`') else {
            continue;
        };
        let candidates: Vec<&str> = tail
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|c| !c.is_empty())
            .collect();
        let noun = if what.contains("field") {
            "key"
        } else {
            "value"
        };
        let mut out = format!("unknown {noun} `{word}`");
        if let Some(best) = closest(word, &candidates) {
            out.push_str(&format!("; did you mean `{best}`?"));
        }
        if candidates.is_empty() {
            out.push_str(" (this table takes no keys)");
        } else {
            out.push_str(&format!(" (valid: {})", candidates.join(", ")));
        }
        return out;
    }
    message.to_string()
}

/// The key of serde's "missing field `run`".
pub fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        assert_eq!(
            explain("unknown field `timout`, expected one of `name`, `timeout`, `deadline`"),
            "unknown key `timout`; did you mean `timeout`? (valid: name, timeout, deadline)"
        );
        assert_eq!(
            explain("unknown variant `p2`, expected one of `p2c`, `random`"),
            "unknown value `p2`; did you mean `p2c`? (valid: p2c, random)"
        );
        assert_eq!(
            explain("unknown field `zzz`, expected `kind`"),
            "unknown key `zzz` (valid: kind)"
        );
        assert_eq!(missing_field("missing field `run`"), Some("run"));
        assert_eq!(explain("other"), "other");
    }
}

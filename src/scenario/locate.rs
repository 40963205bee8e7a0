//! Finding where a key path stands in the scenario text, so errors found after
//! parsing (in typed values, or between groups and clients) still name the line.

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A key of a table.
    Key(String),
    /// An element of an array (`[[servers]]` number n, from 0).
    Index(usize),
}

/// A key path as serde_path_to_error reports it (`clients[0].retry.attempts`).
pub fn parse_path(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty() && *p != "?") {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                steps.push(Step::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                if let Ok(i) = rest[1..close].parse() {
                    steps.push(Step::Index(i));
                }
                rest = &rest[close + 1..];
            }
        } else {
            steps.push(Step::Key(rest.to_string()));
        }
    }
    steps
}

/// The byte range of the deepest part of `path` found in `text`: the value of the
/// full path when it is written there, else the closest enclosing key.
pub fn span_of(text: &str, path: &[Step]) -> Option<std::ops::Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table = Some(root.get_ref());
    let mut array: Option<&toml::de::DeArray> = None;
    for step in path {
        let value = match (step, table, array) {
            (Step::Key(k), Some(t), _) => match t
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
            {
                Some((key, value)) => {
                    best = Some(key.span());
                    value
                }
                None => break,
            },
            (Step::Index(i), _, Some(a)) => match a.get(*i) {
                Some(value) => value,
                None => break,
            },
            _ => break,
        };
        best = Some(
            if matches!(value.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                best.unwrap_or(value.span())
            } else {
                value.span()
            },
        );
        (table, array) = match value.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(a)),
            _ => (None, None),
        };
    }
    best
}

/// Steps back in the deserializer's form (`clients[0].retry.attempts`), to match the
/// paths overrides report.
pub fn format_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A key as TOML writes it: bare when it can be, else quoted (`""`, `"a.b"`).
pub fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// Where a variant's override is written: for an origin `variant `NAME`: KEY`, the
/// position of KEY in the `set` table of the `[[variants]]` entry named NAME.
pub fn variant_set_position(text: &str, origin: &str) -> Option<(usize, usize)> {
    let rest = origin.strip_prefix("variant `")?;
    let (name, key) = rest.split_once("`: ")?;
    let root = DeTable::parse(text).ok()?;
    let variants = field(root.get_ref(), "variants")?;
    let DeValue::Array(list) = variants.get_ref() else {
        return None;
    };
    for entry in list.iter() {
        let DeValue::Table(t) = entry.get_ref() else {
            continue;
        };
        let named = field(t, "name")
            .is_some_and(|n| matches!(n.get_ref(), DeValue::String(s) if s.as_ref() == name));
        if !named {
            continue;
        }
        let set = t.iter().find(|(k, _)| k.get_ref().as_ref() == "set")?;
        let span = match set.1.get_ref() {
            DeValue::Table(st) => st
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == key)
                .map(|(k, _)| k.span())
                .unwrap_or(set.0.span()),
            _ => set.0.span(),
        };
        return Some(line_column(text, span.start));
    }
    None
}

fn field<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<&'t toml::Spanned<DeValue<'a>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[run]\nduration = \"10s\"\n\n[[clients]]\nname = \"a\"\n\n[[clients]]\nname = \"b\"\nretry = { attempts = 0 }\n";

    fn line_of(path: &str) -> Option<usize> {
        span_of(TEXT, &parse_path(path)).map(|s| line_column(TEXT, s.start).0)
    }

    #[test]
    fn finds_values_keys_and_array_elements() {
        assert_eq!(line_of("run.duration"), Some(2));
        assert_eq!(line_of("clients[1].name"), Some(8));
        assert_eq!(line_of("clients[1].retry.attempts"), Some(9));
        assert_eq!(
            line_of("clients[1].retry.missing"),
            Some(9),
            "falls back to the enclosing key"
        );
        assert_eq!(line_of("nothing"), None);
    }

    #[test]
    fn parses_serde_paths() {
        assert_eq!(
            parse_path("clients[1].retry.on[0]"),
            vec![
                Step::Key("clients".into()),
                Step::Index(1),
                Step::Key("retry".into()),
                Step::Key("on".into()),
                Step::Index(0)
            ]
        );
    }
}

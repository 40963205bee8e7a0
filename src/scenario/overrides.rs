//! `--set KEY=VALUE` overrides (and variants' `set` tables), applied to the parsed
//! TOML before it becomes typed config, so an override is checked exactly like a
//! value written in the file.
//!
//! Keys are dotted paths; elements of `servers` and `clients` are addressed by their
//! `group` / `name`: `clients.web.retry.attempts`, `servers.api.count`; elements of
//! other arrays by index: `faults.0.duration`.

use toml::{Table, Value};

/// One override: a dotted key and a TOML value.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The dotted key path as the user wrote it.
    pub key: String,
    /// The value, parsed as TOML (a bare word that is not TOML is taken as a string).
    pub value: Value,
    /// Where it came from, for error messages (`--set run.duration=30s`).
    pub origin: String,
}

impl Override {
    /// Parses `KEY=VALUE` as given to `--set`.
    pub fn parse_assignment(text: &str) -> Result<Override, String> {
        let (key, raw) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KEY=VALUE (e.g. clients.web.balancer=p2c)"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("`{text}` has an empty key"));
        }
        Ok(Override {
            key: key.to_string(),
            value: parse_value(raw.trim()),
            origin: format!("--set {text}"),
        })
    }
}

/// Parses a value as TOML; text that is not a TOML value is taken as a bare string, so
/// `--set run.duration=30s` works as well as `--set run.duration='"30s"'`.
pub fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

/// The arrays whose elements are addressed by a name key.
fn name_key(array: &str) -> Option<&'static str> {
    match array {
        "servers" => Some("group"),
        "clients" => Some("name"),
        _ => None,
    }
}

/// Sets `ov.key` to `ov.value` in `doc`, creating tables on the way. Returns the key
/// path in the form the deserializer reports (`clients[0].retry.attempts`), so later
/// errors about this value can be traced back to the override.
pub fn apply(doc: &mut Table, ov: &Override) -> Result<String, String> {
    let parts: Vec<&str> = ov.key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("`{}` has an empty part", ov.key));
    }
    let mut serde_path = String::new();
    let mut table = doc;
    let mut i = 0;
    while i < parts.len() - 1 {
        let part = parts[i];
        if let Some(name_field) = name_key(part) {
            let name = parts[i + 1];
            let array = table
                .get_mut(part)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| format!("there are no `{part}` to address by `{name}`"))?;
            let names: Vec<String> = array
                .iter()
                .filter_map(|v| {
                    v.get(name_field)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect();
            let index = names.iter().position(|n| n == name).ok_or_else(|| {
                format!(
                    "no element of `{part}` has {name_field} `{name}` (valid: {})",
                    names.join(", ")
                )
            })?;
            serde_path.push_str(&format!("{part}[{index}]"));
            table = array[index]
                .as_table_mut()
                .ok_or_else(|| format!("`{part}.{name}` is not a table"))?;
            i += 2;
            if i == parts.len() {
                return Err(format!(
                    "`{}` names a whole {part} entry; name a key inside it",
                    ov.key
                ));
            }
        } else if let Some(index) = parts[i + 1]
            .parse::<usize>()
            .ok()
            .filter(|_| table.get(part).is_some_and(Value::is_array))
        {
            let array = table
                .get_mut(part)
                .and_then(Value::as_array_mut)
                .expect("checked above");
            let len = array.len();
            let element = array
                .get_mut(index)
                .ok_or_else(|| format!("`{part}` has {len} elements (indexes 0..{len})"))?;
            serde_path.push_str(&format!("{part}[{index}]"));
            table = element
                .as_table_mut()
                .ok_or_else(|| format!("`{part}.{index}` is not a table"))?;
            i += 2;
            if i == parts.len() {
                return Err(format!(
                    "`{}` names a whole element; name a key inside it",
                    ov.key
                ));
            }
        } else if let Ok(index) = parts[i + 1].parse::<usize>() {
            // `faults.0.duration` on a file without faults: say so, rather than
            // creating a table `faults` that the schema then calls a wrong type.
            return Err(match table.get(part) {
                None => format!("there are no `{part}` in the scenario, so no element {index}"),
                Some(_) => format!("`{part}` is not a list, so it has no element {index}"),
            });
        } else {
            serde_path.push_str(part);
            let entry = table
                .entry(part.to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                format!(
                    "`{part}` in `{}` is not a table, so it has no keys to set",
                    ov.key
                )
            })?;
            i += 1;
        }
        serde_path.push('.');
    }
    let last = parts[parts.len() - 1];
    serde_path.push_str(last);
    table.insert(last.to_string(), ov.value.clone());
    Ok(serde_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Table {
        toml::from_str(
            "[run]\nduration = \"10s\"\n[[clients]]\nname = \"web\"\nballancer = \"x\"\n[[clients]]\nname = \"batch\"\n",
        )
        .unwrap()
    }

    fn set(doc: &mut Table, text: &str) -> Result<String, String> {
        apply(doc, &Override::parse_assignment(text)?)
    }

    #[test]
    fn sets_plain_and_named_paths() {
        let mut d = doc();
        assert_eq!(set(&mut d, "run.duration=30s").unwrap(), "run.duration");
        assert_eq!(d["run"]["duration"].as_str(), Some("30s"));
        assert_eq!(
            set(&mut d, "clients.batch.retry.attempts=3").unwrap(),
            "clients[1].retry.attempts"
        );
        assert_eq!(d["clients"][1]["retry"]["attempts"].as_integer(), Some(3));
        set(
            &mut d,
            "clients.web.balancer={ kind = \"p2c\", choices = 3 }",
        )
        .unwrap();
        assert_eq!(d["clients"][0]["balancer"]["choices"].as_integer(), Some(3));
    }

    #[test]
    fn other_arrays_by_index() {
        let mut d: Table = toml::from_str("[[faults]]\nkind = \"crash\"\n").unwrap();
        assert_eq!(
            set(&mut d, "faults.0.mode=blackhole").unwrap(),
            "faults[0].mode"
        );
        assert_eq!(d["faults"][0]["mode"].as_str(), Some("blackhole"));
        assert!(set(&mut d, "faults.3.mode=x")
            .unwrap_err()
            .contains("1 elements"));
        let err = set(&mut doc(), "faults.0.duration=5s").unwrap_err();
        assert!(err.contains("there are no `faults`"), "{err}");
    }

    #[test]
    fn quoted_and_bare_strings_agree() {
        assert_eq!(parse_value("\"30s\""), parse_value("30s"));
        assert_eq!(parse_value("3"), Value::Integer(3));
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = set(&mut doc(), "clients.api.timeout=1s").unwrap_err();
        assert!(err.contains("valid: web, batch"), "{err}");
        assert!(set(&mut doc(), "run.duration.x=1").is_err());
        assert!(
            set(&mut doc(), "nokey=1").is_ok(),
            "unknown top-level keys are caught by the schema"
        );
        assert!(Override::parse_assignment("novalue").is_err());
    }
}

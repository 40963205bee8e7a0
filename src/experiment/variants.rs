//! What `compare` runs: `[[variants]]` from the file and `--vary` axes on the command
//! line, combined into one list of named override sets.
//!
//! # Rules
//!
//! - `--vary KEY=V1,V2,...` is one axis; several axes form their cartesian product,
//!   the first axis outermost (`--vary a=1,2 --vary b=x,y` gives `a=1 b=x`, `a=1 b=y`,
//!   `a=2 b=x`, `a=2 b=y`).
//! - With both `[[variants]]` and `--vary`, every file variant is crossed with every
//!   combination of the axes (unless `--no-file-variants`, which runs the axes'
//!   product alone), file variants outermost; the name is the file variant's
//!   name, a space, then the axes' part (`p2c attempts=2`). The file variant's `set`
//!   is applied first, then the axes in order, so an axis wins over a file variant
//!   that sets the same key.
//! - With neither, there is nothing to compare: an error that says how to add some.
//! - An axis's part of a name is `LABEL=VALUE`, axes joined by a space. The label is the
//!   shortest dotted suffix of the key that no other axis's key ends with
//!   (`clients.web.balancer` -> `balancer`; with `clients.web.timeout` and
//!   `clients.batch.timeout`, `web.timeout` and `batch.timeout`). The value is shown as
//!   written with whitespace outside strings removed, and a TOML string without its
//!   quotes (`{ kind = "p2c", choices = 3 }` -> `{kind="p2c",choices=3}`).
//! - A value list is split on commas outside braces, brackets and quotes, so inline
//!   tables and arrays work as values. Every value is parsed like a `--set` value.
//! - Names must be unique, the same key may not be two axes, and nothing may set
//!   `run.seed`: the seeds are shared by every variant so that runs can be paired.

use toml::Value;

use crate::scenario::{parse_value, Override};

/// One `--vary` axis: a key and the values it takes, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The dotted key, as for `--set`.
    pub key: String,
    /// The values, at least one.
    pub values: Vec<AxisValue>,
}

/// One value of an axis.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisValue {
    /// As written (trimmed), for messages.
    pub raw: String,
    /// Parsed like a `--set` value.
    pub value: Value,
}

/// A variant to run: a name for the `variant` column and the overrides that make it.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Unique among the variants of one comparison.
    pub name: String,
    /// Its value on each `--vary` axis, as shown in its name (empty without axes):
    /// the axis columns of the CSV files.
    pub axes: Vec<String>,
    /// Applied after `--set`, in order.
    pub overrides: Vec<Override>,
}

/// Variants that cannot be formed; `main` reports these as invalid arguments.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum VariantError {
    /// A `--vary` argument that is not `KEY=V1,V2,...`.
    #[error("--vary `{text}`: {reason}")]
    BadVary {
        /// The argument.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--no-file-variants` without `--vary`.
    #[error("--no-file-variants runs only the --vary product, and no --vary was given")]
    NoAxes,
    /// No `[[variants]]` and no `--vary`.
    #[error(
        "nothing to compare: the scenario has no [[variants]] and no --vary was given \
         (add e.g. `--vary clients.<name>.balancer=round_robin,p2c`, or use \
         `hasim run --seeds N` for one configuration)"
    )]
    Nothing,
    /// Two axes with the same key.
    #[error("--vary `{0}` is given twice; put all its values in one list")]
    DuplicateAxis(String),
    /// Two variants with the same name.
    #[error("two variants are named `{0}`; variant names must be unique")]
    DuplicateName(String),
    /// A variant that sets `run.seed`.
    #[error(
        "variant `{0}` sets `run.seed`; every variant runs the same seeds so that they \
         can be paired (use --seed and --seeds)"
    )]
    SetsSeed(String),
}

/// Parses one `--vary KEY=V1,V2,...`.
pub fn parse_vary(text: &str) -> Result<Axis, VariantError> {
    let bad = |reason: String| VariantError::BadVary {
        text: text.to_string(),
        reason,
    };
    let (key, list) = text.split_once('=').ok_or_else(|| {
        bad("not KEY=V1,V2,... (e.g. clients.web.balancer=round_robin,p2c)".to_string())
    })?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("the key is empty".to_string()));
    }
    if key.split('.').any(str::is_empty) {
        return Err(bad(format!("`{key}` has an empty part")));
    }
    if list.trim().is_empty() {
        return Err(bad(format!("`{key}` has no values")));
    }
    let values = split_values(list)
        .map_err(bad)?
        .into_iter()
        .map(|raw| AxisValue {
            raw: raw.to_string(),
            value: parse_value(raw),
        })
        .collect();
    Ok(Axis {
        key: key.to_string(),
        values,
    })
}

/// Splits a value list on commas outside `{}`, `[]` and quoted strings, trimming each
/// value. An empty value or unbalanced brackets or quotes are errors.
pub fn split_values(list: &str) -> Result<Vec<&str>, String> {
    let mut values = Vec::new();
    let mut depth: usize = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in list.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' if q == '"' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("`{c}` without its opening bracket"))?;
            }
            ',' if depth == 0 => {
                values.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return Err("a quoted string is not closed".to_string());
    }
    if depth > 0 {
        return Err("a `{` or `[` is not closed".to_string());
    }
    values.push(&list[start..]);
    let values: Vec<&str> = values.into_iter().map(str::trim).collect();
    if let Some(i) = values.iter().position(|v| v.is_empty()) {
        return Err(format!(
            "value {} of {} is empty (values are separated by commas)",
            i + 1,
            values.len()
        ));
    }
    Ok(values)
}

/// The variants to run, in output order (see the module docs for the rules).
/// `declared` are the file's `[[variants]]` (`Scenario::declared_variants`);
/// `file_variants` false ignores them (`--no-file-variants`).
pub fn variants(
    declared: Vec<(String, Vec<Override>)>,
    axes: &[Axis],
    file_variants: bool,
) -> Result<Vec<Variant>, VariantError> {
    let declared = match file_variants {
        true => declared,
        false if axes.is_empty() => return Err(VariantError::NoAxes),
        false => Vec::new(),
    };
    for (i, axis) in axes.iter().enumerate() {
        if axes[..i].iter().any(|a| a.key == axis.key) {
            return Err(VariantError::DuplicateAxis(axis.key.clone()));
        }
    }
    let combos = combinations(axes);
    let all: Vec<Variant> = match (declared.is_empty(), axes.is_empty()) {
        (true, true) => return Err(VariantError::Nothing),
        (false, true) => declared
            .into_iter()
            .map(|(name, overrides)| Variant {
                name,
                axes: Vec::new(),
                overrides,
            })
            .collect(),
        (true, false) => combos,
        (false, false) => declared
            .iter()
            .flat_map(|(name, overrides)| {
                combos.iter().map(move |combo| Variant {
                    name: format!("{name} {}", combo.name),
                    axes: combo.axes.clone(),
                    overrides: overrides.iter().chain(&combo.overrides).cloned().collect(),
                })
            })
            .collect(),
    };
    for (i, variant) in all.iter().enumerate() {
        if all[..i].iter().any(|v| v.name == variant.name) {
            return Err(VariantError::DuplicateName(variant.name.clone()));
        }
        if variant.overrides.iter().any(|o| o.key.trim() == "run.seed") {
            return Err(VariantError::SetsSeed(variant.name.clone()));
        }
    }
    Ok(all)
}

/// The cartesian product of the axes, first axis outermost (empty for no axes).
fn combinations(axes: &[Axis]) -> Vec<Variant> {
    if axes.is_empty() {
        return Vec::new();
    }
    let labels: Vec<String> = axes
        .iter()
        .map(|a| label(&a.key, axes.iter().map(|b| b.key.as_str())))
        .collect();
    let mut combos = vec![Variant {
        name: String::new(),
        axes: Vec::new(),
        overrides: Vec::new(),
    }];
    for (axis, label) in axes.iter().zip(&labels) {
        combos = combos
            .iter()
            .flat_map(|combo| {
                axis.values.iter().map(move |v| {
                    let shown = show_value(v);
                    let part = format!("{label}={shown}");
                    let mut values = combo.axes.clone();
                    values.push(shown);
                    let mut overrides = combo.overrides.clone();
                    overrides.push(Override {
                        key: axis.key.clone(),
                        value: v.value.clone(),
                        origin: format!("--vary {}={}", axis.key, v.raw),
                    });
                    Variant {
                        name: match combo.name.is_empty() {
                            true => part,
                            false => format!("{} {part}", combo.name),
                        },
                        axes: values,
                        overrides,
                    }
                })
            })
            .collect();
    }
    combos
}

/// The column name of each axis in the CSV files: its label (the shortest dotted
/// suffix of its key no other axis ends with), lengthened by the key's parts before
/// it while it would repeat a fixed column (`clients.web.retry.attempts` gives
/// `retry.attempts`, since `attempts` is a `summary.csv` column).
pub fn axis_columns(axes: &[Axis]) -> Vec<String> {
    let reserved = crate::report::reserved_column_names();
    axes.iter()
        .map(|a| {
            let mut l = label(&a.key, axes.iter().map(|b| b.key.as_str()));
            let parts: Vec<&str> = a.key.split('.').collect();
            let mut n = l.split('.').count();
            while reserved.contains(&l.as_str()) && n < parts.len() {
                n += 1;
                l = parts[parts.len() - n..].join(".");
            }
            l
        })
        .collect()
}

/// An axis value as shown in variant names and axis columns.
pub fn shown_value(v: &AxisValue) -> String {
    show_value(v)
}

/// The shortest dotted suffix of `key` that no other key of `all` ends with (the whole
/// key if there is none).
fn label<'a>(key: &str, all: impl Iterator<Item = &'a str> + Clone) -> String {
    let parts: Vec<&str> = key.split('.').collect();
    for n in 1..=parts.len() {
        let suffix = &parts[parts.len() - n..];
        let clash = all.clone().filter(|other| *other != key).any(|other| {
            let other: Vec<&str> = other.split('.').collect();
            other.len() >= n && other[other.len() - n..] == *suffix
        });
        if !clash {
            return suffix.join(".");
        }
    }
    key.to_string()
}

/// A value for a variant name: a string without quotes, anything else as written
/// without whitespace outside strings.
fn show_value(v: &AxisValue) -> String {
    if let Value::String(s) = &v.value {
        return s.clone();
    }
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in v.raw.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                if !c.is_whitespace() {
                    out.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(declared: Vec<(String, Vec<Override>)>, varies: &[&str]) -> Vec<String> {
        let axes: Vec<Axis> = varies.iter().map(|v| parse_vary(v).unwrap()).collect();
        variants(declared, &axes, true)
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect()
    }

    fn declared(name: &str, key: &str, value: &str) -> (String, Vec<Override>) {
        let ov = Override {
            key: key.to_string(),
            value: parse_value(value),
            origin: format!("variant `{name}`: {key}"),
        };
        (name.to_string(), vec![ov])
    }

    #[test]
    fn splits_on_top_level_commas_only() {
        let check = |list: &str, want: &[&str]| assert_eq!(split_values(list).unwrap(), want);
        check("round_robin,p2c", &["round_robin", "p2c"]);
        check(" a , b ", &["a", "b"]);
        check(
            "round_robin,{ kind = \"p2c\", choices = 3 }",
            &["round_robin", "{ kind = \"p2c\", choices = 3 }"],
        );
        check("[1, 2],[3]", &["[1, 2]", "[3]"]);
        check("\"a,b\",'c,d',x", &["\"a,b\"", "'c,d'", "x"]);
        check("\"q\\\",\",y", &["\"q\\\",\"", "y"]);
        check("{ a = { b = [1, 2] } },z", &["{ a = { b = [1, 2] } }", "z"]);
        for bad in ["a,,b", "a,", ",a", "{a,b", "a}", "\"open,b", " "] {
            assert!(split_values(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parses_axes_and_rejects_bad_ones() {
        let axis =
            parse_vary("clients.web.balancer=round_robin,{ kind = \"p2c\", choices = 3 }").unwrap();
        assert_eq!(axis.key, "clients.web.balancer");
        assert_eq!(axis.values.len(), 2);
        assert_eq!(axis.values[0].value, Value::String("round_robin".into()));
        assert_eq!(axis.values[1].value["choices"].as_integer(), Some(3));
        for bad in [
            "novalue",
            "=a,b",
            "clients.web.balancer=",
            "a..b=1",
            "k=1,,2",
        ] {
            let err = parse_vary(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn product_order_and_names() {
        assert_eq!(
            names(
                vec![],
                &[
                    "clients.web.balancer=round_robin,p2c",
                    "clients.web.retry.attempts=1,2"
                ]
            ),
            [
                "balancer=round_robin attempts=1",
                "balancer=round_robin attempts=2",
                "balancer=p2c attempts=1",
                "balancer=p2c attempts=2",
            ]
        );
        assert_eq!(
            names(
                vec![],
                &["clients.web.balancer={ kind = \"p2c\", choices = 3 },'rr x'"]
            ),
            ["balancer={kind=\"p2c\",choices=3}", "balancer=rr x"]
        );
        // Same last segment: the shortest suffix that tells them apart.
        assert_eq!(
            names(
                vec![],
                &[
                    "clients.web.timeout=1s",
                    "clients.batch.timeout=2s",
                    "a.b=1"
                ]
            ),
            ["web.timeout=1s batch.timeout=2s b=1"]
        );
        assert_eq!(label("a.b", ["a.b", "x.a.b"].into_iter()), "a.b");
        assert_eq!(label("x.a.b", ["a.b", "x.a.b"].into_iter()), "x.a.b");
    }

    #[test]
    fn file_variants_cross_the_axes_and_apply_first() {
        let file = vec![
            declared("rr", "clients.web.balancer", "round_robin"),
            declared("p2c", "clients.web.balancer", "p2c"),
        ];
        let axes = [parse_vary("clients.web.retry.attempts=1,3").unwrap()];
        let all = variants(file.clone(), &axes, true).unwrap();
        let got: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            got,
            [
                "rr attempts=1",
                "rr attempts=3",
                "p2c attempts=1",
                "p2c attempts=3"
            ]
        );
        let keys: Vec<&str> = all[3].overrides.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["clients.web.balancer", "clients.web.retry.attempts"]);
        assert_eq!(
            all[3].overrides[1].origin,
            "--vary clients.web.retry.attempts=3"
        );
        // File variants alone keep their names.
        assert_eq!(names(file, &[]), ["rr", "p2c"]);
    }

    #[test]
    fn refuses_nothing_duplicates_and_seeds() {
        assert_eq!(variants(vec![], &[], true), Err(VariantError::Nothing));
        let axis = |s: &str| parse_vary(s).unwrap();
        assert_eq!(
            variants(vec![], &[axis("a.b=1"), axis("a.b=2")], true),
            Err(VariantError::DuplicateAxis("a.b".into()))
        );
        assert_eq!(
            variants(vec![], &[axis("a.b=1,1")], true),
            Err(VariantError::DuplicateName("b=1".into()))
        );
        // `"1"` and `1` are different values but the same name.
        assert!(variants(vec![], &[axis("a.b=1,\"1\"")], true).is_err());
        assert_eq!(
            variants(vec![], &[axis("run.seed=1,2")], true),
            Err(VariantError::SetsSeed("seed=1".into()))
        );
        let twice = vec![declared("x", "a.b", "1"), declared("x", "a.b", "2")];
        assert_eq!(
            variants(twice, &[], true),
            Err(VariantError::DuplicateName("x".into()))
        );
    }

    #[test]
    fn axis_values_and_columns() {
        let axes = [
            parse_vary("clients.web.balancer=round_robin,p2c").unwrap(),
            parse_vary("servers.api.calls=1").unwrap(),
        ];
        let all = variants(vec![declared("x", "a.b", "1")], &axes, true).unwrap();
        assert_eq!(all[1].axes, ["p2c", "1"]);
        assert_eq!(axis_columns(&axes), ["balancer", "api.calls"]);
        // Without file variants: the product alone; without axes: an error.
        let only = variants(vec![declared("x", "a.b", "1")], &axes, false).unwrap();
        assert_eq!(only[0].name, "balancer=round_robin calls=1");
        assert_eq!(
            variants(vec![declared("x", "a.b", "1")], &[], false),
            Err(VariantError::NoAxes)
        );
    }
}

//! The short summary table printed on the terminal after a run or a comparison, and
//! the layout helpers both terminal tables share.
//!
//! It is for a person glancing at results, so it rounds (3 decimals for ms and
//! ratios); the CSV files keep every digit. Availability is truncated, never rounded
//! up, so `1.000000` always means that every call succeeded.
//!
//! Tables stay within [`WIDTH`] columns: long variant names are replaced by `#1`,
//! `#2`, ... with a key printed once, and a table wider than the terminal is cut
//! into blocks of columns, each repeating the first column.

use super::{summary_columns, Results};

/// The widest a table may be, in characters.
pub const WIDTH: usize = 120;

/// Variant names longer than this are shown by number, with a key.
const NAME_MAX: usize = 28;

/// The table's columns: header, summary column, how a mean is shown.
type Column = (&'static str, &'static str, fn(f64) -> String);

/// Columns after `variant` and `seeds`.
const COLUMNS: [Column; 7] = [
    ("calls", "calls", count),
    ("availability", "availability", availability),
    ("p50_ms", "latency_p50_ms", fixed3),
    ("p99_ms", "latency_p99_ms", fixed3),
    ("attempts/call", "attempts_per_call", fixed3),
    ("load_max/mean", "load_max_over_mean", fixed3),
    ("slo_windows", "windows_meeting_slo", count),
];

/// How the tables name variants: the names themselves, or `#k` when some name is
/// too long to fit (see [`key`]).
pub fn display_names(results: &Results) -> Vec<String> {
    let names = &results.layout.variants;
    if names.iter().all(|n| n.chars().count() <= NAME_MAX) {
        names.clone()
    } else {
        (1..=names.len()).map(|k| format!("#{k}")).collect()
    }
}

/// The key from `#k` to names when [`display_names`] numbers them, else empty.
pub fn key(results: &Results) -> String {
    let names = &results.layout.variants;
    if display_names(results) == *names {
        return String::new();
    }
    let mut out = String::from("variants:\n");
    let width = format!("#{}", names.len()).len();
    for (k, name) in names.iter().enumerate() {
        out.push_str(&format!(
            "  {}  {name}\n",
            pad(&format!("#{}", k + 1), width, true)
        ));
    }
    out
}

/// One row per variant with runs (in plan order) with the mean over its seeds,
/// columns aligned; `-` where no run has a value. `slo_windows` is shown as
/// `meeting/total`; `failed` counts runs that stopped at a limit (shown only when
/// some did). Ends with a newline.
pub fn summary_table(results: &Results) -> String {
    let names = display_names(results);
    let columns = summary_columns();
    let position = |name: &str| columns.iter().position(|c| *c == name);
    let failed = results.failed() > 0;
    let mut header: Vec<String> = ["variant", "seeds"].map(str::to_string).to_vec();
    header.extend(COLUMNS.iter().map(|c| c.0.to_string()));
    if failed {
        header.push("failed".to_string());
    }
    let mut rows = vec![header];
    for (variant, members) in results.by_variant() {
        let mut row = vec![names[variant].clone(), members.len().to_string()];
        for (_, column, show) in COLUMNS {
            let index = position(column);
            let values: Vec<f64> = members.iter().filter_map(|r| r.value(index?)).collect();
            row.push(mean(&values).map_or_else(|| "-".to_string(), show));
        }
        let total: Vec<f64> = members
            .iter()
            .filter_map(|r| r.value(position("windows")?))
            .collect();
        if let (Some(last), Some(total)) = (row.last_mut(), mean(&total)) {
            *last = format!("{last}/{}", count(total));
        }
        if failed {
            let n = members
                .iter()
                .filter(|r| r.status == super::RunStatus::Failed)
                .count();
            row.push(n.to_string());
        }
        rows.push(row);
    }
    align(&rows)
}

/// Mean of the values, `None` if there are none.
pub(super) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A count, or a mean of counts: an integer when whole, else one decimal.
pub(super) fn count(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Three decimals.
pub(super) fn fixed3(x: f64) -> String {
    format!("{x:.3}")
}

/// Six decimals, truncated rather than rounded so 0.9999996 does not show as 1.
pub(super) fn availability(x: f64) -> String {
    let long = format!("{x:.12}");
    match long.find('.') {
        Some(dot) => long[..dot + 7].to_string(),
        None => long,
    }
}

/// `text` padded with spaces to `width` characters, on the left or the right. Done
/// by hand: `format!`'s width must be below 65,536, and a cell may be longer.
fn pad(text: &str, width: usize, left: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(text.chars().count()));
    match left {
        true => format!("{text}{fill}"),
        false => format!("{fill}{text}"),
    }
}

/// `line` cut at spaces into lines of at most [`WIDTH`] characters (a longer word
/// stays whole), continuation lines indented by `indent` spaces; ends with a newline.
pub(super) fn wrap(line: &str, indent: usize) -> String {
    let words = line.trim_start();
    let mut current = line[..line.len() - words.len()].to_string();
    let mut has_word = false;
    let mut out = String::new();
    for word in words.split(' ') {
        let len = current.chars().count();
        if has_word && len + 1 + word.chars().count() > WIDTH {
            out.push_str(&current);
            out.push('\n');
            current = " ".repeat(indent);
        } else if has_word {
            current.push(' ');
        }
        current.push_str(word);
        has_word = true;
    }
    out.push_str(&current);
    out.push('\n');
    out
}

/// Left-aligns the first column, right-aligns the others, two spaces apart. A table
/// wider than [`WIDTH`] is cut into blocks of columns, each repeating the first
/// column, separated by an empty line.
pub(super) fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Blocks of columns after the first, each as wide as fits.
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let first = widths.first().copied().unwrap_or(0);
    let mut used = first;
    for (i, width) in widths.iter().enumerate().skip(1) {
        match blocks.last_mut() {
            Some(block) if used + 2 + width <= WIDTH => block.push(i),
            _ => {
                blocks.push(vec![i]);
                used = first;
            }
        }
        used += 2 + width;
    }
    if blocks.is_empty() {
        blocks.push(Vec::new());
    }
    let mut out = String::new();
    for (b, block) in blocks.iter().enumerate() {
        if b > 0 {
            out.push('\n');
        }
        for row in rows {
            let mut cells = vec![pad(row.first().map_or("", String::as_str), first, true)];
            for &i in block {
                cells.push(pad(row.get(i).map_or("", String::as_str), widths[i], false));
            }
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{metrics, results};

    #[test]
    fn one_row_per_variant_with_means() {
        let a1 = metrics(1000, 990, 1.0);
        let a2 = metrics(1000, 980, 3.0);
        let b = metrics(0, 0, 0.0);
        let (res, _) = results(&[("p2c", 1, &a1), ("p2c", 2, &a2), ("rr", 1, &b)]);
        let table = summary_table(&res);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(
            lines[0].starts_with("variant  seeds  calls  availability"),
            "{table}"
        );
        let p2c: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(p2c[..4], ["p2c", "2", "1000", "0.985000"], "{table}");
        assert_eq!(p2c[4], "2.000", "{table}");
        let rr: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(rr[..5], ["rr", "1", "0", "-", "-"], "{table}");
        // Every line has the same width up to trailing spaces: the columns align.
        let width = |l: &str| l.len();
        assert_eq!(width(lines[1]), width(lines[2]));
    }

    #[test]
    fn availability_is_truncated() {
        assert_eq!(availability(0.9999996), "0.999999");
        assert_eq!(availability(0.999), "0.999000");
        assert_eq!(availability(1.0), "1.000000");
        assert_eq!(count(118.5), "118.5");
        assert_eq!(count(120.0), "120");
    }

    /// Issue 11, item 1: a 65,536-character variant name panicked in `format!`.
    #[test]
    fn huge_names_are_numbered_and_never_panic() {
        let a = metrics(1000, 990, 1.0);
        let long = "x".repeat(70_000);
        let (res, _) = results(&[(long.as_str(), 1, &a), ("short", 1, &a)]);
        let table = summary_table(&res);
        assert!(table.lines().all(|l| l.chars().count() <= WIDTH), "{table}");
        assert!(table.contains("#1") && table.contains("#2"), "{table}");
        assert!(key(&res).contains(&long));
        let wide = vec![vec!["a".to_string(), "y".repeat(70_000)]];
        assert!(align(&wide).contains(&"y".repeat(70_000)));
    }

    #[test]
    fn long_lines_wrap_at_spaces() {
        let line = format!("  p50_ms: {}", ["balancer=p2c attempts=1,"; 12].join(" "));
        let text = wrap(&line, 4);
        assert!(text.lines().count() > 2, "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.starts_with("    ") && !l.starts_with("     ")),
            "{text}"
        );
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            line.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(wrap("  a b", 4), "  a b\n");
    }

    #[test]
    fn wide_tables_are_cut_into_blocks() {
        let rows: Vec<Vec<String>> = (0..3)
            .map(|r| {
                (0..10)
                    .map(|c| format!("r{r}c{c}-{}", "z".repeat(20)))
                    .collect()
            })
            .collect();
        let text = align(&rows);
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.contains("r0c9"), "{text}");
        // Every block repeats the first column.
        let blocks = text.split("\n\n").count();
        assert!(blocks >= 2, "{text}");
        assert_eq!(text.matches("r1c0").count(), blocks, "{text}");
    }
}

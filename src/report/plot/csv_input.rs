//! Reading the CSV files back for the charts, by column name.
//!
//! The charts are drawn from the files alone, so `hasim run` and `hasim plot DIR`
//! share one path. Columns are found by header name; extra columns are ignored; an
//! empty cell is a value that does not exist, so its point is skipped.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::PlotError;

/// One CSV file opened for reading by column name.
pub(crate) struct Table {
    path: PathBuf,
    header: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    /// Reads `dir/name` whole, or `None` when the file does not exist.
    pub(crate) fn read_optional(dir: &Path, name: &str) -> Result<Option<Table>, PlotError> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let read_err = |source| PlotError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(|e| read_err(csv::Error::from(e)))?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let header = reader.headers().map_err(read_err)?.clone();
        let rows = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_err)?;
        Ok(Some(Table { path, header, rows }))
    }

    /// The index of a column the chart needs.
    pub(crate) fn column(&self, name: &str) -> Result<usize, PlotError> {
        self.header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| PlotError::MissingColumn {
                path: self.path.clone(),
                column: name.to_string(),
            })
    }

    /// The rows, in file order.
    pub(crate) fn rows(&self) -> &[csv::StringRecord] {
        &self.rows
    }

    /// A text cell (empty if the row is short).
    pub(crate) fn text<'r>(&self, row: &'r csv::StringRecord, column: usize) -> &'r str {
        row.get(column).unwrap_or("").trim()
    }

    /// A number cell: `None` when empty (the value does not exist), an error naming
    /// the line and column when it is not a number.
    pub(crate) fn number(
        &self,
        row: &csv::StringRecord,
        column: usize,
    ) -> Result<Option<f64>, PlotError> {
        let cell = self.text(row, column);
        if cell.is_empty() {
            return Ok(None);
        }
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(PlotError::BadNumber {
                path: self.path.clone(),
                line: row.position().map_or(0, |p| p.line()),
                column: self.header.get(column).unwrap_or("").to_string(),
                value: cell.to_string(),
            }),
        }
    }
}

/// What every chart needs to know about the folder: the scenario's name for the
/// title and the variants in order, so a variant has the same color in every chart.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    /// From `summary.csv`'s `scenario` column (the folder's name without it).
    pub scenario: String,
    /// Variants in order of first appearance in `summary.csv`.
    pub variants: Vec<String>,
    /// Seeds per variant (the largest count), for the "mean over N seeds" note.
    pub seeds: usize,
}

impl Context {
    /// Reads `summary.csv` if present.
    pub(crate) fn read(dir: &Path) -> Result<Context, PlotError> {
        let fallback = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(table) = Table::read_optional(dir, "summary.csv")? else {
            return Ok(Context {
                scenario: fallback,
                ..Context::default()
            });
        };
        let (scenario, variant, seed) = (
            table.column("scenario")?,
            table.column("variant")?,
            table.column("seed")?,
        );
        let mut ctx = Context::default();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for row in table.rows() {
            if ctx.scenario.is_empty() {
                ctx.scenario = table.text(row, scenario).to_string();
            }
            ctx.variant_index(table.text(row, variant));
            let pair = (
                table.text(row, variant).to_string(),
                table.text(row, seed).to_string(),
            );
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
        ctx.seeds = ctx
            .variants
            .iter()
            .map(|v| pairs.iter().filter(|(pv, _)| pv == v).count())
            .max()
            .unwrap_or(0);
        if ctx.scenario.is_empty() {
            ctx.scenario = fallback;
        }
        Ok(ctx)
    }

    /// The variant's position (its color), adding it if new.
    pub(crate) fn variant_index(&mut self, variant: &str) -> usize {
        match self.variants.iter().position(|v| v == variant) {
            Some(i) => i,
            None => {
                self.variants.push(variant.to_string());
                self.variants.len() - 1
            }
        }
    }

    /// Whether charts number the variants (`1 name` in legends, `1` on a comparison
    /// axis): with more than four variants, or a name longer than 14 characters.
    pub(crate) fn numbered(&self) -> bool {
        self.variants.len() > 4 || self.variants.iter().any(|v| v.chars().count() > 14)
    }

    /// A variant's legend entry: its name, after its number when [`Self::numbered`].
    pub(crate) fn legend_label(&self, index: usize) -> String {
        match self.numbered() {
            true => format!("{} {}", index + 1, self.label(index)),
            false => self.label(index),
        }
    }

    /// A legend entry that says its line lies exactly on an earlier variant's.
    pub(crate) fn overlap_label(&self, index: usize, under: Option<usize>) -> String {
        let name = self.legend_label(index);
        match (under, self.numbered()) {
            (None, _) => name,
            (Some(u), true) => format!("{name} (same line as {})", u + 1),
            (Some(u), false) => format!("{name} (same line as {})", self.label(u)),
        }
    }

    /// The name shown for a variant: `run` may leave it empty.
    pub(crate) fn label(&self, index: usize) -> String {
        match self.variants.get(index).map(String::as_str) {
            None | Some("") => "base".to_string(),
            Some(v) => v.to_string(),
        }
    }
}

/// One variant's series: `(x, mean over the seeds that have a value)` in x order.
pub(crate) type Series = Vec<(f64, f64)>;

/// Splits a series sorted by x into runs of consecutive windows: a window without a
/// value (no calls, or no successful call) breaks the line instead of being bridged
/// by a straight segment that suggests data where there is none.
pub(crate) fn runs_without_gaps(series: &[(f64, f64)], window_s: f64) -> Vec<&[(f64, f64)]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=series.len() {
        if i == series.len() || series[i].0 - series[i - 1].0 > 1.5 * window_s {
            runs.push(&series[start..i]);
            start = i;
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// Mean per `(variant, x)` over the seeds that have a value there.
///
/// `points` are `(variant index, x, value)`; the result has one series per variant
/// index below `variants`, sorted by x. Equal x values (the same window in several
/// seeds) are averaged; nothing is hashed, so the order is the same every time.
pub(crate) fn mean_by_x(points: &[(usize, f64, f64)], variants: usize) -> Vec<Series> {
    let mut out = vec![Vec::new(); variants];
    for (v, series) in out.iter_mut().enumerate() {
        let mut mine: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.0 == v)
            .map(|p| (p.1, p.2))
            .collect();
        mine.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut i = 0;
        while i < mine.len() {
            let x = mine[i].0;
            let same = mine[i..].iter().take_while(|p| p.0 == x).count();
            let sum: f64 = mine[i..i + same].iter().map(|p| p.1).sum();
            series.push((x, sum / same as f64));
            i += same;
        }
    }
    out
}

/// A fault interval for shading, deduplicated over variants and seeds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FaultSpan {
    /// `kind target`, e.g. `crash api[0]`.
    pub label: String,
    /// Start, seconds from the start of the measured interval.
    pub start_s: f64,
    /// End; `None` = until the end of the run.
    pub end_s: Option<f64>,
}

/// Reads `faults.csv` if present: every distinct interval, in file order.
pub(crate) fn read_faults(dir: &Path) -> Result<Vec<FaultSpan>, PlotError> {
    let Some(table) = Table::read_optional(dir, "faults.csv")? else {
        return Ok(Vec::new());
    };
    let (kind, target) = (table.column("kind")?, table.column("target")?);
    let (start, end) = (table.column("start_s")?, table.column("end_s")?);
    let mut spans: Vec<FaultSpan> = Vec::new();
    for row in table.rows() {
        let Some(start_s) = table.number(row, start)? else {
            continue;
        };
        let span = FaultSpan {
            label: format!("{} {}", table.text(row, kind), table.text(row, target))
                .trim()
                .to_string(),
            start_s,
            end_s: table.number(row, end)?,
        };
        if !spans.contains(&span) {
            spans.push(span);
        }
    }
    Ok(spans)
}

/// One row of `timeseries.csv` that the charts use.
#[derive(Clone, Debug)]
pub(crate) struct WindowPoint {
    /// Variant index in [`Context::variants`].
    pub variant: usize,
    /// Window start, seconds.
    pub t_s: f64,
    /// `ok / calls`, if the window had calls.
    pub availability: Option<f64>,
    /// Median latency of the window's ok calls, ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

/// Reads `timeseries.csv`, or `None` if it does not exist.
pub(crate) fn read_windows(
    dir: &Path,
    ctx: &mut Context,
) -> Result<Option<Vec<WindowPoint>>, PlotError> {
    let Some(table) = Table::read_optional(dir, "timeseries.csv")? else {
        return Ok(None);
    };
    let (variant, t_s) = (table.column("variant")?, table.column("t_s")?);
    let availability = table.column("availability")?;
    let (p50, p99) = (
        table.column("latency_p50_ms")?,
        table.column("latency_p99_ms")?,
    );
    let mut out = Vec::with_capacity(table.rows().len());
    for row in table.rows() {
        let Some(t) = table.number(row, t_s)? else {
            continue;
        };
        out.push(WindowPoint {
            variant: ctx.variant_index(table.text(row, variant)),
            t_s: t,
            availability: table.number(row, availability)?,
            p50_ms: table.number(row, p50)?,
            p99_ms: table.number(row, p99)?,
        });
    }
    Ok(Some(out))
}

/// The window length: the smallest positive step between window starts (1 s if
/// there is only one window).
pub(crate) fn window_s(points: &[WindowPoint]) -> f64 {
    let mut starts: Vec<f64> = points.iter().map(|p| p.t_s).collect();
    starts.sort_by(f64::total_cmp);
    starts.dedup();
    starts
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .min_by(f64::total_cmp)
        .unwrap_or(1.0)
}

/// For each series, the first earlier series with exactly the same points (its line
/// would hide under the later one), if any. Empty series are never "the same".
pub(crate) fn same_as(series: &[&[Series]]) -> Vec<Option<usize>> {
    let n = series.first().map_or(0, |s| s.len());
    (0..n)
        .map(|v| {
            if series.iter().all(|s| s[v].is_empty()) {
                return None;
            }
            (0..v).find(|&u| series.iter().all(|s| s[u] == s[v]))
        })
        .collect()
}

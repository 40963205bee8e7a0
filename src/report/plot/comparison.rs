//! `comparison.svg`/`.png`: the key metrics per variant (from `comparison.csv`),
//! the mean as a dot and the 95% confidence interval over seeds as a whisker, one
//! panel per metric (each with its own unit and a y range zoomed to the data;
//! availability on a nines axis, as in the availability chart).
//!
//! With more than four variants, or names longer than 14 characters, the x axis
//! shows numbers and the legend maps each number to its variant (as the other
//! charts' legends do), so labels never overlap.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};

use super::csv_input::{Context, Table};
use super::frame::{self, text, Entry, Mark};
use super::output::{Chart, DrawResult};
use super::scale::{percent, NinesAxis};
use super::style::*;
use super::PlotError;

/// The panels: `comparison.csv` metric, panel title, and a factor for display.
const PANELS: [(&str, &str, f64); 4] = [
    ("availability", "availability (nines scale)", 1.0),
    ("latency_p99_ms", "p99 latency of ok calls (ms)", 1.0),
    ("attempts_per_call", "attempts per call", 1.0),
    ("load_max_over_mean", "load: busiest server / mean", 1.0),
];

/// One variant's value of one metric.
#[derive(Clone, Copy, Debug)]
struct Estimate {
    mean: f64,
    /// The 95% interval; `None` with one run.
    ci: Option<(f64, f64)>,
}

/// The comparison chart's data.
pub(crate) struct Comparison {
    ctx: Context,
    /// `values[panel][variant]`.
    values: Vec<Vec<Option<Estimate>>>,
    /// The most runs any estimate had.
    runs: usize,
    /// Variants with a row in `comparison.csv`.
    in_file: usize,
}

impl Comparison {
    /// Reads `comparison.csv`, or `None` if it does not exist.
    pub(crate) fn read(dir: &Path, mut ctx: Context) -> Result<Option<Comparison>, PlotError> {
        let Some(table) = Table::read_optional(dir, "comparison.csv")? else {
            return Ok(None);
        };
        let (variant, metric) = (table.column("variant")?, table.column("metric")?);
        let (mean, runs) = (table.column("mean")?, table.column("runs")?);
        let (low, high) = (table.column("ci95_low")?, table.column("ci95_high")?);
        let mut found = Vec::new();
        let mut in_file: Vec<usize> = Vec::new();
        let mut most_runs = 0usize;
        for row in table.rows() {
            let v = ctx.variant_index(table.text(row, variant));
            if !in_file.contains(&v) {
                in_file.push(v);
            }
            let Some(p) = PANELS.iter().position(|p| p.0 == table.text(row, metric)) else {
                continue;
            };
            let Some(m) = table.number(row, mean)? else {
                continue;
            };
            let factor = PANELS[p].2;
            let ci = match (table.number(row, low)?, table.number(row, high)?) {
                (Some(l), Some(h)) => Some((l * factor, h * factor)),
                _ => None,
            };
            most_runs = most_runs.max(table.number(row, runs)?.unwrap_or(0.0) as usize);
            let estimate = Estimate {
                mean: m * factor,
                ci,
            };
            found.push((p, v, estimate));
        }
        let mut values = vec![vec![None; ctx.variants.len()]; PANELS.len()];
        for (p, v, estimate) in found {
            values[p][v] = Some(estimate);
        }
        Ok(Some(Comparison {
            ctx,
            values,
            runs: most_runs,
            in_file: in_file.len(),
        }))
    }

    /// Variants in the file: the chart is worth drawing with two or more.
    pub(crate) fn variants(&self) -> usize {
        self.in_file
    }

    /// One panel: a dot and whisker per variant.
    fn panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, p: usize) -> DrawResult<DB> {
        let values = &self.values[p];
        let ends: Vec<f64> = values
            .iter()
            .flatten()
            .flat_map(|e| {
                let (l, h) = e.ci.unwrap_or((e.mean, e.mean));
                [e.mean, l, h]
            })
            .collect();
        if PANELS[p].0 == "availability" {
            let axis = NinesAxis::covering(ends.iter().copied());
            return self.draw_panel(area, p, axis, &|v: &f64| percent(*v));
        }
        let (low, high) = ends
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let (low, high) = if low.is_finite() {
            let pad = ((high - low) * 0.15).max(high.abs() * 0.01).max(1e-9);
            (low - pad, high + pad)
        } else {
            (0.0, 1.0)
        };
        let step = (high - low) / 6.0;
        self.draw_panel(area, p, low..high, &|v: &f64| {
            trim_number(*v, digits_for(step) + 1)
        })
    }

    /// Draws panel `p` on the y axis `y`.
    fn draw_panel<DB, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        p: usize,
        y: Y,
        y_format: &dyn Fn(&f64) -> String,
    ) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let values = &self.values[p];
        let n = values.len().max(1);
        let title = (FONT, AXIS_PX, FontStyle::Bold).into_font().color(&INK);
        // The title apart, so dots at the top of the range never cover it.
        let area = area.titled(PANELS[p].1, title)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(14)
            .x_label_area_size(34)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, y)?;
        let ctx = &self.ctx;
        let numbered = ctx.numbered();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID.stroke_width(1))
            .axis_style(INK.stroke_width(1))
            .label_style(text(LABEL_PX, INK))
            .x_labels(n.min(40))
            .y_labels(6)
            .x_label_formatter(&|v: &f64| {
                let i = v.round();
                let near = (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n;
                match (near, numbered) {
                    (false, _) => String::new(),
                    (true, true) => (i as usize + 1).to_string(),
                    (true, false) => ctx.label(i as usize),
                }
            })
            .y_label_formatter(y_format)
            .draw()?;
        for (v, estimate) in values.iter().enumerate() {
            let Some(e) = estimate else { continue };
            let color = variant_color(v);
            let x = v as f64;
            if let Some((l, h)) = e.ci {
                chart.draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    l,
                    e.mean,
                    h,
                    color.stroke_width(2),
                    16,
                )))?;
            }
            chart.draw_series(std::iter::once(Circle::new((x, e.mean), 6, color.filled())))?;
        }
        Ok(())
    }
}

impl Chart for Comparison {
    fn name(&self) -> &'static str {
        "comparison"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let legend: Vec<Entry> = (0..self.ctx.variants.len())
            .map(|v| Entry::new(self.ctx.legend_label(v), variant_color(v), Mark::Dot))
            .collect();
        let title = format!("{}: variants compared", self.ctx.scenario);
        let subtitle = match self.runs {
            0 | 1 => "one run per variant: no confidence interval".to_string(),
            n => format!("dot: mean over {n} seeds; whisker: 95% confidence interval (Student t)"),
        };
        let body = frame::header(root, &title, &subtitle, &legend)?;
        let panels = body.split_evenly((2, 2));
        for (p, area) in panels.iter().enumerate() {
            self.panel(area, p)?;
        }
        Ok(())
    }
}

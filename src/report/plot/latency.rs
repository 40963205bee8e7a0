//! `latency.svg`/`.png`: p50 (dashed) and p99 (solid) latency of `ok` calls per
//! window over time, one color per variant (mean over seeds), faults shaded.
//!
//! The y axis is logarithmic when the values span more than a factor of 10 (a p99
//! at the timeout next to a p50 of a millisecond), linear otherwise.

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::availability::seeds_note;
use super::csv_input::{
    mean_by_x, runs_without_gaps, same_as, window_s, Context, FaultSpan, Series, WindowPoint,
};
use super::frame::{self, Entry, Mark};
use super::output::{Chart, DrawResult};
use super::scale::LogAxis;
use super::style::*;

/// The latency chart's data.
pub(crate) struct Latency {
    ctx: Context,
    /// Per variant: (window middle in s, mean p50 in ms).
    p50: Vec<Series>,
    /// Per variant: (window middle in s, mean p99 in ms).
    p99: Vec<Series>,
    faults: Vec<FaultSpan>,
    window_s: f64,
    end_s: f64,
}

impl Latency {
    /// Prepares the chart from the windows read from `timeseries.csv`.
    pub(crate) fn new(ctx: Context, windows: &[WindowPoint], faults: Vec<FaultSpan>) -> Latency {
        let window_s = window_s(windows);
        let mid = |w: &WindowPoint| w.t_s + window_s / 2.0;
        let p50: Vec<_> = windows
            .iter()
            .filter_map(|w| Some((w.variant, mid(w), w.p50_ms?)))
            .collect();
        let p99: Vec<_> = windows
            .iter()
            .filter_map(|w| Some((w.variant, mid(w), w.p99_ms?)))
            .collect();
        let end_s = windows.iter().map(|w| w.t_s + window_s).fold(0.0, f64::max);
        Latency {
            p50: mean_by_x(&p50, ctx.variants.len()),
            p99: mean_by_x(&p99, ctx.variants.len()),
            ctx,
            faults,
            window_s,
            end_s,
        }
    }

    /// Smallest and largest positive value plotted.
    fn extent(&self) -> Option<(f64, f64)> {
        let values = self.p50.iter().chain(&self.p99).flatten().map(|p| p.1);
        let positive: Vec<f64> = values.filter(|v| *v > 0.0).collect();
        let low = positive.iter().copied().min_by(f64::total_cmp)?;
        let high = positive.iter().copied().max_by(f64::total_cmp)?;
        Some((low, high))
    }

    /// Draws grid, shading and lines on a built chart.
    fn plot<DB, Y>(&self, chart: &mut frame::Plane<'_, DB, Y>, log: bool) -> DrawResult<DB>
    where
        DB: DrawingBackend,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let y_desc = if log {
            "latency of ok calls (ms, log scale)"
        } else {
            "latency of ok calls (ms)"
        };
        frame::mesh(
            chart,
            "time since start of measurement (s)",
            y_desc,
            &|v| trim_number(*v, if *v < 1.0 { 3 } else { 1 }),
            &|v| trim_number(*v, 1),
            12,
        )?;
        frame::shade_faults(chart, &self.faults, self.end_s)?;
        for (v, (p50, p99)) in self.p50.iter().zip(&self.p99).enumerate() {
            let color = variant_color(v);
            for run in runs_without_gaps(p50, self.window_s) {
                chart.draw_series(DashedLineSeries::new(
                    run.iter().copied(),
                    7,
                    5,
                    color.stroke_width(2),
                ))?;
            }
            for run in runs_without_gaps(p99, self.window_s) {
                chart.draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))?;
            }
        }
        Ok(())
    }
}

impl Chart for Latency {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        // One entry per variant (its color), and one per line style.
        let same = same_as(&[&self.p50, &self.p99]);
        let mut legend = vec![
            Entry::new("p99 (solid)", INK, Mark::Line),
            Entry::new("p50 (dashed)", INK, Mark::Dashed),
        ];
        for (v, under) in same.iter().enumerate() {
            let label = self.ctx.overlap_label(v, *under);
            legend.push(Entry::new(label, variant_color(v), Mark::Box));
        }
        if !self.faults.is_empty() {
            legend.push(Entry {
                label: "fault".to_string(),
                color: FAULT.mix(0.25),
                mark: Mark::Box,
            });
        }
        let title = format!("{}: latency per window", self.ctx.scenario);
        let subtitle = format!(
            "p50 and p99 of ok calls started in each {} s window, {}",
            trim_number(self.window_s, 3),
            seeds_note(self.ctx.seeds)
        );
        let body = frame::header(root, &title, &subtitle, &legend)?;
        let x = 0.0..self.end_s.max(self.window_s);
        match self.extent() {
            Some((low, high)) if high / low > 10.0 => {
                let y = LogAxis {
                    range: low / 1.3..high * 1.3,
                };
                let mut chart = frame::plane(&body, x, y)?;
                self.plot(&mut chart, true)
            }
            extent => {
                let high = extent.map_or(1.0, |e| e.1);
                let mut chart = frame::plane(&body, x, 0.0..high * 1.08)?;
                self.plot(&mut chart, false)
            }
        }
    }
}

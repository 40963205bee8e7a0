//! `availability.svg`/`.png`: availability per window over time, one line per
//! variant (mean over seeds), fault intervals shaded, the SLO dashed.
//!
//! The y axis counts nines (90%, 99%, 99.9%, ...) from a little under the lowest
//! window to 100%: what an SRE reads. A dip from 99.95% to 99.3% under a 99.9% SLO
//! is as visible as an outage to 87%; on a linear axis the first would be a hair.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::csv_input::{
    mean_by_x, runs_without_gaps, same_as, window_s, Context, FaultSpan, Series, WindowPoint,
};
use super::frame::{self, Entry, Mark};
use super::output::{Chart, DrawResult};
use super::scale::{percent, NinesAxis};
use super::style::*;
use super::PlotOptions;

/// The availability chart's data.
pub(crate) struct Availability {
    ctx: Context,
    /// Per variant: (window middle in s, mean availability).
    series: Vec<Series>,
    faults: Vec<FaultSpan>,
    window_s: f64,
    end_s: f64,
    slo: Option<f64>,
}

impl Availability {
    /// Prepares the chart from the windows read from `timeseries.csv`.
    pub(crate) fn new(
        ctx: Context,
        windows: &[WindowPoint],
        faults: Vec<FaultSpan>,
        options: &PlotOptions,
    ) -> Availability {
        let window_s = window_s(windows);
        let points: Vec<_> = windows
            .iter()
            .filter_map(|w| Some((w.variant, w.t_s + window_s / 2.0, w.availability?)))
            .collect();
        let end_s = windows.iter().map(|w| w.t_s + window_s).fold(0.0, f64::max);
        Availability {
            series: mean_by_x(&points, ctx.variants.len()),
            ctx,
            faults,
            window_s,
            end_s,
            slo: options.slo,
        }
    }

    /// The y axis: whole nines from under the lowest window (or the SLO) to 100%.
    fn y_axis(&self) -> NinesAxis {
        let values = self.series.iter().flatten().map(|p| p.1);
        NinesAxis::covering(values.chain(self.slo))
    }
}

impl Chart for Availability {
    fn name(&self) -> &'static str {
        "availability"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let same = same_as(&[&self.series]);
        let mut legend: Vec<Entry> = (0..self.series.len())
            .map(|v| {
                let label = self.ctx.overlap_label(v, same[v]);
                let mark = match same[v] {
                    Some(_) => Mark::Dashed,
                    None => Mark::Line,
                };
                Entry::new(label, variant_color(v), mark)
            })
            .collect();
        if let Some(slo) = self.slo {
            let label = format!("SLO {}", percent(slo));
            legend.push(Entry::new(label, REFERENCE, Mark::Dashed));
        }
        if !self.faults.is_empty() {
            legend.push(Entry {
                label: "fault".to_string(),
                color: FAULT.mix(0.25),
                mark: Mark::Box,
            });
        }
        let title = format!("{}: availability per window", self.ctx.scenario);
        let subtitle = format!(
            "ok / calls in each {} s window, {}",
            trim_number(self.window_s, 3),
            seeds_note(self.ctx.seeds)
        );
        let body = frame::header(root, &title, &subtitle, &legend)?;

        let x = 0.0..self.end_s.max(self.window_s);
        let mut chart = frame::plane(&body, x, self.y_axis())?;
        frame::mesh(
            &mut chart,
            "time since start of measurement (s)",
            "availability (ok / calls, nines scale)",
            &|v| percent(*v),
            &|v| trim_number(*v, 1),
            12,
        )?;
        frame::shade_faults(&mut chart, &self.faults, self.end_s)?;
        if let Some(slo) = self.slo {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, slo), (self.end_s, slo)],
                8,
                6,
                REFERENCE.stroke_width(2),
            ))?;
        }
        for (v, series) in self.series.iter().enumerate() {
            let color = variant_color(v);
            for run in runs_without_gaps(series, self.window_s) {
                // A line on top of an identical one is dashed, so both colors show.
                match same[v] {
                    Some(_) => chart.draw_series(DashedLineSeries::new(
                        run.iter().copied(),
                        7,
                        7,
                        color.stroke_width(2),
                    ))?,
                    None => chart
                        .draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))?,
                };
            }
            if series.len() <= 40 {
                let dots = series.iter().map(|p| Circle::new(*p, 3, color.filled()));
                chart.draw_series(dots)?;
            }
        }
        Ok(())
    }
}

/// "mean over N seeds" or "one seed", for subtitles.
pub(crate) fn seeds_note(seeds: usize) -> String {
    match seeds {
        0 | 1 => "one seed per variant".to_string(),
        n => format!("mean over {n} seeds per variant"),
    }
}

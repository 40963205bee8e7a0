//! `load.svg`/`.png`: each server's share of the attempts, bars grouped by server
//! with one bar per variant (mean over seeds), and the even share dashed.
//!
//! Only servers with a `share` (those counted in the load spread) are drawn.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::availability::seeds_note;
use super::csv_input::{Context, Table};
use super::frame::{self, Entry, Mark};
use super::output::{Chart, DrawResult};
use super::style::*;
use super::PlotError;

/// Tick labels on the server axis at most; more servers label every k-th.
const MAX_SERVER_LABELS: usize = 24;

/// The load chart's data.
pub(crate) struct Load {
    ctx: Context,
    /// Servers in file order.
    servers: Vec<String>,
    /// `share[variant][server]`: mean share over the seeds with a value.
    share: Vec<Vec<Option<f64>>>,
}

impl Load {
    /// Reads `servers.csv`, or `None` if it does not exist.
    pub(crate) fn read(dir: &Path, mut ctx: Context) -> Result<Option<Load>, PlotError> {
        let Some(table) = Table::read_optional(dir, "servers.csv")? else {
            return Ok(None);
        };
        let (variant, server) = (table.column("variant")?, table.column("server")?);
        let share = table.column("share")?;
        let mut servers: Vec<String> = Vec::new();
        // (variant, server, share) of every row with a share.
        let mut rows = Vec::new();
        for row in table.rows() {
            let Some(value) = table.number(row, share)? else {
                continue;
            };
            let name = table.text(row, server);
            let s = match servers.iter().position(|n| n == name) {
                Some(s) => s,
                None => {
                    servers.push(name.to_string());
                    servers.len() - 1
                }
            };
            rows.push((ctx.variant_index(table.text(row, variant)), s, value));
        }
        let mut sums = vec![vec![(0.0, 0usize); servers.len()]; ctx.variants.len()];
        for (v, s, value) in rows {
            sums[v][s].0 += value;
            sums[v][s].1 += 1;
        }
        let share = sums
            .into_iter()
            .map(|row| {
                let mean = |(sum, n): (f64, usize)| (n > 0).then(|| sum / n as f64);
                row.into_iter().map(mean).collect()
            })
            .collect();
        Ok(Some(Load {
            ctx,
            servers,
            share,
        }))
    }
}

impl Chart for Load {
    fn name(&self) -> &'static str {
        "load"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let variants = self.share.len();
        let mut legend: Vec<Entry> = (0..variants)
            .map(|v| Entry::new(self.ctx.legend_label(v), variant_color(v), Mark::Box))
            .collect();
        let n = self.servers.len().max(1);
        let even = 1.0 / n as f64;
        let even_label = format!("even share ({}%)", trim_number(100.0 * even, 1));
        legend.push(Entry::new(even_label, REFERENCE, Mark::Dashed));
        let title = format!("{}: load per server", self.ctx.scenario);
        let subtitle = format!(
            "share of the attempts each server received (measured interval), {}",
            seeds_note(self.ctx.seeds)
        );
        let body = frame::header(root, &title, &subtitle, &legend)?;

        let highest = self
            .share
            .iter()
            .flatten()
            .flatten()
            .fold(even, |a, b| a.max(*b));
        let x = -0.5..n as f64 - 0.5;
        let mut chart = frame::plane(&body, x, 0.0..highest * 1.1)?;
        let names = &self.servers;
        let label = |v: &f64| {
            let i = v.round();
            let near = (v - i).abs() < 1e-6 && i >= 0.0;
            let name = names.get(i as usize).filter(|_| near);
            name.cloned().unwrap_or_default()
        };
        frame::mesh(
            &mut chart,
            "server",
            "share of attempts (%)",
            &|v| format!("{}%", trim_number(v * 100.0, 1)),
            &label,
            n.min(MAX_SERVER_LABELS),
        )?;
        // Bars fill 80% of a server's slot, split evenly between variants.
        let width = 0.8 / variants.max(1) as f64;
        for (v, shares) in self.share.iter().enumerate() {
            let fill = variant_color(v).filled();
            let bars = shares.iter().enumerate().filter_map(|(s, share)| {
                let left = s as f64 - 0.4 + v as f64 * width;
                let gap = width * 0.08;
                Some(Rectangle::new(
                    [(left + gap, 0.0), (left + width - gap, (*share)?)],
                    fill,
                ))
            });
            chart.draw_series(bars)?;
        }
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, even), (n as f64 - 0.5, even)],
            8,
            6,
            REFERENCE.stroke_width(2),
        ))?;
        Ok(())
    }
}

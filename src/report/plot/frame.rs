//! The parts every chart has around its data: title, subtitle, a legend above the
//! plot (so it never covers data; it wraps onto as many rows as it needs), the grid
//! and axes, and fault shading.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::csv_input::FaultSpan;
use super::output::DrawResult;
use super::style::*;

/// Height of the title block above the legend (title, subtitle).
const TITLE_BLOCK_PX: i32 = 70;
/// Height of one legend row.
const LEGEND_ROW_PX: i32 = 22;
/// Legend rows at most; entries beyond are summed up as "+N more".
const MAX_LEGEND_ROWS: usize = 6;
/// Legend labels longer than this are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 60;
/// Left edge of header text.
const LEFT_PX: i32 = 24;

/// How a legend entry's sample is drawn.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mark {
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// A filled box (bars, shading).
    Box,
    /// A dot with a vertical whisker (comparison).
    Dot,
}

/// One legend entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The text.
    pub label: String,
    /// The sample's color (with its alpha).
    pub color: RGBAColor,
    /// The sample's shape.
    pub mark: Mark,
}

impl Entry {
    /// An entry of an opaque color.
    pub(crate) fn new(label: impl Into<String>, color: RGBColor, mark: Mark) -> Entry {
        Entry {
            label: label.into(),
            color: color.to_rgba(),
            mark,
        }
    }
}

/// Text style for everything but the title.
pub(crate) fn text(px: f64, color: RGBColor) -> TextStyle<'static> {
    (FONT, px).into_font().color(&color)
}

/// Draws the title, subtitle and legend on `root`; returns the area left for the
/// plot (the legend takes as many rows as its entries need).
pub(crate) fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
    legend: &[Entry],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let style = text(LABEL_PX, INK).pos(Pos::new(HPos::Left, VPos::Center));
    let width = root.dim_in_pixel().0 as i32;
    // Lay the entries out in rows: (entry, x) per row.
    let mut rows: Vec<Vec<(usize, i32, String)>> = vec![Vec::new()];
    let mut x = LEFT_PX;
    let mut hidden = 0;
    for (i, entry) in legend.iter().enumerate() {
        let label = shorten(&entry.label);
        let label_px = root.estimate_text_size(&label, &style)?.0 as i32;
        let needed = 28 + label_px;
        if x + needed > width - LEFT_PX && x > LEFT_PX {
            if rows.len() == MAX_LEGEND_ROWS {
                hidden = legend.len() - i;
                break;
            }
            rows.push(Vec::new());
            x = LEFT_PX;
        }
        if let Some(row) = rows.last_mut() {
            row.push((i, x, label));
        }
        x += needed + 22;
    }
    let height = TITLE_BLOCK_PX + LEGEND_ROW_PX * rows.len() as i32 + 8;
    let (top, body) = root.split_vertically(height);
    let bold = (FONT, TITLE_PX, FontStyle::Bold).into_font().color(&INK);
    top.draw_text(title, &bold, (LEFT_PX, 14))?;
    top.draw_text(subtitle, &text(SUBTITLE_PX, MUTED), (LEFT_PX, 46))?;
    for (r, row) in rows.iter().enumerate() {
        let y = TITLE_BLOCK_PX + 10 + LEGEND_ROW_PX * r as i32;
        for (i, x, label) in row {
            sample(&top, &legend[*i], (*x, y))?;
            top.draw_text(label, &style, (x + 28, y))?;
        }
    }
    if hidden > 0 {
        let y = TITLE_BLOCK_PX + 10 + LEGEND_ROW_PX * (rows.len() as i32 - 1);
        let more = format!("+{hidden} more");
        let px = top.estimate_text_size(&more, &style)?.0 as i32;
        top.draw_text(&more, &style, (width - LEFT_PX - px, y))?;
    }
    Ok(body)
}

/// A legend label cut to [`MAX_LABEL_CHARS`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    format!("{cut}…")
}

/// The 22-pixel-wide sample of a legend entry, vertically centered on `y`.
fn sample<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entry: &Entry,
    (x, y): (i32, i32),
) -> DrawResult<DB> {
    let stroke = entry.color.stroke_width(3);
    match entry.mark {
        Mark::Line => area.draw(&PathElement::new([(x, y), (x + 22, y)], stroke)),
        Mark::Dashed => {
            area.draw(&PathElement::new([(x, y), (x + 8, y)], stroke))?;
            area.draw(&PathElement::new([(x + 14, y), (x + 22, y)], stroke))
        }
        Mark::Box => area.draw(&Rectangle::new(
            [(x, y - 7), (x + 22, y + 7)],
            entry.color.filled(),
        )),
        Mark::Dot => {
            area.draw(&PathElement::new(
                [(x + 11, y - 8), (x + 11, y + 8)],
                entry.color.stroke_width(2),
            ))?;
            area.draw(&Circle::new((x + 11, y), 5, entry.color.filled()))
        }
    }
}

/// A cartesian chart with time (or positions) in `f64` on x and `Y` on y.
pub(crate) type Plane<'a, DB, Y = RangedCoordf64> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// Builds a chart with the house margins and label areas on `area`.
pub(crate) fn plane<'a, DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    area: &'a DrawingArea<DB, Shift>,
    x: std::ops::Range<f64>,
    y: Y,
) -> Result<Plane<'a, DB, Y::CoordDescType>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(28)
        .margin_top(8)
        .margin_bottom(10)
        .x_label_area_size(50)
        .y_label_area_size(78)
        .build_cartesian_2d(x, y)
}

/// Shades each fault interval light red over the whole height, with its label at
/// the top; `end` closes intervals that last until the end of the run.
pub(crate) fn shade_faults<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut Plane<'_, DB, Y>,
    faults: &[FaultSpan],
    end: f64,
) -> DrawResult<DB> {
    let (x_range, y_range) = (chart.x_range(), chart.y_range());
    let fill = FAULT.mix(0.10).filled();
    for fault in faults {
        let start = fault.start_s.max(x_range.start);
        let stop = fault.end_s.unwrap_or(end).min(x_range.end);
        if stop <= start {
            continue;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(start, y_range.start), (stop, y_range.end)],
            fill,
        )))?;
    }
    // Labels after every shade, so an overlapping shade does not dim a label.
    let area = chart.plotting_area();
    let label = text(12.0, FAULT).pos(Pos::new(HPos::Left, VPos::Top));
    for (i, fault) in faults.iter().enumerate() {
        if fault.start_s >= x_range.end {
            continue;
        }
        let x = fault.start_s.max(x_range.start);
        // Stagger labels of nearby faults so they do not print over each other.
        let dy = 4 + 14 * (i as i32 % 3);
        let text = Text::new(fault.label.clone(), (4, dy), label.clone());
        area.draw(&(EmptyElement::at((x, y_range.end)) + text))?;
    }
    Ok(())
}

/// The house mesh: a thin light grid, axis descriptions and tick labels.
pub(crate) fn mesh<DB, Y>(
    chart: &mut Plane<'_, DB, Y>,
    x_desc: &str,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
    x_format: &dyn Fn(&f64) -> String,
    x_labels: usize,
) -> DrawResult<DB>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID.stroke_width(1))
        .axis_style(INK.stroke_width(1))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(text(AXIS_PX, INK))
        .label_style(text(LABEL_PX, INK))
        .x_labels(x_labels)
        .y_labels(8)
        .x_label_formatter(x_format)
        .y_label_formatter(y_format)
        .draw()
}

//! Rendering one chart to SVG and PNG and writing both files atomically.
//!
//! Both come from the same drawing code ([`Chart::draw`]), rendered into memory:
//! the SVG into a string (deterministic: no timestamps, no ids), the PNG into an RGB
//! buffer encoded with fixed settings. Each file is written to a temporary name in
//! the same folder and renamed, like the CSV files.

use std::io::Write;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingAreaErrorKind, DrawingBackend};
use plotters::prelude::{IntoDrawingArea, SVGBackend};

use super::raster::PngBackend;
use super::style::{register_fonts, SIZE};
use super::PlotError;

/// The result of drawing on some backend.
pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can draw itself on any plotters backend.
pub(crate) trait Chart {
    /// The file stem: `availability` gives `availability.svg` and `.png`.
    fn name(&self) -> &'static str;
    /// Draws the whole chart on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Renders `chart` and writes `dir/<name>.svg` and `dir/<name>.png`; returns both
/// paths.
pub(crate) fn write_chart(dir: &Path, chart: &impl Chart) -> Result<Vec<PathBuf>, PlotError> {
    register_fonts();
    let svg_path = dir.join(format!("{}.svg", chart.name()));
    let png_path = dir.join(format!("{}.png", chart.name()));
    let svg = render_svg(chart).map_err(|message| PlotError::Draw {
        path: svg_path.clone(),
        message,
    })?;
    let png = render_png(chart).map_err(|message| PlotError::Draw {
        path: png_path.clone(),
        message,
    })?;
    write_atomic(&svg_path, svg.as_bytes())?;
    write_atomic(&png_path, &png)?;
    Ok(vec![svg_path, png_path])
}

/// The chart as SVG text.
pub(crate) fn render_svg(chart: &impl Chart) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&plotters::style::WHITE)
            .map_err(|e| e.to_string())?;
        chart.draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// The chart as PNG bytes (8-bit RGB).
pub(crate) fn render_png(chart: &impl Chart) -> Result<Vec<u8>, String> {
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = PngBackend(BitMapBackend::with_buffer(&mut pixels, SIZE));
        let root = backend.into_drawing_area();
        root.fill(&plotters::style::WHITE)
            .map_err(|e| e.to_string())?;
        chart.draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Writes `bytes` to `path` whole or not at all (see [`crate::report::atomic`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    let io_err = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::report::atomic::write(path, |out| out.write_all(bytes).map_err(io_err), io_err)
}

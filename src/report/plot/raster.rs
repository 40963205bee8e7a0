//! The PNG backend: plotters' bitmap backend with our own text rasterizer.
//!
//! plotters' `ab_glyph` text drawing places each glyph at the pen position without
//! its left side bearing, so PNG text comes out unevenly spaced ("api[ 2]"). This
//! wrapper draws text with `ab_glyph` directly, bearings and kerning included,
//! honoring the anchor and rotation plotters asks for, from the bundled fonts.
//! Everything else goes to [`BitMapBackend`] unchanged.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle,
};

use super::style::{SANS, SANS_BOLD};

/// The bundled fonts, parsed once.
fn fonts() -> &'static (FontRef<'static>, FontRef<'static>) {
    static FONTS: OnceLock<(FontRef<'static>, FontRef<'static>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        // The files in assets/ parse (a test checks it).
        let parse = |bytes| FontRef::try_from_slice(bytes).expect("bundled font parses");
        (parse(SANS), parse(SANS_BOLD))
    })
}

/// [`BitMapBackend`] with correctly spaced text.
pub(crate) struct PngBackend<'a>(pub BitMapBackend<'a>);

/// The bitmap backend's error.
type BitMapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;
type Error = DrawingErrorKind<BitMapError>;

impl DrawingBackend for PngBackend<'_> {
    type ErrorType = BitMapError;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error> {
        self.0.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Error> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> Result<(), Error> {
        self.0.blit_bitmap(pos, (iw, ih), src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), Error> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let (regular, bold) = fonts();
        let font = match style.style() {
            FontStyle::Bold => bold,
            _ => regular,
        };
        let scaled = font.as_scaled(PxScale::from(style.size() as f32));
        let (width, ascent) = (advance(&scaled, text), scaled.ascent());
        let height = ascent - scaled.descent();
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut caret = 0.0;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, id);
            }
            previous = Some(id);
            let glyph = id.with_scale_and_position(scaled.scale(), point(caret, ascent));
            caret += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // A space.
            };
            let bounds = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                let x = (bounds.min.x + gx as f32 + dx).round() as i32;
                let y = (bounds.min.y + gy as f32 + dy).round() as i32;
                let (x, y) = transform.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                let inside = x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h;
                if inside && coverage > 0.0 && result.is_ok() {
                    let alpha = color.alpha * f64::from(coverage.min(1.0));
                    result = self.0.draw_pixel((x, y), BackendColor { alpha, ..color });
                }
            });
            result?;
        }
        Ok(())
    }
}

/// The width of `text` in pixels: advances plus kerning (what plotters measures).
fn advance<F: Font>(font: &impl ScaleFont<F>, text: &str) -> f32 {
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            width += font.kern(p, id);
        }
        previous = Some(id);
        width += font.h_advance(id);
    }
    width
}

//! The look shared by every chart: the bundled font, sizes and the variant palette.
//!
//! The font is compiled into the binary (DejaVu Sans, `assets/fonts/`, license
//! beside it) and registered with plotters' `ab_glyph` text renderer, so PNGs
//! render the same on a machine with no system fonts. SVGs store text as `<text>`
//! and name the family `sans-serif`; the font here only measures it for layout.

use std::sync::Once;

use plotters::style::{register_font, FontStyle, RGBColor};

/// DejaVu Sans, regular (Bitstream Vera license: assets/fonts/LICENSE-DejaVu.txt).
pub(crate) static SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans, bold, for titles.
pub(crate) static SANS_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// The family every text style names.
pub(crate) const FONT: &str = "sans-serif";

/// Chart size in pixels (SVG user units and PNG pixels alike).
pub(crate) const SIZE: (u32, u32) = (1000, 600);

/// Font sizes in pixels.
pub(crate) const TITLE_PX: f64 = 24.0;
/// Subtitle (what is averaged, how many seeds).
pub(crate) const SUBTITLE_PX: f64 = 15.0;
/// Axis descriptions.
pub(crate) const AXIS_PX: f64 = 16.0;
/// Tick labels and legend entries.
pub(crate) const LABEL_PX: f64 = 14.0;

/// Text and axis color: a dark gray, softer than black.
pub(crate) const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
/// Secondary text (subtitles, fault labels).
pub(crate) const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
/// Fault shading (drawn with transparency) and its label.
pub(crate) const FAULT: RGBColor = RGBColor(0xD6, 0x27, 0x28);
/// Reference lines (SLO, even share).
pub(crate) const REFERENCE: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Tableau 10, reordered so red (the fault shading) comes last: distinct for the
/// common kinds of color blindness in its first few entries; then ten darker tones
/// for sweeps of up to 20 variants.
const PALETTE: [RGBColor; 20] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0xBA, 0xB0, 0xAC),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x1B, 0x3A, 0x5C),
    RGBColor(0x8C, 0x4A, 0x00),
    RGBColor(0x2E, 0x6B, 0x28),
    RGBColor(0x6B, 0x3A, 0x63),
    RGBColor(0x2F, 0x6F, 0x6B),
    RGBColor(0x5A, 0x3E, 0x2B),
    RGBColor(0x8A, 0x70, 0x00),
    RGBColor(0xB5, 0x55, 0x6A),
    RGBColor(0x55, 0x55, 0x55),
    RGBColor(0x00, 0x00, 0x00),
];

/// The color of the variant at `index` (in `summary.csv` order): the same in every
/// chart. More than twenty variants repeat colors.
pub(crate) fn variant_color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Registers the bundled fonts with plotters, once per process.
pub(crate) fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are the files in assets/, checked by the tests: parsing cannot
        // fail at run time, and if it did, text would fail with a drawing error.
        let _ = register_font(FONT, FontStyle::Normal, SANS);
        let _ = register_font(FONT, FontStyle::Bold, SANS_BOLD);
    });
}

/// A number for a tick label: at most `digits` decimals, trailing zeros removed.
pub(crate) fn trim_number(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Decimals that tell ticks `step` apart.
pub(crate) fn digits_for(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 2;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fonts_parse() {
        assert!(register_font("hasim-test", FontStyle::Normal, SANS).is_ok());
        assert!(register_font("hasim-test", FontStyle::Bold, SANS_BOLD).is_ok());
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(trim_number(0.5, 3), "0.5");
        assert_eq!(trim_number(2.0, 3), "2");
        assert_eq!(trim_number(-0.0001, 2), "0");
        assert_eq!(digits_for(0.05), 2);
        assert_eq!(digits_for(10.0), 0);
    }
}

//! Two y scales plotters lacks: latency on a log axis with 1-2-5 ticks, and
//! availability on a "nines" axis (90%, 99%, 99.9%, ...).
//!
//! Both keep the data in its own unit (milliseconds, availability as a fraction), so
//! series, the SLO line and the fault shading are drawn as on a linear axis.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// Maps `t` in `[from.start, from.end]` linearly onto the pixel `limit`.
fn linear(t: f64, from: &Range<f64>, limit: (i32, i32)) -> i32 {
    let span = from.end - from.start;
    let share = if span > 0.0 {
        (t - from.start) / span
    } else {
        0.5
    };
    limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
}

/// A logarithmic axis in the data's unit with ticks at 1, 2 and 5 times a power
/// of ten.
#[derive(Clone, Debug)]
pub(crate) struct LogAxis {
    /// The range, both ends positive.
    pub range: Range<f64>,
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let log = |v: f64| v.max(f64::MIN_POSITIVE).log10();
        let from = log(self.range.start)..log(self.range.end);
        linear(log(*value), &from, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let Range { start, end } = self.range;
        let decades = (end / start).log10();
        // 1-2-5 when there is room, else 1 per decade.
        let steps: &[f64] = if decades * 3.0 <= hint.max_num_points() as f64 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut out = Vec::new();
        let mut power = 10f64.powf(start.log10().floor());
        while power <= end {
            for m in steps {
                let v = m * power;
                if v >= start && v <= end {
                    out.push(v);
                }
            }
            power *= 10.0;
        }
        out
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// An availability axis spaced by nines: 90% to 99% is as tall as 99% to 99.9%.
///
/// A value of 100% (no failed call) has infinitely many nines; it is drawn at the
/// top of the axis, which is labeled 100%.
#[derive(Clone, Debug)]
pub(crate) struct NinesAxis {
    /// Nines at the bottom (0 = 0%, 1 = 90%, ...).
    pub bottom: f64,
    /// Nines at the top, a whole number: where 100% is drawn.
    pub top: f64,
}

impl NinesAxis {
    /// An axis from a little under the lowest of `values` to 100%, whole nines.
    pub(crate) fn covering(values: impl Iterator<Item = f64>) -> NinesAxis {
        let (low, high) = values
            .filter(|v| *v < 1.0)
            .map(nines)
            .fold((f64::INFINITY, 0.0f64), |(l, h), n| (l.min(n), h.max(n)));
        let low = if low.is_finite() { low } else { 2.0 };
        let bottom = (low - 0.25).floor().max(0.0);
        let top = (high.max(low) + 0.5).ceil().max(bottom + 2.0);
        NinesAxis { bottom, top }
    }

    /// The nines of `value`, clamped to the axis.
    fn position(&self, value: f64) -> f64 {
        if value >= 1.0 {
            self.top
        } else {
            nines(value).clamp(self.bottom, self.top)
        }
    }
}

/// `-log10(1 - availability)`: 0.99 has 2 nines.
pub(crate) fn nines(availability: f64) -> f64 {
    -(1.0 - availability.min(1.0)).max(1e-12).log10()
}

/// The availability with `n` nines.
fn from_nines(n: f64) -> f64 {
    1.0 - 10f64.powf(-n)
}

impl Ranged for NinesAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        linear(self.position(*value), &(self.bottom..self.top), limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Whole nines; halves (e.g. 99.5%, written as 1 - 0.5 * 10^-k) when the axis
        // is short.
        let whole = (self.top - self.bottom) as usize;
        let halves = whole * 2 <= hint.max_num_points() && whole <= 3;
        let mut out = Vec::new();
        let mut n = self.bottom;
        while n < self.top {
            out.push(from_nines(n));
            if halves {
                out.push(1.0 - 0.5 * 10f64.powf(-n));
            }
            n += 1.0;
        }
        out.push(1.0);
        out
    }

    fn range(&self) -> Range<f64> {
        from_nines(self.bottom)..1.0
    }
}

/// A tick label for an availability: `99.9%`, `100%`, `0%`.
pub(crate) fn percent(availability: f64) -> String {
    let p = availability * 100.0;
    // Enough decimals to show the last nine, no more.
    let digits = if availability >= 1.0 || availability <= 0.0 {
        0
    } else {
        ((nines(availability) - 2.0).ceil().max(0.0) as usize + 1).min(10)
    };
    let s = format!("{p:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_labels_keep_the_nines() {
        assert_eq!(percent(0.9), "90%");
        assert_eq!(percent(0.99), "99%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(percent(0.9999), "99.99%");
        assert_eq!(percent(0.995), "99.5%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
    }

    #[test]
    fn nines_axis_covers_the_dip_and_puts_100_percent_on_top() {
        let axis = NinesAxis::covering([0.87, 0.9995, 1.0].into_iter());
        assert_eq!((axis.bottom, axis.top), (0.0, 4.0));
        let limit = (500, 100);
        assert_eq!(axis.map(&1.0, limit), 100);
        assert_eq!(axis.map(&0.0, limit), 500);
        assert_eq!(axis.map(&0.99, limit), 300);
        let log = LogAxis { range: 1.0..100.0 };
        assert_eq!(log.map(&10.0, limit), 300);
    }
}

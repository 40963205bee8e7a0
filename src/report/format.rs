//! Cell formatting shared by the CSV files: one place decides how a number looks.

use crate::metrics::stats::Stats;
use crate::metrics::Cell;

/// A float in shortest round-trip form; empty for `None`, NaN and infinities.
pub(crate) fn float(value: Option<f64>) -> String {
    match value {
        // `+ 0.0` turns -0.0 into 0.0, so no file ever says "-0".
        Some(x) if x.is_finite() => format!("{}", x + 0.0),
        _ => String::new(),
    }
}

/// A cell as CSV text (see the module docs of `report` for the rules).
pub(crate) fn cell(cell: &Cell<'_>) -> String {
    match *cell {
        Cell::Int(v) => v.to_string(),
        Cell::Float(v) => float(v),
        Cell::Text(t) => t.to_string(),
    }
}

/// The `mean,stddev,ci95_low,ci95_high,runs` cells of `comparison.csv` and
/// `paired.csv`.
pub(crate) fn stats(s: &Stats) -> [String; 5] {
    [
        float(Some(s.mean)),
        float(Some(s.stddev)),
        float(Some(s.ci95_low)),
        float(Some(s.ci95_high)),
        s.runs.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(float(Some(1.5)), "1.5");
        assert_eq!(float(Some(1.0)), "1");
        assert_eq!(float(Some(0.9999999)), "0.9999999");
        assert_eq!(float(Some(1e-7)), "0.0000001");
        assert_eq!(float(Some(-0.0)), "0");
        assert_eq!(float(Some(f64::NAN)), "");
        assert_eq!(float(Some(f64::INFINITY)), "");
        assert_eq!(float(None), "");
        assert_eq!(cell(&Cell::Int(42)), "42");
        assert_eq!(cell(&Cell::Text("api[3]")), "api[3]");
    }
}

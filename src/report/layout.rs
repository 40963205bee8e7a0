//! The shape of a sweep's files: which variants and seeds, in which order, and the
//! label columns every row starts with.
//!
//! A sweep is a plan of `variants x seeds` runs, variants outside and seeds inside;
//! run number `i` is variant `i / seeds` with seed `first + i % seeds`. Every CSV
//! lists its runs in that order, whatever the number of threads, the shards the
//! plan was split into, or how often it was interrupted and resumed. That order is
//! what makes a merged or resumed folder byte-identical to one written in one go.

use std::collections::BTreeMap;

/// Everything about a sweep that its files need (read back from `manifest.json` by
/// `hasim merge`, so it holds no scenario).
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// The scenario's name (`summary.csv`'s `scenario` column).
    pub scenario: String,
    /// Variant names, in plan order.
    pub variants: Vec<String>,
    /// One column name per `--vary` axis (the axis label), after `variant`.
    pub axes: Vec<String>,
    /// Per variant, its value on each axis (as shown in its name).
    pub axis_values: Vec<Vec<String>>,
    /// The first seed.
    pub seed_first: u64,
    /// Seeds per variant.
    pub seed_count: u64,
    /// `variants` by name, for reading rows back.
    by_name: BTreeMap<String, usize>,
}

impl Layout {
    /// A layout; `axis_values` has one entry per variant (empty without axes).
    pub fn new(
        scenario: String,
        variants: Vec<String>,
        axes: Vec<String>,
        axis_values: Vec<Vec<String>>,
        seed_first: u64,
        seed_count: u64,
    ) -> Layout {
        let by_name = variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i))
            .collect();
        let axis_values = match axis_values.len() == variants.len() {
            true => axis_values,
            false => vec![vec![String::new(); axes.len()]; variants.len()],
        };
        Layout {
            scenario,
            variants,
            axes,
            axis_values,
            seed_first,
            seed_count,
            by_name,
        }
    }

    /// Runs in the whole plan.
    pub fn runs(&self) -> usize {
        self.variants.len().saturating_mul(self.seed_count as usize)
    }

    /// The variant number and seed of run `index`.
    pub fn split(&self, index: usize) -> (usize, u64) {
        let count = self.seed_count.max(1) as usize;
        let seed = self.seed_first.wrapping_add((index % count) as u64);
        (index / count, seed)
    }

    /// The run of `variant` with `seed`, if the plan has it.
    pub fn index_of(&self, variant: &str, seed: u64) -> Option<usize> {
        let v = *self.by_name.get(variant)?;
        let s = seed.wrapping_sub(self.seed_first);
        (s < self.seed_count).then(|| v * self.seed_count as usize + s as usize)
    }

    /// The label cells of run `index` for a per-run file: `variant`, the axis values,
    /// `seed`.
    pub(crate) fn labels(&self, index: usize) -> Vec<String> {
        let (v, seed) = self.split(index);
        std::iter::once(self.variants[v].clone())
            .chain(self.axis_values[v].iter().cloned())
            .chain(std::iter::once(seed.to_string()))
            .collect()
    }

    /// The label column names of a per-run file: `variant`, the axes, `seed`.
    pub(crate) fn label_names(&self) -> Vec<String> {
        std::iter::once("variant".to_string())
            .chain(self.axes.iter().cloned())
            .chain(std::iter::once("seed".to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_variants_outside_seeds_inside() {
        let layout = Layout::new(
            "demo".into(),
            vec!["a".into(), "b".into()],
            vec!["x".into()],
            vec![vec!["1".into()], vec!["2".into()]],
            u64::MAX,
            3,
        );
        assert_eq!(layout.runs(), 6);
        assert_eq!(layout.split(4), (1, 0));
        assert_eq!(layout.index_of("b", 0), Some(4));
        assert_eq!(layout.index_of("b", 2), None);
        assert_eq!(layout.index_of("c", 0), None);
        assert_eq!(layout.labels(4), ["b", "2", "0"]);
        assert_eq!(layout.label_names(), ["variant", "x", "seed"]);
    }
}

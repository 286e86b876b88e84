//! Feature values to at most 256 bins per feature, so a split search is a
//! pass over a histogram instead of a sort (the LightGBM / XGBoost `hist`
//! approach).

use crate::SplitMix64;

/// Rows sampled to place the cut points.
const SAMPLE: usize = 200_000;

/// Cut points per feature: value `v` is in bin `b` when exactly `b` cuts
/// are below it (`v > cut`). NaN is in bin 0, the side every split sends
/// left, as the compiled trees do.
#[derive(Debug, Clone)]
pub(crate) struct Bins {
    pub cuts: Vec<Vec<f32>>,
}

impl Bins {
    /// Up to `max_bins` bins per feature at the sample's quantiles, with
    /// cuts half-way between neighbouring distinct values so a split
    /// generalises between them.
    pub fn fit(x: &[f32], width: usize, max_bins: usize, rng: &mut SplitMix64) -> Bins {
        let rows = x.len() / width.max(1);
        let picked: Vec<usize> =
            if rows <= SAMPLE { (0..rows).collect() } else { (0..SAMPLE).map(|_| rng.below(rows)).collect() };
        let mut cuts = Vec::with_capacity(width);
        let mut column = Vec::with_capacity(picked.len());
        for f in 0..width {
            column.clear();
            column.extend(picked.iter().map(|&r| x[r * width + f]).filter(|v| !v.is_nan()));
            column.sort_by(f32::total_cmp);
            column.dedup();
            let mut feature_cuts = Vec::new();
            if column.len() <= max_bins {
                feature_cuts.extend(column.windows(2).map(|w| midpoint(w[0], w[1])));
            } else {
                let step = column.len() as f64 / max_bins as f64;
                for b in 1..max_bins {
                    let i = (b as f64 * step) as usize;
                    let cut = midpoint(column[i - 1], column[i]);
                    if feature_cuts.last() != Some(&cut) {
                        feature_cuts.push(cut);
                    }
                }
            }
            cuts.push(feature_cuts);
        }
        Bins { cuts }
    }

    /// Column-major bin codes.
    pub fn apply(&self, x: &[f32], width: usize) -> Vec<Vec<u8>> {
        let rows = x.len() / width.max(1);
        (0..width)
            .map(|f| {
                let cuts = &self.cuts[f];
                (0..rows).map(|r| cuts.partition_point(|&c| x[r * width + f] > c) as u8).collect()
            })
            .collect()
    }
}

fn midpoint(a: f32, b: f32) -> f32 {
    let m = a + (b - a) / 2.0;
    // Rounding can land on `b`; the cut must stay below it.
    if m >= b { a } else { m }
}

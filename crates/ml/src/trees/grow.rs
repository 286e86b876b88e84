//! One tree, grown depth-first from binned features and per-row statistics.
//!
//! Both objectives share the search: a node's histogram sums each row's
//! statistics per (feature, bin), and the best split is a scan over the
//! cumulative sums. `Gini` reads the statistics as weighted class counts
//! (random forests, single trees); `Newton` as gradient and hessian per
//! class (gradient boosting, with one vector-valued tree per round as
//! CatBoost's MultiClass does).

use super::tree::Tree;
use crate::SplitMix64;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Objective {
    /// Statistics: `k` weighted class counts.
    Gini,
    /// Statistics: `k` gradients then `k` hessians; L2 penalty `lambda`.
    Newton { lambda: f64 },
}

#[derive(Debug, Clone)]
pub(crate) struct GrowParams {
    pub objective: Objective,
    pub k: usize,
    pub max_depth: usize,
    /// Least weight (Gini) or hessian (Newton) a child may have.
    pub min_child: f64,
    /// Candidate features per node (random forests); `None` uses `features`
    /// for every node, which lets a child's histogram be its parent's minus
    /// its sibling's.
    pub per_node: Option<usize>,
}

pub(crate) struct Grower<'a> {
    pub bins: &'a [Vec<u8>],
    pub cuts: &'a [Vec<f32>],
    /// Row-major, `stat_width()` per row.
    pub stats: &'a [f64],
    pub params: &'a GrowParams,
    /// Features a node may split on (all of them, or a per-tree sample).
    pub features: Vec<usize>,
    pub rng: SplitMix64,
    tree: Tree,
    /// Each row's leaf number after growing (rows not grown on: unchanged).
    pub leaf_of: Vec<u32>,
}

struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
}

const BINS: usize = 256;

impl<'a> Grower<'a> {
    pub fn new(
        bins: &'a [Vec<u8>],
        cuts: &'a [Vec<f32>],
        stats: &'a [f64],
        params: &'a GrowParams,
        features: Vec<usize>,
        rng: SplitMix64,
    ) -> Grower<'a> {
        let rows = bins.first().map_or(0, Vec::len);
        Grower { bins, cuts, stats, params, features, rng, tree: Tree::default(), leaf_of: vec![0; rows] }
    }

    fn stat_width(&self) -> usize {
        match self.params.objective {
            Objective::Gini => self.params.k,
            Objective::Newton { .. } => 2 * self.params.k,
        }
    }

    /// Grows on `rows` (indices into the binned columns) and returns the tree.
    pub fn grow(mut self, rows: &mut [u32]) -> (Tree, Vec<u32>) {
        self.node(rows, 0, None);
        (self.tree, self.leaf_of)
    }

    fn totals(&self, rows: &[u32]) -> Vec<f64> {
        let s = self.stat_width();
        let mut total = vec![0.0; s];
        for &r in rows {
            for (t, v) in total.iter_mut().zip(&self.stats[r as usize * s..][..s]) {
                *t += v;
            }
        }
        total
    }

    fn histogram(&self, rows: &[u32], features: &[usize]) -> Vec<f64> {
        let s = self.stat_width();
        let mut hist = vec![0.0; features.len() * BINS * s];
        for (fi, &f) in features.iter().enumerate() {
            let column = &self.bins[f];
            let h = &mut hist[fi * BINS * s..][..BINS * s];
            for &r in rows {
                let b = column[r as usize] as usize;
                let stat = &self.stats[r as usize * s..][..s];
                for (acc, v) in h[b * s..][..s].iter_mut().zip(stat) {
                    *acc += v;
                }
            }
        }
        hist
    }

    /// How good a set of statistics is as one leaf; a split's gain is the
    /// children's sum minus the parent's.
    fn score(&self, stat: &[f64]) -> f64 {
        let k = self.params.k;
        match self.params.objective {
            Objective::Gini => {
                let w: f64 = stat.iter().sum();
                if w <= 0.0 { 0.0 } else { stat.iter().map(|c| c * c).sum::<f64>() / w }
            }
            Objective::Newton { lambda } => (0..k).map(|c| stat[c] * stat[c] / (stat[k + c] + lambda)).sum(),
        }
    }

    fn weight(&self, stat: &[f64]) -> f64 {
        match self.params.objective {
            Objective::Gini => stat.iter().sum(),
            Objective::Newton { .. } => stat[self.params.k..].iter().sum(),
        }
    }

    fn best_split(&self, hist: &[f64], features: &[usize], total: &[f64]) -> Option<Split> {
        let s = self.stat_width();
        let parent = self.score(total);
        let mut best: Option<Split> = None;
        let mut left = vec![0.0; s];
        let mut right = vec![0.0; s];
        for (fi, &f) in features.iter().enumerate() {
            let h = &hist[fi * BINS * s..][..BINS * s];
            left.iter_mut().for_each(|v| *v = 0.0);
            for bin in 0..self.cuts[f].len() {
                for (l, v) in left.iter_mut().zip(&h[bin * s..][..s]) {
                    *l += v;
                }
                for ((r, t), l) in right.iter_mut().zip(total).zip(&left) {
                    *r = t - l;
                }
                if self.weight(&left) < self.params.min_child || self.weight(&right) < self.params.min_child {
                    continue;
                }
                let gain = self.score(&left) + self.score(&right) - parent;
                if gain > 1e-9 * parent.abs().max(1e-12) && best.as_ref().is_none_or(|b| gain > b.gain) {
                    best = Some(Split { gain, feature: f, bin });
                }
            }
        }
        best
    }

    fn leaf(&mut self, rows: &[u32], total: &[f64]) -> u32 {
        let k = self.params.k;
        let number = (self.tree.values.len() / k) as u32;
        match self.params.objective {
            Objective::Gini => {
                let w: f64 = total.iter().sum();
                self.tree.values.extend(total.iter().map(|c| if w > 0.0 { (c / w) as f32 } else { 0.0 }));
            }
            Objective::Newton { lambda } => {
                self.tree.values.extend((0..k).map(|c| (-total[c] / (total[k + c] + lambda)) as f32));
            }
        }
        for &r in rows {
            self.leaf_of[r as usize] = number;
        }
        self.push(-1, 0.0, number)
    }

    fn push(&mut self, feature: i32, cut: f32, left: u32) -> u32 {
        let t = &mut self.tree;
        t.feature.push(feature);
        t.cut.push(cut);
        t.left.push(left);
        t.right.push(0);
        (t.feature.len() - 1) as u32
    }

    fn node(&mut self, rows: &mut [u32], depth: usize, parent_hist: Option<Vec<f64>>) -> u32 {
        let total = self.totals(rows);
        let pure = matches!(self.params.objective, Objective::Gini) && total.iter().filter(|&&c| c > 0.0).count() <= 1;
        if depth >= self.params.max_depth || pure || self.weight(&total) < 2.0 * self.params.min_child {
            return self.leaf(rows, &total);
        }
        let features = match self.params.per_node {
            Some(m) => sample(&self.features, m, &mut self.rng),
            None => self.features.clone(),
        };
        let hist = match parent_hist {
            Some(h) => h,
            None => self.histogram(rows, &features),
        };
        let Some(split) = self.best_split(&hist, &features, &total) else {
            return self.leaf(rows, &total);
        };
        let column = &self.bins[split.feature];
        let mid = partition(rows, |r| column[r as usize] as usize <= split.bin);
        let (left_rows, right_rows) = rows.split_at_mut(mid);
        // Children's histograms: build the smaller, subtract for the other.
        let (left_hist, right_hist) = if self.params.per_node.is_none() && depth + 1 < self.params.max_depth {
            let small_is_left = left_rows.len() <= right_rows.len();
            let small = self.histogram(if small_is_left { left_rows } else { right_rows }, &features);
            let mut large = hist;
            for (l, s) in large.iter_mut().zip(&small) {
                *l -= s;
            }
            if small_is_left { (Some(small), Some(large)) } else { (Some(large), Some(small)) }
        } else {
            (None, None)
        };
        let me = self.push(split.feature as i32, self.cuts[split.feature][split.bin], 0);
        let l = self.node(left_rows, depth + 1, left_hist);
        let r = self.node(right_rows, depth + 1, right_hist);
        self.tree.left[me as usize] = l;
        self.tree.right[me as usize] = r;
        me
    }
}

/// Moves rows for which `goes_left` holds to the front; returns how many.
fn partition(rows: &mut [u32], goes_left: impl Fn(u32) -> bool) -> usize {
    let mut mid = 0;
    for i in 0..rows.len() {
        if goes_left(rows[i]) {
            rows.swap(i, mid);
            mid += 1;
        }
    }
    mid
}

/// `m` distinct items from `from`, in a seeded random order.
pub(crate) fn sample(from: &[usize], m: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut pool = from.to_vec();
    rng.choose_front(&mut pool, m);
    pool.truncate(m);
    pool
}

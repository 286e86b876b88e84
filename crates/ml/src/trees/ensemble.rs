//! Decision tree, random forest and gradient-boosted trees: training
//! parameters, fitting, and scoring one row at a time (batches go through
//! `compiled`).

use serde::{Deserialize, Serialize};

use super::binning::Bins;
use super::grow::{GrowParams, Grower, Objective, sample};
use super::tree::Tree;
use crate::SplitMix64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algo {
    DecisionTree,
    RandomForest,
    Gbdt,
}

impl Algo {
    pub fn parse(text: &str) -> Option<Algo> {
        match text {
            "decision-tree" | "tree" | "dt" => Some(Algo::DecisionTree),
            "random-forest" | "forest" | "rf" => Some(Algo::RandomForest),
            "gbdt" | "gradient-boosting" | "boosting" => Some(Algo::Gbdt),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algo::DecisionTree => "decision-tree",
            Algo::RandomForest => "random-forest",
            Algo::Gbdt => "gbdt",
        }
    }
}

/// Training settings; `TrainParams::for_algo` gives each algorithm's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub algo: Algo,
    /// Trees (forest) or boosting rounds.
    pub trees: usize,
    pub max_depth: usize,
    /// Least (weighted) rows in a leaf; for boosting, least hessian.
    pub min_leaf: f64,
    /// Forests: candidate features per split as a fraction of all (0 = √n).
    /// Boosting: features per tree as a fraction.
    pub feature_fraction: f64,
    pub learning_rate: f64,
    pub lambda: f64,
    pub max_bins: usize,
    pub seed: u64,
    /// Threads for forests (trees are independent; results do not depend
    /// on the count).
    pub threads: usize,
}

impl TrainParams {
    pub fn for_algo(algo: Algo, seed: u64) -> TrainParams {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let base = TrainParams {
            algo,
            trees: 100,
            max_depth: 10,
            min_leaf: 1.0,
            feature_fraction: 0.0,
            learning_rate: 0.1,
            lambda: 1.0,
            max_bins: 256,
            seed,
            threads,
        };
        match algo {
            Algo::DecisionTree => TrainParams { trees: 1, max_depth: 16, min_leaf: 2.0, feature_fraction: 1.0, ..base },
            Algo::RandomForest => base,
            Algo::Gbdt => TrainParams { max_depth: 6, min_leaf: 1e-3, feature_fraction: 0.5, ..base },
        }
    }
}

/// A trained tree ensemble over `width` features and `k` classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    pub algo: Algo,
    pub width: usize,
    pub k: usize,
    pub trees: Vec<Tree>,
    /// Boosting: the raw score every row starts from (log class priors).
    pub base: Vec<f32>,
    /// Boosting: the shrinkage already folded into the leaf values.
    pub learning_rate: f64,
}

/// Labelled, weighted training rows.
pub struct TrainSet<'a> {
    /// Row-major, `width` per row.
    pub x: &'a [f32],
    pub width: usize,
    /// Class index per row, `< k`.
    pub y: &'a [u32],
    pub k: usize,
    /// Per-row weight (class weights folded in).
    pub weight: &'a [f64],
}

impl Ensemble {
    /// Trains; `progress(done, total)` is called as trees finish.
    pub fn fit(
        set: &TrainSet<'_>,
        params: &TrainParams,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Ensemble, crate::FitError> {
        let rows = set.y.len();
        if rows == 0 || set.x.len() != rows * set.width || set.weight.len() != rows {
            return Err(crate::FitError::Shape { labels: rows, values: set.x.len(), width: set.width });
        }
        if set.k < 2 || set.y.iter().any(|&c| c as usize >= set.k) {
            return Err(crate::FitError::Classes);
        }
        if params.trees == 0 || params.max_depth == 0 || !(2..=256).contains(&params.max_bins) {
            return Err(crate::FitError::Parameters("trees and max_depth must be positive, max_bins in 2..=256"));
        }
        let mut rng = SplitMix64::new(params.seed);
        let bins = Bins::fit(set.x, set.width, params.max_bins, &mut rng);
        let binned = bins.apply(set.x, set.width);
        let (trees, base) = match params.algo {
            Algo::DecisionTree | Algo::RandomForest => (forest(set, params, &bins, &binned, progress), Vec::new()),
            Algo::Gbdt => boost(set, params, &bins, &binned, progress),
        };
        Ok(Ensemble { algo: params.algo, width: set.width, k: set.k, trees, base, learning_rate: params.learning_rate })
    }

    /// Class probabilities of one row (`k` values summing to 1).
    pub fn predict_one(&self, x: &[f32]) -> Vec<f32> {
        let mut acc = vec![0.0f32; self.k];
        for t in &self.trees {
            let leaf = t.leaf_of(x);
            for (a, v) in acc.iter_mut().zip(&t.values[leaf * self.k..][..self.k]) {
                *a += v;
            }
        }
        self.finish(&mut acc);
        acc
    }

    /// Sums of leaf values to probabilities: forests average, boosting
    /// adds the base score and takes the softmax.
    pub fn finish(&self, acc: &mut [f32]) {
        match self.algo {
            Algo::Gbdt => {
                for (a, b) in acc.iter_mut().zip(&self.base) {
                    *a += b;
                }
                softmax(acc);
            }
            _ => {
                let n = self.trees.len().max(1) as f32;
                acc.iter_mut().for_each(|a| *a /= n);
            }
        }
    }

    pub fn validate(&self) -> Result<(), crate::TreeError> {
        if self.k < 2 || self.trees.is_empty() || (self.algo == Algo::Gbdt && self.base.len() != self.k) {
            return Err(crate::TreeError::Ensemble);
        }
        for (i, t) in self.trees.iter().enumerate() {
            t.validate(self.width, self.k).map_err(|e| crate::TreeError::InTree { index: i, source: Box::new(e) })?;
        }
        Ok(())
    }
}

pub(crate) fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    v.iter_mut().for_each(|x| *x /= sum);
}

/// Random forest (bootstrap rows, √n features per split) or, with one
/// tree, a plain CART tree on every row and feature.
fn forest(
    set: &TrainSet<'_>,
    params: &TrainParams,
    bins: &Bins,
    binned: &[Vec<u8>],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Tree> {
    let single = params.algo == Algo::DecisionTree;
    let trees = if single { 1 } else { params.trees };
    let per_node = if single {
        None
    } else if params.feature_fraction > 0.0 {
        Some(((set.width as f64 * params.feature_fraction).ceil() as usize).max(1))
    } else {
        Some(((set.width as f64).sqrt().round() as usize).max(1))
    };
    let grow = GrowParams {
        objective: Objective::Gini,
        k: set.k,
        max_depth: params.max_depth,
        min_child: params.min_leaf,
        per_node,
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    let build = |t: usize| -> Tree {
        let mut rng = SplitMix64::new(params.seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let rows = set.y.len();
        // Bootstrap as multiplicities: a row drawn m times weighs m times.
        let mut times = vec![0u32; rows];
        if single {
            times.iter_mut().for_each(|m| *m = 1);
        } else {
            for _ in 0..rows {
                times[rng.below(rows)] += 1;
            }
        }
        let mut stats = vec![0.0; rows * set.k];
        let mut picked = Vec::with_capacity(rows);
        for r in 0..rows {
            if times[r] > 0 {
                stats[r * set.k + set.y[r] as usize] = set.weight[r] * f64::from(times[r]);
                picked.push(r as u32);
            }
        }
        let all: Vec<usize> = (0..set.width).collect();
        let (tree, _) = Grower::new(binned, &bins.cuts, &stats, &grow, all, rng).grow(&mut picked);
        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, trees);
        tree
    };
    let threads = params.threads.clamp(1, trees);
    let mut out: Vec<Option<Tree>> = vec![None; trees];
    std::thread::scope(|scope| {
        let chunks: Vec<_> = out
            .chunks_mut(trees.div_ceil(threads))
            .enumerate()
            .map(|(c, chunk)| {
                let build = &build;
                let start = c * trees.div_ceil(threads);
                scope.spawn(move || {
                    for (i, slot) in chunk.iter_mut().enumerate() {
                        *slot = Some(build(start + i));
                    }
                })
            })
            .collect();
        for c in chunks {
            let _ = c.join();
        }
    });
    out.into_iter().flatten().collect()
}

/// Gradient boosting with the softmax loss: one tree per round whose
/// leaves hold a Newton step for every class.
fn boost(
    set: &TrainSet<'_>,
    params: &TrainParams,
    bins: &Bins,
    binned: &[Vec<u8>],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> (Vec<Tree>, Vec<f32>) {
    let (rows, k) = (set.y.len(), set.k);
    let total_weight: f64 = set.weight.iter().sum();
    let base: Vec<f32> = (0..k)
        .map(|c| {
            let w: f64 = set.y.iter().zip(set.weight).filter(|(y, _)| **y as usize == c).map(|(_, w)| w).sum();
            ((w.max(1e-9)) / total_weight).ln() as f32
        })
        .collect();
    let mut raw: Vec<f32> = (0..rows).flat_map(|_| base.iter().copied()).collect();
    let grow = GrowParams {
        objective: Objective::Newton { lambda: params.lambda },
        k,
        max_depth: params.max_depth,
        min_child: params.min_leaf,
        per_node: None,
    };
    let mut rng = SplitMix64::new(params.seed);
    let all: Vec<usize> = (0..set.width).collect();
    let per_tree = ((set.width as f64 * params.feature_fraction.clamp(0.0, 1.0)).ceil() as usize).clamp(1, set.width);
    let mut stats = vec![0.0; rows * 2 * k];
    let mut p = vec![0.0f32; k];
    let mut trees = Vec::with_capacity(params.trees);
    for round in 0..params.trees {
        for r in 0..rows {
            p.copy_from_slice(&raw[r * k..][..k]);
            softmax(&mut p);
            let w = set.weight[r];
            let s = &mut stats[r * 2 * k..][..2 * k];
            for c in 0..k {
                let target = if set.y[r] as usize == c { 1.0 } else { 0.0 };
                let pc = f64::from(p[c]);
                s[c] = w * (pc - target);
                s[k + c] = w * (pc * (1.0 - pc)).max(1e-6);
            }
        }
        let features = sample(&all, per_tree, &mut rng);
        let tree_rng = SplitMix64::new(rng.next_u64());
        let mut picked: Vec<u32> = (0..rows as u32).collect();
        let (mut tree, leaf_of) = Grower::new(binned, &bins.cuts, &stats, &grow, features, tree_rng).grow(&mut picked);
        tree.values.iter_mut().for_each(|v| *v *= params.learning_rate as f32);
        for r in 0..rows {
            let leaf = leaf_of[r] as usize;
            for (a, v) in raw[r * k..][..k].iter_mut().zip(&tree.values[leaf * k..][..k]) {
                *a += v;
            }
        }
        trees.push(tree);
        progress(round + 1, params.trees);
    }
    (trees, base)
}

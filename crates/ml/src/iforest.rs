//! Isolation Forest, as Liu, Ting & Zhou (2008) define it and
//! scikit-learn implements it: each tree isolates a subsample of ψ points
//! (default 256) by random axis-parallel splits, up to a height limit of
//! ⌈log2 ψ⌉; a point's score is 2^(−E(h)/c(ψ)), where E(h) is its mean
//! path length over the trees, with c(n) added at leaves that still hold
//! n > 1 points, and c(ψ) the mean path length of an unsuccessful search in
//! a binary search tree of ψ points. Scores near 1 are anomalies, well
//! below 0.5 normal.
//!
//! Written here rather than taken from a crate: the ones we found fix the
//! number of features at compile time (extended-isolation-forest), bring
//! ndarray and linfa along (isoforest), or are unmaintained. Trees are flat
//! arrays of 8-byte nodes with the leaves' path lengths precomputed, so
//! scoring a point is a tight walk per tree.

use serde::{Deserialize, Serialize};

use rampart_core::rng::SplitMix64;

use crate::FitError;

/// Euler–Mascheroni constant, for the harmonic-number estimate in c(n).
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// c(n): the average path length of an unsuccessful search in a binary
/// search tree of n points, used to normalise path lengths.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub trees: usize,
    /// ψ: points per tree (fewer when the data has fewer).
    pub subsample: usize,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> ForestParams {
        ForestParams { trees: 100, subsample: 256, seed: 0x5EED }
    }
}

/// One node, 8 bytes. Inner: points with `point[feature] >= value` go to
/// `right`, the others to the next index. Leaf: `right` is its own index.
/// A leaf's path length (depth + c(points left)) is in the tree's
/// `lengths`, at the same index. Values are f32, as scikit-learn's trees
/// hold them: a whole forest fits in the L2 cache.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Node {
    value: f32,
    feature: u16,
    right: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tree {
    nodes: Vec<Node>,
    lengths: Vec<f64>,
}

/// The forest as grown and saved: each tree as deep as its data needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Grown {
    params: ForestParams,
    features: usize,
    /// ψ as used (the subsample, capped by the training size).
    psi: usize,
    trees: Vec<Tree>,
}

/// Saved as the trees it grew (`Grown`); scored through `Dense`, built
/// from them on fit and on load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Grown", into = "Grown")]
pub struct IsolationForest {
    grown: Grown,
    dense: Dense,
}

impl From<Grown> for IsolationForest {
    fn from(grown: Grown) -> IsolationForest {
        let dense = Dense::from_trees(&grown.trees, (grown.psi as f64).log2().ceil() as usize);
        IsolationForest { grown, dense }
    }
}

impl From<IsolationForest> for Grown {
    fn from(forest: IsolationForest) -> Grown {
        forest.grown
    }
}

/// An inner node of a dense tree: 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DenseNode {
    value: f32,
    feature: u16,
}

/// Every tree re-laid as a complete binary tree `depth` levels deep (the
/// height limit), children of node j at 2j + 1 and 2j + 2. A leaf the
/// grown tree reached early is stretched down: the nodes below it send
/// both ways to slots holding its path length. Every walk is then exactly
/// `depth` steps with no branch to take or mispredict, and several trees
/// can be walked side by side.
#[derive(Debug, Clone, PartialEq)]
struct Dense {
    depth: usize,
    /// Per tree, 2^depth − 1 inner nodes.
    nodes: Vec<DenseNode>,
    /// Per tree, 2^depth leaf path lengths.
    lengths: Vec<f64>,
    /// `shortest_after[t]`: Σ over trees t.. of each tree's shortest leaf
    /// path, the least those trees can still add to a point's sum.
    shortest_after: Vec<f64>,
}

impl Dense {
    fn from_trees(trees: &[Tree], depth: usize) -> Dense {
        let inner = (1usize << depth) - 1;
        let mut dense = Dense {
            depth,
            nodes: vec![DenseNode { value: 0.0, feature: 0 }; inner * trees.len()],
            lengths: vec![0.0; (inner + 1) * trees.len()],
            shortest_after: vec![0.0; trees.len() + 1],
        };
        for (t, tree) in trees.iter().enumerate() {
            let (nodes, lengths) = (
                &mut dense.nodes[t * inner..(t + 1) * inner],
                &mut dense.lengths[t * (inner + 1)..(t + 1) * (inner + 1)],
            );
            fill(tree, 0, 0, nodes, lengths);
        }
        for t in (0..trees.len()).rev() {
            let shortest = trees[t].lengths.iter().copied().fold(f64::INFINITY, f64::min);
            dense.shortest_after[t] = dense.shortest_after[t + 1] + if shortest.is_finite() { shortest } else { 0.0 };
        }
        dense
    }
}

/// Lays grown node `i` at dense slot `j`.
fn fill(tree: &Tree, i: usize, j: usize, nodes: &mut [DenseNode], lengths: &mut [f64]) {
    if j >= nodes.len() {
        lengths[j - nodes.len()] = tree.lengths[i];
        return;
    }
    let node = tree.nodes[i];
    let (left, right) = if usize::from(node.right) == i {
        (i, i)
    } else {
        nodes[j] = DenseNode { value: node.value, feature: node.feature };
        (i + 1, usize::from(node.right))
    };
    fill(tree, left, 2 * j + 1, nodes, lengths);
    fill(tree, right, 2 * j + 2, nodes, lengths);
}

impl IsolationForest {
    /// Grows a forest on `rows` (each of the same length). Errors name the
    /// problem: no rows, ragged rows, non-finite values.
    pub fn fit(rows: &[Vec<f64>], params: ForestParams) -> Result<IsolationForest, FitError> {
        let features = rows.first().map(Vec::len).ok_or(FitError::NoRows)?;
        if features == 0 {
            return Err(FitError::NoFeatures);
        }
        for (i, row) in rows.iter().enumerate() {
            if row.len() != features {
                return Err(FitError::RaggedRow { row: i, found: row.len(), expected: features });
            }
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return Err(FitError::NotFinite { row: i, feature: j, value: row[j] });
            }
        }
        if params.trees == 0 || !(2..=16_384).contains(&params.subsample) {
            return Err(FitError::Parameters("need at least one tree and a subsample of 2 to 16384"));
        }
        if features > usize::from(u16::MAX) {
            return Err(FitError::TooManyFeatures { features });
        }
        let psi = params.subsample.min(rows.len());
        let height_limit = (psi as f64).log2().ceil() as usize;
        let mut rng = SplitMix64::new(params.seed);
        let mut trees = Vec::with_capacity(params.trees);
        let mut indices: Vec<usize> = (0..rows.len()).collect();
        for _ in 0..params.trees {
            // Sample ψ rows without replacement.
            rng.choose_front(&mut indices, psi);
            let mut sample: Vec<usize> = indices[..psi].to_vec();
            let mut tree = Tree { nodes: Vec::with_capacity(2 * psi), lengths: Vec::with_capacity(2 * psi) };
            grow(rows, &mut sample, 0, height_limit, features, &mut rng, &mut tree);
            trees.push(tree);
        }
        Ok(IsolationForest::from(Grown { params, features, psi, trees }))
    }

    pub fn features(&self) -> usize {
        self.grown.features
    }

    /// The same forest with each split value `v` of feature `f` replaced
    /// by `map(f, v)`: for a monotone transform that the caller would
    /// otherwise apply to every point, its inverse applied once to the
    /// splits (only the scoring layout changes; the saved trees do not).
    pub fn map_splits(&self, map: impl Fn(usize, f32) -> f32) -> IsolationForest {
        let mut forest = self.clone();
        for node in &mut forest.dense.nodes {
            node.value = map(usize::from(node.feature), node.value);
        }
        forest
    }

    /// Scores row-major `f32` rows of `width` values (no conversion to
    /// `f64` vectors).
    pub fn score_rows(&self, x: &[f32], width: usize, out: &mut Vec<f64>) {
        out.clear();
        let mut point = PointBuffer::new();
        let features = self.grown.features.min(width);
        for row in x.chunks_exact(width.max(1)) {
            point.features(features).copy_from_slice(&row[..features]);
            out.push(self.score_buffer(&point));
        }
    }

    /// The score of the point in `buffer` (its first `features()` values;
    /// the live path writes them there as it prepares each row, so a row is
    /// never copied twice).
    pub fn score_buffer(&self, buffer: &PointBuffer) -> f64 {
        let c = average_path_length(self.grown.psi);
        if c == 0.0 {
            return 0.5;
        }
        let mean = self.path_length_sum(&buffer.0) / self.grown.trees.len() as f64;
        (-mean / c).exp2()
    }

    pub fn params(&self) -> ForestParams {
        self.grown.params
    }

    /// Mean path length E(h) of `point` over the trees.
    pub fn mean_path_length(&self, point: &[f64]) -> f64 {
        let mut buffer = PointBuffer::new();
        self.path_length_sum(buffer.load(point, self.grown.features)) / self.grown.trees.len() as f64
    }

    /// The anomaly score 2^(−E(h)/c(ψ)), in (0, 1]. (`score_many` for
    /// more than a few points: it sets up its point buffer once.)
    pub fn score(&self, point: &[f64]) -> f64 {
        self.score_many(std::slice::from_ref(&point.to_vec()))[0]
    }

    /// Scores many points (one core; callers may split the slice across threads).
    pub fn score_many(&self, points: &[Vec<f64>]) -> Vec<f64> {
        let mut buffer = PointBuffer::new();
        points
            .iter()
            .map(|p| {
                buffer.load(p, self.grown.features);
                self.score_buffer(&buffer)
            })
            .collect()
    }

    /// Whether the point in `buffer` scores at least `threshold`, and its
    /// score if it does. Path lengths only add up, so once the trees
    /// walked so far put the mean past the length `threshold` allows, the
    /// rest cannot bring the score back: a clearly normal point stops
    /// early (the live guard's common case).
    pub fn score_buffer_at_least(&self, buffer: &PointBuffer, threshold: f64) -> Option<f64> {
        let c = average_path_length(self.grown.psi);
        if c == 0.0 {
            return (0.5 >= threshold).then_some(0.5);
        }
        let trees = self.grown.trees.len() as f64;
        // score ≥ t ⇔ Σ ≤ trees · c · log2(1/t); a hair of slack so that
        // stopping never decides a point the full sum would not.
        let limit = trees * c * -threshold.log2() * (1.0 + 1e-9);
        let sum = self.path_length_sum_until(&buffer.0, limit);
        let score = (-(sum / trees) / c).exp2();
        (sum <= limit && score >= threshold).then_some(score)
    }

    fn path_length_sum(&self, point: &[f32; MAX_FEATURES]) -> f64 {
        self.path_length_sum_until(point, f64::INFINITY)
    }

    /// Σ path lengths over the trees, or once that is sure to pass `limit`
    /// a lower bound of it that does. Dense trees are walked `LANES` side by side, level by
    /// level: their walks are independent, so the CPU overlaps their loads
    /// where one walk alone would wait on each in turn (one tree at a time:
    /// 590k points/s; four: 650k; fifty: about 1M on NSL-KDD; ten
    /// lanes keep most of that and let a clearly normal point stop once
    /// the groups walked plus the shortest paths of the rest pass the
    /// limit). The lengths are added in tree order.
    fn path_length_sum_until(&self, point: &[f32; MAX_FEATURES], limit: f64) -> f64 {
        const LANES: usize = 10;
        let Dense { depth, nodes, lengths, shortest_after } = &self.dense;
        if *depth == 0 {
            // ψ = 1: every tree is one leaf.
            return lengths.iter().sum();
        }
        let inner = (1usize << depth) - 1;
        // NaN (a missing feature too) goes right, with the larger values:
        // one negated comparison, no branch. A u16 feature indexes the
        // 65,536-wide point with no bounds check.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let next =
            |node: DenseNode, j: usize| 2 * j + 1 + usize::from(!(point[usize::from(node.feature)] < node.value));
        let mut sum = 0.0;
        let groups = nodes.chunks_exact(LANES * inner).zip(lengths.chunks_exact(LANES * (inner + 1)));
        for (g, (trees, leaves)) in groups.enumerate() {
            let mut at = [0u32; LANES];
            for _ in 0..*depth {
                for (tree, j) in trees.chunks_exact(inner).zip(at.iter_mut()) {
                    *j = next(tree[*j as usize], *j as usize) as u32;
                }
            }
            for (k, j) in at.into_iter().enumerate() {
                sum += leaves[k * (inner + 1) + j as usize - inner];
            }
            let least = sum + shortest_after[(g + 1) * LANES];
            if least > limit {
                return least;
            }
        }
        let walked = self.grown.trees.len() / LANES * LANES;
        for t in walked..self.grown.trees.len() {
            let mut j = 0;
            for _ in 0..*depth {
                j = next(nodes[t * inner + j], j);
            }
            sum += lengths[t * (inner + 1) + j - inner];
        }
        sum
    }
}

/// Features a forest may have: node features are u16.
const MAX_FEATURES: usize = 1 << 16;

/// A point as the trees compare it: f32, missing features NaN, in a buffer
/// as wide as a u16 can index (256 KB, reused for every point; only the
/// first `features` entries are ever written or read).
pub struct PointBuffer(Box<[f32; MAX_FEATURES]>);

impl PointBuffer {
    pub fn new() -> PointBuffer {
        let missing: Box<[f32]> = vec![f32::NAN; MAX_FEATURES].into_boxed_slice();
        PointBuffer(missing.try_into().unwrap_or_else(|_| unreachable!("the length is MAX_FEATURES")))
    }

    /// The first `n` slots (at most the buffer's width), to write a point into.
    pub fn features(&mut self, n: usize) -> &mut [f32] {
        &mut self.0[..n.min(MAX_FEATURES)]
    }

    fn load(&mut self, point: &[f64], features: usize) -> &[f32; MAX_FEATURES] {
        for (i, slot) in self.0[..features].iter_mut().enumerate() {
            *slot = point.get(i).map_or(f32::NAN, |v| *v as f32);
        }
        &self.0
    }
}

impl Default for PointBuffer {
    fn default() -> PointBuffer {
        PointBuffer::new()
    }
}

/// Builds the subtree for `sample` at `depth` in preorder; returns nothing,
/// the nodes are appended.
fn grow(
    rows: &[Vec<f64>],
    sample: &mut [usize],
    depth: usize,
    height_limit: usize,
    features: usize,
    rng: &mut SplitMix64,
    tree: &mut Tree,
) {
    let leaf = |tree: &mut Tree, n: usize| {
        let at = tree.nodes.len();
        tree.nodes.push(Node { value: 0.0, feature: 0, right: at as u16 });
        tree.lengths.push(depth as f64 + average_path_length(n));
    };
    if depth >= height_limit || sample.len() <= 1 {
        return leaf(tree, sample.len());
    }
    // A random feature that still varies here; as scikit-learn does, draw
    // without replacement until one does, and stop when none does.
    let mut candidates: Vec<usize> = (0..features).collect();
    let split = loop {
        if candidates.is_empty() {
            break None;
        }
        let feature = candidates.swap_remove(rng.below(candidates.len()));
        let (lo, hi) = sample
            .iter()
            .map(|&r| rows[r][feature])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi > lo {
            // Uniform in [lo, hi); a value equal to lo would send nothing left.
            let mut value = lo + rng.next_f64() * (hi - lo);
            if value <= lo {
                value = (lo + hi) / 2.0;
            }
            break Some((feature, value));
        }
    };
    let Some((feature, value)) = split else {
        return leaf(tree, sample.len());
    };
    // Nodes hold f32 (8 bytes a node: a forest fits in L2); partition the
    // way scoring will compare, in f32.
    let value = value as f32;
    let mut left = 0;
    for i in 0..sample.len() {
        if (rows[sample[i]][feature] as f32) < value {
            sample.swap(i, left);
            left += 1;
        }
    }
    let at = tree.nodes.len();
    tree.nodes.push(Node { value, feature: feature as u16, right: 0 });
    tree.lengths.push(0.0);
    let (below, above) = sample.split_at_mut(left);
    grow(rows, below, depth + 1, height_limit, features, rng, tree);
    tree.nodes[at].right = tree.nodes.len() as u16;
    grow(rows, above, depth + 1, height_limit, features, rng, tree);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::roc_auc;

    #[test]
    fn c_of_n_matches_the_paper() {
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2H(255) − 2·255/256 with H(i) ≈ ln i + γ.
        assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
    }

    #[test]
    fn a_hand_checked_tiny_forest_scores_by_the_formula() {
        // Two points on one feature, one tree: the root splits them, each
        // leaf holds one point at depth 1, so every path has length 1, and
        // c(2) = 1: the score is 2^(−1/1) = 0.5 whatever the point.
        let rows = vec![vec![0.0], vec![10.0]];
        let forest = IsolationForest::fit(&rows, ForestParams { trees: 1, subsample: 2, seed: 1 }).unwrap();
        assert_eq!(forest.grown.trees[0].nodes.len(), 3);
        assert_eq!(forest.mean_path_length(&[-5.0]), 1.0);
        assert_eq!(forest.score(&[42.0]), 0.5);
        // Three equal points cannot be split: one leaf, depth 0 + c(3).
        let same = vec![vec![1.0]; 3];
        let flat = IsolationForest::fit(&same, ForestParams { trees: 1, subsample: 3, seed: 1 }).unwrap();
        assert_eq!(flat.mean_path_length(&[1.0]), average_path_length(3));
        assert!((flat.score(&[1.0]) - 0.5).abs() < 1e-12);
        // One row: ψ = 1, trees of depth 0, E(h) = 0 and c(1) = 0.
        let single = IsolationForest::fit(&[vec![1.0]], ForestParams { trees: 60, subsample: 2, seed: 1 }).unwrap();
        assert_eq!((single.mean_path_length(&[7.0]), single.score(&[7.0])), (0.0, 0.5));
    }

    fn synthetic(seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut rng = SplitMix64::new(seed);
        let mut gauss = || {
            // Box–Muller.
            let (u, v) = (rng.next_f64().max(1e-12), rng.next_f64());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let normal: Vec<Vec<f64>> = (0..2000).map(|_| (0..4).map(|_| gauss()).collect()).collect();
        let outliers: Vec<Vec<f64>> = (0..40).map(|_| (0..4).map(|_| 6.0 + gauss() * 0.3).collect()).collect();
        (normal, outliers)
    }

    #[test]
    fn separates_a_planted_cluster_of_outliers() {
        let (normal, outliers) = synthetic(7);
        let forest = IsolationForest::fit(&normal, ForestParams::default()).unwrap();
        let mut scored: Vec<(f64, bool)> = normal.iter().map(|p| (forest.score(p), false)).collect();
        scored.extend(outliers.iter().map(|p| (forest.score(p), true)));
        let auc = roc_auc(&scored);
        assert!(auc > 0.99, "AUC {auc}");
        assert!(outliers.iter().all(|p| forest.score(p) > 0.6));
    }

    #[test]
    fn the_same_seed_grows_the_same_forest_and_it_survives_serialisation() {
        let (normal, _) = synthetic(3);
        let a = IsolationForest::fit(&normal, ForestParams::default()).unwrap();
        let b = IsolationForest::fit(&normal, ForestParams::default()).unwrap();
        assert_eq!(a, b);
        let other = IsolationForest::fit(&normal, ForestParams { seed: 99, ..ForestParams::default() }).unwrap();
        assert_ne!(a, other);
        let many = a.score_many(&normal[..600]);
        assert!(many.iter().zip(&normal[..600]).all(|(s, p)| *s == a.score(p)), "batch scoring agrees");
        let back: IsolationForest = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back.score(&[0.5, 0.5, 0.5, 0.5]), a.score(&[0.5, 0.5, 0.5, 0.5]));
    }

    #[test]
    fn bad_training_data_is_named() {
        let p = ForestParams::default();
        assert_eq!(IsolationForest::fit(&[], p).unwrap_err(), FitError::NoRows);
        let ragged = IsolationForest::fit(&[vec![1.0], vec![1.0, 2.0]], p).unwrap_err();
        assert_eq!(ragged, FitError::RaggedRow { row: 1, found: 2, expected: 1 });
        assert!(IsolationForest::fit(&[vec![f64::NAN]], p).unwrap_err().to_string().contains("feature 0"));
    }

    /// The grown tree walked node by node, as fitted: what the dense
    /// layout must reproduce exactly.
    fn walk_grown(tree: &Tree, point: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            let node = tree.nodes[i];
            if usize::from(node.right) == i {
                return tree.lengths[i];
            }
            let x = point.get(usize::from(node.feature)).map_or(f32::NAN, |v| *v as f32);
            i = if x >= node.value || x.is_nan() { usize::from(node.right) } else { i + 1 };
        }
    }

    proptest::proptest! {
        #[test]
        fn the_dense_walk_agrees_with_the_grown_trees(
            rows in proptest::collection::vec(proptest::collection::vec(-100.0f64..100.0, 3), 2..300),
            trees in 1usize..120,
            points in proptest::collection::vec(proptest::collection::vec(proptest::num::f64::ANY, 0..5), 1..20),
        ) {
            let forest = IsolationForest::fit(&rows, ForestParams { trees, subsample: 256, seed: 9 }).unwrap();
            for point in &points {
                let expected: f64 = forest.grown.trees.iter().map(|t| walk_grown(t, point)).sum::<f64>() / trees as f64;
                proptest::prop_assert_eq!(forest.mean_path_length(point), expected);
            }
        }

        #[test]
        fn stopping_early_decides_as_the_full_walk(
            rows in proptest::collection::vec(proptest::collection::vec(-100.0f64..100.0, 3), 2..300),
            trees in 1usize..120,
            points in proptest::collection::vec(proptest::collection::vec(-150.0f64..150.0, 3), 1..20),
            threshold in 0.01f64..0.99,
        ) {
            let forest = IsolationForest::fit(&rows, ForestParams { trees, subsample: 256, seed: 3 }).unwrap();
            let mut buffer = PointBuffer::new();
            for point in &points {
                let full = forest.score(point);
                buffer.load(point, 3);
                proptest::prop_assert_eq!(forest.score_buffer_at_least(&buffer, threshold), (full >= threshold).then_some(full));
            }
        }

        #[test]
        fn scores_stay_in_range(rows in proptest::collection::vec(proptest::collection::vec(-1e6f64..1e6, 3), 2..60),
                                point in proptest::collection::vec(proptest::num::f64::ANY, 0..5)) {
            let forest = IsolationForest::fit(&rows, ForestParams { trees: 10, subsample: 32, seed: 5 }).unwrap();
            let s = forest.score(&point);
            proptest::prop_assert!(s > 0.0 && s <= 1.0, "{}", s);
        }
    }
}

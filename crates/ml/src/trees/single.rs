//! The ensemble re-laid for scoring one row at a time, as the web
//! gatekeeper judges one value.
//!
//! `Tree::leaf_of` follows one tree to its leaf, each step a load that
//! depends on the last, from four arrays (four cache lines a step); a
//! 100-tree forest of depth 16 spends most of its time waiting on memory.
//! Here a node is one 8-byte record whose children sit side by side
//! (breadth-first order, so `right = left + 1` and a step is
//! `n += to_left[n] + (x[feature[n]] > cut[n])`, a compare and two adds, no
//! branch), a leaf points at itself with a cut nothing exceeds — a NaN,
//! whose payload bits say where the leaf's values are in one array for the
//! whole forest, so reaching them costs no further lookups — and eight
//! trees walk together: independent load chains keep the core busy where
//! one chain would stall on memory. Models with a tree too large for the
//! 16-bit offsets (over 32,767 nodes), more than 65,536 features or 2²²
//! leaves are walked tree by tree instead (`SingleRow::new` gives `None`).
//! Leaves are summed in tree order, so the result is bit for bit
//! `Ensemble::predict_one`'s.

use super::ensemble::Ensemble;

/// Trees walked side by side. The early stop is asked after each group, so
/// a smaller group stops sooner: the payload forest (48 trees) walks 29.6
/// trees per value in groups of 8 against 34.2 in groups of 16, and judges
/// faster; groups of 4 walk 27.7 but lose more to waiting on memory.
const LANES: usize = 8;

/// A split, or a leaf: `cut` a NaN (no comparison with it is true) and
/// `to_left` 0, so it points at itself; see `leaf_cut`.
#[derive(Debug, Clone, Copy)]
struct Node {
    cut: f32,
    feature: u16,
    /// How far ahead the left child is.
    to_left: u16,
}

/// Leaf values addressable by a NaN's payload (22 bits below the quiet bit).
const MAX_LEAVES: usize = 1 << 22;

/// The cut of the leaf whose values start at `values[k * index]`: a quiet
/// NaN carrying `index`.
fn leaf_cut(index: usize) -> f32 {
    f32::from_bits(0x7fc0_0000 | index as u32)
}

fn leaf_index(cut: f32) -> usize {
    (cut.to_bits() & 0x003f_ffff) as usize
}

#[derive(Debug, Clone)]
pub(crate) struct SingleRow {
    /// Position 0 is a leaf of no tree: idle lanes of the last group park there.
    nodes: Vec<Node>,
    /// Every leaf's `k` values, tree after tree.
    values: Vec<f32>,
    /// Per tree, its root's position.
    roots: Vec<u32>,
    /// Per group of `LANES` trees, the deepest of them (steps to walk).
    depths: Vec<usize>,
}

impl SingleRow {
    pub(crate) fn new(ensemble: &Ensemble) -> Option<SingleRow> {
        let leaves: usize = ensemble.trees.iter().map(|t| t.values.len() / ensemble.k.max(1)).sum();
        if ensemble.width > 1 << 16
            || leaves >= MAX_LEAVES
            || ensemble.trees.iter().any(|t| t.len() > i16::MAX as usize)
        {
            return None;
        }
        let k = ensemble.k;
        // Leaf 0 is the parking place; its values are never summed.
        let mut nodes = vec![Node { cut: leaf_cut(0), feature: 0, to_left: 0 }];
        let mut values = vec![0.0; k];
        let mut roots = Vec::with_capacity(ensemble.trees.len());
        for tree in &ensemble.trees {
            let base = nodes.len() as u32;
            roots.push(base);
            // Breadth-first: each split's children are given the next two positions.
            let mut order = vec![0usize];
            let mut i = 0;
            while i < order.len() {
                let n = order[i];
                if tree.feature[n] >= 0 {
                    order.push(tree.left[n] as usize);
                    order.push(tree.right[n] as usize);
                }
                i += 1;
            }
            let mut next_child = 1;
            for (at, &n) in order.iter().enumerate() {
                if tree.feature[n] >= 0 {
                    // Both fit: checked above (a child is fewer than 32,768 nodes ahead, a feature below 65,536).
                    let (feature, to_left) = (tree.feature[n] as u16, (next_child - at) as u16);
                    nodes.push(Node { cut: tree.cut[n], feature, to_left });
                    next_child += 2;
                } else {
                    let index = values.len() / k.max(1);
                    values.extend_from_slice(&tree.values[tree.left[n] as usize * k..][..k]);
                    nodes.push(Node { cut: leaf_cut(index), feature: 0, to_left: 0 });
                }
            }
        }
        let depths = ensemble.trees.chunks(LANES).map(|g| g.iter().map(|t| t.depth()).max().unwrap_or(0)).collect();
        Some(SingleRow { nodes, values, roots, depths })
    }

    /// `ensemble`'s probabilities for `row` (`ensemble.width` features);
    /// `ensemble` must be the one this layout was made from.
    pub(crate) fn predict(&self, ensemble: &Ensemble, row: &[f32]) -> Vec<f32> {
        let (mut acc, _) = self.walk(ensemble, row, |_, _| false);
        ensemble.finish(&mut acc);
        acc
    }

    /// The summed leaf values of the trees walked (in tree order) and how
    /// many were walked: after each group of trees, `stop(sums, walked)`
    /// may end the walk.
    pub(crate) fn walk(
        &self,
        ensemble: &Ensemble,
        row: &[f32],
        mut stop: impl FnMut(&[f32], usize) -> bool,
    ) -> (Vec<f32>, usize) {
        let k = ensemble.k;
        let mut acc = vec![0.0f32; k];
        let mut walked = 0;
        for (roots, &depth) in self.roots.chunks(LANES).zip(&self.depths) {
            let mut at = [0u32; LANES];
            at[..roots.len()].copy_from_slice(roots);
            for _ in 0..depth {
                for a in &mut at {
                    let node = self.nodes[*a as usize];
                    // NaN compares false, as `Tree::leaf_of` sends NaN left.
                    *a += u32::from(node.to_left) + u32::from(row[usize::from(node.feature)] > node.cut);
                }
            }
            for &a in &at[..roots.len()] {
                let leaf = leaf_index(self.nodes[a as usize].cut);
                for (s, v) in acc.iter_mut().zip(&self.values[leaf * k..][..k]) {
                    *s += v;
                }
            }
            walked += roots.len();
            if walked < self.roots.len() && stop(&acc, walked) {
                break;
            }
        }
        (acc, walked)
    }
}

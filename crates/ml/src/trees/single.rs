//! The ensemble re-laid for scoring one row at a time, as the web
//! gatekeeper judges one value.
//!
//! `Tree::leaf_of` follows one tree to its leaf, each step a load that
//! depends on the last, from four arrays (four cache lines a step); a
//! 100-tree forest of depth 16 spends most of its time waiting on memory.
//! Here a node is one 8-byte record whose children sit side by side
//! (breadth-first order, so `right = left + 1` and a step is
//! `n += to_left[n] + (x[feature[n]] > cut[n])`, a compare and two adds, no
//! branch), a leaf points at itself with a cut nothing exceeds, and sixteen
//! trees walk together: independent load chains keep the core busy where
//! one chain would stall on memory. Models with a tree too large for the
//! 16-bit offsets (over 32,767 nodes) or more than 65,536 features are
//! walked tree by tree instead (`SingleRow::new` gives `None`). Leaves are summed in tree order, so the
//! result is bit for bit `Ensemble::predict_one`'s.

use super::ensemble::Ensemble;

/// Trees walked side by side.
const LANES: usize = 16;

/// A split, or a leaf (`cut` is +∞ and `to_left` 0: it points at itself).
#[derive(Debug, Clone, Copy)]
struct Node {
    cut: f32,
    feature: u16,
    /// How far ahead the left child is.
    to_left: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct SingleRow {
    /// Position 0 is a leaf of no tree: idle lanes of the last group park there.
    nodes: Vec<Node>,
    /// Per node, its leaf's index into its tree's values (0 for splits).
    leaf: Vec<u32>,
    /// Per tree, its root's position.
    roots: Vec<u32>,
    /// Per group of `LANES` trees, the deepest of them (steps to walk).
    depths: Vec<usize>,
}

impl SingleRow {
    pub(crate) fn new(ensemble: &Ensemble) -> Option<SingleRow> {
        if ensemble.width > 1 << 16 || ensemble.trees.iter().any(|t| t.len() > i16::MAX as usize) {
            return None;
        }
        let mut nodes = vec![Node { cut: f32::INFINITY, feature: 0, to_left: 0 }];
        let mut leaf = vec![0];
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
                    leaf.push(0);
                    next_child += 2;
                } else {
                    nodes.push(Node { cut: f32::INFINITY, feature: 0, to_left: 0 });
                    leaf.push(tree.left[n]);
                }
            }
        }
        let depths = ensemble.trees.chunks(LANES).map(|g| g.iter().map(|t| t.depth()).max().unwrap_or(0)).collect();
        Some(SingleRow { nodes, leaf, roots, depths })
    }

    /// `ensemble`'s probabilities for `row` (`ensemble.width` features);
    /// `ensemble` must be the one this layout was made from.
    pub(crate) fn predict(&self, ensemble: &Ensemble, row: &[f32]) -> Vec<f32> {
        let k = ensemble.k;
        let mut reached = vec![0u32; self.roots.len()];
        for ((roots, &depth), reached) in self.roots.chunks(LANES).zip(&self.depths).zip(reached.chunks_mut(LANES)) {
            let mut at = [0u32; LANES];
            at[..roots.len()].copy_from_slice(roots);
            for _ in 0..depth {
                for a in &mut at {
                    let node = self.nodes[*a as usize];
                    // NaN and +∞ compare false, as `Tree::leaf_of` sends NaN left.
                    *a += u32::from(node.to_left) + u32::from(row[usize::from(node.feature)] > node.cut);
                }
            }
            for (r, a) in reached.iter_mut().zip(at) {
                *r = self.leaf[a as usize];
            }
        }
        let mut acc = vec![0.0f32; k];
        for (tree, &leaf) in ensemble.trees.iter().zip(&reached) {
            for (a, v) in acc.iter_mut().zip(&tree.values[leaf as usize * k..][..k]) {
                *a += v;
            }
        }
        ensemble.finish(&mut acc);
        acc
    }
}

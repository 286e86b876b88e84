//! The ensemble re-laid for batch scoring.
//!
//! Each tree becomes an array of 12-byte nodes in which a split's children
//! sit side by side (`right = left + 1`) and a leaf points at itself with
//! an infinite cut. A walk is then one branch-free step per level —
//! `n = left[n] + (x[feature[n]] > cut[n])` — repeated as many times as the
//! tree is deep; rows already at a leaf stay there. Eight rows walk
//! together with their positions in registers, one tree at a time over a
//! block of rows, so the tree stays in cache and the eight steps of a level
//! are independent work the CPU overlaps. (Dropping rows that reached a
//! leaf from the walk was tried: the bookkeeping cost more than it saved.)

use super::ensemble::Ensemble;

#[derive(Debug, Clone, Copy)]
struct Node {
    cut: f32,
    feature: u32,
    left: u32,
}

#[derive(Debug, Clone)]
struct Flat {
    nodes: Vec<Node>,
    /// For each node, the offset of its leaf values (leaves only).
    value_at: Vec<u32>,
    values: Vec<f32>,
    depth: usize,
}

/// Rows scored together: 64 rows of a few hundred features stay in L1/L2.
const BLOCK: usize = 64;

/// Rows walking a tree side by side.
const LANES: usize = 64;

/// Rows are copied into a fixed 2^16-value buffer indexed through a mask,
/// which lets the compiler drop the bounds check in the walk.
const SCRATCH: usize = 1 << 16;

#[derive(Debug, Clone)]
pub struct Compiled {
    trees: Vec<Flat>,
    ensemble: Ensemble,
}

impl Compiled {
    pub fn new(ensemble: Ensemble) -> Compiled {
        let k = ensemble.k;
        let trees = ensemble
            .trees
            .iter()
            .map(|t| {
                let leaf = |slot: usize| Node { cut: f32::INFINITY, feature: 0, left: slot as u32 };
                let mut nodes = vec![leaf(0)];
                let mut value_at = vec![0u32];
                // (flat slot, original node), breadth first.
                let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
                while let Some((slot, n)) = queue.pop_front() {
                    if t.feature[n] < 0 {
                        nodes[slot] = leaf(slot);
                        value_at[slot] = t.left[n] * k as u32;
                    } else {
                        let left = nodes.len();
                        nodes.extend([leaf(left), leaf(left + 1)]);
                        value_at.extend([0, 0]);
                        nodes[slot] = Node { cut: t.cut[n], feature: t.feature[n] as u32, left: left as u32 };
                        queue.push_back((left, t.left[n] as usize));
                        queue.push_back((left + 1, t.right[n] as usize));
                    }
                }
                Flat { nodes, value_at, values: t.values.clone(), depth: t.depth() }
            })
            .collect();
        Compiled { trees, ensemble }
    }

    pub fn into_ensemble(self) -> Ensemble {
        self.ensemble
    }

    pub fn classes(&self) -> usize {
        self.ensemble.k
    }

    /// Class probabilities for row-major `x` (`width` per row), `k` per row
    /// into `out` (resized).
    pub fn predict(&self, x: &[f32], out: &mut Vec<f32>) {
        let (w, k) = (self.ensemble.width.max(1), self.ensemble.k);
        let rows = x.len() / w;
        out.clear();
        out.resize(rows * k, 0.0);
        let block = (SCRATCH / w / LANES * LANES).clamp(LANES, BLOCK);
        let mut scratch = vec![0.0f32; SCRATCH];
        let Ok(scratch) = <&mut [f32; SCRATCH]>::try_from(scratch.as_mut_slice()) else { return };
        for (block_x, block_out) in x.chunks(block * w).zip(out.chunks_mut(block * k)) {
            let n = block_x.len() / w;
            if w * LANES > SCRATCH {
                // Too wide for the buffer: one row at a time, checked.
                for (row, o) in block_x.chunks(w).zip(block_out.chunks_mut(k)) {
                    for t in &self.ensemble.trees {
                        let leaf = t.leaf_of(row);
                        o.iter_mut().zip(&t.values[leaf * k..][..k]).for_each(|(o, v)| *o += v);
                    }
                }
            } else {
                scratch[..block_x.len()].copy_from_slice(block_x);
                for tree in &self.trees {
                    for g in (0..n).step_by(LANES) {
                        let at = walk(tree, scratch, g * w, w);
                        for (l, a) in at.iter().enumerate().take(n - g) {
                            let off = tree.value_at[*a as usize] as usize;
                            let o = &mut block_out[(g + l) * k..][..k];
                            o.iter_mut().zip(&tree.values[off..][..k]).for_each(|(o, v)| *o += v);
                        }
                    }
                }
            }
            for row in block_out.chunks_mut(k) {
                self.ensemble.finish(row);
            }
        }
    }
}

/// Eight rows starting at `base` (rows past the block's end read stale
/// values and are ignored by the caller) down one tree; their leaves.
#[inline]
fn walk(tree: &Flat, x: &[f32; SCRATCH], base: usize, w: usize) -> [u32; LANES] {
    let mut at = [0u32; LANES];
    for _ in 0..tree.depth {
        for (l, a) in at.iter_mut().enumerate() {
            let node = tree.nodes[*a as usize];
            let v = x[(base + l * w + node.feature as usize) & (SCRATCH - 1)];
            *a = node.left + u32::from(v > node.cut);
        }
    }
    at
}

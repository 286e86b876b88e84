//! The ensemble re-laid for batch scoring.
//!
//! A walk is one branch-free step per level, repeated as many times as the
//! tree is deep: `n = left[n] + (x[feature[n]] > cut[n])`, with a split's
//! children side by side and a leaf pointing at itself with a cut nothing
//! exceeds. What makes it fast on this hardware (docs/PERFORMANCE.md has
//! the measurements):
//!
//! - Values and cuts are order-preserving `u32` keys, so the compare folds
//!   into the load and an add-with-carry: five instructions a step.
//! - A node is 8 bytes (a `u32` cut, `u16` offset and `u16` left), every tree's
//!   nodes sit back to back in one array followed by a window's worth of
//!   padding, and each tree is scored through a fixed-size window of it.
//!   A `u16` index into a fixed-size array needs no bounds check, and no
//!   `unsafe` is needed to lose it.
//! - Rows are scored in blocks of 64, transposed (feature-major), so a
//!   node stores `feature × 64` and lane `l` of the block reads
//!   `block[offset + l]`: no per-row base address.
//! - Eight rows walk a tree together with their positions in registers:
//!   eight independent load chains keep the core busy. The tree stays in
//!   cache for the block's eight groups.
//! - The leaves reached are written down per tree and summed per row after
//!   the walks, with each row's sums in registers, in tree order (so the
//!   result is bit for bit `Ensemble::predict_one`'s).
//!
//! Models too wide for the window (over 1,024 features) or with a tree of
//! more than 65,535 nodes are scored one row at a time instead.

use super::ensemble::{Algo, Ensemble};
use super::single::SingleRow;

/// Rows scored together (their keys take 64 × 4 bytes per feature).
const BLOCK: usize = 64;
/// Rows walking one tree side by side.
const LANES: usize = 8;
/// Node positions are `u16`; `left + 1` can reach 65,536.
const WINDOW: usize = (1 << 16) + 1;
/// Block offsets are `u16`; a lane adds up to `BLOCK - 1`.
const KEYS: usize = (1 << 16) + BLOCK;

/// A split, or a leaf (`cut == u32::MAX`, `left` = its own position).
#[derive(Debug, Clone, Copy)]
struct Node {
    cut: u32,
    /// `feature × BLOCK`: where the feature's keys start in a block.
    offset: u16,
    left: u16,
}

const PAD: Node = Node { cut: u32::MAX, offset: 0, left: 0 };

#[derive(Debug, Clone)]
struct Layout {
    /// Every tree's nodes, then `WINDOW` padding nodes.
    nodes: Vec<Node>,
    /// Per node (same positions), the leaf's row in `values`.
    leaf: Vec<u32>,
    /// `(first node, depth)` per tree.
    trees: Vec<(usize, usize)>,
    /// Leaf values, `stride` per leaf (`k` rounded up to 4, zero-padded).
    values: Vec<f32>,
    stride: usize,
}

#[derive(Debug, Clone)]
pub struct Compiled {
    /// `None` when the model does not fit the layout.
    layout: Option<Layout>,
    /// For one row at a time (`predict_row`); `None` when the model does not fit it.
    single: Option<SingleRow>,
    ensemble: Ensemble,
}

/// Maps floats to integers in the same order: `key(a) > key(b)` exactly
/// when `a > b`. NaN maps to 0 so it never goes right, as in `Tree::leaf_of`;
/// −0 and +0 become one key.
fn key(v: f32) -> u32 {
    let bits = (v + 0.0).to_bits();
    let flip = ((bits as i32) >> 31) as u32 | 0x8000_0000;
    if v.is_nan() { 0 } else { bits ^ flip }
}

impl Layout {
    fn new(ensemble: &Ensemble) -> Option<Layout> {
        if ensemble.width * BLOCK > usize::from(u16::MAX) + 1 {
            return None;
        }
        let k = ensemble.k;
        let stride = k.div_ceil(4) * 4;
        let (mut nodes, mut leaf, mut trees, mut values) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for t in &ensemble.trees {
            let start = nodes.len();
            nodes.push(PAD);
            leaf.push(0);
            // (position in this tree, original node), breadth first.
            let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
            while let Some((at, n)) = queue.pop_front() {
                if t.feature[n] < 0 {
                    nodes[start + at] = Node { cut: u32::MAX, offset: 0, left: u16::try_from(at).ok()? };
                    leaf[start + at] = u32::try_from(values.len() / stride).ok()?;
                    values.extend_from_slice(&t.values[t.left[n] as usize * k..][..k]);
                    values.resize(values.len() + stride - k, 0.0);
                } else {
                    let left = nodes.len() - start;
                    nodes.extend([PAD, PAD]);
                    leaf.extend([0, 0]);
                    nodes[start + at] = Node {
                        cut: key(t.cut[n]),
                        offset: u16::try_from(t.feature[n] as usize * BLOCK).ok()?,
                        left: u16::try_from(left).ok()?,
                    };
                    queue.push_back((left, t.left[n] as usize));
                    queue.push_back((left + 1, t.right[n] as usize));
                }
            }
            // The last node's `left + 1` must stay inside the window.
            u16::try_from(nodes.len() - start).ok()?;
            trees.push((start, t.depth()));
        }
        nodes.resize(nodes.len() + WINDOW, PAD);
        leaf.resize(leaf.len() + WINDOW, 0);
        Some(Layout { nodes, leaf, trees, values, stride })
    }

    /// Scores `x` (`width` per row, at most `BLOCK` rows): per-class sums
    /// of leaf values, `k` per row, into `out`.
    fn score_block(&self, x: &[f32], width: usize, k: usize, scratch: &mut Scratch, out: &mut [f32]) {
        let rows = x.len() / width;
        let Scratch { keys, reached } = scratch;
        let Ok(keys) = <&mut [u32; KEYS]>::try_from(keys.as_mut_slice()) else { return };
        for (l, row) in x.chunks_exact(width).enumerate() {
            for (f, v) in row.iter().enumerate() {
                keys[f * BLOCK + l] = key(*v);
            }
        }
        // Lanes past `rows` walk stale keys; their leaves are never read.
        for (&(start, depth), reached) in self.trees.iter().zip(reached.chunks_exact_mut(BLOCK)) {
            let Ok(nodes) = <&[Node; WINDOW]>::try_from(&self.nodes[start..start + WINDOW]) else { return };
            let Ok(leaf) = <&[u32; WINDOW]>::try_from(&self.leaf[start..start + WINDOW]) else { return };
            for (g, reached) in reached.chunks_exact_mut(LANES).enumerate() {
                let at = walk(nodes, depth, keys, g * LANES);
                for (r, a) in reached.iter_mut().zip(at) {
                    *r = leaf[a];
                }
            }
        }
        let out = &mut out[..rows * k];
        match self.stride {
            4 => sum_leaves::<4>(&self.values, reached, out, k),
            8 => sum_leaves::<8>(&self.values, reached, out, k),
            16 => sum_leaves::<16>(&self.values, reached, out, k),
            _ => {
                for (l, out) in out.chunks_exact_mut(k).enumerate() {
                    for &r in reached.iter().skip(l).step_by(BLOCK) {
                        let v = &self.values[r as usize * self.stride..][..k];
                        out.iter_mut().zip(v).for_each(|(o, v)| *o += v);
                    }
                }
            }
        }
    }
}

/// Row `l`'s sums over the leaves it reached (`reached[t * BLOCK + l]`),
/// in tree order, `S` lanes at a time with the sums in registers.
fn sum_leaves<const S: usize>(values: &[f32], reached: &[u32], out: &mut [f32], k: usize) {
    let (values, _) = values.as_chunks::<S>();
    for (l, out) in out.chunks_exact_mut(k).enumerate() {
        let mut sums = [0.0f32; S];
        for &r in reached.iter().skip(l).step_by(BLOCK) {
            let Some(v) = values.get(r as usize) else { continue };
            for j in 0..S {
                sums[j] += v[j];
            }
        }
        out.copy_from_slice(&sums[..k]);
    }
}

/// Per-call buffers: the block's keys, and the leaf each row reached in
/// each tree.
struct Scratch {
    keys: Vec<u32>,
    reached: Vec<u32>,
}

/// Eight rows (lanes `base..base + 8` of the block) down one tree: the
/// positions they end at.
#[inline]
fn walk(nodes: &[Node; WINDOW], depth: usize, keys: &[u32; KEYS], base: usize) -> [usize; LANES] {
    let mut at = [0usize; LANES];
    for _ in 0..depth {
        for (l, a) in at.iter_mut().enumerate() {
            let node = nodes[*a];
            let v = keys[usize::from(node.offset) + base + l];
            *a = usize::from(node.left) + usize::from(v > node.cut);
        }
    }
    at
}

impl Compiled {
    pub fn new(ensemble: Ensemble) -> Compiled {
        Compiled { layout: Layout::new(&ensemble), single: SingleRow::new(&ensemble), ensemble }
    }

    pub fn into_ensemble(self) -> Ensemble {
        self.ensemble
    }

    pub fn classes(&self) -> usize {
        self.ensemble.k
    }

    /// One row's probabilities, trees walking side by side (`single`):
    /// the block layout pays for a 256 KiB key table and 64 lanes per call,
    /// which one row never earns back (a web value is judged alone).
    pub fn predict_row(&self, row: &[f32]) -> Vec<f32> {
        match &self.single {
            Some(single) => single.predict(&self.ensemble, row),
            None => self.ensemble.predict_one(row),
        }
    }

    /// For a forest (votes averaged), one row's probabilities from the
    /// first trees only, when `stop(sums, walked)` — asked after each group
    /// of trees with the summed probabilities so far — says the rest cannot
    /// change what the caller decides. Boosted models, whose trees are not
    /// votes, are always walked whole.
    pub fn predict_row_until(&self, row: &[f32], stop: impl FnMut(&[f32], usize) -> bool) -> Vec<f32> {
        match &self.single {
            Some(single) if self.ensemble.algo != Algo::Gbdt => {
                let (mut acc, walked) = single.walk(&self.ensemble, row, stop);
                let n = walked.max(1) as f32;
                // A mean of rounded sums can land a hair outside [0, 1] (found by fuzzing: 1.0000001).
                acc.iter_mut().for_each(|a| *a = (*a / n).clamp(0.0, 1.0));
                acc
            }
            _ => self.predict_row(row),
        }
    }

    pub fn trees(&self) -> usize {
        self.ensemble.trees.len()
    }

    /// Class probabilities for row-major `x` (`width` per row), `k` per row
    /// into `out` (resized).
    pub fn predict(&self, x: &[f32], out: &mut Vec<f32>) {
        let (w, k) = (self.ensemble.width.max(1), self.ensemble.k);
        let rows = x.len() / w;
        out.clear();
        out.resize(rows * k, 0.0);
        let x = &x[..rows * w];
        let Some(layout) = &self.layout else {
            for (row, out) in x.chunks_exact(w).zip(out.chunks_exact_mut(k)) {
                out.copy_from_slice(&self.ensemble.predict_one(row));
            }
            return;
        };
        let mut scratch = Scratch { keys: vec![0; KEYS], reached: vec![0; BLOCK * layout.trees.len()] };
        for (x, out) in x.chunks(BLOCK * w).zip(out.chunks_mut(BLOCK * k)) {
            layout.score_block(x, w, k, &mut scratch, out);
        }
        for row in out.chunks_exact_mut(k) {
            self.ensemble.finish(row);
        }
    }
}

#[cfg(test)]
#[path = "compiled_tests.rs"]
mod tests;

//! A grown tree as it is saved: parallel arrays, one entry per node.

use serde::{Deserialize, Serialize};

/// Node `n` is a split when `feature[n] >= 0`: rows with
/// `x[feature] > cut` go to `right[n]`, the rest (NaN included) to
/// `left[n]`. For a leaf, `left[n]` is the leaf's number and its `k`
/// values are `values[left * k ..][..k]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub feature: Vec<i32>,
    pub cut: Vec<f32>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub values: Vec<f32>,
}

impl Tree {
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    /// The longest root-to-leaf path, in splits.
    pub fn depth(&self) -> usize {
        fn walk(t: &Tree, n: usize) -> usize {
            if t.feature[n] < 0 { 0 } else { 1 + walk(t, t.left[n] as usize).max(walk(t, t.right[n] as usize)) }
        }
        if self.is_empty() { 0 } else { walk(self, 0) }
    }

    /// The leaf one row lands in (its `values` offset in units of `k`).
    pub fn leaf_of(&self, x: &[f32]) -> usize {
        let mut n = 0;
        while self.feature[n] >= 0 {
            n = if x[self.feature[n] as usize] > self.cut[n] { self.right[n] } else { self.left[n] } as usize;
        }
        self.left[n] as usize
    }

    /// Checks the arrays describe a tree a walk cannot escape or loop in.
    pub fn validate(&self, width: usize, k: usize) -> Result<(), crate::TreeError> {
        let n = self.feature.len();
        if n == 0 || self.cut.len() != n || self.left.len() != n || self.right.len() != n {
            return Err(crate::TreeError::Shape);
        }
        let leaves = self.values.len() / k.max(1);
        for i in 0..n {
            if self.feature[i] >= 0 {
                if self.feature[i] as usize >= width {
                    return Err(crate::TreeError::Feature { node: i, feature: i64::from(self.feature[i]), width });
                }
                // Children come after their parent, so a walk always ends.
                let (l, r) = (self.left[i] as usize, self.right[i] as usize);
                if l <= i || r <= i || l >= n || r >= n {
                    return Err(crate::TreeError::Children { node: i, left: l, right: r });
                }
            } else if self.left[i] as usize >= leaves {
                return Err(crate::TreeError::Leaf { node: i, at: self.left[i] as usize, leaves });
            }
        }
        Ok(())
    }
}

#![allow(clippy::unwrap_used)]

use super::*;
use crate::SplitMix64;
use crate::trees::{Algo, Tree};

/// Values where an order-preserving map could slip: signed zeros,
/// infinities, the smallest subnormal, the extremes, and NaN.
const EDGES: [f32; 12] =
    [0.0, -0.0, 1e-45, -1e-45, 0.5, -0.5, 1.0, f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];

fn value(rng: &mut SplitMix64) -> f32 {
    if rng.below(2) == 0 { EDGES[rng.below(EDGES.len())] } else { (rng.next_f64() * 4.0 - 2.0) as f32 }
}

fn cut(rng: &mut SplitMix64) -> f32 {
    loop {
        let c = value(rng);
        if !c.is_nan() {
            return c;
        }
    }
}

/// A random tree in the saved form (children after their parent).
fn grow(t: &mut Tree, rng: &mut SplitMix64, width: usize, k: usize, depth: usize) -> u32 {
    let n = t.feature.len();
    t.feature.push(-1);
    t.cut.push(0.0);
    t.left.push(0);
    t.right.push(0);
    if depth == 0 || rng.below(4) == 0 {
        t.left[n] = (t.values.len() / k) as u32;
        t.values.extend((0..k).map(|_| rng.next_f64() as f32));
    } else {
        t.feature[n] = rng.below(width) as i32;
        t.cut[n] = cut(rng);
        t.left[n] = grow(t, rng, width, k, depth - 1);
        t.right[n] = grow(t, rng, width, k, depth - 1);
    }
    n as u32
}

fn ensemble(seed: u64, width: usize, k: usize, trees: usize, boosted: bool) -> Ensemble {
    let mut rng = SplitMix64::new(seed);
    let trees = (0..trees)
        .map(|_| {
            let mut t = Tree::default();
            let depth = 1 + rng.below(9);
            grow(&mut t, &mut rng, width, k, depth);
            t
        })
        .collect();
    let (algo, base) = if boosted { (Algo::Gbdt, vec![0.25; k]) } else { (Algo::RandomForest, Vec::new()) };
    let model = Ensemble { algo, width, k, trees, base, learning_rate: 0.1 };
    model.validate().unwrap();
    model
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// The batch layout, and the interleaved walk of one row, give each row
    /// exactly (bit for bit) what walking every tree one row at a time gives: any batch size, any class count
    /// (padded strides and the general one), edge values, and models too
    /// wide for the layout.
    #[test]
    fn batch_scores_equal_one_row_at_a_time(
        seed: u64,
        rows in 1usize..150,
        k in proptest::sample::select(vec![2usize, 3, 5, 9, 13, 17]),
        wide: bool,
        boosted: bool,
    ) {
        let width = if wide { 1030 } else { 1 + (seed % 7) as usize };
        let model = ensemble(seed, width, k, 1 + (seed % 13) as usize, boosted);
        let mut rng = SplitMix64::new(seed ^ 1);
        let x: Vec<f32> = (0..rows * width).map(|_| value(&mut rng)).collect();
        let mut batch = Vec::new();
        let compiled = Compiled::new(model.clone());
        compiled.predict(&x, &mut batch);
        proptest::prop_assert_eq!(batch.len(), rows * k);
        for (r, row) in x.chunks(width).enumerate() {
            let one: Vec<u32> = model.predict_one(row).iter().map(|v| v.to_bits()).collect();
            let got: Vec<u32> = batch[r * k..][..k].iter().map(|v| v.to_bits()).collect();
            proptest::prop_assert_eq!(&one, &got, "row {}", r);
            let single: Vec<u32> = compiled.predict_row(row).iter().map(|v| v.to_bits()).collect();
            proptest::prop_assert_eq!(&one, &single, "row {} alone", r);
        }
    }

    /// Keys order values as `>` does: NaN never exceeds a cut.
    #[test]
    fn keys_compare_as_floats(a_bits: u32, c_bits: u32) {
        let (a, c) = (f32::from_bits(a_bits), f32::from_bits(c_bits));
        if !c.is_nan() {
            proptest::prop_assert_eq!(a > c, key(a) > key(c), "{} vs {}", a, c);
        }
    }
}

#[test]
fn keys_at_the_edges() {
    for a in EDGES {
        for c in EDGES.into_iter().filter(|c| !c.is_nan()) {
            assert_eq!(a > c, key(a) > key(c), "{a} vs {c}");
        }
    }
    assert!(key(f32::INFINITY) < u32::MAX, "a leaf's cut must stay above every value");
}

#[test]
fn a_tree_too_large_for_the_layout_is_scored_row_by_row() {
    let mut t = Tree::default();
    let mut rng = SplitMix64::new(3);
    // A full tree of depth 16: 131,071 nodes, past the u16 positions.
    grow_full(&mut t, &mut rng, 16);
    let model =
        Ensemble { algo: Algo::RandomForest, width: 2, k: 2, trees: vec![t], base: Vec::new(), learning_rate: 0.1 };
    let compiled = Compiled::new(model.clone());
    assert!(compiled.layout.is_none() && compiled.single.is_none());
    let x = [0.3f32, 0.7, 0.9, 0.1];
    assert_eq!(compiled.predict_row(&x[..2]), model.predict_one(&x[..2]));
    let mut out = Vec::new();
    compiled.predict(&x, &mut out);
    assert_eq!(out[..2], model.predict_one(&x[..2])[..]);
    assert_eq!(out[2..], model.predict_one(&x[2..])[..]);
}

fn grow_full(t: &mut Tree, rng: &mut SplitMix64, depth: usize) -> u32 {
    let n = t.feature.len();
    t.feature.push(-1);
    t.cut.push(0.0);
    t.left.push(0);
    t.right.push(0);
    if depth == 0 {
        t.left[n] = (t.values.len() / 2) as u32;
        let p = rng.next_f64() as f32;
        t.values.extend([p, 1.0 - p]);
    } else {
        t.feature[n] = (depth % 2) as i32;
        t.cut[n] = rng.next_f64() as f32;
        t.left[n] = grow_full(t, rng, depth - 1);
        t.right[n] = grow_full(t, rng, depth - 1);
    }
    n as u32
}

#![allow(clippy::unwrap_used)]

use super::*;
use crate::SplitMix64;

/// Two noisy classes split by x0 + x1 > 1, plus a third class in a corner
/// and a useless feature.
fn synthetic(rows: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..rows {
        let (a, b, noise) = (rng.next_f64() as f32, rng.next_f64() as f32, rng.next_f64() as f32);
        x.extend([a, b, noise]);
        y.push(if a > 0.85 && b > 0.85 {
            2
        } else if a + b > 1.0 {
            1
        } else {
            0
        });
    }
    (x, y)
}

fn fit(algo: Algo, seed: u64) -> Ensemble {
    let (x, y) = synthetic(3000, 7);
    let weight = vec![1.0; y.len()];
    let set = TrainSet { x: &x, width: 3, y: &y, k: 3, weight: &weight };
    let mut params = TrainParams::for_algo(algo, seed);
    params.trees = 20;
    Ensemble::fit(&set, &params, &|_, _| {}).unwrap()
}

fn accuracy(model: &Ensemble) -> f64 {
    let (x, y) = synthetic(2000, 99);
    let mut proba = Vec::new();
    Compiled::new(model.clone()).predict(&x, &mut proba);
    let hits = y
        .iter()
        .enumerate()
        .filter(|(r, t)| {
            let p = &proba[r * 3..][..3];
            crate::argmax(p) == **t as usize
        })
        .count();
    hits as f64 / y.len() as f64
}

#[test]
fn every_algorithm_learns_the_boundary_on_unseen_rows() {
    for algo in [Algo::DecisionTree, Algo::RandomForest, Algo::Gbdt] {
        let model = fit(algo, 1);
        let acc = accuracy(&model);
        assert!(acc > 0.93, "{algo:?}: accuracy {acc}");
        model.validate().unwrap();
    }
}

#[test]
fn the_same_seed_trains_the_same_model_and_another_seed_a_different_forest() {
    for algo in [Algo::DecisionTree, Algo::RandomForest, Algo::Gbdt] {
        assert_eq!(fit(algo, 5), fit(algo, 5), "{algo:?} is not deterministic");
    }
    assert_ne!(fit(Algo::RandomForest, 5), fit(Algo::RandomForest, 6));
}

#[test]
fn thread_count_does_not_change_a_forest() {
    let (x, y) = synthetic(1000, 3);
    let weight = vec![1.0; y.len()];
    let set = TrainSet { x: &x, width: 3, y: &y, k: 3, weight: &weight };
    let mut params = TrainParams::for_algo(Algo::RandomForest, 9);
    params.trees = 7;
    params.threads = 1;
    let one = Ensemble::fit(&set, &params, &|_, _| {}).unwrap();
    params.threads = 3;
    assert_eq!(one, Ensemble::fit(&set, &params, &|_, _| {}).unwrap());
}

#[test]
fn batch_scoring_matches_walking_each_tree() {
    let (x, _) = synthetic(333, 11);
    for algo in [Algo::DecisionTree, Algo::RandomForest, Algo::Gbdt] {
        let model = fit(algo, 2);
        let mut batch = Vec::new();
        Compiled::new(model.clone()).predict(&x, &mut batch);
        for (r, row) in x.chunks(3).enumerate() {
            let one = model.predict_one(row);
            for c in 0..3 {
                assert!((one[c] - batch[r * 3 + c]).abs() < 1e-5, "{algo:?} row {r}");
            }
            assert!((one.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }
}

#[test]
fn nan_goes_left_and_infinite_values_score() {
    let model = fit(Algo::RandomForest, 1);
    let mut out = Vec::new();
    Compiled::new(model).predict(&[f32::NAN, f32::MAX, f32::MIN, 0.5, 0.5, 0.5], &mut out);
    assert_eq!(out.len(), 6);
    assert!(out.iter().all(|p| p.is_finite()));
}

#[test]
fn class_weights_move_the_decision_toward_the_rare_class() {
    let (x, y) = synthetic(3000, 7);
    let rare_weight: Vec<f64> = y.iter().map(|&c| if c == 2 { 20.0 } else { 1.0 }).collect();
    let plain = vec![1.0; y.len()];
    let mut params = TrainParams::for_algo(Algo::DecisionTree, 1);
    params.max_depth = 3;
    let recall = |weight: &[f64]| {
        let set = TrainSet { x: &x, width: 3, y: &y, k: 3, weight };
        let model = Ensemble::fit(&set, &params, &|_, _| {}).unwrap();
        let rare: Vec<usize> = (0..y.len()).filter(|&r| y[r] == 2).collect();
        let hits = rare
            .iter()
            .filter(|&&r| {
                let p = model.predict_one(&x[r * 3..][..3]);
                p[2] > p[0] && p[2] > p[1]
            })
            .count();
        hits as f64 / rare.len() as f64
    };
    assert!(recall(&rare_weight) > recall(&plain));
}

#[test]
fn bad_training_input_is_an_error_not_a_panic() {
    let weight = [1.0, 1.0];
    let set = TrainSet { x: &[0.0, 1.0], width: 1, y: &[0, 5], k: 2, weight: &weight };
    assert!(Ensemble::fit(&set, &TrainParams::for_algo(Algo::Gbdt, 1), &|_, _| {}).is_err());
    let set = TrainSet { x: &[0.0], width: 1, y: &[0, 1], k: 2, weight: &weight };
    assert!(Ensemble::fit(&set, &TrainParams::for_algo(Algo::Gbdt, 1), &|_, _| {}).is_err());
}

//! The payload classifier's model file and its scorer: a tree ensemble
//! over `features::WIDTH` features, versioned like the flow model file.

use serde::{Deserialize, Serialize};

use super::{Context, Decoded, Lexes, PayloadClass, breakout, decode, features, gate};
use crate::ModelFileError;
use crate::model_file::{self, Header};
use crate::trees::{Compiled, Ensemble, TrainParams};

pub const FORMAT: &str = "rampart-payload-model";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadModel {
    pub format: String,
    pub format_version: u32,
    pub rampart_version: String,
    pub created_ms: i64,
    pub params: TrainParams,
    /// Class names in the ensemble's order (`PayloadClass::ALL`).
    pub classes: Vec<String>,
    /// The corpus it was trained on, per source and class, and the
    /// leave-one-source-out figures measured before the final fit.
    pub metrics: serde_json::Value,
    /// A value is an attack when the probability of any attack class
    /// reaches this; chosen by `train payloads` on the left-out sources at
    /// a bounded share of benign values flagged.
    pub threshold: f32,
    pub model: Ensemble,
}

/// A value judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `Benign`, or the likeliest attack class when `attack` reaches the threshold.
    pub class: PayloadClass,
    /// The probability of `class`.
    pub score: f32,
    /// The probability that it is any attack (1 − benign).
    pub attack: f32,
    pub decoded: Decoded,
    /// The first token classes, e.g. `s&1o1c`.
    pub shape: String,
}

impl PayloadModel {
    /// Reads a model file's text, refusing other formats and versions and
    /// a feature layout this build does not make.
    pub fn from_json(text: &str) -> Result<PayloadModel, ModelFileError> {
        let header = Header { format: FORMAT, version: FORMAT_VERSION, retrain: "rampart train payloads" };
        let model: PayloadModel = model_file::read(text, &header)?;
        model.model.validate()?;
        if model.model.width != features::WIDTH || model.model.k != PayloadClass::ALL.len() {
            return Err(ModelFileError::Inconsistent);
        }
        Ok(model)
    }

    /// The model file at `path`, or the shipped model when there is none;
    /// errors name the file.
    pub fn load_or_shipped(path: Option<&std::path::Path>) -> Result<PayloadModel, String> {
        let Some(path) = path else { return Ok(PayloadModel::shipped()) };
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        PayloadModel::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The model shipped with Rampart (`crates/ml/models/payloads.json`;
    /// its card, `payloads.md`, says how it was trained and how to rebuild it).
    pub fn shipped() -> PayloadModel {
        static SHIPPED: std::sync::OnceLock<PayloadModel> = std::sync::OnceLock::new();
        SHIPPED
            .get_or_init(|| {
                // A build whose shipped model does not load is caught by this crate's tests.
                PayloadModel::from_json(include_str!("../../models/payloads.json"))
                    .unwrap_or_else(|e| panic!("the shipped payload model does not load: {e}"))
            })
            .clone()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The scorer, with the trees laid out for fast scoring.
    pub fn scorer(&self) -> PayloadScorer {
        PayloadScorer { trees: Compiled::new(self.model.clone()), threshold: self.threshold }
    }
}

thread_local! {
    /// One feature row per thread, reused: a row is 3 KiB, judged in microseconds.
    static ROW: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Judges values with a loaded model.
pub struct PayloadScorer {
    trees: Compiled,
    threshold: f32,
}

impl PayloadScorer {
    pub fn new(ensemble: Ensemble, threshold: f32) -> PayloadScorer {
        PayloadScorer { trees: Compiled::new(ensemble), threshold }
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Decodes, lexes and scores one value. A value the gate allows no
    /// attack class is benign without asking the forest — the same answer
    /// (the gate would give the forest's attack mass to benign), most
    /// values. The forest stops as soon as the trees not yet walked could
    /// no longer change the verdict (`settled`): the class is always the
    /// whole forest's; the score is then the mean of the trees walked.
    pub fn judge(&self, raw: &str, context: Context) -> Verdict {
        let (decoded, lexes, proba, _) = self.assess(raw, context, true);
        let shape = lexes.plain.fingerprint(12);
        let (class, score) = decide(&proba, self.threshold);
        Verdict { class, score, attack: attack_probability(&proba), shape, decoded }
    }

    /// One value's class probabilities (`PayloadClass::ALL` order), after
    /// the gate, from the whole forest: what `judge` decides on, for
    /// evaluation at any threshold.
    pub fn probabilities(&self, raw: &str, context: Context) -> [f32; 5] {
        self.assess(raw, context, false).2
    }

    /// How many trees `judge` walks for this value: 0 when the gate or a
    /// shape decides, fewer than all when the early stop ends the walk
    /// (for benchmarks: the forest is most of a judged value's cost).
    pub fn trees_walked(&self, raw: &str, context: Context) -> usize {
        self.assess(raw, context, true).3
    }

    /// The value decoded and lexed, its class probabilities and the trees walked.
    fn assess(&self, raw: &str, context: Context, early: bool) -> (Decoded, Lexes, [f32; 5], usize) {
        let decoded = decode(raw, context);
        let lexes = Lexes::of(&decoded.text);
        let possible = gate::possible(&decoded.text, &lexes);
        let mut proba = [1.0, 0.0, 0.0, 0.0, 0.0];
        let mut walked = 0;
        // A value its shape decides, or one with no attack class possible, never asks the forest.
        let certain = breakout::certain(&decoded, &possible);
        if certain.is_none() && possible[1..].contains(&true) {
            let total = self.trees.trees();
            walked = total;
            let predicted = ROW.with_borrow_mut(|row| {
                row.clear();
                features::features(&decoded, &lexes, row);
                self.trees.predict_row_until(row, |sums, so_far| {
                    let stop = early && settled(sums, total - so_far, total, &possible, self.threshold);
                    if stop {
                        walked = so_far;
                    }
                    stop
                })
            });
            proba.iter_mut().zip(&predicted).for_each(|(p, q)| *p = *q);
        }
        gate::settle(&mut proba, &possible, certain);
        (decoded, lexes, proba, walked)
    }

    /// The model's class probabilities for row-major feature rows
    /// (`features::WIDTH` each), before `gate::apply`.
    pub fn predict(&self, x: &[f32], out: &mut Vec<f32>) {
        self.trees.predict(x, out);
    }
}

/// Whether `judge`'s verdict is already the whole forest's, given the
/// summed class probabilities `sums` of the trees walked, `left` trees to
/// go of `total`, the classes the gate allows and the threshold. Each tree
/// left adds between 0 and 1 to any class's sum, so: benign when even all
/// of them voting for the possible attack classes stays under the
/// threshold; an attack when it is reached already and the leading
/// possible class leads by more than the trees left could overturn. A
/// margin of a thousandth keeps float rounding out of it.
fn settled(sums: &[f32], left: usize, total: usize, possible: &[bool; 5], threshold: f32) -> bool {
    let (left, total) = (left as f32, total as f32);
    let margin = 1e-3 * total;
    let allowed = || sums.iter().zip(possible).skip(1).filter(|(_, ok)| **ok).map(|(s, _)| *s);
    let attack: f32 = allowed().sum();
    if attack + left < threshold * total - margin {
        return true;
    }
    if attack < threshold * total + margin {
        return false;
    }
    let (mut first, mut second) = (f32::MIN, f32::MIN);
    for s in allowed() {
        if s > first {
            (first, second) = (s, first);
        } else if s > second {
            second = s;
        }
    }
    second == f32::MIN || first - second > left + margin
}

/// The probability that a row is any attack: 1 − P(benign).
pub fn attack_probability(proba: &[f32]) -> f32 {
    1.0 - proba.first().copied().unwrap_or(1.0)
}

/// The class and its probability for one row's class probabilities:
/// benign below `threshold`, else the likeliest attack class.
pub fn decide(proba: &[f32], threshold: f32) -> (PayloadClass, f32) {
    if attack_probability(proba) < threshold {
        return (PayloadClass::Benign, proba.first().copied().unwrap_or(1.0));
    }
    let best = (1..proba.len()).max_by(|&a, &b| proba[a].total_cmp(&proba[b])).unwrap_or(0);
    (PayloadClass::ALL.get(best).copied().unwrap_or(PayloadClass::Benign), proba.get(best).copied().unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_versions_and_other_files_are_refused_with_the_reason() {
        let mut doc: serde_json::Value = serde_json::from_str(&PayloadModel::shipped().to_json()).unwrap();
        doc["format_version"] = 9.into();
        // A later version's fields may differ: the version is what is reported, with the command that rebuilds it.
        doc["model"] = serde_json::json!({"something": "else"});
        let err = PayloadModel::from_json(&doc.to_string()).unwrap_err().to_string();
        assert!(err.starts_with("model format version 9 (written by rampart"), "{err}");
        assert!(err.ends_with("retrain it with `rampart train payloads`"), "{err}");
        let flows = serde_json::json!({"format": "rampart-flow-model", "format_version": 1}).to_string();
        assert!(matches!(PayloadModel::from_json(&flows), Err(ModelFileError::NotAModel(FORMAT))));
        assert!(matches!(PayloadModel::from_json("nope"), Err(ModelFileError::Json(_))));
    }

    #[test]
    fn the_shipped_model_loads_and_tells_attacks_from_text() {
        let scorer = PayloadModel::shipped().scorer();
        for attack in ["1' or '1'='1", "<script>alert(1)</script>", "../../../../etc/passwd", ";cat /etc/passwd"] {
            assert_ne!(scorer.judge(attack, Context::Form).class, PayloadClass::Benign, "{attack}");
        }
        for benign in ["john smith", "red shoes size 42", "it's a 4' x 6' rug", "2024-01-31"] {
            assert_eq!(scorer.judge(benign, Context::Form).class, PayloadClass::Benign, "{benign}");
        }
    }

    /// A blank a database reads as a space does not hide an attack:
    /// sqlmap's space2mysqlblank (`%A0`, MySQL's latin1 blank) was read as
    /// part of the words it split, and these were judged benign.
    #[test]
    fn blank_evasions_are_judged_as_the_plain_attack() {
        let scorer = PayloadModel::shipped().scorer();
        for attack in ["1%A0UNION%A0SELECT%A0password%A0FROM%A0users--", "1%A0OR%A01=1"] {
            assert_ne!(scorer.judge(attack, Context::Form).class, PayloadClass::Benign, "{attack}");
        }
    }

    /// Values near and far from the threshold, of every class: stopping
    /// the forest early never changes a verdict's class.
    #[test]
    fn stopping_early_gives_the_whole_forests_class() {
        let scorer = PayloadModel::shipped().scorer();
        let seeds = [
            "1' or '1'='1",
            "admin'--",
            "1;select 1",
            "1 and 1=1",
            "1950 or 1960",
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "javascript:alert(1)",
            "<b>bold</b>",
            "../../etc/passwd",
            "....//....//etc/hosts",
            ";cat /etc/passwd",
            "|sleep 60;",
            "a`sleep 60`",
            ";env;",
            "O'Brien",
            "rock & roll",
            "1/2\" button",
            "50% off",
            "select a size",
            "john@example.com",
            "it's a 4' x 6' rug",
            "${7*7}",
            "{{7*7}}",
            "%27%20or%201%3D1--",
        ];
        let mut checked = 0;
        for seed in seeds {
            // The seed, and variants that move it about the threshold.
            for value in
                [seed.to_owned(), format!("x{seed}"), format!("{seed} and more words"), seed.replace(' ', "/**/")]
            {
                for context in [Context::Form, Context::Other] {
                    let full = decide(&scorer.probabilities(&value, context), scorer.threshold());
                    assert_eq!(scorer.judge(&value, context).class, full.0, "{value:?} in {context:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, seeds.len() * 8);
    }

    #[test]
    fn trees_walked_counts_what_the_judgement_walked() {
        let scorer = PayloadModel::shipped().scorer();
        let total = scorer.trees.trees();
        // No attack machinery, or a shape that decides: the forest is not asked.
        assert_eq!(scorer.trees_walked("red shoes", Context::Form), 0);
        assert_eq!(scorer.trees_walked("admin'--", Context::Form), 0);
        // Plain text with a quote reaches the forest, which stops once benign is certain.
        let walked = scorer.trees_walked("it's a 4' x 6' rug", Context::Form);
        assert!(walked > 0 && walked < total, "{walked} of {total}");
    }

    #[test]
    fn settled_only_when_the_trees_left_cannot_change_the_verdict() {
        let all = [true; 5];
        // 60 of 100 walked, all benign: 40 left cannot reach 0.5.
        assert!(settled(&[60.0, 0.0, 0.0, 0.0, 0.0], 40, 100, &all, 0.5));
        // 50 walked, all benign: 50 left could reach it exactly.
        assert!(!settled(&[50.0, 0.0, 0.0, 0.0, 0.0], 50, 100, &all, 0.5));
        // 60 walked, all SQLi: an attack already, and 40 left cannot overturn a lead of 60.
        assert!(settled(&[0.0, 60.0, 0.0, 0.0, 0.0], 40, 100, &all, 0.5));
        // SQLi 35, XSS 25: an attack, but which one is not settled.
        assert!(!settled(&[0.0, 35.0, 25.0, 0.0, 0.0], 40, 100, &all, 0.5));
        // …unless the gate rules XSS out; then its votes count as benign.
        assert!(!settled(&[0.0, 35.0, 25.0, 0.0, 0.0], 40, 100, &[true, true, false, true, true], 0.5));
        assert!(settled(&[0.0, 55.0, 5.0, 0.0, 0.0], 40, 100, &[true, true, false, true, true], 0.5));
    }
}

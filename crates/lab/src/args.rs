//! The command lines of the workbench's commands: `train flows`, `eval
//! flows`, `eval anomaly`, `bench flows`, and the data layout `replay`
//! shares. The binary mounts them under its own subcommands.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    NslKdd,
    CicIds2017,
    Csv,
}

/// Where labelled flows come from.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Files or directories (every *.csv / *.txt inside, sorted by name).
    #[arg(long, num_args = 1.., required = true, value_name = "PATH")]
    pub data: Vec<PathBuf>,
    #[command(flatten)]
    pub layout: LayoutArgs,
}

/// How labelled flow files are laid out, and what to do with bad rows.
#[derive(Debug, Clone, Args)]
pub struct LayoutArgs {
    /// The files' layout: NSL-KDD's rows, CIC-IDS2017's CSV, or any CSV with a label column.
    #[arg(long, value_enum)]
    pub format: DataFormat,
    /// With --format csv: the label column.
    #[arg(long, default_value = "Label")]
    pub label: String,
    /// Skip rows that cannot be read (and say how many) instead of stopping
    /// at the first with its file and line.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassScheme {
    /// normal / attack.
    Binary,
    /// NSL-KDD: normal, DoS, Probe, R2L, U2R; otherwise each label.
    Multi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgoArg {
    DecisionTree,
    RandomForest,
    Gbdt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassWeight {
    /// Each class weighs as much in total as the others.
    Balanced,
    /// √ of balanced: helps rare classes without drowning the common ones.
    Sqrt,
    None,
}

fn parse_merge(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
            Ok((from.trim().to_owned(), to.trim().to_owned()))
        }
        _ => Err(format!("{text:?}: expected FROM=TO, two labels")),
    }
}

#[derive(Debug, Args)]
pub struct TrainFlowsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// What the model tells apart: attack or normal (binary), or each class (multi).
    #[arg(long, value_enum, default_value = "binary")]
    pub classes: ClassScheme,
    /// Gradient boosting by default: it detected the most of the attack
    /// families left out of training on both NSL-KDD and CIC-IDS2017
    /// (docs/DETECTION.md).
    #[arg(long, value_enum, default_value = "gbdt")]
    pub algo: AlgoArg,
    /// Trees in a forest or boosting rounds [default: 100].
    #[arg(long)]
    pub trees: Option<usize>,
    /// [default: 10 forest, 16 tree, 6 boosting]
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// How rare classes weigh in training.
    #[arg(long, value_enum, default_value = "sqrt")]
    pub class_weight: ClassWeight,
    /// The share of rows held out (stratified by class) to measure the
    /// model; 0 trains on everything and measures nothing.
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,
    /// Also run k-fold cross-validation on the training share and report
    /// each fold (costs k more trainings).
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// The novelty guard: flows the classifier calls normal but that are
    /// unlike every normal training flow become class `anomaly`. This is
    /// the share of normal training rows allowed over its threshold; 0
    /// turns the guard off. Default: chosen with the decision threshold on
    /// the leave-family-out folds among 0.25%, 0.5%, 1% and 2% and none
    /// (1% with --no-family-folds).
    #[arg(long)]
    pub novelty_fpr: Option<f64>,
    /// Trees in the novelty guard's Isolation Forest (its scoring time
    /// grows with them; 50 detected as much of the left-out families as
    /// 100, docs/DETECTION.md).
    #[arg(long, default_value_t = 50)]
    pub novelty_trees: usize,
    /// Labels to train as one class, `FROM=TO` (repeatable): for attacks the
    /// flow features cannot tell apart, e.g.
    /// `"Infiltration - Portscan=Portscan"` (the same scan, told apart only
    /// by where it came from). Kept in the model file; `eval` applies it.
    #[arg(long = "merge", value_name = "FROM=TO", value_parser = parse_merge)]
    pub merges: Vec<(String, String)>,
    /// Attack labels to keep out of training entirely (comma-separated raw
    /// labels, e.g. `smurf,teardrop`): their rows are only scored, which
    /// measures how the model does on attack types it has never seen.
    #[arg(long, value_delimiter = ',', value_name = "LABELS")]
    pub unseen: Vec<String>,
    /// The bound on the false-positive rate (held-out normal rows, mean
    /// over the leave-family-out folds) under which the decision threshold
    /// is chosen.
    #[arg(long, default_value_t = 0.02)]
    pub max_fpr: f64,
    /// Skip the leave-attack-family-out folds (one training per attack
    /// family): the model then decides by its likeliest class and the file
    /// records no operating point.
    #[arg(long)]
    pub no_family_folds: bool,
    /// Random seed for the split and the trees.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The model's name in the registry [default: the file's stem].
    #[arg(long)]
    pub name: Option<String>,
    /// Where to write the model file.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

impl TrainFlowsArgs {
    /// Whether models get a novelty guard (unless the folds then choose none).
    pub fn guarded(&self) -> bool {
        self.novelty_fpr != Some(0.0)
    }

    /// The rate the guard is fitted at, before the folds choose.
    pub fn fitted_guard_rate(&self) -> f64 {
        self.novelty_fpr.unwrap_or(0.01)
    }

    /// The guard rates the folds choose among (`None`: no guard).
    pub fn guard_rates(&self) -> Vec<Option<f64>> {
        match self.novelty_fpr {
            Some(0.0) => vec![None],
            Some(r) => vec![Some(r)],
            None => std::iter::once(None).chain(rampart_ml::novelty::RATES.map(Some)).collect(),
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalFlowsArgs {
    /// A model file written by `rampart train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write report.md with SVG charts (confusion matrix, ROC, precision-recall, detection by family) into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// `rampart bench flows`.
#[derive(Debug, Args)]
pub struct BenchFlowsArgs {
    /// A model file written by `rampart train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Timed passes over every row; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub passes: usize,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rampart bench payloads`.
#[derive(Debug, Args)]
pub struct BenchPayloadsArgs {
    /// A payload model file (`rampart train payloads`) [default: the shipped model].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// The web-payloads directory the values come from (as for `train payloads`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Values judged per pass, from the start of the corpus.
    #[arg(long, default_value_t = 50_000)]
    pub values: usize,
    /// Timed passes; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub passes: usize,
    /// Also write the values, one per line, for a peer to judge the same ones
    /// (bench/libinjection/run).
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rampart eval anomaly`.
#[derive(Debug, Args)]
pub struct EvalAnomalyArgs {
    /// Labelled rows; the forest learns from the normal ones only.
    #[arg(long)]
    pub train: PathBuf,
    /// Scored data; without it, a seeded 30% of --train held out.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// The files' layout: NSL-KDD's text rows or a CSV with a label column.
    #[arg(long, value_parser = ["nsl-kdd", "csv"])]
    pub format: String,
    /// With --format csv: the label column.
    #[arg(long, default_value = "Label")]
    pub label: String,
    /// The label of normal rows (NSL-KDD: normal; CIC-IDS2017: BENIGN).
    #[arg(long)]
    pub normal: Option<String>,
    /// Flag as anomalous when the score is at least this. Default: the
    /// score that flags --contamination of the training rows.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// The share of training rows the default threshold flags.
    #[arg(long, default_value_t = 0.05)]
    pub contamination: f64,
    /// Isolation trees in the forest.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Rows each tree is grown on. 1024 rather than the paper's 256: on
    /// NSL-KDD it ranked every attack family higher (docs/DETECTION.md).
    #[arg(long, default_value_t = 1024)]
    pub subsample: usize,
    /// Random seed for the split and the trees.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip rows that cannot be read instead of stopping at the first
    /// with its file and line.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rampart train payloads`.
#[derive(Debug, Args)]
pub struct TrainPayloadsArgs {
    /// The web-payloads directory (kaggle-sqli/, kaggle-xss/, libinjection/, payloadsallthethings/).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Combined-format access logs whose query values and path segments are benign examples.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// Where to write the model file.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Trees in the forest. 48 scored as well as 64 or 100 on the
    /// leave-one-source-out figures (docs/DETECTION.md) and the gatekeeper
    /// walks half as many per value.
    #[arg(long, default_value_t = 48)]
    pub trees: usize,
    /// The deepest a tree grows.
    #[arg(long, default_value_t = 16)]
    pub max_depth: usize,
    /// Random seed for the split and the trees.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How many times the leave-one-source-out models are drawn (seeds
    /// `seed`, `seed + 1`, …): the threshold is chosen on their mean curve
    /// and each figure is their mean, with its range. One draw moves a
    /// held-out source by up to 3 points and the threshold by a grid step
    /// (docs/DETECTION.md), so one is not enough to choose by.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub draws: u64,
    /// Skip the leave-one-source-out figures (one fit instead of one per source and one more);
    /// the threshold is then 0.5 instead of chosen on them.
    #[arg(long)]
    pub no_leave_out: bool,
    /// What a false positive costs against a missed attack when the threshold is chosen: a
    /// blocked customer is worse than a probe missed once (the probing scenarios see its next try).
    #[arg(long, default_value_t = 2.0, value_name = "COST")]
    pub false_positive_cost: f64,
    /// Use this threshold instead of choosing one.
    #[arg(long, value_name = "PROBABILITY")]
    pub threshold: Option<f32>,
    /// Also write the de-duplicated, labelled corpus as JSON lines (`value`,
    /// `class`, `source`, `context`), so a baseline trained elsewhere sees
    /// the same values (bench/tfidf-baseline/run).
    #[arg(long, value_name = "FILE")]
    pub corpus_out: Option<PathBuf>,
    /// Also write every left-out value the chosen threshold gets wrong (an
    /// attack let through, a benign value flagged) as JSON lines (`draw`,
    /// `source`, `class`, `verdict`, `score`, `value`; one line per draw
    /// that got it wrong): what the next change should look at, on sources
    /// the scoring model never saw.
    #[arg(long, value_name = "FILE")]
    pub misses_out: Option<PathBuf>,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rampart eval payloads`.
#[derive(Debug, Args)]
pub struct EvalPayloadsArgs {
    /// A payload model file (`rampart train payloads`) [default: the shipped model].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// A web-payloads directory (the `train payloads` layout): each public
    /// source scored on its own, libinjection's `false_positives.txt` as benign.
    #[arg(long, value_name = "DIR", required_unless_present = "lines")]
    pub data: Option<PathBuf>,
    /// A list of values of one class, one per line, as CLASS=FILE (benign,
    /// sqli, xss, traversal, command_injection); repeatable, each scored as a source.
    #[arg(long, value_name = "CLASS=FILE")]
    pub lines: Vec<String>,
    /// The --lines values are raw text, not URL-encoded query values (`+` stays a plus).
    #[arg(long)]
    pub raw: bool,
    /// The model's threshold unless given here.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `rampart check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A payload model file (`rampart train payloads`) [default: the shipped model].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Values as they would arrive in a query string or form (URL-encoded, `+` a space).
    #[arg(required = true, value_name = "VALUE")]
    pub values: Vec<String>,
    /// Judge them as path segments or headers (`+` is a plus sign).
    #[arg(long)]
    pub path: bool,
    /// One JSON object per value instead of text.
    #[arg(long)]
    pub json: bool,
}

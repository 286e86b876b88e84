//! `[detect]`: rules, the host anomaly detector and the flow detector.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Load the rules built into the binary.
    pub builtin_rules: bool,
    /// A directory of extra `*.yaml` / `*.yml` rule files.
    pub rules_dir: Option<PathBuf>,
    /// Most keys (e.g. source IPs) one threshold rule tracks; the least
    /// recently seen is evicted past this.
    pub max_keys_per_rule: usize,
    /// Batches the detection queue holds.
    pub queue_capacity: usize,
    /// The Isolation Forest over the host collector's metrics.
    pub host_anomaly: HostAnomalyConfig,
    /// The Isolation Forests over what each source address and user does
    /// in the log stream.
    pub entity_anomaly: EntityAnomalyConfig,
    /// The flow classifier (models from the registry: `rampart models`).
    pub flows: FlowDetectConfig,
}

/// `[detect.flows]`: classify `network flow` events with the registry's
/// active model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowDetectConfig {
    pub enabled: bool,
    /// A flow whose attack score (1 − P(normal)) is below this raises no
    /// alert, whatever the model decides; 0 leaves the decision to the
    /// model's operating point. (Called `min_probability` before
    /// operating points; the old name is still read.)
    #[serde(alias = "min_probability")]
    pub min_attack_score: f64,
    /// How often the registry is checked for models activated from the
    /// command line (the API swaps at once).
    pub registry_poll_secs: u64,
}

impl Default for FlowDetectConfig {
    fn default() -> FlowDetectConfig {
        FlowDetectConfig { enabled: true, min_attack_score: 0.0, registry_poll_secs: 5 }
    }
}

impl Default for DetectConfig {
    fn default() -> DetectConfig {
        DetectConfig {
            builtin_rules: true,
            rules_dir: None,
            max_keys_per_rule: 100_000,
            queue_capacity: 64,
            host_anomaly: HostAnomalyConfig::default(),
            entity_anomaly: EntityAnomalyConfig::default(),
            flows: FlowDetectConfig::default(),
        }
    }
}

/// `[detect.host_anomaly]`: learn how this host behaves, then flag samples
/// unlike it and name the processes behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostAnomalyConfig {
    pub enabled: bool,
    /// How long the baseline is learnt before anything is scored.
    pub warmup_secs: u64,
    /// Nor before this many samples: the threshold is the score the
    /// `contamination` share of them exceed, so at 1% a baseline needs 100
    /// points for one to lie above it; 200 puts two there and fills most
    /// of a tree's 256-point subsample (~7 min at the 2 s default interval).
    pub min_baseline_points: usize,
    /// A job that stands out the same way (same top process name) in this
    /// many separate episodes is learnt: inside the range its episodes
    /// covered it is no longer alerted on (a nightly backup, a build).
    /// 0 never learns.
    pub learn_recurring_after: u32,
    /// Episodes closer than this count as one.
    pub recurring_gap_secs: u64,
    /// The model is refitted this often on the normal points kept.
    pub retrain_interval_secs: u64,
    /// Normal points kept for refitting (the sliding window).
    pub window_points: usize,
    /// Anomaly score (0..1) at or above which a sample is anomalous; unset:
    /// the score the `contamination` share of the training points exceed.
    pub threshold: Option<f64>,
    pub contamination: f64,
    /// A sample with a metric this many robust standard deviations above
    /// its learnt median is anomalous whatever the forest says: a forest
    /// draws its splits inside the training range, so it ranks a point far
    /// beyond that range no higher than the most extreme training point.
    /// 0 turns this off.
    pub feature_z_limit: f64,
    /// Anomalous samples in a row before an alert: one noisy read is not an incident.
    pub consecutive: u32,
    pub trees: usize,
    pub subsample: usize,
    pub seed: u64,
}

impl Default for HostAnomalyConfig {
    fn default() -> HostAnomalyConfig {
        HostAnomalyConfig {
            enabled: true,
            warmup_secs: 600,
            min_baseline_points: 200,
            learn_recurring_after: 3,
            recurring_gap_secs: 600,
            retrain_interval_secs: 3_600,
            window_points: 8_192,
            threshold: None,
            contamination: 0.01,
            feature_z_limit: 6.0,
            consecutive: 2,
            trees: 100,
            subsample: 256,
            seed: 42,
        }
    }
}

/// `[detect.entity_anomaly]`: learn how this node's clients (source
/// addresses) and users behave over a window of the log stream — request
/// rate, distinct paths, error shares, paths nobody else asks for, login
/// failures, distinct users — and flag the ones unlike the rest, naming
/// what stood out. Catches what stays under every rule's threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntityAnomalyConfig {
    pub enabled: bool,
    /// An entity's profile covers at most this long from its first event.
    pub window_secs: u64,
    /// A profile also closes after this long without an event.
    pub idle_secs: u64,
    /// Profiles with fewer events are neither judged nor learnt from: a
    /// single request is not behaviour (signatures judge it). 2 won over 3
    /// and 5 on labelled simulated traffic: at 5 the profiles left are
    /// mostly heavy clients and attackers, and slow scanners hide among them.
    pub min_events: u64,
    /// Nothing is judged before this much log time has been learnt...
    pub warmup_secs: u64,
    /// ...nor before this many profiles (with `min_events`) have closed.
    pub min_profiles: usize,
    /// The forests are refitted this often on the profiles judged normal.
    pub retrain_interval_secs: u64,
    /// Normal profiles kept for refitting, per kind of entity.
    pub window_profiles: usize,
    /// Anomaly score (0..1) at or above which a profile is anomalous; unset:
    /// the score the `contamination` share of the training profiles exceed.
    pub threshold: Option<f64>,
    pub contamination: f64,
    /// Entities followed at once; past this, new ones are counted
    /// (`rampart_entity_anomaly_untracked_total`) but not followed.
    pub max_entities: usize,
    /// Distinct paths whose popularity is remembered node-wide.
    pub max_paths: usize,
    pub trees: usize,
    pub subsample: usize,
    pub seed: u64,
}

impl Default for EntityAnomalyConfig {
    fn default() -> EntityAnomalyConfig {
        EntityAnomalyConfig {
            enabled: true,
            window_secs: 600,
            idle_secs: 120,
            min_events: 2,
            warmup_secs: 3_600,
            min_profiles: 200,
            retrain_interval_secs: 3_600,
            window_profiles: 8_192,
            threshold: None,
            contamination: 0.01,
            max_entities: 100_000,
            max_paths: 100_000,
            trees: 100,
            subsample: 256,
            seed: 42,
        }
    }
}

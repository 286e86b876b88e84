//! `HostAnomalyDetector`: an Isolation Forest over the host collector's
//! metrics. It learns this host during a warm-up, then scores every sample;
//! samples it scores normal feed the window it refits on periodically, and
//! a run of anomalous ones raises an alert naming the features that stood
//! out and the processes behind the change.

mod baseline;
mod culprits;
mod features;
mod recurring;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use rampart_core::config::HostAnomalyConfig;
use rampart_core::{Body, Detector, Entity, Event, Finding, RuleCard, Severity};
use serde_json::json;

pub use baseline::Baseline;
pub use culprits::{Culprit, ProcessTracker};
pub use features::FEATURES;
use features::{RESOURCES, model_vector, raw_vector, resource_of};
use recurring::Recurring;

pub const RULE_ID: &str = "host-anomaly";

/// The rule as a catalog lists it; each alert fills in its own title,
/// description, severity and score.
pub fn rule_card() -> RuleCard {
    RuleCard {
        id: RULE_ID.into(),
        title: "Host behaves unlike its baseline".into(),
        description: "Isolation Forest over the host's metrics, learnt during the warm-up; the processes that stand \
                      out are named."
            .into(),
        severity: Severity::Medium,
        score: 0.0,
        technique: Some("T1496".into()),
        tags: vec!["host".into(), "anomaly".into()],
        logic: Some(
            "Isolation Forest score over the host's metrics at or above the learnt threshold, or one metric more \
             than 6 robust spreads above its median, in 2 samples in a row; severity by how unusual: score ≥ 0.8 \
             critical, ≥ 0.7 high, ≥ 0.6 medium, else low"
                .into(),
        ),
    }
}

/// The latest sample's anomaly score (0..1) and the threshold it is held to.
pub const SCORE: &str = "rampart_host_anomaly_score";
pub const THRESHOLD: &str = "rampart_host_anomaly_threshold";
/// 0 while learning the baseline, 1 once scoring.
pub const TRAINED: &str = "rampart_host_anomaly_trained";
/// Anomalous samples not alerted on because a learnt recurring job explains them.
pub const LEARNT_SAMPLES: &str = "rampart_host_anomaly_learnt_samples_total";
/// Recurring jobs learnt so far.
pub const LEARNT_JOBS: &str = "rampart_host_anomaly_learnt_jobs";

/// A forest needs some points whatever the configuration says.
const LEAST_POINTS: usize = 16;

/// A culprit with at least this share becomes the alert's entity (so a
/// `kill_process` playbook can act on it); below, the alert is about the host.
const SOLE_CULPRIT_SHARE: f64 = 0.5;

enum Phase {
    Warming { started_ms: i64, points: VecDeque<Vec<f64>> },
    Scoring(Box<Baseline>),
}

pub struct HostAnomalyDetector {
    config: HostAnomalyConfig,
    /// Only this host's samples are scored: a model is one host's normal.
    host_name: Option<String>,
    model_path: Option<PathBuf>,
    phase: Phase,
    processes: ProcessTracker,
    recurring: Recurring,
    anomalous_run: u32,
}

impl HostAnomalyDetector {
    /// Loads the saved baseline from `model_path` if there is one.
    pub fn new(config: HostAnomalyConfig, host_name: Option<String>, model_path: Option<PathBuf>) -> Self {
        let saved = model_path.as_deref().and_then(|path| match Baseline::load(path) {
            Ok(saved) => saved,
            Err(error) => {
                tracing::warn!(%error, "Cannot read the saved host baseline; learning afresh.");
                None
            }
        });
        let phase = match saved {
            Some(baseline) => {
                tracing::info!(threshold = baseline.threshold, "Host baseline loaded; scoring from the first sample.");
                metrics::gauge!(TRAINED).set(1.0);
                Phase::Scoring(Box::new(baseline))
            }
            None => {
                metrics::gauge!(TRAINED).set(0.0);
                Phase::Warming { started_ms: i64::MAX, points: VecDeque::new() }
            }
        };
        HostAnomalyDetector {
            recurring: Recurring::new(config.learn_recurring_after, config.recurring_gap_secs),
            config,
            host_name,
            model_path,
            phase,
            // Rampart's own work (a refit, a burst of ingest) is never the culprit.
            processes: ProcessTracker::ignoring(std::process::id()),
            anomalous_run: 0,
        }
    }

    pub fn is_scoring(&self) -> bool {
        matches!(self.phase, Phase::Scoring(_))
    }

    fn sample(&mut self, event: &Event, metrics: &std::collections::BTreeMap<String, f64>, out: &mut Vec<Finding>) {
        let at = event.timestamp_ms;
        let raw = raw_vector(metrics);
        let point = model_vector(&raw);
        match &mut self.phase {
            Phase::Warming { started_ms, points } => {
                *started_ms = (*started_ms).min(at);
                points.push_back(point);
                self.processes.settle(at);
                let learnt = at.saturating_sub(*started_ms) >= self.config.warmup_secs as i64 * 1000;
                if learnt && points.len() >= self.config.min_baseline_points.max(LEAST_POINTS) {
                    let points = std::mem::take(points);
                    self.refit(points, at);
                }
            }
            Phase::Scoring(baseline) => {
                let score = baseline.forest.score(&point);
                metrics::gauge!(SCORE).set(score);
                let standing_out = baseline.standing_out(&point);
                let z_max = standing_out.first().map_or(0.0, |&(_, z)| z);
                let limit = self.config.feature_z_limit;
                if score < baseline.threshold && (limit <= 0.0 || z_max < limit) {
                    self.anomalous_run = 0;
                    if let Some(job) = self.recurring.normal(at) {
                        let job = rampart_core::escape::for_terminal(&job);
                        tracing::info!(%job, "A recurring job is learnt: its usual range no longer alerts.");
                        metrics::gauge!(LEARNT_JOBS).set(self.recurring.learnt() as f64);
                    }
                    self.processes.settle(at);
                    baseline.window.push_back(point);
                    while baseline.window.len() > self.config.window_points {
                        baseline.window.pop_front();
                    }
                    if at - baseline.trained_at_ms >= self.config.retrain_interval_secs as i64 * 1000 {
                        let window = baseline.window.clone();
                        self.refit(window, at);
                    }
                    return;
                }
                let key = episode_key(&self.processes, at, &standing_out, self.recurring.ongoing());
                if self.recurring.is_learnt(&key, &point) {
                    // Not alerted on, and not taught to the forest either:
                    // the job is known only inside the range it showed.
                    self.anomalous_run = 0;
                    metrics::counter!(LEARNT_SAMPLES).increment(1);
                    return;
                }
                self.recurring.anomalous(&key, &point, at);
                self.anomalous_run += 1;
                if self.anomalous_run >= self.config.consecutive {
                    let judged = Judged { raw: &raw, score, standing_out: &standing_out };
                    out.push(finding(baseline, &self.processes, event, &judged));
                }
            }
        }
    }

    fn refit(&mut self, window: VecDeque<Vec<f64>>, at: i64) {
        let points = window.len();
        match Baseline::fit(window, &self.config, at) {
            Ok(baseline) => {
                tracing::info!(points, threshold = baseline.threshold, "Host baseline fitted.");
                metrics::gauge!(TRAINED).set(1.0);
                metrics::gauge!(THRESHOLD).set(baseline.threshold);
                if let Some(path) = &self.model_path
                    && let Err(error) = baseline.save(path)
                {
                    tracing::warn!(%error, "Cannot save the host baseline; a restart will learn it again.");
                }
                self.phase = Phase::Scoring(Box::new(baseline));
            }
            Err(error) => tracing::error!(%error, "Cannot fit the host baseline."),
        }
    }
}

/// One anomalous sample as the baseline judged it.
struct Judged<'a> {
    raw: &'a [f64],
    score: f64,
    /// (feature, z) above three spreads, most unusual first.
    standing_out: &'a [(usize, f64)],
}

/// Each resource weighs as much as its most unusual metric.
fn resource_weights(standing_out: &[(usize, f64)]) -> [f64; RESOURCES.len()] {
    let mut weights = [0.0; RESOURCES.len()];
    for &(i, z) in standing_out {
        if let Some(r) = resource_of(FEATURES[i]) {
            weights[r as usize] = f64::max(weights[r as usize], z);
        }
    }
    weights
}

/// What kind of episode an anomalous sample belongs to: its top culprit's
/// name; failing one, the episode in progress (the samples just after a job
/// ends still carry its load, and the job is gone from them); failing that,
/// the metric that stood out most.
fn episode_key(processes: &ProcessTracker, at: i64, standing_out: &[(usize, f64)], open: Option<&str>) -> String {
    match (processes.rank(at, resource_weights(standing_out), 1).first(), open) {
        (Some(top), _) => format!("process:{}", top.name),
        (None, Some(open)) => open.to_owned(),
        (None, None) => format!("metric:{}", standing_out.first().map_or("", |&(i, _)| FEATURES[i])),
    }
}

fn finding(baseline: &Baseline, processes: &ProcessTracker, event: &Event, judged: &Judged) -> Finding {
    let Judged { raw, score, standing_out } = *judged;
    let z_max = standing_out.first().map_or(0.0, |&(_, z)| z);
    let culprits = processes.rank(event.timestamp_ms, resource_weights(standing_out), 3);
    let features: Vec<serde_json::Value> = standing_out
        .iter()
        .take(5)
        .map(|&(i, z)| json!({"name": FEATURES[i], "value": raw[i], "typical": baseline.typical(i), "z": z}))
        .collect();
    let host = event.host_name.clone().unwrap_or_else(|| "localhost".into());
    let sole = culprits.first().filter(|c| c.share >= SOLE_CULPRIT_SHARE);
    let (entity, title) = match sole {
        Some(c) => (
            Entity { field: "process.pid".into(), value: c.pid.to_string() },
            format!("Host anomaly on {host}: {} (pid {}) stands out", c.name, c.pid),
        ),
        None => (Entity { field: "host.name".into(), value: host.clone() }, format!("Host anomaly on {host}")),
    };
    let named: Vec<&str> = standing_out.iter().take(3).map(|&(i, _)| FEATURES[i]).collect();
    // Severity by how unusual: the forest's score, or how far the
    // most unusual metric lies beyond its range, whichever says more.
    let severity = match (score, z_max) {
        (s, z) if s >= 0.8 || z >= 12.0 => Severity::Critical,
        (s, z) if s >= 0.7 || z >= 9.0 => Severity::High,
        (s, z) if s >= 0.6 || z >= 6.0 => Severity::Medium,
        _ => Severity::Low,
    };
    let alert_score = f64::max(100.0 * score, 50.0 + 4.0 * z_max).clamp(0.0, 100.0);
    let rule = Arc::new(RuleCard {
        title,
        description: format!(
            "Isolation Forest score {score:.3} (threshold {:.3}); most unusual metric {z_max:.1} spreads above \
                 its median; unusual: {}.",
            baseline.threshold,
            if named.is_empty() { "a combination of metrics, none alone".into() } else { named.join(", ") }
        ),
        severity,
        score: alert_score,
        ..rule_card()
    });
    let mut evidence: Vec<i64> = event.id.into_iter().collect();
    evidence.extend(culprits.iter().filter_map(|c| c.event_id));
    let context = json!({
        "anomaly_score": score,
        "threshold": baseline.threshold,
        "max_feature_z": z_max,
        "features": features,
        "culprits": culprits,
    });
    Finding {
        rule,
        entity,
        count: 1,
        first_seen_ms: event.timestamp_ms,
        last_seen_ms: event.timestamp_ms,
        evidence,
        context: Some(Arc::new(context)),
    }
}

impl Detector for HostAnomalyDetector {
    fn name(&self) -> &str {
        "host_anomaly"
    }

    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let Some(action) = event.action.as_deref() else { return };
        if !matches!(action, "host_metrics" | "process_sample") {
            return;
        }
        if self.host_name.is_some() && event.host_name != self.host_name {
            return;
        }
        match (action, &event.body) {
            ("process_sample", _) => self.processes.observe(event),
            ("host_metrics", Some(Body::Metrics(metrics))) => self.sample(event, metrics, out),
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

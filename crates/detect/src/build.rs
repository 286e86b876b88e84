//! `[detect]` and `[alerts]` → the detection stage's parts: every detector
//! the configuration turns on, the catalog of their rule cards, the flow
//! model registry, and the aggregator that folds findings into alerts.

use std::path::Path;
use std::sync::Arc;

use rampart_core::config::{AlertsConfig, DetectConfig};
use rampart_core::{Detector, ModelError, RuleCard, Store};

use crate::error::RuleError;
use crate::{
    Aggregator, EntityAnomalyDetector, FlowDetector, HostAnomalyDetector, ModelRegistry, ModelSlot, RuleEngine,
    load_rules,
};

/// The detectors a node runs and what the API shows of them.
pub struct Detection {
    pub detectors: Vec<Box<dyn Detector>>,
    /// Every rule card, for `GET /rules`.
    pub catalog: Vec<Arc<RuleCard>>,
    /// The flow models' registry (loaded, and read by a detector, only when
    /// the flow detector is on; the API can set roles either way).
    pub models: Arc<ModelRegistry>,
}

/// Why the detection stage cannot be built, by its key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectBuildError {
    #[error("detect.rules: {0}")]
    Rules(#[from] RuleError),
    #[error("detect.flows (the model registry): {0}")]
    Models(#[from] ModelError),
}

/// Builds what `[detect]` turns on: the rules (built-in and from
/// `rules_dir`), the host anomaly detector (its baseline saved in
/// `data_dir`, named after `host`), the address and user anomaly
/// detector, and the flow detector with its
/// registry over `store`, loaded with the models the store marks.
pub fn detection(
    config: &DetectConfig,
    data_dir: &Path,
    host: Option<String>,
    store: Arc<dyn Store>,
) -> Result<Detection, DetectBuildError> {
    let rules = load_rules(config.builtin_rules, config.rules_dir.as_deref())?;
    tracing::info!(rules = rules.len(), "Rules loaded.");
    let mut catalog: Vec<Arc<RuleCard>> = rules.iter().map(|r| r.card.clone()).collect();
    let mut detectors: Vec<Box<dyn Detector>> = vec![Box::new(RuleEngine::new(rules, config.max_keys_per_rule))];
    if config.host_anomaly.enabled {
        catalog.push(Arc::new(crate::host_anomaly::rule_card()));
        detectors.push(Box::new(HostAnomalyDetector::new(
            config.host_anomaly.clone(),
            host,
            Some(data_dir.join("host-baseline.json")),
        )));
    }
    if config.entity_anomaly.enabled {
        catalog.extend(crate::entity_anomaly::rule_cards().map(Arc::new));
        detectors.push(Box::new(EntityAnomalyDetector::new(
            config.entity_anomaly.clone(),
            Some(data_dir.join("entity-baseline.json")),
        )));
    }
    let slot = Arc::new(ModelSlot::default());
    let models = Arc::new(ModelRegistry::new(store, slot.clone()));
    if config.flows.enabled {
        models.sync()?;
        detectors.push(Box::new(FlowDetector::new(slot, config.flows.min_attack_score)));
    }
    Ok(Detection { detectors, catalog, models })
}

/// The aggregator `[alerts]` describes.
pub fn aggregator(config: &AlertsConfig) -> Aggregator {
    Aggregator::new(config.dedup_window_secs, config.max_evidence, config.max_open)
}

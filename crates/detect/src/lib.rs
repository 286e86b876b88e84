//! Rampart's detection stage.
//!
//! Rules are YAML (built-in ones ship inside the binary; users add a
//! directory). A rule without `threshold` is a signature: every matching
//! event is a finding. A rule with `threshold` is a scenario: it counts (or
//! counts distinct values of) matching events per key in a sliding window and
//! fires once the count is reached. `RuleEngine` runs them as a `Detector`;
//! `Aggregator` merges findings into alerts per (rule, entity). A rules
//! directory may hold Sigma rules too: `sigma` converts them on load.

mod aggregate;
pub mod build;
mod builtin;
mod condition;
mod engine;
pub mod entity_anomaly;
mod error;
pub mod flow;
mod flow_registry;
pub mod host_anomaly;
pub mod metrics;
mod payload;
mod robust;
mod rule;
pub mod sigma;
mod threshold;

pub use aggregate::{Aggregator, Merged};
pub use engine::RuleEngine;
pub use entity_anomaly::EntityAnomalyDetector;
pub use error::{BaselineError, RuleError};
pub use flow::{FlowDetector, LiveModel, ModelSlot};
pub use flow_registry::{ModelRegistry, info_of};
pub use host_anomaly::{HostAnomalyDetector, RULE_ID as HOST_ANOMALY_RULE};
pub use rule::{Rule, load_rules, parse_rules, sigma_rule};

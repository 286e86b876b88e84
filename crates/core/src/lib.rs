//! The vocabulary every other Rampart crate speaks.
//!
//! `rampart-core` plays the part grep-matcher plays in ripgrep: the data types
//! (`Event`, `Alert`), the configuration model, and the traits at the seams
//! (`Source`, `Bus`, `Store`, `Detector`, `Sink`) that the crates above
//! implement or consume; the `Enforcer` seam lives with its owner, respond.
//! It depends on nothing of ours and on as little else as possible.

mod alert;
pub mod atomic_file;
mod bus;
pub mod config;
mod decision;
mod detector;
pub mod ecs;
mod error;
pub mod escape;
mod event;
mod flow_features;
pub mod incident;
mod iptext;
mod model_control;
pub mod private_dir;
mod rate;
mod record_id;
pub mod rng;
mod sink;
mod source;
mod store;
pub mod time;

pub use alert::{Alert, AlertStatus, Entity, Severity};
pub use bus::{
    Bus, BusReader, IngestAck, IngestBatch, IngestError, IngestQueueError, IngestReceiver, IngestSender, ingest_queue,
};
pub use decision::{
    Action, ActionResult, Decision, DecisionError, DecisionKind, DecisionRecord, DecisionRequest, Mitigation, Origin,
    Target,
};
pub use detector::{Detector, Finding, RuleCard};
pub use ecs::{EventError, Limits};
pub use error::ParseError;
pub use event::{Body, Endpoint, Event, EventKind, FeatureName, FieldValue, Outcome};
pub use flow_features::FlowFeatures;
pub use iptext::{ip_string, push_ip};
pub use model_control::{ModelControl, ModelError};
pub use rate::RateMeter;
pub use record_id::{RecordIds, bus_record_id, first_record_id_at, record_id_ms};
pub use sink::{BoxFuture, Sink, SinkError};
pub use source::Source;
pub use store::{
    AlertQuery, DecisionQuery, EventQuery, MetricRollup, ModelInfo, ModelRole, Page, Role, RuleFired, SaveOutcome,
    SeriesOf, SeriesPoint, SessionRecord, Store, StoreError, StoreStats, StreamCursor, TokenRecord, TopSources,
};

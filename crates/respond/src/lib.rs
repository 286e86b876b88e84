//! Rampart's response side. For now: getting alerts to people.
//!
//! `Notifier` decides *when* an alert is worth a notification (a short delay
//! so a burst arrives as one message with its full count, then at most one
//! update per interval). `SinkWorker`s decide *how*: each sink has its own
//! bounded queue and task, with timeout, retries with backoff and failure
//! metrics, so a slow Slack never holds up a webhook, let alone detection.
//! Playbooks and enforcers join this crate with the response engine.

mod delivery;
pub mod metrics;
mod notify;
mod sinks;

pub use delivery::{SinkWorker, spawn_sink};
pub use notify::{Notifier, NotifierHandle};
pub use sinks::{SlackSink, StdoutSink, WebhookSink, http_client};

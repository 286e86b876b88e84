//! Rampart's response side. For now: getting alerts to people.
//!
//! `Notifier` decides *when* an alert is worth a notification (a short delay
//! so a burst arrives as one message with its full count, then at most one
//! update per interval). `SinkWorker`s decide *how*: each sink has its own
//! bounded queue and task, with timeout, retries with backoff and failure
//! metrics, so a slow Slack never holds up a webhook, let alone detection.
//!
//! And acting on alerts: `Responder` runs `playbook`s over new alerts,
//! checks the `allowlist`, stores decisions and audits what the enforcers
//! (`enforce/`, nftables) did with them.

mod allowlist;
mod delivery;
pub mod enforce;
#[cfg(test)]
mod fixtures;
pub mod metrics;
mod notify;
pub mod playbook;
mod responder;
mod sinks;

pub use allowlist::Allowlist;
pub use delivery::{SinkWorker, spawn_sink};
pub use notify::{Notifier, NotifierHandle};
pub use responder::{Responder, ResponderInput};
pub use sinks::{SlackSink, StdoutSink, WebhookSink, http_client, http_client_trusting};

//! Rampart's response side: getting alerts to people, and acting on them.
//!
//! `Notifier` decides *when* an alert is worth a notification (a short delay
//! so a burst arrives as one message with its full count, then at most one
//! update per interval). `SinkWorker`s decide *how*: each sink has its own
//! bounded queue and task, with timeout, retries with backoff and failure
//! metrics, so a slow Slack never holds up a webhook, let alone detection.
//!
//! And acting on alerts: `Responder` runs `playbook`s over new alerts,
//! checks the `allowlist`, stores decisions and audits what the enforcers
//! (the `Enforcer` seam in `enforce/`: nftables, ipset, process signals)
//! did with them. `eve` writes alerts as Suricata EVE lines. `build` makes all of it from `[respond]` and `[sinks]`.

mod allowlist;
pub mod build;
mod delivery;
pub mod enforce;
mod error;
pub mod eve;
#[cfg(test)]
mod fixtures;
pub mod follow;
pub mod metrics;
mod notify;
pub mod playbook;
mod responder;
mod sinks;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use allowlist::Allowlist;
pub use delivery::{SinkWorker, spawn_sink};
pub use error::{EnforceError, RespondError};
pub use notify::{Notifier, NotifierHandle};
pub use responder::{Responder, ResponderInput};
pub use sinks::{SlackSink, StdoutSink, WebhookSink};

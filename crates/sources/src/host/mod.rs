//! The host: /proc parsers (`procfs` for the system, `process` for one
//! process) and the collector that turns them into metric and process events.

pub mod collector;
pub mod process;
pub mod procfs;
pub mod redact;
mod source;

pub use collector::{HostCollector, HostSample, ProcessSample};
pub use source::{COLLECT_SECONDS, HostSource, HostSpec, local_host_name};

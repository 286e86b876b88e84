//! Rampart's runtime: the stages and bounded queues that connect the seams.
//!
//! The binary parses the command line and calls `Node::start`; everything
//! that runs lives here: the pipeline's writer and detect threads
//! (`pipeline/`), the responder and sinks (`respond.rs`), the sources
//! (`sources.rs`), the fleet's decision topic (`fleet.rs`), the web gatekeeper when `[proxy]` enables it (`proxy.rs`), and the order they start and stop in (`node.rs`). The store's upkeep is
//! the store's (`rampart_store::open`). It depends on every library crate and none depends on it;
//! see docs/ARCHITECTURE.md for an event's walk through it.

mod error;
mod fleet;
pub mod metrics;
mod node;
pub mod pipeline;
mod proxy;
mod respond;
mod sources;

pub use error::NodeError;
pub use node::Node;
pub use sources::{RunningSource, start_source, start_sources};

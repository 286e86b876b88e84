//! The flow meter: raw link-layer frames in, finished bidirectional flows
//! out, each with the CIC-IDS2017 ("improved" release) feature set, so a
//! model trained on that dataset, or on `rampart flows extract` output,
//! scores live traffic.
//!
//! - `decode`: a frame (Ethernet, VLAN, Linux cooked, raw IP) to the few
//!   header fields a flow needs, lengths taken from the headers so a
//!   snap-length-truncated capture meters the same as a full one;
//! - `stats`: running mean/variance/min/max (no packet lists kept);
//! - `flow`: one flow's accumulators and its feature vector;
//! - `table`: the bounded flow table — FIN/RST, idle and active timeouts,
//!   eviction, early verdict snapshots for long flows;
//! - `csv`: flows as rows the `cic-ids2017` loader reads.

pub mod csv;
pub mod decode;
pub mod flow;
pub mod stats;
mod store;
pub mod table;

pub use decode::{LinkType, Packet, decode};
pub use flow::{FEATURE_NAMES, Flow, FlowKey};
pub use table::{EndReason, Ended, FlowTable, MeterConfig, MeterCounters};

#[cfg(test)]
mod tests;

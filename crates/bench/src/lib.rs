//! Rampart's benchmarks of the running system, behind `rampart bench`:
//! the figures in docs/PERFORMANCE.md come from here, measured by the
//! product itself rather than by timed assertions in tests.
//!
//! * `pipeline`: events through store → detect → alert save on one core;
//!   `latency`: ingest → alert over real HTTP on an in-process node;
//!   `sample`: the synthetic events both use, for scripts/bench-http.
//! * `respond`: bans into nftables, and log line → ban in force.
//! * `host`: what the host collector costs per read of /proc.
//! * `meter`: packets metered into flows (and scored) per second on one
//!   core, and the memory a million open flows take.
//!
//! Model scoring speed (`bench flows`) is rampart-lab's.

pub mod args;
pub mod fleet;
pub mod host;
pub mod meter;
pub mod pipeline;
pub mod respond;

//! The flow commands the binary keeps: `replay` (a dataset into a
//! server) and `flows extract` (a capture into a dataset); the rest are
//! rampart-lab's.

pub mod extract;
pub mod replay;

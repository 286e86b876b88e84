//! The flow-model command the binary keeps: `replay` (the rest are
//! rampart-lab's).

pub mod replay;

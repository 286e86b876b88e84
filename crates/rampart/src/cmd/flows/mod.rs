//! The flow-model commands: `train flows`, `eval flows`, `bench flows`, `models`, `replay`.

pub mod bench;
mod canvas;
pub mod eval;
pub mod flow_files;
pub mod replay;
mod report;
pub mod train;

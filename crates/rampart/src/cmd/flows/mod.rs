//! The flow-model commands: `train flows`, `eval flows`, `models`, `replay`.

mod canvas;
pub mod data;
pub mod eval;
pub mod replay;
mod report;
pub mod train;

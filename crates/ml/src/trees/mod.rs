//! Tree models for labelled flows: histogram-based CART growth shared by a
//! single decision tree, a random forest and gradient boosting, and a
//! compiled layout for fast batch scoring.

mod binning;
mod compiled;
mod ensemble;
mod grow;
mod single;
mod tree;

pub use compiled::Compiled;
pub use ensemble::{Algo, Ensemble, TrainParams, TrainSet};
pub use tree::Tree;

#[cfg(test)]
mod tests;

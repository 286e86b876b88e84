//! Rampart's model workbench: what `rampart train flows`, `eval flows`,
//! `eval anomaly` and `bench flows` do. It reads labelled flow files
//! (`files`), trains a flow classifier with a held-out measurement,
//! leave-attack-family-out folds that choose its decision threshold
//! (`families`) and optional cross-validation (`train`), scores a model file on data it did
//! not train on (`evaluate`, with a Markdown + SVG `report`), measures the
//! Isolation Forest on a labelled set (`anomaly`) and a model's scoring
//! speed (`bench`). The algorithms are rampart-ml's; this crate is the
//! work around them, off the detection path.

pub mod anomaly;
pub mod args;
pub mod bench;
pub mod evaluate;
mod families;
pub mod files;
pub mod payloads;
mod report;
pub mod train;

//! The `ModelControl` seam: what changes which flow model runs, for the
//! API, without a restart. The flow detector's registry implements it.

use crate::store::{ModelRole, StoreError};

/// Why a model's role could not change; nothing changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("model {name:?} cannot be loaded: {reason}")]
    Unloadable { name: String, reason: String },
}

pub trait ModelControl: Send + Sync + 'static {
    /// Gives `name` the role (or none). `Ok(false)` when there is no such
    /// model; a model is loaded and checked before its role changes.
    fn set_role(&self, name: &str, role: Option<ModelRole>) -> Result<bool, ModelError>;

    /// The names of the models the detector runs now (active, shadow).
    fn live(&self) -> (Option<String>, Option<String>);
}

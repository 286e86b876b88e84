//! Why a source could not be built from its configuration.

/// A `[sources]` entry that cannot run, by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("{key}: {reason}")]
    Config { key: String, reason: String },
}

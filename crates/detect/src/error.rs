//! Errors of detection: rules that do not load (naming the file, the rule
//! and the field) and baselines that cannot be fitted, read or saved.

use std::fmt;
use std::path::PathBuf;

/// A rule file that cannot be used, and exactly where it goes wrong.
#[derive(Debug)]
pub struct RuleError {
    pub file: PathBuf,
    /// The rule's id, when it got far enough to have one.
    pub rule_id: Option<String>,
    /// Dotted path of the offending key within the rule, e.g. `condition.all[1].regex`.
    pub field: Option<String>,
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(id) = &self.rule_id {
            write!(f, ": rule `{id}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RuleError {}

/// A baseline (host, or entity forests) that cannot be fitted, read or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    #[error(transparent)]
    Fit(#[from] rampart_ml::FitError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not a baseline file: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
}

/// A saved model file read back: `Ok(None)` when there is none yet.
pub(crate) fn read_saved<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<Option<T>, BaselineError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BaselineError::Io { path: path.to_owned(), source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| BaselineError::Format { path: path.to_owned(), reason: e.to_string() })
}

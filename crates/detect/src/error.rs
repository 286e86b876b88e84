//! Errors from loading rules, naming the file, the rule and the field.

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

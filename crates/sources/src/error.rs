//! What goes wrong in sources, typed: an entry of `[sources]` that cannot
//! run, a /proc file that does not read, a scrape or a journal that fails.

/// A `[sources]` entry that cannot run, by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("{key}: {source}")]
    Source { key: String, source: SourceError },
}

/// Why a source cannot start or keep running: a field of its entry, the
/// position it saved, the program it runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("{}: {reason}", path.display())]
    SavedPosition { path: std::path::PathBuf, reason: String },
    #[error("cannot run {program}: {reason}")]
    Spawn { program: String, reason: String },
    #[error("{program} exited ({status}): {stderr}")]
    Exited { program: String, status: String, stderr: String },
    #[error("the node is shutting down; entries not acknowledged will be read again")]
    ShuttingDown,
    /// The HTTP client could not be built (the reason says so).
    #[error("{0}")]
    HttpClient(String),
}

impl SourceError {
    pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> SourceError {
        SourceError::Field { field, reason: reason.into() }
    }
}

/// A /proc (or /sys) file that does not read as the kernel writes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {reason}")]
pub struct ProcError {
    pub file: String,
    /// From 1.
    pub line: usize,
    pub reason: String,
}

/// A Prometheus exposition line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ExpositionError {
    /// From 1.
    pub line: usize,
    pub reason: String,
}

/// A scrape or query round that failed, naming the endpoint or query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScrapeError {
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url}: {source}")]
    Exposition { url: String, source: ExpositionError },
    #[error("query {query}: {reason}")]
    Query { query: String, reason: String },
}

//! Store calls from handlers: SQLite blocks, so it runs on tokio's blocking
//! pool, never on the async workers that serve other requests. One helper,
//! in a file of its own so that every handler module can use it without
//! importing another handler module (it lived in alerts.rs, and five modules
//! reached into alerts for it).

use crate::error::ApiError;

/// Runs `f` on the blocking pool; a panic in it becomes a 500.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(e.to_string()))?
}

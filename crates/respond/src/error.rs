//! What goes wrong on the response side, typed: an enforcer that cannot
//! put a decision in force, and configuration the responder cannot run.

use std::path::PathBuf;

/// Why an enforcer could not apply, lift or read a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnforceError {
    /// The program (nft, ipset, iptables) could not be started or fed.
    #[error("cannot run {}: {reason}", program.display())]
    Spawn { program: PathBuf, reason: String },
    /// It ran and refused: the first lines of its stderr.
    #[error("{}: {stderr}", program.display())]
    Refused { program: PathBuf, stderr: String },
    /// Its answer could not be read.
    #[error("{}: unreadable answer: {reason}", program.display())]
    Unreadable { program: PathBuf, reason: String },
    /// This enforcer cannot act on this kind of decision or target.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A signal could not be sent.
    #[error("{signal} to {pid}: {reason}")]
    Signal { signal: &'static str, pid: u32, reason: String },
    /// The fleet's decision topic did not take it.
    #[error("fleet decision topic: {0}")]
    Fleet(String),
}

impl EnforceError {
    /// The program said what it was asked to remove is not there.
    pub fn is_absent(&self) -> bool {
        matches!(self, EnforceError::Refused { stderr, .. }
            if stderr.contains("No such file or directory") || stderr.contains("does not exist"))
    }
}

/// What stops the responder: configuration it cannot run with (by its
/// key), a client it cannot build, a store or enforcer that fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    #[error("{key}: {reason}")]
    Config { key: String, reason: String },
    #[error(transparent)]
    HttpClient(#[from] rampart_client::ClientError),
    #[error(transparent)]
    Store(#[from] rampart_core::StoreError),
    #[error(transparent)]
    Enforce(#[from] EnforceError),
}

impl RespondError {
    pub(crate) fn config(key: impl Into<String>, reason: impl std::fmt::Display) -> RespondError {
        RespondError::Config { key: key.into(), reason: reason.to_string() }
    }
}

//! Where each followed file was left, persisted in the data directory.
//!
//! Written only after the lines up to that position are acknowledged by the
//! store, and atomically (temp file, fsync, rename): after a crash the file
//! holds either the old or the new positions, never a torn mix, so a restart
//! at worst re-reads lines that were committed (at-least-once), never skips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::follower::Position;
use crate::error::SourceError;

#[derive(Debug)]
pub struct Offsets {
    file: PathBuf,
    positions: BTreeMap<PathBuf, Position>,
}

impl Offsets {
    /// Loads `file`; a missing file is an empty set, a corrupt one an error
    /// naming it (rather than silently re-reading or skipping every log).
    pub fn load(file: &Path) -> Result<Offsets, SourceError> {
        let positions = match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SourceError::SavedPosition {
                path: file.to_owned(),
                reason: format!("corrupt offsets file: {e}"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(SourceError::SavedPosition { path: file.to_owned(), reason: e.to_string() }),
        };
        Ok(Offsets { file: file.to_owned(), positions })
    }

    pub fn get(&self, path: &Path) -> Option<Position> {
        self.positions.get(path).copied()
    }

    pub fn set(&mut self, path: &Path, position: Position) {
        self.positions.insert(path.to_owned(), position);
    }

    pub fn save(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.positions).map_err(std::io::Error::other)?;
        write_atomically(&self.file, &bytes)
    }
}

pub(crate) use rampart_core::atomic_file::write_atomically;

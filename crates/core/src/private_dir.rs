//! The data directory holds every event, the token hashes and the models:
//! only Rampart's own user may read it. New directories are made 0700; an
//! existing one that others can read is tightened (and the caller told, so
//! it can warn), and so are the files in it. The binary also sets umask 077
//! at start, so files made later (SQLite's `-wal` and `-shm`, offsets,
//! baselines) are born private.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and parents) private to this user, or tightens it and the
/// files directly in it. Returns the paths whose modes were changed.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !dir.exists() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        // A parent that already existed keeps its mode; the directory itself
        // is made with 0700 whatever the umask, but check rather than trust.
    }
    let mut tightened = Vec::new();
    tighten(dir, 0o700, &mut tightened)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        if file_type.is_file() {
            tighten(&entry.path(), 0o600, &mut tightened)?;
        } else if file_type.is_dir() {
            tighten(&entry.path(), 0o700, &mut tightened)?;
        }
    }
    Ok(tightened)
}

/// Removes every group and other permission bit from `path`.
fn tighten(path: &Path, most: u32, tightened: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & most))?;
        tightened.push(path.to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_directory_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        assert!(ensure_private_dir(&dir).unwrap().is_empty());
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_open_directory_and_its_files_are_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = dir.join("rampart.db");
        std::fs::write(&db, b"x").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let changed = ensure_private_dir(&dir).unwrap();
        assert_eq!(changed, vec![dir.clone(), db.clone()]);
        assert_eq!((mode(&dir), mode(&db)), (0o700, 0o600));
        // Already private: nothing to say the second time.
        assert!(ensure_private_dir(&dir).unwrap().is_empty());
    }
}

//! The one file write every crate shares: replace a file so that a crash
//! leaves the old content or the new, never a torn mix (offsets, cursors,
//! baselines, model files).

use std::io::Write;
use std::path::Path;

/// Temp file beside `file`, fsync, rename over it.
pub fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = file.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, file)
}

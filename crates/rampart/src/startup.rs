//! What every command does before anything else.
//!
//! umask 077: everything Rampart writes (the store, its WAL, offsets,
//! baselines, models) is readable by Rampart's user alone. The open-files
//! soft limit goes up to the hard limit: systemd's default soft limit of
//! 1,024 let 1,100 slow clients starve the store of descriptors; the
//! listener's connection cap is sized from the limit this leaves.

use rustix::fs::Mode;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit, umask};

/// Sets the umask and raises the descriptor limit.
pub fn harden() {
    umask(Mode::from_bits_truncate(0o077));
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        // Refused only where a hard limit is odd; the soft one then stands.
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum });
    }
}

/// The open-files soft limit in force (`None` when unlimited).
pub fn open_files_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

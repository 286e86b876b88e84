//! What every command does before anything else.
//!
//! umask 077: everything Rampart writes (the store, its WAL, offsets,
//! baselines, models) is readable by Rampart's user alone. The open-files
//! soft limit goes up to the hard limit: systemd's default soft limit of
//! 1,024 let 1,100 slow clients starve the store of descriptors; the
//! node (crates/node) sizes the listener's connection cap from what this leaves.

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

//! Following log files as they grow: `Follower` reads one file through
//! rotation and truncation; `Offsets` remembers where each file was left so
//! a restart neither re-reads nor skips; `FileSource` ties them to globs,
//! parsers and the ingest queue.

mod follower;
mod offsets;
mod source;

pub use follower::{Follower, Line, Position, StartAt};
pub use offsets::Offsets;
pub(crate) use offsets::write_atomically;
pub use source::FileSource;

#[cfg(test)]
mod tests;

//! Rampart's sources: turning the outside world into `Event`s.
//!
//! For now the log side: pure parsers from one line to one ECS event
//! (`parse/`), format detection, file followers (`tail/`) and the systemd
//! journal (`journal`); packets metered into flows (`capture`). The parsers do no I/O, so `rampart scan`,
//! the file tailers and the tests share them unchanged.

mod build;
pub mod capture;
mod error;
mod handoff;
pub mod host;
pub mod journal;
pub mod line_reader;
pub mod parse;
pub mod prometheus;
pub mod simulate;
pub mod tail;

pub use build::build;
pub use error::{BuildError, ExpositionError, ProcError, ScrapeError, SourceError};
pub use parse::{LineParser, LogFormat, ParseError, detect_format};

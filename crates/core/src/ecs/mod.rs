//! Elastic Common Schema JSON in and out.
//!
//! Senders may nest (`{"source":{"ip":…}}`) or dot (`{"source.ip":…}`), as
//! Filebeat, Vector and Fluent Bit variously do; both flatten to dotted names
//! before validation, so each rule is written once. Output is nested, as ECS
//! documents show it. Every rejection names the field (and, in a batch, the
//! line) so a client can fix its input without guessing.

mod batch;
mod decode;
mod encode;
mod fields;
mod flat;
pub mod strict_json;

use std::fmt;

pub use batch::{BatchFormat, decode_batch};
pub use decode::decode_event;
pub use encode::{encode_event, encode_event_string};
pub use flat::write_flat;

/// Size limits applied while decoding; the defaults are the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `message`, in bytes.
    pub max_message_bytes: usize,
    /// Largest value of any other string field, in bytes.
    pub max_field_bytes: usize,
    /// Most fields one event may carry after flattening.
    pub max_fields: usize,
    /// Most events in one batch.
    pub max_batch_events: usize,
    /// Largest batch body, in bytes.
    pub max_batch_bytes: usize,
    /// How far ahead of now an `@timestamp` may be, in milliseconds.
    pub max_future_skew_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: 64 * 1024,
            max_field_bytes: 64 * 1024,
            max_fields: 512,
            max_batch_events: 10_000,
            max_batch_bytes: 10 * 1024 * 1024,
            max_future_skew_ms: 86_400_000,
        }
    }
}

/// Why an event (or a batch) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// 1-based line (NDJSON) or element (JSON array) number within a batch.
    pub line: Option<usize>,
    /// The dotted field name at fault, or `body` / `batch` for the envelope.
    pub field: String,
    pub reason: String,
}

impl EventError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> EventError {
        EventError { line: None, field: field.into(), reason: reason.into() }
    }

    pub(crate) fn at_line(mut self, line: usize) -> EventError {
        self.line = Some(line);
        self
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "field `{}`: {}", self.field, self.reason)
    }
}

impl std::error::Error for EventError {}

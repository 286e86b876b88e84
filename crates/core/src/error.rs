//! Why a value written by a person (a decision's target, a duration) does
//! not read. The other errors of core live beside what they are about:
//! `StoreError` with the store seam, `EventError` with the ECS codec,
//! `SinkError` with the sink seam, `IngestError` with the bus.

/// A target or duration that does not parse, with the text given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("{text:?} is not pid:NUMBER")]
    Pid { text: String },
    #[error("{text:?} is not an IP address, CIDR range or pid:N")]
    Target { text: String },
    /// `10.0.0.7/24` is almost certainly a typo for a range.
    #[error("{text:?} has host bits set; did you mean {range}?")]
    HostBits { text: String, range: String },
    #[error("invalid duration {text:?}; write e.g. 90s, 10m, 2h or 1d")]
    Duration { text: String },
    #[error("unknown unit {unit:?} in duration {text:?}; use ms, s, m, h or d")]
    DurationUnit { unit: String, text: String },
    #[error("duration {text:?} must be positive and below 292 million years")]
    DurationRange { text: String },
}

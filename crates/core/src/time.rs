//! Timestamps as epoch milliseconds, and their RFC 3339 text form.
//!
//! Rampart keeps every time as `i64` milliseconds since the Unix epoch (UTC):
//! cheap to compare, sort and store. Text appears only at the edges.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The earliest accepted timestamp: 1970-01-01T00:00:00Z.
pub const MIN_MS: i64 = 0;
/// The latest accepted timestamp: 9999-12-31T23:59:59.999Z.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Formats epoch milliseconds as RFC 3339 with millisecond precision, in UTC.
pub fn format_ms(ms: i64) -> String {
    let clamped = ms.clamp(MIN_MS, MAX_MS);
    let nanos = i128::from(clamped) * 1_000_000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
            let (h, mi, s, milli) = (t.hour(), t.minute(), t.second(), t.millisecond());
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
        }
        // Unreachable for clamped input; a visible marker beats a panic.
        Err(_) => String::from("invalid-timestamp"),
    }
}

/// Parses an RFC 3339 timestamp (any offset) into epoch milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?;
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

/// Parses either RFC 3339 or an integer count of epoch milliseconds, as the
/// API's `since` / `until` parameters accept both.
pub fn parse_flexible(text: &str) -> Option<i64> {
    match text.parse::<i64>() {
        Ok(ms) => (MIN_MS..=MAX_MS).contains(&ms).then_some(ms),
        Err(_) => parse_rfc3339(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_millisecond_precision() {
        let ms = 1_700_000_000_123;
        assert_eq!(parse_rfc3339(&format_ms(ms)), Some(ms));
        assert_eq!(format_ms(ms), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn honours_offsets() {
        assert_eq!(parse_rfc3339("2023-11-14T23:13:20.123+01:00"), Some(1_700_000_000_123));
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_flexible("-5"), None);
        assert_eq!(parse_flexible("1700000000123"), Some(1_700_000_000_123));
    }
}

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
///
/// Digits are placed by hand rather than through `format!`: the store
/// writes one per event, and `fmt`'s padding machinery was a visible share
/// of that.
pub fn format_ms(ms: i64) -> String {
    let clamped = ms.clamp(MIN_MS, MAX_MS);
    let nanos = i128::from(clamped) * 1_000_000;
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        // Unreachable for clamped input; a visible marker beats a panic.
        return String::from("invalid-timestamp");
    };
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    // Clamping keeps the year within 1970..=9999: four digits.
    put(0, 4, t.year().unsigned_abs());
    put(5, 2, u32::from(u8::from(t.month())));
    put(8, 2, u32::from(t.day()));
    put(11, 2, u32::from(t.hour()));
    put(14, 2, u32::from(t.minute()));
    put(17, 2, u32::from(t.second()));
    put(20, 3, u32::from(t.millisecond()));
    out.iter().map(|&b| char::from(b)).collect()
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

/// A query's time bound: epoch milliseconds or RFC 3339, any year, clamped
/// into what the store can hold (a `since` before 1970 means "from the
/// start", not an error).
pub fn parse_time_bound(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms.clamp(MIN_MS, MAX_MS));
    }
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    Some(i64::try_from(ms.clamp(i128::from(MIN_MS), i128::from(MAX_MS))).unwrap_or(MIN_MS))
}

/// Parses a duration written as `90s`, `10m`, `2h`, `1d` (or bare seconds),
/// as rules and playbooks write them, into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<i64, crate::ParseError> {
    use crate::ParseError;
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits.parse().map_err(|_| ParseError::Duration { text: text.to_owned() })?;
    let scale = match unit {
        "" | "s" => 1_000,
        "ms" => 1,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(ParseError::DurationUnit { unit: unit.to_owned(), text: text.to_owned() }),
    };
    n.checked_mul(scale).filter(|ms| *ms > 0).ok_or_else(|| ParseError::DurationRange { text: text.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("10m"), Ok(600_000));
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("30"), Ok(30_000));
        assert!(parse_duration_ms("0s").is_err());
        assert!(parse_duration_ms("5 fortnights").is_err());
        assert!(parse_duration_ms("m").is_err());
    }

    #[test]
    fn round_trips_millisecond_precision() {
        let ms = 1_700_000_000_123;
        assert_eq!(parse_rfc3339(&format_ms(ms)), Some(ms));
        assert_eq!(format_ms(ms), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn formats_the_range_edges() {
        assert_eq!(format_ms(MIN_MS), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(MAX_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_ms(-1), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(951_782_400_007), "2000-02-29T00:00:00.007Z");
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

//! Record ids for stores shared by many writers (ClickHouse behind a fleet).
//!
//! SQLite numbers rows itself; a table that several workers append to
//! cannot. Ids here are 63-bit, time-ordered (so "newest first" and the
//! API's `before_id` cursors keep working) and made without coordination:
//!
//! ```text
//! | ms since the epoch (43 bits) | 1 | partition (7) | offset (12) |  from a bus message
//! | ms since the epoch (43 bits) | 0 | writer (7)    | sequence (12) | made by one process
//! ```
//!
//! An event read from a Kafka partition gets its id from the message's
//! timestamp, partition and offset, so a redelivered message gets the same
//! id and the store's deduplication keeps one row. The 12 offset bits are
//! unique as long as a partition takes fewer than 4,096 messages stamped
//! with one millisecond (4 M/s per partition): Rampart's producers stamp
//! each message as they queue it. (A producer that stamped a whole batch
//! with one time broke this in the first benchmark: rows merged away.)

use std::sync::Mutex;

const LOW_BITS: u32 = 20;
const BUS_FLAG: i64 = 1 << 19;
const SEQUENCE_BITS: u32 = 12;
const SEQUENCE_MASK: i64 = (1 << SEQUENCE_BITS) - 1;
const SOURCE_MASK: i64 = 0x7f;

/// The id of the event carried by a bus message.
pub fn bus_record_id(timestamp_ms: i64, partition: i32, offset: i64) -> i64 {
    (timestamp_ms.max(0) << LOW_BITS)
        | BUS_FLAG
        | ((i64::from(partition) & SOURCE_MASK) << SEQUENCE_BITS)
        | (offset & SEQUENCE_MASK)
}

/// The lowest id any writer can make at `ms`: "every record since".
pub fn first_record_id_at(ms: i64) -> i64 {
    ms.max(0) << LOW_BITS
}

/// The epoch milliseconds an id was made at.
pub fn record_id_ms(id: i64) -> i64 {
    id >> LOW_BITS
}

/// Makes increasing ids for one process; `writer` (random per process)
/// keeps two processes' ids apart.
#[derive(Debug)]
pub struct RecordIds {
    writer: i64,
    last: Mutex<(i64, i64)>,
}

impl RecordIds {
    pub fn new(writer: u8) -> RecordIds {
        RecordIds { writer: i64::from(writer) & SOURCE_MASK, last: Mutex::new((0, 0)) }
    }

    /// A fresh id, greater than every id this value made before.
    pub fn next(&self) -> i64 {
        self.next_at(crate::time::now_ms())
    }

    /// A fresh id for a clock reading of `now_ms`. A clock that steps back
    /// or a burst past 4,096 ids in a millisecond borrows the next millisecond.
    pub fn next_at(&self, now_ms: i64) -> i64 {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (ms, seq) = if now_ms > last.0 {
            (now_ms, 0)
        } else if last.1 < SEQUENCE_MASK {
            (last.0, last.1 + 1)
        } else {
            (last.0 + 1, 0)
        };
        *last = (ms, seq);
        (ms << LOW_BITS) | (self.writer << SEQUENCE_BITS) | seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_through_bursts_and_clock_steps_back() {
        let ids = RecordIds::new(5);
        let mut previous = 0;
        for now in [1_000, 1_000, 999, 1_001].into_iter().chain(std::iter::repeat_n(1_002, 5_000)) {
            let id = ids.next_at(now);
            assert!(id > previous, "{id} after {previous}");
            previous = id;
        }
        assert_eq!(record_id_ms(ids.next_at(1_700_000_000_000)), 1_700_000_000_000);
    }

    #[test]
    fn bus_ids_are_stable_and_distinct_from_made_ones() {
        let a = bus_record_id(1_700_000_000_000, 3, 41);
        assert_eq!(a, bus_record_id(1_700_000_000_000, 3, 41));
        assert_ne!(a, bus_record_id(1_700_000_000_000, 3, 42));
        assert_ne!(a, bus_record_id(1_700_000_000_000, 4, 41));
        let made = RecordIds::new(3).next_at(1_700_000_000_000);
        assert_ne!(made & BUS_FLAG, BUS_FLAG);
        assert_eq!(record_id_ms(a), record_id_ms(made));
        let floor = first_record_id_at(1_700_000_000_000);
        assert!(floor <= made.min(bus_record_id(1_700_000_000_000, 0, 0)));
        assert!(first_record_id_at(1_700_000_000_001) > a.max(made));
    }
}

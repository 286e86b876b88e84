//! Chunk bodies on disk: LZ4 blocks (lz4_flex, pure Rust) with the plain
//! size in front. Event lines repeat their keys and most of their values,
//! so host telemetry shrinks ~3× (docs/PERFORMANCE.md), and LZ4 runs at
//! hundreds of MB/s either way: cheaper than the disk it saves. Bodies
//! written before schema 8 are plain (codec 0) and read as they are.

use rampart_core::StoreError;

/// The `codec` column: how a chunk's body is stored.
pub(crate) const PLAIN: i64 = 0;
pub(crate) const LZ4: i64 = 1;

/// No chunk's plain body is near this (1,024 events, each within ingest's
/// limits); a larger size in front of a body means the body is corrupt,
/// and must not become an allocation.
const MAX_PLAIN_BYTES: usize = 256 << 20;

/// The body as stored, with its codec.
pub(crate) fn encode(plain: &[u8]) -> (Vec<u8>, i64) {
    (lz4_flex::block::compress_prepend_size(plain), LZ4)
}

/// The plain body of chunk `id`, stored with `codec`.
pub(crate) fn decode(id: i64, codec: i64, stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { id: format!("chunk {id}"), reason };
    match codec {
        PLAIN => Ok(stored),
        LZ4 => {
            let size = stored
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| u32::from_le_bytes(b) as usize)
                .ok_or_else(|| corrupt("the body is shorter than its size".into()))?;
            if size > MAX_PLAIN_BYTES {
                return Err(corrupt(format!("the body claims {size} bytes")));
            }
            lz4_flex::block::decompress_size_prepended(&stored).map_err(|e| corrupt(e.to_string()))
        }
        other => Err(corrupt(format!("unknown codec {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_bad_ones_are_errors_not_panics() {
        let plain = b"1\t5\t{\"@timestamp\":\"2026-12-02T00:00:00Z\",\"event.kind\":\"state\"}\n".repeat(100);
        let (stored, codec) = encode(&plain);
        assert_eq!(codec, LZ4);
        assert!(stored.len() * 5 < plain.len(), "{} of {}", stored.len(), plain.len());
        assert_eq!(decode(1, codec, stored.clone()).unwrap(), plain);
        assert_eq!(decode(1, PLAIN, plain.clone()).unwrap(), plain);
        // A size claiming gigabytes, a truncated body, garbage, a codec from the future.
        let mut huge = stored.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        for (codec, body) in
            [(LZ4, huge), (LZ4, stored[..3].to_vec()), (LZ4, stored[..stored.len() / 2].to_vec()), (7, stored)]
        {
            assert!(matches!(decode(9, codec, body), Err(StoreError::Corrupt { .. })));
        }
    }
}

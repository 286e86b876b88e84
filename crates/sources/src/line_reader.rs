//! One line at a time from a reader, never holding more than a cap.
//!
//! `BufRead::read_until` keeps a whole line however long: `rampart scan
//! /dev/zero` grew to 5.7 GB in ten seconds. This keeps the first `max`
//! bytes of a line, reads past the rest without storing it, and says the
//! line was cut, as the file follower does.

use std::io::{self, BufRead};

/// A line read by `read_line_capped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRead {
    /// Bytes the line had in the input, newline included.
    pub bytes: u64,
    /// The line was longer than the cap; only its start is in the buffer.
    pub truncated: bool,
}

/// Reads through the next `\n` (or to the end of input) into `buf`, which
/// is cleared first and keeps at most `max` bytes. `None` at end of input.
pub fn read_line_capped<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<LineRead>> {
    buf.clear();
    let mut read = LineRead { bytes: 0, truncated: false };
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((read.bytes > 0).then_some(read));
        }
        let (piece, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = max.saturating_sub(buf.len());
        if piece.len() > room {
            read.truncated = true;
        }
        buf.extend_from_slice(&piece[..piece.len().min(room)]);
        let used = piece.len();
        read.bytes += used as u64;
        reader.consume(used);
        if done {
            return Ok(Some(read));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(input: &[u8], max: usize, buffer: usize) -> Vec<(Vec<u8>, LineRead)> {
        let mut reader = io::BufReader::with_capacity(buffer, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(read) = read_line_capped(&mut reader, &mut buf, max).unwrap() {
            out.push((buf.clone(), read));
        }
        out
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_one_read_whole() {
        let mut input = vec![b'a'; 100];
        input.extend_from_slice(b"\nshort\nlast");
        let got = lines(&input, 10, 7);
        assert_eq!(got[0], (vec![b'a'; 10], LineRead { bytes: 101, truncated: true }));
        assert_eq!(got[1], (b"short\n".to_vec(), LineRead { bytes: 6, truncated: false }));
        assert_eq!(got[2], (b"last".to_vec(), LineRead { bytes: 4, truncated: false }));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn an_endless_line_holds_only_the_cap() {
        // 64 MiB of zeros with no newline, through a 64 KiB buffer: the line
        // buffer never grows past the cap.
        let mut zeros = io::Read::take(io::repeat(0), 64 << 20);
        let mut reader = io::BufReader::with_capacity(64 << 10, &mut zeros);
        let mut buf = Vec::new();
        let read = read_line_capped(&mut reader, &mut buf, 1024).unwrap().unwrap();
        assert_eq!((buf.len(), read.bytes, read.truncated), (1024, 64 << 20, true));
        assert!(buf.capacity() < 64 << 10);
    }

    proptest! {
        // Whatever the input, buffer size and cap, the pieces add up to the
        // input and each kept part is the start of its line.
        #[test]
        fn lines_account_for_every_byte(input in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..400),
                                        max in 0usize..40, buffer in 1usize..32) {
            let got = lines(&input, max, buffer);
            prop_assert_eq!(got.iter().map(|(_, r)| r.bytes).sum::<u64>(), input.len() as u64);
            let mut at = 0usize;
            for (kept, read) in got {
                prop_assert!(kept.len() <= max);
                prop_assert_eq!(&input[at..at + kept.len()], &kept[..]);
                prop_assert_eq!(read.truncated, read.bytes as usize > max);
                at += read.bytes as usize;
            }
        }
    }
}

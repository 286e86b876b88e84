//! The agent's on-disk buffer: what its sources gave it, kept until the
//! bus has it. A source's batch is acknowledged (and the source saves its
//! offset) once the batch is in the spool and synced; the spool is read in
//! order and advanced only after the broker confirmed delivery, so neither
//! an unreachable bus nor a restart of the agent loses an acknowledged
//! event. Bounded: when `max_bytes` are waiting, `append` refuses and the
//! sources wait (they keep their own offsets).
//!
//! Layout: numbered segment files of records, one per line, and a `cursor`
//! file (segment and byte offset of the next record to send), replaced
//! atomically. A line cut short by a crash is dropped at open: it was
//! never synced, so never acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A segment is closed and a new one started past this size.
const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;

/// Where reading stands: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool holds its limit of {0} bytes")]
    Full(u64),
    #[error("spool: {0}")]
    Io(#[from] std::io::Error),
}

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// The segment being written and its length.
    head: (u64, u64),
    read: Position,
    /// Bytes written and not yet sent, over every segment.
    waiting: u64,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:012}.spool"))
}

fn segments(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".spool")).and_then(|n| n.parse().ok()) {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, private to this user.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        rampart_core::private_dir::ensure_private_dir(dir)?;
        let cursor = std::fs::read_to_string(dir.join("cursor")).ok();
        let read = cursor
            .and_then(|text| {
                let (segment, offset) = text.trim().split_once(' ')?;
                Some(Position { segment: segment.parse().ok()?, offset: offset.parse().ok()? })
            })
            .unwrap_or(Position { segment: 1, offset: 0 });
        let mut found = segments(dir)?;
        // Segments wholly behind the cursor were sent.
        for n in found.iter().filter(|n| **n < read.segment) {
            std::fs::remove_file(segment_path(dir, *n))?;
        }
        found.retain(|n| *n >= read.segment);
        let head_segment = found.last().copied().unwrap_or(read.segment).max(read.segment);
        let mut waiting = 0;
        let mut head_len = 0;
        for n in found.iter().copied().chain((found.is_empty()).then_some(head_segment)) {
            let path = segment_path(dir, n);
            let mut bytes = Vec::new();
            if path.exists() {
                File::open(&path)?.read_to_end(&mut bytes)?;
            }
            // Keep whole lines only: a torn tail was never acknowledged.
            let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) as u64;
            if whole < bytes.len() as u64 {
                OpenOptions::new().write(true).open(&path)?.set_len(whole)?;
            }
            let from = if n == read.segment { read.offset.min(whole) } else { 0 };
            waiting += whole - from;
            if n == head_segment {
                head_len = whole;
            }
        }
        Ok(Spool { dir: dir.to_owned(), max_bytes, head: (head_segment, head_len), read, waiting })
    }

    /// Bytes waiting to be sent.
    pub fn waiting_bytes(&self) -> u64 {
        self.waiting
    }

    /// Appends records (one line each; none may hold a newline) and syncs.
    pub fn append(&mut self, records: &[Vec<u8>]) -> Result<(), SpoolError> {
        let size: u64 = records.iter().map(|r| r.len() as u64 + 1).sum();
        if self.waiting > 0 && self.waiting + size > self.max_bytes {
            return Err(SpoolError::Full(self.max_bytes));
        }
        if self.head.1 >= SEGMENT_BYTES {
            self.head = (self.head.0 + 1, 0);
        }
        let mut buffer = Vec::with_capacity(size as usize);
        for record in records {
            debug_assert!(!record.contains(&b'\n'));
            buffer.extend(record.iter().map(|b| if *b == b'\n' { b' ' } else { *b }));
            buffer.push(b'\n');
        }
        let mut file = OpenOptions::new().create(true).append(true).open(segment_path(&self.dir, self.head.0))?;
        file.write_all(&buffer)?;
        file.sync_data()?;
        self.head.1 += size;
        self.waiting += size;
        Ok(())
    }

    /// Up to `max` records from the read position, and the position after
    /// them (for `advance` once they are delivered).
    pub fn peek(&self, max: usize) -> Result<(Vec<Vec<u8>>, Position), SpoolError> {
        let mut records = Vec::new();
        let mut at = self.read;
        while records.len() < max && at.segment <= self.head.0 {
            let path = segment_path(&self.dir, at.segment);
            let mut bytes = Vec::new();
            if path.exists() {
                let mut file = File::open(&path)?;
                file.seek(SeekFrom::Start(at.offset))?;
                file.take(SEGMENT_BYTES * 2).read_to_end(&mut bytes)?;
            }
            for line in bytes.split_inclusive(|b| *b == b'\n') {
                if records.len() == max || !line.ends_with(b"\n") {
                    break;
                }
                records.push(line[..line.len() - 1].to_vec());
                at.offset += line.len() as u64;
            }
            if records.len() == max || at.segment == self.head.0 {
                break;
            }
            at = Position { segment: at.segment + 1, offset: 0 };
        }
        Ok((records, at))
    }

    /// Marks everything before `to` sent: saves the cursor, removes
    /// segments left behind.
    pub fn advance(&mut self, to: Position) -> Result<(), SpoolError> {
        if to <= self.read {
            return Ok(());
        }
        let text = format!("{} {}\n", to.segment, to.offset);
        rampart_core::atomic_file::write_atomically(&self.dir.join("cursor"), text.as_bytes())?;
        for n in self.read.segment..to.segment {
            let path = segment_path(&self.dir, n);
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let from = if n == self.read.segment { self.read.offset } else { 0 };
            self.waiting = self.waiting.saturating_sub(len.saturating_sub(from));
            let _ = std::fs::remove_file(path);
        }
        let from = if to.segment == self.read.segment { self.read.offset } else { 0 };
        self.waiting = self.waiting.saturating_sub(to.offset - from);
        self.read = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever was appended comes out once, in order, across reopens
        /// and partial sends.
        #[test]
        fn records_come_out_in_order_once(steps in proptest::collection::vec((0usize..40, 0usize..30, any::<bool>()), 1..20)) {
            let dir = tempfile::tempdir().unwrap();
            let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();
            let (mut next, mut expected, mut got) = (0u32, Vec::new(), Vec::new());
            for (append, send, reopen) in steps {
                let records: Vec<Vec<u8>> = (0..append).map(|_| { next += 1; format!("{{\"n\":{next},\"pad\":\"{}\"}}", "x".repeat(next as usize % 300)).into_bytes() }).collect();
                expected.extend(records.iter().cloned());
                spool.append(&records).unwrap();
                let (sent, to) = spool.peek(send).unwrap();
                got.extend(sent);
                spool.advance(to).unwrap();
                if reopen {
                    spool = Spool::open(dir.path(), u64::MAX).unwrap();
                }
            }
            let (rest, to) = spool.peek(usize::MAX).unwrap();
            got.extend(rest);
            spool.advance(to).unwrap();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(spool.waiting_bytes(), 0);
        }
    }

    #[test]
    fn a_torn_tail_is_dropped_and_a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 64).unwrap();
        spool.append(&[b"one".to_vec(), b"two".to_vec()]).unwrap();
        let mut file = OpenOptions::new().append(true).open(segment_path(dir.path(), 1)).unwrap();
        file.write_all(b"thr").unwrap();
        let mut spool = Spool::open(dir.path(), 64).unwrap();
        assert_eq!(spool.peek(10).unwrap().0, [b"one".to_vec(), b"two".to_vec()]);
        assert!(matches!(spool.append(&[vec![b'x'; 80]]), Err(SpoolError::Full(64))));
        spool.append(&[b"three".to_vec()]).unwrap();
        assert_eq!(spool.peek(10).unwrap().0.len(), 3);
    }

    #[test]
    fn segments_roll_over_and_sent_ones_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();
        let big = vec![b'y'; 1024 * 1024];
        for _ in 0..10 {
            spool.append(std::slice::from_ref(&big)).unwrap();
        }
        assert!(segments(dir.path()).unwrap().len() >= 2);
        let (records, to) = spool.peek(100).unwrap();
        assert_eq!(records.len(), 10);
        spool.advance(to).unwrap();
        assert_eq!(spool.waiting_bytes(), 0);
        assert!(segments(dir.path()).unwrap().len() <= 1);
    }
}

//! Following one file: new complete lines, through rotation and truncation.
//!
//! Poll-based (a `stat` and a read per interval) rather than inotify: it
//! behaves the same on every filesystem, including network mounts and
//! overlayfs, and the cost is one syscall pair per file per tick.
//!
//! * rename-and-create rotation: the path now names another inode. The old
//!   handle is read to its end first, then the new file from its start.
//! * copytruncate and truncation: the file is shorter than our offset, so
//!   reading restarts at 0.
//! * a last line without its newline yet is held back until it is complete,
//!   so the offset always ends on a line boundary.
//! * a line longer than `MAX_LINE_BYTES` is cut there and the rest skipped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::parse::MAX_LINE_BYTES;

/// Where a file was left: its identity and the byte after the last complete line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
}

/// Where to begin a file seen for the first time (`[sources]`'s choice).
pub use rampart_core::config::StartAt;

/// One line read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The line was longer than `MAX_LINE_BYTES` and was cut.
    pub truncated: bool,
}

pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    identity: Option<(u64, u64)>,
    /// Offset of the first byte not yet consumed as part of a complete line.
    offset: u64,
    /// Bytes read past `offset` that do not end in a newline yet.
    partial: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    /// Read buffer, kept between polls.
    buf: Vec<u8>,
}

impl Follower {
    /// Starts following `path`: from `saved` if it still names the same file
    /// (and the file has not shrunk below it), else as `start` says.
    pub fn new(path: &Path, start: StartAt, saved: Option<Position>) -> Follower {
        let mut f = Follower {
            path: path.to_owned(),
            file: None,
            identity: None,
            offset: 0,
            partial: Vec::new(),
            skipping: false,
            buf: Vec::new(),
        };
        if let Ok(file) = File::open(path)
            && let Ok(meta) = file.metadata()
        {
            let identity = (meta.dev(), meta.ino());
            f.offset = match saved {
                Some(p) if (p.dev, p.ino) == identity && p.offset <= meta.len() => p.offset,
                // Rotated or truncated while we were down: this is a new file.
                Some(_) => 0,
                None => match start {
                    StartAt::Beginning => 0,
                    StartAt::End => meta.len(),
                },
            };
            f.identity = Some(identity);
            f.file = Some(file);
        }
        f
    }

    /// The position to persist once the lines returned so far are safe.
    pub fn position(&self) -> Option<Position> {
        self.identity.map(|(dev, ino)| Position { dev, ino, offset: self.offset })
    }

    /// Appends the complete lines written since the last call to `out`.
    pub fn poll(&mut self, out: &mut Vec<Line>) -> std::io::Result<()> {
        let current = std::fs::metadata(&self.path).ok().map(|m| ((m.dev(), m.ino()), m.len()));
        match (current, self.identity) {
            // The path names another file now: drain the old one, then switch.
            (Some((id, _)), Some(old)) if id != old => {
                self.read_available(out)?;
                self.flush_partial(out);
                self.open_fresh()?;
            }
            // Same file, shorter than what we consumed: truncated (copytruncate).
            (Some((_, len)), Some(_)) if len < self.offset => {
                self.partial.clear();
                self.skipping = false;
                self.offset = 0;
            }
            // Appeared since we last looked.
            (Some(_), None) => self.open_fresh()?,
            _ => {}
        }
        self.read_available(out)
    }

    fn open_fresh(&mut self) -> std::io::Result<()> {
        let file = File::open(&self.path)?;
        let meta = file.metadata()?;
        self.identity = Some((meta.dev(), meta.ino()));
        self.file = Some(file);
        self.offset = 0;
        self.partial.clear();
        self.skipping = false;
        Ok(())
    }

    fn read_available(&mut self, out: &mut Vec<Line>) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        file.seek(SeekFrom::Start(self.offset + self.partial.len() as u64))?;
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(64 * 1024, 0);
        let result = loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            for &byte in &buf[..n] {
                if byte == b'\n' {
                    let consumed = self.partial.len() as u64 + 1;
                    if !self.skipping {
                        let text = String::from_utf8_lossy(&self.partial).into_owned();
                        out.push(Line { text, truncated: false });
                    }
                    self.offset += consumed;
                    self.partial.clear();
                    self.skipping = false;
                } else if self.skipping {
                    // Counted so the offset stays exact; not kept.
                    self.offset += 1;
                } else {
                    self.partial.push(byte);
                    if self.partial.len() >= MAX_LINE_BYTES {
                        let text = String::from_utf8_lossy(&self.partial).into_owned();
                        out.push(Line { text, truncated: true });
                        self.offset += self.partial.len() as u64;
                        self.partial.clear();
                        self.skipping = true;
                    }
                }
            }
        };
        self.buf = buf;
        result
    }

    /// The old file of a rotation will get no more bytes: its last line is
    /// complete even without a newline.
    fn flush_partial(&mut self, out: &mut Vec<Line>) {
        if !self.partial.is_empty() && !self.skipping {
            out.push(Line { text: String::from_utf8_lossy(&self.partial).into_owned(), truncated: false });
        }
        self.partial.clear();
    }
}

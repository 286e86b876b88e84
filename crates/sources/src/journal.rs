//! `JournalSource`: the systemd journal → parsed events → the ingest queue.
//!
//! On Debian 12 and most current distributions sshd logs only to the
//! journal. We run `journalctl --follow --output=json` as a child process
//! (argument vector, no shell) rather than link libsystemd: the journal's
//! file format and its rotation, vacuuming and namespaces stay journalctl's
//! business, and nothing here needs systemd's headers to build. The cursor
//! of the last entry the store acknowledged is saved after each commit, so
//! a restart resumes right after it: nothing skipped, nothing read twice
//! unless a crash falls between the commit and the cursor write.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use rampart_core::config::JournalSourceConfig;
use rampart_core::{Event, EventKind, IngestSender};
use serde_json::Value;

use crate::error::SourceError;
use crate::handoff::{deliver, sleep_unless_stopped};
use crate::parse::journal::parse_entry;
use crate::tail::{StartAt, write_atomically};

/// Journal entries read, by `outcome` (`parsed`, `unparsed`).
pub const ENTRIES_READ: &str = "rampart_journal_entries_total";

/// Most entries per batch handed to the store.
const BATCH: usize = 5_000;
/// How long a partial batch may wait for more entries.
const LINGER: Duration = Duration::from_millis(200);

/// `journalctl`'s arguments for `spec`, resuming after `cursor` when there
/// is one. Each value is its own argument (`--unit=NAME`): nothing is
/// parsed by a shell, and a value cannot turn into an option.
pub fn journalctl_args(spec: &JournalSourceConfig, cursor: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> =
        ["--follow", "--output=json", "--no-pager", "--quiet"].into_iter().map(OsString::from).collect();
    if let Some(dir) = &spec.directory {
        let mut arg = OsString::from("--directory=");
        arg.push(dir);
        args.push(arg);
    }
    for unit in &spec.units {
        args.push(format!("--unit={unit}").into());
    }
    match (cursor, spec.start_at) {
        (Some(cursor), _) => args.push(format!("--after-cursor={cursor}").into()),
        (None, StartAt::Beginning) => args.push("--lines=all".into()),
        (None, StartAt::End) => args.push("--lines=0".into()),
    }
    args
}

pub struct JournalSource {
    spec: JournalSourceConfig,
    cursor_file: PathBuf,
    cursor: Option<String>,
    ingest: IngestSender,
}

impl JournalSource {
    pub fn new(
        spec: JournalSourceConfig,
        cursor_file: PathBuf,
        ingest: IngestSender,
    ) -> Result<JournalSource, SourceError> {
        for unit in &spec.units {
            if unit.is_empty() || unit.starts_with('-') || unit.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(SourceError::field("units", format!("{unit:?} is not a systemd unit name")));
            }
        }
        let cursor = load_cursor(&cursor_file)?;
        Ok(JournalSource { spec, cursor_file, cursor, ingest })
    }

    /// Follows until `stop` is set, restarting `journalctl` (after the last
    /// acknowledged cursor) whenever it exits. Blocking: run it on its own
    /// thread; `runtime` is the node's, used only to wait on the queue.
    pub fn run(mut self, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        let mut backoff = Duration::from_secs(1);
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            match self.follow_once(&runtime, &stop) {
                Ok(()) => {}
                Err(error) => tracing::warn!(%error, "Journal reader stopped; restarting it."),
            }
            if started.elapsed() > Duration::from_secs(30) {
                backoff = Duration::from_secs(1);
            }
            sleep_unless_stopped(backoff, &stop);
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// One `journalctl` process, from spawn to exit (or to `stop`).
    fn follow_once(&mut self, runtime: &tokio::runtime::Handle, stop: &AtomicBool) -> Result<(), SourceError> {
        let program = self.spec.journalctl.display().to_string();
        let mut child = Command::new(&self.spec.journalctl)
            .args(journalctl_args(&self.spec, self.cursor.as_deref()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SourceError::Spawn { program: program.clone(), reason: e.to_string() })?;
        tracing::info!(units = ?self.spec.units, cursor = self.cursor.is_some(), "Following the systemd journal.");
        let lines = read_lines(&mut child);
        let outcome = self.pump(&lines, runtime, stop);
        let _ = child.kill();
        let status =
            child.wait().map_err(|e| SourceError::Spawn { program: program.clone(), reason: e.to_string() })?;
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        outcome?;
        Err(SourceError::Exited { program, status: status.to_string(), stderr: stderr.trim().to_owned() })
    }

    /// Batches lines until the reader ends; returns early on `stop`.
    fn pump(
        &mut self,
        lines: &Receiver<String>,
        runtime: &tokio::runtime::Handle,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        let mut batch: Vec<String> = Vec::with_capacity(BATCH);
        loop {
            if stop.load(Ordering::SeqCst) {
                return self.commit(&batch, runtime, stop);
            }
            let deadline = Instant::now() + LINGER;
            let ended = loop {
                match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(line) => {
                        batch.push(line);
                        if batch.len() >= BATCH {
                            break false;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => break false,
                    Err(RecvTimeoutError::Disconnected) => break true,
                }
            };
            self.commit(&batch, runtime, stop)?;
            batch.clear();
            if ended {
                return Ok(());
            }
        }
    }

    /// Parses, delivers and, once the store has committed, saves the cursor.
    fn commit(
        &mut self,
        lines: &[String],
        runtime: &tokio::runtime::Handle,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        if lines.is_empty() {
            return Ok(());
        }
        let now = rampart_core::time::now_ms();
        let mut events = Vec::with_capacity(lines.len());
        let mut cursor = None;
        for line in lines {
            match parse_entry(line, now) {
                Ok(entry) => {
                    metrics::counter!(ENTRIES_READ, "outcome" => "parsed").increment(1);
                    for _ in 1..entry.parsed.repeat {
                        events.push(entry.parsed.event.clone());
                    }
                    events.push(entry.parsed.event);
                    cursor = entry.cursor.or(cursor);
                }
                Err(reason) => {
                    metrics::counter!(ENTRIES_READ, "outcome" => "unparsed").increment(1);
                    events.push(unparsed(line, &reason.reason, now));
                }
            }
        }
        if !deliver(&self.ingest, runtime, &events, "journal", stop) {
            return Err(SourceError::ShuttingDown);
        }
        if let Some(cursor) = cursor {
            if let Err(error) = write_atomically(&self.cursor_file, cursor.as_bytes()) {
                tracing::error!(%error, "Cannot save the journal cursor; a restart may re-read entries.");
            }
            self.cursor = Some(cursor);
        }
        Ok(())
    }
}

/// Lines of the child's stdout on a channel; it disconnects when the child
/// closes stdout (it exited). The bound makes a slow store slow the reader.
fn read_lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = sync_channel(BATCH * 2);
    if let Some(stdout) = child.stdout.take() {
        std::thread::Builder::new()
            .name("rampart-journal-read".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    match line {
                        Ok(line) if line.trim().is_empty() => {}
                        Ok(line) => {
                            if tx.send(line).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "Cannot read journalctl's output.");
                            return;
                        }
                    }
                }
            })
            .ok();
    }
    rx
}

/// An entry that did not parse, kept rather than dropped.
fn unparsed(line: &str, reason: &str, now: i64) -> Event {
    let mut e = Event::new(EventKind::PipelineError, now);
    e.message = Some(line.chars().take(crate::parse::MAX_LINE_BYTES).collect());
    e.extra.insert("error.message".into(), Value::from(reason));
    e.extra.insert("event.module".into(), Value::from("journald"));
    e
}

fn load_cursor(file: &Path) -> Result<Option<String>, SourceError> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let cursor = text.trim();
            if cursor.is_empty() || cursor.contains(['\n', '\0']) {
                return Err(SourceError::SavedPosition {
                    path: file.to_owned(),
                    reason: "not a journal cursor; delete it to start over".into(),
                });
            }
            Ok(Some(cursor.to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SourceError::SavedPosition { path: file.to_owned(), reason: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(units: &[&str], start_at: StartAt) -> JournalSourceConfig {
        JournalSourceConfig {
            units: units.iter().map(|u| u.to_string()).collect(),
            directory: Some("/var/log/journal".into()),
            start_at,
            journalctl: "journalctl".into(),
        }
    }

    #[test]
    fn arguments_resume_after_the_cursor_or_start_where_asked() {
        let s = spec(&["ssh.service", "nginx.service"], StartAt::End);
        let args: Vec<String> = journalctl_args(&s, None).into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--follow",
                "--output=json",
                "--no-pager",
                "--quiet",
                "--directory=/var/log/journal",
                "--unit=ssh.service",
                "--unit=nginx.service",
                "--lines=0"
            ]
        );
        let resumed = journalctl_args(&s, Some("s=1;i=2"));
        assert_eq!(resumed.last().unwrap(), "--after-cursor=s=1;i=2");
        assert_eq!(journalctl_args(&spec(&[], StartAt::Beginning), None).last().unwrap(), "--lines=all");
    }

    #[test]
    fn unit_names_that_could_be_options_are_refused() {
        let (ingest, _rx) = rampart_core::ingest_queue(1);
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "-x", "--output=cat", "ssh service", "a\nb"] {
            let error =
                JournalSource::new(spec(&[bad], StartAt::End), dir.path().join("c"), ingest.clone()).err().unwrap();
            assert!(error.to_string().starts_with("units:"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_corrupt_cursor_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journal-cursor-0.txt");
        std::fs::write(&file, "").unwrap();
        assert!(load_cursor(&file).unwrap_err().to_string().contains("journal-cursor-0.txt"));
        std::fs::write(&file, "s=1;i=2\n").unwrap();
        assert_eq!(load_cursor(&file).unwrap().as_deref(), Some("s=1;i=2"));
    }
}

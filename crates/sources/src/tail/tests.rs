//! The follower against real files: appends, partial lines, both kinds of
//! rotation, truncation, restarts, garbage and very long lines.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use super::*;
use crate::parse::MAX_LINE_BYTES;

fn append(path: &Path, text: &[u8]) {
    OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text).unwrap();
}

fn lines(f: &mut Follower) -> Vec<String> {
    let mut out = Vec::new();
    f.poll(&mut out).unwrap();
    out.into_iter().map(|l| l.text).collect()
}

#[test]
fn starts_at_the_end_by_default_and_reads_appends() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"old 1\nold 2\n");
    let mut f = Follower::new(&log, StartAt::End, None);
    assert!(lines(&mut f).is_empty());
    append(&log, b"new 1\nnew 2\n");
    assert_eq!(lines(&mut f), ["new 1", "new 2"]);
    let mut from_start = Follower::new(&log, StartAt::Beginning, None);
    assert_eq!(lines(&mut from_start).len(), 4);
}

#[test]
fn a_partial_last_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, b"");
    let mut f = Follower::new(&log, StartAt::Beginning, None);
    append(&log, b"complete\nhalf a li");
    assert_eq!(lines(&mut f), ["complete"]);
    assert_eq!(f.position().unwrap().offset, 9);
    append(&log, b"ne\n");
    assert_eq!(lines(&mut f), ["half a line"]);
}

#[test]
fn rename_and_create_rotation_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"");
    let mut f = Follower::new(&log, StartAt::Beginning, None);
    append(&log, b"before\n");
    assert_eq!(lines(&mut f), ["before"]);
    // Written after our last poll but before rotation: must not be lost.
    append(&log, b"late in old file\n");
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    append(&log, b"first in new file\n");
    assert_eq!(lines(&mut f), ["late in old file", "first in new file"]);
    append(&log, b"second\n");
    assert_eq!(lines(&mut f), ["second"]);
}

#[test]
fn copytruncate_and_truncation_restart_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, b"");
    let mut f = Follower::new(&log, StartAt::Beginning, None);
    append(&log, b"one\ntwo\n");
    assert_eq!(lines(&mut f), ["one", "two"]);
    std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, b"three\n");
    assert_eq!(lines(&mut f), ["three"]);
}

#[test]
fn a_file_that_appears_later_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("later.log");
    let mut f = Follower::new(&log, StartAt::End, None);
    assert!(lines(&mut f).is_empty());
    append(&log, b"hello\n");
    assert_eq!(lines(&mut f), ["hello"]);
}

#[test]
fn restart_from_a_saved_position_neither_repeats_nor_skips() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    append(&log, b"a\nb\n");
    let mut f = Follower::new(&log, StartAt::Beginning, None);
    assert_eq!(lines(&mut f), ["a", "b"]);
    let saved = f.position();
    append(&log, b"c\nd\n");
    let mut again = Follower::new(&log, StartAt::End, saved);
    assert_eq!(lines(&mut again), ["c", "d"]);
    // A saved position for a file that was rotated meanwhile means: new file, start at 0.
    std::fs::rename(&log, dir.path().join("auth.log.1")).unwrap();
    append(&log, b"e\n");
    let mut rotated = Follower::new(&log, StartAt::End, saved);
    assert_eq!(lines(&mut rotated), ["e"]);
}

#[test]
fn garbage_and_very_long_lines_do_not_stop_the_follower() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bin.log");
    append(&log, b"");
    let mut f = Follower::new(&log, StartAt::Beginning, None);
    let mut long = vec![b'x'; MAX_LINE_BYTES * 2 + 10];
    long.push(b'\n');
    append(&log, b"\xff\xfe\x00binary\n");
    append(&log, &long);
    append(&log, b"after\n");
    let mut out = Vec::new();
    f.poll(&mut out).unwrap();
    assert_eq!(out.len(), 3);
    assert!(out[0].text.contains("binary"));
    assert!(out[1].truncated && out[1].text.len() == MAX_LINE_BYTES);
    assert_eq!(out[2].text, "after");
    let size = std::fs::metadata(&log).unwrap().len();
    assert_eq!(f.position().unwrap().offset, size);
}

mod file_source {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use rampart_core::config::FileSourceConfig;
    use rampart_core::ingest_queue;

    use super::*;

    /// Runs a source until `want` messages arrived (acking each batch), then stops it.
    fn run_until(spec: FileSourceConfig, offsets: &Path, want: usize, during: impl FnOnce()) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (tx, mut rx) = ingest_queue(8);
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        rt.spawn(async move {
            while let Some(mut batch) = rx.recv().await {
                let ids = (0..batch.events.len() as i64).collect();
                sink.lock().unwrap().extend(batch.events.drain(..).map(|e| e.message.unwrap_or_default()));
                let _ = batch.ack.take().unwrap().send(Ok(ids));
            }
        });
        let source = FileSource::new(&spec, offsets.to_owned(), tx).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (handle, flag) = (rt.handle().clone(), stop.clone());
        let thread = std::thread::spawn(move || source.run(handle, flag));
        std::thread::sleep(Duration::from_millis(100));
        during();
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.lock().unwrap().len() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        thread.join().unwrap();
        got.lock().unwrap().clone()
    }

    fn spec(glob: String) -> FileSourceConfig {
        FileSourceConfig {
            paths: vec![glob],
            format: rampart_core::config::FileFormat::Syslog,
            regex: None,
            start_at: StartAt::End,
            poll_interval_ms: 20,
        }
    }

    #[test]
    fn follows_globs_and_resumes_after_restart_without_loss_or_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let offsets = dir.path().join("offsets.json");
        let a = dir.path().join("a.log");
        append(&a, b"Dec 10 06:55:46 h sshd[1]: old line, before start\n");
        let glob = format!("{}/*.log", dir.path().display());
        let got = run_until(spec(glob.clone()), &offsets, 3, || {
            append(&a, b"Dec 10 06:55:47 h sshd[1]: one\nDec 10 06:55:48 h sshd[1]: two\n");
            // A file that appears later is read from its start.
            append(&dir.path().join("b.log"), b"Dec 10 06:55:49 h sshd[2]: three\n");
        });
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, ["one", "three", "two"]);

        // While stopped, more lines arrive; a restart reads exactly those.
        append(&a, b"Dec 10 06:56:00 h sshd[1]: four\n");
        let got = run_until(spec(glob), &offsets, 1, || {});
        assert_eq!(got, ["four"]);
    }

    #[test]
    fn bad_specs_are_refused_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = ingest_queue(1);
        let mut s = spec(String::new());
        s.paths.clear();
        assert!(FileSource::new(&s, dir.path().join("o"), tx.clone()).err().unwrap().to_string().starts_with("paths"));
        let mut s = spec("[".into());
        s.paths = vec!["/var/log/[".into()];
        assert!(FileSource::new(&s, dir.path().join("o"), tx.clone()).err().unwrap().to_string().starts_with("paths"));
        std::fs::write(dir.path().join("o"), b"{nope").unwrap();
        let err = FileSource::new(&spec("/x".into()), dir.path().join("o"), tx).err().unwrap();
        assert!(err.to_string().contains("corrupt offsets"), "{err}");
    }
}

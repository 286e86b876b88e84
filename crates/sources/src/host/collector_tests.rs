use std::path::Path;

use super::*;

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn process(root: &Path, pid: u32, name: &str, cpu_ticks: u64, rss_pages: u64) {
    let stat =
        format!("{pid} ({name}) R 1 {pid} {pid} 0 -1 0 0 0 0 0 {cpu_ticks} 0 0 0 20 0 2 0 500 1000 {rss_pages} 0");
    write(root, &format!("proc/{pid}/stat"), &stat);
    write(root, &format!("proc/{pid}/status"), "Name:\tx\nUid:\t1000\t1000\t1000\t1000\n");
    write(root, &format!("proc/{pid}/cmdline"), &format!("{name}\0--flag\0"));
}

/// An old kernel: four CPU columns, no MemAvailable, no diskstats, no tcp6.
fn old_kernel(root: &Path, busy: u64, forks: u64, rx: u64) {
    let idle = 800 + busy;
    write(
        root,
        "proc/stat",
        &format!("cpu {busy} 0 0 {idle}\ncpu0 {busy} 0 0 {idle}\nprocesses {forks}\nbtime 1700000000\n"),
    );
    write(root, "proc/meminfo", "MemTotal: 1000 kB\nMemFree: 200 kB\nCached: 100 kB\nBuffers: 100 kB\n");
    write(root, "proc/loadavg", "0.25 0.50 0.75 1/100 4242\n");
    write(
        root,
        "proc/net/dev",
        &format!("h1\nh2\n  lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\neth0: {rx} 10 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"),
    );
    write(root, "proc/sys/fs/file-nr", "300 0 1000\n");
    write(
        root,
        "proc/net/tcp",
        "header\n 0: a b 0A x x x x x 11 1\n 1: a b 01 x x x x x 12 1\n 2: a b 06 x x x x x 0 1\n",
    );
    write(root, "passwd", "alice:x:1000:1000::/home/alice:/bin/sh\n");
}

#[test]
fn a_fixture_proc_becomes_rates_gauges_and_top_processes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    old_kernel(root, 100, 10, 1_000);
    process(root, 42, "burner", 0, 100);
    process(root, 43, "big", 0, 5_000);
    process(root, 44, "idle", 0, 1);
    let mut c = HostCollector::at(root.join("proc"), root.join("passwd"), 100, 4096, 1);
    assert!(c.sample(0).is_none(), "the first read only primes the counters");

    old_kernel(root, 600, 30, 21_000);
    process(root, 42, "burner", 200, 100);
    process(root, 43, "big", 10, 5_000);
    process(root, 44, "idle", 0, 1);
    let s = c.sample(2_000).unwrap();
    let m = &s.metrics;
    assert_eq!((m["cpu.total.pct"], m["cpu.core.0.pct"], m["cpu.cores"]), (50.0, 50.0, 1.0));
    assert_eq!((m["processes.forks_per_sec"], m["processes.count"], m["processes.threads"]), (10.0, 3.0, 6.0));
    assert_eq!((m["load.1"], m["load.15"]), (0.25, 0.75));
    // No MemAvailable: free + cached + buffers.
    assert_eq!((m["memory.available.bytes"], m["memory.used.pct"]), (409_600.0, 60.0));
    assert_eq!((m["net.rx.bytes_per_sec"], m["net.iface.eth0.rx.packets_per_sec"]), (10_000.0, 0.0));
    assert_eq!(m["net.iface.lo.rx.bytes_per_sec"], 0.0);
    assert_eq!(
        (m["fd.open"], m["tcp.listen"], m["tcp.established"], m["tcp.time_wait"], m["tcp.total"]),
        (300.0, 1.0, 1.0, 1.0, 3.0)
    );
    assert!(
        !m.contains_key("disk.read.bytes_per_sec") && !m.contains_key("swap.used.pct"),
        "missing files, missing metrics"
    );
    assert!(s.errors.is_empty(), "{:?}", s.errors);

    // Top 1 by CPU (the burner, 200 ticks in 2 s at 100 Hz = one core) and top 1 by memory.
    let names: Vec<&str> = s.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["burner", "big"]);
    let burner = &s.processes[0];
    assert_eq!((burner.cpu_pct, burner.rss_bytes, burner.start_ticks), (100.0, 409_600, 500));
    assert_eq!(
        (burner.cmdline.as_str(), burner.user.as_deref(), burner.uid),
        ("burner --flag", Some("alice"), Some(1000))
    );
    assert_eq!(burner.start_ms, 1_700_000_000_000 + 5_000);
    assert_eq!((burner.fds, burner.connections), (None, None), "no fd directory in the fixture");
}

#[test]
fn a_corrupt_file_is_reported_by_name_and_the_rest_still_collected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    old_kernel(root, 100, 10, 1_000);
    let mut c = HostCollector::at(root.join("proc"), root.join("passwd"), 100, 4096, 3);
    c.sample(0);
    write(root, "proc/loadavg", "high\n");
    let s = c.sample(1_000).unwrap();
    assert!(s.errors.iter().any(|e| e.contains("/proc/loadavg")), "{:?}", s.errors);
    assert!(!s.metrics.contains_key("load.1") && s.metrics.contains_key("cpu.total.pct"));
}

#[test]
fn the_live_proc_gives_this_process_with_its_fds() {
    let mut c = HostCollector::new(100_000);
    c.sample(rampart_core::time::now_ms());
    std::thread::sleep(std::time::Duration::from_millis(50));
    let s = c.sample(rampart_core::time::now_ms()).unwrap();
    for key in ["cpu.total.pct", "memory.used.pct", "load.1", "fd.open", "tcp.total", "net.rx.bytes_per_sec"] {
        assert!(s.metrics.contains_key(key), "{key} missing: {:?}", s.metrics.keys());
    }
    let me = s.processes.iter().find(|p| p.pid == std::process::id()).expect("this process is listed");
    assert!(me.fds.unwrap() >= 3 && me.rss_bytes > 0 && !me.cmdline.is_empty());
}

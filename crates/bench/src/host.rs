//! `rampart bench host`: what the host collector costs on this machine —
//! CPU time per read of /proc (this thread's utime + stime, as the kernel
//! counts it) and the share of one core that makes at the interval.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rampart_sources::host::HostCollector;
use rampart_sources::host::process::parse_proc_stat;

use crate::args::BenchHostArgs;

fn thread_cpu_ticks() -> anyhow::Result<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/stat")?;
    Ok(parse_proc_stat(&text).map_err(anyhow::Error::msg)?.cpu_ticks)
}

pub fn run(args: &BenchHostArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.samples > 0 && args.interval_ms > 0, "--samples and --interval-ms must be at least 1");
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let mut collector = HostCollector::new(args.top);
    collector.sample(rampart_core::time::now_ms());
    let (mut processes, mut metrics) = (0, 0);
    let ticks_before = thread_cpu_ticks()?;
    let started = Instant::now();
    for _ in 0..args.samples {
        // A short pause, so per-process CPU rates have an interval to cover.
        std::thread::sleep(Duration::from_millis(5));
        if let Some(sample) = collector.sample(rampart_core::time::now_ms()) {
            processes = sample.processes.len();
            metrics = sample.metrics.len();
        }
    }
    let wall = started.elapsed().as_secs_f64() - args.samples as f64 * 0.005;
    let cpu_secs = (thread_cpu_ticks()? - ticks_before) as f64 / hz;
    let per_sample_ms = 1000.0 * cpu_secs / args.samples as f64;
    let share = per_sample_ms / args.interval_ms as f64 * 100.0;
    let listed = std::fs::read_dir("/proc")?
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok()))
        .count();
    println!(
        "host collector: {} reads, {listed} processes on this host, {metrics} metrics and {processes} processes per sample\n\
         CPU time per read: {per_sample_ms:.2} ms (wall {:.2} ms)\n\
         at one read every {} ms: {share:.3}% of one core",
        args.samples,
        1000.0 * wall / args.samples as f64,
        args.interval_ms
    );
    Ok(ExitCode::SUCCESS)
}

//! `HostSource`: the collector on its own thread, every interval, its
//! samples delivered as events — the top processes first, then the host's
//! metrics, so a detector has seen the processes when it scores the host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rampart_core::{Body, Event, EventKind, IngestSender};
use serde_json::json;

use super::collector::{HostCollector, HostSample};
use crate::handoff::{deliver, sleep_unless_stopped};

/// Time to read /proc once (seconds): the collector's own cost.
pub const COLLECT_SECONDS: &str = "rampart_host_collect_seconds";

#[derive(Debug, Clone)]
pub struct HostSpec {
    pub interval: Duration,
    /// Processes reported per sample: this many by CPU and as many by memory.
    pub top: usize,
}

pub struct HostSource {
    spec: HostSpec,
    collector: HostCollector,
    host_name: Option<String>,
    ingest: IngestSender,
}

impl HostSource {
    pub fn new(spec: HostSpec, ingest: IngestSender) -> HostSource {
        HostSource { collector: HostCollector::new(spec.top), spec, host_name: local_host_name(), ingest }
    }

    pub fn run(mut self, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        tracing::info!(interval_ms = self.spec.interval.as_millis() as u64, "Collecting host metrics from /proc.");
        let mut next = Instant::now();
        let mut reported_errors = false;
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            let sample = self.collector.sample(rampart_core::time::now_ms());
            metrics::histogram!(COLLECT_SECONDS).record(started.elapsed().as_secs_f64());
            if let Some(sample) = sample {
                // Unreadable files repeat every interval: say so once, not every 2 s.
                if !sample.errors.is_empty() && !reported_errors {
                    tracing::warn!(errors = ?sample.errors, "Some host metrics are missing.");
                    reported_errors = true;
                }
                let events = sample_events(&sample, self.host_name.as_deref());
                if !deliver(&self.ingest, &runtime, &events, "host", &stop) {
                    break;
                }
            }
            next += self.spec.interval;
            let now = Instant::now();
            if next < now {
                // Fell behind (a suspended VM, a slow store): skip, do not burst.
                next = now + self.spec.interval;
            }
            sleep_unless_stopped(next - now, &stop);
        }
    }
}

/// This host's name as the kernel has it: what host events carry.
pub fn local_host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty())
}

/// Process events, then one `metric` event with every gauge and rate.
pub fn sample_events(sample: &HostSample, host_name: Option<&str>) -> Vec<Event> {
    let mut events = Vec::with_capacity(sample.processes.len() + 1);
    for p in &sample.processes {
        let mut e = Event::new(EventKind::State, sample.at_ms);
        e.category = vec!["process".into()];
        e.action = Some("process_sample".into());
        e.host_name = host_name.map(str::to_owned);
        e.process_pid = Some(p.pid);
        e.process_name = Some(p.name.clone());
        e.user_name = p.user.clone();
        e.body = Some(Body::Process {
            command_line: Some(p.cmdline.clone()).filter(|c| !c.is_empty()),
            start_ms: Some(p.start_ms),
            cpu_pct: Some(p.cpu_pct),
            rss_bytes: Some(p.rss_bytes),
            parent_pid: Some(p.ppid),
        });
        e.extra.insert("process.start_ticks".into(), json!(p.start_ticks));
        e.extra.insert("process.thread.count".into(), json!(p.threads));
        if let Some(uid) = p.uid {
            e.extra.insert("user.id".into(), json!(uid.to_string()));
        }
        if let Some(fds) = p.fds {
            e.extra.insert("process.fd.count".into(), json!(fds));
        }
        if let Some(connections) = p.connections {
            e.extra.insert("process.connection.count".into(), json!(connections));
        }
        events.push(e);
    }
    let mut host = Event::new(EventKind::Metric, sample.at_ms);
    host.category = vec!["host".into()];
    host.action = Some("host_metrics".into());
    host.host_name = host_name.map(str::to_owned);
    host.body = Some(Body::Metrics(sample.metrics.clone()));
    events.push(host);
    events
}

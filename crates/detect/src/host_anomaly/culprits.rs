//! Which processes are behind an anomaly: each process's usage is kept
//! against its own baseline (learnt while the host was normal), and when
//! the host is anomalous every process gets its share of the increase in
//! each resource, weighted by how far that resource stood out on the host.

use std::collections::HashMap;

use rampart_core::{Body, Event};
use serde::Serialize;

use super::features::{RESOURCES, Resource};

/// Processes unseen for this long are forgotten.
const FORGET_AFTER_MS: i64 = 300_000;

/// How much of a new normal reading a baseline takes in.
const BASELINE_WEIGHT: f64 = 0.3;

/// CPU %, RSS bytes, open fds, TCP connections: indexed by `Resource`.
pub type Usage = [f64; RESOURCES.len()];

/// The least increase over its baseline, per resource, that can make a
/// process a culprit: 5% of a core, 64 MiB, 64 fds, 16 connections. Below
/// all of them a process is only the biggest of small changes — as a
/// script that wakes up just when a heavy job's last sample is read.
const MATERIAL: Usage = [5.0, 64.0 * 1024.0 * 1024.0, 64.0, 16.0];

/// A process named as (part of) the cause, as the alert carries it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Culprit {
    pub pid: u32,
    pub start_ticks: u64,
    pub start_ms: Option<i64>,
    pub name: String,
    pub cmdline: Option<String>,
    pub user: Option<String>,
    pub cpu_pct: f64,
    pub rss_bytes: f64,
    pub fds: f64,
    pub connections: f64,
    /// 0..1: its weighted share of the increase.
    pub share: f64,
    /// The process event it was read from.
    #[serde(skip)]
    pub event_id: Option<i64>,
}

struct Tracked {
    name: String,
    cmdline: Option<String>,
    user: Option<String>,
    start_ms: Option<i64>,
    event_id: Option<i64>,
    now: Usage,
    baseline: Option<Usage>,
    seen_ms: i64,
}

#[derive(Default)]
pub struct ProcessTracker {
    /// By (pid, start ticks): a reused pid is another process.
    procs: HashMap<(u32, u64), Tracked>,
    /// A process never ranked (Rampart itself).
    ignored: Option<u32>,
}

impl ProcessTracker {
    /// A tracker that never names `pid`.
    pub fn ignoring(pid: u32) -> ProcessTracker {
        ProcessTracker { procs: HashMap::new(), ignored: Some(pid) }
    }

    /// Takes in a `process_sample` event; anything else is ignored.
    pub fn observe(&mut self, event: &Event) {
        let (Some(pid), Some(Body::Process { command_line, start_ms, cpu_pct, rss_bytes, .. })) =
            (event.process_pid, &event.body)
        else {
            return;
        };
        if self.ignored == Some(pid) {
            return;
        }
        let number = |key: &str| event.extra.get(key).and_then(serde_json::Value::as_f64);
        let start_ticks = number("process.start_ticks").unwrap_or(0.0) as u64;
        let mut now: Usage = [0.0; RESOURCES.len()];
        now[Resource::Cpu as usize] = cpu_pct.unwrap_or(0.0);
        now[Resource::Memory as usize] = rss_bytes.unwrap_or(0) as f64;
        now[Resource::Fds as usize] = number("process.fd.count").unwrap_or(0.0);
        now[Resource::Connections as usize] = number("process.connection.count").unwrap_or(0.0);
        let tracked = self.procs.entry((pid, start_ticks)).or_insert_with(|| Tracked {
            name: String::new(),
            cmdline: None,
            user: None,
            start_ms: None,
            event_id: None,
            now,
            baseline: None,
            seen_ms: event.timestamp_ms,
        });
        tracked.name = event.process_name.clone().unwrap_or_default();
        tracked.cmdline = command_line.clone();
        tracked.user = event.user_name.clone();
        tracked.start_ms = *start_ms;
        tracked.event_id = event.id;
        tracked.now = now;
        tracked.seen_ms = event.timestamp_ms;
    }

    /// The host was normal at `at_ms`: what its processes did then is normal too.
    pub fn settle(&mut self, at_ms: i64) {
        self.procs.retain(|_, p| at_ms - p.seen_ms < FORGET_AFTER_MS);
        for p in self.procs.values_mut().filter(|p| p.seen_ms == at_ms) {
            let now = p.now;
            p.baseline = Some(match p.baseline {
                None => now,
                Some(b) => std::array::from_fn(|r| b[r] + BASELINE_WEIGHT * (now[r] - b[r])),
            });
        }
    }

    /// The processes seen at `at_ms`, by their weighted share of the
    /// increase over baseline (a process with no baseline is new: all of
    /// its usage is increase). `weights` are per resource, in `RESOURCES`
    /// order; all zero weighs them alike.
    pub fn rank(&self, at_ms: i64, weights: [f64; 4], top: usize) -> Vec<Culprit> {
        let weights = if weights.iter().all(|w| *w <= 0.0) { [1.0; 4] } else { weights };
        let current: Vec<(&(u32, u64), &Tracked)> = self.procs.iter().filter(|(_, p)| p.seen_ms == at_ms).collect();
        let increase = |p: &Tracked, r: usize| (p.now[r] - p.baseline.map_or(0.0, |b| b[r])).max(0.0);
        let totals: Usage = std::array::from_fn(|r| current.iter().map(|(_, p)| increase(p, r)).sum());
        let weight_sum: f64 = weights.iter().sum();
        let mut ranked: Vec<Culprit> = current
            .iter()
            .map(|&(&(pid, start_ticks), p)| {
                let share = (0..RESOURCES.len())
                    .filter(|&r| totals[r] > 0.0)
                    .map(|r| weights[r] * increase(p, r) / totals[r])
                    .sum::<f64>()
                    / weight_sum;
                Culprit {
                    pid,
                    start_ticks,
                    start_ms: p.start_ms,
                    name: p.name.clone(),
                    cmdline: p.cmdline.clone(),
                    user: p.user.clone(),
                    cpu_pct: p.now[Resource::Cpu as usize],
                    rss_bytes: p.now[Resource::Memory as usize],
                    fds: p.now[Resource::Fds as usize],
                    connections: p.now[Resource::Connections as usize],
                    share,
                    event_id: p.event_id,
                }
            })
            .filter(|c| c.share > 0.01)
            .filter(|c| {
                let p = &self.procs[&(c.pid, c.start_ticks)];
                (0..RESOURCES.len()).any(|r| increase(p, r) >= MATERIAL[r])
            })
            .collect();
        ranked.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.pid.cmp(&b.pid)));
        ranked.truncate(top);
        ranked
    }
}

#[cfg(test)]
pub(super) mod tests {
    use rampart_core::EventKind;
    use serde_json::json;

    use super::*;

    pub(crate) fn process_event(pid: u32, name: &str, at: i64, cpu: f64, rss: u64) -> Event {
        let mut e = Event::new(EventKind::State, at);
        e.action = Some("process_sample".into());
        e.process_pid = Some(pid);
        e.process_name = Some(name.into());
        e.body = Some(Body::Process {
            command_line: Some(format!("{name} --run")),
            start_ms: Some(1_000),
            cpu_pct: Some(cpu),
            rss_bytes: Some(rss),
            parent_pid: Some(1),
        });
        e.extra.insert("process.start_ticks".into(), json!(u64::from(pid) * 10));
        e
    }

    #[test]
    fn a_new_cpu_burner_outranks_a_big_steady_process() {
        let mut t = ProcessTracker::default();
        for at in [0, 2_000] {
            t.observe(&process_event(10, "postgres", at, 20.0, 4_000_000_000));
            t.observe(&process_event(11, "nginx", at, 5.0, 100_000_000));
            t.settle(at);
        }
        t.observe(&process_event(10, "postgres", 4_000, 22.0, 4_000_000_000));
        t.observe(&process_event(11, "nginx", 4_000, 5.0, 100_000_000));
        t.observe(&process_event(12, "xmrig", 4_000, 98.0, 50_000_000));
        let ranked = t.rank(4_000, [5.0, 0.0, 0.0, 0.0], 3);
        assert_eq!(ranked[0].name, "xmrig");
        assert!(ranked[0].share > 0.9, "{ranked:?}");
        assert_eq!((ranked[0].start_ticks, ranked[0].cmdline.as_deref()), (120, Some("xmrig --run")));
        assert!(ranked.iter().all(|c| c.name != "nginx"), "no increase, no blame");
        // Weighted by memory instead, the burner's 50 MB is all the increase there is.
        assert_eq!(t.rank(4_000, [0.0, 1.0, 0.0, 0.0], 1)[0].name, "xmrig");
    }

    #[test]
    fn baselines_move_only_on_normal_samples_and_old_processes_are_forgotten() {
        let mut t = ProcessTracker::default();
        t.observe(&process_event(12, "burner", 0, 0.0, 0));
        t.settle(0);
        t.observe(&process_event(12, "burner", 2_000, 100.0, 0));
        // Anomalous: not settled. Still all increase at the next sample.
        t.observe(&process_event(12, "burner", 4_000, 100.0, 0));
        assert!((t.rank(4_000, [1.0, 0.0, 0.0, 0.0], 1)[0].share - 1.0).abs() < 1e-9);
        t.settle(FORGET_AFTER_MS + 10_000);
        assert!(t.procs.is_empty());
        assert!(t.rank(4_000, [0.0; 4], 3).is_empty());
    }
}

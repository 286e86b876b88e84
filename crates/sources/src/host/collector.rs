//! `HostCollector`: one read of /proc becomes a `HostSample` — system gauges,
//! counters turned into rates against the previous read, and the top
//! processes by CPU and by memory. The root is a parameter so tests can
//! point it at a fixture tree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::process::{ProcStat, parse_cmdline, parse_passwd, parse_proc_stat, parse_status_uid};
use super::procfs::{
    CpuTimes, DiskCounters, NetCounters, Stat, TCP_STATES, TcpSocket, parse_diskstats, parse_file_nr, parse_loadavg,
    parse_meminfo, parse_net_dev, parse_net_tcp, parse_stat,
};

/// What the collector saw of one process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSample {
    pub pid: u32,
    pub ppid: u32,
    pub name: String,
    pub cmdline: String,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Clock ticks after boot: with the pid, names the process uniquely.
    pub start_ticks: u64,
    pub start_ms: i64,
    /// Of one core, over the last interval (100 = one core busy).
    pub cpu_pct: f64,
    pub rss_bytes: u64,
    pub threads: u64,
    /// Open descriptors and TCP connections; `None` when /proc/PID/fd is unreadable.
    pub fds: Option<u64>,
    pub connections: Option<u64>,
}

/// One collection: named gauges and rates, and the top processes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSample {
    pub at_ms: i64,
    pub metrics: BTreeMap<String, f64>,
    pub processes: Vec<ProcessSample>,
    /// Files that could not be read or parsed this time (their metrics are
    /// missing from `metrics`); one message each, naming the file.
    pub errors: Vec<String>,
}

/// The counters the next sample needs to turn into rates.
struct Previous {
    at_ms: i64,
    stat: Stat,
    net: BTreeMap<String, NetCounters>,
    disk: Option<DiskCounters>,
    /// pid → (start ticks, CPU ticks).
    cpu: HashMap<u32, (u64, u64)>,
}

pub struct HostCollector {
    root: PathBuf,
    passwd: PathBuf,
    hz: u64,
    page_size: u64,
    top: usize,
    previous: Option<Previous>,
    users: Option<HashMap<u32, String>>,
}

impl HostCollector {
    /// Reads the live /proc; `top` processes by CPU and as many by memory.
    pub fn new(top: usize) -> HostCollector {
        let hz = rustix::param::clock_ticks_per_second();
        let page_size = rustix::param::page_size() as u64;
        HostCollector::at("/proc".into(), "/etc/passwd".into(), hz, page_size, top)
    }

    pub fn at(root: PathBuf, passwd: PathBuf, hz: u64, page_size: u64, top: usize) -> HostCollector {
        HostCollector { root, passwd, hz: hz.max(1), page_size, top, previous: None, users: None }
    }

    /// One read of /proc. The first call only primes the counters and
    /// returns `None`: rates need two reads.
    pub fn sample(&mut self, at_ms: i64) -> Option<HostSample> {
        let mut sample = HostSample { at_ms, ..HostSample::default() };
        let stat = self.read("stat", &mut sample.errors, parse_stat).unwrap_or_default();
        let net = self.read("net/dev", &mut sample.errors, parse_net_dev).unwrap_or_default();
        let disk = self.read_disks(&mut sample.errors);
        let (procs, cpu_now) = self.read_processes();
        let previous =
            self.previous.replace(Previous { at_ms, stat: stat.clone(), net: net.clone(), disk, cpu: cpu_now });
        let previous = previous?;
        let seconds = ((at_ms - previous.at_ms) as f64 / 1000.0).max(0.001);
        let m = &mut sample.metrics;

        cpu_metrics(m, &stat, &previous.stat);
        let rate = |now: u64, before: u64| now.saturating_sub(before) as f64 / seconds;
        m.insert("processes.forks_per_sec".into(), rate(stat.forks, previous.stat.forks));
        m.insert("processes.running".into(), stat.running as f64);
        m.insert("processes.blocked".into(), stat.blocked as f64);
        if let Some(load) = self.read("loadavg", &mut sample.errors, parse_loadavg) {
            for (name, value) in ["load.1", "load.5", "load.15"].into_iter().zip(load) {
                m.insert(name.into(), value);
            }
        }
        if let Some(mem) = self.read("meminfo", &mut sample.errors, parse_meminfo) {
            memory_metrics(m, &mem);
        }
        net_metrics(m, &net, &previous.net, seconds);
        if let (Some(now), Some(before)) = (disk, previous.disk) {
            m.insert("disk.read.bytes_per_sec".into(), rate(now.read_bytes, before.read_bytes));
            m.insert("disk.write.bytes_per_sec".into(), rate(now.written_bytes, before.written_bytes));
            m.insert("disk.read.ops_per_sec".into(), rate(now.reads, before.reads));
            m.insert("disk.write.ops_per_sec".into(), rate(now.writes, before.writes));
        }
        if let Some(open) = self.read("sys/fs/file-nr", &mut sample.errors, parse_file_nr) {
            m.insert("fd.open".into(), open as f64);
        }
        let sockets = self.read_tcp(&mut sample.errors);
        let mut states = [0u64; TCP_STATES.len()];
        for socket in &sockets {
            states[usize::from(socket.state) - 1] += 1;
        }
        for (name, count) in TCP_STATES.iter().zip(states) {
            m.insert(format!("tcp.{name}"), count as f64);
        }
        m.insert("tcp.total".into(), sockets.len() as f64);
        m.insert("processes.count".into(), procs.len() as f64);
        m.insert("processes.threads".into(), procs.iter().map(|p| p.threads).sum::<u64>() as f64);

        sample.processes = self.top_processes(procs, &previous, seconds, &stat, &sockets);
        Some(sample)
    }

    fn read<T>(
        &self,
        file: &str,
        errors: &mut Vec<String>,
        parse: impl FnOnce(&str) -> Result<T, crate::error::ProcError>,
    ) -> Option<T> {
        let path = self.root.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).map_err(|e| errors.push(e.to_string())).ok(),
            // Containers and old kernels hide some files: their metrics are absent, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                errors.push(format!("{}: {e}", path.display()));
                None
            }
        }
    }

    /// Whole disks only: names in /sys/block (beside the /proc root) that
    /// are not loop, RAM or device-mapper devices, which would count twice.
    fn read_disks(&self, errors: &mut Vec<String>) -> Option<DiskCounters> {
        let block = self.root.parent().unwrap_or(Path::new("/")).join("sys/block");
        let disks: HashSet<String> = std::fs::read_dir(block)
            .map(|dir| dir.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        let virtual_device = |name: &str| ["loop", "ram", "zram", "dm-", "md"].iter().any(|p| name.starts_with(p));
        self.read("diskstats", errors, |text| {
            parse_diskstats(text, |name| disks.contains(name) && !virtual_device(name))
        })
    }

    fn read_tcp(&self, errors: &mut Vec<String>) -> Vec<TcpSocket> {
        let mut sockets = self.read("net/tcp", errors, parse_net_tcp).unwrap_or_default();
        sockets.extend(self.read("net/tcp6", errors, parse_net_tcp).unwrap_or_default());
        sockets
    }

    /// Every process's stat; a process that exits mid-read is skipped.
    fn read_processes(&self) -> (Vec<ProcStat>, HashMap<u32, (u64, u64)>) {
        let mut procs = Vec::new();
        if let Ok(dir) = std::fs::read_dir(&self.root) {
            for entry in dir.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
                let Ok(text) = std::fs::read_to_string(self.root.join(pid.to_string()).join("stat")) else {
                    continue;
                };
                if let Ok(stat) = parse_proc_stat(&text) {
                    procs.push(stat);
                }
            }
        }
        let cpu = procs.iter().map(|p| (p.pid, (p.start_ticks, p.cpu_ticks))).collect();
        (procs, cpu)
    }

    fn top_processes(
        &mut self,
        procs: Vec<ProcStat>,
        previous: &Previous,
        seconds: f64,
        stat: &Stat,
        sockets: &[TcpSocket],
    ) -> Vec<ProcessSample> {
        let hz = self.hz as f64;
        let with_cpu: Vec<(ProcStat, f64)> = procs
            .into_iter()
            .map(|p| {
                // A process new since the last read spent all its ticks in this interval.
                let before = match previous.cpu.get(&p.pid) {
                    Some(&(start, ticks)) if start == p.start_ticks => ticks,
                    _ => 0,
                };
                let pct = 100.0 * p.cpu_ticks.saturating_sub(before) as f64 / hz / seconds;
                (p, pct)
            })
            .collect();
        let mut chosen: Vec<usize> = Vec::new();
        let mut by = |key: &dyn Fn(&(ProcStat, f64)) -> f64| {
            let mut order: Vec<usize> = (0..with_cpu.len()).collect();
            order.sort_by(|&a, &b| key(&with_cpu[b]).total_cmp(&key(&with_cpu[a])));
            for i in order.into_iter().take(self.top) {
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
        };
        by(&|(_, pct)| *pct);
        by(&|(p, _)| p.rss_pages as f64);
        let connected: HashSet<u64> = sockets.iter().filter(|s| s.state != 10).map(|s| s.inode).collect();
        chosen
            .into_iter()
            .map(|i| {
                let (p, cpu_pct) = &with_cpu[i];
                self.describe(p, *cpu_pct, stat, &connected)
            })
            .collect()
    }

    /// The details read only for the chosen few: cmdline, user, fds, connections.
    fn describe(&mut self, p: &ProcStat, cpu_pct: f64, stat: &Stat, connected: &HashSet<u64>) -> ProcessSample {
        let dir = self.root.join(p.pid.to_string());
        // Redacted here, where it is read: nothing downstream (store, alerts,
        // the dashboard) ever holds a secret from a command line.
        let cmdline = std::fs::read(dir.join("cmdline"))
            .map(|b| super::redact::redact_command_line(&parse_cmdline(&b)))
            .unwrap_or_default();
        let uid = std::fs::read_to_string(dir.join("status")).ok().and_then(|t| parse_status_uid(&t).ok());
        let user = uid.and_then(|uid| self.user_name(uid));
        let (fds, connections) = match std::fs::read_dir(dir.join("fd")) {
            Ok(entries) => {
                let (mut fds, mut connections) = (0, Some(0));
                for entry in entries.flatten() {
                    fds += 1;
                    // Listing may be allowed where reading the links is not (a
                    // sandbox's PID 1): then the connections are unknown, and
                    // one refusal is enough to stop asking.
                    let Some(count) = connections.as_mut() else { continue };
                    match std::fs::read_link(entry.path()) {
                        Ok(target) => {
                            let inode = target
                                .to_str()
                                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok());
                            if inode.is_some_and(|i: u64| connected.contains(&i)) {
                                *count += 1;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => connections = None,
                        Err(_) => {}
                    }
                }
                (Some(fds), connections)
            }
            Err(_) => (None, None),
        };
        let start_ms = (stat.boot_time_secs * 1000 + p.start_ticks * 1000 / self.hz) as i64;
        ProcessSample {
            pid: p.pid,
            ppid: p.ppid,
            name: p.name.clone(),
            cmdline,
            uid,
            user,
            start_ticks: p.start_ticks,
            start_ms,
            cpu_pct,
            rss_bytes: p.rss_pages * self.page_size,
            threads: p.threads,
            fds,
            connections,
        }
    }

    fn user_name(&mut self, uid: u32) -> Option<String> {
        let passwd = &self.passwd;
        let users = self
            .users
            .get_or_insert_with(|| std::fs::read_to_string(passwd).map(|t| parse_passwd(&t)).unwrap_or_default());
        Some(users.get(&uid).cloned().unwrap_or_else(|| uid.to_string()))
    }
}

fn cpu_metrics(m: &mut BTreeMap<String, f64>, stat: &Stat, before: &Stat) {
    let share = |now: &CpuTimes, then: &CpuTimes, part: fn(&CpuTimes) -> u64| {
        let total = now.total().saturating_sub(then.total());
        if total == 0 { 0.0 } else { 100.0 * part(now).saturating_sub(part(then)) as f64 / total as f64 }
    };
    m.insert("cpu.total.pct".into(), stat.total.busy_pct_since(&before.total));
    m.insert("cpu.user.pct".into(), share(&stat.total, &before.total, |t| t.user + t.nice));
    m.insert("cpu.system.pct".into(), share(&stat.total, &before.total, |t| t.system + t.irq + t.softirq));
    m.insert("cpu.iowait.pct".into(), share(&stat.total, &before.total, |t| t.iowait));
    m.insert("cpu.steal.pct".into(), share(&stat.total, &before.total, |t| t.steal));
    m.insert("cpu.cores".into(), stat.per_cpu.len() as f64);
    for (i, (now, then)) in stat.per_cpu.iter().zip(&before.per_cpu).enumerate() {
        m.insert(format!("cpu.core.{i}.pct"), now.busy_pct_since(then));
    }
}

fn memory_metrics(m: &mut BTreeMap<String, f64>, mem: &BTreeMap<String, u64>) {
    let get = |k: &str| mem.get(k).copied();
    if let Some(total) = get("MemTotal") {
        // Kernels before 3.14 have no MemAvailable: free + page cache is the old estimate.
        let available = get("MemAvailable")
            .unwrap_or_else(|| get("MemFree").unwrap_or(0) + get("Cached").unwrap_or(0) + get("Buffers").unwrap_or(0));
        let used = total.saturating_sub(available);
        m.insert("memory.total.bytes".into(), total as f64);
        m.insert("memory.available.bytes".into(), available as f64);
        m.insert("memory.used.bytes".into(), used as f64);
        m.insert("memory.used.pct".into(), if total == 0 { 0.0 } else { 100.0 * used as f64 / total as f64 });
    }
    if let (Some(total), Some(free)) = (get("SwapTotal"), get("SwapFree")) {
        let used = total.saturating_sub(free);
        m.insert("swap.total.bytes".into(), total as f64);
        m.insert("swap.used.bytes".into(), used as f64);
        m.insert("swap.used.pct".into(), if total == 0 { 0.0 } else { 100.0 * used as f64 / total as f64 });
    }
}

/// Per interface and summed over all but loopback.
fn net_metrics(
    m: &mut BTreeMap<String, f64>,
    now: &BTreeMap<String, NetCounters>,
    before: &BTreeMap<String, NetCounters>,
    seconds: f64,
) {
    type Field = fn(&NetCounters) -> u64;
    const FIELDS: [(&str, Field); 8] = [
        ("rx.bytes_per_sec", |c| c.rx_bytes),
        ("tx.bytes_per_sec", |c| c.tx_bytes),
        ("rx.packets_per_sec", |c| c.rx_packets),
        ("tx.packets_per_sec", |c| c.tx_packets),
        ("rx.errors_per_sec", |c| c.rx_errors),
        ("tx.errors_per_sec", |c| c.tx_errors),
        ("rx.drops_per_sec", |c| c.rx_drops),
        ("tx.drops_per_sec", |c| c.tx_drops),
    ];
    let mut totals = [0.0; FIELDS.len()];
    for (name, counters) in now {
        // An interface that appeared since the last read has no rate yet.
        let Some(then) = before.get(name) else { continue };
        for (i, (suffix, field)) in FIELDS.iter().enumerate() {
            let rate = field(counters).saturating_sub(field(then)) as f64 / seconds;
            m.insert(format!("net.iface.{name}.{suffix}"), rate);
            if name != "lo" {
                totals[i] += rate;
            }
        }
    }
    for ((suffix, _), total) in FIELDS.iter().zip(totals) {
        m.insert(format!("net.{suffix}"), total);
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;

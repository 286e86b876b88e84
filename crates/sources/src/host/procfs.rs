//! Parsers for the /proc files the host collector reads. Pure: text in,
//! numbers out, so they are tested on fixtures (including kernels that
//! print fewer fields) as well as on the live /proc. A line or field that
//! does not parse is an error naming the file and the line; a field that a
//! kernel does not print is zero, not an error (older kernels print fewer
//! CPU columns; containers hide some files).

use std::collections::BTreeMap;

use crate::error::ProcError;

/// Jiffies per CPU state, from a `cpu` / `cpuN` line of /proc/stat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    pub fn total(&self) -> u64 {
        self.user + self.nice + self.system + self.idle + self.iowait + self.irq + self.softirq + self.steal
    }

    pub fn busy(&self) -> u64 {
        self.total() - self.idle - self.iowait
    }

    /// Busy share of the time between `earlier` and `self`, in percent.
    pub fn busy_pct_since(&self, earlier: &CpuTimes) -> f64 {
        let total = self.total().saturating_sub(earlier.total());
        if total == 0 {
            return 0.0;
        }
        100.0 * self.busy().saturating_sub(earlier.busy()) as f64 / total as f64
    }
}

/// What /proc/stat says: all CPUs, each CPU, and the process counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    pub total: CpuTimes,
    pub per_cpu: Vec<CpuTimes>,
    /// Processes created since boot (`processes`).
    pub forks: u64,
    pub running: u64,
    pub blocked: u64,
    /// Boot time, seconds since the epoch (`btime`).
    pub boot_time_secs: u64,
}

pub(super) fn err(file: &str, line: usize, what: &str) -> ProcError {
    ProcError { file: file.to_owned(), line: line + 1, reason: what.to_owned() }
}

pub(super) fn numbers(file: &str, n: usize, fields: &[&str]) -> Result<Vec<u64>, ProcError> {
    fields.iter().map(|f| f.parse::<u64>().map_err(|_| err(file, n, &format!("{f:?} is not a count")))).collect()
}

pub fn parse_stat(text: &str) -> Result<Stat, ProcError> {
    let mut stat = Stat::default();
    for (n, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let Some(key) = fields.next() else { continue };
        let rest: Vec<&str> = fields.collect();
        if key.starts_with("cpu") {
            let v = numbers("/proc/stat", n, &rest)?;
            let at = |i: usize| v.get(i).copied().unwrap_or(0);
            let times = CpuTimes {
                user: at(0),
                nice: at(1),
                system: at(2),
                idle: at(3),
                iowait: at(4),
                irq: at(5),
                softirq: at(6),
                steal: at(7),
            };
            if key == "cpu" {
                stat.total = times;
            } else {
                stat.per_cpu.push(times);
            }
        } else if let ("processes" | "procs_running" | "procs_blocked" | "btime", Some(v)) = (key, rest.first()) {
            let v = numbers("/proc/stat", n, &[v])?[0];
            match key {
                "processes" => stat.forks = v,
                "procs_running" => stat.running = v,
                "btime" => stat.boot_time_secs = v,
                _ => stat.blocked = v,
            }
        }
    }
    Ok(stat)
}

/// /proc/meminfo in bytes, by field name (`MemTotal`, `MemAvailable`…).
pub fn parse_meminfo(text: &str) -> Result<BTreeMap<String, u64>, ProcError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let Some((name, rest)) = line.split_once(':') else { continue };
        let mut parts = rest.split_whitespace();
        let value = parts.next().ok_or_else(|| err("/proc/meminfo", n, "no value"))?;
        let value: u64 = value.parse().map_err(|_| err("/proc/meminfo", n, &format!("{value:?} is not a number")))?;
        let scale = if parts.next() == Some("kB") { 1024 } else { 1 };
        out.insert(name.trim().to_owned(), value.saturating_mul(scale));
    }
    Ok(out)
}

/// The 1, 5 and 15 minute load averages.
pub fn parse_loadavg(text: &str) -> Result<[f64; 3], ProcError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let get = |i: usize| -> Result<f64, ProcError> {
        let f = fields.get(i).ok_or_else(|| err("/proc/loadavg", 0, "fewer than three averages"))?;
        f.parse().map_err(|_| err("/proc/loadavg", 0, &format!("{f:?} is not a number")))
    };
    Ok([get(0)?, get(1)?, get(2)?])
}

/// Per-interface counters from /proc/net/dev.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_drops: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_drops: u64,
}

pub fn parse_net_dev(text: &str) -> Result<BTreeMap<String, NetCounters>, ProcError> {
    let mut out = BTreeMap::new();
    // Two header lines, then `name: 16 counters`.
    for (n, line) in text.lines().enumerate().skip(2) {
        let Some((name, rest)) = line.split_once(':') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() < 12 {
            return Err(err("/proc/net/dev", n, &format!("{} counters, expected 16", fields.len())));
        }
        let v = numbers("/proc/net/dev", n, &fields)?;
        out.insert(
            name.trim().to_owned(),
            NetCounters {
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                rx_drops: v[3],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
                tx_drops: v[11],
            },
        );
    }
    Ok(out)
}

/// Reads and writes of whole disks from /proc/diskstats, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub reads: u64,
    pub read_bytes: u64,
    pub writes: u64,
    pub written_bytes: u64,
}

/// Sums the devices `is_disk` accepts (the collector passes the names in
/// /sys/block that are not loop or RAM devices, so partitions are not
/// counted twice). Sectors in diskstats are 512 bytes whatever the device.
pub fn parse_diskstats(text: &str, is_disk: impl Fn(&str) -> bool) -> Result<DiskCounters, ProcError> {
    let mut sum = DiskCounters::default();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() < 14 {
            return Err(err("/proc/diskstats", n, &format!("{} fields, expected at least 14", fields.len())));
        }
        if !is_disk(fields[2]) {
            continue;
        }
        let v = numbers("/proc/diskstats", n, &[fields[3], fields[5], fields[7], fields[9]])?;
        sum.reads += v[0];
        sum.read_bytes += v[1] * 512;
        sum.writes += v[2];
        sum.written_bytes += v[3] * 512;
    }
    Ok(sum)
}

/// Open file handles system-wide, from /proc/sys/fs/file-nr
/// (allocated − free; the kernel has reported 0 free since 2.6).
pub fn parse_file_nr(text: &str) -> Result<u64, ProcError> {
    let v = numbers("/proc/sys/fs/file-nr", 0, &text.split_whitespace().take(2).collect::<Vec<_>>())?;
    match v[..] {
        [allocated, free] => Ok(allocated.saturating_sub(free)),
        _ => Err(err("/proc/sys/fs/file-nr", 0, "fewer than two numbers")),
    }
}

/// TCP states in /proc/net/tcp's `st` column, by their kernel number.
pub const TCP_STATES: [&str; 11] = [
    "established",
    "syn_sent",
    "syn_recv",
    "fin_wait1",
    "fin_wait2",
    "time_wait",
    "close",
    "close_wait",
    "last_ack",
    "listen",
    "closing",
];

/// One socket from /proc/net/tcp or tcp6: its state (1-based index into
/// `TCP_STATES`) and inode (which ties it to a process's fds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    pub state: u8,
    pub inode: u64,
}

pub fn parse_net_tcp(text: &str) -> Result<Vec<TcpSocket>, ProcError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let (Some(state), Some(inode)) = (fields.get(3), fields.get(9)) else {
            return Err(err("/proc/net/tcp", n, &format!("{} fields, expected at least 10", fields.len())));
        };
        let state = u8::from_str_radix(state, 16)
            .ok()
            .filter(|s| (1..=TCP_STATES.len() as u8).contains(s))
            .ok_or_else(|| err("/proc/net/tcp", n, &format!("{state:?} is not a TCP state")))?;
        let inode = inode.parse().map_err(|_| err("/proc/net/tcp", n, &format!("{inode:?} is not an inode")))?;
        out.push(TcpSocket { state, inode });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_all_fields_and_with_an_old_kernels_four() {
        let text = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 60 0 20 400 20 0 0 0 0 0\ncpu1 40 0 30 400 30 0 0 0 0 0\n\
                    intr 1 2 3\nprocesses 4242\nprocs_running 3\nprocs_blocked 1\n";
        let s = parse_stat(text).unwrap();
        assert_eq!((s.total.total(), s.total.busy(), s.per_cpu.len()), (1000, 150, 2));
        assert_eq!((s.forks, s.running, s.blocked), (4242, 3, 1));
        let old = parse_stat("cpu 10 0 10 80\n").unwrap();
        assert_eq!((old.total.total(), old.total.iowait), (100, 0));
        let later = CpuTimes { user: 20, idle: 170, ..old.total };
        assert_eq!(later.busy_pct_since(&old.total), 10.0);
        assert!(parse_stat("cpu 10 x\n").unwrap_err().to_string().contains("line 1"));
    }

    #[test]
    fn meminfo_loadavg_and_net_dev() {
        let mem =
            parse_meminfo("MemTotal:       1000 kB\nMemAvailable:    500 kB\nHugePages_Total:       0\n").unwrap();
        assert_eq!((mem["MemTotal"], mem["MemAvailable"], mem["HugePages_Total"]), (1_024_000, 512_000, 0));
        assert_eq!(parse_loadavg("0.50 1.00 1.50 2/300 123\n").unwrap(), [0.5, 1.0, 1.5]);
        assert!(parse_loadavg("0.5\n").unwrap_err().to_string().contains("three"));
        let dev = "Inter-|   Receive\n face |bytes\n  eth0: 100 2 0 1 0 0 0 0 300 4 0 0 0 0 0 0\n";
        let n = parse_net_dev(dev).unwrap();
        assert_eq!((n["eth0"].rx_bytes, n["eth0"].rx_drops, n["eth0"].tx_packets), (100, 1, 4));
        assert!(parse_net_dev("a\nb\n eth0: 1 2\n").unwrap_err().to_string().contains("line 3"));
    }

    #[test]
    fn diskstats_file_nr_and_tcp() {
        let disks = "   7 0 loop0 9 0 9 0 0 0 0 0 0 0 0 0 0 0 0\n 253 0 vda 100 0 2000 50 40 0 800 10 0 0 0 0 0 0 0\n \
                     253 1 vda1 90 0 1800 40 30 0 700 9 0 0 0\n";
        let d = parse_diskstats(disks, |name| name == "vda").unwrap();
        assert_eq!(d, DiskCounters { reads: 100, read_bytes: 1_024_000, writes: 40, written_bytes: 409_600 });
        assert!(parse_diskstats("8 0 sda 1 2\n", |_| true).unwrap_err().to_string().contains("line 1"));
        assert_eq!(parse_file_nr("305\t0\t2466170\n").unwrap(), 305);
        assert!(parse_file_nr("x").is_err());
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1667 1\n\
                   1: 020200C0:9F92 507100CB:0050 01 00000000:00000000 03:0000002E 00000000     0        0 0 3\n";
        let sockets = parse_net_tcp(tcp).unwrap();
        assert_eq!(sockets, vec![TcpSocket { state: 10, inode: 1667 }, TcpSocket { state: 1, inode: 0 }]);
        assert_eq!(TCP_STATES[9], "listen");
        assert!(parse_net_tcp("h\n 0: a b 0C x x x x x 1\n").unwrap_err().to_string().contains("not a TCP state"));
    }

    #[test]
    fn the_live_proc_parses() {
        let stat = parse_stat(&std::fs::read_to_string("/proc/stat").unwrap()).unwrap();
        assert!(stat.total.total() > 0 && !stat.per_cpu.is_empty());
        assert!(parse_meminfo(&std::fs::read_to_string("/proc/meminfo").unwrap()).unwrap()["MemTotal"] > 0);
        parse_loadavg(&std::fs::read_to_string("/proc/loadavg").unwrap()).unwrap();
        assert!(parse_net_dev(&std::fs::read_to_string("/proc/net/dev").unwrap()).unwrap().contains_key("lo"));
        assert!(parse_stat(&std::fs::read_to_string("/proc/stat").unwrap()).unwrap().boot_time_secs > 1_000_000_000);
        parse_diskstats(&std::fs::read_to_string("/proc/diskstats").unwrap(), |_| true).unwrap();
        parse_file_nr(&std::fs::read_to_string("/proc/sys/fs/file-nr").unwrap()).unwrap();
        parse_net_tcp(&std::fs::read_to_string("/proc/net/tcp").unwrap()).unwrap();
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,200}") {
            let _ = parse_stat(&text);
            let _ = parse_meminfo(&text);
            let _ = parse_loadavg(&text);
            let _ = parse_net_dev(&text);
            let _ = parse_diskstats(&text, |_| true);
            let _ = parse_file_nr(&text);
            let _ = parse_net_tcp(&text);
        }
    }
}

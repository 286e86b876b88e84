//! The host metrics the model looks at, as one vector per sample, and which
//! resource each stands for (so culprits are ranked by what changed).

use std::collections::BTreeMap;

/// What a process can be blamed for; the discriminant indexes per-resource arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cpu = 0,
    Memory = 1,
    Fds = 2,
    Connections = 3,
}

pub const RESOURCES: [Resource; 4] = [Resource::Cpu, Resource::Memory, Resource::Fds, Resource::Connections];

/// Feature names; `cpu.core.max.pct` (the busiest core) and
/// `net.faults_per_sec` (errors and drops both ways) are derived here.
pub const FEATURES: [&str; 24] = [
    "cpu.total.pct",
    "cpu.core.max.pct",
    "cpu.user.pct",
    "cpu.system.pct",
    "cpu.iowait.pct",
    "load.1",
    "processes.running",
    "memory.used.pct",
    "swap.used.pct",
    "net.rx.bytes_per_sec",
    "net.tx.bytes_per_sec",
    "net.rx.packets_per_sec",
    "net.tx.packets_per_sec",
    "net.faults_per_sec",
    "disk.read.bytes_per_sec",
    "disk.write.bytes_per_sec",
    "fd.open",
    "processes.count",
    "processes.threads",
    "processes.forks_per_sec",
    "tcp.established",
    "tcp.syn_recv",
    "tcp.time_wait",
    "tcp.total",
];

pub fn resource_of(feature: &str) -> Option<Resource> {
    match feature {
        f if f.starts_with("cpu.") || f == "load.1" || f == "processes.running" => Some(Resource::Cpu),
        f if f.starts_with("memory.") || f.starts_with("swap.") => Some(Resource::Memory),
        "fd.open" => Some(Resource::Fds),
        f if f.starts_with("tcp.") => Some(Resource::Connections),
        _ => None,
    }
}

/// The raw values, in `FEATURES` order; a metric the host does not report is 0.
pub fn raw_vector(metrics: &BTreeMap<String, f64>) -> Vec<f64> {
    let get = |k: &str| metrics.get(k).copied().filter(|v| v.is_finite()).unwrap_or(0.0);
    FEATURES
        .iter()
        .map(|&name| match name {
            "cpu.core.max.pct" => metrics
                .range("cpu.core.".to_owned()..)
                .take_while(|(k, _)| k.starts_with("cpu.core."))
                .map(|(_, v)| *v)
                .fold(0.0, f64::max),
            "net.faults_per_sec" => {
                ["net.rx.errors_per_sec", "net.tx.errors_per_sec", "net.rx.drops_per_sec", "net.tx.drops_per_sec"]
                    .into_iter()
                    .map(get)
                    .sum()
            }
            name => get(name),
        })
        .collect()
}

/// What the model sees: ln(1 + x), so bytes per second and percentages
/// spread alike and a burst is judged by its ratio to normal.
pub fn model_vector(raw: &[f64]) -> Vec<f64> {
    raw.iter().map(|v| v.max(0.0).ln_1p()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_features_and_missing_metrics() {
        let metrics: BTreeMap<String, f64> = [
            ("cpu.total.pct", 30.0),
            ("cpu.core.0.pct", 10.0),
            ("cpu.core.1.pct", 50.0),
            ("cpu.cores", 2.0),
            ("net.rx.errors_per_sec", 1.0),
            ("net.tx.drops_per_sec", 2.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let raw = raw_vector(&metrics);
        assert_eq!((raw[0], raw[1], raw[13], raw[16]), (30.0, 50.0, 3.0, 0.0));
        assert_eq!(model_vector(&[0.0, -1.0])[..], [0.0, 0.0]);
        assert_eq!(resource_of("cpu.core.max.pct"), Some(Resource::Cpu));
        assert_eq!(resource_of("tcp.syn_recv"), Some(Resource::Connections));
        assert_eq!(resource_of("net.rx.bytes_per_sec"), None);
    }
}

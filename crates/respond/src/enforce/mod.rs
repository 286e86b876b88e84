//! Enforcers: what puts decisions in force. A `Firewall` for addresses
//! (nftables, or ipset + iptables on hosts without nftables), signals for
//! processes.

pub mod ipset;
pub mod nftables;
pub mod process;

use rampart_core::Decision;

/// What a firewall holds now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirewallStatus {
    pub present: bool,
    /// Its sets, by name.
    pub sets: Vec<String>,
    /// Each element: its set, its address or range, its seconds left
    /// (`None`: no timeout).
    pub elements: Vec<(String, String, Option<u64>)>,
}

/// Puts address decisions (bans, rate limits) in force. Every method
/// reports per decision where it takes several, so one bad element fails
/// alone and is audited as such.
pub trait Firewall: Send + Sync {
    /// Names the enforcer in actions and metrics.
    fn name(&self) -> &'static str;
    /// Creates what is missing (tables, sets, rules); contents are kept.
    fn ensure(&self) -> Result<(), String>;
    fn add(&self, decisions: &[Decision], now_ms: i64) -> Vec<Result<(), String>>;
    /// An element already gone counts as removed.
    fn remove(&self, decisions: &[Decision]) -> Vec<Result<(), String>>;
    /// Makes the firewall hold exactly `active`.
    fn reconcile(&self, active: &[Decision], now_ms: i64) -> Result<Vec<Result<(), String>>, String>;
    /// Removes everything Rampart made. Absent is fine.
    fn teardown(&self) -> Result<(), String>;
    fn status(&self) -> Result<FirewallStatus, String>;
}

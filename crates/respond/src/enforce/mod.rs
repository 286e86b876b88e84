//! Enforcers: what puts decisions in force. A `Firewall` for addresses
//! (nftables, or ipset + iptables on hosts without nftables), signals for
//! processes.

pub mod ipset;
pub mod nftables;
pub mod process;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use rampart_core::Decision;

/// Runs `program` with `args` (an argument vector, never a shell line) and
/// `input` on its stdin. A failure is the first lines of its stderr: nft
/// repeats the whole input in its errors, and the first lines say what.
pub(crate) fn run_program(program: &Path, args: &[&str], input: Option<&[u8]>) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(input).map_err(|e| format!("writing to {}: {e}", program.display()))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("waiting for {}: {e}", program.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    Err(text.lines().take(3).collect::<Vec<_>>().join(" ").chars().take(500).collect())
}

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

/// Rampart's nftables table as `[respond.nftables]` configures it.
pub fn nft_table_for(nft: &rampart_core::config::NftablesConfig) -> nftables::NftTable {
    nftables::NftTable {
        program: nft.program.clone(),
        table: nft.table.clone(),
        forward: nft.forward,
        rate_per_sec: nft.rate_limit_per_sec,
    }
}

/// The firewall `respond.firewall` names; `auto` takes nftables when `nft`
/// runs here and falls back to ipset + iptables when only those do.
pub fn firewall_for(respond: &rampart_core::config::RespondConfig) -> Box<dyn Firewall> {
    let nft = nft_table_for(&respond.nftables);
    let ipset = ipset::IpsetFirewall::new(&respond.nftables.table);
    let runs = |program: &std::path::Path| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    use rampart_core::config::FirewallKind;
    match respond.firewall {
        FirewallKind::Ipset => Box::new(ipset),
        FirewallKind::Auto if !runs(&nft.program) && runs(&ipset.ipset) => {
            tracing::info!("nftables not found; using ipset + iptables.");
            Box::new(ipset)
        }
        _ => Box::new(nft),
    }
}

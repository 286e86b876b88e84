//! The `Enforcer` seam: what puts decisions in force. nftables (or ipset +
//! iptables on hosts without nftables) for addresses, signals for
//! processes; the responder routes each decision to the enforcer that
//! `handles` its target, so a new kind (a proxy's block list, a cloud
//! firewall) is one more implementation.

pub mod ipset;
pub mod nftables;
pub mod process;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use rampart_core::{Decision, Target};

pub use crate::error::EnforceError;

/// Runs `program` with `args` (an argument vector, never a shell line) and
/// `input` on its stdin. A refusal carries the first lines of its stderr:
/// nft repeats the whole input in its errors, and the first lines say what.
pub(crate) fn run_program(program: &Path, args: &[&str], input: Option<&[u8]>) -> Result<(), EnforceError> {
    let spawn_error = |e: std::io::Error| EnforceError::Spawn { program: program.to_owned(), reason: e.to_string() };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(input).map_err(spawn_error)?;
    }
    let out = child.wait_with_output().map_err(spawn_error)?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let stderr = text.lines().take(3).collect::<Vec<_>>().join(" ").chars().take(500).collect();
    Err(EnforceError::Refused { program: program.to_owned(), stderr })
}

/// What an enforcer holds now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnforcerStatus {
    pub present: bool,
    /// Its sets, by name.
    pub sets: Vec<String>,
    /// Each element: its set, its address or range, its seconds left
    /// (`None`: no timeout).
    pub elements: Vec<(String, String, Option<u64>)>,
}

/// What applying one decision did, in words for the audit trail (empty
/// when there is nothing to add to "applied").
pub type Applied = Result<String, EnforceError>;

/// Puts decisions in force. Every method reports per decision where it
/// takes several, so one bad element fails alone and is audited as such.
pub trait Enforcer: Send + Sync {
    /// Names the enforcer in actions and metrics.
    fn name(&self) -> &'static str;
    /// Whether decisions on `target` are this enforcer's to apply.
    fn handles(&self, target: &Target) -> bool;
    /// True when `apply` can block for long (a kill waits out its grace
    /// period): the responder then applies on a thread of its own so the
    /// decisions behind it keep flowing.
    fn slow(&self) -> bool {
        false
    }
    /// Creates what is missing (tables, sets, rules); contents are kept.
    fn ensure(&self) -> Result<(), EnforceError>;
    fn apply(&self, decisions: &[Decision], now_ms: i64) -> Vec<Applied>;
    /// Takes decisions back. Something already gone counts as lifted.
    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>>;
    /// Makes the enforcer hold exactly `active`; returns a result per
    /// decision it holds (an enforcer whose acts are one-off, like a kill,
    /// holds nothing and returns none).
    fn reconcile(&self, active: &[Decision], now_ms: i64) -> Result<Vec<Applied>, EnforceError>;
    /// Removes everything Rampart made. Absent is fine.
    fn teardown(&self) -> Result<(), EnforceError>;
    fn status(&self) -> Result<EnforcerStatus, EnforceError>;
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

/// The address enforcer `respond.firewall` names; `auto` takes nftables
/// when `nft` runs here and falls back to ipset + iptables when only those do.
pub fn firewall_for(respond: &rampart_core::config::RespondConfig) -> Box<dyn Enforcer> {
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

/// Every enforcer `[respond]` configures: the address firewall, then
/// process signals with `kill_grace_secs` between SIGTERM and SIGKILL.
pub fn enforcers_for(respond: &rampart_core::config::RespondConfig) -> Vec<Box<dyn Enforcer>> {
    vec![
        firewall_for(respond),
        Box::new(process::ProcessEnforcer { grace: std::time::Duration::from_secs(respond.kill_grace_secs) }),
    ]
}

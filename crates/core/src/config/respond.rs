//! `[respond]`: turning alerts into decisions, and decisions into firewall
//! state. Every choice is an enum, so a typo (`mode = "enforec"`) fails at
//! load with the key and the values it may take, and nothing downstream
//! compares strings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};
use crate::Severity;

/// Whether decisions are applied or only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Decisions are recorded; nothing is applied.
    Observe,
    /// Decisions are applied by the enforcers.
    Enforce,
}

/// Which firewall applies bans and rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirewallKind {
    /// nftables when `nft` runs here, else ipset + iptables.
    Auto,
    Nftables,
    Ipset,
}

/// What a playbook does about an alert's entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaybookAction {
    /// Ban the alert's address.
    BanIp,
    /// Limit the alert's address to `respond.nftables.rate_limit_per_sec`
    /// new connections a second.
    RateLimit,
    /// Terminate the alert's `process.pid` (SIGTERM, then SIGKILL after
    /// `respond.kill_grace_secs`).
    KillProcess,
    /// Send the alert to a named sink; no decision.
    Notify,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// `observe` (default: decisions are recorded, nothing is applied) or
    /// `enforce`. `rampart serve --enforce` sets `enforce`.
    pub mode: ResponseMode,
    /// Networks never acted on, beside loopback (always): admin networks,
    /// monitoring, your own offices. CIDRs or addresses.
    pub allowlist: Vec<String>,
    /// Run the built-in playbooks (bans for the built-in attack rules).
    pub builtin_playbooks: bool,
    /// Your own playbooks (`[[respond.playbooks]]`), run before the built-in ones.
    pub playbooks: Vec<PlaybookConfig>,
    /// `auto` (nftables when `nft` runs, else ipset + iptables), `nftables` or `ipset`.
    pub firewall: FirewallKind,
    pub nftables: NftablesConfig,
    /// Process names never signalled, beside init, Rampart, its parent and
    /// the built-in list (systemd, sshd, containerd, dockerd, kubelet…).
    pub protected_processes: Vec<String>,
    /// Seconds between SIGTERM and SIGKILL for `kill_process`.
    pub kill_grace_secs: u64,
    /// Longer bans for addresses banned again and again, by any playbook
    /// (fail2ban's recidive jail).
    pub recidive: RecidiveConfig,
}

/// The `bans`-th ban of one address within `within`, whichever rules and
/// playbooks made them, lasts `ban` (when that is longer than the
/// playbook's own). Bans a person lifted do not count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecidiveConfig {
    pub enabled: bool,
    pub bans: u32,
    pub within: String,
    pub ban: String,
}

impl Default for RecidiveConfig {
    fn default() -> RecidiveConfig {
        // A playbook's own escalation (10m, 1h, 24h in a day) already
        // covers one service; four bans in a week means an address that
        // keeps coming back, or works through several services.
        RecidiveConfig { enabled: true, bans: 4, within: "7d".into(), ban: "7d".into() }
    }
}

impl Default for RespondConfig {
    fn default() -> RespondConfig {
        RespondConfig {
            mode: ResponseMode::Observe,
            allowlist: Vec::new(),
            builtin_playbooks: true,
            playbooks: Vec::new(),
            firewall: FirewallKind::Auto,
            nftables: NftablesConfig::default(),
            protected_processes: Vec::new(),
            kill_grace_secs: 10,
            recidive: RecidiveConfig::default(),
        }
    }
}

/// One playbook: which alerts, and what to do about their entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookConfig {
    pub name: String,
    /// Rule ids that match; empty matches any rule (then tags/severity decide).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Tags of which the alert must carry at least one; empty: any.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Lowest severity that matches: info, low, medium, high, critical.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub min_score: Option<f64>,
    /// `ban_ip`, `rate_limit`, `kill_process` or `notify`.
    pub action: PlaybookAction,
    /// Ban lengths for the first, second, … offence by the same address
    /// within a day (repeat-offender escalation); the last one repeats.
    #[serde(default = "default_ban_durations")]
    pub durations: Vec<String>,
    /// For `notify`: the sink to send the alert to, by name (`stdout`,
    /// `slack`, or a webhook's `name`), beside the usual notifications.
    #[serde(default)]
    pub sink: Option<String>,
    /// Overrides `respond.mode` for this playbook.
    #[serde(default)]
    pub mode: Option<ResponseMode>,
}

fn default_ban_durations() -> Vec<String> {
    vec!["10m".into(), "1h".into(), "24h".into()]
}

/// Rampart's own nftables table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NftablesConfig {
    /// The `nft` program, found on PATH unless a path is given.
    pub program: PathBuf,
    /// Table name in the `inet` family.
    pub table: String,
    /// Also drop banned sources in the forward hook (routers, container hosts).
    pub forward: bool,
    /// New connections per second each rate-limited source may open
    /// (`rate_limit` decisions); more are dropped.
    pub rate_limit_per_sec: u32,
}

impl Default for NftablesConfig {
    fn default() -> NftablesConfig {
        NftablesConfig { program: "nft".into(), table: "rampart".into(), forward: false, rate_limit_per_sec: 10 }
    }
}

impl Config {
    pub(super) fn validate_respond(&self) -> Result<(), ConfigError> {
        let err = |key: String, reason: String| Err(ConfigError { key, reason });
        let r = &self.respond;
        for (i, net) in r.allowlist.iter().enumerate() {
            let ok = net.parse::<ipnet::IpNet>().is_ok() || net.parse::<std::net::IpAddr>().is_ok();
            if !ok {
                return err(format!("respond.allowlist[{i}]"), format!("{net:?} is not an address or CIDR"));
            }
        }
        if r.nftables.rate_limit_per_sec == 0 {
            return err("respond.nftables.rate_limit_per_sec".into(), "must be at least 1".into());
        }
        let table_ok = !r.nftables.table.is_empty()
            && r.nftables.table.len() <= 32
            && r.nftables.table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !table_ok {
            return err("respond.nftables.table".into(), "letters, digits and _ only, at most 32".into());
        }
        if r.recidive.bans < 2 {
            return err("respond.recidive.bans".into(), "must be at least 2 (the first ban is the playbook's)".into());
        }
        for (key, value) in [("respond.recidive.within", &r.recidive.within), ("respond.recidive.ban", &r.recidive.ban)]
        {
            if let Err(reason) = crate::time::parse_duration_ms(value) {
                return err(key.into(), reason.to_string());
            }
        }
        for (i, p) in r.playbooks.iter().enumerate() {
            let key = |k: &str| format!("respond.playbooks[{i}].{k}");
            if p.name.trim().is_empty() {
                return err(key("name"), "must not be empty".into());
            }
            if p.durations.is_empty() {
                return err(key("durations"), "list at least one duration".into());
            }
            for d in &p.durations {
                if let Err(reason) = crate::time::parse_duration_ms(d) {
                    return err(key("durations"), reason.to_string());
                }
            }
            if p.action == PlaybookAction::Notify && p.sink.is_none() {
                return err(
                    key("sink"),
                    "notify needs the name of a sink (stdout, slack, eve or a webhook's name)".into(),
                );
            }
            if let Some(sink) = &p.sink {
                let known = (sink == "stdout" && self.sinks.stdout)
                    || (sink == "slack" && self.sinks.slack.is_some())
                    || (sink == "eve" && self.sinks.eve.is_some())
                    || self.sinks.webhooks.iter().any(|w| &w.name == sink);
                if !known {
                    return err(key("sink"), format!("{sink:?} is not a configured sink"));
                }
            }
        }
        Ok(())
    }
}

//! Playbooks: which alerts lead to which decision about their entity.

use rampart_core::config::{PlaybookConfig, RecidiveConfig};
use rampart_core::time::parse_duration_ms;
use rampart_core::{Alert, Decision, DecisionKind, Origin, Severity, Target};

/// How far back earlier offences count towards escalation.
pub const OFFENCE_MEMORY_MS: i64 = 24 * 3_600_000;

pub use rampart_core::config::PlaybookAction;

#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    rules: Vec<String>,
    tags: Vec<String>,
    min_severity: Option<Severity>,
    min_score: Option<f64>,
    pub action: PlaybookAction,
    /// Ban length per offence: first, second, …; the last one repeats.
    durations_ms: Vec<i64>,
    /// `Some(true)`: enforce, `Some(false)`: observe, `None`: the global mode.
    pub enforce: Option<bool>,
    /// For `Notify`: the sink, by name.
    pub sink: Option<String>,
}

/// fail2ban's recidive jail across every playbook: the `bans`-th ban of an
/// address within `within_ms` lasts `ban_ms`, when that is longer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recidive {
    pub bans: usize,
    pub within_ms: i64,
    pub ban_ms: i64,
}

impl Recidive {
    /// `None` when disabled; an error names the field.
    pub fn from_config(c: &RecidiveConfig) -> Result<Option<Recidive>, crate::RespondError> {
        if !c.enabled {
            return Ok(None);
        }
        let ms =
            |key: &'static str, text: &str| parse_duration_ms(text).map_err(|e| crate::RespondError::config(key, e));
        let bans = usize::try_from(c.bans).unwrap_or(usize::MAX).max(2);
        Ok(Some(Recidive { bans, within_ms: ms("recidive.within", &c.within)?, ban_ms: ms("recidive.ban", &c.ban)? }))
    }

    /// Lengthens `decision` if it is a ban that makes its address a
    /// recidivist, given `past`: every decision about the address.
    pub fn apply(&self, decision: &mut Decision, past: &[Decision], now_ms: i64) {
        if decision.kind != DecisionKind::Ban {
            return;
        }
        let counted = |d: &&Decision| {
            d.kind == DecisionKind::Ban && d.deleted_ms.is_none() && d.created_ms >= now_ms - self.within_ms
        };
        let nth = past.iter().filter(counted).count() + 1;
        let until = now_ms.saturating_add(self.ban_ms);
        if nth < self.bans || decision.expires_ms.is_none_or(|e| e >= until) {
            return;
        }
        decision.expires_ms = Some(until);
        decision.reason = format!(
            "recidive, ban {nth} in {}h, banned for {}h: {}",
            self.within_ms / 3_600_000,
            self.ban_ms / 3_600_000,
            decision.reason
        );
    }
}

impl Playbook {
    /// A configured playbook; an error names the field (`durations`).
    pub fn from_config(c: &PlaybookConfig) -> Result<Playbook, crate::RespondError> {
        let action = c.action;
        let durations_ms = c
            .durations
            .iter()
            .map(|d| parse_duration_ms(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| crate::RespondError::config("durations", e))?;
        if durations_ms.is_empty() {
            return Err(crate::RespondError::config("durations", "list at least one"));
        }
        let min_severity = c.min_severity;
        let enforce = c.mode.map(|m| m == rampart_core::config::ResponseMode::Enforce);
        Ok(Playbook {
            name: c.name.clone(),
            rules: c.rules.clone(),
            tags: c.tags.clone(),
            min_severity,
            min_score: c.min_score,
            action,
            durations_ms,
            enforce,
            sink: c.sink.clone(),
        })
    }

    /// Whether this playbook acts on `alert`.
    pub fn matches(&self, alert: &Alert) -> bool {
        (self.rules.is_empty() || self.rules.contains(&alert.rule_id))
            && (self.tags.is_empty() || self.tags.iter().any(|t| alert.tags.contains(t)))
            && self.min_severity.is_none_or(|s| alert.severity >= s)
            && self.min_score.is_none_or(|s| alert.score >= s)
    }

    /// The decision for `alert`, given how many decisions this playbook
    /// already made about the same address within `OFFENCE_MEMORY_MS`.
    /// `None` when the alert's entity is not an address.
    pub fn decide(&self, alert: &Alert, earlier_offences: usize, now_ms: i64) -> Option<Decision> {
        let duration = self.durations_ms[earlier_offences.min(self.durations_ms.len() - 1)];
        let (kind, target) = match self.action {
            PlaybookAction::Notify => return None,
            PlaybookAction::BanIp | PlaybookAction::RateLimit => {
                let kind =
                    if self.action == PlaybookAction::BanIp { DecisionKind::Ban } else { DecisionKind::RateLimit };
                (kind, Target::parse(&alert.entity.value).ok().filter(|t| t.net().is_some())?)
            }
            PlaybookAction::KillProcess => {
                let pid = alert.entity.value.parse::<u32>().ok().filter(|_| alert.entity.field == "process.pid")?;
                (DecisionKind::Kill, Target::Process { pid, start_ticks: culprit_start(alert, pid) })
            }
        };
        let nth = earlier_offences + 1;
        let mut decision = Decision::new(kind, target, Origin::Rule, now_ms, Some(now_ms.saturating_add(duration)));
        decision.reason = format!("{} ({} events; offence {nth} in 24h)", alert.title, alert.count);
        decision.alert_id = Some(alert.id.clone());
        decision.playbook = Some(self.name.clone());
        Some(decision)
    }
}

/// The start time a detector saw the process with (a host anomaly's
/// culprits carry it), so the kill is pinned to that process even if the
/// pid has been reused by the time the responder acts.
fn culprit_start(alert: &Alert, pid: u32) -> Option<u64> {
    let culprits = alert.context.as_ref()?.get("culprits")?.as_array()?;
    let culprit = culprits.iter().find(|c| c.get("pid").and_then(|p| p.as_u64()) == Some(u64::from(pid)))?;
    culprit.get("start_ticks")?.as_u64()
}

/// The shipped playbooks: ban addresses behind the built-in attack rules
/// (log rules and the port-scan rule on flows) and the flow model's attack
/// verdicts, 10 minutes, then an hour, then a
/// day for repeat offenders.
pub fn builtin_playbooks() -> Vec<Playbook> {
    let ban = |name: &str, rules: &[&str]| Playbook {
        name: name.into(),
        rules: rules.iter().map(|r| r.to_string()).collect(),
        tags: Vec::new(),
        min_severity: None,
        min_score: None,
        action: PlaybookAction::BanIp,
        durations_ms: vec![600_000, 3_600_000, 86_400_000],
        enforce: None,
        sink: None,
    };
    let network = Playbook {
        tags: vec!["flow-model".into()],
        min_severity: Some(Severity::Medium),
        ..ban("ban-network-attackers", &[])
    };
    vec![
        ban(
            "ban-ssh-attackers",
            &[
                "ssh-brute-force",
                "ssh-slow-brute-force",
                "ssh-user-enumeration",
                "ssh-credential-stuffing",
                "pam-brute-force",
            ],
        ),
        ban(
            "ban-web-attackers",
            &[
                "web-sqli",
                "web-code-injection",
                "web-4xx-scan",
                "web-http-flood",
                "web-scanner-user-agent",
                "web-probing",
            ],
        ),
        ban(
            "ban-service-attackers",
            &[
                "mail-brute-force",
                "smtp-rejects",
                "ftp-brute-force",
                "database-brute-force",
                "http-auth-brute-force",
                "http-rate-limited",
            ],
        ),
        ban("ban-port-scanners", &["net-port-scan"]),
        // The flow model's verdicts on metered or posted flows (scans,
        // floods, brute force seen as traffic), whatever class it names.
        network,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::alert;

    #[test]
    fn repeat_offenders_get_longer_bans_and_the_last_length_repeats() {
        let ssh = &builtin_playbooks()[0];
        let a = alert("ssh-brute-force", "203.0.113.9");
        assert!(ssh.matches(&a));
        let lengths: Vec<i64> = (0..5).map(|n| ssh.decide(&a, n, 1_000).unwrap().expires_ms.unwrap() - 1_000).collect();
        assert_eq!(lengths, [600_000, 3_600_000, 86_400_000, 86_400_000, 86_400_000]);
        let d = ssh.decide(&a, 0, 1_000).unwrap();
        assert_eq!(
            (d.origin, d.alert_id.as_deref(), d.playbook.as_deref()),
            (Origin::Rule, Some("a1"), Some(ssh.name.as_str()))
        );
    }

    #[test]
    fn matching_by_rule_tag_severity_and_score() {
        let config = PlaybookConfig {
            name: "p".into(),
            rules: vec![],
            tags: vec!["ssh".into()],
            min_severity: Some(Severity::High),
            min_score: Some(60.0),
            action: PlaybookAction::BanIp,
            durations: vec!["5m".into()],
            sink: None,
            mode: Some(rampart_core::config::ResponseMode::Enforce),
        };
        let p = Playbook::from_config(&config).unwrap();
        assert_eq!(p.enforce, Some(true));
        let mut a = alert("anything", "203.0.113.9");
        assert!(p.matches(&a));
        a.severity = Severity::Medium;
        assert!(!p.matches(&a));
        a.severity = Severity::Critical;
        a.tags = vec!["web".into()];
        assert!(!p.matches(&a));
        // An entity that is not an address gets no ban.
        assert!(p.decide(&alert("x", "web-1"), 0, 0).is_none());
        let killer =
            Playbook::from_config(&PlaybookConfig { action: PlaybookAction::KillProcess, ..config.clone() }).unwrap();
        let mut runaway = alert("cpu-anomaly", "4242");
        runaway.entity.field = "process.pid".into();
        let d = killer.decide(&runaway, 0, 0).unwrap();
        assert_eq!((d.kind, d.target), (DecisionKind::Kill, Target::Process { pid: 4242, start_ticks: None }));
        assert!(killer.decide(&alert("x", "4242"), 0, 0).is_none(), "a number that is not a process.pid entity");
        // A host anomaly's culprit carries the start time the collector saw: the kill is pinned to it.
        runaway.context = Some(serde_json::json!({"culprits": [{"pid": 4242, "start_ticks": 99887}]}));
        let pinned = killer.decide(&runaway, 0, 0).unwrap();
        assert_eq!(pinned.target, Target::Process { pid: 4242, start_ticks: Some(99887) });
        let bad = PlaybookConfig { durations: vec!["soon".into()], ..config };
        assert!(Playbook::from_config(&bad).unwrap_err().to_string().starts_with("durations"));
    }
}

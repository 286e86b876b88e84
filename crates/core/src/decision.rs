//! Decisions (what should be done about an entity: ban, rate-limit, kill)
//! and actions (what an enforcer did about a decision, and how it went).
//!
//! A decision is the unit the API, the store, the fleet stream and the
//! enforcers share; an action is the audit trail, one row per attempt,
//! including refusals and dry runs.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::ParseError;
use serde::{Deserialize, Serialize};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Drop traffic from the address or range.
    Ban,
    /// Limit traffic from the address or range to `rate_per_sec`.
    RateLimit,
    /// Terminate the process.
    Kill,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Ban => "ban",
            DecisionKind::RateLimit => "rate_limit",
            DecisionKind::Kill => "kill",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionKind> {
        match text {
            "ban" => Some(DecisionKind::Ban),
            "rate_limit" => Some(DecisionKind::RateLimit),
            "kill" => Some(DecisionKind::Kill),
            _ => None,
        }
    }
}

/// What a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// An address is a /32 or /128 network.
    Net(IpNet),
    /// A process, with its start time (clock ticks since boot, from
    /// /proc/PID/stat) so that a reused PID is never signalled.
    Process { pid: u32, start_ticks: Option<u64> },
}

impl Target {
    /// Parses `203.0.113.9`, `2001:db8::/48`, `198.51.100.0/24` or `pid:1234`.
    pub fn parse(text: &str) -> Result<Target, ParseError> {
        let text = text.trim();
        if let Some(pid) = text.strip_prefix("pid:") {
            let pid = pid.parse::<u32>().map_err(|_| ParseError::Pid { text: text.to_owned() })?;
            return Ok(Target::Process { pid, start_ticks: None });
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Target::Net(IpNet::from(ip)));
        }
        let net = text.parse::<IpNet>().map_err(|_| ParseError::Target { text: text.to_owned() })?;
        // 10.0.0.7/24 is almost certainly a typo for a range: refuse rather than guess.
        if net.trunc() != net {
            return Err(ParseError::HostBits { text: text.to_owned(), range: net.trunc().to_string() });
        }
        Ok(Target::Net(net))
    }

    pub fn net(&self) -> Option<IpNet> {
        match self {
            Target::Net(net) => Some(*net),
            Target::Process { .. } => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Net(net) if net.prefix_len() == net.max_prefix_len() => write!(f, "{}", net.addr()),
            Target::Net(net) => write!(f, "{net}"),
            Target::Process { pid, .. } => write!(f, "pid:{pid}"),
        }
    }
}

/// Where a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A playbook acting on an alert.
    Rule,
    /// A person, through the API or the CLI.
    Manual,
    /// Another Rampart server, through the decision stream.
    Remote,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Rule => "rule",
            Origin::Manual => "manual",
            Origin::Remote => "remote",
        }
    }

    pub fn parse(text: &str) -> Option<Origin> {
        match text {
            "rule" => Some(Origin::Rule),
            "manual" => Some(Origin::Manual),
            "remote" => Some(Origin::Remote),
            _ => None,
        }
    }
}

/// One decision. `id` is 0 until the store assigns one.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub id: i64,
    pub kind: DecisionKind,
    pub target: Target,
    pub created_ms: i64,
    /// `None`: until deleted.
    pub expires_ms: Option<i64>,
    pub origin: Origin,
    pub reason: String,
    pub alert_id: Option<String>,
    /// The playbook that made it, for escalation and the audit trail.
    pub playbook: Option<String>,
    /// For `RateLimit`: packets (nftables) or requests per second allowed.
    pub rate_per_sec: Option<u32>,
    /// When it was deleted by hand (it stays in the store for the record).
    pub deleted_ms: Option<i64>,
    /// Made in enforce mode. Only these are put back in force when the
    /// firewall is rebuilt: switching to enforce does not apply what was
    /// only observed before.
    pub enforced: bool,
}

impl Decision {
    /// A decision with no alert, playbook or rate attached (set those after).
    pub fn new(
        kind: DecisionKind,
        target: Target,
        origin: Origin,
        created_ms: i64,
        expires_ms: Option<i64>,
    ) -> Decision {
        Decision {
            id: 0,
            kind,
            target,
            created_ms,
            expires_ms,
            origin,
            reason: String::new(),
            alert_id: None,
            playbook: None,
            rate_per_sec: None,
            deleted_ms: None,
            enforced: false,
        }
    }

    /// In force at `now_ms`: not deleted and not expired.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.deleted_ms.is_none() && self.expires_ms.is_none_or(|t| t > now_ms)
    }

    /// Seconds left at `now_ms` (at least 1 while active), `None` when it never expires.
    pub fn remaining_secs(&self, now_ms: i64) -> Option<u64> {
        self.expires_ms.map(|t| (t.saturating_sub(now_ms).max(0) as u64).div_ceil(1000).max(1))
    }
}

/// How an enforcer's attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActionResult {
    /// In force (or removed, for a removal).
    Applied,
    /// Observe mode: recorded, not applied.
    DryRun,
    /// An allowlist matched: never applied.
    Refused,
    /// The enforcer tried and failed; `detail` says why.
    Failed,
}

impl ActionResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionResult::Applied => "applied",
            ActionResult::DryRun => "dry_run",
            ActionResult::Refused => "refused",
            ActionResult::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<ActionResult> {
        match text {
            "applied" => Some(ActionResult::Applied),
            "dry_run" => Some(ActionResult::DryRun),
            "refused" => Some(ActionResult::Refused),
            "failed" => Some(ActionResult::Failed),
            _ => None,
        }
    }
}

/// A decision as a flat record: the rows of a networked store and the
/// messages of the fleet's decision topic.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DecisionRecord {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub start_ticks: Option<u64>,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub origin: String,
    pub reason: String,
    pub alert_id: Option<String>,
    pub playbook: Option<String>,
    pub rate_per_sec: Option<u32>,
    pub deleted_ms: Option<i64>,
    /// Read from `true`/`false` or from 1/0 (ClickHouse's booleans are UInt8).
    #[serde(deserialize_with = "bool_or_bit")]
    pub enforced: bool,
}

fn bool_or_bit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Bit(u8),
    }
    match Flag::deserialize(d)? {
        Flag::Bool(b) => Ok(b),
        Flag::Bit(b) => Ok(b != 0),
    }
}

impl From<&Decision> for DecisionRecord {
    fn from(d: &Decision) -> DecisionRecord {
        let start_ticks = match d.target {
            Target::Process { start_ticks, .. } => start_ticks,
            Target::Net(_) => None,
        };
        DecisionRecord {
            id: d.id,
            kind: d.kind.as_str().to_owned(),
            target: d.target.to_string(),
            start_ticks,
            created_ms: d.created_ms,
            expires_ms: d.expires_ms,
            origin: d.origin.as_str().to_owned(),
            reason: d.reason.clone(),
            alert_id: d.alert_id.clone(),
            playbook: d.playbook.clone(),
            rate_per_sec: d.rate_per_sec,
            deleted_ms: d.deleted_ms,
            enforced: d.enforced,
        }
    }
}

impl DecisionRecord {
    /// The decision, or which field makes no sense.
    pub fn into_decision(self) -> Result<Decision, String> {
        let kind = DecisionKind::parse(&self.kind).ok_or_else(|| format!("kind: unknown {:?}", self.kind))?;
        let mut target = Target::parse(&self.target).map_err(|e| format!("target: {e}"))?;
        if let Target::Process { start_ticks, .. } = &mut target {
            *start_ticks = self.start_ticks;
        }
        let origin = Origin::parse(&self.origin).ok_or_else(|| format!("origin: unknown {:?}", self.origin))?;
        Ok(Decision {
            id: self.id,
            kind,
            target,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            origin,
            reason: self.reason,
            alert_id: self.alert_id,
            playbook: self.playbook,
            rate_per_sec: self.rate_per_sec,
            deleted_ms: self.deleted_ms,
            enforced: self.enforced,
        })
    }
}

/// One audited attempt. `id` is 0 until stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub id: i64,
    pub decision_id: i64,
    pub at_ms: i64,
    /// `nftables`, `process`, `observe`, `allowlist`…
    pub enforcer: String,
    /// `apply`, `remove` or `reconcile`.
    pub op: String,
    pub result: ActionResult,
    pub detail: String,
}

/// Why a decision was not put in force.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecisionError {
    /// An allowlist matched; the decision is on record, inactive, with a
    /// `refused` action.
    #[error("refused: {reason}")]
    Refused { decision_id: i64, reason: String },
    /// The request itself is wrong (a field named in the text).
    #[error("{0}")]
    Invalid(String),
    /// Storing it failed, or the responder is not running.
    #[error("{0}")]
    Failed(String),
}

/// What the API asks of the responder, which owns the enforcers.
#[derive(Debug)]
pub enum DecisionRequest {
    Add {
        decision: Decision,
        reply: tokio::sync::oneshot::Sender<Result<Decision, DecisionError>>,
    },
    Delete {
        id: i64,
        reply: tokio::sync::oneshot::Sender<Result<Option<Decision>, DecisionError>>,
    },
    /// Run the playbook that matches an alert now, on a person's say-so.
    Mitigate {
        alert: Box<crate::Alert>,
        reply: tokio::sync::oneshot::Sender<Result<Mitigation, DecisionError>>,
    },
}

/// What mitigating an alert did.
#[derive(Debug, Clone, PartialEq)]
pub enum Mitigation {
    /// A decision was made (and enforced, or observed, as the mode says).
    Decided { playbook: String, decision: Decision },
    /// The playbook's decision for this target is already in force.
    AlreadyActive { playbook: String, decision: Decision },
    /// A notify playbook sent the alert to a sink.
    Notified { playbook: String, sink: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print_back() {
        for text in ["203.0.113.9", "2001:db8::1", "198.51.100.0/24", "2001:db8::/48", "pid:42"] {
            assert_eq!(Target::parse(text).unwrap().to_string(), text);
        }
        assert!(Target::parse("10.0.0.7/24").unwrap_err().to_string().contains("10.0.0.0/24"));
        for bad in ["", "host", "pid:x", "300.1.1.1", "1.2.3.4/33"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn activity_and_remaining_time() {
        let d = Decision::new(DecisionKind::Ban, Target::parse("192.0.2.1").unwrap(), Origin::Manual, 0, Some(10_500));
        assert!(d.is_active(10_499) && !d.is_active(10_500));
        assert_eq!(d.remaining_secs(0), Some(11));
        assert_eq!(d.remaining_secs(20_000), Some(1));
    }
}

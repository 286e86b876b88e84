//! Following another node's decisions (`rampart agent`): the decision
//! stream's entries as local decisions, put in force with the local
//! firewall, the local allowlist still winning over anything received.

use rampart_core::{Decision, DecisionKind, Origin, Target};
use serde_json::Value;

use crate::Allowlist;
use crate::enforce::{EnforceError, Enforcer};

/// Applies a remote node's decisions here. The first call takes the
/// server's list as the whole truth (the sets are rebuilt); later calls add
/// and lift what changed.
pub struct Follower {
    firewall: Box<dyn Enforcer>,
    allowlist: Allowlist,
    started: bool,
}

/// What one round applied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: usize,
    pub removed: usize,
    /// Refused by the local allowlist.
    pub refused: usize,
    pub failed: usize,
}

impl Follower {
    pub fn new(firewall: Box<dyn Enforcer>, allowlist: Allowlist) -> Follower {
        Follower { firewall, allowlist, started: false }
    }

    /// True once the first round (the full list) was applied.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Applies one round of the stream: `new` decisions and `deleted` ones.
    /// Blocking (it runs the firewall's program): call it off the async
    /// workers.
    pub fn apply(&mut self, new: Vec<Decision>, deleted: &[Decision]) -> Result<Applied, EnforceError> {
        let now = rampart_core::time::now_ms();
        let (allowed, refused): (Vec<Decision>, Vec<Decision>) =
            new.into_iter().partition(|d| self.allowlist.refuses(&d.target).is_none());
        for d in &refused {
            tracing::warn!(target = %d.target, "Remote decision refused by the local allowlist.");
        }
        let added = if self.started {
            self.firewall.apply(&allowed, now)
        } else {
            // Starting: the server's list is the truth; rebuild the sets.
            self.firewall.reconcile(&allowed, now)?
        };
        let removed = self.firewall.lift(deleted);
        let errors: Vec<String> = added
            .iter()
            .filter_map(|r| r.as_ref().err().map(ToString::to_string))
            .chain(removed.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)))
            .collect();
        for error in &errors {
            tracing::warn!(%error, "A remote decision could not be applied.");
        }
        self.started = true;
        Ok(Applied {
            added: added.iter().filter(|r| r.is_ok()).count(),
            removed: removed.iter().filter(|r| r.is_ok()).count(),
            refused: refused.len(),
            failed: errors.len(),
        })
    }
}

/// A ban or rate limit from `GET /api/v1/decisions/stream` as a local
/// decision; `None` for a kill (about the server's own processes, not this
/// host's) or an entry that does not read.
pub fn remote_decision(d: &Value, now_ms: i64) -> Option<Decision> {
    let kind = match d["kind"].as_str()? {
        "ban" => DecisionKind::Ban,
        "rate_limit" => DecisionKind::RateLimit,
        _ => return None,
    };
    let target = Target::parse(d["value"].as_str()?).ok().filter(|t| t.net().is_some())?;
    let expires = d["remaining_secs"].as_i64().map(|s| now_ms + s * 1000);
    let mut decision = Decision::new(kind, target, Origin::Remote, now_ms, expires);
    decision.id = d["id"].as_i64().unwrap_or(0);
    decision.reason = d["reason"].as_str().unwrap_or_default().to_owned();
    Some(decision)
}

/// A decision from the fleet's decision topic as a local one, and whether
/// it is over (deleted or expired); `None` for a kill or a process target.
pub fn fleet_decision(record: rampart_core::DecisionRecord, now_ms: i64) -> Option<(Decision, bool)> {
    let mut decision = record.into_decision().ok()?;
    if !matches!(decision.kind, DecisionKind::Ban | DecisionKind::RateLimit) || decision.target.net().is_none() {
        return None;
    }
    let over = decision.deleted_ms.is_some() || decision.expires_ms.is_some_and(|e| e <= now_ms);
    decision.origin = Origin::Remote;
    Some((decision, over))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Recording;

    #[test]
    fn the_first_round_rebuilds_later_ones_add_and_lift_and_the_local_allowlist_wins() {
        let log = Recording::default();
        let allow = Allowlist::new(&["192.0.2.0/24".into()], &[]).unwrap();
        let mut follower = Follower::new(Box::new(log.clone()), allow);
        let entry = |id: i64, kind: &str, value: &str| serde_json::json!({"id": id, "kind": kind, "value": value, "remaining_secs": 60, "reason": "r"});
        let stream = [entry(1, "ban", "203.0.113.1"), entry(2, "ban", "192.0.2.9"), entry(3, "kill", "4242")];
        let new: Vec<Decision> = stream.iter().filter_map(|d| remote_decision(d, 1_000)).collect();
        assert_eq!(new.len(), 2, "a kill is the server's own business");
        assert_eq!(new[0].expires_ms, Some(61_000));
        let first = follower.apply(new, &[]).unwrap();
        assert_eq!(first, Applied { added: 1, removed: 0, refused: 1, failed: 0 });
        let gone = remote_decision(&entry(1, "ban", "203.0.113.1"), 2_000).unwrap();
        let rate = remote_decision(&entry(4, "rate_limit", "198.51.100.0/24"), 2_000).unwrap();
        assert_eq!(rate.kind, DecisionKind::RateLimit);
        follower.apply(vec![rate], &[gone]).unwrap();
        assert_eq!(log.entries(), ["reset", "add 203.0.113.1", "add 198.51.100.0/24", "lift 203.0.113.1"]);
    }
}

//! The gatekeeper's own block list: addresses and ranges it answers 403
//! without judging, each until its decision expires. It is an `Enforcer`,
//! so a ban from any playbook, the API or a peer is put in force here as
//! well as in the firewall — an address behind a load balancer (which the
//! firewall never sees) is still stopped at the proxy.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ipnet::IpNet;
use rampart_core::{Decision, DecisionKind, Target};
use rampart_respond::enforce::{Applied, EnforceError, Enforcer, EnforcerStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    decision: i64,
    net: IpNet,
    /// `None`: until lifted.
    expires_ms: Option<i64>,
}

/// Shared by the proxy's handlers (readers) and the responder (writer).
#[derive(Clone, Default)]
pub struct BlockList {
    entries: Arc<RwLock<Vec<Entry>>>,
}

impl BlockList {
    pub fn new() -> BlockList {
        BlockList::default()
    }

    /// Whether `address` is banned at `now_ms`.
    pub fn blocks(&self, address: IpAddr, now_ms: i64) -> bool {
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.iter().any(|e| e.net.contains(&address) && e.expires_ms.is_none_or(|t| t > now_ms))
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&self, decision: &Decision, net: IpNet, now_ms: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|e| e.decision != decision.id && e.expires_ms.is_none_or(|t| t > now_ms));
        entries.push(Entry { decision: decision.id, net, expires_ms: decision.expires_ms });
    }
}

/// Only bans: a rate limit is the firewall's (packets), not a 403.
fn banned_net(decision: &Decision) -> Option<IpNet> {
    match (&decision.target, decision.kind) {
        (Target::Net(net), DecisionKind::Ban) => Some(*net),
        _ => None,
    }
}

impl Enforcer for BlockList {
    fn name(&self) -> &'static str {
        "proxy"
    }

    fn handles(&self, target: &Target) -> bool {
        matches!(target, Target::Net(_))
    }

    fn ensure(&self) -> Result<(), EnforceError> {
        Ok(())
    }

    fn apply(&self, decisions: &[Decision], now_ms: i64) -> Vec<Applied> {
        decisions
            .iter()
            .map(|d| match banned_net(d) {
                Some(net) => {
                    self.insert(d, net, now_ms);
                    Ok("answered 403 at the web gatekeeper".into())
                }
                None => Ok("not a ban: nothing for the web gatekeeper to do".into()),
            })
            .collect()
    }

    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>> {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        decisions
            .iter()
            .map(|d| {
                entries.retain(|e| e.decision != d.id);
                Ok(())
            })
            .collect()
    }

    fn reconcile(&self, active: &[Decision], now_ms: i64) -> Result<Vec<Applied>, EnforceError> {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        Ok(self.apply(active, now_ms))
    }

    fn teardown(&self) -> Result<(), EnforceError> {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        Ok(())
    }

    fn status(&self) -> Result<EnforcerStatus, EnforceError> {
        let now = rampart_core::time::now_ms();
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(EnforcerStatus {
            present: true,
            sets: vec!["proxy".into()],
            elements: entries
                .iter()
                .map(|e| {
                    let left = e.expires_ms.map(|t| u64::try_from((t - now).max(0) / 1000).unwrap_or(0));
                    ("proxy".to_owned(), e.net.to_string(), left)
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::Origin;

    fn ban(id: i64, target: &str, expires_ms: Option<i64>) -> Decision {
        let mut d = Decision::new(DecisionKind::Ban, Target::parse(target).unwrap(), Origin::Manual, 0, expires_ms);
        d.id = id;
        d
    }

    #[test]
    fn bans_block_until_they_expire_or_are_lifted() {
        let list = BlockList::new();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        list.apply(&[ban(1, "203.0.113.9", Some(10_000)), ban(2, "198.51.100.0/24", None)], 0);
        assert!(list.blocks(ip("203.0.113.9"), 5_000));
        assert!(!list.blocks(ip("203.0.113.9"), 10_000), "expired");
        assert!(list.blocks(ip("198.51.100.77"), 5_000));
        assert!(!list.blocks(ip("192.0.2.1"), 5_000));
        list.lift(&[ban(2, "198.51.100.0/24", None)]);
        assert!(!list.blocks(ip("198.51.100.77"), 5_000));
        list.reconcile(&[ban(3, "192.0.2.1", None)], 0).unwrap();
        assert!(list.blocks(ip("192.0.2.1"), 0) && !list.blocks(ip("203.0.113.9"), 0));
    }
}

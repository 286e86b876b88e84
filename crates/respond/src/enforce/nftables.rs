//! The nftables enforcer: Rampart's own `inet` table with sets of banned
//! sources (`timeout`, so the kernel expires bans on its own) and an input
//! chain at priority -10 that drops their members. Single addresses and
//! CIDR ranges live in separate sets: a range needs an `interval` set, and
//! loading 100k addresses into one took nft 1.1 s against 0.4 s for a plain
//! hash set. Rate-limited sources have their own sets and a rule that
//! drops their new connections beyond `rate_per_sec`, metered per source.
//!
//! We talk to nftables through `nft -j -f -`: a JSON document on stdin,
//! built with serde_json from parsed addresses, never a command line or a
//! shell string from input. One `nft` run applies a whole batch atomically,
//! which is how 100k bans go in within a second or two.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use ipnet::IpNet;
use rampart_core::{Decision, DecisionKind};

use rampart_core::Target;

use super::{Applied, EnforceError, Enforcer, EnforcerStatus, run_program};
use serde_json::{Value, json};

/// Where Rampart's rules live.
#[derive(Debug, Clone)]
pub struct NftTable {
    pub program: PathBuf,
    pub table: String,
    /// Also drop banned sources in the forward hook.
    pub forward: bool,
    /// New connections per second allowed to each rate-limited source.
    pub rate_per_sec: u32,
}

impl NftTable {
    /// The set a decision's address or range belongs in.
    fn set_of(kind: DecisionKind, net: &IpNet) -> &'static str {
        let single = net.prefix_len() == net.max_prefix_len();
        match (kind, net, single) {
            (DecisionKind::RateLimit, IpNet::V4(_), _) => "rl_v4",
            (DecisionKind::RateLimit, IpNet::V6(_), _) => "rl_v6",
            (_, IpNet::V4(_), true) => "ban_v4",
            (_, IpNet::V6(_), true) => "ban_v6",
            (_, IpNet::V4(_), false) => "ban_v4_net",
            (_, IpNet::V6(_), false) => "ban_v6_net",
        }
    }

    /// A decision's set element: its address or range, and with `timed`
    /// its remaining time.
    fn element(&self, d: &Decision, now_ms: i64, timed: bool) -> Option<(IpNet, Value)> {
        let net = d.target.net()?;
        let val = if net.prefix_len() == net.max_prefix_len() {
            json!(net.addr().to_string())
        } else {
            json!({"prefix": {"addr": net.network().to_string(), "len": net.prefix_len()}})
        };
        let elem = match d.remaining_secs(now_ms) {
            Some(secs) if timed => json!({"elem": {"val": val, "timeout": secs}}),
            _ => val,
        };
        Some((net, elem))
    }

    fn element_cmd(&self, verb: &str, set: &str, elems: Vec<Value>) -> Value {
        json!({verb: {"element": {"family": "inet", "table": self.table, "name": set, "elem": elems}}})
    }

    fn run(&self, cmds: &[Value]) -> Result<(), EnforceError> {
        let doc = serde_json::to_vec(&json!({"nftables": cmds}))
            .map_err(|e| EnforceError::Unreadable { program: self.program.clone(), reason: e.to_string() })?;
        run_program(&self.program, &["-j", "-f", "-"], Some(&doc))
    }
}

impl Enforcer for NftTable {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn handles(&self, target: &Target) -> bool {
        target.net().is_some()
    }

    /// Creates the table, sets and chains if missing and (re)writes the
    /// chains' rules; the sets' contents are left alone.
    fn ensure(&self) -> Result<(), EnforceError> {
        let t = &self.table;
        // The kernel marks a meter set `dynamic` once a rule feeds it, and
        // nft's JSON cannot say `dynamic`: declaring it again would clash,
        // so existing meters are left as they are.
        let existing = self.status()?.sets;
        let mut cmds = vec![json!({"add": {"table": {"family": "inet", "name": t}}})];
        for (set, kind, flags) in SETS {
            cmds.push(json!({"add": {"set": {
                "family": "inet", "table": t, "name": set, "type": kind, "flags": flags
            }}}));
        }
        // Per-source meters for rate-limited sources; entries idle a minute go.
        for (meter, kind) in [("rl_meter_v4", "ipv4_addr"), ("rl_meter_v6", "ipv6_addr")] {
            if existing.iter().any(|s| s == meter) {
                continue;
            }
            cmds.push(json!({"add": {"set": {
                "family": "inet", "table": t, "name": meter, "type": kind, "flags": ["timeout"],
                "timeout": 60, "size": 65535
            }}}));
        }
        let mut hooks = vec!["input"];
        if self.forward {
            hooks.push("forward");
        }
        for hook in hooks {
            cmds.push(json!({"add": {"chain": {
                "family": "inet", "table": t, "name": hook, "type": "filter", "hook": hook, "prio": -10, "policy": "accept"
            }}}));
            cmds.push(json!({"flush": {"chain": {"family": "inet", "table": t, "name": hook}}}));
            for (set, kind, _) in SETS.iter().filter(|(set, _, _)| set.starts_with("ban")) {
                let saddr = saddr(kind);
                cmds.push(json!({"add": {"rule": {"family": "inet", "table": t, "chain": hook, "expr": [
                    {"match": {"op": "==", "left": saddr, "right": format!("@{set}")}},
                    {"counter": null},
                    {"drop": null}
                ]}}}));
            }
            for (set, meter, kind) in [("rl_v4", "rl_meter_v4", "ipv4_addr"), ("rl_v6", "rl_meter_v6", "ipv6_addr")] {
                let saddr = saddr(kind);
                cmds.push(json!({"add": {"rule": {"family": "inet", "table": t, "chain": hook, "expr": [
                    {"match": {"op": "==", "left": saddr, "right": format!("@{set}")}},
                    {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}},
                    {"set": {"op": "add", "elem": saddr, "set": format!("@{meter}"), "stmt": [
                        {"limit": {"rate": self.rate_per_sec.max(1), "burst": self.rate_per_sec.max(1), "per": "second", "inv": true}}
                    ]}},
                    {"counter": null},
                    {"drop": null}
                ]}}}));
            }
        }
        self.run(&cmds)
    }

    /// Adds every decision's address or range, with its remaining time, in
    /// one transaction. When the batch is refused (one range overlapping
    /// another, say), falls back to one at a time so one bad element does
    /// not block the rest; returns the result per decision, in order.
    fn apply(&self, decisions: &[Decision], now_ms: i64) -> Vec<Applied> {
        // One `add element` per set with all its elements: nft handles one
        // command of 100k elements far faster than 100k commands.
        let mut by_set: Vec<(&str, Vec<Value>)> = SETS.iter().map(|(set, _, _)| (*set, Vec::new())).collect();
        for d in decisions {
            if let Some((net, elem)) = self.element(d, now_ms, true)
                && let Some((_, elems)) = by_set.iter_mut().find(|(set, _)| *set == Self::set_of(d.kind, &net))
            {
                elems.push(elem);
            }
        }
        let batch: Vec<Value> = by_set
            .into_iter()
            .filter(|(_, elems)| !elems.is_empty())
            .map(|(set, elems)| self.element_cmd("add", set, elems))
            .collect();
        // The table is made once (reconcile, or the first failure here), not
        // before every ban: one nft run per batch, not two.
        if !batch.is_empty() && (self.run(&batch).is_ok() || (self.ensure().is_ok() && self.run(&batch).is_ok())) {
            return decisions
                .iter()
                .map(|d| if d.target.net().is_some() { Ok(String::new()) } else { Err(not_a_network()) })
                .collect();
        }
        decisions
            .iter()
            .map(|d| match self.element(d, now_ms, true) {
                Some((net, elem)) => {
                    self.run(&[self.element_cmd("add", Self::set_of(d.kind, &net), vec![elem])]).map(|()| String::new())
                }
                None => Err(not_a_network()),
            })
            .collect()
    }

    /// Removes decisions' elements. An element already gone (expired in the
    /// kernel, removed by hand) counts as removed.
    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>> {
        decisions
            .iter()
            .map(|d| match self.element(d, 0, false) {
                Some((net, elem)) => {
                    match self.run(&[self.element_cmd("delete", Self::set_of(d.kind, &net), vec![elem])]) {
                        Err(e) if e.is_absent() => Ok(()),
                        other => other,
                    }
                }
                None => Err(not_a_network()),
            })
            .collect()
    }

    /// Makes the kernel match `active`: the store is the truth. Ensures the
    /// table, empties both sets and adds every active decision.
    fn reconcile(&self, active: &[Decision], now_ms: i64) -> Result<Vec<Applied>, EnforceError> {
        self.ensure()?;
        let t = &self.table;
        let flush: Vec<Value> = SETS
            .iter()
            .map(|(set, _, _)| json!({"flush": {"set": {"family": "inet", "table": t, "name": set}}}))
            .collect();
        self.run(&flush)?;
        Ok(self.apply(active, now_ms))
    }

    /// Removes Rampart's table and everything in it. Absent is fine.
    fn teardown(&self) -> Result<(), EnforceError> {
        match self.run(&[json!({"delete": {"table": {"family": "inet", "name": self.table}}})]) {
            Err(e) if e.is_absent() => Ok(()),
            other => other,
        }
    }

    fn status(&self) -> Result<EnforcerStatus, EnforceError> {
        let program = self.program.clone();
        let out = Command::new(&self.program)
            .args(["-j", "list", "table", "inet", &self.table])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| EnforceError::Spawn { program: program.clone(), reason: e.to_string() })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            if stderr.contains("No such file or directory") {
                return Ok(EnforcerStatus::default());
            }
            return Err(EnforceError::Refused { program, stderr });
        }
        let doc: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| EnforceError::Unreadable { program, reason: e.to_string() })?;
        let mut status = EnforcerStatus { present: true, ..EnforcerStatus::default() };
        for item in doc["nftables"].as_array().into_iter().flatten() {
            let Some(set) = item.get("set") else { continue };
            status.sets.push(set["name"].as_str().unwrap_or_default().to_owned());
            for elem in set["elem"].as_array().into_iter().flatten() {
                let (value, expires) = match elem.get("elem") {
                    Some(inner) => (&inner["val"], inner["expires"].as_u64()),
                    None => (elem, None),
                };
                status.elements.push((
                    set["name"].as_str().unwrap_or_default().to_owned(),
                    element_text(value),
                    expires,
                ));
            }
        }
        Ok(status)
    }
}

/// Rampart's sets: name, element type, flags.
const SETS: [(&str, &str, &[&str]); 6] = [
    ("ban_v4", "ipv4_addr", &["timeout"]),
    ("ban_v6", "ipv6_addr", &["timeout"]),
    ("ban_v4_net", "ipv4_addr", &["interval", "timeout"]),
    ("ban_v6_net", "ipv6_addr", &["interval", "timeout"]),
    ("rl_v4", "ipv4_addr", &["interval", "timeout"]),
    ("rl_v6", "ipv6_addr", &["interval", "timeout"]),
];

/// The source address of a packet, for an element type.
fn saddr(kind: &str) -> Value {
    let protocol = if kind == "ipv4_addr" { "ip" } else { "ip6" };
    json!({"payload": {"protocol": protocol, "field": "saddr"}})
}

fn not_a_network() -> EnforceError {
    EnforceError::Unsupported("not an address or range: the nftables enforcer bans networks only")
}

fn element_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => match (other["prefix"]["addr"].as_str(), other["prefix"]["len"].as_u64()) {
            (Some(addr), Some(len)) => format!("{addr}/{len}"),
            _ => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::{DecisionKind, Origin, Target};

    fn ban(target: &str, expires_ms: Option<i64>) -> Decision {
        Decision::new(DecisionKind::Ban, Target::parse(target).unwrap(), Origin::Manual, 0, expires_ms)
    }

    fn table() -> NftTable {
        NftTable { program: "nft".into(), table: "rampart".into(), forward: false, rate_per_sec: 10 }
    }

    #[test]
    fn elements_carry_the_remaining_time_and_go_to_their_set() {
        let t = table();
        let (net, elem) = t.element(&ban("203.0.113.9", Some(90_500)), 500, true).unwrap();
        assert_eq!(NftTable::set_of(DecisionKind::Ban, &net), "ban_v4");
        assert_eq!(NftTable::set_of(DecisionKind::RateLimit, &net), "rl_v4");
        assert_eq!(elem["elem"]["val"], "203.0.113.9");
        assert_eq!(elem["elem"]["timeout"], 90);
        let (net, elem) = t.element(&ban("2001:db8::/48", None), 0, true).unwrap();
        assert_eq!(NftTable::set_of(DecisionKind::Ban, &net), "ban_v6_net");
        assert_eq!(elem["prefix"]["len"], 48);
        // Deleting names the element without its timeout.
        let (_, bare) = t.element(&ban("203.0.113.9", Some(90_500)), 500, false).unwrap();
        assert_eq!(bare, "203.0.113.9");
        assert!(t.element(&ban("pid:7", None), 0, true).is_none());
    }

    #[test]
    fn listed_elements_read_back_as_text() {
        assert_eq!(element_text(&json!("192.0.2.1")), "192.0.2.1");
        assert_eq!(element_text(&json!({"prefix": {"addr": "10.0.0.0", "len": 8}})), "10.0.0.0/8");
    }
}

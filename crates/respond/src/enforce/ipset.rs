//! The fallback for hosts without nftables: ipset `hash:net` sets with
//! per-element timeouts (addresses and CIDR ranges alike) and one iptables
//! / ip6tables rule each that drops their members.
//!
//! Elements go in through `ipset restore` with the lines on stdin (built
//! from parsed addresses, never a shell string); rules are managed with
//! `iptables -C` / `-I` / `-D` argument vectors. Rate limits need
//! nftables' per-source meters and are refused here, with that reason.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use ipnet::IpNet;
use rampart_core::{Decision, DecisionKind, Target};

use super::{Applied, EnforceError, Enforcer, EnforcerStatus, run_program};

#[derive(Debug, Clone)]
pub struct IpsetFirewall {
    pub ipset: PathBuf,
    pub iptables: PathBuf,
    pub ip6tables: PathBuf,
    /// Set names are `{prefix}_v4` and `{prefix}_v6`.
    pub prefix: String,
}

impl IpsetFirewall {
    /// The programs found on PATH, sets named after `prefix`.
    pub fn new(prefix: &str) -> IpsetFirewall {
        IpsetFirewall {
            ipset: "ipset".into(),
            iptables: "iptables".into(),
            ip6tables: "ip6tables".into(),
            prefix: prefix.to_owned(),
        }
    }

    fn set_for(&self, net: &IpNet) -> String {
        match net {
            IpNet::V4(_) => format!("{}_v4", self.prefix),
            IpNet::V6(_) => format!("{}_v6", self.prefix),
        }
    }

    fn families(&self) -> [(String, &'static str, &PathBuf); 2] {
        [
            (format!("{}_v4", self.prefix), "inet", &self.iptables),
            (format!("{}_v6", self.prefix), "inet6", &self.ip6tables),
        ]
    }

    /// The `ipset restore` line for a decision, or why it cannot be one.
    fn line(&self, verb: &str, d: &Decision, now_ms: i64) -> Result<String, EnforceError> {
        if d.kind != DecisionKind::Ban {
            return Err(EnforceError::Unsupported("rate limits need nftables; the ipset fallback only bans"));
        }
        let net = d
            .target
            .net()
            .ok_or(EnforceError::Unsupported("not an address or range: this enforcer bans networks only"))?;
        let value = if net.prefix_len() == net.max_prefix_len() { net.addr().to_string() } else { net.to_string() };
        let mut line = format!("{verb} {} {value}", self.set_for(&net));
        if verb == "add"
            && let Some(secs) = d.remaining_secs(now_ms)
        {
            line.push_str(&format!(" timeout {secs}"));
        }
        Ok(line)
    }

    fn restore(&self, lines: &[String]) -> Result<(), EnforceError> {
        let mut text = lines.join("\n");
        text.push('\n');
        run_program(&self.ipset, &["restore", "-exist"], Some(text.as_bytes()))
    }
}

impl Enforcer for IpsetFirewall {
    fn name(&self) -> &'static str {
        "ipset"
    }

    fn handles(&self, target: &Target) -> bool {
        target.net().is_some()
    }

    fn ensure(&self) -> Result<(), EnforceError> {
        for (set, family, iptables) in self.families() {
            // timeout 0: elements may carry their own timeouts; none by default.
            let create = ["create", &set, "hash:net", "family", family, "timeout", "0", "maxelem", "1048576", "-exist"];
            run_program(&self.ipset, &create, None)?;
            let rule = ["INPUT", "-m", "set", "--match-set", set.as_str(), "src", "-j", "DROP"];
            let mut check = vec!["-C"];
            check.extend(rule);
            if run_program(iptables, &check, None).is_err() {
                let mut insert = vec!["-I"];
                insert.extend(rule);
                run_program(iptables, &insert, None)?;
            }
        }
        Ok(())
    }

    fn apply(&self, decisions: &[Decision], now_ms: i64) -> Vec<Applied> {
        let lines: Vec<Result<String, EnforceError>> = decisions.iter().map(|d| self.line("add", d, now_ms)).collect();
        let good: Vec<String> = lines.iter().filter_map(|l| l.as_ref().ok().cloned()).collect();
        if !good.is_empty() && (self.restore(&good).is_ok() || (self.ensure().is_ok() && self.restore(&good).is_ok())) {
            return lines.into_iter().map(|l| l.map(|_| String::new())).collect();
        }
        lines.into_iter().map(|l| l.and_then(|line| self.restore(&[line])).map(|()| String::new())).collect()
    }

    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>> {
        // `-exist` makes deleting an absent element a success.
        decisions.iter().map(|d| self.line("del", d, 0).and_then(|line| self.restore(&[line]))).collect()
    }

    fn reconcile(&self, active: &[Decision], now_ms: i64) -> Result<Vec<Applied>, EnforceError> {
        self.ensure()?;
        for (set, _, _) in self.families() {
            run_program(&self.ipset, &["flush", &set], None)?;
        }
        Ok(self.apply(active, now_ms))
    }

    fn teardown(&self) -> Result<(), EnforceError> {
        for (set, _, iptables) in self.families() {
            while run_program(iptables, &["-D", "INPUT", "-m", "set", "--match-set", &set, "src", "-j", "DROP"], None)
                .is_ok()
            {}
            if let Err(e) = run_program(&self.ipset, &["destroy", &set], None)
                && !e.is_absent()
            {
                return Err(e);
            }
        }
        Ok(())
    }

    fn status(&self) -> Result<EnforcerStatus, EnforceError> {
        let mut status = EnforcerStatus::default();
        for (set, _, _) in self.families() {
            let out = Command::new(&self.ipset)
                .args(["save", &set])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| EnforceError::Spawn { program: self.ipset.clone(), reason: e.to_string() })?;
            if !out.status.success() {
                continue;
            }
            status.present = true;
            status.sets.push(set.clone());
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let mut words = line.split_whitespace();
                if words.next() != Some("add") || words.next() != Some(set.as_str()) {
                    continue;
                }
                let Some(value) = words.next() else { continue };
                let timeout = match (words.next(), words.next()) {
                    (Some("timeout"), Some(secs)) => secs.parse().ok(),
                    _ => None,
                };
                status.elements.push((set.clone(), value.to_owned(), timeout));
            }
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::{Origin, Target};

    #[test]
    fn restore_lines_name_the_family_set_and_carry_the_remaining_time() {
        let fw = IpsetFirewall::new("rampart");
        let ban = |t: &str, kind| Decision::new(kind, Target::parse(t).unwrap(), Origin::Manual, 0, Some(61_000));
        assert_eq!(
            fw.line("add", &ban("203.0.113.9", DecisionKind::Ban), 1_000).unwrap(),
            "add rampart_v4 203.0.113.9 timeout 60"
        );
        assert_eq!(
            fw.line("del", &ban("2001:db8::/48", DecisionKind::Ban), 0).unwrap(),
            "del rampart_v6 2001:db8::/48"
        );
        assert!(
            fw.line("add", &ban("203.0.113.9", DecisionKind::RateLimit), 0)
                .unwrap_err()
                .to_string()
                .contains("nftables")
        );
    }
}

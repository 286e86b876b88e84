//! What Rampart never acts on, whatever a rule, a playbook, a person or a
//! remote server asks: loopback always, configured networks, and for
//! processes PID 1, Rampart itself, its parent and protected names.

use std::net::IpAddr;

use ipnet::IpNet;
use rampart_core::Target;

/// Process names never signalled, beside configured ones: killing these
/// takes the host (or the way in to fix it) down with the attacker.
const PROTECTED_NAMES: &[&str] =
    &["systemd", "init", "sshd", "sshd-session", "containerd", "dockerd", "runc", "kubelet", "rampart"];

#[derive(Debug, Clone)]
pub struct Allowlist {
    nets: Vec<IpNet>,
    process_names: Vec<String>,
}

impl Allowlist {
    /// Loopback plus `nets` (addresses or CIDRs); an unparsable entry is an
    /// error naming it, never silently skipped.
    pub fn new(nets: &[String], process_names: &[String]) -> Result<Allowlist, crate::RespondError> {
        let mut all: Vec<IpNet> = vec!["127.0.0.0/8".parse().expect("literal"), "::1/128".parse().expect("literal")];
        for text in nets {
            let net = match text.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => IpNet::from(text.parse::<IpAddr>().map_err(|_| {
                    crate::RespondError::config("respond.allowlist", format!("{text:?} is not an address or CIDR"))
                })?),
            };
            all.push(net);
        }
        let mut names: Vec<String> = PROTECTED_NAMES.iter().map(|n| n.to_string()).collect();
        names.extend(process_names.iter().cloned());
        Ok(Allowlist { nets: all, process_names: names })
    }

    /// Why `target` must not be acted on, or `None` when it may be.
    pub fn refuses(&self, target: &Target) -> Option<String> {
        match target {
            Target::Net(net) => self
                .nets
                .iter()
                // Overlap either way: banning 0.0.0.0/0 would ban loopback too.
                .find(|allowed| allowed.contains(&net.network()) || net.contains(&allowed.network()))
                .map(|allowed| format!("{target} overlaps the allowlisted network {allowed}")),
            Target::Process { pid, .. } => self.refuses_process(*pid),
        }
    }

    fn refuses_process(&self, pid: u32) -> Option<String> {
        if pid <= 1 {
            return Some(format!("pid {pid} is init"));
        }
        let own = std::process::id();
        if pid == own {
            return Some(format!("pid {pid} is Rampart itself"));
        }
        if pid == std::os::unix::process::parent_id() {
            return Some(format!("pid {pid} is Rampart's parent"));
        }
        if crate::enforce::process::is_kernel_thread(pid) {
            return Some(format!("pid {pid} is a kernel thread"));
        }
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let name = name.trim();
        self.process_names.iter().any(|n| n == name).then(|| format!("pid {pid} is {name}, a protected process"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Target {
        Target::parse(text).unwrap()
    }

    #[test]
    fn loopback_and_configured_networks_always_win() {
        let allow = Allowlist::new(&["192.0.2.0/24".into(), "2001:db8::7".into()], &[]).unwrap();
        assert!(allow.refuses(&t("127.0.0.1")).is_some());
        assert!(allow.refuses(&t("::1")).is_some());
        assert!(allow.refuses(&t("192.0.2.55")).is_some());
        assert!(allow.refuses(&t("2001:db8::7")).is_some());
        // A range that contains an allowlisted network is refused as well.
        assert!(allow.refuses(&t("0.0.0.0/0")).unwrap().contains("127.0.0.0/8"));
        assert!(allow.refuses(&t("192.0.0.0/16")).is_some());
        assert!(allow.refuses(&t("203.0.113.9")).is_none());
        assert!(allow.refuses(&t("198.51.100.0/24")).is_none());
        assert!(Allowlist::new(&["office".into()], &[]).unwrap_err().to_string().contains("office"));
    }

    #[test]
    fn init_rampart_and_its_parent_are_never_signalled() {
        let allow = Allowlist::new(&[], &[]).unwrap();
        let proc = |pid| Target::Process { pid, start_ticks: None };
        assert!(allow.refuses(&proc(1)).is_some());
        assert!(allow.refuses(&proc(std::process::id())).is_some());
        assert!(allow.refuses(&proc(std::os::unix::process::parent_id())).is_some());
    }
}

//! The process enforcer: SIGTERM, then SIGKILL after a grace period.
//!
//! A PID is only a number the kernel reuses. Each decision carries the
//! process's start time (clock ticks after boot, field 22 of
//! /proc/PID/stat); it is checked before every signal, so a process that
//! exited and whose PID now belongs to something else is never hit.

use std::time::{Duration, Instant};

use rampart_core::{Decision, Target};
use rustix::process::{Pid, Signal, kill_process};

use super::{Applied, EnforceError, Enforcer, EnforcerStatus};

/// Ends runaway processes: a `kill` decision is SIGTERM, then SIGKILL once
/// `grace` has passed. A signal cannot be taken back, so there is nothing
/// to lift, hold or reconcile.
#[derive(Debug, Clone)]
pub struct ProcessEnforcer {
    pub grace: Duration,
}

impl Enforcer for ProcessEnforcer {
    fn name(&self) -> &'static str {
        "process"
    }

    fn handles(&self, target: &Target) -> bool {
        matches!(target, Target::Process { .. })
    }

    fn slow(&self) -> bool {
        true
    }

    fn ensure(&self) -> Result<(), EnforceError> {
        Ok(())
    }

    fn apply(&self, decisions: &[Decision], _now_ms: i64) -> Vec<Applied> {
        decisions
            .iter()
            .map(|d| {
                let Target::Process { pid, start_ticks } = d.target else {
                    return Err(EnforceError::Unsupported("not a process: this enforcer signals processes only"));
                };
                terminate(pid, start_ticks, self.grace).map(|ended| {
                    match ended {
                        Ended::Terminated => "ended on SIGTERM",
                        Ended::Killed => "ignored SIGTERM; killed",
                        Ended::AlreadyGone => "already gone (or the PID is another process now)",
                    }
                    .to_owned()
                })
            })
            .collect()
    }

    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>> {
        decisions.iter().map(|_| Ok(())).collect()
    }

    fn reconcile(&self, _active: &[Decision], _now_ms: i64) -> Result<Vec<Applied>, EnforceError> {
        Ok(Vec::new())
    }

    fn teardown(&self) -> Result<(), EnforceError> {
        Ok(())
    }

    fn status(&self) -> Result<EnforcerStatus, EnforceError> {
        Ok(EnforcerStatus { present: true, ..EnforcerStatus::default() })
    }
}

/// The start time of `pid` in clock ticks after boot; `None` when there is
/// no such process (or /proc is not readable).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or
    // parentheses itself: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields 3.. follow; field 22 (starttime) is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The kernel's own thread flag in /proc/PID/stat (field 9).
const PF_KTHREAD: u64 = 0x0020_0000;

/// True for a kernel thread (kthreadd and its children): a signal does
/// nothing good to one, and one is never a runaway job to stop.
pub fn is_kernel_thread(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let Some(close) = stat.rfind(')') else { return false };
    // Fields 3.. follow the name; flags (field 9) is the 7th of them.
    stat[close + 1..].split_whitespace().nth(6).and_then(|f| f.parse::<u64>().ok()).is_some_and(|f| f & PF_KTHREAD != 0)
}

/// What happened to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited after SIGTERM.
    Terminated,
    /// It ignored SIGTERM for the grace period and was killed.
    Killed,
    /// It was already gone (or its PID belongs to another process now).
    AlreadyGone,
}

/// Terminates `pid` if it is still the process that started at
/// `expected_start` (when given): SIGTERM, then SIGKILL after `grace`.
pub fn terminate(pid: u32, expected_start: Option<u64>, grace: Duration) -> Result<Ended, EnforceError> {
    let target = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or(EnforceError::Unsupported("the pid is not a process id (0 or out of range)"))?;
    let same = || match (start_ticks(pid), expected_start) {
        (None, _) => false,
        (Some(now), Some(expected)) => now == expected,
        (Some(_), None) => true,
    };
    if !same() {
        return Ok(Ended::AlreadyGone);
    }
    kill_process(target, Signal::TERM).map_err(|e| EnforceError::Signal {
        signal: "SIGTERM",
        pid,
        reason: e.to_string(),
    })?;
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        // A zombie still has a stat file; its state field says Z.
        if !same() || is_zombie(pid) {
            return Ok(Ended::Terminated);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if !same() {
        return Ok(Ended::Terminated);
    }
    kill_process(target, Signal::KILL).map_err(|e| EnforceError::Signal {
        signal: "SIGKILL",
        pid,
        reason: e.to_string(),
    })?;
    Ok(Ended::Killed)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rfind(')').map(|i| stat[i + 1..].trim_start().starts_with('Z')))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kthreadd_is_a_kernel_thread_and_this_process_is_not() {
        // pid 2 is kthreadd on Linux, in a container only when it shares the host's pid namespace.
        if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
            assert!(is_kernel_thread(2));
        }
        assert!(!is_kernel_thread(std::process::id()));
        assert!(!is_kernel_thread(u32::MAX));
    }
    use std::process::{Command, Stdio};

    #[test]
    fn a_cooperative_process_ends_on_sigterm() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let start = start_ticks(child.id());
        assert!(start.is_some());
        assert_eq!(terminate(child.id(), start, Duration::from_secs(5)).unwrap(), Ended::Terminated);
        assert!(!child.wait().unwrap().success());
    }

    #[test]
    fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() {
        // `trap '' TERM` makes the shell ignore SIGTERM; the script is a constant.
        let mut child = Command::new("sh")
            .args(["-c", "trap '' TERM; while :; do sleep 0.05; done"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let start = start_ticks(child.id());
        assert_eq!(terminate(child.id(), start, Duration::from_millis(300)).unwrap(), Ended::Killed);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.wait().unwrap().signal(), Some(9));
    }

    #[test]
    fn a_reused_pid_is_never_signalled() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let start = start_ticks(child.id()).unwrap();
        // Pretend the decision was about an earlier process with this PID.
        assert_eq!(terminate(child.id(), Some(start + 1), Duration::from_secs(1)).unwrap(), Ended::AlreadyGone);
        assert!(child.try_wait().unwrap().is_none(), "still running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

//! Parsers for one process's /proc/PID files and for /etc/passwd (to name
//! a process's user). Pure, like `procfs`: a process that exits between the
//! listing and the read is the collector's business, not theirs.

use std::collections::HashMap;

use super::procfs::err;
use crate::error::ProcError;

/// One process from /proc/PID/stat: what the collector ranks by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub name: String,
    pub state: char,
    pub ppid: u32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub threads: u64,
    /// Clock ticks after boot.
    pub start_ticks: u64,
    pub rss_pages: u64,
}

pub fn parse_proc_stat(text: &str) -> Result<ProcStat, ProcError> {
    let file = "/proc/PID/stat";
    let open = text.find('(').ok_or_else(|| err(file, 0, "no '(' before the command name"))?;
    let close = text.rfind(')').ok_or_else(|| err(file, 0, "no ')' after the command name"))?;
    if close < open {
        return Err(err(file, 0, "')' before '('"));
    }
    let pid = text[..open].trim().parse().map_err(|_| err(file, 0, "the pid is not a number"))?;
    let name = text[open + 1..close].to_owned();
    // Fields from 3 (state) on.
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> Result<u64, ProcError> {
        let f = rest.get(n - 3).ok_or_else(|| err(file, 0, &format!("field {n} is missing")))?;
        f.parse().map_err(|_| err(file, 0, &format!("field {n}: {f:?} is not a number")))
    };
    let state = rest.first().and_then(|s| s.chars().next()).ok_or_else(|| err(file, 0, "no state field"))?;
    Ok(ProcStat {
        pid,
        name,
        state,
        ppid: u32::try_from(field(4)?).map_err(|_| err(file, 0, "ppid out of range"))?,
        cpu_ticks: field(14)? + field(15)?,
        threads: field(20)?,
        start_ticks: field(22)?,
        rss_pages: field(24)?,
    })
}

/// The real user id from /proc/PID/status (`Uid:` real effective saved fs).
pub fn parse_status_uid(text: &str) -> Result<u32, ProcError> {
    let file = "/proc/PID/status";
    for (n, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            let real = rest.split_whitespace().next().ok_or_else(|| err(file, n, "Uid has no value"))?;
            return real.parse().map_err(|_| err(file, n, &format!("Uid {real:?} is not a number")));
        }
    }
    Err(err(file, 0, "no Uid line"))
}

/// /proc/PID/cmdline: arguments separated (and usually ended) by NUL; joined
/// with spaces for display. Empty for kernel threads.
pub fn parse_cmdline(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.trim_end_matches('\0').replace('\0', " ")
}

/// User names by uid from /etc/passwd. Lines that are not `name:x:uid:...`
/// (comments, NIS `+` entries) are skipped: a name is only a label here.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let uid = fields.nth(1)?.parse().ok()?;
            (!name.is_empty() && !name.starts_with('#')).then(|| (uid, name.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stat_with_a_command_name_holding_spaces_and_parentheses() {
        let text = "4242 (my (weird) cmd) R 1 4242 4242 0 -1 4194304 10 0 0 0 700 300 0 0 20 0 3 0 99887 1000000 256 18446744073709551615";
        let p = parse_proc_stat(text).unwrap();
        assert_eq!((p.pid, p.name.as_str(), p.state, p.ppid), (4242, "my (weird) cmd", 'R', 1));
        assert_eq!((p.cpu_ticks, p.threads, p.start_ticks, p.rss_pages), (1000, 3, 99887, 256));
        assert!(parse_proc_stat("12 (x) S 1").unwrap_err().to_string().contains("field 14"));
    }

    #[test]
    fn status_cmdline_and_passwd() {
        assert_eq!(parse_status_uid("Name:\tyes\nUid:\t1000\t1000\t1000\t1000\n").unwrap(), 1000);
        assert!(parse_status_uid("Name: x\n").unwrap_err().to_string().contains("no Uid"));
        assert!(parse_status_uid("Uid: me\n").unwrap_err().to_string().contains("line 1"));
        assert_eq!(parse_cmdline(b"stress-ng\0--cpu\x001\0"), "stress-ng --cpu 1");
        assert_eq!(parse_cmdline(b""), "");
        let users =
            parse_passwd("root:x:0:0:root:/root:/bin/bash\n# comment\n+::::::\nalice:x:1000:1000::/home/a:/bin/sh\n");
        assert_eq!((users[&0].as_str(), users[&1000].as_str(), users.len()), ("root", "alice", 2));
    }

    #[test]
    fn this_process_parses() {
        let me = parse_proc_stat(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        assert_eq!(me.pid, std::process::id());
        parse_status_uid(&std::fs::read_to_string("/proc/self/status").unwrap()).unwrap();
        assert!(!parse_cmdline(&std::fs::read("/proc/self/cmdline").unwrap()).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,200}") {
            let _ = parse_proc_stat(&text);
            let _ = parse_status_uid(&text);
            let _ = parse_cmdline(text.as_bytes());
            let _ = parse_passwd(&text);
        }
    }
}

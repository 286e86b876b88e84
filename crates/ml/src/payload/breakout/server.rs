//! SQL that reaches into the database server itself rather than the
//! application's tables: its variables (`@@version`, `@@hostname`), its
//! catalog (`information_schema.tables`, `from sysobjects`, `mysql.user`,
//! `pg_shadow`), its files (`load_file(`, `into outfile`) and the routines
//! that run commands, wait or call out (`xp_cmdshell`, `waitfor delay '`,
//! `benchmark(5000000,`, `pg_sleep(`, `utl_http.request`). An application
//! names its own tables; what a value names here is what an injection
//! reads or runs once it is in — whatever precedes it, which is where
//! the breakout shapes stop (`1 for update union select table_name from
//! information_schema.tables`). OWASP CRS treats the catalog names the
//! same way at its first paranoia level (rule 942140). The cost, said
//! plainly: a search box on a site for database people, searched for
//! `information_schema.tables`, is called an injection.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Catalog names: only where SQL names a table (after `from`, `join`,
/// `,`, `(` or `[`, or before `.` or `]`), so the bare word a person
/// might type is not one.
const CATALOG: &[&str] = &[
    "information_schema",
    "mysql.user",
    "mysql.db",
    "pg_shadow",
    "pg_catalog",
    "pg_user",
    "pg_authid",
    "sysobjects",
    "syscolumns",
    "sysusers",
    "sysdatabases",
    "sysprocesses",
    "syslogins",
    "sqlite_master",
    "msysobjects",
];

/// Routines and clauses that read or write the server's files, run
/// commands, wait or call out: anywhere after a word boundary, with the
/// punctuation that makes them SQL (`load_file(`, not `load file`).
const ROUTINES: &[&str] = &[
    "xp_cmdshell",
    "xp_dirtree",
    "xp_regread",
    "xp_fileexist",
    "sp_oacreate",
    "sp_makewebtask",
    "load_file(",
    "into outfile ",
    "into dumpfile ",
    "waitfor delay '",
    "waitfor time '",
    "pg_sleep(",
    "pg_read_file(",
    "dbms_pipe.receive_message(",
    "dbms_lock.sleep(",
    "utl_http.request(",
    "utl_inaddr.get_host_",
    "sys_eval(",
    "sys_exec(",
];

/// Whether `text` (decoded: lowercase, spaces folded) names the server's
/// variables, catalog or routines as SQL does: one pass of one automaton.
pub(super) fn server_object(text: &str) -> bool {
    static NAMES: OnceLock<AhoCorasick> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostFirst)
            .build(CATALOG.iter().chain(ROUTINES).chain(&[VARIABLE, BENCHMARK]))
            .unwrap_or_else(|e| panic!("server object names: {e}"))
    });
    let bytes = text.as_bytes();
    names.find_iter(text).any(|m| {
        let (start, end) = (m.start(), m.end());
        let after = bytes.get(end).copied();
        // A name ending in a letter must end its word (`xp_cmdshells`); `load_file(` ends itself.
        let ends_word = !bytes[end - 1].is_ascii_alphanumeric() || after.is_none_or(|b| !is_name_byte(b));
        if !(word_starts(bytes, start) && ends_word) {
            return false;
        }
        if m.pattern().as_usize() < CATALOG.len() {
            // A catalog name, where SQL names a table.
            let before = text[..start].trim_end();
            return matches!(after, Some(b'.' | b']'))
                || before.ends_with([',', '(', '['])
                || ["from", "join"].iter().any(|w| before.ends_with(w) && word_starts(bytes, before.len() - w.len()));
        }
        match &text[start..end] {
            // `@@version`, `@@global.max_connections`: a letter follows, and no third `@` precedes.
            VARIABLE => after.is_some_and(|b| b.is_ascii_lowercase()) && (start == 0 || bytes[start - 1] != b'@'),
            BENCHMARK => benchmark_count(&text[end..]),
            _ => true,
        }
    })
}

/// A server variable's prefix.
const VARIABLE: &str = "@@";
/// MySQL's busy loop: `benchmark(5000000,md5(1))`.
const BENCHMARK: &str = "benchmark(";

/// `benchmark(`'s arguments start with a count and a comma.
fn benchmark_count(args: &str) -> bool {
    let args = args.trim_start();
    let digits = args.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && args[digits..].trim_start().starts_with(',')
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a name found at `at` starts a word (nothing alphanumeric or `_` before it).
fn word_starts(bytes: &[u8], at: usize) -> bool {
    at.checked_sub(1).is_none_or(|i| !is_name_byte(bytes[i]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn reaches(raw: &str) -> bool {
        server_object(&decode(raw, Context::Form).text)
    }

    #[test]
    fn text_that_only_looks_like_it_does_not() {
        for benign in [
            "information_schema",
            "what is information_schema",
            "sysusers",
            "my handle is a@@b",
            "@@@ chorus",
            "load file from disk",
            "wait for delay",
            "benchmark (2019) results",
            "benchmark(cpu) scores",
            "pg_sleeper cars",
            "mysql.username=bob",
            "xp_cmdshells are a joke",
            "select * from customers",
            "into outfiles",
            "email me: jo@@example",
        ] {
            assert!(!reaches(benign), "{benign}");
        }
    }

    #[test]
    fn what_an_injection_reads_or_runs_is_found() {
        for attack in [
            "1 for update union select table_name from information_schema.tables limit 1",
            "(select top 1 table_name from information_schema.tables)",
            "select * from sysusers",
            "select a.name from sysobjects a,syscolumns b",
            "news-359 union select 1,2,user,4,password,6 from mysql.user/*",
            "select\"table_name\"from[information_schema].[tables]",
            "1=(select @@version)",
            "asd\" or @@global.hot_cache.key_buffer_size^\"1",
            "mid(@@hostname, 1, 1)",
            "length(load_file('/etc/passwd'))",
            "' into outfile '/var/www/aa.php'--",
            "10 union exec master..xp_cmdshell 'dir'",
            "1;waitfor delay '0:0:5'--",
            "1 and benchmark(5000000,md5(1))",
            "1;select pg_sleep(5)--",
            "1 or 1=utl_http.request('http://x')",
            "SELECT%20*%20FROM%20INFORMATION_SCHEMA.TABLES",
        ] {
            assert!(reaches(attack), "{attack}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in "\\PC{0,60}") {
            let _ = server_object(&text);
        }
    }
}

//! One log line through every line format: syslog (and the sshd, sudo and
//! other program parsers behind it), web access logs, JSON lines, the
//! daemons' own logs (Apache and nginx error logs, vsftpd, MySQL,
//! PostgreSQL); and the format sniffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sources::{LineParser, LogFormat, detect_format};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    for format in LogFormat::LINE_FORMATS {
        let _ = LineParser::new(format, 2026).parse(&line, 1_750_000_000_000);
    }
    let lines: Vec<&str> = line.lines().collect();
    let _ = detect_format(&lines, 2026);
});

//! The /proc files the host collector reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sources::host::process::{parse_cmdline, parse_passwd, parse_proc_stat, parse_status_uid};
use rampart_sources::host::procfs::{
    parse_diskstats, parse_file_nr, parse_loadavg, parse_meminfo, parse_net_dev, parse_net_tcp, parse_stat,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_stat(&text);
    let _ = parse_meminfo(&text);
    let _ = parse_loadavg(&text);
    let _ = parse_net_dev(&text);
    let _ = parse_diskstats(&text, |name| name.starts_with("sd"));
    let _ = parse_file_nr(&text);
    let _ = parse_net_tcp(&text);
    let _ = parse_proc_stat(&text);
    let _ = parse_status_uid(&text);
    let _ = parse_passwd(&text);
    let _ = parse_cmdline(data);
});

//! Command lines from /proc, redacted before anything stores them; and the
//! capped line reader that `scan` reads files with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sources::host::redact::redact_command_line;
use rampart_sources::line_reader::read_line_capped;

fuzz_target!(|data: &[u8]| {
    let _ = redact_command_line(&String::from_utf8_lossy(data));
    let mut reader = std::io::BufReader::with_capacity(7, data);
    let mut buf = Vec::new();
    let mut total = 0u64;
    while let Ok(Some(read)) = read_line_capped(&mut reader, &mut buf, 16) {
        assert!(buf.len() <= 16);
        total += read.bytes;
    }
    assert_eq!(total, data.len() as u64);
});

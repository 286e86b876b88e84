//! One entry of `journalctl --output=json`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sources::parse::journal::parse_entry;

fuzz_target!(|data: &[u8]| {
    let _ = parse_entry(&String::from_utf8_lossy(data), 1_750_000_000_000);
});

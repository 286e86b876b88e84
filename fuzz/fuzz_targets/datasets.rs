//! Dataset files as `rampart train`, `eval` and `replay` load them:
//! NSL-KDD, CIC-IDS2017 and labelled CSV.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_ml::dataset::{Format, Table, parse_into};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for format in [Format::NslKdd, Format::CicIds2017, Format::Csv { label: "label".into() }] {
        for skip_bad in [false, true] {
            let mut table = Table::default();
            let _ = parse_into(&mut table, &text, &format, "fuzz", 0, skip_bad);
        }
    }
});

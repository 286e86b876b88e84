//! A Prometheus text exposition (an exporter's /metrics) and a PromQL
//! query answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sources::prometheus::{parse_exposition, parse_query_answer};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_exposition(&text);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_query_answer("q", &value);
    }
});

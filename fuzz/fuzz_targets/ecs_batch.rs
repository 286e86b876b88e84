//! ECS events as the HTTP API takes them: a JSON object or array, or NDJSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::Limits;
use rampart_core::ecs::{BatchFormat, decode_batch, encode_event};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    for format in [BatchFormat::Json, BatchFormat::Ndjson] {
        if let Ok(events) = decode_batch(data, format, &limits, 1_750_000_000_000) {
            // What was accepted must encode again without panicking.
            for event in &events {
                let _ = encode_event(event);
            }
        }
    }
});

//! Captured frames through the flow meter: the decoder reads every link
//! type, and a stream of frames cut from the input drives the flow table
//! (timeouts, closes, eviction in a small table) without a panic or a
//! feature that is not a finite number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_meter::{FlowTable, LinkType, MeterConfig, decode};

fuzz_target!(|data: &[u8]| {
    let links = [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::RawIp, LinkType::Null];
    let config = MeterConfig { max_flows: 8, early_packets: 3, ..MeterConfig::default() };
    let mut table = FlowTable::new(config);
    let mut out = Vec::new();
    // Frames are length-prefixed (one byte) with a timestamp step byte.
    let (mut at, mut ts) = (0usize, 0i64);
    while at + 2 <= data.len() {
        let (len, step) = (usize::from(data[at]), i64::from(data[at + 1]));
        let frame = &data[at + 2..(at + 2 + len).min(data.len())];
        at += 2 + len;
        ts += step * 200_000;
        for link in links {
            if let Ok(packet) = decode(link, frame, ts) {
                table.push(&packet, &mut out);
            }
        }
    }
    table.flush(&mut out);
    for record in out {
        assert!(record.features.iter().all(|v| v.is_finite()), "{record:?}");
    }
});

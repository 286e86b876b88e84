use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use crate::decode::{LinkType, Skip, decode, flag};
use crate::flow::FEATURE_NAMES;
use crate::stats::Running;
use crate::table::{EndReason, Ended, FlowTable, MeterConfig};

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

/// An Ethernet + IPv4 + TCP frame (20-byte header plus `options` bytes).
fn tcp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    (sport, dport): (u16, u16),
    flags: u8,
    window: u16,
    options: usize,
    payload: usize,
) -> Vec<u8> {
    let tcp_len = 20 + options;
    let total = 20 + tcp_len + payload;
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    f.extend_from_slice(&ip);
    let mut tcp = vec![0u8; tcp_len];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[12] = ((tcp_len / 4) as u8) << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&window.to_be_bytes());
    f.extend_from_slice(&tcp);
    f.extend(std::iter::repeat_n(b'x', payload));
    f
}

/// The frame with its TCP sequence and acknowledgement numbers set.
fn numbered(mut frame: Vec<u8>, seq: u32, ack: u32) -> Vec<u8> {
    frame[38..42].copy_from_slice(&seq.to_be_bytes());
    frame[42..46].copy_from_slice(&ack.to_be_bytes());
    frame
}

fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let total = 20 + 8 + payload;
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend(std::iter::repeat_n(0u8, payload));
    f
}

fn feature(record: &Ended, name: &str) -> f64 {
    let at = FEATURE_NAMES.iter().position(|n| *n == name).unwrap_or_else(|| panic!("no feature {name}"));
    record.features[at]
}

fn meter(table: &mut FlowTable, frames: &[(i64, Vec<u8>)]) -> Vec<Ended> {
    let mut out = Vec::new();
    for (ts, frame) in frames {
        let packet = decode(LinkType::Ethernet, frame, *ts).expect("test frames decode");
        table.push(&packet, &mut out);
    }
    out
}

#[test]
fn decodes_tcp_with_lengths_from_the_headers() {
    let frame = tcp_frame(A, B, (40000, 80), flag::PSH | flag::ACK, 502, 12, 300);
    let p = decode(LinkType::Ethernet, &frame, 7).expect("decodes");
    assert_eq!((p.src, p.dst), (IpAddr::V4(Ipv4Addr::from(A)), IpAddr::V4(Ipv4Addr::from(B))));
    assert_eq!((p.src_port, p.dst_port, p.protocol), (40000, 80, 6));
    assert_eq!((p.header_len, p.payload_len, p.window), (32, 300, 502));
    assert!(p.has(flag::PSH) && p.has(flag::ACK) && !p.has(flag::SYN));
    // Cut at a 96-byte snap length: the lengths still come from the headers.
    let cut = decode(LinkType::Ethernet, &frame[..96], 7).expect("a truncated capture still decodes");
    assert_eq!(cut.payload_len, 300);
}

#[test]
fn decodes_vlan_cooked_and_raw_frames() {
    let frame = udp_frame(A, B, 5353, 53, 40);
    let mut tagged = frame[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
    tagged.extend_from_slice(&frame[12..]);
    let p = decode(LinkType::Ethernet, &tagged, 0).expect("VLAN-tagged");
    assert_eq!((p.protocol, p.payload_len, p.header_len), (17, 40, 8));
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&frame[12..]);
    assert_eq!(decode(LinkType::LinuxSll, &sll, 0).map(|p| p.dst_port), Ok(53));
    assert_eq!(decode(LinkType::RawIp, &frame[14..], 0).map(|p| p.src_port), Ok(5353));
    let mut arp = frame.clone();
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(decode(LinkType::Ethernet, &arp, 0), Err(Skip::NotIp));
    let mut fragment = frame.clone();
    fragment[20] = 0x00;
    fragment[21] = 0x10;
    assert_eq!(decode(LinkType::Ethernet, &fragment, 0), Err(Skip::Fragment));
}

#[test]
fn decodes_ipv6_through_extension_headers() {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&0x86DDu16.to_be_bytes());
    let mut ip = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
    ip[6] = 0; // hop-by-hop first
    let tcp_len = 20usize;
    ip[4..6].copy_from_slice(&((8 + tcp_len + 10) as u16).to_be_bytes());
    ip.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    ip.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 0]); // hop-by-hop: next is TCP
    let mut tcp = vec![0u8; tcp_len];
    tcp[0..2].copy_from_slice(&443u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&50000u16.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flag::ACK;
    f.extend_from_slice(&tcp);
    f.extend_from_slice(&[0u8; 10]);
    let p = decode(LinkType::Ethernet, &f, 0).expect("IPv6 decodes");
    assert_eq!((p.protocol, p.src_port, p.payload_len), (6, 443, 10));
}

#[test]
fn malformed_headers_are_refused_not_trusted() {
    let mut frame = tcp_frame(A, B, (1, 2), flag::SYN, 0, 0, 0);
    frame[14 + 20 + 12] = 0x20; // data offset 8 bytes: below the minimum
    assert_eq!(decode(LinkType::Ethernet, &frame, 0), Err(Skip::Malformed));
    let mut short_total = tcp_frame(A, B, (1, 2), flag::SYN, 0, 0, 0);
    short_total[16..18].copy_from_slice(&30u16.to_be_bytes()); // IP says 30 bytes: 10 for a 20-byte TCP header
    assert_eq!(decode(LinkType::Ethernet, &short_total, 0), Err(Skip::Malformed));
    assert_eq!(decode(LinkType::Ethernet, &frame[..20], 0), Err(Skip::Truncated));
}

/// The shape of a port-scan probe in the dataset: a SYN with one option,
/// an RST-ACK 49 µs later (a row of Portscan_5000.csv).
#[test]
fn a_refused_probe_matches_the_datasets_features() {
    let mut table = FlowTable::new(MeterConfig::default());
    let out = meter(
        &mut table,
        &[
            (1_000_000, tcp_frame(A, B, (55191, 4005), flag::SYN, 1024, 4, 0)),
            (1_000_049, tcp_frame(B, A, (4005, 55191), flag::RST | flag::ACK, 0, 0, 0)),
        ],
    );
    assert_eq!(out.len(), 1, "closed by the RST at once");
    let r = &out[0];
    assert_eq!(r.reason, EndReason::Closed);
    let expect = [
        ("Dst Port", 4005.0),
        ("Protocol", 6.0),
        ("Flow Duration", 49.0),
        ("Total Fwd Packet", 1.0),
        ("Total Bwd packets", 1.0),
        ("Flow Packets/s", 2.0 / 49e-6),
        ("Flow IAT Mean", 49.0),
        ("Flow IAT Std", 0.0),
        ("Fwd Header Length", 24.0),
        ("Bwd Header Length", 20.0),
        ("Fwd Packets/s", 1.0 / 49e-6),
        ("SYN Flag Count", 1.0),
        ("RST Flag Count", 1.0),
        ("ACK Flag Count", 1.0),
        ("Bwd RST Flags", 1.0),
        ("Down/Up Ratio", 1.0),
        ("FWD Init Win Bytes", 1024.0),
        ("Bwd Init Win Bytes", 0.0),
        ("Fwd Seg Size Min", 24.0),
        ("ICMP Code", -1.0),
        ("ICMP Type", -1.0),
        ("Total TCP Flow Time", 49.0),
    ];
    for (name, want) in expect {
        let got = feature(r, name);
        assert!((got - want).abs() < 1e-6 * want.abs().max(1.0), "{name}: {got} != {want}");
    }
}

#[test]
fn a_whole_connection_is_one_flow_closed_by_the_last_ack() {
    let mut table = FlowTable::new(MeterConfig::default());
    let c = |f: u8, w: u16, n: usize, seq: u32, ack: u32| numbered(tcp_frame(A, B, (40000, 80), f, w, 0, n), seq, ack);
    let s = |f: u8, w: u16, n: usize, seq: u32, ack: u32| numbered(tcp_frame(B, A, (80, 40000), f, w, 0, n), seq, ack);
    let out = meter(
        &mut table,
        &[
            (0, c(flag::SYN, 64240, 0, 1000, 0)),
            (100, s(flag::SYN | flag::ACK, 65160, 0, 5000, 1001)),
            (200, c(flag::ACK, 502, 0, 1001, 5001)),
            (300, c(flag::PSH | flag::ACK, 502, 120, 1001, 5001)),
            (1_300, s(flag::ACK, 509, 0, 5001, 1121)),
            (2_300, s(flag::PSH | flag::ACK, 509, 1448, 5001, 1121)),
            (2_400, c(flag::FIN | flag::ACK, 502, 0, 1121, 6449)),
            (2_500, s(flag::FIN | flag::ACK, 509, 0, 6449, 1122)),
            (2_600, c(flag::ACK, 502, 0, 1122, 6450)),
        ],
    );
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!((r.reason, r.packets, r.key.dst_port), (EndReason::Closed, 9, 80));
    assert_eq!(feature(r, "Total Fwd Packet"), 5.0);
    assert_eq!(feature(r, "Total Bwd packets"), 4.0);
    assert_eq!(feature(r, "Total Length of Fwd Packet"), 120.0);
    assert_eq!(feature(r, "Total Length of Bwd Packet"), 1448.0);
    assert_eq!(feature(r, "Fwd Packet Length Max"), 120.0);
    assert_eq!(feature(r, "Packet Length Max"), 1448.0);
    assert_eq!(feature(r, "Flow Duration"), 2600.0);
    assert_eq!(feature(r, "Fwd IAT Total"), 2600.0);
    assert_eq!(feature(r, "Bwd IAT Total"), 2400.0);
    assert_eq!(feature(r, "FIN Flag Count"), 2.0);
    assert_eq!(feature(r, "SYN Flag Count"), 2.0);
    assert_eq!(feature(r, "FWD Init Win Bytes"), 64240.0);
    assert_eq!(feature(r, "Bwd Init Win Bytes"), 65160.0);
    assert_eq!(feature(r, "Fwd Act Data Pkts"), 1.0);
    assert_eq!(feature(r, "Fwd PSH Flags"), 1.0);
    // Sample deviation of the nine payload lengths, as Commons Math gives it.
    let lengths = [0.0, 0.0, 0.0, 120.0, 0.0, 1448.0, 0.0, 0.0, 0.0];
    let mean = lengths.iter().sum::<f64>() / 9.0;
    let var = lengths.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 8.0;
    assert!((feature(r, "Packet Length Variance") - var).abs() < 1e-6);
    assert!((feature(r, "Average Packet Size") - 1568.0 / 9.0).abs() < 1e-9);
    // A straggler after the close does not start a flow of its own.
    let late = meter(&mut table, &[(2_700, c(flag::ACK, 502, 0, 1122, 6450))]);
    assert!(late.is_empty());
    let mut rest = Vec::new();
    table.flush(&mut rest);
    assert!(rest.is_empty(), "the lingering entry was already reported: {rest:?}");
}

/// The server closes first and the client's FIN does not yet acknowledge
/// it: the flow ends with the ACK of the second FIN, not the first ACK
/// after two FINs (the packet CICFlowMeter also counts).
#[test]
fn a_close_ends_when_both_fins_are_acknowledged() {
    let mut table = FlowTable::new(MeterConfig::default());
    let c = |f: u8, seq: u32, ack: u32| numbered(tcp_frame(A, B, (40001, 80), f, 502, 0, 0), seq, ack);
    let s = |f: u8, seq: u32, ack: u32| numbered(tcp_frame(B, A, (80, 40001), f, 509, 0, 0), seq, ack);
    let out = meter(
        &mut table,
        &[
            (0, c(flag::SYN, 10, 0)),
            (10, s(flag::SYN | flag::ACK, 90, 11)),
            (20, c(flag::ACK, 11, 91)),
            (30, s(flag::FIN | flag::ACK, 91, 11)),
            (40, c(flag::FIN | flag::ACK, 11, 91)),
            (50, s(flag::ACK, 92, 12)),
        ],
    );
    assert!(out.is_empty(), "the server's FIN is not acknowledged yet: {out:?}");
    let out = meter(&mut table, &[(60, c(flag::ACK, 12, 92))]);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].reason, out[0].packets), (EndReason::Closed, 7));
    assert_eq!(feature(&out[0], "Total Fwd Packet"), 4.0);
}

#[test]
fn a_syn_ack_seen_first_orients_the_flow_to_the_client() {
    let mut table = FlowTable::new(MeterConfig::default());
    let mut out = meter(
        &mut table,
        &[
            (0, tcp_frame(B, A, (80, 40000), flag::SYN | flag::ACK, 100, 0, 0)),
            (10, tcp_frame(A, B, (40000, 80), flag::ACK, 200, 0, 0)),
        ],
    );
    table.flush(&mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].key.dst_port, 80);
    assert_eq!(feature(&out[0], "Total Fwd Packet"), 1.0);
    assert_eq!(feature(&out[0], "Bwd Init Win Bytes"), 100.0);
}

#[test]
fn long_flows_are_cut_at_the_flow_timeout_and_carry_their_time() {
    let config = MeterConfig {
        flow_timeout_us: 10_000_000,
        idle_timeout_us: 60_000_000,
        early_after_us: 0,
        ..MeterConfig::default()
    };
    let mut table = FlowTable::new(config);
    let frames: Vec<_> = (0..25).map(|i| (i * 1_000_000, udp_frame(A, B, 5000, 514, 100))).collect();
    let mut out = meter(&mut table, &frames);
    table.flush(&mut out);
    let reasons: Vec<_> = out.iter().map(|r| r.reason).collect();
    assert_eq!(reasons, [EndReason::FlowTimeout, EndReason::FlowTimeout, EndReason::Flush]);
    assert_eq!(feature(&out[0], "Total Fwd Packet"), 11.0);
    // The second piece's total time counts the first piece and the gap.
    assert_eq!(feature(&out[1], "Total TCP Flow Time"), 21_000_000.0);
}

#[test]
fn idle_flows_are_reported_by_the_clock() {
    let config = MeterConfig { idle_timeout_us: 5_000_000, ..MeterConfig::default() };
    let mut table = FlowTable::new(config);
    let mut out = meter(&mut table, &[(0, udp_frame(A, B, 5000, 53, 30)), (100, udp_frame(B, A, 53, 5000, 90))]);
    table.advance(4_000_000, &mut out);
    assert!(out.is_empty());
    table.advance(6_000_000, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].reason, EndReason::Idle);
    assert_eq!(feature(&out[0], "Bwd Segment Size Avg"), 90.0);
    assert!(table.is_empty());
}

#[test]
fn floods_get_an_early_verdict_and_their_final_record() {
    let config = MeterConfig { early_packets: 50, ..MeterConfig::default() };
    let mut table = FlowTable::new(config);
    let frames: Vec<_> = (0..120).map(|i| (i * 10, tcp_frame(A, B, (1234, 80), flag::SYN, 512, 0, 0))).collect();
    let mut out = meter(&mut table, &frames);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].reason, out[0].packets), (EndReason::Early, 50));
    table.flush(&mut out);
    assert_eq!((out[1].reason, out[1].packets), (EndReason::Flush, 120));
    assert_eq!(table.counters().early_snapshots, 1);
}

#[test]
fn a_full_table_evicts_idle_flows_and_counts_what_it_refuses() {
    let config = MeterConfig { max_flows: 10, ..MeterConfig::default() };
    let mut table = FlowTable::new(config);
    let old: Vec<_> = (0..10).map(|i| (0, udp_frame(A, B, 1000 + i, 53, 10))).collect();
    let mut out = meter(&mut table, &old);
    assert_eq!(table.len(), 10);
    // Ten seconds later the old flows are idle past the activity timeout.
    let new: Vec<_> = (0..5).map(|i| (10_000_000, udp_frame(A, B, 2000 + i, 53, 10))).collect();
    out.extend(meter(&mut table, &new));
    assert_eq!(out.iter().filter(|r| r.reason == EndReason::Evicted).count(), 10);
    assert_eq!(table.counters().evicted, 10);
    // All five new flows are active: an eleventh cannot get in right away.
    let busy: Vec<_> = (0..6).map(|i| (10_000_001, udp_frame(A, B, 3000 + i, 53, 10))).collect();
    out.extend(meter(&mut table, &busy));
    assert!(table.len() <= 10);
    assert_eq!(table.counters().refused, 1);
}

#[test]
fn csv_rows_carry_the_layouts_header() {
    let mut table = FlowTable::new(MeterConfig::default());
    let mut out = meter(&mut table, &[(1_500_000_000_000_000, udp_frame(A, B, 5000, 53, 30))]);
    table.flush(&mut out);
    let mut csv = crate::csv::FlowCsv::new(Vec::new()).expect("header");
    csv.write(&out[0], "BENIGN").expect("row");
    let text = String::from_utf8(csv.finish().expect("flush")).expect("utf-8");
    let mut lines = text.lines();
    let header: Vec<_> = lines.next().unwrap_or_default().split(',').collect();
    let row: Vec<_> = lines.next().unwrap_or_default().split(',').collect();
    assert_eq!(header.len(), 8 + 81 + 1);
    assert_eq!(header.len(), row.len());
    assert_eq!(row[2], "10.0.0.1");
    assert_eq!(row[7], "2017-07-14 02:40:00.000000");
    assert_eq!(row[header.iter().position(|h| *h == "Dst Port").unwrap_or(0)], "53");
    assert_eq!(row.last(), Some(&"BENIGN"));
}

proptest! {
    #[test]
    fn any_bytes_decode_or_are_skipped(frame in proptest::collection::vec(any::<u8>(), 0..200), link in 0usize..5) {
        let link = [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::RawIp, LinkType::Null][link];
        let _ = decode(link, &frame, 0);
    }

    #[test]
    fn mutated_real_frames_never_panic_the_table(flips in proptest::collection::vec((0usize..80, any::<u8>()), 0..8), ts in 0i64..1_000_000) {
        let mut frame = tcp_frame(A, B, (1, 2), flag::SYN, 9, 8, 20);
        for (at, byte) in flips {
            if let Some(b) = frame.get_mut(at) { *b = byte; }
        }
        let mut table = FlowTable::new(MeterConfig::default());
        let mut out = Vec::new();
        if let Ok(p) = decode(LinkType::Ethernet, &frame, ts) {
            table.push(&p, &mut out);
            table.push(&p, &mut out);
        }
        table.flush(&mut out);
        for r in out { prop_assert!(r.features.iter().all(|v| v.is_finite())); }
    }

    #[test]
    fn running_stats_match_the_textbook(xs in proptest::collection::vec(0u32..100_000, 1..50), split in 0usize..50) {
        let mut all = Running::default();
        let (mut a, mut b) = (Running::default(), Running::default());
        for (i, x) in xs.iter().enumerate() {
            all.push(*x);
            if i < split { a.push(*x) } else { b.push(*x) }
        }
        let n = xs.len() as f64;
        let mean = xs.iter().map(|x| f64::from(*x)).sum::<f64>() / n;
        let var = if xs.len() < 2 { 0.0 } else { xs.iter().map(|x| (f64::from(*x) - mean).powi(2)).sum::<f64>() / (n - 1.0) };
        prop_assert!((all.mean() - mean).abs() < 1e-6 * mean.max(1.0));
        prop_assert!((all.variance() - var).abs() < 1e-6 * var.max(1.0));
        let merged = Running::merged(&a, &b);
        prop_assert!((merged.variance() - var).abs() < 1e-6 * var.max(1.0));
        prop_assert_eq!(merged.count(), all.count());
        prop_assert_eq!(merged.min(), all.min());
    }
}

#[test]
fn a_flow_entry_stays_small() {
    // The floor is 512 bytes per tracked flow, table included.
    let entry = std::mem::size_of::<crate::flow::Flow>() + std::mem::size_of::<crate::flow::FlowKey>();
    assert!(entry <= 480, "a flow entry is {entry} bytes");
}

#[test]
fn a_mid_connection_segment_from_a_service_port_is_the_servers() {
    // A server retransmitting to a client whose side was already reported
    // (or a capture that started late): the client is still the initiator.
    let mut table = FlowTable::new(MeterConfig::default());
    let mut out = meter(&mut table, &[(0, tcp_frame(B, A, (22, 48458), flag::PSH | flag::ACK, 509, 0, 36))]);
    table.flush(&mut out);
    assert_eq!(out[0].key.src, IpAddr::V4(Ipv4Addr::from(A)));
    assert_eq!((out[0].key.src_port, out[0].key.dst_port), (48458, 22));
    assert_eq!(feature(&out[0], "Total Bwd packets"), 1.0);
}

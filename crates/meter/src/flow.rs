//! One bidirectional flow: what it accumulates per packet and the feature
//! vector it ends with.
//!
//! The definitions follow CICFlowMeter as fixed by Engelen et al. (the tool
//! behind the "improved" CIC-IDS2017 the `cic-ids2017` loader reads), so a
//! model trained on that dataset sees the same quantities: lengths are
//! transport payload bytes, header lengths transport headers, times
//! microseconds, deviations sample deviations. Where this meter differs
//! (and why) is listed in docs/FLOWS.md. Times inside a flow are kept as
//! 32-bit offsets from its first packet: the flow timeout (at most an hour)
//! bounds them.

use std::net::IpAddr;

use crate::decode::{Packet, flag};
use crate::stats::Running;

/// A flow's 5-tuple, initiator first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub protocol: u8,
}

impl FlowKey {
    pub fn of(packet: &Packet) -> FlowKey {
        FlowKey {
            src: packet.src,
            dst: packet.dst,
            src_port: packet.src_port,
            dst_port: packet.dst_port,
            protocol: packet.protocol,
        }
    }

    pub fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            protocol: self.protocol,
        }
    }

    /// The same key for both directions of a conversation.
    pub fn canonical(&self) -> FlowKey {
        if (self.src, self.src_port) <= (self.dst, self.dst_port) { *self } else { self.reversed() }
    }

    /// CICFlowMeter's `Flow ID` column: `src-dst-sport-dport-proto`.
    pub fn id(&self) -> String {
        format!("{}-{}-{}-{}-{}", self.src, self.dst, self.src_port, self.dst_port, self.protocol)
    }
}

/// The feature columns, in the improved CIC-IDS2017 layout's order and
/// spelling (`Dst Port` and `Protocol` included: the loader keeps both as
/// features). A static rather than a const: flow events refer to it, and a
/// model recognises the layout by its address.
pub static FEATURE_NAMES: [&str; 83] = [
    "Dst Port",
    "Protocol",
    "Flow Duration",
    "Total Fwd Packet",
    "Total Bwd packets",
    "Total Length of Fwd Packet",
    "Total Length of Bwd Packet",
    "Fwd Packet Length Max",
    "Fwd Packet Length Min",
    "Fwd Packet Length Mean",
    "Fwd Packet Length Std",
    "Bwd Packet Length Max",
    "Bwd Packet Length Min",
    "Bwd Packet Length Mean",
    "Bwd Packet Length Std",
    "Flow Bytes/s",
    "Flow Packets/s",
    "Flow IAT Mean",
    "Flow IAT Std",
    "Flow IAT Max",
    "Flow IAT Min",
    "Fwd IAT Total",
    "Fwd IAT Mean",
    "Fwd IAT Std",
    "Fwd IAT Max",
    "Fwd IAT Min",
    "Bwd IAT Total",
    "Bwd IAT Mean",
    "Bwd IAT Std",
    "Bwd IAT Max",
    "Bwd IAT Min",
    "Fwd PSH Flags",
    "Bwd PSH Flags",
    "Fwd URG Flags",
    "Bwd URG Flags",
    "Fwd RST Flags",
    "Bwd RST Flags",
    "Fwd Header Length",
    "Bwd Header Length",
    "Fwd Packets/s",
    "Bwd Packets/s",
    "Packet Length Min",
    "Packet Length Max",
    "Packet Length Mean",
    "Packet Length Std",
    "Packet Length Variance",
    "FIN Flag Count",
    "SYN Flag Count",
    "RST Flag Count",
    "PSH Flag Count",
    "ACK Flag Count",
    "URG Flag Count",
    "CWR Flag Count",
    "ECE Flag Count",
    "Down/Up Ratio",
    "Average Packet Size",
    "Fwd Segment Size Avg",
    "Bwd Segment Size Avg",
    "Fwd Bytes/Bulk Avg",
    "Fwd Packet/Bulk Avg",
    "Fwd Bulk Rate Avg",
    "Bwd Bytes/Bulk Avg",
    "Bwd Packet/Bulk Avg",
    "Bwd Bulk Rate Avg",
    "Subflow Fwd Packets",
    "Subflow Fwd Bytes",
    "Subflow Bwd Packets",
    "Subflow Bwd Bytes",
    "FWD Init Win Bytes",
    "Bwd Init Win Bytes",
    "Fwd Act Data Pkts",
    "Fwd Seg Size Min",
    "Active Mean",
    "Active Std",
    "Active Max",
    "Active Min",
    "Idle Mean",
    "Idle Std",
    "Idle Max",
    "Idle Min",
    "ICMP Code",
    "ICMP Type",
    "Total TCP Flow Time",
];

const SECOND_US: u32 = 1_000_000;
const NONE: u32 = u32::MAX;
const FWD: usize = 0;
const BWD: usize = 1;

/// Where a TCP conversation is in its teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    Open,
    /// A FIN seen, not both acknowledged.
    Closing,
    /// Closed by RST, or both FINs acknowledged (by sequence number: the
    /// last ACK is the flow's last packet, as CICFlowMeter counts it).
    Closed,
}

/// One direction's FIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fin {
    None,
    Sent,
    Acked,
}

/// `a` at or after `b` in sequence space.
fn seq_reached(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// Bulk transfer in one direction: four or more data packets with no
/// more than a second between them and none from the other side.
#[derive(Debug, Clone, Copy)]
struct Bulk {
    start: u32,
    last: u32,
    run_packets: u32,
    run_bytes: u32,
    bulks: u32,
    packets: u32,
    bytes: u64,
    duration: u32,
}

impl Default for Bulk {
    fn default() -> Bulk {
        Bulk { start: NONE, last: NONE, run_packets: 0, run_bytes: 0, bulks: 0, packets: 0, bytes: 0, duration: 0 }
    }
}

impl Bulk {
    fn update(&mut self, other_last: u32, at: u32, size: u32) {
        if other_last != NONE && self.start != NONE && other_last > self.start {
            self.start = NONE;
        }
        if size == 0 {
            return;
        }
        if self.start == NONE || at - self.last > SECOND_US {
            *self = Bulk { start: at, last: at, run_packets: 1, run_bytes: size, ..*self };
            return;
        }
        self.run_packets += 1;
        self.run_bytes = self.run_bytes.saturating_add(size);
        if self.run_packets == 4 {
            self.bulks += 1;
            self.packets += 4;
            self.bytes += u64::from(self.run_bytes);
            self.duration += at - self.start;
        } else if self.run_packets > 4 {
            self.packets += 1;
            self.bytes += u64::from(size);
            self.duration += at - self.last;
        }
        self.last = at;
    }

    fn averages(&self) -> [f64; 3] {
        if self.bulks == 0 {
            return [0.0; 3];
        }
        let rate = if self.duration == 0 { 0.0 } else { self.bytes as f64 / (f64::from(self.duration) / 1e6) };
        [self.bytes as f64 / f64::from(self.bulks), f64::from(self.packets) / f64::from(self.bulks), rate]
    }
}

/// Per-direction flag counts: PSH, URG, RST, FIN.
const PSH: usize = 0;
const URG: usize = 1;
const RST: usize = 2;
const FIN: usize = 3;

/// One flow's accumulators. Its key (initiator first: the first packet's
/// sender, or the receiver of a SYN-ACK seen before its SYN) is the flow
/// table's, passed in, not kept twice.
#[derive(Debug, Clone)]
pub struct Flow {
    pub start_us: i64,
    /// `Total TCP Flow Time` beyond this piece: earlier pieces of the same
    /// connection cut by the flow timeout, and the gaps between them.
    pub carried_us: i64,
    pub tcp: TcpState,
    fin: [Fin; 2],
    /// The sequence number that acknowledges each direction's FIN.
    fin_end: [u32; 2],
    /// An early-verdict snapshot of this flow has been sent.
    pub early_sent: bool,
    /// Already reported (closed by FIN/RST); the entry only absorbs
    /// stragglers until it lingers out.
    pub reported: bool,
    last: u32,
    dir_last: [u32; 2],
    dir_first: [u32; 2],
    active_start: u32,
    active_end: u32,
    subflow_last: u32,
    subflows: u32,
    len: [Running; 2],
    iat: Running,
    dir_iat: [Running; 2],
    active: Running,
    idle: Running,
    bytes: [u64; 2],
    header: [u64; 2],
    /// SYN, ACK, CWR, ECE over both directions (the rest are per direction).
    syn_ack_cwr_ece: [u32; 4],
    dir_flags: [[u32; 4]; 2],
    init_win: [u16; 2],
    act_data: [u32; 2],
    min_seg: [u16; 2],
    bulk: [Bulk; 2],
    icmp: Option<(u8, u8)>,
}

impl Flow {
    /// A flow opened by `packet`, oriented by `key`.
    pub fn new(key: &FlowKey, packet: &Packet) -> Flow {
        let mut flow = Flow {
            start_us: packet.ts_us,
            carried_us: 0,
            tcp: TcpState::Open,
            fin: [Fin::None; 2],
            fin_end: [0; 2],
            early_sent: false,
            reported: false,
            last: 0,
            dir_last: [NONE; 2],
            dir_first: [NONE; 2],
            active_start: 0,
            active_end: 0,
            subflow_last: 0,
            subflows: 0,
            len: [Running::default(); 2],
            iat: Running::default(),
            dir_iat: [Running::default(); 2],
            active: Running::default(),
            idle: Running::default(),
            bytes: [0; 2],
            header: [0; 2],
            syn_ack_cwr_ece: [0; 4],
            dir_flags: [[0; 4]; 2],
            init_win: [0; 2],
            act_data: [0; 2],
            min_seg: [u16::MAX; 2],
            bulk: [Bulk::default(); 2],
            icmp: packet.icmp,
        };
        flow.count(key, packet, 0, true);
        flow
    }

    /// Packets seen so far, both directions.
    pub fn packets(&self) -> u64 {
        u64::from(self.len[FWD].count()) + u64::from(self.len[BWD].count())
    }

    /// Microseconds from the first packet to the last.
    pub fn duration_us(&self) -> u32 {
        self.last
    }

    pub fn last_us(&self) -> i64 {
        self.start_us + i64::from(self.last)
    }

    /// Adds a later packet. `activity_timeout_us` splits active and idle
    /// periods (CICFlowMeter's 5 s by default).
    pub fn add(&mut self, key: &FlowKey, packet: &Packet, activity_timeout_us: u32) {
        let at = u32::try_from((packet.ts_us - self.start_us).max(0)).unwrap_or(u32::MAX - 1);
        // A capture's clock can step back a little; time never runs
        // backwards inside a flow.
        let at = at.max(self.last);
        if at - self.active_end > activity_timeout_us {
            if self.active_end > self.active_start {
                self.active.push(self.active_end - self.active_start);
            }
            self.idle.push(at - self.active_end);
            self.active_start = at;
        }
        self.active_end = at;
        self.iat.push(at - self.last);
        self.last = at;
        self.count(key, packet, at, false);
    }

    fn count(&mut self, key: &FlowKey, packet: &Packet, at: u32, first: bool) {
        let dir = if packet.src == key.src && packet.src_port == key.src_port { FWD } else { BWD };
        if !first && at - self.subflow_last > SECOND_US {
            self.subflows += 1;
        }
        self.subflow_last = at;
        let other_last = self.bulk[1 - dir].last;
        self.bulk[dir].update(other_last, at, packet.payload_len);

        for (i, bit) in [flag::SYN, flag::ACK, flag::CWR, flag::ECE].into_iter().enumerate() {
            self.syn_ack_cwr_ece[i] += u32::from(packet.has(bit));
        }
        for (i, bit) in [(PSH, flag::PSH), (URG, flag::URG), (RST, flag::RST), (FIN, flag::FIN)] {
            self.dir_flags[dir][i] += u32::from(packet.has(bit));
        }
        if self.dir_last[dir] != NONE {
            self.dir_iat[dir].push(at - self.dir_last[dir]);
        } else {
            self.dir_first[dir] = at;
            // The forward window is the opening packet's; the backward one
            // the first non-zero the responder advertises.
            if dir == FWD && first {
                self.init_win[FWD] = packet.window;
            }
        }
        if dir == BWD && self.init_win[BWD] == 0 {
            self.init_win[BWD] = packet.window;
        }
        self.dir_last[dir] = at;
        self.len[dir].push(packet.payload_len);
        self.bytes[dir] += u64::from(packet.payload_len);
        self.header[dir] += u64::from(packet.header_len);
        self.act_data[dir] += u32::from(packet.payload_len > 0);
        self.min_seg[dir] = self.min_seg[dir].min(packet.header_len.min(u32::from(u16::MAX)) as u16);
        self.track_teardown(packet, dir);
    }

    fn track_teardown(&mut self, packet: &Packet, dir: usize) {
        if packet.protocol != crate::decode::TCP || self.tcp == TcpState::Closed {
            return;
        }
        if packet.has(flag::RST) {
            self.tcp = TcpState::Closed;
            return;
        }
        let other = 1 - dir;
        if packet.has(flag::ACK) && self.fin[other] == Fin::Sent && seq_reached(packet.ack, self.fin_end[other]) {
            self.fin[other] = Fin::Acked;
        }
        if packet.has(flag::FIN) && self.fin[dir] == Fin::None {
            self.fin[dir] = Fin::Sent;
            self.fin_end[dir] = packet.seq.wrapping_add(packet.payload_len).wrapping_add(1);
        }
        self.tcp = match self.fin {
            [Fin::Acked, Fin::Acked] => TcpState::Closed,
            [Fin::None, Fin::None] => TcpState::Open,
            _ => TcpState::Closing,
        };
    }

    /// The feature vector, in `FEATURE_NAMES` order.
    pub fn features(&self, key: &FlowKey) -> [f64; 83] {
        let [fwd, bwd] = &self.len;
        let all = Running::merged(fwd, bwd);
        let duration = f64::from(self.last);
        let seconds = duration / 1e6;
        let packets = self.packets() as f64;
        let (nf, nb) = (f64::from(fwd.count()), f64::from(bwd.count()));
        let per_second = |x: f64| if self.last == 0 { 0.0 } else { x / seconds };
        let stats4 = |r: &Running| if r.count() == 0 { [0.0; 4] } else { [r.max(), r.min(), r.mean(), r.std()] };
        let iat5 = |dir: usize| {
            let r = &self.dir_iat[dir];
            if r.count() == 0 {
                [0.0; 5]
            } else {
                let total = f64::from(self.dir_last[dir] - self.dir_first[dir]);
                [total, r.mean(), r.std(), r.max(), r.min()]
            }
        };
        let mean_std_max_min =
            |r: &Running| if r.count() == 0 { [0.0; 4] } else { [r.mean(), r.std(), r.max(), r.min()] };
        let subflow = |x: f64| if self.subflows == 0 { 0.0 } else { x / f64::from(self.subflows) };
        let flags = |i: usize| f64::from(self.dir_flags[FWD][i] + self.dir_flags[BWD][i]);
        let (icmp_type, icmp_code) = self.icmp.map_or((-1.0, -1.0), |(t, c)| (f64::from(t), f64::from(c)));
        let min_seg_fwd = if self.min_seg[FWD] == u16::MAX { 0.0 } else { f64::from(self.min_seg[FWD]) };
        let [fwd_bulk, bwd_bulk] = [self.bulk[FWD].averages(), self.bulk[BWD].averages()];
        let [fwd_stats, bwd_stats] = [stats4(fwd), stats4(bwd)];
        let [fwd_iat, bwd_iat] = [iat5(FWD), iat5(BWD)];
        let flow_iat = mean_std_max_min(&self.iat);
        let [active, idle] = [mean_std_max_min(&self.active), mean_std_max_min(&self.idle)];
        let total_bytes = (self.bytes[FWD] + self.bytes[BWD]) as f64;
        let [fb, bb] = [self.bytes[FWD] as f64, self.bytes[BWD] as f64];
        [
            f64::from(key.dst_port),
            f64::from(key.protocol),
            duration,
            nf,
            nb,
            fb,
            bb,
            fwd_stats[0],
            fwd_stats[1],
            fwd_stats[2],
            fwd_stats[3],
            bwd_stats[0],
            bwd_stats[1],
            bwd_stats[2],
            bwd_stats[3],
            if self.last == 0 { -1.0 } else { total_bytes / seconds },
            if self.last == 0 { -1.0 } else { packets / seconds },
            flow_iat[0],
            flow_iat[1],
            flow_iat[2],
            flow_iat[3],
            fwd_iat[0],
            fwd_iat[1],
            fwd_iat[2],
            fwd_iat[3],
            fwd_iat[4],
            bwd_iat[0],
            bwd_iat[1],
            bwd_iat[2],
            bwd_iat[3],
            bwd_iat[4],
            f64::from(self.dir_flags[FWD][PSH]),
            f64::from(self.dir_flags[BWD][PSH]),
            f64::from(self.dir_flags[FWD][URG]),
            f64::from(self.dir_flags[BWD][URG]),
            f64::from(self.dir_flags[FWD][RST]),
            f64::from(self.dir_flags[BWD][RST]),
            self.header[FWD] as f64,
            self.header[BWD] as f64,
            per_second(nf),
            per_second(nb),
            if all.count() == 0 { 0.0 } else { all.min() },
            if all.count() == 0 { 0.0 } else { all.max() },
            all.mean(),
            all.std(),
            all.variance(),
            flags(FIN),
            f64::from(self.syn_ack_cwr_ece[0]),
            flags(RST),
            flags(PSH),
            f64::from(self.syn_ack_cwr_ece[1]),
            flags(URG),
            f64::from(self.syn_ack_cwr_ece[2]),
            f64::from(self.syn_ack_cwr_ece[3]),
            if nf == 0.0 { 0.0 } else { nb / nf },
            if packets == 0.0 { 0.0 } else { total_bytes / packets },
            if nf == 0.0 { 0.0 } else { fb / nf },
            if nb == 0.0 { 0.0 } else { bb / nb },
            fwd_bulk[0],
            fwd_bulk[1],
            fwd_bulk[2],
            bwd_bulk[0],
            bwd_bulk[1],
            bwd_bulk[2],
            subflow(nf),
            subflow(fb),
            subflow(nb),
            subflow(bb),
            f64::from(self.init_win[FWD]),
            f64::from(self.init_win[BWD]),
            f64::from(self.act_data[FWD]),
            min_seg_fwd,
            active[0],
            active[1],
            active[2],
            active[3],
            idle[0],
            idle[1],
            idle[2],
            idle[3],
            icmp_code,
            icmp_type,
            if matches!(key.protocol, crate::decode::TCP | crate::decode::UDP) {
                (self.carried_us + i64::from(self.last)) as f64
            } else {
                0.0
            },
        ]
    }
}

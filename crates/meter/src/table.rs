//! The flow table: packets to flows, flows to finished records.
//!
//! A flow ends when TCP closes it (RST, or the ACK of the second FIN) —
//! reported at once, so a scan's verdict does not wait for a timeout —
//! when it has lasted the flow timeout (CICFlowMeter's 120 s; the
//! connection goes on in a new piece that carries the time so far), when
//! it has been idle for the idle timeout, or when the table is full and
//! it is among the idlest (eviction, counted). Long flows also give one
//! early snapshot after `early_packets` packets or `early_after` time, so
//! a flood is judged while it runs. Time is the packets' own (offline) or
//! the wall clock passed to `advance` (live).

use crate::decode::{Packet, flag};
use crate::flow::{FEATURE_NAMES, Flow, FlowKey, TcpState};
use crate::store::FlowStore;

#[derive(Debug, Clone, PartialEq)]
pub struct MeterConfig {
    /// Longest a flow piece lasts (CICFlowMeter: 120 s). At most an hour.
    pub flow_timeout_us: i64,
    /// A flow with no packet for this long is over.
    pub idle_timeout_us: i64,
    /// Gap that splits active and idle periods (CICFlowMeter: 5 s).
    pub activity_timeout_us: u32,
    /// Flows tracked at once; beyond it the idlest are evicted.
    pub max_flows: usize,
    /// Early snapshot after this many packets (0: never).
    pub early_packets: u64,
    /// Early snapshot once a flow is this old (0: never).
    pub early_after_us: i64,
}

impl Default for MeterConfig {
    fn default() -> MeterConfig {
        MeterConfig {
            flow_timeout_us: 120_000_000,
            idle_timeout_us: 120_000_000,
            activity_timeout_us: 5_000_000,
            max_flows: 1 << 20,
            early_packets: 256,
            early_after_us: 10_000_000,
        }
    }
}

impl MeterConfig {
    /// The timeouts in seconds, as the config and the command line give
    /// them; the rest as `base`.
    pub fn with_timeouts(self, flow_secs: u64, idle_secs: u64, activity_secs: u64) -> MeterConfig {
        let us = |secs: u64| (secs as i64).saturating_mul(1_000_000);
        MeterConfig {
            flow_timeout_us: us(flow_secs),
            idle_timeout_us: us(idle_secs),
            activity_timeout_us: u32::try_from(us(activity_secs)).unwrap_or(u32::MAX),
            ..self
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(1_000_000..=3_600_000_000).contains(&self.flow_timeout_us) {
            return Err("flow_timeout must be between 1 s and 3600 s".into());
        }
        if self.idle_timeout_us < 1_000_000 {
            return Err("idle_timeout must be at least 1 s".into());
        }
        if self.activity_timeout_us == 0 {
            return Err("activity_timeout must be above 0".into());
        }
        if self.max_flows == 0 {
            return Err("max_flows must be at least 1".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// RST, or both FINs acknowledged.
    Closed,
    /// Lasted the flow timeout; the connection continues in a new piece.
    FlowTimeout,
    Idle,
    /// Pushed out of a full table.
    Evicted,
    /// A snapshot of a flow still running.
    Early,
    /// The capture ended (end of file, shutdown).
    Flush,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::FlowTimeout => "flow_timeout",
            EndReason::Idle => "idle",
            EndReason::Evicted => "evicted",
            EndReason::Early => "early",
            EndReason::Flush => "flush",
        }
    }
}

/// A flow record: who, when, why it was reported, and its features.
#[derive(Debug, Clone)]
pub struct Ended {
    pub key: FlowKey,
    pub start_us: i64,
    pub last_us: i64,
    pub packets: u64,
    pub reason: EndReason,
    pub features: [f64; 83],
}

impl Ended {
    fn of(key: &FlowKey, flow: &Flow, reason: EndReason) -> Ended {
        Ended {
            key: *key,
            start_us: flow.start_us,
            last_us: flow.last_us(),
            packets: flow.packets(),
            reason,
            features: flow.features(key),
        }
    }

    /// `(name, value)` pairs in the layout's order.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        FEATURE_NAMES.iter().copied().zip(self.features.iter().copied())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeterCounters {
    pub packets: u64,
    pub flows_started: u64,
    pub flows_reported: u64,
    pub early_snapshots: u64,
    pub evicted: u64,
    /// Packets of a new flow not metered: the table stayed full after
    /// eviction.
    pub refused: u64,
}

pub struct FlowTable {
    config: MeterConfig,
    flows: FlowStore,
    counters: MeterCounters,
    clock_us: i64,
    next_sweep_us: i64,
    last_emergency_us: i64,
}

/// A closed flow's entry stays this long to absorb retransmitted FINs and
/// RSTs rather than have them start one-packet flows.
const LINGER_US: i64 = 2_000_000;
const SWEEP_EVERY_US: i64 = 1_000_000;

impl FlowTable {
    pub fn new(config: MeterConfig) -> FlowTable {
        FlowTable {
            flows: FlowStore::new(),
            config,
            counters: MeterCounters::default(),
            clock_us: i64::MIN,
            next_sweep_us: i64::MIN,
            last_emergency_us: i64::MIN,
        }
    }

    pub fn counters(&self) -> MeterCounters {
        self.counters
    }

    /// Flows tracked now (closed ones lingering included).
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.len() == 0
    }

    /// Meters one packet; finished records go to `out`.
    pub fn push(&mut self, packet: &Packet, out: &mut Vec<Ended>) {
        self.counters.packets += 1;
        if packet.ts_us > self.clock_us {
            self.advance(packet.ts_us, out);
        }
        let key = FlowKey::of(packet);
        let activity = self.config.activity_timeout_us;
        if let Some((slot, (stored, flow))) = self.flows.find(&key).and_then(|i| Some((i, self.flows.slot_mut(i)?))) {
            let opening = packet.has(flag::SYN) && !packet.has(flag::ACK);
            if !flow.reported && packet.ts_us - flow.start_us > self.config.flow_timeout_us {
                out.push(Ended::of(&stored, flow, EndReason::FlowTimeout));
                self.counters.flows_reported += 1;
                let carried = flow.carried_us + i64::from(flow.duration_us()) + (packet.ts_us - flow.last_us());
                *flow = Flow::new(&stored, packet);
                flow.carried_us = carried;
                Self::after_packet(&self.config, &mut self.counters, &stored, flow, out);
                return;
            }
            if !flow.reported {
                flow.add(&stored, packet, activity);
                Self::after_packet(&self.config, &mut self.counters, &stored, flow, out);
                return;
            }
            if !opening && packet.ts_us - flow.last_us() <= LINGER_US {
                flow.add(&stored, packet, activity);
                return;
            }
            // A new connection on the same 5-tuple (or a straggler long
            // after): the old entry was already reported.
            self.flows.remove(slot);
        }
        if self.flows.len() >= self.config.max_flows && !self.make_room(packet.ts_us, out) {
            self.counters.refused += 1;
            return;
        }
        let oriented = if opened_by_receiver(packet) { key.reversed() } else { key };
        self.counters.flows_started += 1;
        let mut flow = Flow::new(&oriented, packet);
        Self::after_packet(&self.config, &mut self.counters, &oriented, &mut flow, out);
        self.flows.insert(oriented, flow);
    }

    fn after_packet(
        config: &MeterConfig,
        counters: &mut MeterCounters,
        key: &FlowKey,
        flow: &mut Flow,
        out: &mut Vec<Ended>,
    ) {
        if flow.tcp == TcpState::Closed {
            out.push(Ended::of(key, flow, EndReason::Closed));
            counters.flows_reported += 1;
            flow.reported = true;
        } else if !flow.early_sent && config.early_packets > 0 && flow.packets() >= config.early_packets {
            out.push(Ended::of(key, flow, EndReason::Early));
            counters.early_snapshots += 1;
            flow.early_sent = true;
        }
    }

    /// Moves the clock to `now_us` and reports what timed out. Live
    /// capture calls it from the wall clock when packets are few.
    pub fn advance(&mut self, now_us: i64, out: &mut Vec<Ended>) {
        self.clock_us = self.clock_us.max(now_us);
        if self.clock_us < self.next_sweep_us {
            return;
        }
        self.next_sweep_us = self.clock_us + SWEEP_EVERY_US;
        self.sweep(self.config.idle_timeout_us, EndReason::Idle, out);
    }

    fn sweep(&mut self, idle_us: i64, reason: EndReason, out: &mut Vec<Ended>) {
        let now = self.clock_us;
        let config = &self.config;
        let counters = &mut self.counters;
        self.flows.retain(|key, flow| {
            let quiet = now - flow.last_us();
            if flow.reported {
                return quiet <= LINGER_US;
            }
            // A busy flow past the flow timeout is cut by its next packet,
            // which carries the connection's time into the next piece.
            let over = now - flow.start_us > config.flow_timeout_us;
            let (expired, why) = if over && quiet > i64::from(config.activity_timeout_us) {
                (true, EndReason::FlowTimeout)
            } else {
                (quiet > idle_us, reason)
            };
            if expired {
                out.push(Ended::of(key, flow, why));
                counters.flows_reported += 1;
                if why == EndReason::Evicted {
                    counters.evicted += 1;
                }
                return false;
            }
            if !flow.early_sent && config.early_after_us > 0 && now - flow.start_us >= config.early_after_us {
                out.push(Ended::of(key, flow, EndReason::Early));
                counters.early_snapshots += 1;
                flow.early_sent = true;
            }
            true
        });
    }

    /// A full table: report and drop flows idle for longer than the
    /// activity timeout (at most every 100 ms, so a flood of new flows does
    /// not turn every packet into a scan of the table). True if there is
    /// room now.
    fn make_room(&mut self, now_us: i64, out: &mut Vec<Ended>) -> bool {
        if now_us.saturating_sub(self.last_emergency_us) >= 100_000 {
            self.last_emergency_us = now_us;
            self.sweep(i64::from(self.config.activity_timeout_us), EndReason::Evicted, out);
        }
        self.flows.len() < self.config.max_flows
    }

    /// Reports every flow still open (end of a capture file, shutdown).
    pub fn flush(&mut self, out: &mut Vec<Ended>) {
        let counters = &mut self.counters;
        for (key, flow) in self.flows.drain() {
            if !flow.reported {
                out.push(Ended::of(&key, &flow, EndReason::Flush));
                counters.flows_reported += 1;
            }
        }
    }
}

/// Whether the first packet seen of a flow was sent by its responder: a
/// SYN-ACK (its SYN was missed), or a TCP segment in mid-connection (no
/// SYN: the capture started late, or the client's side of the flow was
/// reported and it goes on retransmitting) from a service port to an
/// ephemeral one. CICFlowMeter takes such a packet's sender as the
/// initiator; judging the server as the one who opened would put the
/// server's address where the attacker's belongs.
fn opened_by_receiver(packet: &Packet) -> bool {
    if packet.protocol != crate::decode::TCP {
        return false;
    }
    if packet.has(flag::SYN) {
        return packet.has(flag::ACK);
    }
    let (from, to) = (packet.src_port, packet.dst_port);
    (from < 1024 && to >= 1024) || (from < 32_768 && to >= 32_768)
}

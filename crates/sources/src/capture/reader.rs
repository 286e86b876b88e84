//! Packets from libpcap — an interface through its memory-mapped ring, or
//! a pcap/pcapng file — decoded for the meter, with what could not be
//! used counted by reason.

use std::path::Path;

use pcap::{Activated, Capture};
use rampart_meter::decode::Skip;
use rampart_meter::{Ended, FlowTable, LinkType, MeterConfig, Packet, decode};

use crate::error::SourceError;

/// Frames the meter could not use, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    pub truncated: u64,
    pub not_ip: u64,
    pub fragment: u64,
    pub other_protocol: u64,
    pub malformed: u64,
}

impl Skipped {
    pub fn count(&mut self, skip: Skip) {
        match skip {
            Skip::Truncated => self.truncated += 1,
            Skip::NotIp => self.not_ip += 1,
            Skip::Fragment => self.fragment += 1,
            Skip::Protocol(_) => self.other_protocol += 1,
            Skip::Malformed => self.malformed += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.truncated + self.not_ip + self.fragment + self.other_protocol + self.malformed
    }

    pub fn by_reason(&self) -> [(&'static str, u64); 5] {
        [
            ("truncated", self.truncated),
            ("not_ip", self.not_ip),
            ("fragment", self.fragment),
            ("other_protocol", self.other_protocol),
            ("malformed", self.malformed),
        ]
    }
}

pub(crate) fn link_type<T: Activated + ?Sized>(capture: &Capture<T>) -> Result<LinkType, SourceError> {
    let dlt = capture.get_datalink().0;
    LinkType::from_dlt(dlt)
        .ok_or_else(|| SourceError::field("capture", format!("link type {dlt} is not one the meter reads")))
}

pub(crate) fn pcap_error(what: &str, e: pcap::Error) -> SourceError {
    SourceError::field("capture", format!("{what}: {e}"))
}

/// A pcap timestamp in microseconds (files may carry nanoseconds: libpcap
/// scales them to the precision asked for, microseconds by default).
pub fn timestamp_us(header: &pcap::PacketHeader) -> i64 {
    header.ts.tv_sec * 1_000_000 + header.ts.tv_usec
}

/// What reading a capture file gave.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSummary {
    pub frames: u64,
    pub skipped: Skipped,
    pub counters: rampart_meter::MeterCounters,
}

/// Meters a capture file from start to end: each record (flows closed,
/// timed out, snapshots, and those still open at the end) goes to `each`
/// in the order the meter reports them.
pub fn meter_file(
    path: &Path,
    filter: Option<&str>,
    config: MeterConfig,
    mut each: impl FnMut(&Ended),
) -> Result<FileSummary, SourceError> {
    let mut capture =
        Capture::from_file(path).map_err(|e| pcap_error(&format!("cannot read {}", path.display()), e))?;
    if let Some(program) = filter {
        capture.filter(program, true).map_err(|e| pcap_error("the filter", e))?;
    }
    let link = link_type(&capture)?;
    let mut table = FlowTable::new(config);
    let mut summary = FileSummary::default();
    let mut out = Vec::new();
    loop {
        let packet = match capture.next_packet() {
            Ok(p) => p,
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(pcap_error(&format!("{} is damaged", path.display()), e)),
        };
        summary.frames += 1;
        match decode(link, packet.data, timestamp_us(packet.header)) {
            Ok(p) => meter_one(&mut table, &p, &mut out, &mut each),
            Err(skip) => summary.skipped.count(skip),
        }
    }
    table.flush(&mut out);
    out.iter().for_each(&mut each);
    summary.counters = table.counters();
    Ok(summary)
}

fn meter_one(table: &mut FlowTable, packet: &Packet, out: &mut Vec<Ended>, each: &mut impl FnMut(&Ended)) {
    table.push(packet, out);
    if !out.is_empty() {
        out.iter().for_each(&mut *each);
        out.clear();
    }
}

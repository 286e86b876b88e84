//! `[[sources.capture]]`: packets metered into flows, each flow an event.
//!
//! The capture thread only reads packets and meters them, so the kernel's
//! ring is drained however slow the store is; finished flows go through a
//! bounded queue to a delivery thread that waits for each commit. A full
//! queue drops flow records (counted), never packets' metering. libpcap is
//! used (through the `pcap` crate and Debian's libpcap-dev) rather than a
//! raw AF_PACKET socket: it sets up the same TPACKET_V3 memory-mapped ring,
//! compiles BPF filters, reads pcap and pcapng files with the same code,
//! and reports kernel drops — all without `unsafe` in Rampart.

mod event;
mod reader;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use pcap::{Active, Capture};
use rampart_core::config::CaptureSourceConfig;
use rampart_core::{Event, IngestSender};
use rampart_meter::{Ended, FlowTable, MeterConfig, decode};

pub use event::flow_event;
pub use reader::{FileSummary, Skipped, meter_file};

use crate::error::SourceError;
use crate::handoff::deliver;
pub use reader::timestamp_us;
use reader::{link_type, pcap_error};

pub const PACKETS: &str = "rampart_capture_packets_total";
pub const KERNEL_DROPS: &str = "rampart_capture_dropped_total";
pub const SKIPPED: &str = "rampart_capture_skipped_total";
pub const FLOWS: &str = "rampart_capture_flows_total";
pub const FLOW_TABLE: &str = "rampart_capture_flow_table";
pub const EVICTED: &str = "rampart_capture_evicted_total";
pub const REFUSED: &str = "rampart_capture_refused_total";
pub const RECORDS_DROPPED: &str = "rampart_capture_records_dropped_total";

/// Flow records waiting for the store, in batches.
const QUEUE_BATCHES: usize = 256;
const BATCH_RECORDS: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The meter's settings from the config.
pub fn meter_config(config: &CaptureSourceConfig) -> MeterConfig {
    MeterConfig {
        max_flows: config.max_flows,
        early_packets: config.early_packets,
        early_after_us: (config.early_after_secs as i64).saturating_mul(1_000_000),
        ..MeterConfig::default()
    }
    .with_timeouts(config.flow_timeout_secs, config.idle_timeout_secs, config.activity_timeout_secs)
}

pub struct CaptureSource {
    name: String,
    config: CaptureSourceConfig,
    ingest: IngestSender,
}

enum Opened {
    /// The capture and the interface's own addresses.
    Live(Capture<Active>, Vec<IpAddr>),
    File(Capture<pcap::Offline>),
}

/// The addresses of `interface` (every interface's for `any`): a flow one
/// of them opened is this host's own doing, not an attacker's.
fn local_addresses(interface: &str) -> Vec<IpAddr> {
    let devices = pcap::Device::list().unwrap_or_default();
    devices
        .into_iter()
        .filter(|d| interface == "any" || d.name == interface)
        .flat_map(|d| d.addresses.into_iter().map(|a| a.addr))
        .collect()
}

impl CaptureSource {
    /// Checks the configuration (the capture itself opens when it runs:
    /// an interface may come up after Rampart does).
    pub fn new(name: String, config: &CaptureSourceConfig, ingest: IngestSender) -> Result<CaptureSource, SourceError> {
        meter_config(config).validate().map_err(|reason| SourceError::field("capture", reason))?;
        if let Some(path) = config.file.as_ref().filter(|p| !p.is_file()) {
            return Err(SourceError::field("file", format!("{} is not a readable file", path.display())));
        }
        Ok(CaptureSource { name, config: config.clone(), ingest })
    }

    fn open(&self) -> Result<Opened, SourceError> {
        let filtered = |e| pcap_error("the filter", e);
        if let Some(path) = &self.config.file {
            let mut cap =
                Capture::from_file(path).map_err(|e| pcap_error(&format!("cannot read {}", path.display()), e))?;
            if let Some(f) = &self.config.filter {
                cap.filter(f, true).map_err(filtered)?;
            }
            return Ok(Opened::File(cap));
        }
        let interface = self.config.interface.clone().unwrap_or_default();
        let mut cap = Capture::from_device(interface.as_str())
            .map_err(|e| pcap_error(&format!("no interface {interface}"), e))?
            .promisc(self.config.promiscuous)
            .snaplen(self.config.snaplen as i32)
            .buffer_size((self.config.buffer_mb as i32).saturating_mul(1 << 20))
            // Packets are handed over as they come (a verdict within a
            // second is the point), and the read wakes every 100 ms to
            // move the clock and look at the stop flag.
            .immediate_mode(true)
            .timeout(100)
            .open()
            .map_err(|e| pcap_error(&format!("cannot capture on {interface}"), e))?;
        if let Some(f) = &self.config.filter {
            cap.filter(f, true).map_err(filtered)?;
        }
        Ok(Opened::Live(cap, local_addresses(&interface)))
    }

    pub fn run(self, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        let opened = match self.open() {
            Ok(o) => o,
            Err(error) => {
                tracing::error!(source = %self.name, %error, "The capture could not start.");
                return;
            }
        };
        let (tx, rx) = sync_channel::<Vec<Ended>>(QUEUE_BATCHES);
        let (ingest, delivery_stop, name) = (self.ingest.clone(), stop.clone(), self.name.clone());
        let locals = match &opened {
            Opened::Live(_, locals) => locals.clone(),
            Opened::File(_) => Vec::new(),
        };
        let delivery = std::thread::Builder::new()
            .name(format!("rampart-{}-deliver", self.name))
            .spawn(move || deliver_records(rx, &ingest, &runtime, &delivery_stop, &locals));
        let delivery = match delivery {
            Ok(handle) => handle,
            Err(error) => {
                tracing::error!(source = %name, %error, "The capture's delivery thread could not start.");
                return;
            }
        };
        let mut meter = Metering::new(self.name.clone(), meter_config(&self.config), tx);
        let result = match opened {
            Opened::Live(cap, _) => meter.live(cap, &stop),
            Opened::File(cap) => meter.file(cap, &stop),
        };
        if let Err(error) = result {
            tracing::error!(source = %self.name, %error, "The capture stopped.");
        }
        meter.finish();
        drop(meter);
        let _ = delivery.join();
    }
}

/// The capture thread's state: the flow table and the batch being filled.
struct Metering {
    name: String,
    table: FlowTable,
    out: Vec<Ended>,
    tx: SyncSender<Vec<Ended>>,
    skipped: Skipped,
    published: (rampart_meter::MeterCounters, Skipped),
    last_flush: Instant,
}

impl Metering {
    fn new(name: String, config: MeterConfig, tx: SyncSender<Vec<Ended>>) -> Metering {
        Metering {
            name,
            table: FlowTable::new(config),
            out: Vec::with_capacity(BATCH_RECORDS),
            tx,
            skipped: Skipped::default(),
            published: Default::default(),
            last_flush: Instant::now(),
        }
    }

    fn live(&mut self, mut cap: Capture<Active>, stop: &AtomicBool) -> Result<(), SourceError> {
        let link = link_type(&cap)?;
        tracing::info!(source = %self.name, ?link, "Capturing.");
        while !stop.load(Ordering::SeqCst) {
            match cap.next_packet() {
                Ok(packet) => match decode(link, packet.data, timestamp_us(packet.header)) {
                    Ok(p) => self.table.push(&p, &mut self.out),
                    Err(skip) => self.skipped.count(skip),
                },
                Err(pcap::Error::TimeoutExpired) => {}
                Err(e) => return Err(pcap_error("capture", e)),
            }
            if self.out.len() >= BATCH_RECORDS || self.last_flush.elapsed() >= FLUSH_EVERY {
                self.table.advance(rampart_core::time::now_ms() * 1000, &mut self.out);
                self.flush();
                if let Ok(stats) = cap.stats() {
                    let labels = [("source", self.name.clone()), ("where", "kernel".to_owned())];
                    metrics::counter!(KERNEL_DROPS, &labels).absolute(u64::from(stats.dropped));
                    let labels = [("source", self.name.clone()), ("where", "interface".to_owned())];
                    metrics::counter!(KERNEL_DROPS, &labels).absolute(u64::from(stats.if_dropped));
                }
            }
        }
        Ok(())
    }

    fn file(&mut self, mut cap: Capture<pcap::Offline>, stop: &AtomicBool) -> Result<(), SourceError> {
        let link = link_type(&cap)?;
        while !stop.load(Ordering::SeqCst) {
            match cap.next_packet() {
                Ok(packet) => match decode(link, packet.data, timestamp_us(packet.header)) {
                    Ok(p) => self.table.push(&p, &mut self.out),
                    Err(skip) => self.skipped.count(skip),
                },
                Err(pcap::Error::NoMorePackets) => break,
                Err(e) => return Err(pcap_error("the capture file", e)),
            }
            if self.out.len() >= BATCH_RECORDS {
                self.flush();
            }
        }
        tracing::info!(source = %self.name, "The capture file has been read.");
        Ok(())
    }

    fn finish(&mut self) {
        self.table.flush(&mut self.out);
        self.flush();
    }

    /// Hands the batch to the delivery thread and publishes the counters.
    fn flush(&mut self) {
        self.last_flush = Instant::now();
        if !self.out.is_empty() {
            let batch = std::mem::replace(&mut self.out, Vec::with_capacity(BATCH_RECORDS));
            let records = batch.len() as u64;
            let mut by_reason: Vec<(&'static str, u64)> = Vec::new();
            for r in &batch {
                match by_reason.iter_mut().find(|(reason, _)| *reason == r.reason.as_str()) {
                    Some((_, n)) => *n += 1,
                    None => by_reason.push((r.reason.as_str(), 1)),
                }
            }
            for (reason, n) in by_reason {
                metrics::counter!(FLOWS, "source" => self.name.clone(), "reason" => reason).increment(n);
            }
            match self.tx.try_send(batch) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    metrics::counter!(RECORDS_DROPPED, "source" => self.name.clone()).increment(records);
                }
            }
        }
        let counters = self.table.counters();
        let (before, skipped_before) = self.published;
        let source = self.name.clone();
        metrics::counter!(PACKETS, "source" => source.clone()).increment(counters.packets - before.packets);
        metrics::counter!(EVICTED, "source" => source.clone()).increment(counters.evicted - before.evicted);
        metrics::counter!(REFUSED, "source" => source.clone()).increment(counters.refused - before.refused);
        for ((reason, now), (_, then)) in self.skipped.by_reason().into_iter().zip(skipped_before.by_reason()) {
            metrics::counter!(SKIPPED, "source" => source.clone(), "reason" => reason).increment(now - then);
        }
        metrics::gauge!(FLOW_TABLE, "source" => source).set(self.table.len() as f64);
        self.published = (counters, self.skipped);
    }
}

/// The delivery thread: flow records to events, each batch committed
/// before the next is taken.
fn deliver_records(
    rx: Receiver<Vec<Ended>>,
    ingest: &IngestSender,
    runtime: &tokio::runtime::Handle,
    stop: &AtomicBool,
    locals: &[IpAddr],
) {
    loop {
        let batch = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(batch) => batch,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let events: Vec<Event> = batch.iter().map(|flow| flow_event(flow, locals)).collect();
        if !deliver(ingest, runtime, &events, "capture", stop) {
            return;
        }
    }
}

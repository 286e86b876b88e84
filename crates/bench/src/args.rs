//! The command lines of the benchmarks; the binary mounts them under
//! `rampart bench`.

use clap::Args;

#[derive(Debug, Args)]
pub struct BenchHostArgs {
    /// Reads of /proc to time.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Processes reported by CPU and by memory, as `sources.host.top_processes`.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// The collection interval the cost is a share of, as `sources.host.interval_ms`.
    #[arg(long, default_value_t = 2_000)]
    pub interval_ms: u64,
}

#[derive(Debug, Args)]
pub struct BenchBansArgs {
    /// How many distinct addresses to ban at once.
    #[arg(long, default_value_t = 100_000)]
    pub count: usize,
}

#[derive(Debug, Args)]
pub struct BenchBanLatencyArgs {
    /// How many attackers, one after another.
    #[arg(long, default_value_t = 200)]
    pub attackers: usize,
    /// Pause between attackers.
    #[arg(long, default_value_t = 50)]
    pub interval_ms: u64,
}

#[derive(Debug, Args)]
pub struct BenchSampleArgs {
    /// How many events.
    #[arg(long, default_value_t = 1_000)]
    pub events: usize,
}

#[derive(Debug, Args)]
pub struct BenchPipelineArgs {
    /// Events to push through.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Events per batch (one store transaction each).
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Rule files beside the built-in ones (`enabled: false` under a
    /// built-in's id switches it off): what a rule set costs.
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<std::path::PathBuf>,
    /// Store chunk bodies plain (`[store] compress_chunks = false`): what
    /// compression costs, A/B in one session.
    #[arg(long)]
    pub plain_chunks: bool,
}

#[derive(Debug, Args)]
pub struct BenchFleetArgs {
    /// The Kafka brokers the workers read (`host:port[,…]`).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// The ClickHouse HTTP interface the workers write to.
    #[arg(long, default_value = "http://127.0.0.1:8123")]
    pub clickhouse: String,
    /// The ClickHouse database the workers write to.
    #[arg(long, default_value = "rampart")]
    pub database: String,
    /// The events topic the workers read.
    #[arg(long, default_value = "rampart.events")]
    pub topic: String,
    /// Events to send.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Producers at once (agents).
    #[arg(long, default_value_t = 4)]
    pub agents: usize,
    /// Marker bursts timed to their row and their alert (10 per second).
    #[arg(long, default_value_t = 50)]
    pub markers: usize,
}

#[derive(Debug, Args)]
pub struct BenchLatencyArgs {
    /// Events per second to send.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u32,
    /// How long to send for.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// HTTP requests per second (the rate is split across them).
    #[arg(long, default_value_t = 100)]
    pub requests_per_second: u32,
}

#[derive(Debug, Args)]
pub struct BenchMeterArgs {
    /// A capture to meter (pcap or pcapng), read into memory first.
    #[arg(long, value_name = "FILE")]
    pub pcap: std::path::PathBuf,
    /// How many times the capture is metered (shifted in time each pass).
    #[arg(long, default_value_t = 20)]
    pub passes: usize,
    /// Also score every flow record with this flow model, as the live
    /// source's events are.
    #[arg(long, value_name = "FILE")]
    pub model: Option<std::path::PathBuf>,
    /// Then fill a table with this many concurrent flows and report the
    /// memory they take (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    pub concurrent: usize,
}

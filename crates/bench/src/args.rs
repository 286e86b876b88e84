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

//! Arguments of the flow-model commands the binary keeps: the `train`
//! subcommand, `models`, `replay` (the rest are rampart-lab's).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use rampart_lab::args::{LayoutArgs, TrainFlowsArgs, TrainPayloadsArgs};

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train a flow classifier and write a model file.
    Flows(TrainFlowsArgs),
    /// Train the web payload classifier (SQLi, XSS, traversal, command
    /// injection) on the public corpora, with leave-one-source-out figures.
    Payloads(TrainPayloadsArgs),
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Models in the registry, with which is active and which shadows it.
    List {
        /// One JSON object per model instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Copy a model file into the registry.
    Add {
        /// A model file written by `rampart train flows`.
        file: PathBuf,
        /// [default: the name inside the file]
        #[arg(long)]
        name: Option<String>,
    },
    /// Make a model the live one (on a running server, use
    /// POST /api/v1/models/{name}/activate to swap without a restart).
    Activate {
        /// The model's name in the registry.
        name: String,
        /// Score beside the active model and count disagreements instead.
        #[arg(long)]
        shadow: bool,
    },
    /// Stop using a model (live or shadow); it stays in the registry.
    Deactivate {
        /// The model's name in the registry.
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayMode {
    Sequential,
    Random,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Files or directories of labelled flows.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub layout: LayoutArgs,
    /// Rows per second (0: as fast as the server takes them).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Rows in file order, or drawn at random (with --seed).
    #[arg(long, value_enum, default_value = "sequential")]
    pub mode: ReplayMode,
    /// Start again at the end (stop with Ctrl-C, or after --limit rows).
    #[arg(long = "loop")]
    pub repeat: bool,
    /// Stop after this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Rows per POST.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// Random seed for --mode random.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The server's base URL.
    #[arg(long, env = "RAMPART_SERVER", default_value = "http://127.0.0.1:8080")]
    pub to: String,
    /// An API token with ingest rights; also RAMPART_TOKEN.
    #[arg(long, env = "RAMPART_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Meter a pcap or pcapng file into flows with the CIC-IDS2017
    /// features, written as a CSV that `train flows` and `eval flows` read.
    Extract(ExtractArgs),
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The capture to read (pcap or pcapng, e.g. from tcpdump -w).
    #[arg(long, value_name = "FILE")]
    pub pcap: PathBuf,
    /// Where to write the flows (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Only packets this BPF filter passes (tcpdump's syntax).
    #[arg(long)]
    pub filter: Option<String>,
    /// The label of every flow not matched by --label-address.
    #[arg(long, default_value = "BENIGN")]
    pub label: String,
    /// ADDR=LABEL: flows with ADDR at either end get LABEL (an attacker's
    /// address in a lab capture). Repeatable.
    #[arg(long = "label-address", value_name = "ADDR=LABEL")]
    pub label_address: Vec<String>,
    /// Also write the early snapshots of long flows (what the live source
    /// judges before a flow ends), as rows of their own.
    #[arg(long)]
    pub snapshots: bool,
    /// Longest a flow lasts before it is cut (CICFlowMeter: 120).
    #[arg(long, default_value_t = 120)]
    pub flow_timeout_secs: u64,
    /// A flow with no packet for this long ends.
    #[arg(long, default_value_t = 120)]
    pub idle_timeout_secs: u64,
    /// Gap that splits active and idle periods (CICFlowMeter: 5).
    #[arg(long, default_value_t = 5)]
    pub activity_timeout_secs: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

//! The command line, declared with clap's derive API.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod flows;
pub use flows::*;
pub use rampart_bench::args::{
    BenchBanLatencyArgs, BenchBansArgs, BenchHostArgs, BenchLatencyArgs, BenchPipelineArgs, BenchSampleArgs,
};
pub use rampart_lab::args::{BenchFlowsArgs, EvalAnomalyArgs, EvalFlowsArgs, EvalPayloadsArgs};

/// Rampart: real-time intrusion detection and prevention for Linux servers.
///
/// Start with `rampart serve`: it needs no configuration, listens on
/// 127.0.0.1:8080 and keeps its data in ./rampart-data.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// A TOML configuration file (also RAMPART_CONFIG). Every key can be
    /// overridden by a RAMPART_* environment variable, e.g.
    /// RAMPART_STORE__RETENTION_DAYS=30 for store.retention_days.
    #[arg(long, global = true, env = "RAMPART_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log filter, e.g. `debug` or `rampart=debug,tower_http=info`; RUST_LOG wins when set.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the all-in-one node: HTTP ingest, detection, alerts, store and API.
    Serve(ServeArgs),
    /// `serve` with a built-in simulation (brute force, a web scan, a CPU
    /// burner, normal traffic) so every dashboard view comes alive.
    Demo(DemoArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run detection over log files once and print the alerts (like fail2ban-regex).
    Scan(ScanArgs),
    /// Generate realistic normal and attack traffic (log lines, or events to a server).
    Simulate(SimulateArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Work with detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// List, add and delete decisions (bans) on a running server.
    #[command(subcommand)]
    Decisions(DecisionsCommand),
    /// Apply a remote server's decisions here with nftables, and ship this
    /// host's configured log sources to it.
    Agent(AgentArgs),
    /// Inspect or remove Rampart's nftables table on this host.
    #[command(subcommand)]
    Firewall(FirewallCommand),
    /// Set up a fleet's Kafka bus.
    #[command(subcommand)]
    Bus(BusCommand),
    /// Train a model on labelled data.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Measure detection quality on labelled data (see docs/DETECTION.md).
    #[command(subcommand)]
    Eval(EvalCommand),
    /// The flow-model registry in the data directory.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Stream a labelled flow dataset into a running server as flow events.
    Replay(ReplayArgs),
    /// Packet captures to flow records.
    #[command(subcommand)]
    Flows(FlowsCommand),
    /// Measure throughput and latency (see docs/PERFORMANCE.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Judge values with a payload model (SQLi, XSS, traversal, command
    /// injection): verdict, class, score, decoded form; exit 1 on an attack.
    Check(rampart_lab::args::CheckArgs),
    /// Run the web gatekeeper alone: a reverse proxy that judges every value
    /// carrying user input and forwards the request or answers 403 (verdicts
    /// as ECS JSON lines on stdout). Inside `serve`, `[proxy]` runs it with
    /// rules, playbooks and bans.
    Proxy(ProxyArgs),
    /// Print the version.
    Version,
}

/// Flags that override the main configuration keys.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Data directory for the store and tokens [default: ./rampart-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A directory of extra rule files (*.yaml).
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
    /// Apply decisions (nftables bans) instead of only recording them:
    /// respond.mode = "enforce".
    #[arg(long)]
    pub enforce: bool,
    /// Serve HTTPS with this PEM certificate chain (http.tls_cert).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert (http.tls_key).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Where a running server is.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's base URL (default: `listen` of the configuration, or
    /// http://127.0.0.1:8080).
    #[arg(long, env = "RAMPART_SERVER")]
    pub server: Option<String>,
    /// An API token (admin for add and delete); also RAMPART_TOKEN.
    #[arg(long, env = "RAMPART_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Trust only the CA certificates in this PEM file for an https
    /// server (its own CA); otherwise the system's roots.
    #[arg(long, env = "RAMPART_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

/// Where a client looks for the server when nothing says otherwise.
const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

impl ServerArgs {
    /// The server's base URL.
    pub fn url(&self) -> &str {
        self.server.as_deref().unwrap_or(DEFAULT_SERVER)
    }

    /// These arguments, the server taken from `config` (its `listen`, and
    /// https when it serves TLS) when `--server` is not given: a client on
    /// the server's own host needs no flag.
    pub fn or_listen(&self, config: &rampart_core::config::Config) -> ServerArgs {
        let mut out = self.clone();
        if out.server.is_none() {
            let mut addr = config.listen;
            // A wildcard listener is reached on loopback.
            if addr.ip().is_unspecified() {
                addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
            }
            let scheme = if config.http.tls_cert.is_some() { "https" } else { "http" };
            out.server = Some(format!("{scheme}://{addr}"));
        }
        out
    }

    /// An HTTP client for this server, trusting `--ca-file` when given.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(match &self.ca_file {
            Some(ca) => rampart_client::http_client_trusting(ca)?,
            None => rampart_client::http_client()?,
        })
    }

    /// A client for `--server` with `--token` (and `--ca-file`).
    pub fn api(&self) -> anyhow::Result<rampart_client::ApiClient> {
        let token = anyhow::Context::context(self.token.as_deref(), "--token (or RAMPART_TOKEN) is required")?;
        Ok(rampart_client::ApiClient::with_token(self.url(), token, self.client()?)?)
    }
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Seconds between polls of the decision stream.
    #[arg(long, default_value_t = 10)]
    pub interval_secs: u64,
    /// Ship events to a Kafka bus instead (`kafka://BROKER[,BROKER…]`, topics
    /// from `[bus.kafka]`) and follow the fleet's decision topic; --server
    /// and --token are then not used.
    #[arg(long, value_name = "URL")]
    pub ship: Option<String>,
    /// The most the on-disk buffer holds while the bus is unreachable;
    /// beyond it the sources wait.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub buffer_mb: u64,
}

#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// Active decisions (with --all, expired and deleted ones too).
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Also decisions no longer in force (expired or lifted).
        #[arg(long)]
        all: bool,
        /// Only decisions about this address or range.
        #[arg(long)]
        value: Option<String>,
    },
    /// Ban an address or CIDR range, e.g. `rampart decisions add 203.0.113.9 --duration 4h --reason "scanner"`.
    Add {
        #[command(flatten)]
        server: ServerArgs,
        /// The address or CIDR range to ban.
        value: String,
        /// How long: 90s, 10m, 4h, 7d.
        #[arg(long, default_value = "4h")]
        duration: String,
        /// Why, for the audit trail and the dashboard.
        #[arg(long, default_value = "manual")]
        reason: String,
    },
    /// Delete a decision by id, or every active one about an address with --value.
    Delete {
        #[command(flatten)]
        server: ServerArgs,
        /// The decision's id (from `rampart decisions list`).
        #[arg(required_unless_present = "value")]
        id: Option<i64>,
        /// Instead of an id: every active decision about this address or range.
        #[arg(long, conflicts_with = "id")]
        value: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Train an Isolation Forest on the normal rows of --train and score
    /// --test (or a held-out 30% of --train): ROC AUC, precision, recall,
    /// false-positive rate, scoring speed.
    Anomaly(EvalAnomalyArgs),
    /// Score a flow model file on labelled flows: accuracy, precision,
    /// recall, F1, false-positive rate per class, ROC AUC, confusion matrix,
    /// inference speed; --report writes Markdown with SVG charts.
    Flows(EvalFlowsArgs),
    /// Score a payload model (the shipped one by default) on labelled web
    /// values: per source and class detection and false-positive rates,
    /// pooled precision, recall, F1, false-positive rate and ROC AUC.
    Payloads(EvalPayloadsArgs),
    /// Run the address and user anomaly detector over log files, in the
    /// order given, beside the built-in rules: what each flags and why;
    /// with --labels (`address,label`, as `rampart simulate --labels`
    /// writes), detection and false alarms per label.
    Entities(EvalEntitiesArgs),
}

#[derive(Debug, Args)]
pub struct EvalEntitiesArgs {
    /// Log files, learnt from and judged in this order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// `address,label` lines (a header first).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// The log format; `auto` decides per file from its first lines.
    #[arg(long, default_value = "auto", value_parser = ["auto", "syslog", "combined", "json", "apache-error", "nginx-error", "vsftpd", "mysql-error", "postgresql"])]
    pub format: String,
    /// Log time learnt before anything is judged (default: the server's, 3,600).
    #[arg(long, value_name = "SECS")]
    pub warmup_secs: Option<u64>,
    /// Profiles learnt before anything is judged (default: the server's, 200).
    #[arg(long, value_name = "N")]
    pub min_profiles: Option<usize>,
    /// Events a profile needs to be learnt from or judged (default 2).
    #[arg(long, value_name = "N")]
    pub min_events: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum FirewallCommand {
    /// What Rampart's nftables table holds now.
    Status,
    /// Delete Rampart's nftables table (every ban it holds goes with it).
    Teardown,
}

#[derive(Debug, Subcommand)]
pub enum BusCommand {
    /// Create the events topic and the compacted decision topic of
    /// `[bus.kafka]` where missing, and check existing ones: exit 1 when a
    /// topic's cleanup.policy would lose events or bans.
    CreateTopics(CreateTopicsArgs),
}

#[derive(Debug, Args)]
pub struct CreateTopicsArgs {
    /// host:port[,host:port…] [default: bus.kafka.brokers].
    #[arg(long, value_name = "BROKERS")]
    pub brokers: Option<String>,
    /// Partitions of a new events topic: the most workers that can share
    /// the work (an existing topic keeps its own) [default: 4].
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub partitions: Option<i32>,
    /// Copies of each partition [default: the brokers' default.replication.factor].
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub replication_factor: Option<i32>,
    /// How long to wait for the brokers, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address to listen on [default: [proxy] listen, 127.0.0.1:8088].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// The application behind it, http://host:port (without one, only the
    /// nginx auth_request endpoint /_rampart/auth answers).
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// `block` answers 403 to attacks; `detect` forwards and records.
    #[arg(long, value_parser = ["detect", "block"], value_name = "MODE")]
    pub mode: Option<String>,
    /// A payload model file [default: the shipped model].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// A peer whose X-Forwarded-For is believed (repeatable).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Threads to serve on [default: [proxy] workers; 0, half the cores].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// This node's part in a fleet: all (the single node), ingest, worker or
    /// api; the others need `[bus] kind = "kafka"` (role).
    #[arg(long, value_parser = ["all", "ingest", "worker", "api"])]
    pub role: Option<String>,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub overrides: Overrides,
    /// Internal: the demo's CPU burner child (burns one core this long).
    #[arg(long, hide = true, value_name = "SECS")]
    pub burn: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files to read (sshd/syslog, web access logs, JSON lines…).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The log format; `auto` decides per file from its first lines.
    #[arg(long, default_value = "auto", value_parser = ["auto", "syslog", "combined", "json", "regex", "apache-error", "nginx-error", "vsftpd", "mysql-error", "postgresql"])]
    pub format: String,
    /// With `--format regex`: a regex whose named captures are ECS fields,
    /// `__` for `.`, e.g. `(?P<source__ip>\S+) (?P<user__name>\S+)`.
    #[arg(long, value_name = "PATTERN")]
    pub regex: Option<String>,
    /// A directory of extra rule files (*.yaml).
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
    /// Skip the built-in rules.
    #[arg(long)]
    pub no_builtin: bool,
    /// Print the lines that did not parse (the first 100) on stderr, with the reason.
    #[arg(long)]
    pub print_unparsed: bool,
    /// `table`: one row per attacker (the default on a terminal); `json`:
    /// every alert as a JSON line (the default otherwise); `events`: every
    /// parsed line as a JSON line `{file, line, event}` (the ECS event),
    /// to see what Rampart read from a log.
    #[arg(long, default_value = "auto", value_parser = ["auto", "table", "json", "events"])]
    pub output: String,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// What to generate: an sshd auth.log or a web access log.
    #[arg(value_parser = ["ssh", "web"])]
    pub kind: String,
    /// How many lines.
    #[arg(long, default_value_t = 10_000)]
    pub lines: usize,
    /// Distinct source addresses, attackers included.
    #[arg(long, default_value_t = 400)]
    pub addresses: u64,
    /// Share of the addresses that attack.
    #[arg(long, default_value_t = 0.1)]
    pub attacker_share: f64,
    /// Web only: this many more addresses discover content slowly (a
    /// request every 15–40 s, a browser's user agent, no sensitive paths),
    /// under every rule's threshold; labelled `slow_scanner`.
    #[arg(long, default_value_t = 0)]
    pub slow_scanners: u64,
    /// Random seed: the same seed and options give the same traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Log lines per second of simulated time (sets the timestamps).
    #[arg(long, default_value_t = 10.0)]
    pub log_rate: f64,
    /// When the log starts (RFC 3339). By default it ends now, so output is
    /// byte-identical across runs only with --start.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Write the lines here (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write `address,label` lines here, to score detection.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Send the traffic as ECS events to this server's ingest API instead.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// API token for --server (also RAMPART_TOKEN).
    #[arg(long, env = "RAMPART_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// With --server: events per second to send.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (file, environment and flags applied) as TOML.
    Print(ConfigPrintArgs),
}

#[derive(Debug, Args)]
pub struct ConfigPrintArgs {
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it (it is shown only this once).
    Create(TokenCreateArgs),
    /// List the tokens in the data directory's store (never their secrets).
    List(TokenListArgs),
    /// Revoke a token by its id: it and every dashboard session opened
    /// with it stop working at once.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenListArgs {
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id (from `rampart token list`).
    pub id: String,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A name to recognise the token by.
    #[arg(long)]
    pub name: String,
    /// What the token may do.
    #[arg(long, value_enum, default_value = "reader")]
    pub role: RoleArg,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Read events, alerts and stats.
    Reader,
    /// Everything, including ingest and alert changes.
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run rules over a sample of ECS events (NDJSON) and print which fire.
    Test(RulesTestArgs),
    /// Convert Sigma rules (files or directories of *.yml) to Rampart rules,
    /// reporting each rule that does not convert and why.
    ImportSigma(ImportSigmaArgs),
}

#[derive(Debug, Args)]
pub struct ImportSigmaArgs {
    /// Sigma rule files, or directories searched recursively for *.yml / *.yaml.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write one Rampart rule file per converted rule here (created if
    /// missing); without it the rules go to stdout as one YAML stream.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// Directory of rule files (*.yaml, *.yml).
    pub rules_dir: PathBuf,
    /// Events, one ECS JSON object per line.
    pub sample: PathBuf,
    /// Also run the built-in rules.
    #[arg(long)]
    pub builtin: bool,
    /// Print alerts as JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Events per second through detect → store on one core, in batches.
    Pipeline(BenchPipelineArgs),
    /// Ingest-to-alert latency over real HTTP at a fixed event rate.
    Latency(BenchLatencyArgs),
    /// Print synthetic events as NDJSON (the load for scripts/bench-http).
    Sample(BenchSampleArgs),
    /// Time to put N bans into nftables (needs root; bench/bans runs it in a namespace).
    Bans(BenchBansArgs),
    /// Log line written → ban in force, through a file source and the
    /// nftables enforcer (needs root; bench/bans runs it in a namespace).
    BanLatency(BenchBanLatencyArgs),
    /// What the host collector costs: CPU time per read of /proc, and the
    /// share of one core that is at an interval.
    Host(BenchHostArgs),
    /// Packets metered into flows per second on one core from a capture
    /// (and scored, with --model), and the memory of a million open flows.
    Meter(rampart_bench::args::BenchMeterArgs),
    /// Events through a running fleet: Kafka → worker(s) → ClickHouse, with
    /// detection; see bench/fleet/run.
    Fleet(rampart_bench::args::BenchFleetArgs),
    /// Flow-model predictions per second on one core: the batch scorer
    /// against one row at a time, over a dataset's rows.
    Flows(BenchFlowsArgs),
    /// Web values judged per second on one core by the shipped payload
    /// model, over the payload corpus.
    Payloads(rampart_lab::args::BenchPayloadsArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command and every option of every command says what it is in
    /// `--help` (an option without a doc comment shows a bare flag).
    #[test]
    fn every_command_and_option_has_a_help_line() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || arg.is_hide_set() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_long().unwrap_or(id)));
                }
            }
            for sub in command.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() && sub.get_name() != "help" {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "rampart", &mut missing);
        assert!(missing.is_empty(), "without a help line:\n{}", missing.join("\n"));
    }
}

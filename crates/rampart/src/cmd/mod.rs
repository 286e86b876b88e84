//! One module per subcommand; `run` dispatches.

mod agent;
mod agent_kafka;
mod bus;
mod decisions;
mod demo;
mod eval_entities;
mod firewall;
mod flows;
mod models;
mod proxy;
mod rules;
mod scan;
mod scan_table;
mod serve;
mod simulate;
mod token;

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::config::LogConfig;

use crate::cli::{BenchCommand, Cli, Command, ConfigCommand, Overrides, RulesCommand, TokenCommand};

use crate::{logging, settings};

/// One-shot commands print their results; their log shows warnings only.
fn quiet_logging(cli: &Cli) -> anyhow::Result<()> {
    let config = settings::load(cli, &Overrides::default())?;
    logging::init(&LogConfig { level: "warn".into(), ..config.log })
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Demo(args) => match args.burn {
            Some(secs) => Ok(demo::burn(secs)),
            None => {
                let config = demo::config(settings::load(&cli, &args.overrides)?);
                logging::init(&config.log)?;
                demo::run(config)
            }
        },
        Command::Serve(args) => {
            let mut config = settings::load(&cli, &args.overrides)?;
            if let Some(role) = &args.role {
                config.role = serde_json::from_value(serde_json::Value::String(role.clone()))
                    .context("--role must be all, ingest, worker or api")?;
                config.validate().context("--role")?;
            }
            logging::init(&config.log)?;
            serve::run(config)
        }
        Command::Scan(args) => {
            quiet_logging(&cli)?;
            scan::run(args)
        }
        Command::Simulate(args) => {
            quiet_logging(&cli)?;
            simulate::run(args)
        }
        Command::Config(ConfigCommand::Print(args)) => {
            let config = settings::load(&cli, &args.overrides)?;
            print!("{}", toml::to_string_pretty(&config).context("cannot render the configuration")?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create(args)) => {
            let config = settings::load(&cli, &args.overrides)?;
            token::create(&config, args)
        }
        Command::Token(TokenCommand::List(args)) => {
            let config = settings::load(&cli, &args.overrides)?;
            token::list(&config, args)
        }
        Command::Token(TokenCommand::Revoke(args)) => {
            let config = settings::load(&cli, &args.overrides)?;
            token::revoke(&config, args)
        }
        Command::Rules(RulesCommand::Test(args)) => {
            quiet_logging(&cli)?;
            rules::test(args)
        }
        Command::Rules(RulesCommand::ImportSigma(args)) => {
            quiet_logging(&cli)?;
            rules::import_sigma(args)
        }
        Command::Agent(args) => {
            let config = settings::load(&cli, &Overrides::default())?;
            logging::init(&config.log)?;
            match &args.ship {
                Some(ship) => agent_kafka::run(config, args, ship),
                None => agent::run(config, args),
            }
        }
        Command::Eval(crate::cli::EvalCommand::Anomaly(args)) => {
            quiet_logging(&cli)?;
            rampart_lab::anomaly::run(args)
        }
        Command::Eval(crate::cli::EvalCommand::Flows(args)) => {
            quiet_logging(&cli)?;
            rampart_lab::evaluate::run(args)
        }
        Command::Eval(crate::cli::EvalCommand::Entities(args)) => {
            quiet_logging(&cli)?;
            let defaults = rampart_core::config::EntityAnomalyConfig::default();
            let config = rampart_core::config::EntityAnomalyConfig {
                warmup_secs: args.warmup_secs.unwrap_or(defaults.warmup_secs),
                min_profiles: args.min_profiles.unwrap_or(defaults.min_profiles),
                min_events: args.min_events.unwrap_or(defaults.min_events),
                ..defaults
            };
            eval_entities::run(args, config)
        }
        Command::Eval(crate::cli::EvalCommand::Payloads(args)) => {
            quiet_logging(&cli)?;
            rampart_lab::payloads::eval::run(args)
        }
        Command::Train(crate::cli::TrainCommand::Flows(args)) => {
            quiet_logging(&cli)?;
            rampart_lab::train::run(args)
        }
        Command::Train(crate::cli::TrainCommand::Payloads(args)) => {
            quiet_logging(&cli)?;
            rampart_lab::payloads::train::run(args)
        }
        Command::Models(command) => {
            quiet_logging(&cli)?;
            let config = settings::load(&cli, &Overrides::default())?;
            models::run(&config, command)
        }
        Command::Flows(crate::cli::FlowsCommand::Extract(args)) => {
            quiet_logging(&cli)?;
            flows::extract::run(args)
        }
        Command::Replay(args) => {
            quiet_logging(&cli)?;
            flows::replay::run(args)
        }
        Command::Decisions(command) => {
            quiet_logging(&cli)?;
            let config = settings::load(&cli, &Overrides::default())?;
            decisions::run(command, &config)
        }
        Command::Bus(crate::cli::BusCommand::CreateTopics(args)) => {
            quiet_logging(&cli)?;
            let config = settings::load(&cli, &Overrides::default())?;
            bus::create_topics(&config, args)
        }
        Command::Firewall(command) => {
            quiet_logging(&cli)?;
            let config = settings::load(&cli, &Overrides::default())?;
            firewall::run(&config, command)
        }
        Command::Bench(which) => {
            quiet_logging(&cli)?;
            match which {
                BenchCommand::Pipeline(args) => rampart_bench::pipeline::pipeline(args),
                BenchCommand::Latency(args) => rampart_bench::pipeline::latency(args),
                BenchCommand::Sample(args) => rampart_bench::pipeline::sample(args),
                BenchCommand::Bans(args) => rampart_bench::respond::bans(args),
                BenchCommand::BanLatency(args) => rampart_bench::respond::ban_latency(args),
                BenchCommand::Host(args) => rampart_bench::host::run(args),
                BenchCommand::Meter(args) => rampart_bench::meter::run(args),
                BenchCommand::Fleet(args) => rampart_bench::fleet::run(args),
                BenchCommand::Flows(args) => rampart_lab::bench::run(args),
                BenchCommand::Payloads(args) => rampart_lab::payloads::bench::run(args),
            }
        }
        Command::Proxy(args) => {
            let config = settings::load(&cli, &Overrides::default())?;
            logging::init(&config.log)?;
            proxy::run(config.proxy, args)
        }
        Command::Check(args) => {
            quiet_logging(&cli)?;
            rampart_lab::payloads::check::run(args)
        }
        Command::Version => {
            println!("rampart {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    }
}

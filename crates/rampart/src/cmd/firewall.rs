//! `rampart firewall status|teardown`, and which firewall this host uses.

use std::process::{Command, ExitCode, Stdio};

use rampart_core::config::Config;
use rampart_respond::enforce::Firewall;
use rampart_respond::enforce::ipset::IpsetFirewall;
use rampart_respond::enforce::nftables::NftTable;

use crate::cli::FirewallCommand;

/// Rampart's nftables table as configured.
pub fn nft_table(config: &Config) -> NftTable {
    let nft = &config.respond.nftables;
    NftTable {
        program: nft.program.clone(),
        table: nft.table.clone(),
        forward: nft.forward,
        rate_per_sec: nft.rate_limit_per_sec,
    }
}

/// The firewall `respond.firewall` names; `auto` takes nftables when `nft`
/// runs here and falls back to ipset + iptables when only those do.
pub fn firewall(config: &Config) -> Box<dyn Firewall> {
    let nft = nft_table(config);
    let ipset = IpsetFirewall::new(&config.respond.nftables.table);
    let runs = |program: &std::path::Path| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    match config.respond.firewall.as_str() {
        "ipset" => Box::new(ipset),
        "auto" if !runs(&nft.program) && runs(&ipset.ipset) => {
            tracing::info!("nftables not found; using ipset + iptables.");
            Box::new(ipset)
        }
        _ => Box::new(nft),
    }
}

pub fn run(config: &Config, command: &FirewallCommand) -> anyhow::Result<ExitCode> {
    let firewall = firewall(config);
    let name = format!("{} ({})", config.respond.nftables.table, firewall.name());
    match command {
        FirewallCommand::Status => {
            let status = firewall.status().map_err(anyhow::Error::msg)?;
            if !status.present {
                println!("{name}: absent (nothing enforced)");
                return Ok(ExitCode::SUCCESS);
            }
            let limited = status.elements.iter().filter(|(set, _, _)| set.starts_with("rl_v")).count();
            let banned = status.elements.len() - limited;
            println!("{name}: {banned} banned, {limited} rate-limited");
            for (set, value, expires) in status.elements.iter().filter(|(set, _, _)| !set.starts_with("rl_meter")) {
                let what = if set.starts_with("rl_") { "rate-limited" } else { "banned" };
                match expires {
                    Some(secs) => println!("  {value}  {what}, expires in {secs}s"),
                    None => println!("  {value}  {what}"),
                }
            }
        }
        FirewallCommand::Teardown => {
            firewall.teardown().map_err(anyhow::Error::msg)?;
            println!("{name} removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

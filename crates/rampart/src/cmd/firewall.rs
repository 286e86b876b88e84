//! `rampart firewall status|teardown`: Rampart's nftables table on this host.

use std::process::ExitCode;

use rampart_core::config::Config;
use rampart_respond::enforce::nftables::NftTable;

use crate::cli::FirewallCommand;

pub fn table(config: &Config) -> NftTable {
    let nft = &config.respond.nftables;
    NftTable {
        program: nft.program.clone(),
        table: nft.table.clone(),
        forward: nft.forward,
        rate_per_sec: nft.rate_limit_per_sec,
    }
}

pub fn run(config: &Config, command: &FirewallCommand) -> anyhow::Result<ExitCode> {
    let table = table(config);
    match command {
        FirewallCommand::Status => {
            let status = table.status().map_err(anyhow::Error::msg)?;
            if !status.present {
                println!("table inet {}: absent (nothing enforced)", table.table);
                return Ok(ExitCode::SUCCESS);
            }
            let limited = status.elements.iter().filter(|(set, _, _)| set.starts_with("rl_v")).count();
            let banned = status.elements.iter().filter(|(set, _, _)| set.starts_with("ban_")).count();
            println!("table inet {}: {banned} banned, {limited} rate-limited", table.table);
            for (set, value, expires) in status.elements.iter().filter(|(set, _, _)| !set.starts_with("rl_meter")) {
                let what = if set.starts_with("rl_") { "rate-limited" } else { "banned" };
                match expires {
                    Some(secs) => println!("  {value}  {what}, expires in {secs}s"),
                    None => println!("  {value}  {what}"),
                }
            }
        }
        FirewallCommand::Teardown => {
            table.teardown().map_err(anyhow::Error::msg)?;
            println!("table inet {} removed", table.table);
        }
    }
    Ok(ExitCode::SUCCESS)
}

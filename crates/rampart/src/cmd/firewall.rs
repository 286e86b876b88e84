//! `rampart firewall status|teardown`: Rampart's nftables table on this host.

use std::process::ExitCode;

use rampart_core::config::Config;
use rampart_respond::enforce::nftables::NftTable;

use crate::cli::FirewallCommand;

pub fn table(config: &Config) -> NftTable {
    let nft = &config.respond.nftables;
    NftTable { program: nft.program.clone(), table: nft.table.clone(), forward: nft.forward }
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
            println!("table inet {}: {} banned", table.table, status.elements.len());
            for (value, expires) in status.elements {
                match expires {
                    Some(secs) => println!("  {value}  expires in {secs}s"),
                    None => println!("  {value}"),
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

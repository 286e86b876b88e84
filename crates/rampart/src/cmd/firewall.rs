//! `rampart firewall status|teardown`, and which firewall this host uses.

use std::process::ExitCode;

use rampart_core::config::Config;

use crate::cli::FirewallCommand;

pub fn run(config: &Config, command: &FirewallCommand) -> anyhow::Result<ExitCode> {
    let firewall = rampart_respond::enforce::firewall_for(&config.respond);
    let name = format!("{} ({})", config.respond.nftables.table, firewall.name());
    match command {
        FirewallCommand::Status => {
            let status = firewall.status()?;
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
            firewall.teardown()?;
            println!("{name} removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

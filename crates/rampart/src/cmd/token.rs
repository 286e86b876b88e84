//! `rampart token create|list|revoke`: the tokens in the data directory's
//! store.
//!
//! Safe beside a running server: SQLite's WAL lets this process write while
//! the server reads, and the server looks tokens up per request.

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::Role;
use rampart_core::config::Config;
use rampart_server::auth;

use crate::cli::{RoleArg, TokenCreateArgs, TokenListArgs, TokenRevokeArgs};

fn open(config: &Config) -> anyhow::Result<std::sync::Arc<dyn rampart_core::Store>> {
    rampart_store::connect(&config.store, &config.data_dir)
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))
}

pub fn create(config: &Config, args: &TokenCreateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.name.trim().is_empty(), "--name must not be empty");
    let store = open(config)?;
    let role = match args.role {
        RoleArg::Reader => Role::Reader,
        RoleArg::Admin => Role::Admin,
    };
    let token = auth::issue_token(store.as_ref(), &args.name, role).context("cannot create the token")?;
    eprintln!("Created {} token {:?}. It is shown only this once:", role.as_str(), args.name);
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub fn list(config: &Config, args: &TokenListArgs) -> anyhow::Result<ExitCode> {
    let tokens = open(config)?.tokens().context("cannot read the tokens")?;
    if args.json {
        for token in &tokens {
            println!("{}", serde_json::to_string(&rampart_server::tokens::token_json(token))?);
        }
    } else {
        println!("{:<18} {:<7} {:<25} name", "id", "role", "created");
        for token in &tokens {
            let created = rampart_core::time::format_ms(token.created_ms);
            let name = rampart_core::escape::for_terminal(&token.name);
            println!("{:<18} {:<7} {:<25} {name}", token.id, token.role.as_str(), created);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn revoke(config: &Config, args: &TokenRevokeArgs) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    rampart_server::tokens::revoke_token(store.as_ref(), &args.id).map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("Revoked token {}; its dashboard sessions have ended.", args.id);
    Ok(ExitCode::SUCCESS)
}

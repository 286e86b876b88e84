//! `rampart token create`: adds a token to the data directory's store.
//!
//! Safe beside a running server: SQLite's WAL lets this process write while
//! the server reads, and the server looks tokens up per request.

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::Role;
use rampart_core::config::Config;
use rampart_server::auth;
use rampart_store::SqliteStore;

use crate::cli::{RoleArg, TokenCreateArgs};

pub fn create(config: &Config, args: &TokenCreateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.name.trim().is_empty(), "--name must not be empty");
    let store = SqliteStore::open(&config.data_dir, config.store.durability)
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    let role = match args.role {
        RoleArg::Reader => Role::Reader,
        RoleArg::Admin => Role::Admin,
    };
    let token = auth::issue_token(&store, &args.name, role).context("cannot create the token")?;
    eprintln!("Created {} token {:?}. It is shown only this once:", role.as_str(), args.name);
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

//! `rampart decisions list|add|delete`: a client of a running server's API.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::{DecisionsCommand, ServerArgs};

/// `config` gives the server when `--server` does not (its `listen`).
pub fn run(command: &DecisionsCommand, config: &rampart_core::config::Config) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        match command {
            DecisionsCommand::List { server, all, value } => {
                let server = &server.or_listen(config);
                let mut query = vec![("active", (!all).to_string())];
                if let Some(v) = value {
                    query.push(("value", v.clone()));
                }
                let body = call(server, reqwest::Method::GET, "decisions", &query, None).await?;
                print_table(&body["decisions"]);
                Ok(ExitCode::SUCCESS)
            }
            DecisionsCommand::Add { server, value, duration, reason } => {
                let server = &server.or_listen(config);
                let body = json!({"value": value, "duration": duration, "reason": reason});
                let added = call(server, reqwest::Method::POST, "decisions", &[], Some(body)).await?;
                print_table(&Value::Array(vec![added]));
                Ok(ExitCode::SUCCESS)
            }
            DecisionsCommand::Delete { server, id, value } => {
                let server = &server.or_listen(config);
                let body = match (id, value) {
                    (Some(id), _) => {
                        call(server, reqwest::Method::DELETE, &format!("decisions/{id}"), &[], None).await?
                    }
                    (None, Some(v)) => {
                        call(server, reqwest::Method::DELETE, "decisions", &[("value", v.clone())], None).await?
                    }
                    (None, None) => anyhow::bail!("give a decision id or --value ADDRESS"),
                };
                let deleted = body["deleted"].as_array().map_or(0, Vec::len);
                eprintln!("deleted {deleted} decision(s)");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn call(
    server: &ServerArgs,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, String)],
    body: Option<Value>,
) -> anyhow::Result<Value> {
    Ok(server.api()?.call(method, path, query, body).await?)
}

fn print_table(decisions: &Value) {
    println!("{:>6}  {:<20}  {:<6}  {:<8}  {:>9}  REASON", "ID", "VALUE", "KIND", "ORIGIN", "LEFT (s)");
    for d in decisions.as_array().into_iter().flatten() {
        let left = d["remaining_secs"].as_u64().map_or_else(|| "-".to_owned(), |s| s.to_string());
        println!(
            "{:>6}  {:<20}  {:<6}  {:<8}  {:>9}  {}",
            d["id"],
            d["value"].as_str().unwrap_or(""),
            d["kind"].as_str().unwrap_or(""),
            d["origin"].as_str().unwrap_or(""),
            left,
            d["reason"].as_str().unwrap_or("")
        );
    }
}

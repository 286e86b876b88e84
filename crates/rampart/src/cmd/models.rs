//! `rampart models list|add|activate|deactivate`: the registry in the data
//! directory's store. Safe beside a running server, which picks role
//! changes up within `detect.flows.registry_poll_secs`.

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::ModelRole;
use rampart_core::config::Config;

use crate::cli::ModelsCommand;
use rampart_detect::info_of;
use rampart_lab::evaluate::load_model;

pub fn run(config: &Config, command: &ModelsCommand) -> anyhow::Result<ExitCode> {
    let store = rampart_store::connect(&config.store, &config.data_dir)
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    match command {
        ModelsCommand::List { json } => list(store.as_ref(), *json),
        ModelsCommand::Add { file, name } => {
            let model = load_model(file)?;
            let name = name.clone().unwrap_or_else(|| model.name.clone());
            anyhow::ensure!(!name.trim().is_empty(), "the model needs a name (--name)");
            let body = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            store.put_model(&info_of(&model, &name), &body).context("cannot save the model")?;
            println!("added model {name:?} ({}, classes {:?})", model.algo.name(), model.classes);
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Activate { name, shadow } => {
            let body = store
                .model_body(name)?
                .ok_or_else(|| anyhow::anyhow!("no model {name:?} (see `rampart models list`)"))?;
            rampart_ml::flow_model::FlowModel::from_json(&body).map_err(|e| anyhow::anyhow!("model {name:?}: {e}"))?;
            let role = if *shadow { ModelRole::Shadow } else { ModelRole::Active };
            store.set_model_role(name, Some(role))?;
            println!("model {name:?} is now {}", role.as_str());
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Deactivate { name } => {
            anyhow::ensure!(store.set_model_role(name, None)?, "no model {name:?} (see `rampart models list`)");
            println!("model {name:?} is no longer used");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(store: &dyn rampart_core::Store, json: bool) -> anyhow::Result<ExitCode> {
    let models = store.models()?;
    if json {
        println!("{}", serde_json::to_string(&models).context("cannot render the models")?);
        return Ok(ExitCode::SUCCESS);
    }
    if models.is_empty() {
        println!("no models; train one with `rampart train flows` and add it with `rampart models add FILE`");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<24} {:<8} {:<14} {:>9} {:>9} {:>8}  classes", "name", "role", "algo", "accuracy", "recall", "FPR");
    for m in &models {
        let metric =
            |k: &str| m.metrics.get(k).and_then(serde_json::Value::as_f64).map_or("-".into(), |v| format!("{v:.4}"));
        println!(
            "{:<24} {:<8} {:<14} {:>9} {:>9} {:>8}  {}",
            m.name,
            m.role.map_or("-", ModelRole::as_str),
            m.algo,
            metric("accuracy"),
            metric("recall"),
            metric("fpr"),
            m.classes.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `rampart check [--model M] VALUE…`: each value's verdict, class, score,
//! decoded form and token shape; exit 1 when any is an attack.

use std::process::ExitCode;

use rampart_core::escape::for_terminal;
use rampart_ml::payload::{Context, PayloadClass, PayloadModel};
use serde_json::json;

use crate::args::CheckArgs;

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let model = PayloadModel::load_or_shipped(args.model.as_deref()).map_err(anyhow::Error::msg)?;
    let scorer = model.scorer();
    let context = if args.path { Context::Other } else { Context::Form };
    let mut attacks = 0;
    for value in &args.values {
        let verdict = scorer.judge(value, context);
        let attack = verdict.class != PayloadClass::Benign;
        attacks += usize::from(attack);
        if args.json {
            let line = json!({
                "value": value, "verdict": if attack { "attack" } else { "benign" }, "class": verdict.class.name(),
                "score": verdict.score, "attack_probability": verdict.attack, "decoded": verdict.decoded.text,
                "decoding": verdict.decoded.flags.names(), "shape": verdict.shape,
            });
            println!("{line}");
        } else {
            // Values are an attacker's text: escaped before they reach a terminal.
            println!(
                "{}  {} {:.3}  decoded {:?}  shape {}{}",
                if attack { "ATTACK" } else { "benign" },
                verdict.class.name(),
                verdict.score,
                for_terminal(&verdict.decoded.text),
                verdict.shape,
                match verdict.decoded.flags.names() {
                    names if names.is_empty() => String::new(),
                    names => format!("  ({})", names.join(", ")),
                }
            );
        }
    }
    Ok(if attacks > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

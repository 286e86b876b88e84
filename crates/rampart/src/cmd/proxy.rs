//! `rampart proxy`: the web gatekeeper on its own, `[proxy]` overridden by
//! flags. Verdicts go to stdout as ECS JSON lines (a log shipper, or
//! `rampart serve`'s file source, can take them from there); bans from
//! playbooks need `serve` with `[proxy] enabled = true`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rampart_core::config::{ProxyConfig, ProxyMode};
use rampart_core::ecs::encode_event_string;
use rampart_proxy::{BlockList, Gatekeeper, Inspector};

use crate::cli::ProxyArgs;

pub fn run(mut config: ProxyConfig, args: &ProxyArgs) -> anyhow::Result<ExitCode> {
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(upstream) = &args.upstream {
        config.upstream = Some(upstream.clone());
    }
    if let Some(mode) = args.mode.as_deref() {
        config.mode = if mode == "block" { ProxyMode::Block } else { ProxyMode::Detect };
    }
    if let Some(model) = &args.model {
        config.model = Some(model.clone());
    }
    config.trusted_proxies.extend(args.trusted_proxies.iter().copied());
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    let mut checked = rampart_core::config::Config { proxy: config.clone(), ..Default::default() };
    checked.proxy.enabled = true;
    checked.validate().map_err(|e| anyhow::anyhow!("{}: {}", e.key, e.reason))?;

    let model = rampart_proxy::load_model(config.model.as_deref())?;
    let inspector = Inspector::new(model.scorer(), config.inspect_headers.clone());
    let events: rampart_proxy::EventSink = Arc::new(|event| {
        // One write per line so lines from concurrent requests never interleave.
        let line = format!("{}\n", encode_event_string(&event));
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    });
    let gatekeeper = Arc::new(Gatekeeper::new(&config, inspector, BlockList::new(), events));
    let (runtime, workers) = rampart_proxy::runtime(&config).context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = rampart_proxy::bind(&config).await?;
        let addr = listener.local_addr().context("the listener has no address")?;
        tracing::info!(%addr, workers, mode = ?config.mode, upstream = config.upstream.as_deref().unwrap_or("none"), "The web gatekeeper is listening.");
        rampart_proxy::serve(listener, gatekeeper, &config, super::serve::shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    })
}

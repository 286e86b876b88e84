//! The responder on its thread (respond builds it from `[respond]`), the
//! bridge that hands it the API's requests, and the admin token announced
//! on a first start (server's auth makes it).

use std::sync::Arc;

use rampart_core::config::Config;
use rampart_core::{DecisionRequest, Store};
use rampart_respond::ResponderInput;
use rampart_respond::enforce::Enforcer;
use rampart_server::auth::{self, Bootstrap};
use tokio::sync::mpsc;

use crate::error::NodeError;

/// The responder thread (playbooks, allowlist, enforcers) and its queue;
/// `enforcers` replace the ones `[respond]` names (tests, embedders).
pub(crate) fn start_responder(
    config: &Config,
    store: Arc<dyn Store>,
    enforcers: Option<Vec<Box<dyn Enforcer>>>,
) -> Result<(std::thread::JoinHandle<()>, mpsc::Sender<ResponderInput>), NodeError> {
    let responder = rampart_respond::build::responder(&config.respond, &config.sinks, store, enforcers)?;
    let (tx, rx) = mpsc::channel(4_096);
    let thread = std::thread::Builder::new()
        .name("rampart-respond".into())
        .spawn(move || responder.run(rx))
        .map_err(|source| NodeError::Thread { name: "rampart-respond".into(), source })?;
    Ok((thread, tx))
}

/// The API speaks `DecisionRequest`s; the responder takes those and alerts
/// on one queue, so everything that changes the firewall is ordered.
pub(crate) fn bridge_requests(respond_tx: mpsc::Sender<ResponderInput>) -> mpsc::Sender<DecisionRequest> {
    let (tx, mut rx) = mpsc::channel::<DecisionRequest>(256);
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            if respond_tx.send(ResponderInput::Request(request)).await.is_err() {
                break;
            }
        }
    });
    tx
}

/// On the very first start, creates the admin token: the operator's own
/// (`RAMPART_ADMIN_TOKEN`) or a fresh one printed once to stderr.
pub(crate) fn bootstrap_admin_token(store: &dyn Store, announce: bool) -> Result<(), NodeError> {
    let from_env = std::env::var("RAMPART_ADMIN_TOKEN").ok();
    match auth::bootstrap_admin_token(store, from_env.as_deref())? {
        Bootstrap::Existing => {}
        Bootstrap::Adopted => tracing::info!("Admin token taken from RAMPART_ADMIN_TOKEN."),
        Bootstrap::Issued(token) if announce => eprintln!(
            "\nCreated the admin API token. It is shown only this once; keep it safe:\n\n    {token}\n\n\
             Use it as `Authorization: Bearer <token>`. More: rampart token create --name NAME --role reader|admin\n"
        ),
        Bootstrap::Issued(_) => {}
    }
    Ok(())
}

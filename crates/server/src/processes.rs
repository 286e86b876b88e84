//! `POST /api/v1/processes/{pid}/kill`: the manual kill switch (the
//! dashboard's mitigate button). Admin only, like every write. It goes
//! through the responder like any decision: the allowlist wins, observe
//! mode records what would have been done, and it is audited.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rampart_core::{Decision, DecisionKind, Origin, Target};
use serde::Deserialize;
use serde_json::Value;

use crate::decisions::{add_decision, decision_json};
use crate::error::ApiError;
use crate::state::AppState;

/// The optional body.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KillRequest {
    #[serde(default)]
    reason: Option<String>,
    /// The process's start time (clock ticks after boot, as process events
    /// carry it): when given, a different process that has since taken
    /// the pid is left alone.
    #[serde(default)]
    start_ticks: Option<u64>,
}

pub(crate) async fn kill(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let pid: u32 = pid.parse().map_err(|_| ApiError::bad("pid", format!("{pid:?} is not a process id")))?;
    let body = body.map_err(ApiError::from)?;
    let request: KillRequest = if body.iter().all(u8::is_ascii_whitespace) {
        KillRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad("body", e.to_string()))?
    };
    let now = rampart_core::time::now_ms();
    let target = Target::Process { pid, start_ticks: request.start_ticks };
    let mut decision = Decision::new(DecisionKind::Kill, target, Origin::Manual, now, None);
    decision.reason = request.reason.unwrap_or_else(|| format!("manual kill of pid {pid}"));
    let stored = add_decision(&state, decision).await?;
    Ok((StatusCode::CREATED, Json(decision_json(&stored, now))))
}

/// `GET /api/v1/processes`: the top processes of the host collector's latest
/// sample (by CPU and by memory), each with what a kill needs. Command lines
/// (already redacted where they were read) go to admins only: what is left
/// can still say more than a reader needs. Kernel threads are marked not
/// killable, and the responder refuses them anyway.
pub(crate) async fn list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
) -> Result<Json<Value>, ApiError> {
    let admin = caller.role == rampart_core::Role::Admin;
    let store = state.store.clone();
    let query =
        rampart_core::EventQuery { kind: Some(rampart_core::EventKind::State), limit: 500, ..Default::default() };
    let page = crate::alerts::blocking(move || Ok(store.events(&query)?)).await?;
    let samples: Vec<&rampart_core::Event> =
        page.items.iter().filter(|e| e.action.as_deref() == Some("process_sample")).collect();
    let latest = samples.iter().map(|e| e.timestamp_ms).max();
    let mut processes: Vec<Value> = samples
        .iter()
        .filter(|e| Some(e.timestamp_ms) == latest)
        .map(|e| {
            let (cpu, rss, cmd, parent) = match &e.body {
                Some(rampart_core::Body::Process { cpu_pct, rss_bytes, command_line, parent_pid, .. }) => {
                    (*cpu_pct, *rss_bytes, command_line.clone(), *parent_pid)
                }
                _ => (None, None, None, None),
            };
            // kthreadd is pid 2; its children have no command line.
            let kernel_thread = e.process_pid == Some(2) || (cmd.is_none() && parent == Some(2));
            serde_json::json!({
                "pid": e.process_pid,
                "name": e.process_name,
                "user": e.user_name,
                "cpu_pct": cpu,
                "rss_bytes": rss,
                "command_line": if admin { cmd } else { None },
                "start_ticks": e.extra.get("process.start_ticks"),
                "killable": !kernel_thread && e.process_pid.is_some_and(|pid| pid > 1),
            })
        })
        .collect();
    processes.sort_by(|a, b| b["cpu_pct"].as_f64().unwrap_or(0.0).total_cmp(&a["cpu_pct"].as_f64().unwrap_or(0.0)));
    let at = latest.map(rampart_core::time::format_ms);
    Ok(Json(serde_json::json!({ "sampled": at, "processes": processes })))
}

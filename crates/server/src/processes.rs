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
use utoipa::ToSchema;

use crate::decisions::{add_decision, decision_json};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The optional body of a kill.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KillRequest {
    #[serde(default)]
    #[schema(max_length = 512)]
    reason: Option<String>,
    /// The process's start time (clock ticks after boot, as process events
    /// carry it): when given, a different process that has since taken
    /// the pid is left alone.
    #[serde(default, deserialize_with = "integral")]
    #[schema(minimum = 0)]
    start_ticks: Option<u64>,
}

/// A whole number, also when written `71452.0` (JSON Schema calls that an
/// integer, so a client may send it so).
fn integral<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let number: Option<serde_json::Number> = serde::Deserialize::deserialize(deserializer)?;
    number
        .map(|n| {
            n.as_u64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19).map(|f| f as u64))
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number of clock ticks")))
        })
        .transpose()
}

/// Kills a process (SIGTERM, then SIGKILL after the grace period). In
/// observe mode it is recorded, not done; the allowlist (init, Rampart, its
/// parent, kernel threads, protected names) wins with 422.
#[utoipa::path(post, path = "/api/v1/processes/{pid}/kill", tag = "host", security(("bearer" = [])),
    params(("pid" = u32, Path, description = "The process id", minimum = 1, maximum = 4194304)),
    request_body(content = Option<KillRequest>, description = "Optional; an empty body is the same as {}"),
    responses(
        (status = 201, description = "The kill decision", body = crate::decisions::DecisionView),
        (status = 400, description = "The pid or the body is malformed", body = ErrorBody),
        (status = 422, description = "Refused by the allowlist; on record as `decision_id`", body = ErrorBody),
        (status = 503, description = "No responder runs on this node", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn kill(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<crate::decisions::DecisionView>), ApiError> {
    // Linux's pid_max tops out at 2^22.
    let pid: u32 = pid
        .parse()
        .ok()
        .filter(|p| (1..=4_194_304).contains(p))
        .ok_or_else(|| ApiError::bad("pid", format!("{pid:?} is not a process id (1 to 4194304)")))?;
    let body = body.map_err(ApiError::from)?;
    let request: KillRequest = if body.iter().all(u8::is_ascii_whitespace) {
        KillRequest::default()
    } else {
        // `null` is an empty body too, as the document's nullable schema says.
        serde_json::from_slice::<Option<KillRequest>>(&body)
            .map_err(|e| ApiError::bad("body", e.to_string()))?
            .unwrap_or_default()
    };
    let now = rampart_core::time::now_ms();
    crate::decisions::check_reason(request.reason.as_deref())?;
    let target = Target::Process { pid, start_ticks: request.start_ticks };
    let mut decision = Decision::new(DecisionKind::Kill, target, Origin::Manual, now, None);
    decision.reason = request.reason.unwrap_or_else(|| format!("manual kill of pid {pid}"));
    let stored = add_decision(&state, decision).await?;
    Ok((StatusCode::CREATED, Json(decision_json(&stored, now))))
}

/// The top processes of the host collector's latest sample.
#[utoipa::path(get, path = "/api/v1/processes", tag = "host", security(("bearer" = [])),
    responses(
        (status = 200, description = "`sampled` (RFC 3339 or null) and `processes`: pid, name, user, cpu_pct, rss_bytes, \
            command_line (admins only; redacted), start_ticks, killable", body = Object),
        crate::error::AuthFailures,
    ))]
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
    let page = crate::blocking::blocking(move || Ok(store.events(&query)?)).await?;
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

//! `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `PATCH /api/v1/alerts/{id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use rampart_core::{Alert, AlertQuery, AlertStatus, Mitigation, Severity};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(e.to_string()))?
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::new(raw, &["status", "severity", "rule", "limit", "cursor"])?;
    let query = AlertQuery {
        status: p.parse("status", "open, acknowledged or resolved", AlertStatus::parse)?,
        severity: p.parse("severity", "info, low, medium, high or critical", Severity::parse)?,
        rule_id: p.text("rule").map(str::to_owned),
        before_id: p.text("cursor").map(str::to_owned),
        limit: p.limit()?,
    };
    let store = state.store.clone();
    let page = blocking(move || Ok(store.alerts(&query)?)).await?;
    Ok(Json(json!({ "alerts": page.items, "next_cursor": page.next_cursor })))
}

pub(crate) async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Alert>, ApiError> {
    let store = state.store.clone();
    let wanted = id.clone();
    blocking(move || store.alert(&wanted)?.ok_or(ApiError::NotFound(format!("alert {id}")))).await.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertPatch {
    status: String,
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<AlertPatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Alert>, ApiError> {
    let Json(patch) = body.map_err(ApiError::from)?;
    let status = AlertStatus::parse(&patch.status)
        .ok_or_else(|| ApiError::bad("status", "expected open, acknowledged or resolved"))?;
    let store = state.store.clone();
    blocking(move || store.set_alert_status(&id, status)?.ok_or(ApiError::NotFound(format!("alert {id}"))))
        .await
        .map(Json)
}

/// `POST /api/v1/alerts/{id}/mitigate`: runs the alert's playbook now (the
/// dashboard's mitigate button) and says what was done.
pub(crate) async fn mitigate(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let wanted = id.clone();
    let alert = blocking(move || store.alert(&wanted)?.ok_or(ApiError::NotFound(format!("alert {id}")))).await?;
    let alert = Box::new(alert);
    let outcome =
        crate::decisions::ask(&state, |reply| rampart_core::DecisionRequest::Mitigate { alert, reply }).await?;
    let now = rampart_core::time::now_ms();
    let (kind, playbook, decision, sink) = match outcome {
        Mitigation::Decided { playbook, decision } => ("decided", playbook, Some(decision), None),
        Mitigation::AlreadyActive { playbook, decision } => ("already_active", playbook, Some(decision), None),
        Mitigation::Notified { playbook, sink } => ("notified", playbook, None, Some(sink)),
    };
    let actions = match &decision {
        Some(d) => {
            let (store, decision_id) = (state.store.clone(), d.id);
            blocking(move || Ok(store.actions(None, 200)?))
                .await?
                .items
                .into_iter()
                .filter(|a| a.decision_id == decision_id)
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Json(json!({
        "outcome": kind,
        "playbook": playbook,
        "sink": sink,
        "decision": decision.map(|d| crate::decisions::decision_json(&d, now)),
        "actions": actions.iter().map(crate::decisions::action_json).collect::<Vec<_>>(),
    })))
}

//! `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, `PATCH /api/v1/alerts/{id}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use rampart_core::{Alert, AlertQuery, AlertStatus, Mitigation, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::blocking::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

/// The query `GET /alerts` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct AlertListQuery {
    status: Option<AlertStatus>,
    severity: Option<Severity>,
    /// A rule id.
    #[param(min_length = 1)]
    rule: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
}

/// A page of alerts.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertPage {
    alerts: Vec<Alert>,
    next_cursor: Option<String>,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("bearer" = [])),
    params(AlertListQuery),
    responses(
        (status = 200, description = "A page of alerts", body = AlertPage),
        (status = 400, description = "A parameter is malformed or unknown; `field` names it", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<AlertPage>, ApiError> {
    let p = Params::documented::<AlertListQuery>(raw)?;
    let query = AlertQuery {
        status: p.parse("status", "open, acknowledged or resolved", AlertStatus::parse)?,
        severity: p.parse("severity", "info, low, medium, high or critical", Severity::parse)?,
        rule_id: p.text("rule").map(str::to_owned),
        before_id: p.text("cursor").map(str::to_owned),
        limit: p.limit()?,
    };
    let store = state.store.clone();
    let page = blocking(move || Ok(store.alerts(&query)?)).await?;
    Ok(Json(AlertPage { alerts: page.items, next_cursor: page.next_cursor }))
}

/// One alert.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    responses(
        (status = 200, description = "The alert", body = Alert),
        (status = 404, description = "No such alert", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Alert>, ApiError> {
    let store = state.store.clone();
    let wanted = id.clone();
    blocking(move || store.alert(&wanted)?.ok_or(ApiError::NotFound(format!("alert {id}")))).await.map(Json)
}

/// An alert's new status.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertPatch {
    status: AlertStatus,
}

/// Acknowledges, resolves or reopens an alert.
#[utoipa::path(patch, path = "/api/v1/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    request_body = AlertPatch,
    responses(
        (status = 200, description = "The alert as it is now", body = Alert),
        (status = 400, description = "The body is malformed; `field` names what", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<AlertPatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Alert>, ApiError> {
    let Json(patch) = body.map_err(ApiError::from)?;
    let status = patch.status;
    let store = state.store.clone();
    blocking(move || store.set_alert_status(&id, status)?.ok_or(ApiError::NotFound(format!("alert {id}"))))
        .await
        .map(Json)
}

/// `POST /api/v1/alerts/{id}/mitigate`: runs the alert's playbook now (the
/// dashboard's mitigate button) and says what was done.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/mitigate", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    responses(
        (status = 200, description = "`outcome` (decided, already_active, notified), `playbook`, `sink`, `decision`, `actions`", body = Object),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 422, description = "Refused by the allowlist, or no playbook matches; `decision_id` when on record", body = ErrorBody),
        (status = 503, description = "No responder runs on this node", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
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

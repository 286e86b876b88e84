//! Operational endpoints: `/healthz`, `/readyz`, `/metrics`, and `/api/v1/stats`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The process is up and serving HTTP.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The node takes traffic: the store answers and the pipeline is not draining.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.store.clone();
    let store_ok = tokio::task::spawn_blocking(move || store.ping().is_ok()).await.unwrap_or(false);
    let pipeline_ok = state.pipeline_ok();
    let ready = store_ok && pipeline_ok && state.is_ready() && !state.ingest.is_closed();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({"ready": ready, "store": store_ok, "pipeline": pipeline_ok, "draining": !state.is_ready()})))
}

/// The Prometheus exposition. Open to clients on loopback (a local
/// Prometheus or node agent needs no secret); from anywhere else it takes a
/// token of either role, as the rule names and counts in it describe what
/// Rampart watches for.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<impl IntoResponse, ApiError> {
    let client = crate::auth::client_of(request.extensions());
    if !client.is_some_and(|ip| ip.to_canonical().is_loopback()) {
        let credential = crate::auth::presented_credential(request.headers()).ok_or(ApiError::Unauthorized)?;
        crate::auth::check_credential(&state, client, credential).await?;
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], (state.metrics)()))
}

pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let stats =
        tokio::task::spawn_blocking(move || store.stats()).await.map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(stats_json(&state, &stats)))
}

/// The body of `GET /stats`, which the dashboard's live `stats` message
/// extends.
pub(crate) fn stats_json(state: &AppState, stats: &rampart_core::StoreStats) -> Value {
    json!({
        "events": {"total": stats.events_total, "by_kind": stats.events_by_kind},
        "alerts": {
            "total": stats.alerts_total,
            "by_severity": stats.alerts_by_severity,
            "by_status": stats.alerts_by_status,
            "open_by_severity": stats.open_by_severity,
        },
        "events_per_second": state.rate.per_second(),
        "ingest_queue_depth": state.ingest.depth(),
    })
}

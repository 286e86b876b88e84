//! Operational endpoints: `/healthz`, `/readyz`, `/metrics`, and `/api/v1/stats`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// `/healthz`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: String,
}

/// The process is up and serving HTTP (no token needed).
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "Up", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// `/readyz`'s answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct Readiness {
    ready: bool,
    store: bool,
    pipeline: bool,
    draining: bool,
}

/// The node takes traffic: the store answers and the pipeline is not
/// draining (no token needed).
#[utoipa::path(get, path = "/readyz", tag = "meta", responses(
    (status = 200, description = "Ready", body = Readiness),
    (status = 503, description = "Not ready: the store, the pipeline, or draining", body = Readiness),
))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let store = state.store.clone();
    let store_ok = tokio::task::spawn_blocking(move || store.ping().is_ok()).await.unwrap_or(false);
    let pipeline_ok = state.pipeline_ok();
    let ready = store_ok && pipeline_ok && state.is_ready() && !state.ingest.is_closed();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { ready, store: store_ok, pipeline: pipeline_ok, draining: !state.is_ready() }))
}

#[utoipa::path(get, path = "/metrics", tag = "meta", security((), ("bearer" = [])), responses(
    (status = 200, description = "The Prometheus text exposition (version 0.0.4)", content_type = "text/plain", body = String),
    (status = 401, description = "Called from beyond loopback without a valid token", body = ErrorBody),
    (status = 429, description = "Too many failed authentications from this address", body = ErrorBody),
))]
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

/// Counters: events by kind, alerts by severity and status, events per
/// second, the ingest queue's depth.
#[utoipa::path(get, path = "/api/v1/stats", tag = "meta", security(("bearer" = [])),
    responses(
        (status = 200, description = "`events` {total, by_kind}, `alerts` {total, by_severity, by_status, open_by_severity}, \
            `events_per_second`, `ingest_queue_depth`", body = Object),
        crate::error::AuthFailures,
    ))]
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

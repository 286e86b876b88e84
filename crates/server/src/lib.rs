//! Rampart's HTTP API.
//!
//! `router(state)` builds the whole axum app; the binary only binds and
//! serves it, and tests call it directly with `oneshot`. Handlers are thin:
//! extract, call core or the store, map the result. Errors become JSON
//! bodies that name the field at fault.

mod alerts;
pub mod auth;
mod auth_throttle;
mod decisions;
mod error;
mod events;
mod health;
pub mod listen;
mod live;
pub mod metrics;
mod models;
mod openapi;
mod params;
mod processes;
mod ratelimit;
mod rules;
mod state;
#[cfg(test)]
mod tests;
pub mod tokens;
mod ui;
#[cfg(test)]
mod ui_tests;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use decisions::decision_json;
pub use error::ApiError;
pub use listen::{ListenOptions, TlsError, serve, tls_config};
pub use models::ModelControl;
pub use state::{AppState, MetricsRender};

/// The complete application: `/api/v1/*` behind token auth, plus the
/// unauthenticated operational endpoints `/healthz`, `/readyz`, `/metrics`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/events", post(events::ingest).get(events::list))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::get_one).patch(alerts::update))
        .route("/alerts/{id}/mitigate", post(alerts::mitigate))
        .route("/decisions", get(decisions::list).post(decisions::add).delete(decisions::delete_by_value))
        .route("/decisions/stream", get(decisions::stream))
        .route("/decisions/{id}", axum::routing::delete(decisions::delete_one))
        .route("/actions", get(decisions::actions))
        .route("/processes", get(processes::list))
        .route("/processes/{pid}/kill", post(processes::kill))
        .route("/rules", get(rules::list))
        .route("/live", get(live::stream))
        .route("/whoami", get(auth::whoami))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/models", get(models::list))
        .route("/models/{name}/activate", post(models::activate))
        .route("/models/{name}/deactivate", post(models::deactivate))
        .route("/stats", get(health::stats))
        .route("/openapi.json", get(openapi::document))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .nest("/api/v1", api)
        .merge(ui::routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(error::not_found)
        // Every body-reading extractor stops at this (413 while streaming);
        // ingest reads its body itself, under the configured batch limit.
        .layer(DefaultBodyLimit::max(state.max_json_body_bytes))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

//! Rampart's HTTP API.
//!
//! `router(state)` builds the whole axum app; the binary only binds and
//! serves it, and tests call it directly with `oneshot`. Handlers are thin:
//! extract, call core or the store, map the result. Errors become JSON
//! bodies that name the field at fault.

mod alerts;
pub mod auth;
mod auth_throttle;
mod blocking;
#[cfg(test)]
mod console_tests;
mod decisions;
mod error;
mod events;
mod health;
mod history;
mod incidents;
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
mod triage;
mod ui;
#[cfg(test)]
mod ui_tests;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use decisions::decision_json;
pub use error::ApiError;
pub use listen::{ListenOptions, TlsError, serve, tls_config};
pub use openapi::document as openapi_document;
pub use state::{AppState, MetricsRender};

/// Every `/api/v1` route, each registered from its handler's
/// `#[utoipa::path]` annotation (path, method, parameters, answers), so the
/// OpenAPI document and the router are one list.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events::ingest, events::list))
        .routes(routes!(events::get_one))
        .routes(routes!(history::history))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::get_one, alerts::update))
        .routes(routes!(alerts::mitigate))
        .routes(routes!(triage::get))
        .routes(routes!(triage::apply))
        .routes(routes!(triage::get_incident, triage::triage_incident))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::get_one))
        .routes(routes!(decisions::list, decisions::add, decisions::delete_by_value))
        .routes(routes!(decisions::stream))
        .routes(routes!(decisions::delete_one))
        .routes(routes!(decisions::actions))
        .routes(routes!(processes::list))
        .routes(routes!(processes::kill))
        .routes(routes!(rules::list))
        .routes(routes!(live::stream))
        .routes(routes!(auth::whoami))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(models::list))
        .routes(routes!(models::activate))
        .routes(routes!(models::deactivate))
        .routes(routes!(health::stats))
        .routes(routes!(openapi::serve_document))
}

/// The operational endpoints, open without a token (`/metrics` only on
/// loopback).
fn ops_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
}

/// Both route lists with the document's frame: what `openapi.json` shows.
pub(crate) fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::Frame::openapi()).merge(api_routes()).merge(ops_routes())
}

/// The complete application: `/api/v1/*` behind token auth, the dashboard,
/// and the operational endpoints `/healthz`, `/readyz`, `/metrics`.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let (ops, _) = ops_routes().split_for_parts();
    Router::new()
        .merge(api.route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_token)))
        .merge(ui::routes())
        .merge(ops)
        .fallback(error::not_found)
        // Every body-reading extractor stops at this (413 while streaming);
        // ingest reads its body itself, under the configured batch limit.
        .layer(DefaultBodyLimit::max(state.max_json_body_bytes))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(30)))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

//! The flow-model registry over HTTP: list models, and activate one (live
//! or shadow) without a restart.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use rampart_core::{ModelControl, ModelError, ModelRole};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::blocking::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The optional body of an activation.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivateRequest {
    /// Score beside the active model instead of replacing it.
    #[serde(default)]
    shadow: bool,
}

fn control(state: &AppState) -> Result<Arc<dyn ModelControl>, ApiError> {
    state.models.clone().ok_or_else(|| ApiError::Unavailable("this server runs no flow detector".into()))
}

/// The registry's models and which run now.
#[utoipa::path(get, path = "/api/v1/models", tag = "models", security(("bearer" = [])),
    responses(
        (status = 200, description = "`models` (name, algo, classes, metrics, role…) and `live` {active, shadow}", body = Object),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let models = blocking(move || Ok(store.models()?)).await?;
    let (active, shadow) = state.models.as_ref().map(|c| c.live()).unwrap_or_default();
    Ok(Json(json!({ "models": models, "live": { "active": active, "shadow": shadow } })))
}

/// Makes a model the active one (or the shadow), without a restart.
#[utoipa::path(post, path = "/api/v1/models/{name}/activate", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = Option<ActivateRequest>, description = "Optional; an empty body activates"),
    responses(
        (status = 200, description = "`name`, `role` and `live` {active, shadow}", body = Object),
        (status = 400, description = "The body is malformed, or the model cannot be loaded", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 503, description = "This server runs no flow detector", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn activate(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(ApiError::from)?;
    let request: ActivateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ActivateRequest::default()
    } else {
        // `null` is an empty body too, as the document's nullable schema says.
        serde_json::from_slice::<Option<ActivateRequest>>(&body)
            .map_err(|e| ApiError::bad("body", e.to_string()))?
            .unwrap_or_default()
    };
    let role = if request.shadow { ModelRole::Shadow } else { ModelRole::Active };
    change(state, name, Some(role)).await
}

/// Takes a model out of its role.
#[utoipa::path(post, path = "/api/v1/models/{name}/deactivate", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "The model's name")),
    responses(
        (status = 200, description = "`name`, `role` (null) and `live` {active, shadow}", body = Object),
        (status = 400, description = "The model cannot be changed", body = ErrorBody),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 503, description = "This server runs no flow detector", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    change(state, name, None).await
}

async fn change(state: AppState, name: String, role: Option<ModelRole>) -> Result<Json<Value>, ApiError> {
    let control = control(&state)?;
    let for_task = control.clone();
    let target = name.clone();
    let found = blocking(move || {
        for_task.set_role(&target, role).map_err(|e| match e {
            ModelError::Store(e) => ApiError::from(e),
            other => ApiError::bad("name", other.to_string()),
        })
    })
    .await?;
    if !found {
        return Err(ApiError::NotFound(format!("model {name:?}")));
    }
    let (active, shadow) = control.live();
    Ok(Json(
        json!({ "name": name, "role": role.map(ModelRole::as_str), "live": { "active": active, "shadow": shadow } }),
    ))
}

//! `/api/v1/tokens`: list, create and revoke API tokens (admins only, even
//! for listing: the names say who holds access). Revoking a token ends every
//! dashboard session opened with it at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rampart_core::{Role, TokenRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::alerts::blocking;
use crate::auth::{Caller, issue_token};
use crate::error::ApiError;
use crate::state::AppState;

fn admin_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.role == Role::Admin { Ok(()) } else { Err(ApiError::Forbidden) }
}

/// A token as listed: never its hash or salt.
pub fn token_json(token: &TokenRecord) -> Value {
    json!({
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "created": rampart_core::time::format_ms(token.created_ms),
    })
}

pub(crate) async fn list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller)?;
    let store = state.store.clone();
    let tokens = blocking(move || Ok(store.tokens()?)).await?;
    Ok(Json(json!({ "tokens": tokens.iter().map(token_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    name: String,
    role: String,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(new) = body.map_err(ApiError::from)?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(ApiError::bad("name", "1 to 128 characters, no control characters"));
    }
    let role = Role::parse(&new.role).ok_or_else(|| ApiError::bad("role", "expected reader or admin"))?;
    let store = state.store.clone();
    let (token, record) = blocking(move || {
        let token = issue_token(store.as_ref(), &name, role)?;
        let id = token.split('_').nth(1).unwrap_or_default().to_owned();
        let record = store.token(&id)?.ok_or_else(|| ApiError::Internal("the new token was not stored".into()))?;
        Ok((token, record))
    })
    .await?;
    let mut body = token_json(&record);
    body["token"] = Value::String(token);
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes a token; refuses to revoke the last admin token (nobody could
/// manage the server after it).
pub(crate) async fn revoke(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let store = state.store.clone();
    blocking(move || revoke_token(store.as_ref(), &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The rule `revoke` and `rampart token revoke` share.
pub fn revoke_token(store: &dyn rampart_core::Store, id: &str) -> Result<(), ApiError> {
    let tokens = store.tokens()?;
    let target = tokens.iter().find(|t| t.id == id).ok_or_else(|| ApiError::NotFound(format!("token {id}")))?;
    if target.role == Role::Admin && tokens.iter().filter(|t| t.role == Role::Admin).count() == 1 {
        return Err(ApiError::bad("id", "this is the last admin token; create another admin token first"));
    }
    store.revoke_token(id)?;
    tracing::info!(token_id = %id, name = %rampart_core::escape::for_terminal(&target.name), "Token revoked.");
    Ok(())
}

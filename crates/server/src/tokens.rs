//! `/api/v1/tokens`: list, create and revoke API tokens (admins only, even
//! for listing: the names say who holds access). Revoking a token ends every
//! dashboard session opened with it at once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rampart_core::{Role, TokenRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, issue};
use crate::blocking::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

fn admin_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.role == Role::Admin { Ok(()) } else { Err(ApiError::Forbidden) }
}

/// A token as listed: never its hash or salt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub role: Role,
    #[schema(format = DateTime)]
    pub created: String,
    /// The token's text: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A token as listed.
pub fn token_json(token: &TokenRecord) -> TokenView {
    TokenView {
        id: token.id.clone(),
        name: token.name.clone(),
        role: token.role,
        created: rampart_core::time::format_ms(token.created_ms),
        token: None,
    }
}

/// The tokens.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenList {
    tokens: Vec<TokenView>,
}

/// The API tokens (admins only).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every token; never a secret or hash", body = TokenList),
        (status = 403, description = "A reader token", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<TokenList>, ApiError> {
    admin_only(&caller)?;
    let store = state.store.clone();
    let tokens = blocking(move || Ok(store.tokens()?)).await?;
    Ok(Json(TokenList { tokens: tokens.iter().map(token_json).collect() }))
}

/// A new token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    /// A name to recognise it by: 1 to 128 characters, none of them control characters.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    role: Role,
}

/// Creates a token (admins only); its text is in the answer, only this once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    request_body = NewToken,
    responses(
        (status = 201, description = "The token, with its text", body = TokenView),
        (status = 400, description = "A field is malformed; `field` names it", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let Json(new) = body.map_err(ApiError::from)?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(ApiError::bad("name", "1 to 128 characters, no control characters"));
    }
    let role = new.role;
    let store = state.store.clone();
    let (token, record) = blocking(move || Ok(issue(store.as_ref(), &name, role)?)).await?;
    let mut body = token_json(&record);
    body.token = Some(token);
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes a token; refuses to revoke the last admin token (nobody could
/// manage the server after it).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("id" = String, Path, description = "The token's id (from the list)")),
    responses(
        (status = 204, description = "Revoked; its dashboard sessions have ended"),
        (status = 409, description = "The last admin token, or the token making the request", body = ErrorBody),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Sawing off the branch one sits on is refused: use another admin token.
    if caller.token_id == id {
        return Err(ApiError::Conflict(
            "this is the token making the request; revoke it with another admin token".into(),
        ));
    }
    let store = state.store.clone();
    blocking(move || revoke_token(store.as_ref(), &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The rule `revoke` and `rampart token revoke` share.
pub fn revoke_token(store: &dyn rampart_core::Store, id: &str) -> Result<(), ApiError> {
    let tokens = store.tokens()?;
    let target = tokens.iter().find(|t| t.id == id).ok_or_else(|| ApiError::NotFound(format!("token {id}")))?;
    if target.role == Role::Admin && tokens.iter().filter(|t| t.role == Role::Admin).count() == 1 {
        return Err(ApiError::Conflict("this is the last admin token; create another admin token first".into()));
    }
    store.revoke_token(id)?;
    tracing::info!(token_id = %id, name = %rampart_core::escape::for_terminal(&target.name), "Token revoked.");
    Ok(())
}

//! API tokens: issuing, storing only a salted hash, and checking requests.
//!
//! A token reads `rmp_<id>_<secret>`: the id finds the stored record, and
//! the secret is checked against SHA-256(salt ‖ secret). Tokens are 192-bit
//! random, so a fast hash is enough: there is nothing to brute-force that a
//! slow password hash would protect. A token given through
//! `RAMPART_ADMIN_TOKEN` may have any shape; it is stored under a fixed id
//! and hashed whole.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use rampart_core::{Role, Store, StoreError, TokenRecord};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

const PREFIX: &str = "rmp_";
/// The record id of a token supplied through `RAMPART_ADMIN_TOKEN`.
pub const ENV_TOKEN_ID: &str = "env-admin";

fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

fn digest(salt: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// Creates and stores a new token; returns the only copy of its text.
pub fn issue_token(store: &dyn Store, name: &str, role: Role) -> Result<String, StoreError> {
    let id = random_hex(8)?;
    let secret = random_hex(24)?;
    store_token(store, &id, name, role, &secret)?;
    Ok(format!("{PREFIX}{id}_{secret}"))
}

/// Stores an operator-chosen admin token (from `RAMPART_ADMIN_TOKEN`).
pub fn adopt_admin_token(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    store_token(store, ENV_TOKEN_ID, "admin (RAMPART_ADMIN_TOKEN)", Role::Admin, token)
}

fn store_token(store: &dyn Store, id: &str, name: &str, role: Role, secret: &str) -> Result<(), StoreError> {
    let salt = random_hex(16)?;
    let record = TokenRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        role,
        hash: digest(&salt, secret),
        salt,
        created_ms: rampart_core::time::now_ms(),
    };
    store.add_token(&record)
}

/// The role of a presented token, or `None` if it is not valid.
pub fn verify(store: &dyn Store, presented: &str) -> Result<Option<Caller>, StoreError> {
    let (id, secret) = match presented.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_')) {
        Some((id, secret)) => (id, secret),
        None => (ENV_TOKEN_ID, presented),
    };
    let record = match store.token(id)? {
        Some(record) => record,
        // An `rmp_`-shaped env token is still checked whole.
        None if id != ENV_TOKEN_ID => return verify_env(store, presented),
        None => return Ok(None),
    };
    if constant_time_eq(&digest(&record.salt, secret), &record.hash) {
        return Ok(Some(Caller { token_id: record.id, role: record.role }));
    }
    if id != ENV_TOKEN_ID {
        return verify_env(store, presented);
    }
    Ok(None)
}

fn verify_env(store: &dyn Store, presented: &str) -> Result<Option<Caller>, StoreError> {
    Ok(store
        .token(ENV_TOKEN_ID)?
        .filter(|r| constant_time_eq(&digest(&r.salt, presented), &r.hash))
        .map(|r| Caller { token_id: r.id, role: r.role }))
}

/// `verify` on a blocking thread (it reads the store).
pub(crate) async fn caller_of(state: &AppState, presented: String) -> Result<Option<Caller>, ApiError> {
    let store = state.store.clone();
    crate::alerts::blocking(move || Ok(verify(store.as_ref(), &presented)?)).await
}

/// Who made a request: set by `require_token` for the handlers behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub role: Role,
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The dashboard's session cookie: the token the person logged in with,
/// `HttpOnly` so page scripts never see it.
pub const SESSION_COOKIE: &str = "rampart_session";
/// A write made with the session cookie must carry this header. A page on
/// another site can make the browser send the cookie (SameSite aside) but
/// cannot add a custom header without a CORS preflight, which is refused.
pub const CSRF_HEADER: &str = "x-rampart-csrf";

/// The token a request presents: the `Authorization: Bearer` header, else
/// the session cookie (then `true`).
pub fn presented_token(headers: &axum::http::HeaderMap) -> Option<(String, bool)> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| (t.trim().to_owned(), false));
    let cookie = || {
        headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
            v.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE).then(|| (value.to_owned(), true))
            })
        })
    };
    bearer.or_else(cookie).filter(|(t, _)| !t.is_empty() && t.len() <= 512)
}

/// Middleware on `/api/v1`: 401 without a valid token; 403 when a reader
/// token tries anything but GET or HEAD, or a cookie-borne write lacks the
/// CSRF header.
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let (presented, from_cookie) = presented_token(request.headers()).ok_or(ApiError::Unauthorized)?;
    let caller = caller_of(&state, presented).await?.ok_or(ApiError::Unauthorized)?;
    let read_only = matches!(*request.method(), Method::GET | Method::HEAD);
    if caller.role == Role::Reader && !read_only {
        return Err(ApiError::Forbidden);
    }
    if from_cookie && !read_only && request.headers().get(CSRF_HEADER).is_none() {
        return Err(ApiError::bad(CSRF_HEADER, "a write with the session cookie needs this header"));
    }
    let mut request = request;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// `GET /api/v1/whoami`: the caller's role, so the dashboard can hide what
/// a reader may not do (the API refuses it anyway).
pub(crate) async fn whoami(axum::Extension(caller): axum::Extension<Caller>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "token_id": caller.token_id, "role": caller.role }))
}

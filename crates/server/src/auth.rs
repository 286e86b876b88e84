//! API tokens: issuing, storing only a salted hash, and checking requests.
//!
//! A token reads `rmp_<id>_<secret>`: the id finds the stored record, and
//! the secret is checked against SHA-256(salt ‖ secret). Tokens are 192-bit
//! random, so a fast hash is enough: there is nothing to brute-force that a
//! slow password hash would protect. A token given through
//! `RAMPART_ADMIN_TOKEN` may have any shape but must carry 128 bits by the
//! estimate in `token_strength`; it is stored under a fixed id and hashed
//! whole. The same reasoning covers dashboard session ids (256-bit random,
//! stored as plain SHA-256).
//!
//! Failed attempts are counted per client address (`AuthThrottle`): past
//! the limit the address gets 429 before its token is even looked at.

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
    issue(store, name, role).map(|(text, _)| text)
}

/// `issue_token`, with the record it stored.
pub fn issue(store: &dyn Store, name: &str, role: Role) -> Result<(String, TokenRecord), StoreError> {
    let id = random_hex(8)?;
    let secret = random_hex(24)?;
    let record = store_token(store, &id, name, role, &secret)?;
    Ok((format!("{PREFIX}{id}_{secret}"), record))
}

/// Stores an operator-chosen admin token (from `RAMPART_ADMIN_TOKEN`).
pub fn adopt_admin_token(store: &dyn Store, token: &str) -> Result<(), StoreError> {
    store_token(store, ENV_TOKEN_ID, "admin (RAMPART_ADMIN_TOKEN)", Role::Admin, token).map(drop)
}

fn store_token(store: &dyn Store, id: &str, name: &str, role: Role, secret: &str) -> Result<TokenRecord, StoreError> {
    let salt = random_hex(16)?;
    let record = TokenRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        role,
        hash: digest(&salt, secret),
        salt,
        created_ms: rampart_core::time::now_ms(),
    };
    store.add_token(&record)?;
    Ok(record)
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

/// Who made a request: set by `require_token` for the handlers behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub role: Role,
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The dashboard's session cookie: a random session id bound server-side to
/// the token the person logged in with (never the token itself), `HttpOnly`
/// so page scripts never see it. Logout and revoking the token end it.
pub const SESSION_COOKIE: &str = "rampart_session";
const SESSION_PREFIX: &str = "rms_";
/// A write made with the session cookie must carry this header. A page on
/// another site can make the browser send the cookie (SameSite aside) but
/// cannot add a custom header without a CORS preflight, which is refused.
pub const CSRF_HEADER: &str = "x-rampart-csrf";

/// What a request presents to prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// The dashboard's session cookie.
    Session(String),
}

/// The credential a request presents: the `Authorization: Bearer` header,
/// else the session cookie.
pub fn presented_credential(headers: &axum::http::HeaderMap) -> Option<Credential> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| Credential::Bearer(t.trim().to_owned()));
    bearer.or_else(|| session_cookie(headers).map(Credential::Session)).filter(|c| match c {
        Credential::Bearer(t) | Credential::Session(t) => !t.is_empty() && t.len() <= 512,
    })
}

/// The session cookie's value, if the request carries one.
pub(crate) fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
    })
}

/// How a session id is stored: a plain SHA-256 (256-bit random input).
pub(crate) fn session_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Opens a session for `caller`; returns the id for the cookie.
pub(crate) fn open_session(store: &dyn Store, caller: &Caller, lifetime_ms: i64) -> Result<String, StoreError> {
    let id = format!("{SESSION_PREFIX}{}", random_hex(32)?);
    let now = rampart_core::time::now_ms();
    store.add_session(&rampart_core::SessionRecord {
        id_hash: session_hash(&id),
        token_id: caller.token_id.clone(),
        created_ms: now,
        expires_ms: now + lifetime_ms,
    })?;
    Ok(id)
}

/// Who a credential belongs to, or `None` if it is not valid (a session is
/// valid while it has not expired and its token still exists).
pub fn authenticate(store: &dyn Store, credential: &Credential) -> Result<Option<Caller>, StoreError> {
    match credential {
        Credential::Bearer(token) => verify(store, token),
        Credential::Session(id) => {
            let Some(session) = store.session(&session_hash(id), rampart_core::time::now_ms())? else {
                return Ok(None);
            };
            Ok(store.token(&session.token_id)?.map(|t| Caller { token_id: t.id, role: t.role }))
        }
    }
}

/// `authenticate` on a blocking thread (it reads the store), behind the
/// failed-attempt throttle: a client over its limit gets 429 before its
/// credential is looked at, and a failure is counted, logged and metered.
pub(crate) async fn check_credential(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    credential: Credential,
) -> Result<Caller, ApiError> {
    state.auth_throttle.admit(client)?;
    let store = state.store.clone();
    let caller = crate::blocking::blocking(move || Ok(authenticate(store.as_ref(), &credential)?)).await?;
    match caller {
        Some(caller) => Ok(caller),
        None => {
            state.auth_throttle.failed(client);
            Err(ApiError::Unauthorized)
        }
    }
}

/// The client address axum recorded for the connection, if any.
pub(crate) fn client_of(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// An operator-chosen admin token that carries too little.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it carries about {bits} bits; at least 128 are needed (e.g. 32 random hex characters: openssl rand -hex 32)")]
pub struct WeakToken {
    pub bits: u32,
}

/// What the first start did about the admin token.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Tokens exist already: nothing.
    Existing,
    /// The operator's own (`RAMPART_ADMIN_TOKEN`) was adopted.
    Adopted,
    /// A fresh one was made; it is shown once and never again.
    Issued(String),
}

/// Why the admin token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("RAMPART_ADMIN_TOKEN: {0}")]
    Weak(#[from] WeakToken),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// On the very first start (no token stored), creates the admin token: the
/// operator's `from_env` when given, else a fresh one.
pub fn bootstrap_admin_token(store: &dyn Store, from_env: Option<&str>) -> Result<Bootstrap, BootstrapError> {
    if store.token_count()? > 0 {
        return Ok(Bootstrap::Existing);
    }
    match from_env.map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => {
            token_strength(token)?;
            adopt_admin_token(store, token)?;
            Ok(Bootstrap::Adopted)
        }
        None => Ok(Bootstrap::Issued(issue_token(store, "admin", Role::Admin)?)),
    }
}

/// Why an operator-chosen admin token is refused, if it is: fewer than 128
/// bits by the estimate below.
///
/// The estimate is length × log2(the alphabet of the character classes
/// used: 26 lower, 26 upper, 10 digits, 33 other printable); and the text's
/// own Shannon entropy must reach 2.5 bits per character, which refuses long
/// repetitions such as `aaaa…` or `abab…` that the first measure flatters.
/// 32 random hex characters (`openssl rand -hex 16`) pass.
pub fn token_strength(token: &str) -> Result<(), WeakToken> {
    let len = token.chars().count() as f64;
    let mut alphabet = 0u32;
    for (present, size) in [
        (token.chars().any(|c| c.is_ascii_lowercase()), 26),
        (token.chars().any(|c| c.is_ascii_uppercase()), 26),
        (token.chars().any(|c| c.is_ascii_digit()), 10),
        (token.chars().any(|c| !c.is_ascii_alphanumeric()), 33),
    ] {
        if present {
            alphabet += size;
        }
    }
    let by_alphabet = len * f64::from(alphabet.max(1)).log2();
    let mut counts = std::collections::HashMap::new();
    for c in token.chars() {
        *counts.entry(c).or_insert(0u32) += 1;
    }
    let shannon: f64 = counts
        .values()
        .map(|&n| {
            let p = f64::from(n) / len;
            -p * p.log2()
        })
        .sum();
    // A text of few distinct characters is worth its own entropy at most.
    let bits = if shannon < 2.5 { by_alphabet.min(shannon * len) } else { by_alphabet };
    if bits < 128.0 {
        return Err(WeakToken { bits: bits.round() as u32 });
    }
    Ok(())
}

/// Middleware on `/api/v1`: 401 without a valid credential; 429 for a
/// client past its failed-attempt limit; 403 when a reader token tries
/// anything but GET or HEAD, or a cookie-borne write lacks the CSRF header.
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let client = client_of(request.extensions());
    // No credential at all is no guess at one: 401, not counted.
    let credential = presented_credential(request.headers()).ok_or(ApiError::Unauthorized)?;
    let from_cookie = matches!(credential, Credential::Session(_));
    let caller = check_credential(&state, client, credential).await?;
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

/// Who is calling.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct WhoAmI {
    token_id: String,
    role: Role,
}

/// `GET /api/v1/whoami`: the caller's role, so the dashboard can hide what
/// a reader may not do (the API refuses it anyway).
#[utoipa::path(get, path = "/api/v1/whoami", tag = "meta", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's token id and role", body = WhoAmI),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn whoami(axum::Extension(caller): axum::Extension<Caller>) -> axum::Json<WhoAmI> {
    axum::Json(WhoAmI { token_id: caller.token_id, role: caller.role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_admin_tokens_are_refused() {
        for weak in ["a", "test-admin-token", "password123", &"a".repeat(100), &"ab".repeat(40)] {
            assert!(token_strength(weak).is_err(), "{weak} passed");
        }
        // 32 hex characters (128 random bits), 22 base64 characters, a Rampart token.
        for strong in [
            "3f9c2a7be41d08f6a5c3e9b27d410c8e",
            "q8Zr+T2m/Xc9LpW4bN7s1e",
            "rmp_0a1b2c3d4e5f6a7b_9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a49382",
        ] {
            assert!(token_strength(strong).is_ok(), "{strong} refused");
        }
        let message = token_strength("a").unwrap_err().to_string();
        assert!(message.contains("128"), "{message}");
    }
}

//! The dashboard: its files, compiled into the binary, and the login that
//! turns a token into a session cookie. Everything it shows comes from the
//! same `/api/v1` the CLI and scripts use.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Credential, SESSION_COOKIE, authenticate, check_credential, open_session, session_hash};
use crate::error::ApiError;
use crate::state::AppState;

/// (path under `/ui/`, content type, bytes). Vendored libraries keep their
/// licence files beside them.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../ui/app.js")),
    ("views.js", "text/javascript; charset=utf-8", include_bytes!("../ui/views.js")),
    ("charts.js", "text/javascript; charset=utf-8", include_bytes!("../ui/charts.js")),
    ("widgets.js", "text/javascript; charset=utf-8", include_bytes!("../ui/widgets.js")),
    ("overview.js", "text/javascript; charset=utf-8", include_bytes!("../ui/overview.js")),
    ("search.js", "text/javascript; charset=utf-8", include_bytes!("../ui/search.js")),
    ("incidents.js", "text/javascript; charset=utf-8", include_bytes!("../ui/incidents.js")),
    ("triage.js", "text/javascript; charset=utf-8", include_bytes!("../ui/triage.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../ui/app.css")),
    (
        "vendor/uplot/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../ui/vendor/uplot/uPlot.iife.min.js"),
    ),
    ("vendor/uplot/uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../ui/vendor/uplot/uPlot.min.css")),
    ("vendor/uplot/LICENSE", "text/plain; charset=utf-8", include_bytes!("../ui/vendor/uplot/LICENSE")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../ui/favicon.svg")),
];
const INDEX: &[u8] = include_bytes!("../ui/index.html");

/// Scripts and styles from this origin only; no frames, no referrer.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Twelve hours: a working day's shift; then the token is asked again.
const SESSION_SECS: u32 = 12 * 3600;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{*path}", get(asset))
        .route("/ui/login", post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/session", get(session))
}

fn page(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Assets change with the binary; revalidating costs one request each.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(path): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, content_type, body)| page(content_type, body))
        .ok_or_else(|| ApiError::NotFound(format!("/ui/{path}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: String,
}

/// The session cookie's attributes: `Secure` when the page came over TLS.
fn cookie(state: &AppState, value: &str, max_age: u32) -> Result<HeaderValue, ApiError> {
    let secure = if state.tls { "; Secure" } else { "" };
    let text = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).map_err(|_| ApiError::Internal("session cookie is not a header value".into()))
}

/// Checks the token and opens a server-side session whose random id goes in
/// an `HttpOnly`, `SameSite=Strict` cookie: the token itself is never in
/// the URL, the cookie or the page's reach.
async fn login(State(state): State<AppState>, request: axum::extract::Request) -> Result<Response, ApiError> {
    let client = crate::auth::client_of(request.extensions());
    let Json(Login { token }) = Json::<Login>::from_request(request, &state).await.map_err(ApiError::from)?;
    let token = token.trim().to_owned();
    if token.is_empty() || token.len() > 512 {
        return Err(ApiError::bad("token", "not a Rampart token"));
    }
    let caller = check_credential(&state, client, Credential::Bearer(token)).await?;
    let store = state.store.clone();
    let session = {
        let caller = caller.clone();
        crate::blocking::blocking(move || Ok(open_session(store.as_ref(), &caller, i64::from(SESSION_SECS) * 1000)?))
            .await?
    };
    let mut response = Json(json!({ "role": caller.role, "token_id": caller.token_id })).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, &session, SESSION_SECS)?);
    Ok(response)
}

/// Ends the session on the server (the cookie's id is useless from now on)
/// and clears the cookie.
async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = crate::auth::session_cookie(&headers) {
        let store = state.store.clone();
        crate::blocking::blocking(move || Ok(store.delete_session(&session_hash(&id))?)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(response)
}

/// Who the session cookie belongs to, or `{"role": null}`: the page asks
/// before it shows the login form, and a missing session is not an error.
async fn session(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(id) = crate::auth::session_cookie(&headers) else {
        return Ok(Json(json!({ "role": null })));
    };
    let store = state.store.clone();
    let caller = crate::blocking::blocking(move || Ok(authenticate(store.as_ref(), &Credential::Session(id))?)).await?;
    Ok(Json(match caller {
        Some(c) => json!({ "role": c.role, "token_id": c.token_id }),
        None => json!({ "role": null }),
    }))
}

//! `ApiError`: every failure a handler can return, as an HTTP response.
//!
//! 4xx answers carry a JSON body naming the field (and batch line) at fault;
//! 5xx answers say only that something went wrong, and the detail is logged.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_core::{EventError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { field: String, line: Option<usize>, message: String },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this token may only read")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    /// The request is well formed but the state forbids it (revoking the
    /// last admin token, or the token making the request).
    #[error("{0}")]
    Conflict(String),
    /// A body over its route's limit, refused while it streamed in.
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    /// A rate limit: retry after the given seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    /// Well formed, but there is nothing it can do (a suggestion to do nothing).
    #[error("{0}")]
    Unprocessable(String),
    /// An allowlist refused a decision; it is on record with `decision_id`.
    #[error("refused: {reason}")]
    Refused { decision_id: i64, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let field = field.into();
        let message = format!("field `{field}`: {}", message.into());
        ApiError::BadRequest { field, line: None, message }
    }
}

impl ApiError {
    /// 413, naming the limit when the caller knows it.
    pub fn too_large(limit: Option<usize>) -> ApiError {
        ApiError::PayloadTooLarge(match limit {
            Some(limit) => format!("body exceeds this route's limit of {limit} bytes"),
            None => "body exceeds this route's limit".to_owned(),
        })
    }
}

impl From<EventError> for ApiError {
    fn from(e: EventError) -> ApiError {
        ApiError::BadRequest { message: e.to_string(), field: e.field, line: e.line }
    }
}

/// A JSON body that could not be read: 413 past the route's limit, else
/// 400 naming the body.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::too_large(None);
        }
        // axum names the path to a value that did not fit the type
        // ("…target type: status: unknown variant `done`…"): name it too.
        let text = rejection.body_text();
        let detail = text.split_once("target type: ").map_or(text.as_str(), |(_, rest)| rest);
        match detail.split_once(": ") {
            Some((path, reason)) if !path.is_empty() && !path.contains(char::is_whitespace) => {
                ApiError::bad(path, reason)
            }
            _ => ApiError::bad("body", detail),
        }
    }
}

/// Raw body bytes that could not be read (the route's limit).
impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(None),
            _ => ApiError::bad("body", rejection.body_text()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

/// Every error answer's body.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// The field (or `body`, `batch`, a parameter's name) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The 1-based line (NDJSON) or element (JSON array) of a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The decision an allowlist refused; it is on record (422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<i64>,
}

/// The answers every route behind the token check can give.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes answers `require_token` gives.
pub(crate) enum AuthFailures {
    /// Missing or invalid token
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Too many failed authentications from this address
    #[response(status = 429)]
    Throttled(ErrorBody),
}

/// The answers a write can give besides those: a reader's token, a body
/// over the JSON limit.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes answers the middleware and extractors give.
pub(crate) enum WriteFailures {
    /// A reader token
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// The body is over the JSON limit
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

impl ErrorBody {
    fn of(error: String) -> ErrorBody {
        ErrorBody { error, field: None, line: None, decision_id: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (status, body) = match &self {
            ApiError::BadRequest { field, line, message } => (
                StatusCode::BAD_REQUEST,
                ErrorBody { field: Some(field.clone()), line: *line, ..ErrorBody::of(message.clone()) },
            ),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, ErrorBody::of(message)),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, ErrorBody::of(message)),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorBody::of(message)),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, ErrorBody::of(message)),
            ApiError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorBody { field: Some("body".into()), ..ErrorBody::of(message) })
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorBody::of(message)),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorBody::of(message)),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, ErrorBody::of(message)),
            ApiError::Refused { decision_id, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorBody { decision_id: Some(*decision_id), ..ErrorBody::of(message) },
            ),
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "Request failed.");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorBody::of("something went wrong; see the server log".into()))
            }
        };
        let mut response = (status, Json(body)).into_response();
        match self {
            ApiError::TooManyRequests { retry_after_secs, .. } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            ApiError::Unavailable(_) => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Unauthorized => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("route".into())
}

//! `POST /api/v1/events` (ingest) and `GET /api/v1/events` (query).
//!
//! Ingest is all or nothing: the whole batch is validated before anything is
//! queued, and the answer waits for the store's commit, so a 200 means the
//! events survive a crash ("acknowledged" in docs/ARCHITECTURE.md).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use rampart_core::ecs::{BatchFormat, decode_batch, encode_event};
use rampart_core::{EventKind, EventQuery, IngestQueueError};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::blocking::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::metrics::INPUTS_REJECTED;
use crate::openapi::EcsEvent;
use crate::params::Params;
use crate::state::AppState;

/// Bodies above this are decoded off the async workers.
const INLINE_DECODE_BYTES: usize = 64 * 1024;

fn reject(reason: &'static str, error: ApiError) -> ApiError {
    metrics::counter!(INPUTS_REJECTED, "reason" => reason).increment(1);
    error
}

fn batch_format(request: &Request) -> Result<BatchFormat, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match content_type.as_deref() {
        Some("application/json") => Ok(BatchFormat::Json),
        Some("application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines") => {
            Ok(BatchFormat::Ndjson)
        }
        other => Err(reject(
            "content_type",
            ApiError::bad(
                "content-type",
                format!(
                    "{} is not accepted; send application/json (an object or an array) or application/x-ndjson",
                    other.map_or("a missing content type".to_owned(), |c| format!("{c:?}"))
                ),
            ),
        )),
    }
}

/// What an accepted batch got.
#[derive(Serialize, ToSchema)]
pub(crate) struct IngestAnswer {
    /// Events committed.
    accepted: usize,
    /// The first and last ids the store gave them.
    first_id: Option<i64>,
    last_id: Option<i64>,
}

/// Ingests events, all or nothing: the answer waits for the store's commit.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    request_body(description = "One event or an array (application/json), or one event per line (application/x-ndjson)",
        content((crate::openapi::EventBatch = "application/json"), (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "Committed", body = IngestAnswer),
        (status = 400, description = "An event is refused; `field` (and `line`) name it; nothing of the batch is stored", body = ErrorBody),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 413, description = "The body is over ingest.max_batch_bytes", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address, or over an ingest rate limit", body = ErrorBody),
        (status = 503, description = "The queue is full or the server is draining; retry after Retry-After", body = ErrorBody),
    ))]
pub(crate) async fn ingest(State(state): State<AppState>, request: Request) -> Result<Json<IngestAnswer>, ApiError> {
    let format = batch_format(&request)?;
    let token = request.extensions().get::<crate::auth::Caller>().map(|c| c.token_id.clone());
    let client = crate::auth::client_of(request.extensions());
    let limit = state.limits.max_batch_bytes;
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(reject("too_large", ApiError::too_large(Some(limit))));
    }
    // Room in the shared budget for this body, held until its events are
    // queued: a burst of large batches waits (then 503s) instead of
    // decoding gigabytes at once.
    let wanted = declared.map_or(limit, |n| n as usize).clamp(1, state.ingest_budget_bytes().max(1));
    let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
    let budget = state.ingest_budget.clone();
    let permit = tokio::time::timeout(state.enqueue_timeout, budget.acquire_many_owned(wanted))
        .await
        .map_err(|_| reject("busy", ApiError::Unavailable("too many batches are being decoded; retry later".into())))?
        .map_err(|_| reject("shutting_down", ApiError::Unavailable("server is shutting down".into())))?;
    let body = axum::body::to_bytes(request.into_body(), limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.downcast_ref::<http_body_util::LengthLimitError>().is_some());
        if too_large {
            reject("too_large", ApiError::too_large(Some(limit)))
        } else {
            reject("unreadable", ApiError::bad("body", "the body could not be read to its end"))
        }
    })?;
    let limits = state.limits;
    let now = rampart_core::time::now_ms();
    let decoded = if body.len() <= INLINE_DECODE_BYTES {
        decode_batch(&body, format, &limits, now)
    } else {
        tokio::task::spawn_blocking(move || decode_batch(&body, format, &limits, now))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let events = decoded.map_err(|e| {
        let reason = match e.field.as_str() {
            "batch" => "batch_limit",
            "body" => "invalid_json",
            _ => "invalid_field",
        };
        reject(reason, e.into())
    })?;
    state.rate_limits.check(token.as_deref(), client, events.len()).map_err(|e| reject("rate_limited", e))?;

    let count = events.len();
    let reply = state.ingest.send(events, "http", state.enqueue_timeout).await.map_err(|e| match e {
        IngestQueueError::Full => {
            reject("queue_full", ApiError::Unavailable("ingest queue is full; retry later".into()))
        }
        IngestQueueError::Closed => reject("shutting_down", ApiError::Unavailable("server is shutting down".into())),
    })?;
    drop(permit);
    // The writer counts what it commits (rampart_events_ingested_total),
    // whether or not the client waits for the answer.
    let ids = reply
        .await
        .map_err(|_| ApiError::Unavailable("server is shutting down".into()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Telemetry in a batch takes its ids before the rest (the store keeps
    // the two apart), so the batch's ids are a range but not in its order.
    let (first_id, last_id) = (ids.iter().min().copied(), ids.iter().max().copied());
    Ok(Json(IngestAnswer { accepted: count, first_id, last_id }))
}

/// The query `GET /events` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct EventListQuery {
    /// RFC 3339 or epoch milliseconds, inclusive.
    #[param(schema_with = crate::openapi::time_bound)]
    since: Option<String>,
    /// RFC 3339 or epoch milliseconds, exclusive.
    #[param(schema_with = crate::openapi::time_bound)]
    until: Option<String>,
    /// An ECS `event.kind`.
    #[param(pattern = "^(alert|asset|enrichment|event|metric|state|pipeline_error|signal)$")]
    kind: Option<String>,
    /// An exact source address.
    #[param(rename = "source.ip", schema_with = crate::openapi::ip_address)]
    source_ip: Option<String>,
    /// A case-insensitive substring of `message`.
    #[param(min_length = 1)]
    text: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
}

/// A page of events.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventPage {
    #[schema(value_type = Vec<EcsEvent>)]
    events: Vec<Value>,
    next_cursor: Option<String>,
}

/// Events, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(EventListQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "A parameter is malformed or unknown; `field` names it", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address, or over an ingest rate limit", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<EventPage>, ApiError> {
    let p = Params::documented::<EventListQuery>(raw)?;
    let query = EventQuery {
        since_ms: p.parse("since", "RFC 3339 or epoch milliseconds", rampart_core::time::parse_time_bound)?,
        until_ms: p.parse("until", "RFC 3339 or epoch milliseconds", rampart_core::time::parse_time_bound)?,
        kind: p.parse("kind", "an ECS event.kind such as event or metric", EventKind::parse)?,
        source_ip: p.parse("source.ip", "an IP address", |t| t.parse().ok())?,
        text: p.text("text").map(str::to_owned),
        before_id: p.parse("cursor", "a cursor from a previous page", |t| t.parse().ok())?,
        limit: p.limit()?,
    };
    let store = state.store.clone();
    let page = tokio::task::spawn_blocking(move || store.events(&query))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let events: Vec<Value> = page.items.iter().map(encode_event).collect();
    Ok(Json(EventPage { events, next_cursor: page.next_cursor }))
}

/// One stored event, as ingested (alerts name their evidence by these ids).
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The event's id", minimum = 1)),
    responses(
        (status = 200, description = "The event", body = EcsEvent),
        (status = 400, description = "The id is not an integer", body = ErrorBody),
        (status = 404, description = "No such event (never stored, or past retention)", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id: i64 =
        id.parse().ok().filter(|n| *n > 0).ok_or_else(|| ApiError::bad("id", "expected a positive integer"))?;
    let store = state.store.clone();
    let event = blocking(move || Ok(store.event(id)?)).await?;
    event.map(|e| Json(encode_event(&e))).ok_or_else(|| ApiError::NotFound(format!("event {id}")))
}

//! `/api/v1/decisions` (list, add, delete by id or by value) and
//! `/api/v1/actions` (the audit trail).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rampart_core::{Action, Decision, DecisionError, DecisionKind, DecisionQuery, DecisionRequest, Origin, Target};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::alerts::blocking;
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;

/// A decision as the API shows it.
pub fn decision_json(d: &Decision, now_ms: i64) -> Value {
    json!({
        "id": d.id,
        "kind": d.kind,
        "value": d.target.to_string(),
        "created": rampart_core::time::format_ms(d.created_ms),
        "expires": d.expires_ms.map(rampart_core::time::format_ms),
        "remaining_secs": d.is_active(now_ms).then(|| d.remaining_secs(now_ms)).flatten(),
        "active": d.is_active(now_ms),
        "origin": d.origin,
        "reason": d.reason,
        "alert_id": d.alert_id,
        "playbook": d.playbook,
        "rate_per_sec": d.rate_per_sec,
        "enforced": d.enforced,
        "deleted": d.deleted_ms.map(rampart_core::time::format_ms),
    })
}

pub(crate) fn action_json(a: &Action) -> Value {
    json!({
        "id": a.id,
        "decision_id": a.decision_id,
        "at": rampart_core::time::format_ms(a.at_ms),
        "enforcer": a.enforcer,
        "op": a.op,
        "result": a.result,
        "detail": a.detail,
    })
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::new(raw, &["active", "value", "limit"])?;
    let now = rampart_core::time::now_ms();
    let active = p.parse("active", "true or false", |t| t.parse::<bool>().ok())?.unwrap_or(true);
    let target = match p.text("value") {
        Some(v) => Some(Target::parse(v).map_err(|e| ApiError::bad("value", e))?.to_string()),
        None => None,
    };
    let query = DecisionQuery { active_at_ms: active.then_some(now), target, limit: p.limit()?, ..Default::default() };
    let store = state.store.clone();
    let items = blocking(move || Ok(store.decisions(&query)?)).await?;
    Ok(Json(json!({ "decisions": items.iter().map(|d| decision_json(d, now)).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDecision {
    value: String,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

pub(crate) async fn add(
    State(state): State<AppState>,
    body: Result<Json<NewDecision>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(new) = body.map_err(ApiError::from)?;
    let kind = match new.kind.as_deref().unwrap_or("ban") {
        "ban" => DecisionKind::Ban,
        "kill" => DecisionKind::Kill,
        "rate_limit" => DecisionKind::RateLimit,
        other => return Err(ApiError::bad("kind", format!("{other:?}: expected ban, rate_limit or kill"))),
    };
    let target = Target::parse(&new.value).map_err(|e| ApiError::bad("value", e))?;
    match (kind, target.net()) {
        (DecisionKind::Ban | DecisionKind::RateLimit, None) => {
            return Err(ApiError::bad("value", "a ban or rate limit needs an address or CIDR range"));
        }
        (DecisionKind::Kill, Some(_)) => return Err(ApiError::bad("value", "a kill needs pid:NUMBER")),
        _ => {}
    }
    let now = rampart_core::time::now_ms();
    let expires_ms = match new.duration.as_deref() {
        Some(text) => Some(
            now.saturating_add(rampart_core::time::parse_duration_ms(text).map_err(|e| ApiError::bad("duration", e))?),
        ),
        None => Some(now + 4 * 3_600_000),
    };
    let mut decision = Decision::new(kind, target, Origin::Manual, now, expires_ms);
    decision.reason = new.reason.unwrap_or_else(|| "manual".into());
    let stored = add_decision(&state, decision).await?;
    Ok((StatusCode::CREATED, Json(decision_json(&stored, now))))
}

pub(crate) async fn delete_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::bad("id", "expected a decision id (a number)"))?;
    let deleted = delete(&state, id).await?.ok_or_else(|| ApiError::NotFound(format!("active decision {id}")))?;
    Ok(Json(json!({ "deleted": [decision_json(&deleted, rampart_core::time::now_ms())] })))
}

/// `DELETE /api/v1/decisions?value=203.0.113.9`: every active decision about it.
pub(crate) async fn delete_by_value(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::new(raw, &["value"])?;
    let value = p.text("value").ok_or_else(|| ApiError::bad("value", "give ?value=ADDRESS or use /decisions/{id}"))?;
    let target = Target::parse(value).map_err(|e| ApiError::bad("value", e))?.to_string();
    let now = rampart_core::time::now_ms();
    let store = state.store.clone();
    let query = DecisionQuery { active_at_ms: Some(now), target: Some(target), limit: 10_000, ..Default::default() };
    let active = blocking(move || Ok(store.decisions(&query)?)).await?;
    let mut deleted = Vec::new();
    for d in active {
        if let Some(gone) = delete(&state, d.id).await? {
            deleted.push(decision_json(&gone, now));
        }
    }
    Ok(Json(json!({ "deleted": deleted })))
}

/// `GET /api/v1/decisions/stream?startup=true|false`: what changed since
/// this caller's last poll, the way CrowdSec bouncers poll. `startup=true`
/// (an agent starting) sends every decision in force; later polls send
/// decisions made since (`new`) and decisions deleted since (`deleted`).
/// Where each caller left off is kept in the store, per token, so a server
/// restart makes no agent miss a deletion. Expiry needs no message: both
/// sides set the same timeout.
pub(crate) async fn stream(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::new(raw, &["startup"])?;
    let startup = p.parse("startup", "true or false", |t| t.parse::<bool>().ok())?.unwrap_or(false);
    let store = state.store.clone();
    let (new, deleted, now) = blocking(move || {
        let now = rampart_core::time::now_ms();
        let cursor = store.stream_cursor(&caller.token_id)?;
        let all = |q: DecisionQuery| store.decisions(&DecisionQuery { limit: usize::MAX / 2, ..q });
        let (new, deleted) = match cursor {
            Some(c) if !startup => (
                all(DecisionQuery { active_at_ms: Some(now), after_id: Some(c.last_id), ..Default::default() })?,
                all(DecisionQuery { deleted_since_ms: Some(c.polled_ms), ..Default::default() })?,
            ),
            // First contact (or a restarting agent): everything in force.
            _ => (all(DecisionQuery { active_at_ms: Some(now), ..Default::default() })?, Vec::new()),
        };
        // Ids grow; anything made after this read has a higher one.
        let seen = new.iter().map(|d| d.id).max().unwrap_or(0);
        let last_id = cursor.map_or(seen, |c| c.last_id.max(seen));
        // Deletions are read from the previous poll's time inclusive; a
        // repeat is harmless (deleting twice), a gap would not be.
        store.set_stream_cursor(&caller.token_id, rampart_core::StreamCursor { last_id, polled_ms: now })?;
        Ok((new, deleted, now))
    })
    .await?;
    let json_of = |list: &[Decision]| list.iter().map(|d| decision_json(d, now)).collect::<Vec<_>>();
    Ok(Json(json!({ "new": json_of(&new), "deleted": json_of(&deleted) })))
}

pub(crate) async fn actions(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::new(raw, &["limit", "cursor"])?;
    let before = p.parse("cursor", "an action id", |t| t.parse::<i64>().ok())?;
    let limit = p.limit()?;
    let store = state.store.clone();
    let page = blocking(move || Ok(store.actions(before, limit)?)).await?;
    let items: Vec<Value> = page.items.iter().map(action_json).collect();
    Ok(Json(json!({ "actions": items, "next_cursor": page.next_cursor })))
}

/// Hands `decision` to the responder (allowlist, enforcement, audit) and
/// waits for what it stored.
pub(crate) async fn add_decision(state: &AppState, decision: Decision) -> Result<Decision, ApiError> {
    ask(state, |reply| DecisionRequest::Add { decision, reply }).await
}

async fn delete(state: &AppState, id: i64) -> Result<Option<Decision>, ApiError> {
    ask(state, |reply| DecisionRequest::Delete { id, reply }).await
}

/// One request to the responder, and its answer.
pub(crate) async fn ask<T>(
    state: &AppState,
    request: impl FnOnce(oneshot::Sender<Result<T, DecisionError>>) -> DecisionRequest,
) -> Result<T, ApiError> {
    let tx = state.decisions.as_ref().ok_or_else(|| ApiError::Unavailable("no responder runs on this node".into()))?;
    let (reply, answer) = oneshot::channel();
    tx.send(request(reply)).await.map_err(|_| ApiError::Unavailable("the responder stopped".into()))?;
    answer.await.map_err(|_| ApiError::Unavailable("the responder stopped".into()))?.map_err(refusal)
}

fn refusal(e: DecisionError) -> ApiError {
    match e {
        DecisionError::Refused { decision_id, reason } => ApiError::Refused { decision_id, reason },
        DecisionError::Invalid(message) => ApiError::bad("body", message),
        DecisionError::Failed(message) => ApiError::Internal(message),
    }
}

//! `/api/v1/decisions` (list, add, delete by id or by value) and
//! `/api/v1/actions` (the audit trail).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rampart_core::{
    Action, ActionResult, Decision, DecisionError, DecisionKind, DecisionQuery, DecisionRequest, Origin, Target,
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

use crate::blocking::blocking;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

/// A decision as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Decision)]
pub struct DecisionView {
    pub id: i64,
    pub kind: DecisionKind,
    /// An address, a CIDR range or `pid:N`.
    pub value: String,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub expires: Option<String>,
    /// Seconds left while active and bounded.
    pub remaining_secs: Option<u64>,
    pub active: bool,
    pub origin: Origin,
    pub reason: String,
    pub alert_id: Option<String>,
    pub playbook: Option<String>,
    pub rate_per_sec: Option<u32>,
    /// Made in enforce mode (observe-mode decisions are records only).
    pub enforced: bool,
    #[schema(format = DateTime)]
    pub deleted: Option<String>,
}

/// A decision as the API shows it.
pub fn decision_json(d: &Decision, now_ms: i64) -> DecisionView {
    DecisionView {
        id: d.id,
        kind: d.kind,
        value: d.target.to_string(),
        created: rampart_core::time::format_ms(d.created_ms),
        expires: d.expires_ms.map(rampart_core::time::format_ms),
        remaining_secs: d.is_active(now_ms).then(|| d.remaining_secs(now_ms)).flatten(),
        active: d.is_active(now_ms),
        origin: d.origin,
        reason: d.reason.clone(),
        alert_id: d.alert_id.clone(),
        playbook: d.playbook.clone(),
        rate_per_sec: d.rate_per_sec,
        enforced: d.enforced,
        deleted: d.deleted_ms.map(rampart_core::time::format_ms),
    }
}

/// One audited step an enforcer took.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Action)]
pub(crate) struct ActionView {
    id: i64,
    decision_id: i64,
    #[schema(format = DateTime)]
    at: String,
    enforcer: String,
    op: String,
    result: ActionResult,
    detail: String,
}

pub(crate) fn action_json(a: &Action) -> ActionView {
    ActionView {
        id: a.id,
        decision_id: a.decision_id,
        at: rampart_core::time::format_ms(a.at_ms),
        enforcer: a.enforcer.clone(),
        op: a.op.clone(),
        result: a.result,
        detail: a.detail.clone(),
    }
}

/// The query `GET /decisions` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct DecisionListQuery {
    /// Only decisions in force now (default true); false lists expired and deleted ones too.
    active: Option<bool>,
    /// Only decisions about this address, range or pid:N.
    #[param(schema_with = crate::openapi::decision_target)]
    value: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The answer to `GET /decisions`.
#[derive(Serialize, ToSchema)]
pub(crate) struct DecisionList {
    decisions: Vec<DecisionView>,
}

/// Decisions, newest first.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "decisions", security(("bearer" = [])),
    params(DecisionListQuery),
    responses(
        (status = 200, description = "Decisions, newest first", body = DecisionList),
        (status = 400, description = "A parameter is malformed or unknown; `field` names it", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<DecisionList>, ApiError> {
    let p = Params::documented::<DecisionListQuery>(raw)?;
    let now = rampart_core::time::now_ms();
    let active = p.parse("active", "true or false", |t| t.parse::<bool>().ok())?.unwrap_or(true);
    let target = match p.text("value") {
        Some(v) => Some(Target::parse(v).map_err(|e| ApiError::bad("value", e.to_string()))?.to_string()),
        None => None,
    };
    let query = DecisionQuery { active_at_ms: active.then_some(now), target, limit: p.limit()?, ..Default::default() };
    let store = state.store.clone();
    let items = blocking(move || Ok(store.decisions(&query)?)).await?;
    Ok(Json(DecisionList { decisions: items.iter().map(|d| decision_json(d, now)).collect() }))
}

/// The longest reason a decision made by hand may give.
pub(crate) const MAX_REASON_CHARS: usize = 512;

/// Refuses a reason longer than the documents allow.
pub(crate) fn check_reason(reason: Option<&str>) -> Result<(), ApiError> {
    match reason {
        Some(r) if r.chars().count() > MAX_REASON_CHARS => {
            Err(ApiError::bad("reason", format!("longer than {MAX_REASON_CHARS} characters")))
        }
        _ => Ok(()),
    }
}

/// A decision made by hand, as the handler reads it; `NewDecisionDoc` is
/// its schema, which says what the handler checks after reading.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDecision {
    value: String,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    kind: Option<DecisionKind>,
}

/// `POST /decisions`: a ban or rate limit on an address or range, or a
/// kill of a process. JSON Schema cannot say "the kind decides what the
/// value may be" as one object, so it is two.
#[derive(ToSchema)]
#[allow(dead_code)] // The schema of `NewDecision`.
#[serde(untagged)]
pub(crate) enum NewDecisionDoc {
    Net(NetDecision),
    Kill(KillDecision),
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NetKind {
    Ban,
    RateLimit,
}

#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KillKind {
    Kill,
}

/// A ban (default) or rate limit on an address. A CIDR range written as
/// its network address (198.51.100.0/24, 2001:db8::/48) is taken too.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetDecision {
    #[schema(schema_with = crate::openapi::ip_address)]
    value: String,
    kind: Option<NetKind>,
    /// A number and s, m, h or d (default 4h).
    #[schema(pattern = r"^[1-9][0-9]{0,5}(s|m|h|d)$")]
    duration: Option<String>,
    /// Why, for the audit trail.
    #[schema(max_length = 512)]
    reason: Option<String>,
}

/// A kill of `pid:N` (SIGTERM, then SIGKILL after the grace period).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub(crate) struct KillDecision {
    #[schema(pattern = r"^pid:[1-9][0-9]{0,8}$")]
    value: String,
    kind: KillKind,
    #[schema(pattern = r"^[1-9][0-9]{0,5}(s|m|h|d)$")]
    duration: Option<String>,
    #[schema(max_length = 512)]
    reason: Option<String>,
}

/// Adds a decision by hand. The allowlist wins (422, on record); in observe
/// mode it is recorded, not applied.
#[utoipa::path(post, path = "/api/v1/decisions", tag = "decisions", security(("bearer" = [])),
    request_body = NewDecisionDoc,
    responses(
        (status = 201, description = "The decision made", body = DecisionView),
        (status = 400, description = "A field is malformed; `field` names it", body = ErrorBody),
        (status = 422, description = "Refused by the allowlist; on record as `decision_id`", body = ErrorBody),
        (status = 503, description = "No responder runs on this node", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn add(
    State(state): State<AppState>,
    body: Result<Json<NewDecision>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<DecisionView>), ApiError> {
    let Json(new) = body.map_err(ApiError::from)?;
    let kind = new.kind.unwrap_or(DecisionKind::Ban);
    let target = Target::parse(&new.value).map_err(|e| ApiError::bad("value", e.to_string()))?;
    match (kind, target.net()) {
        (DecisionKind::Ban | DecisionKind::RateLimit, None) => {
            return Err(ApiError::bad("value", "a ban or rate limit needs an address or CIDR range"));
        }
        (DecisionKind::Kill, Some(_)) => return Err(ApiError::bad("value", "a kill needs pid:NUMBER")),
        _ => {}
    }
    let now = rampart_core::time::now_ms();
    let expires_ms = match new.duration.as_deref() {
        Some(text) => Some(now.saturating_add(
            rampart_core::time::parse_duration_ms(text).map_err(|e| ApiError::bad("duration", e.to_string()))?,
        )),
        None => Some(now + 4 * 3_600_000),
    };
    check_reason(new.reason.as_deref())?;
    let mut decision = Decision::new(kind, target, Origin::Manual, now, expires_ms);
    decision.reason = new.reason.unwrap_or_else(|| "manual".into());
    let stored = add_decision(&state, decision).await?;
    Ok((StatusCode::CREATED, Json(decision_json(&stored, now))))
}

/// What a delete lifted.
#[derive(Serialize, ToSchema)]
pub(crate) struct Deleted {
    deleted: Vec<DecisionView>,
}

/// Lifts one active decision.
#[utoipa::path(delete, path = "/api/v1/decisions/{id}", tag = "decisions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The decision's id", minimum = 1)),
    responses(
        (status = 200, description = "The decision lifted", body = Deleted),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 404, description = "No active decision has this id", body = ErrorBody),
        (status = 503, description = "No responder runs on this node", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn delete_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::bad("id", "expected a decision id (a number)"))?;
    let deleted = delete(&state, id).await?.ok_or_else(|| ApiError::NotFound(format!("active decision {id}")))?;
    Ok(Json(Deleted { deleted: vec![decision_json(&deleted, rampart_core::time::now_ms())] }))
}

/// The query `DELETE /decisions` takes: a required `value`. Written out
/// because utoipa drops `required` from a field with its own schema.
pub(crate) struct DeleteByValueQuery;

impl IntoParams for DeleteByValueQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        vec![
            ParameterBuilder::new()
                .name("value")
                .parameter_in(ParameterIn::Query)
                .required(utoipa::openapi::Required::True)
                .description(Some("The address, range or pid:N whose active decisions to lift"))
                .schema(Some(crate::openapi::decision_target()))
                .build(),
        ]
    }
}

/// `DELETE /api/v1/decisions?value=203.0.113.9`: every active decision about it.
#[utoipa::path(delete, path = "/api/v1/decisions", tag = "decisions", security(("bearer" = [])),
    params(DeleteByValueQuery),
    responses(
        (status = 200, description = "The decisions lifted (none is not an error)", body = Deleted),
        (status = 400, description = "value is missing or not an address, range or pid:N", body = ErrorBody),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 503, description = "No responder runs on this node", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn delete_by_value(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Deleted>, ApiError> {
    let p = Params::documented::<DeleteByValueQuery>(raw)?;
    let value = p.text("value").ok_or_else(|| ApiError::bad("value", "give ?value=ADDRESS or use /decisions/{id}"))?;
    let target = Target::parse(value).map_err(|e| ApiError::bad("value", e.to_string()))?.to_string();
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
    Ok(Json(Deleted { deleted }))
}

/// `GET /api/v1/decisions/stream?startup=true|false`: what changed since
/// this caller's last poll, the way CrowdSec bouncers poll. `startup=true`
/// (an agent starting) sends every decision in force; later polls send
/// decisions made since (`new`) and decisions deleted since (`deleted`).
/// Where each caller left off is kept in the store, per token, so a server
/// restart makes no agent miss a deletion. Expiry needs no message: both
/// sides set the same timeout.
/// The query `GET /decisions/stream` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct StreamQuery {
    /// An agent starting: send every decision in force.
    startup: Option<bool>,
}

/// What changed since this caller's last poll.
#[derive(Serialize, ToSchema)]
pub(crate) struct StreamAnswer {
    new: Vec<DecisionView>,
    deleted: Vec<DecisionView>,
}

#[utoipa::path(get, path = "/api/v1/decisions/stream", tag = "decisions", security(("bearer" = [])),
    params(StreamQuery),
    responses(
        (status = 200, description = "Decisions made and deleted since the caller's last poll", body = StreamAnswer),
        (status = 400, description = "A parameter is malformed or unknown", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<StreamAnswer>, ApiError> {
    let p = Params::documented::<StreamQuery>(raw)?;
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
    Ok(Json(StreamAnswer { new: json_of(&new), deleted: json_of(&deleted) }))
}

/// The query `GET /actions` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct ActionsQuery {
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
}

/// A page of the audit trail.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActionPage {
    actions: Vec<ActionView>,
    next_cursor: Option<String>,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/actions", tag = "decisions", security(("bearer" = [])),
    params(ActionsQuery),
    responses(
        (status = 200, description = "What enforcers did, newest first", body = ActionPage),
        (status = 400, description = "A parameter is malformed or unknown", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn actions(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<ActionPage>, ApiError> {
    let p = Params::documented::<ActionsQuery>(raw)?;
    let before = p.parse("cursor", "an action id", |t| t.parse::<i64>().ok())?;
    let limit = p.limit()?;
    let store = state.store.clone();
    let page = blocking(move || Ok(store.actions(before, limit)?)).await?;
    Ok(Json(ActionPage { actions: page.items.iter().map(action_json).collect(), next_cursor: page.next_cursor }))
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

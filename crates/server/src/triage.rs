//! An alert's triage (`[llm]`'s advice, or the rule-based fallback), and
//! applying its suggested response — by an admin, through the same path
//! as a decision made by hand: the allowlist wins, observe mode records
//! without applying, every action is audited. The model's word alone
//! never changes anything.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rampart_core::{Decision, DecisionKind, Origin, Target};
use rampart_triage::Triage;

use crate::blocking::blocking;
use crate::decisions::{DecisionView, MAX_REASON_CHARS, add_decision, decision_json};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Longest ban or rate limit a suggestion may ask for.
const MAX_SUGGESTED_MS: i64 = 30 * 24 * 3_600_000;

/// The triage stored under `id` (an alert's or an incident's), else `made()`.
fn stored_or(store: &dyn rampart_core::Store, id: &str, made: impl FnOnce() -> Triage) -> Result<Triage, ApiError> {
    match store.triage(id)? {
        Some(body) => serde_json::from_str(&body)
            .map_err(|e| ApiError::Internal(format!("stored triage of {id} is unreadable: {e}"))),
        None => Ok(made()),
    }
}

/// The alert's stored triage, or the rule-based one made now when none is
/// stored (triage off, below its severity, or still queued).
async fn triage_of(state: &AppState, id: String) -> Result<Triage, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        let alert = store.alert(&id)?.ok_or_else(|| ApiError::NotFound(format!("alert {id}")))?;
        stored_or(store.as_ref(), &id, || {
            rampart_triage::fallback(&alert, "not triaged by a model (off, below its severity, or queued)")
        })
    })
    .await
}

/// An alert's triage: summary, verdict with reason, suggested response,
/// cited evidence; `source` says whether a model (`llm`) or the rule-based
/// fallback wrote it.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/triage", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    responses(
        (status = 200, description = "`summary`, `verdict` (likely_malicious, likely_benign, unsure), `reason`, `suggested_response` {action, target, duration}, `cited_event_ids`, `invented_citations`, `source` (llm, fallback), `model`, `fallback_reason`", body = Object),
        (status = 404, description = "No such alert", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Triage>, ApiError> {
    triage_of(&state, id).await.map(Json)
}

/// Applies the triage's suggested response as a decision by the caller.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/triage/apply", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    responses(
        (status = 201, description = "The decision made", body = DecisionView),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 422, description = "Nothing to apply (the suggestion is `none` or its target unusable), or refused by the allowlist (`decision_id` on record)", body = ErrorBody),
        (status = 503, description = "No responder runs on this node", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn apply(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DecisionView>), ApiError> {
    let triage = triage_of(&state, id.clone()).await?;
    let suggestion = &triage.suggested_response;
    let unusable = ApiError::Unprocessable;
    let kind = match suggestion.action.as_str() {
        "ban" => DecisionKind::Ban,
        "rate_limit" => DecisionKind::RateLimit,
        "kill" => DecisionKind::Kill,
        _ => return Err(unusable("the suggested response is to do nothing".into())),
    };
    let target = Target::parse(&suggestion.target)
        .map_err(|e| unusable(format!("the suggested target {:?} is unusable: {e}", suggestion.target)))?;
    if (kind == DecisionKind::Kill) == target.net().is_some() {
        return Err(unusable(format!("a {} cannot take the target {:?}", kind.as_str(), suggestion.target)));
    }
    let now = rampart_core::time::now_ms();
    let duration = suggestion
        .duration
        .as_deref()
        .and_then(|d| rampart_core::time::parse_duration_ms(d).ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(3_600_000)
        .min(MAX_SUGGESTED_MS);
    let mut decision = Decision::new(kind, target, Origin::Manual, now, Some(now + duration));
    let by = triage.model.as_deref().map_or_else(|| triage.source.clone(), |m| format!("{} {m}", triage.source));
    let reason = format!("triage suggestion ({by}), applied by hand: {}", triage.reason);
    decision.reason = reason.chars().take(MAX_REASON_CHARS).collect();
    decision.alert_id = Some(id);
    decision.playbook = Some("triage".into());
    let stored = add_decision(&state, decision).await?;
    Ok((StatusCode::CREATED, Json(decision_json(&stored, now))))
}

/// An incident as one alert-shaped finding for the triage prompt: its
/// alerts listed in the context, their evidence pooled.
fn incident_as_alert(
    incident: &rampart_core::incident::Incident,
    alerts: &[rampart_core::Alert],
) -> rampart_core::Alert {
    let (field, value) = match (&incident.network, incident.entities.first().and_then(|e| e.split_once(' '))) {
        (Some(network), _) => ("source.ip".to_owned(), network.clone()),
        (None, Some((field, value))) => (field.to_owned(), value.to_owned()),
        (None, None) => ("incident".to_owned(), incident.id.clone()),
    };
    let listed: Vec<serde_json::Value> = alerts
        .iter()
        .take(20)
        .map(|a| {
            serde_json::json!({"id": a.id, "rule_id": a.rule_id, "title": a.title, "severity": a.severity.as_str(),
                "entity": format!("{} {}", a.entity.field, a.entity.value), "count": a.count})
        })
        .collect();
    let mut evidence: Vec<i64> = alerts.iter().flat_map(|a| a.evidence.iter().copied()).collect();
    evidence.sort_unstable();
    evidence.dedup();
    rampart_core::Alert {
        id: incident.id.clone(),
        rule_id: "incident".into(),
        title: incident.title.clone(),
        description: format!(
            "An incident ({}) of {} alerts over rules {}.",
            incident.kind,
            alerts.len(),
            incident.rules.join(", ")
        ),
        severity: incident.severity,
        score: alerts.iter().map(|a| a.score).fold(0.0, f64::max),
        entity: rampart_core::Entity { field, value },
        count: incident.events,
        first_seen_ms: incident.first_seen_ms,
        last_seen_ms: incident.last_seen_ms,
        evidence,
        technique: alerts.iter().find_map(|a| a.technique.clone()),
        tags: incident.rules.clone(),
        context: Some(
            serde_json::json!({"alerts": listed, "entities": incident.entities.iter().take(50).collect::<Vec<_>>()}),
        ),
        status: incident.status,
        created_ms: incident.first_seen_ms,
        updated_ms: incident.last_seen_ms,
    }
}

/// An incident's triage: the one a model wrote on request, else the rule-based one.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/triage", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "As an alert's triage; `alert_id` is the incident's id", body = Object),
        (status = 404, description = "No such incident among the newest alerts", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn get_incident(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Triage>, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        let (incident, alerts) = crate::incidents::incident_with_alerts(store.as_ref(), &id)?;
        stored_or(store.as_ref(), &id, || {
            rampart_triage::fallback(&incident_as_alert(&incident, &alerts), "not triaged by a model yet")
        })
    })
    .await
    .map(Json)
}

/// Asks the model about an incident now (within `[llm]`'s budget) and keeps the answer.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/triage", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "The triage, as `GET` shows it", body = Object),
        (status = 403, description = "A reader token", body = ErrorBody),
        (status = 404, description = "No such incident among the newest alerts", body = ErrorBody),
        (status = 409, description = "LLM triage is off on this node", body = ErrorBody),
        crate::error::WriteFailures, crate::error::AuthFailures,
    ))]
pub(crate) async fn triage_incident(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Triage>, ApiError> {
    let triager =
        state.triager.clone().ok_or_else(|| ApiError::Conflict("LLM triage is off ([llm] enabled = false)".into()))?;
    let store = state.store.clone();
    let sample = triager.evidence_sample();
    let (alert, evidence) = blocking(move || {
        let (incident, alerts) = crate::incidents::incident_with_alerts(store.as_ref(), &id)?;
        let alert = incident_as_alert(&incident, &alerts);
        let mut evidence = Vec::new();
        for event_id in alert.evidence.iter().rev().take(sample) {
            evidence.extend(store.event(*event_id)?);
        }
        evidence.reverse();
        Ok((alert, evidence))
    })
    .await?;
    let triage = triager.triage(&alert, &evidence).await;
    let (store, stored) = (state.store.clone(), triage.clone());
    blocking(move || {
        let body = serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(store.put_triage(&stored.alert_id, &body)?)
    })
    .await?;
    Ok(Json(triage))
}

//! `GET /api/v1/incidents` and `GET /api/v1/incidents/{id}`: the newest
//! alerts grouped by entity and by campaign (`rampart_core::incident`), and
//! one incident with its alerts, the events they stand on, and the
//! decisions they caused.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use rampart_core::ecs::encode_event;
use rampart_core::incident::{Incident, group};
use rampart_core::{Alert, AlertQuery, AlertStatus, DecisionQuery, Store};
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::blocking::blocking;
use crate::decisions::decision_json;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::state::AppState;

/// The newest alerts grouped at once: enough for weeks of a busy node, and
/// a bounded amount of work per request.
const ALERTS_GROUPED: usize = 5_000;
/// Evidence events an incident's page shows at most.
const EVIDENCE_SHOWN: usize = 50;

/// The query `GET /incidents` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct IncidentListQuery {
    /// Only incidents with this status (open: any alert in it is open).
    #[param(pattern = "^(open|acknowledged|resolved)$")]
    status: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

fn incident_json(i: &Incident) -> Value {
    json!({
        "id": i.id, "kind": i.kind, "title": i.title, "severity": i.severity, "status": i.status,
        "entities": i.entities, "network": i.network, "rules": i.rules, "alerts": i.alerts, "events": i.events,
        "first_seen_ms": i.first_seen_ms, "last_seen_ms": i.last_seen_ms,
    })
}

/// One incident among the newest alerts, with its alerts oldest first.
pub(crate) fn incident_with_alerts(store: &dyn Store, id: &str) -> Result<(Incident, Vec<Alert>), ApiError> {
    let (alerts, _) = newest_alerts(store)?;
    let incident =
        group(&alerts).into_iter().find(|i| i.id == id).ok_or_else(|| ApiError::NotFound(format!("incident {id}")))?;
    let members: BTreeSet<&str> = incident.alerts.iter().map(String::as_str).collect();
    let mut mine: Vec<Alert> = alerts.into_iter().filter(|a| members.contains(a.id.as_str())).collect();
    mine.sort_by_key(|a| a.first_seen_ms);
    Ok((incident, mine))
}

fn newest_alerts(store: &dyn Store) -> Result<(Vec<Alert>, bool), ApiError> {
    let page = store.alerts(&AlertQuery { limit: ALERTS_GROUPED, ..AlertQuery::default() })?;
    Ok((page.items, page.next_cursor.is_none()))
}

/// Alerts grouped into incidents, most recent activity first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "alerts", security(("bearer" = [])),
    params(IncidentListQuery),
    responses(
        (status = 200, description = "`incidents` [{id, kind (entity|campaign), title, severity, status, entities, network, \
            rules, alerts, events, first_seen_ms, last_seen_ms}]; `complete` is false when more alerts exist than the 5,000 newest grouped", body = Object),
        (status = 400, description = "A parameter is malformed or unknown; `field` names it", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::documented::<IncidentListQuery>(raw)?;
    let status = p.parse("status", "open, acknowledged or resolved", AlertStatus::parse)?;
    let limit = p.limit()?;
    let store = state.store.clone();
    let (alerts, complete) = blocking(move || newest_alerts(store.as_ref())).await?;
    let incidents: Vec<Value> =
        group(&alerts).iter().filter(|i| status.is_none_or(|s| i.status == s)).take(limit).map(incident_json).collect();
    Ok(Json(json!({ "incidents": incidents, "complete": complete })))
}

/// One incident: its alerts, up to 50 of the events they stand on, and the
/// decisions made about its alerts or its addresses.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident's id (`inc-` and its earliest alert's id)")),
    responses(
        (status = 200, description = "`incident`, `alerts` (full), `events` (ECS, newest first), `decisions`", body = Object),
        (status = 404, description = "No such incident among the newest alerts", body = ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        let (incident, mine) = incident_with_alerts(store.as_ref(), &id)?;
        let members: BTreeSet<&str> = incident.alerts.iter().map(String::as_str).collect();

        let evidence: BTreeSet<i64> = mine.iter().flat_map(|a| a.evidence.iter().copied()).collect();
        let mut events = Vec::new();
        for id in evidence.iter().rev().take(EVIDENCE_SHOWN) {
            events.extend(store.event(*id)?.as_ref().map(encode_event));
        }

        let now = rampart_core::time::now_ms();
        let mut decisions = Vec::new();
        let mut seen = BTreeSet::new();
        let addresses = incident.entities.iter().filter_map(|e| e.split_once(' ')).filter(|(f, _)| f.ends_with(".ip"));
        for (_, value) in addresses.take(100) {
            let found = store.decisions(&DecisionQuery {
                target: Some(value.to_owned()),
                limit: 50,
                ..DecisionQuery::default()
            })?;
            for d in found {
                if seen.insert(d.id) {
                    decisions.push(decision_json(&d, now));
                }
            }
        }
        let by_alert = store.decisions(&DecisionQuery { limit: 1_000, ..DecisionQuery::default() })?;
        for d in by_alert.iter().filter(|d| d.alert_id.as_deref().is_some_and(|a| members.contains(a))) {
            if seen.insert(d.id) {
                decisions.push(decision_json(d, now));
            }
        }
        decisions.sort_by_key(|d| std::cmp::Reverse(d.id));
        Ok(json!({
            "incident": incident_json(&incident),
            "alerts": mine,
            "events": events,
            "evidence_total": evidence.len(),
            "decisions": decisions,
        }))
    })
    .await
    .map(Json)
}

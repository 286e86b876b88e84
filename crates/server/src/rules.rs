//! `GET /api/v1/rules`: the rules this node loaded and how often each fired
//! (from the alerts in the store). Rules a detector makes as it goes (a flow
//! model's classes) are listed once they have fired.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::blocking::blocking;
use crate::error::ApiError;
use crate::state::AppState;

/// The rules loaded, with how often each fired.
#[utoipa::path(get, path = "/api/v1/rules", tag = "alerts", security(("bearer" = [])),
    responses(
        (status = 200, description = "`rules`: id, title, description, severity, technique, tags, logic (what it tests, in words), \
            loaded, alerts, events, by_severity (of its alerts), last_seen", body = Object),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store.clone();
    let mut fired = blocking(move || Ok(store.rules_fired()?)).await?;
    let mut rules: Vec<Value> = state
        .rules
        .iter()
        .map(|r| {
            let f = fired.remove(&r.id).unwrap_or_default();
            json!({
                "id": r.id, "title": r.title, "description": r.description, "severity": r.severity,
                "technique": r.technique, "tags": r.tags, "logic": r.logic, "loaded": true,
                "alerts": f.alerts, "events": f.events, "by_severity": f.by_severity,
                "last_seen": (f.alerts > 0).then(|| rampart_core::time::format_ms(f.last_seen_ms)),
            })
        })
        .collect();
    rules.extend(fired.into_iter().map(|(id, f)| {
        json!({
            "id": id, "loaded": false, "alerts": f.alerts, "events": f.events, "by_severity": f.by_severity,
            "last_seen": rampart_core::time::format_ms(f.last_seen_ms),
        })
    }));
    Ok(Json(json!({ "rules": rules })))
}

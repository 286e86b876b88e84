//! `GET /api/v1/history`: what the store knows about a time range, so the
//! console opens on it rather than on what one tab happened to receive:
//! events per interval by kind, alerts per interval by severity and rule,
//! the busiest source addresses, and host CPU and memory from the
//! one-minute rollups.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Query, State};
use rampart_core::{MetricRollup, SeriesOf, SeriesPoint};
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::blocking::blocking;
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;

const MINUTE_MS: i64 = 60_000;
/// The longest range one request covers; a longer one is cut to its end.
const MAX_RANGE_MS: i64 = 90 * 86_400_000;
/// The most intervals one answer has; a finer step is coarsened to fit.
const MAX_POINTS: i64 = 2_000;
/// Steps a chart reads well in; the smallest giving at most `TARGET_POINTS`.
const STEPS_MS: [i64; 12] = [
    MINUTE_MS,
    2 * MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    15 * MINUTE_MS,
    30 * MINUTE_MS,
    60 * MINUTE_MS,
    2 * 60 * MINUTE_MS,
    6 * 60 * MINUTE_MS,
    12 * 60 * MINUTE_MS,
    24 * 60 * MINUTE_MS,
    7 * 24 * 60 * MINUTE_MS,
];
const TARGET_POINTS: i64 = 180;
const TOP_SOURCES: usize = 10;

/// The query `GET /history` takes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the names `Params` accepts; parsed there.
pub(crate) struct HistoryQuery {
    /// RFC 3339 or epoch milliseconds, inclusive; default an hour before `until`.
    #[param(schema_with = crate::openapi::time_bound)]
    since: Option<String>,
    /// RFC 3339 or epoch milliseconds, exclusive; default now.
    #[param(schema_with = crate::openapi::time_bound)]
    until: Option<String>,
    /// The interval, as `90s`, `5m`, `1h`, `1d`; default the smallest of
    /// 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 6h, 12h, 1d, 7d giving at most
    /// 180 intervals. A step giving over 2,000 intervals is coarsened to
    /// 2,000; event counts are kept per minute (a step under a minute is a
    /// minute for them). The answer's `step_ms` is the step used.
    #[param(pattern = "^[1-9][0-9]{0,8}(ms|s|m|h|d)?$")]
    step: Option<String>,
}

/// Counts and host series for a time range.
#[utoipa::path(get, path = "/api/v1/history", tag = "events", security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "`since`, `until`, `step_ms`; `events` [{t, kind, n}]; `alerts_by_severity` \
            [{t, severity, n}]; `alerts_by_rule` [{t, rule, n}]; `top_sources` {items: [{ip, events}], complete}; \
            `host` [{t, host, samples, cpu_pct, cpu_pct_max, memory_pct}]", body = Object),
        (status = 400, description = "A parameter is malformed or unknown; `field` names it. An empty range \
            answers empty series; one over 90 days is cut to its last 90 (the answer's `since` says where it starts)", body = crate::error::ErrorBody),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn history(
    State(state): State<AppState>,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::documented::<HistoryQuery>(raw)?;
    let bound = |name| p.parse(name, "RFC 3339 or epoch milliseconds", rampart_core::time::parse_time_bound);
    let until = bound("until")?.unwrap_or_else(rampart_core::time::now_ms);
    let since = bound("since")?.unwrap_or(until.saturating_sub(60 * MINUTE_MS));
    let since = since.max(until.saturating_sub(MAX_RANGE_MS));
    let range = until.saturating_sub(since).max(0);
    let step = p.parse("step", "a duration such as 5m or 1h", |t| rampart_core::time::parse_duration_ms(t).ok())?;
    let step = match step {
        Some(step) => step.max((range + MAX_POINTS - 1) / MAX_POINTS).max(1),
        None => default_step(range),
    };
    let store = state.store.clone();
    // An empty range (since at or after until) reads nothing: empty series.
    let until = until.max(since);
    let answer = blocking(move || {
        let events = store.series(SeriesOf::EventsByKind, since, until, step)?;
        let by_severity = store.series(SeriesOf::AlertsBySeverity, since, until, step)?;
        let by_rule = store.series(SeriesOf::AlertsByRule, since, until, step)?;
        let top = store.top_sources(since, until, TOP_SOURCES)?;
        let host = host_series(&store.metric_rollups(since, until)?, step);
        let points = |points: Vec<SeriesPoint>, key: &str| -> Vec<Value> {
            points.into_iter().map(|p| json!({"t": p.t_ms, key: p.key, "n": p.n})).collect()
        };
        Ok(json!({
            "since": since, "until": until, "step_ms": step,
            "events": points(events, "kind"),
            "alerts_by_severity": points(by_severity, "severity"),
            "alerts_by_rule": points(by_rule, "rule"),
            "top_sources": {
                "items": top.items.into_iter().map(|(ip, n)| json!({"ip": ip, "events": n})).collect::<Vec<_>>(),
                "complete": top.complete,
            },
            "host": host,
        }))
    })
    .await?;
    Ok(Json(answer))
}

fn default_step(range_ms: i64) -> i64 {
    STEPS_MS.into_iter().find(|step| range_ms / step <= TARGET_POINTS).unwrap_or(STEPS_MS[STEPS_MS.len() - 1])
}

/// Per host and interval: CPU and memory means weighted by samples, and
/// the highest CPU any minute saw.
fn host_series(rollups: &[MetricRollup], step: i64) -> Vec<Value> {
    #[derive(Default)]
    struct Bucket {
        samples: u64,
        cpu: f64,
        memory: f64,
        cpu_max: f64,
    }
    let mut buckets: BTreeMap<(i64, &str), Bucket> = BTreeMap::new();
    for r in rollups {
        let b = buckets.entry((r.minute_ms.div_euclid(step) * step, r.host.as_str())).or_default();
        let n = r.samples as f64;
        b.samples += r.samples;
        b.cpu += r.mean.get("cpu.total.pct").copied().unwrap_or(0.0) * n;
        b.memory += r.mean.get("memory.used.pct").copied().unwrap_or(0.0) * n;
        b.cpu_max = b.cpu_max.max(r.max.get("cpu.total.pct").copied().unwrap_or(0.0));
    }
    buckets
        .into_iter()
        .filter(|(_, b)| b.samples > 0)
        .map(|((t, host), b)| {
            let n = b.samples as f64;
            json!({
                "t": t, "host": host, "samples": b.samples,
                "cpu_pct": b.cpu / n, "cpu_pct_max": b.cpu_max, "memory_pct": b.memory / n,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_steps_keep_a_range_under_two_hundred_intervals() {
        assert_eq!(default_step(15 * MINUTE_MS), MINUTE_MS);
        assert_eq!(default_step(60 * MINUTE_MS), MINUTE_MS);
        assert_eq!(default_step(24 * 60 * MINUTE_MS), 10 * MINUTE_MS);
        assert_eq!(default_step(7 * 24 * 60 * MINUTE_MS), 60 * MINUTE_MS);
        assert_eq!(default_step(MAX_RANGE_MS), 12 * 60 * MINUTE_MS);
    }

    #[test]
    fn host_series_weights_minutes_by_their_samples() {
        let minute = |m: i64, samples: u64, cpu: f64, max: f64| MetricRollup {
            minute_ms: m * MINUTE_MS,
            host: "web1".into(),
            samples,
            mean: BTreeMap::from([("cpu.total.pct".into(), cpu), ("memory.used.pct".into(), 50.0)]),
            max: BTreeMap::from([("cpu.total.pct".into(), max)]),
        };
        let series = host_series(
            &[minute(0, 30, 10.0, 20.0), minute(1, 10, 50.0, 90.0), minute(5, 30, 1.0, 1.0)],
            5 * MINUTE_MS,
        );
        assert_eq!(series.len(), 2);
        assert_eq!(series[0]["cpu_pct"], 20.0); // (30·10 + 10·50) / 40
        assert_eq!(series[0]["cpu_pct_max"], 90.0);
        assert_eq!(series[0]["memory_pct"], 50.0);
        assert_eq!(series[1]["t"], 5 * MINUTE_MS);
    }
}

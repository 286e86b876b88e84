//! Retention per kind, the rollups telemetry leaves behind, and the counts
//! the console's charts read, against a real database file.

use super::*;
use crate::RetentionPlan;
use rampart_core::config::StoreConfig;
use rampart_core::{Body, EventKind, SeriesOf, SeriesPoint};

use super::tests::fixtures::{self, event};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    (dir, store)
}

fn host_sample(host: &str, at_ms: i64, cpu: f64) -> Event {
    let mut e = Event::new(EventKind::Metric, at_ms);
    e.action = Some("host_metrics".into());
    e.host_name = Some(host.into());
    e.body = Some(Body::Metrics(BTreeMap::from([("cpu.total.pct".into(), cpu), ("memory.used.pct".into(), 40.0)])));
    e
}

fn process_sample(at_ms: i64) -> Event {
    let mut e = Event::new(EventKind::State, at_ms);
    e.action = Some("process_sample".into());
    e
}

fn kinds_in(store: &SqliteStore) -> Vec<i64> {
    let conn = store.writer.lock().unwrap();
    let mut stmt = conn.conn.prepare("SELECT kinds FROM event_chunks ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn telemetry_and_the_rest_never_share_a_chunk_and_pages_stay_in_id_order() {
    let (_dir, store) = store();
    let mut batch =
        vec![event("10.0.0.1", "a", 1), host_sample("h", 2, 5.0), process_sample(3), event("10.0.0.2", "b", 4)];
    store.append_events(&mut batch).unwrap();
    // Telemetry takes the first ids, the rest follow, each in batch order.
    let ids: Vec<i64> = batch.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(ids, vec![3, 1, 2, 4]);
    let metric_state = events::kind_mask(&[EventKind::Metric, EventKind::State]);
    let chunks = kinds_in(&store);
    assert_eq!(chunks.len(), 2, "{chunks:?}");
    assert_eq!(chunks[0] & !metric_state, 0, "the first chunk is telemetry only");
    assert_eq!(chunks[1] & metric_state, 0, "the second holds no telemetry");
    // Newest first across both chunks, one page at a time, nothing skipped.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.events(&EventQuery { limit: 1, before_id: before, ..Default::default() }).unwrap();
        seen.extend(page.items.iter().map(|e| e.id.unwrap()));
        match page.next_cursor {
            Some(cursor) => before = Some(cursor.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, vec![4, 3, 2, 1]);
}

#[test]
fn a_kind_purge_deletes_telemetry_and_keeps_security_events_beside_it() {
    let (_dir, store) = store();
    let mut batch: Vec<Event> = (0..3_000)
        .flat_map(|i| [event("10.0.0.1", "login failed", i), host_sample("h", i, 1.0), process_sample(i)])
        .collect();
    store.append_events(&mut batch).unwrap();
    let deleted = store.purge_kinds_before(&[EventKind::Metric, EventKind::State], 10_000).unwrap();
    assert_eq!(deleted, 6_000);
    let stats = store.stats().unwrap();
    assert_eq!(stats.events_total, 3_000);
    assert_eq!(stats.events_by_kind.get("metric").copied().unwrap_or(0), 0);
    let left = store.events(&EventQuery { limit: 5_000, ..Default::default() }).unwrap();
    assert!(left.items.iter().all(|e| e.kind == EventKind::Event));
    assert_eq!(left.items.len(), 3_000);
    // Nothing of another kind goes, however old.
    assert_eq!(store.purge_kinds_before(&[EventKind::Metric], i64::MAX).unwrap(), 0);
}

#[test]
fn host_metrics_leave_one_minute_means_and_maxima_behind() {
    let (_dir, store) = store();
    // Two minutes of samples every 2 s: CPU 0, 2, 4, … in the first minute.
    let mut first: Vec<Event> = (0..30).map(|i| host_sample("web1", i * 2_000, f64::from(i as u32) * 2.0)).collect();
    let mut second: Vec<Event> = (30..60).map(|i| host_sample("web1", i * 2_000, 10.0)).collect();
    // The first minute's last samples arrive in a later batch, after the
    // first ones were swept: the rollup must merge them, not replace.
    let late = first.split_off(20);
    store.append_events(&mut first).unwrap();
    store.purge_kinds_before(&[EventKind::Metric, EventKind::State], i64::MAX).unwrap();
    let mut rest: Vec<Event> = late.into_iter().chain(second.drain(..)).collect();
    store.append_events(&mut rest).unwrap();
    store.append_events(&mut [host_sample("db1", 61_000, 50.0), process_sample(61_000)]).unwrap();
    store.purge_kinds_before(&[EventKind::Metric, EventKind::State], i64::MAX).unwrap();

    let rollups = store.metric_rollups(0, 120_000).unwrap();
    let summary: Vec<(i64, &str, u64)> = rollups.iter().map(|r| (r.minute_ms, r.host.as_str(), r.samples)).collect();
    assert_eq!(summary, vec![(0, "web1", 30), (60_000, "db1", 1), (60_000, "web1", 30)]);
    let cpu = |of: &BTreeMap<String, f64>| of["cpu.total.pct"];
    assert!((cpu(&rollups[0].mean) - 29.0).abs() < 1e-9, "mean of 0, 2, …, 58 is 29: {:?}", rollups[0].mean);
    assert_eq!(cpu(&rollups[0].max), 58.0);
    assert_eq!(cpu(&rollups[2].mean), 10.0);
    assert_eq!(rollups[0].mean["memory.used.pct"], 40.0);
    assert!(store.metric_rollups(60_000, 60_001).unwrap().iter().all(|r| r.minute_ms == 60_000));

    // The first minute goes: its host rollup and its count of metric events.
    assert_eq!(store.purge_rollups_before(60_000).unwrap(), 2);
    assert_eq!(store.metric_rollups(0, 120_000).unwrap().len(), 2);
}

#[test]
fn the_default_plan_keeps_telemetry_hours_events_a_week_and_rollups_a_month() {
    let config = StoreConfig::default();
    let plan = RetentionPlan::from(&config);
    let (_dir, store) = store();
    let hour = 3_600_000;
    let now = 100 * 24 * hour;
    let at = |hours_ago: i64| now - hours_ago * hour;
    let mut batch = Vec::new();
    for hours_ago in [1, 25, 24 * 8] {
        let mut e = event("10.0.0.1", &format!("{hours_ago}h"), at(hours_ago));
        e.ingested_ms = at(hours_ago);
        batch.push(e);
        let mut m = host_sample("h", at(hours_ago), 3.0);
        m.ingested_ms = at(hours_ago);
        batch.push(m);
    }
    // One append per age, so each age has chunks of its own.
    for pair in batch.chunks_mut(2) {
        store.append_events(pair).unwrap();
    }
    plan.sweep(&store, now);
    let left: Vec<(EventKind, i64)> = store
        .events(&EventQuery { limit: 100, ..Default::default() })
        .unwrap()
        .items
        .iter()
        .map(|e| (e.kind, (now - e.timestamp_ms) / hour))
        .collect();
    // Telemetry from the last 6 hours; security events from the last week.
    assert_eq!(left, vec![(EventKind::Event, 25), (EventKind::Event, 1), (EventKind::Metric, 1)]);
    // Every host sample's minute has a rollup, the swept ones included, kept 30 days.
    assert_eq!(store.metric_rollups(0, now).unwrap().len(), 3);
    plan.sweep(&store, now + 31 * 24 * hour);
    assert!(store.metric_rollups(0, i64::MAX).unwrap().is_empty());
    assert_eq!(store.stats().unwrap().events_total, 0);
}

#[test]
fn kinds_named_longer_than_the_default_keep_mixed_chunks_until_they_expire() {
    let mut config = StoreConfig { retention_days: 1, ..StoreConfig::default() };
    config.kind_retention_hours.insert("alert".into(), 24 * 30);
    let plan = RetentionPlan::from(&config);
    let (_dir, store) = store();
    let day = 86_400_000;
    let mut batch = vec![event("10.0.0.1", "plain", 0), Event::new(EventKind::Alert, 0)];
    store.append_events(&mut batch).unwrap();
    // Three days on: past the default, but the chunk also holds an alert
    // kept thirty days, so both stay (a chunk goes whole).
    plan.sweep(&store, 3 * day);
    assert_eq!(store.stats().unwrap().events_total, 2);
    plan.sweep(&store, 31 * day);
    assert_eq!(store.stats().unwrap().events_total, 0);
}

#[test]
fn events_per_interval_by_kind_outlive_the_events_and_alerts_count_by_severity() {
    let (_dir, store) = store();
    let minute = 60_000;
    let mut batch: Vec<Event> = (0..10).map(|i| event("10.0.0.1", "x", i * 30_000)).collect();
    batch.extend((0..4).map(|i| host_sample("h", i * 60_000, 1.0)));
    store.append_events(&mut batch).unwrap();
    let point = |t_ms: i64, key: &str, n: u64| SeriesPoint { t_ms, key: key.into(), n };
    let by_kind = store.series(SeriesOf::EventsByKind, 0, 5 * minute, 2 * minute).unwrap();
    assert_eq!(
        by_kind,
        vec![
            point(0, "event", 4),
            point(0, "metric", 2),
            point(120_000, "event", 4),
            point(120_000, "metric", 2),
            point(240_000, "event", 2)
        ]
    );
    // A step under a minute is a minute (counts are kept per minute).
    assert_eq!(
        store.series(SeriesOf::EventsByKind, 0, minute, 1_000).unwrap(),
        vec![point(0, "event", 2), point(0, "metric", 1)]
    );
    store.purge_events_before(i64::MAX).unwrap();
    assert_eq!(
        store.series(SeriesOf::EventsByKind, 0, 5 * minute, 5 * minute).unwrap().len(),
        2,
        "counts outlive events"
    );
    store.purge_rollups_before(i64::MAX).unwrap();
    assert!(store.series(SeriesOf::EventsByKind, 0, 5 * minute, minute).unwrap().is_empty());

    let mut alerts: Vec<_> = (0..3).map(|i| fixtures::alert(&format!("a{i}"), 1)).collect();
    alerts[2].severity = rampart_core::Severity::Critical;
    alerts[2].created_ms = 70_000;
    store.save_alerts(&alerts).unwrap();
    assert_eq!(
        store.series(SeriesOf::AlertsBySeverity, 0, 2 * minute, minute).unwrap(),
        vec![point(0, "high", 2), point(60_000, "critical", 1)]
    );
    assert_eq!(
        store.series(SeriesOf::AlertsByRule, 0, 2 * minute, 2 * minute).unwrap(),
        vec![point(0, "ssh-brute-force", 3)]
    );
}

#[test]
fn top_sources_count_stored_events_in_the_range_and_leave_telemetry_out() {
    let (_dir, store) = store();
    let mut batch = Vec::new();
    for (ip, n, at) in [("203.0.113.9", 5, 1_000), ("198.51.100.7", 3, 2_000), ("192.0.2.1", 9, 50_000)] {
        batch.extend((0..n).map(|_| event(ip, "x", at)));
    }
    let mut telemetry = host_sample("h", 1_000, 1.0);
    telemetry.source.ip = Some("10.9.9.9".parse().unwrap());
    batch.push(telemetry);
    store.append_events(&mut batch).unwrap();
    let top = store.top_sources(0, 10_000, 10).unwrap();
    assert!(top.complete);
    assert_eq!(top.items, vec![("203.0.113.9".to_owned(), 5), ("198.51.100.7".to_owned(), 3)]);
    assert_eq!(store.top_sources(0, 100_000, 1).unwrap().items, vec![("192.0.2.1".to_owned(), 9)]);
}

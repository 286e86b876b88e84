//! SqliteStore against a real database file in a temp directory.

use super::*;
use rampart_core::{Entity, EventKind, Severity};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    (dir, store)
}

fn event(ip: &str, message: &str, ts: i64) -> Event {
    let mut e = Event::new(EventKind::Event, ts);
    e.source.ip = Some(ip.parse().unwrap());
    e.message = Some(message.into());
    e
}

fn alert(id: &str, count: u64) -> Alert {
    Alert {
        id: id.into(),
        rule_id: "ssh-brute-force".into(),
        title: "SSH brute force".into(),
        description: String::new(),
        severity: Severity::High,
        score: 75.0,
        entity: Entity { field: "source.ip".into(), value: "203.0.113.9".into() },
        count,
        first_seen_ms: 1,
        last_seen_ms: 2,
        evidence: vec![1, 2],
        technique: Some("T1110.001".into()),
        tags: vec!["ssh".into()],
        status: AlertStatus::Open,
        created_ms: 3,
        updated_ms: 3,
    }
}

#[test]
fn events_get_ids_and_read_back_with_filters_and_pages() {
    let (_dir, store) = store();
    let mut events: Vec<Event> = (0..5).map(|i| event("10.0.0.1", &format!("Login {i}"), i * 10)).collect();
    events.push(event("10.0.0.2", "other 100%", 100));
    store.append_events(&mut events).unwrap();
    assert_eq!(events[0].id, Some(1));

    let page = store.events(&EventQuery { limit: 2, ..Default::default() }).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].message.as_deref(), Some("other 100%"));
    let cursor: i64 = page.next_cursor.unwrap().parse().unwrap();
    let next = store.events(&EventQuery { limit: 10, before_id: Some(cursor), ..Default::default() }).unwrap();
    assert_eq!(next.items.len(), 4);
    assert!(next.next_cursor.is_none());

    let by_ip = store
        .events(&EventQuery { source_ip: Some("10.0.0.2".parse().unwrap()), limit: 10, ..Default::default() })
        .unwrap();
    assert_eq!(by_ip.items.len(), 1);
    let by_text = store.events(&EventQuery { text: Some("LOGIN".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(by_text.items.len(), 5);
    // A literal % in the search text is not a wildcard.
    let pct = store.events(&EventQuery { text: Some("0%".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(pct.items.len(), 1);
    let window =
        store.events(&EventQuery { since_ms: Some(10), until_ms: Some(30), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(window.items.len(), 2);
    assert_eq!(store.events(&EventQuery { limit: 10, ..Default::default() }).unwrap().items[5], events[0]);
}

#[test]
fn data_survives_reopen_and_schema_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), Durability::Full).unwrap();
        store.append_events(&mut [event("10.0.0.1", "kept", 1)]).unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    assert_eq!(store.stats().unwrap().events_total, 1);
    let conn = store.writer.lock().unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, migrations::LATEST);
}

#[test]
fn alerts_upsert_and_resolved_alerts_are_not_reopened() {
    let (_dir, store) = store();
    assert_eq!(store.save_alerts(&[alert("a1", 5)]).unwrap(), vec![SaveOutcome::Inserted]);
    assert_eq!(store.save_alerts(&[alert("a1", 7)]).unwrap(), vec![SaveOutcome::Updated]);
    assert_eq!(store.alert("a1").unwrap().unwrap().count, 7);

    let acked = store.set_alert_status("a1", AlertStatus::Acknowledged).unwrap().unwrap();
    assert_eq!(acked.status, AlertStatus::Acknowledged);
    // Growing an acknowledged alert keeps its status.
    store.save_alerts(&[alert("a1", 8)]).unwrap();
    assert_eq!(store.alert("a1").unwrap().unwrap().status, AlertStatus::Acknowledged);

    store.set_alert_status("a1", AlertStatus::Resolved).unwrap();
    assert_eq!(store.save_alerts(&[alert("a1", 9)]).unwrap(), vec![SaveOutcome::AlreadyResolved]);
    assert_eq!(store.alert("a1").unwrap().unwrap().count, 8);
    assert!(store.set_alert_status("missing", AlertStatus::Resolved).unwrap().is_none());

    let stats = store.stats().unwrap();
    assert_eq!(stats.alerts_by_status.get("resolved"), Some(&1));
    let open = store.alerts(&AlertQuery { status: Some(AlertStatus::Open), limit: 10, ..Default::default() }).unwrap();
    assert!(open.items.is_empty());
}

#[test]
fn purge_deletes_only_old_events() {
    let (_dir, store) = store();
    let mut events: Vec<Event> = (0..12_000).map(|i| event("10.0.0.1", "x", i)).collect();
    store.append_events(&mut events).unwrap();
    assert_eq!(store.purge_events_before(11_000).unwrap(), 11_000);
    assert_eq!(store.stats().unwrap().events_total, 1_000);
}

#[test]
fn tokens_round_trip() {
    let (_dir, store) = store();
    let token = TokenRecord {
        id: "abc".into(),
        name: "ci".into(),
        role: Role::Reader,
        salt: "s".into(),
        hash: "h".into(),
        created_ms: 1,
    };
    store.add_token(&token).unwrap();
    assert_eq!(store.token("abc").unwrap(), Some(token));
    assert_eq!(store.token_count().unwrap(), 1);
    assert!(store.token("nope").unwrap().is_none());
}

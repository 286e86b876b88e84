//! SqliteStore against a real database file in a temp directory.

use super::*;
use rampart_core::{EventKind, Role, SessionRecord, Severity};
use rusqlite::params;

#[path = "../../tests/fixtures/mod.rs"]
pub(super) mod fixtures;
use fixtures::{alert, event};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    (dir, store)
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
    let writer = store.writer.lock().unwrap();
    let version: i64 = writer.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
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
fn growth_updates_the_columns_a_read_returns() {
    let (_dir, store) = store();
    store.save_alerts(&[alert("a1", 5)]).unwrap();
    let mut grown = alert("a1", 9);
    grown.severity = Severity::Critical;
    grown.score = 90.0;
    grown.last_seen_ms = 50;
    grown.updated_ms = 60;
    grown.evidence = vec![1, 2, 7, 8];
    // Growth carries no new text: what the document said stays.
    grown.title = "ignored on update".into();
    store.save_alerts(&[grown]).unwrap();
    let read = store.alert("a1").unwrap().unwrap();
    assert_eq!((read.count, read.severity, read.score), (9, Severity::Critical, 90.0));
    assert_eq!((read.first_seen_ms, read.last_seen_ms, read.updated_ms), (1, 50, 60));
    assert_eq!(read.evidence, vec![1, 2, 7, 8]);
    assert_eq!(read.title, "SSH brute force");
    let listed = store.alerts(&AlertQuery { limit: 5, ..Default::default() }).unwrap();
    assert_eq!(listed.items, vec![read]);
}

#[test]
fn alerts_saved_under_schema_1_survive_migration() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        migrations::migrate_to(&mut conn, 1).unwrap();
        let old = alert("old", 4);
        conn.execute(
            "INSERT INTO alerts (id, rule_id, severity, status, entity_field, entity_value, count,
                                 first_seen, last_seen, created, updated, doc)
             VALUES ('old', ?1, 'high', 'acknowledged', 'source.ip', '203.0.113.9', 4, 1, 2, 3, 3, ?2)",
            params![old.rule_id, serde_json::to_string(&old).unwrap()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    let mut expected = alert("old", 4);
    expected.status = AlertStatus::Acknowledged;
    assert_eq!(store.alert("old").unwrap().unwrap(), expected);
    // And it grows like any other.
    assert_eq!(store.save_alerts(&[alert("old", 6)]).unwrap(), vec![SaveOutcome::Updated]);
    assert_eq!(store.alert("old").unwrap().unwrap().count, 6);
}

#[test]
fn purge_deletes_whole_chunks_past_the_cutoff_and_nothing_newer() {
    let (_dir, store) = store();
    let mut events: Vec<Event> = (0..12_000).map(|i| event("10.0.0.1", "x", i)).collect();
    store.append_events(&mut events).unwrap();
    // Chunks hold 1,024 events: ten lie wholly before 11,000; the eleventh straddles it and stays.
    assert_eq!(store.purge_events_before(11_000).unwrap(), 10_240);
    assert_eq!(store.stats().unwrap().events_total, 1_760);
    let oldest = store.events(&EventQuery { limit: 1000, until_ms: Some(11_000), ..Default::default() }).unwrap();
    assert!(oldest.items.iter().all(|e| e.timestamp_ms >= 10_240));
    assert_eq!(store.purge_events_before(i64::MAX).unwrap(), 1_760);
    assert_eq!(store.stats().unwrap().events_total, 0);
}

#[test]
fn retention_goes_by_when_events_were_stored_not_by_their_claimed_time() {
    // Finding 7: one event stamped in the year 9999 kept its whole chunk forever.
    let (_dir, store) = store();
    let mut events: Vec<Event> = (0..10).map(|i| event("10.0.0.1", "x", 1_000 + i)).collect();
    events[3].timestamp_ms = 253_402_300_799_000; // 9999-12-31T23:59:59Z
    for e in &mut events {
        e.ingested_ms = 5_000;
    }
    store.append_events(&mut events).unwrap();
    assert_eq!(store.purge_events_before(5_000).unwrap(), 0);
    assert_eq!(store.purge_events_before(5_001).unwrap(), 10);
    assert_eq!(store.stats().unwrap().events_total, 0);
}

#[test]
fn chunks_stored_before_schema_6_get_a_stored_time_capped_at_now() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
        let mut events = vec![event("10.0.0.1", "old", 1_000), event("10.0.0.1", "forged", 253_402_300_799_000)];
        store.append_events(&mut events).unwrap();
        let conn = store.writer.lock().unwrap();
        // Back to schema 5 as far as the chunk is concerned: no stored time yet.
        conn.conn.execute("UPDATE event_chunks SET stored = 0", []).unwrap();
        conn.conn.pragma_update(None, "user_version", 5).unwrap();
        conn.conn
            .execute_batch(
                "DROP TABLE sessions; DROP TABLE metric_rollups; DROP TABLE event_minutes; DROP TABLE triage;
                 DROP INDEX event_chunks_stored;
                 ALTER TABLE event_chunks DROP COLUMN codec;
                 ALTER TABLE event_chunks DROP COLUMN stored;",
            )
            .unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    // The forged chunk's stored time is now, not 9999: a later sweep takes it.
    assert_eq!(store.purge_events_before(rampart_core::time::now_ms() - 60_000).unwrap(), 0);
    assert_eq!(store.purge_events_before(rampart_core::time::now_ms() + 60_000).unwrap(), 2);
}

#[test]
fn the_data_directory_and_database_files_are_private() {
    // Finding 4: the directory was 0755 and rampart.db, -wal and -shm 0644.
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = SqliteStore::open(&dir, Durability::Normal).unwrap();
    store.append_events(&mut [event("10.0.0.1", "x", 1)]).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for name in [DB_FILE.to_owned(), format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm")] {
        let path = dir.join(&name);
        if path.exists() {
            assert_eq!(mode(&path) & 0o077, 0, "{name} is readable by others");
        }
    }
    assert_eq!(mode(&dir.join(DB_FILE)), 0o600);
}

#[test]
fn sessions_end_on_logout_expiry_or_revocation() {
    let (_dir, store) = store();
    let token = TokenRecord {
        id: "t1".into(),
        name: "ops".into(),
        role: Role::Admin,
        salt: "s".into(),
        hash: "h".into(),
        created_ms: 1,
    };
    store.add_token(&token).unwrap();
    let session =
        |id: &str, expires_ms| SessionRecord { id_hash: id.into(), token_id: "t1".into(), created_ms: 100, expires_ms };
    store.add_session(&session("a", 1_000)).unwrap();
    store.add_session(&session("b", 1_000)).unwrap();
    assert_eq!(store.session("a", 500).unwrap(), Some(session("a", 1_000)));
    assert_eq!(store.session("a", 1_000).unwrap(), None, "expired");
    store.delete_session("a").unwrap();
    assert_eq!(store.session("a", 500).unwrap(), None);
    assert_eq!(store.tokens().unwrap(), vec![token]);
    assert!(store.revoke_token("t1").unwrap());
    assert_eq!(store.session("b", 500).unwrap(), None, "revoking a token ends its sessions");
    assert!(!store.revoke_token("t1").unwrap());
    assert_eq!(store.token_count().unwrap(), 0);
}

#[test]
fn ids_continue_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
        store.append_events(&mut [event("10.0.0.1", "a", 1), event("10.0.0.1", "b", 2)]).unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    let mut more = [event("10.0.0.1", "c", 3)];
    store.append_events(&mut more).unwrap();
    assert_eq!(more[0].id, Some(3));
}

#[test]
fn lookups_by_ip_and_kind_span_chunks_and_blocks_and_pages() {
    let (_dir, store) = store();
    // 150,000 events = 147 chunks = 3 blocks; the needle IP appears once per 10,000 events.
    let mut events: Vec<Event> = (0..150_000)
        .map(|i| {
            let ip = if i % 10_000 == 7 { "192.0.2.77".to_owned() } else { format!("10.0.{}.{}", i % 200, i % 250) };
            let mut e = event(&ip, &format!("m{i}"), i);
            if i % 50_000 == 3 {
                e.kind = EventKind::Metric;
            }
            e
        })
        .collect();
    for batch in events.chunks_mut(3_000) {
        store.append_events(batch).unwrap();
    }
    let ip = Some("192.0.2.77".parse().unwrap());
    let page = store.events(&EventQuery { source_ip: ip, limit: 10, ..Default::default() }).unwrap();
    let seen: Vec<i64> = page.items.iter().map(|e| e.timestamp_ms).collect();
    assert_eq!(seen, [140_007, 130_007, 120_007, 110_007, 100_007, 90_007, 80_007, 70_007, 60_007, 50_007]);
    let cursor = page.next_cursor.unwrap().parse().unwrap();
    let rest =
        store.events(&EventQuery { source_ip: ip, limit: 10, before_id: Some(cursor), ..Default::default() }).unwrap();
    assert_eq!(rest.items.len(), 5);
    assert!(rest.next_cursor.is_none());

    let metrics = store.events(&EventQuery { kind: Some(EventKind::Metric), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(metrics.items.iter().map(|e| e.timestamp_ms).collect::<Vec<_>>(), [100_003, 50_003, 3]);
    assert_eq!(store.stats().unwrap().events_by_kind.get("metric"), Some(&3));
    let text = store.events(&EventQuery { text: Some("M149999".into()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(text.items.len(), 1);
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

#[test]
fn two_phase_checkpoint_keeps_data_and_lets_the_wal_restart() {
    let (dir, store) = store();
    let wal = dir.path().join(format!("{DB_FILE}-wal"));
    for round in 0..3 {
        let mut events: Vec<Event> = (0..5_000).map(|i| event("10.0.0.1", "x", round * 10_000 + i)).collect();
        store.append_events(&mut events).unwrap();
        store.checkpoint_concurrently().unwrap();
        store.checkpoint().unwrap();
    }
    let size_after_three = std::fs::metadata(&wal).unwrap().len();
    for round in 3..6 {
        let mut events: Vec<Event> = (0..5_000).map(|i| event("10.0.0.1", "x", round * 10_000 + i)).collect();
        store.append_events(&mut events).unwrap();
        store.checkpoint_concurrently().unwrap();
        store.checkpoint().unwrap();
    }
    // A restarted WAL is rewritten from its start rather than growing.
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), size_after_three);
    assert_eq!(store.stats().unwrap().events_total, 30_000);
    let page = store.events(&EventQuery { limit: 1, ..Default::default() }).unwrap();
    assert_eq!(page.items[0].id, Some(30_000));
}

fn ban(target: &str, created_ms: i64, expires_ms: Option<i64>) -> Decision {
    use rampart_core::{DecisionKind, Origin, Target};
    let mut d = Decision::new(DecisionKind::Ban, Target::parse(target).unwrap(), Origin::Rule, created_ms, expires_ms);
    d.reason = "ssh-brute-force".into();
    d.alert_id = Some("a1".into());
    d.playbook = Some("ssh".into());
    d
}

#[test]
fn decisions_expire_are_deleted_on_record_and_actions_page() {
    let (_dir, store) = store();
    let a = store.add_decision(&ban("203.0.113.9", 0, Some(1_000))).unwrap();
    let b = store.add_decision(&ban("198.51.100.0/24", 10, None)).unwrap();
    assert!(a.id > 0 && b.id > a.id);
    assert_eq!(store.decision(b.id).unwrap().unwrap(), b);
    let active =
        |at| store.decisions(&DecisionQuery { active_at_ms: Some(at), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(active(500).len(), 2);
    assert_eq!(active(1_000), vec![b.clone()], "expired at its expiry time");
    let deleted = store.delete_decision(b.id, 2_000).unwrap().unwrap();
    assert_eq!(deleted.deleted_ms, Some(2_000));
    assert!(store.delete_decision(b.id, 3_000).unwrap().is_none(), "deleting twice is a no-op");
    assert_eq!(active(500), vec![a.clone()], "a deleted decision is no longer active");
    let by_target = DecisionQuery { target: Some("203.0.113.9".into()), limit: 10, ..Default::default() };
    assert_eq!(store.decisions(&by_target).unwrap(), vec![a.clone()]);

    let action = |decision_id, result| Action {
        id: 0,
        decision_id,
        at_ms: 5,
        enforcer: "nftables".into(),
        op: "apply".into(),
        result,
        detail: String::new(),
    };
    store
        .record_actions(&[
            action(a.id, rampart_core::ActionResult::Applied),
            action(b.id, rampart_core::ActionResult::Refused),
            action(b.id, rampart_core::ActionResult::DryRun),
        ])
        .unwrap();
    let page = store.actions(None, 2).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].result, rampart_core::ActionResult::DryRun);
    let rest = store.actions(page.next_cursor.map(|c| c.parse().unwrap()), 2).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].result, rampart_core::ActionResult::Applied);
    assert!(rest.next_cursor.is_none());
}

#[test]
fn stream_cursors_persist_and_queries_find_what_changed_since() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
        assert!(store.stream_cursor("agent-1").unwrap().is_none());
        store.set_stream_cursor("agent-1", rampart_core::StreamCursor { last_id: 1, polled_ms: 100 }).unwrap();
        store.set_stream_cursor("agent-1", rampart_core::StreamCursor { last_id: 2, polled_ms: 200 }).unwrap();
    }
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
    assert_eq!(
        store.stream_cursor("agent-1").unwrap(),
        Some(rampart_core::StreamCursor { last_id: 2, polled_ms: 200 })
    );
    let a = store.add_decision(&ban("203.0.113.1", 0, None)).unwrap();
    let b = store.add_decision(&ban("203.0.113.2", 0, None)).unwrap();
    store.delete_decision(a.id, 300).unwrap();
    let q = |after_id, deleted_since_ms| DecisionQuery { after_id, deleted_since_ms, limit: 10, ..Default::default() };
    assert_eq!(store.decisions(&q(Some(a.id), None)).unwrap(), vec![b]);
    assert_eq!(store.decisions(&q(None, Some(300))).unwrap().len(), 1);
    assert!(store.decisions(&q(None, Some(301))).unwrap().is_empty());
}

#[test]
fn the_model_registry_keeps_one_model_per_role() {
    use rampart_core::{ModelInfo, ModelRole};
    let (_dir, store) = store();
    let info = |name: &str, added_ms: i64| ModelInfo {
        name: name.into(),
        algo: "random-forest".into(),
        classes: vec!["normal".into(), "attack".into()],
        format_version: 1,
        rampart_version: "0.1.0".into(),
        data_sha256: "ab".into(),
        metrics: serde_json::json!({"accuracy": 0.99}),
        created_ms: 1,
        added_ms,
        role: None,
    };
    store.put_model(&info("a", 10), "{\"a\":1}").unwrap();
    store.put_model(&info("b", 20), "{\"b\":1}").unwrap();
    assert!(store.set_model_role("a", Some(ModelRole::Active)).unwrap());
    assert!(store.set_model_role("b", Some(ModelRole::Shadow)).unwrap());
    assert!(!store.set_model_role("nope", Some(ModelRole::Active)).unwrap());
    // Promoting the shadow takes the active role from `a` and leaves no shadow.
    assert!(store.set_model_role("b", Some(ModelRole::Active)).unwrap());
    let models = store.models().unwrap();
    assert_eq!(
        models.iter().map(|m| (m.name.as_str(), m.role)).collect::<Vec<_>>(),
        [("b", Some(ModelRole::Active)), ("a", None)]
    );
    assert_eq!(models[1], info("a", 10));
    // Replacing a model's file keeps its role.
    store.put_model(&info("b", 30), "{\"b\":2}").unwrap();
    assert_eq!(store.model_body("b").unwrap().as_deref(), Some("{\"b\":2}"));
    assert_eq!(store.models().unwrap()[0].role, Some(ModelRole::Active));
    assert_eq!(store.model_body("zzz").unwrap(), None);
}

#[test]
fn an_alerts_triage_is_replaced_not_duplicated() {
    let (_dir, store) = store();
    assert_eq!(store.triage("a-1").unwrap(), None);
    store.put_triage("a-1", "{\"source\":\"fallback\"}").unwrap();
    store.put_triage("a-1", "{\"source\":\"llm\"}").unwrap();
    store.put_triage("a-2", "{}").unwrap();
    assert_eq!(store.triage("a-1").unwrap().as_deref(), Some("{\"source\":\"llm\"}"));
    assert_eq!(store.triage("a-2").unwrap().as_deref(), Some("{}"));
}

#[test]
fn chunk_bodies_are_compressed_and_plain_ones_from_before_still_read() {
    let (_dir, store) = store();
    let mut events: Vec<Event> =
        (0..500).map(|i| event("10.0.0.1", &format!("Failed password for root port {i}"), i)).collect();
    store.append_events(&mut events).unwrap();
    let all = || store.events(&EventQuery { limit: 1_000, ..Default::default() });
    let plain = {
        let writer = store.writer.lock().unwrap();
        let (codec, stored): (i64, Vec<u8>) =
            writer.conn.query_row("SELECT codec, body FROM event_chunks", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(codec, codec::LZ4);
        let plain = codec::decode(1, codec, stored.clone()).unwrap();
        assert!(stored.len() * 3 < plain.len(), "{} bytes stored for {}", stored.len(), plain.len());
        plain
    };
    assert_eq!(all().unwrap().items.len(), 500);
    let set = |body: &[u8], codec: i64| {
        let writer = store.writer.lock().unwrap();
        writer.conn.execute("UPDATE event_chunks SET body = ?1, codec = ?2", params![body, codec]).unwrap();
    };
    // As a store from before schema 8 left it: plain, codec 0.
    set(&plain, codec::PLAIN);
    assert_eq!(all().unwrap().items.len(), 500);
    assert_eq!(store.top_sources(0, 1_000, 5).unwrap().items, vec![("10.0.0.1".to_owned(), 500)]);
    // A damaged body is an error naming its chunk, never a panic.
    set(&[0xff, 0xff, 0xff, 0x7f, 1, 2, 3], codec::LZ4);
    assert!(matches!(all(), Err(StoreError::Corrupt { id, .. }) if id == "chunk 1"));
}

#[test]
fn compression_off_stores_plain_bodies_that_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Durability::Normal).unwrap().with_compression(false);
    let mut events: Vec<Event> = (0..10).map(|i| event("10.0.0.2", "x", i)).collect();
    store.append_events(&mut events).unwrap();
    let codec: i64 =
        store.writer.lock().unwrap().conn.query_row("SELECT codec FROM event_chunks", [], |r| r.get(0)).unwrap();
    assert_eq!(codec, codec::PLAIN);
    assert_eq!(store.events(&EventQuery { limit: 100, ..Default::default() }).unwrap().items.len(), 10);
}

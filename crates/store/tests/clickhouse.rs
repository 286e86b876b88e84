//! ClickHouseStore against a real ClickHouse server (Debian's 18.16) that
//! the test starts on loopback: the same behaviours the SQLite store's
//! tests pin down, plus what only a shared store has (duplicates from the
//! bus collapsing, a person's status surviving a worker's save).

#![allow(clippy::unwrap_used)]

mod clickhouse_server;
mod fixtures;

use clickhouse_server::ClickHouseServer;
use fixtures::{alert, event};
use rampart_core::config::ClickHouseConfig;
use rampart_core::{
    Action, ActionResult, Alert, AlertQuery, AlertStatus, Decision, DecisionKind, DecisionQuery, Event, EventKind,
    EventQuery, ModelInfo, ModelRole, Origin, Role, SaveOutcome, SeriesOf, SeriesPoint, SessionRecord, Store,
    StreamCursor, Target, TokenRecord, bus_record_id,
};
use rampart_store::ClickHouseStore;

fn open(server: &ClickHouseServer, database: &str) -> ClickHouseStore {
    let config = ClickHouseConfig { url: server.url(), database: database.into(), ..ClickHouseConfig::default() };
    ClickHouseStore::open(&config).expect("store opens")
}

#[test]
fn clickhouse_store_keeps_what_the_sqlite_store_keeps() {
    let server = ClickHouseServer::start();
    let store = open(&server, "rampart_conformance");
    store.ping().unwrap();

    // Events: ids, filters (the text one with quotes that would end a literal), pages.
    let mut events: Vec<Event> = (0..5).map(|i| event("10.0.0.1", &format!("Login {i}"), i * 10)).collect();
    events.push(event("10.0.0.2", r"it's 100% \' evil", 100));
    store.append_events(&mut events).unwrap();
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    let page = store.events(&EventQuery { limit: 2, ..Default::default() }).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].message.as_deref(), Some(r"it's 100% \' evil"));
    let cursor: i64 = page.next_cursor.unwrap().parse().unwrap();
    let next = store.events(&EventQuery { limit: 10, before_id: Some(cursor), ..Default::default() }).unwrap();
    assert_eq!(next.items.len(), 4);
    assert!(next.next_cursor.is_none());
    let by_ip = store
        .events(&EventQuery { source_ip: Some("10.0.0.2".parse().unwrap()), limit: 10, ..Default::default() })
        .unwrap();
    assert_eq!(by_ip.items.len(), 1);
    let by_text = store.events(&EventQuery { text: Some(r"IT'S 100% \'".into()), limit: 10, ..Default::default() });
    assert_eq!(by_text.unwrap().items.len(), 1);
    let by_time =
        store.events(&EventQuery { since_ms: Some(10), until_ms: Some(30), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(by_time.items.len(), 3);
    assert_eq!(store.stats().unwrap().events_total, 6);
    // Long enough for a three-byte length in the binary insert, and not ASCII.
    let mut long = vec![event("10.0.0.3", &"é".repeat(9_000), 101)];
    store.append_events(&mut long).unwrap();
    let ip = Some("10.0.0.3".parse().unwrap());
    let back = store.events(&EventQuery { source_ip: ip, limit: 1, ..Default::default() }).unwrap();
    assert_eq!(back.items[0].message, long[0].message);
    assert_eq!(back.items[0].id, long[0].id);

    // Alerts: insert, grow, a person's status kept through the next save, resolved left alone.
    assert_eq!(store.save_alerts(&[alert("a1", 5), alert("a2", 1)]).unwrap(), [SaveOutcome::Inserted; 2]);
    store.set_alert_status("a1", AlertStatus::Acknowledged).unwrap().unwrap();
    assert_eq!(store.save_alerts(&[alert("a1", 9)]).unwrap(), [SaveOutcome::Updated]);
    let a1 = store.alert("a1").unwrap().unwrap();
    assert_eq!((a1.count, a1.status), (9, AlertStatus::Acknowledged));
    store.set_alert_status("a2", AlertStatus::Resolved).unwrap().unwrap();
    assert_eq!(store.save_alerts(&[alert("a2", 7)]).unwrap(), [SaveOutcome::AlreadyResolved]);
    assert_eq!(store.alert("a2").unwrap().unwrap().count, 1);
    assert!(store.set_alert_status("nope", AlertStatus::Resolved).unwrap().is_none());
    let open = store.alerts(&AlertQuery { status: Some(AlertStatus::Acknowledged), limit: 10, ..Default::default() });
    assert_eq!(open.unwrap().items.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a1"]);
    let paged = store.alerts(&AlertQuery { limit: 1, ..Default::default() }).unwrap();
    assert_eq!((paged.items[0].id.as_str(), paged.next_cursor.as_deref()), ("a2", Some("a2")));
    let stats = store.stats().unwrap();
    assert_eq!((stats.alerts_total, stats.alerts_by_status.get("resolved")), (2, Some(&1)));
    assert_eq!(store.rules_fired().unwrap()["ssh-brute-force"].alerts, 2);
    // A flush under attack saves thousands at once: more than one statement holds.
    let burst: Vec<Alert> = (0..7_000).map(|i| alert(&format!("burst-{i:05}"), 1)).collect();
    assert!(store.save_alerts(&burst).unwrap().iter().all(|o| *o == SaveOutcome::Inserted));
    assert!(store.save_alerts(&burst).unwrap().iter().all(|o| *o == SaveOutcome::Updated));
    // An analyst on another node (another store on the same database) acts
    // on alerts this worker keeps growing: the worker sees it at its next save.
    let analyst = self::open(&server, "rampart_conformance");
    let worker_alert = |id: &str, count| Alert { title: format!("opened as {id}"), ..alert(id, count) };
    assert_eq!(store.save_alerts(&[worker_alert("w1", 1), worker_alert("w2", 1)]).unwrap(), [SaveOutcome::Inserted; 2]);
    analyst.set_alert_status("w1", AlertStatus::Resolved).unwrap().unwrap();
    analyst.set_alert_status("w2", AlertStatus::Acknowledged).unwrap().unwrap();
    let grown = store.save_alerts(&[Alert { title: "later title".into(), ..alert("w1", 5) }, alert("w2", 6)]);
    assert_eq!(grown.unwrap(), [SaveOutcome::AlreadyResolved, SaveOutcome::Updated]);
    let (w1, w2) = (analyst.alert("w1").unwrap().unwrap(), analyst.alert("w2").unwrap().unwrap());
    assert_eq!((w1.count, w1.status), (1, AlertStatus::Resolved));
    assert_eq!((w2.count, w2.status, w2.title.as_str()), (6, AlertStatus::Acknowledged, "opened as w2"));
    // Ids minted after a store opened are new to it unless it wrote them;
    // one minted before it opened is looked up (a store opened later).
    let minted = Alert::new_id();
    assert_eq!(store.save_alerts(&[worker_alert(&minted, 1)]).unwrap(), [SaveOutcome::Inserted]);
    let later = self::open(&server, "rampart_conformance");
    later.set_alert_status(&minted, AlertStatus::Acknowledged).unwrap().unwrap();
    assert_eq!(later.save_alerts(&[alert(&minted, 3)]).unwrap(), [SaveOutcome::Updated]);
    let back = analyst.alert(&minted).unwrap().unwrap();
    assert_eq!((back.count, back.status, back.title), (3, AlertStatus::Acknowledged, format!("opened as {minted}")));
    assert_eq!(store.save_alerts(&[alert(&Alert::new_id(), 1)]).unwrap(), [SaveOutcome::Inserted]);

    // Decisions: ids, the active filter, deletion on record, the stream's after_id.
    let ban = Decision::new(DecisionKind::Ban, Target::parse("192.0.2.1").unwrap(), Origin::Manual, 1_000, None);
    let first = store.add_decision(&ban).unwrap();
    let mut short = ban.clone();
    short.target = Target::parse("198.51.100.0/24").unwrap();
    short.expires_ms = Some(2_000);
    let second = store.add_decision(&short).unwrap();
    assert!(second.id > first.id);
    let active = store.decisions(&DecisionQuery { active_at_ms: Some(5_000), limit: 10, ..Default::default() });
    assert_eq!(active.unwrap().iter().map(|d| d.id).collect::<Vec<_>>(), [first.id]);
    let deleted = store.delete_decision(first.id, 6_000).unwrap().unwrap();
    assert_eq!(deleted.deleted_ms, Some(6_000));
    assert!(store.delete_decision(first.id, 7_000).unwrap().is_none());
    let since = store.decisions(&DecisionQuery { after_id: Some(first.id), limit: 10, ..Default::default() });
    assert_eq!(since.unwrap()[0].target, short.target);
    // A burst's decisions in one insert, and read back for many targets at
    // once: newest first, at most `per_target` of each, the deleted one's
    // latest version.
    let burst: Vec<Decision> = (1..=3)
        .map(|i| {
            Decision::new(
                DecisionKind::Ban,
                Target::parse(&format!("198.51.100.{i}")).unwrap(),
                Origin::Rule,
                10 + i,
                None,
            )
        })
        .chain([Decision::new(DecisionKind::Ban, Target::parse("198.51.100.1").unwrap(), Origin::Rule, 20, None)])
        .collect();
    let stored = store.add_decisions(&burst).unwrap();
    assert_eq!(stored.iter().map(|d| d.created_ms).collect::<Vec<_>>(), [11, 12, 13, 20]);
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    let targets = ["198.51.100.1", "198.51.100.3", "203.0.113.9"].map(String::from);
    let about = store.decisions_about(&targets, 1).unwrap();
    let mut got: Vec<(String, i64)> = about.iter().map(|d| (d.target.to_string(), d.created_ms)).collect();
    got.sort();
    assert_eq!(got, [("198.51.100.1".to_string(), 20), ("198.51.100.3".to_string(), 13)]);
    let deleted_too = store.decisions_about(&[first.target.to_string()], 10).unwrap();
    assert_eq!(deleted_too.iter().find(|d| d.id == first.id).unwrap().deleted_ms, Some(6_000));
    store
        .record_actions(&[Action {
            id: 0,
            decision_id: first.id,
            at_ms: 1,
            enforcer: "nftables".into(),
            op: "apply".into(),
            result: ActionResult::Applied,
            detail: "it's done".into(),
        }])
        .unwrap();
    assert_eq!(store.actions(None, 10).unwrap().items[0].detail, "it's done");
    store.set_stream_cursor("t1", StreamCursor { last_id: 5, polled_ms: 9 }).unwrap();
    store.set_stream_cursor("t1", StreamCursor { last_id: 6, polled_ms: 10 }).unwrap();
    assert_eq!(store.stream_cursor("t1").unwrap(), Some(StreamCursor { last_id: 6, polled_ms: 10 }));

    // Tokens and sessions: revoking a token ends its sessions.
    let token = TokenRecord {
        id: "tok1".into(),
        name: "ci".into(),
        role: Role::Admin,
        salt: "s".into(),
        hash: "h".into(),
        created_ms: 1,
    };
    store.add_token(&token).unwrap();
    assert_eq!(store.token_count().unwrap(), 1);
    let session = SessionRecord { id_hash: "sh".into(), token_id: "tok1".into(), created_ms: 1, expires_ms: 100 };
    store.add_session(&session).unwrap();
    assert_eq!(store.session("sh", 50).unwrap(), Some(session.clone()));
    assert!(store.session("sh", 100).unwrap().is_none(), "expired");
    assert_eq!(store.token("tok1").unwrap().map(|t| t.role), Some(Role::Admin));
    assert!(store.revoke_token("tok1").unwrap());
    assert!(store.token("tok1").unwrap().is_none(), "revoked here: gone at once");
    assert!(!store.revoke_token("tok1").unwrap());
    assert!(store.session("sh", 50).unwrap().is_none());
    assert_eq!(store.token_count().unwrap(), 0);

    // Models: the role moves from one model to another; replacing keeps it.
    let info = |name: &str, added_ms| ModelInfo {
        name: name.into(),
        algo: "forest".into(),
        classes: vec!["normal".into(), "attack".into()],
        format_version: 1,
        rampart_version: "0.1.0".into(),
        data_sha256: "00".into(),
        metrics: serde_json::json!({"f1": 0.9}),
        created_ms: 1,
        added_ms,
        role: None,
    };
    store.put_model(&info("m1", 1), "body one").unwrap();
    store.put_model(&info("m2", 2), "body two").unwrap();
    assert!(store.set_model_role("m1", Some(ModelRole::Active)).unwrap());
    assert!(store.set_model_role("m2", Some(ModelRole::Active)).unwrap());
    store.put_model(&info("m2", 3), "body two, again").unwrap();
    let models = store.models().unwrap();
    assert_eq!(
        models.iter().map(|m| (m.name.as_str(), m.role)).collect::<Vec<_>>(),
        [("m2", Some(ModelRole::Active)), ("m1", None)]
    );
    assert_eq!(store.model_body("m2").unwrap().as_deref(), Some("body two, again"));
    assert!(!store.set_model_role("m3", None).unwrap());
    // An alert's triage: the latest written wins.
    assert_eq!(store.triage("a-1").unwrap(), None);
    store.put_triage("a-1", "{\"source\":\"fallback\"}").unwrap();
    store.put_triage("a-1", "{\"source\":\"llm\"}").unwrap();
    assert_eq!(store.triage("a-1").unwrap().as_deref(), Some("{\"source\":\"llm\"}"));
}

#[test]
fn merge_now_collapses_duplicates_even_while_background_merges_run() {
    // Many large redelivered parts at once keep ClickHouse's background
    // merges busy; 18.16 then skips a plain OPTIMIZE without a word. The
    // rows are made by the server: the point is the parts, not the events.
    let server = ClickHouseServer::start();
    let store = open(&server, "rampart_busy_merge");
    let today = "toDate(now())";
    for _ in 0..30 {
        server.query(&format!(
            "INSERT INTO rampart_busy_merge.events SELECT number, {today}, 0, 0, 'event', '', '', '{{}}' FROM numbers(200000)"
        ));
    }
    store.merge_now().unwrap();
    assert_eq!(store.event_rows().unwrap(), (200_000, 200_000));
}

#[test]
fn redelivered_events_collapse_and_retention_drops_whole_days() {
    let server = ClickHouseServer::start();
    let store = open(&server, "rampart_dedup");
    let now = rampart_core::time::now_ms();
    let from_bus = |offset: i64| {
        let mut e = event("10.0.0.9", "Failed password", now);
        e.id = Some(bus_record_id(now, 2, offset));
        e
    };
    let mut first: Vec<Event> = (0..100).map(from_bus).collect();
    store.append_events(&mut first).unwrap();
    // A worker died before committing; the next one reads half of it again.
    let mut again: Vec<Event> = (50..150).map(from_bus).collect();
    store.append_events(&mut again).unwrap();
    assert_eq!(store.event_rows().unwrap(), (200, 150));
    assert_eq!(store.events(&EventQuery { limit: 1_000, ..Default::default() }).unwrap().items.len(), 150);
    store.merge_now().unwrap();
    assert_eq!(store.event_rows().unwrap(), (150, 150));

    let mut old = vec![event("10.0.0.8", "old", 0)];
    old[0].ingested_ms = now - 3 * 86_400_000;
    store.append_events(&mut old).unwrap();
    assert_eq!(store.purge_events_before(now - 86_400_000).unwrap(), 1);
    assert_eq!(store.event_rows().unwrap(), (150, 150));
    assert_eq!(store.purge_events_before(now - 86_400_000).unwrap(), 0);

    // Telemetry goes at its own retention, by a mutation the server runs in
    // the background; the events beside it stay.
    let mut mixed = vec![event("10.0.0.7", "kept", now), Event::new(EventKind::Metric, now)];
    for e in &mut mixed {
        e.ingested_ms = now - 2 * 3_600_000;
    }
    store.append_events(&mut mixed).unwrap();
    assert_eq!(store.purge_kinds_before(&[EventKind::Metric, EventKind::State], now - 3_600_000).unwrap(), 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.event_rows().unwrap().1 != 151 {
        assert!(std::time::Instant::now() < deadline, "the delete mutation did not finish");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let left = store.events(&EventQuery { limit: 1_000, ..Default::default() }).unwrap().items;
    assert!(left.iter().all(|e| e.kind == EventKind::Event) && left.len() == 151);

    // What the console's charts read.
    let series = store.series(SeriesOf::EventsByKind, now - 60_000, now + 60_000, 120_000).unwrap();
    assert_eq!(series.iter().map(|p| (p.key.as_str(), p.n)).collect::<Vec<_>>(), vec![("event", 151)]);
    let top = store.top_sources(now - 60_000, now + 60_000, 5).unwrap();
    assert_eq!(top.items, vec![("10.0.0.9".to_owned(), 150), ("10.0.0.7".to_owned(), 1)]);
    store.save_alerts(&[alert("series", 1)]).unwrap();
    let by_severity = store.series(SeriesOf::AlertsBySeverity, 0, 60_000, 60_000).unwrap();
    assert_eq!(by_severity, vec![SeriesPoint { t_ms: 0, key: "high".into(), n: 1 }]);
}

#[test]
fn a_stopped_server_is_an_error_not_a_hang_and_recovers() {
    let mut server = ClickHouseServer::start();
    let store = open(&server, "rampart_outage");
    let token = TokenRecord {
        id: "ingest".into(),
        name: "agent".into(),
        role: Role::Reader,
        salt: "s".into(),
        hash: "h".into(),
        created_ms: 1,
    };
    store.add_token(&token).unwrap();
    assert!(store.token("ingest").unwrap().is_some());
    server.stop();
    // Ingest keeps authenticating the tokens it knows while the server is away.
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert_eq!(store.token("ingest").unwrap(), Some(token));
    assert!(store.token("unknown").is_err());
    let mut events = vec![event("10.0.0.1", "x", 1)];
    let error = store.append_events(&mut events).unwrap_err().to_string();
    assert!(error.contains("clickhouse"), "{error}");
    assert!(store.ping().is_err());
    server.resume();
    store.append_events(&mut events).unwrap();
    assert_eq!(store.event_rows().unwrap().1, 1);
    assert_eq!(server.query("SELECT count() FROM rampart_outage.events").trim(), "1");
}

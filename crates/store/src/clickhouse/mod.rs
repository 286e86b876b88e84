//! `ClickHouseStore`: the `Store` for fleets, over ClickHouse's HTTP
//! interface. Many workers and API nodes share one database; ids come from
//! `RecordIds` (time-ordered, made without coordination) or, for events
//! read from the bus, from the message's place in its partition.
//!
//! Uses only what ClickHouse 18.16 (Debian's) and every later server both
//! have: MergeTree families, day partitions, `FINAL`, `LIMIT BY`, JSONEachRow.

mod alerts;
mod client;
mod events;
mod records;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rampart_core::config::ClickHouseConfig;
use rampart_core::{
    Action, Alert, AlertQuery, AlertStatus, Decision, DecisionQuery, Event, EventKind, EventQuery, MetricRollup,
    ModelInfo, ModelRole, Page, RecordIds, RuleFired, SaveOutcome, SeriesOf, SeriesPoint, SessionRecord, Store,
    StoreError, StoreStats, StreamCursor, TokenRecord, TopSources,
};

use client::{Client, quote};

/// A token read less than this long ago is not read again: every API
/// request checks its token, and a revocation reaches every node within it.
const TOKEN_FRESH: Duration = Duration::from_secs(5);
/// While the server is unreachable, tokens read within this long still
/// pass, so ingest nodes keep taking events into the bus during an outage.
const TOKEN_STALE_OK: Duration = Duration::from_secs(600);
/// Bounds the cache (only tokens that exist are kept).
const TOKEN_CACHE_MAX: usize = 1_024;
/// How long `merge_now` waits for background merges to let go of the parts.
const MERGE_WAIT: Duration = Duration::from_secs(30);

pub struct ClickHouseStore {
    client: Client,
    ids: RecordIds,
    tokens: Mutex<HashMap<String, (TokenRecord, Instant)>>,
    written: alerts::Written,
}

impl ClickHouseStore {
    /// Connects, creating the database and tables when missing.
    pub fn open(config: &ClickHouseConfig) -> Result<ClickHouseStore, StoreError> {
        let password = match &config.password_env {
            Some(var) => std::env::var(var).map_err(|_| {
                StoreError::Backend(format!("store.clickhouse.password_env: environment variable {var} is not set"))
            })?,
            None => String::new(),
        };
        let client = Client::new(
            &config.url,
            &config.database,
            &config.user,
            password,
            Duration::from_secs(config.timeout_secs),
        );
        client.exec_global(&format!("CREATE DATABASE IF NOT EXISTS {}", config.database))?;
        for statement in [events::SCHEMA].into_iter().chain(alerts::SCHEMA).chain(records::SCHEMA) {
            client.exec(statement)?;
        }
        let mut writer = [0u8; 1];
        getrandom::fill(&mut writer).map_err(|e| StoreError::Backend(format!("no randomness for record ids: {e}")))?;
        Ok(ClickHouseStore {
            client,
            ids: RecordIds::new(writer[0]),
            tokens: Mutex::new(HashMap::new()),
            written: alerts::Written::new(),
        })
    }

    /// Collapses duplicate rows now rather than in the background: for tests
    /// and benchmarks that count rows exactly. ClickHouse skips an OPTIMIZE
    /// without a word while a background merge holds some of the parts
    /// (18.16 does; later versions wait), so it is asked to say so, and
    /// asked again until the merge is its own.
    pub fn merge_now(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + MERGE_WAIT;
        loop {
            match self.client.exec_with("OPTIMIZE TABLE events FINAL", &[("optimize_throw_if_noop", "1")]) {
                Err(StoreError::Backend(e)) if e.contains("OPTIMIZE") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                done => return done,
            }
        }
    }

    /// Event rows stored (duplicates included until merged) and distinct ids.
    pub fn event_rows(&self) -> Result<(u64, u64), StoreError> {
        #[derive(serde::Deserialize)]
        struct Counts {
            rows: u64,
            ids: u64,
        }
        let counts: Vec<Counts> = self.client.select("SELECT count() AS rows, uniqExact(id) AS ids FROM events")?;
        Ok(counts.first().map_or((0, 0), |c| (c.rows, c.ids)))
    }
}

impl Store for ClickHouseStore {
    fn append_events(&self, list: &mut [Event]) -> Result<(), StoreError> {
        for event in list.iter_mut() {
            if event.id.is_none() {
                event.id = Some(self.ids.next());
            }
        }
        self.client.insert_binary("events", &events::rows(list))
    }

    fn events(&self, q: &EventQuery) -> Result<Page<Event>, StoreError> {
        let limit = q.limit.max(1);
        let mut items = events::query(&self.client, q, limit)?;
        let next_cursor = crate::page_cursor(&mut items, limit, |e| e.id.unwrap_or(0).to_string());
        Ok(Page { items, next_cursor })
    }

    fn save_alerts(&self, list: &[Alert]) -> Result<Vec<SaveOutcome>, StoreError> {
        alerts::save(&self.client, &self.ids, &self.written, list)
    }

    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        alerts::get(&self.client, id)
    }

    fn alerts(&self, q: &AlertQuery) -> Result<Page<Alert>, StoreError> {
        let limit = q.limit.max(1);
        let mut items = alerts::query(&self.client, q, limit)?;
        let next_cursor = crate::page_cursor(&mut items, limit, |a| a.id.clone());
        Ok(Page { items, next_cursor })
    }

    fn set_alert_status(&self, id: &str, status: AlertStatus) -> Result<Option<Alert>, StoreError> {
        alerts::set_status(&self.client, &self.ids, id, status, rampart_core::time::now_ms())
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let by_kind = events::counts(&self.client)?;
        let [alerts_by_severity, alerts_by_status, open_by_severity] = alerts::counts(&self.client)?;
        Ok(StoreStats {
            events_total: by_kind.iter().map(|(_, n)| n).sum(),
            events_by_kind: by_kind.into_iter().map(|(k, n)| (k.as_str().to_owned(), n)).collect(),
            alerts_total: alerts_by_severity.values().sum(),
            alerts_by_severity,
            alerts_by_status,
            open_by_severity,
        })
    }

    fn rules_fired(&self) -> Result<BTreeMap<String, RuleFired>, StoreError> {
        alerts::rules_fired(&self.client)
    }

    fn purge_events_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        events::purge(&self.client, cutoff_ms)
    }

    fn purge_kinds_before(&self, kinds: &[EventKind], cutoff_ms: i64) -> Result<u64, StoreError> {
        if EventKind::ALL.iter().all(|k| kinds.contains(k)) {
            return events::purge(&self.client, cutoff_ms);
        }
        events::purge_kinds(&self.client, kinds, cutoff_ms)
    }

    /// ClickHouse keeps no rollups yet: its telemetry lives for its kind's
    /// retention at full resolution (compressed by the server).
    fn metric_rollups(&self, _since_ms: i64, _until_ms: i64) -> Result<Vec<MetricRollup>, StoreError> {
        Ok(Vec::new())
    }

    fn purge_rollups_before(&self, _cutoff_ms: i64) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Counted from the rows themselves: a ClickHouse group-by over a
    /// week is what the server is for.
    fn series(&self, of: SeriesOf, since_ms: i64, until_ms: i64, step_ms: i64) -> Result<Vec<SeriesPoint>, StoreError> {
        let step = step_ms.max(1);
        let sql = match of {
            SeriesOf::EventsByKind => format!(
                "SELECT intDiv(ts_ms, {step}) * {step} AS t, kind AS key, uniqExact(id) AS n FROM events
                 WHERE ts_ms >= {since_ms} AND ts_ms < {until_ms} GROUP BY t, key ORDER BY t, key"
            ),
            SeriesOf::AlertsBySeverity | SeriesOf::AlertsByRule => {
                let column = if of == SeriesOf::AlertsBySeverity { "severity" } else { "rule_id" };
                format!(
                    "SELECT intDiv(created_ms, {step}) * {step} AS t, {column} AS key, count() AS n FROM alerts FINAL
                     WHERE created_ms >= {since_ms} AND created_ms < {until_ms} GROUP BY t, key ORDER BY t, key"
                )
            }
        };
        #[derive(serde::Deserialize)]
        struct Row {
            t: i64,
            key: String,
            n: u64,
        }
        let rows: Vec<Row> = self.client.select(&sql)?;
        Ok(rows.into_iter().map(|r| SeriesPoint { t_ms: r.t, key: r.key, n: r.n }).collect())
    }

    fn top_sources(&self, since_ms: i64, until_ms: i64, limit: usize) -> Result<TopSources, StoreError> {
        let telemetry = EventKind::ALL
            .into_iter()
            .filter(|k| k.is_telemetry())
            .map(|k| quote(k.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        #[derive(serde::Deserialize)]
        struct Row {
            ip: String,
            n: u64,
        }
        let rows: Vec<Row> = self.client.select(&format!(
            "SELECT source_ip AS ip, uniqExact(id) AS n FROM events
             WHERE ts_ms >= {since_ms} AND ts_ms < {until_ms} AND source_ip != '' AND kind NOT IN ({telemetry})
             GROUP BY ip ORDER BY n DESC, ip LIMIT {limit}"
        ))?;
        Ok(TopSources { items: rows.into_iter().map(|r| (r.ip, r.n)).collect(), complete: true })
    }

    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        records::add_token(&self.client, &self.ids, token)
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let cached = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned();
        if let Some((token, read)) = &cached
            && read.elapsed() < TOKEN_FRESH
        {
            return Ok(Some(token.clone()));
        }
        match records::tokens(&self.client, &format!(" AND id = {}", quote(id))) {
            Ok(mut found) => {
                let token = found.pop();
                let mut cache = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
                match &token {
                    Some(token) if cache.len() < TOKEN_CACHE_MAX || cache.contains_key(id) => {
                        cache.insert(id.to_owned(), (token.clone(), Instant::now()));
                    }
                    Some(_) => {}
                    None => {
                        cache.remove(id);
                    }
                }
                Ok(token)
            }
            Err(error) => match cached {
                Some((token, read)) if read.elapsed() < TOKEN_STALE_OK => {
                    tracing::warn!(%error, "ClickHouse unreachable; a token read earlier is trusted meanwhile.");
                    Ok(Some(token))
                }
                _ => Err(error),
            },
        }
    }

    fn token_count(&self) -> Result<u64, StoreError> {
        Ok(records::tokens(&self.client, "")?.len() as u64)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        records::tokens(&self.client, "")
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        records::revoke_token(&self.client, &self.ids, id)
    }

    fn add_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        records::add_session(&self.client, &self.ids, session)
    }

    fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>, StoreError> {
        records::session(&self.client, id_hash, now_ms)
    }

    fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        records::delete_session(&self.client, &self.ids, id_hash)
    }

    fn add_decision(&self, decision: &Decision) -> Result<Decision, StoreError> {
        let stored = records::add_decisions(&self.client, &self.ids, std::slice::from_ref(decision))?;
        stored.into_iter().next().ok_or_else(|| StoreError::Backend("no decision stored".into()))
    }

    fn add_decisions(&self, decisions: &[Decision]) -> Result<Vec<Decision>, StoreError> {
        records::add_decisions(&self.client, &self.ids, decisions)
    }

    fn decisions_about(&self, targets: &[String], per_target: usize) -> Result<Vec<Decision>, StoreError> {
        records::decisions_about(&self.client, targets, per_target)
    }

    fn decision(&self, id: i64) -> Result<Option<Decision>, StoreError> {
        records::decision_by_id(&self.client, id)
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<Decision>, StoreError> {
        records::decisions(&self.client, query)
    }

    fn delete_decision(&self, id: i64, at_ms: i64) -> Result<Option<Decision>, StoreError> {
        records::delete_decision(&self.client, &self.ids, id, at_ms)
    }

    fn stream_cursor(&self, caller: &str) -> Result<Option<StreamCursor>, StoreError> {
        records::stream_cursor(&self.client, caller)
    }

    fn set_stream_cursor(&self, caller: &str, cursor: StreamCursor) -> Result<(), StoreError> {
        records::set_stream_cursor(&self.client, &self.ids, caller, cursor)
    }

    fn record_actions(&self, actions: &[Action]) -> Result<(), StoreError> {
        records::record_actions(&self.client, &self.ids, actions)
    }

    fn actions(&self, before_id: Option<i64>, limit: usize) -> Result<Page<Action>, StoreError> {
        records::actions(&self.client, before_id, limit)
    }

    fn put_model(&self, info: &ModelInfo, body: &str) -> Result<(), StoreError> {
        records::put_model(&self.client, &self.ids, info, body)
    }

    fn models(&self) -> Result<Vec<ModelInfo>, StoreError> {
        records::models(&self.client)
    }

    fn model_body(&self, name: &str) -> Result<Option<String>, StoreError> {
        records::model_body(&self.client, name)
    }

    fn put_triage(&self, alert_id: &str, body: &str) -> Result<(), StoreError> {
        records::put_triage(&self.client, &self.ids, alert_id, body)
    }

    fn triage(&self, alert_id: &str) -> Result<Option<String>, StoreError> {
        records::triage(&self.client, alert_id)
    }

    fn set_model_role(&self, name: &str, role: Option<ModelRole>) -> Result<bool, StoreError> {
        records::set_model_role(&self.client, &self.ids, name, role)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.client.exec("SELECT 1")
    }
}

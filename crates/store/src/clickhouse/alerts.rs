//! Alerts: what detection writes (`alerts`) apart from what people write
//! (`alert_status`), each a ReplacingMergeTree whose latest version wins.
//! Kept apart so a worker growing an alert can never overwrite the
//! acknowledgement an analyst made a moment earlier on an API node.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rampart_core::{Alert, AlertQuery, AlertStatus, RecordIds, RuleFired, SaveOutcome, StoreError};
use serde::Deserialize;

use super::client::{Client, push_string, quote};

pub(super) const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS alerts (
        id String, version UInt64, created_ms Int64, rule_id String, severity String, count UInt64,
        last_seen_ms Int64, doc String
    ) ENGINE = ReplacingMergeTree(version) ORDER BY id",
    "CREATE TABLE IF NOT EXISTS alert_status (
        id String, version UInt64, status String, updated_ms Int64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY id",
];

/// Alert ids per lookup: 1,000 quoted UUIDs are ~40 KiB, twice in a statement.
const LOOKUP_IDS: usize = 1_000;

/// Every alert with the status people gave it (or the one it opened with).
const CURRENT: &str = "SELECT id, rule_id, severity, doc, person AS status, status_ms
    FROM (SELECT id, rule_id, severity, doc FROM alerts FINAL)
    ANY LEFT JOIN (SELECT id, status AS person, updated_ms AS status_ms FROM alert_status FINAL) USING id";

#[derive(Deserialize)]
struct Row {
    id: String,
    doc: String,
    status: String,
    status_ms: i64,
}

fn decode(row: Row) -> Result<Alert, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { id: format!("alert {}", row.id), reason };
    let mut alert: Alert = serde_json::from_str(&row.doc).map_err(|e| corrupt(e.to_string()))?;
    if !row.status.is_empty() {
        set_person_status(&mut alert, &row.status, row.status_ms)?;
    }
    Ok(alert)
}

/// The status a person gave an alert, over the one it opened with.
fn set_person_status(alert: &mut Alert, status: &str, updated_ms: i64) -> Result<(), StoreError> {
    alert.status = AlertStatus::parse(status).ok_or_else(|| StoreError::Corrupt {
        id: format!("alert {}", alert.id),
        reason: format!("unknown status {status:?}"),
    })?;
    alert.updated_ms = alert.updated_ms.max(updated_ms);
    Ok(())
}

fn select(client: &Client, filter: &str, limit: usize) -> Result<Vec<Alert>, StoreError> {
    let sql = format!("SELECT * FROM ({CURRENT}) WHERE 1 = 1{filter} ORDER BY id DESC LIMIT {limit}");
    client.select::<Row>(&sql)?.into_iter().map(decode).collect()
}

/// The current version of the alerts `ids` names (a quoted, comma-separated
/// list). The ids go inside both sides of the join, where the primary key
/// finds them: a filter outside `CURRENT` is not pushed down by older
/// servers, and a worker's every alert save would deduplicate the whole table.
fn select_ids(client: &Client, ids: &str) -> Result<Vec<Alert>, StoreError> {
    let sql = format!(
        "SELECT id, rule_id, severity, doc, person AS status, status_ms
         FROM (SELECT id, rule_id, severity, doc FROM alerts WHERE id IN ({ids})
               ORDER BY id, version DESC LIMIT 1 BY id)
         ANY LEFT JOIN (SELECT id, status AS person, updated_ms AS status_ms FROM alert_status WHERE id IN ({ids})
               ORDER BY id, version DESC LIMIT 1 BY id) USING id"
    );
    client.select::<Row>(&sql)?.into_iter().map(decode).collect()
}

pub(super) fn get(client: &Client, id: &str) -> Result<Option<Alert>, StoreError> {
    Ok(select_ids(client, &quote(id))?.pop())
}

/// Newest first, one more than `limit` so the caller can tell a next page exists.
pub(super) fn query(client: &Client, q: &AlertQuery, limit: usize) -> Result<Vec<Alert>, StoreError> {
    let mut filter = String::new();
    if let Some(status) = q.status {
        // An alert no one touched has the status it opened with, in its document.
        filter.push_str(&format!(
            " AND if(status = '', visitParamExtractString(doc, 'status'), status) = {}",
            quote(status.as_str())
        ));
    }
    if let Some(severity) = q.severity {
        filter.push_str(&format!(" AND severity = {}", quote(severity.as_str())));
    }
    if let Some(rule) = &q.rule_id {
        filter.push_str(&format!(" AND rule_id = {}", quote(rule)));
    }
    if let Some(before) = &q.before_id {
        filter.push_str(&format!(" AND id < {}", quote(before)));
    }
    select(client, &filter, limit + 1)
}

/// The alerts this process last wrote, by id: detection grows the same
/// alerts over and over, and reading each one's document back from the
/// server before every save was most of ClickHouse's work under attack.
/// What a save keeps from the stored alert (title, context, tags, the time
/// and status it opened with) never changes after it opens; the status a
/// person sets lives in `alert_status` and is still read every time.
pub(super) struct Written(Mutex<Cache>);

struct Cache {
    docs: HashMap<String, Alert>,
    /// Every alert this process saved with an id minted after this time is
    /// in `docs`: ids are minted by the detection that saves them (UUID v7,
    /// random below the time), so a newer id not in `docs` is a new alert
    /// and needs no lookup.
    complete_since_ms: i64,
}

/// Bounds `Written`; past it the cache starts over (and reads again).
const WRITTEN_MAX: usize = 100_000;

impl Written {
    pub(super) fn new() -> Written {
        Written(Mutex::new(Cache { docs: HashMap::new(), complete_since_ms: rampart_core::time::now_ms() }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    updated_ms: i64,
}

/// The status people gave the alerts `ids` names (a quoted list), if any.
fn statuses(client: &Client, ids: &str) -> Result<Vec<Status>, StoreError> {
    client.select(&format!(
        "SELECT id, status, updated_ms FROM alert_status WHERE id IN ({ids}) ORDER BY id, version DESC LIMIT 1 BY id"
    ))
}

/// The stored version of each of `alerts`, as `select_ids` would read it:
/// from `written` where this process wrote it, with the person's status
/// read from the server either way.
fn stored_versions(client: &Client, written: &Written, alerts: &[Alert]) -> Result<HashMap<String, Alert>, StoreError> {
    let mut stored: HashMap<String, Alert> = HashMap::new();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    {
        let cache = written.lock();
        for a in alerts {
            match cache.docs.get(&a.id) {
                Some(old) => {
                    stored.insert(a.id.clone(), old.clone());
                    known.push(quote(&a.id));
                }
                None if Alert::id_minted_ms(&a.id).is_some_and(|ms| ms > cache.complete_since_ms) => {}
                None => unknown.push(quote(&a.id)),
            }
        }
    }
    // A statement is at most 256 KiB (max_query_size): look ids up in slices.
    for slice in known.chunks(LOOKUP_IDS) {
        for s in statuses(client, &slice.join(","))? {
            let Some(alert) = stored.get_mut(&s.id) else { continue };
            set_person_status(alert, &s.status, s.updated_ms)?;
        }
    }
    for slice in unknown.chunks(LOOKUP_IDS) {
        stored.extend(select_ids(client, &slice.join(","))?.into_iter().map(|a| (a.id.clone(), a)));
    }
    Ok(stored)
}

/// Saves detection's view of each alert: new ones inserted, open ones
/// grown (keeping the title, context and status they opened with),
/// resolved ones left alone.
pub(super) fn save(
    client: &Client,
    ids: &RecordIds,
    written: &Written,
    alerts: &[Alert],
) -> Result<Vec<SaveOutcome>, StoreError> {
    let stored = stored_versions(client, written, alerts)?;
    let mut rows = Vec::new();
    let mut docs = Vec::with_capacity(alerts.len());
    let mut outcomes = Vec::with_capacity(alerts.len());
    for alert in alerts {
        let (doc, outcome) = match stored.get(&alert.id) {
            Some(old) if old.status == AlertStatus::Resolved => {
                outcomes.push(SaveOutcome::AlreadyResolved);
                continue;
            }
            Some(old) => {
                let mut grown = old.clone();
                grown.severity = alert.severity;
                grown.score = alert.score;
                grown.count = alert.count;
                grown.first_seen_ms = alert.first_seen_ms;
                grown.last_seen_ms = alert.last_seen_ms;
                grown.updated_ms = alert.updated_ms;
                grown.evidence.clone_from(&alert.evidence);
                (grown, SaveOutcome::Updated)
            }
            None => (alert.clone(), SaveOutcome::Inserted),
        };
        push_row(&mut rows, ids.next() as u64, &doc)?;
        docs.push(doc);
        outcomes.push(outcome);
    }
    client.insert_binary("alerts", &rows)?;
    let mut cache = written.lock();
    if cache.docs.len() + docs.len() > WRITTEN_MAX {
        cache.docs.clear();
        cache.complete_since_ms = rampart_core::time::now_ms();
    }
    cache.docs.extend(docs.into_iter().map(|doc| (doc.id.clone(), doc)));
    Ok(outcomes)
}

/// One `alerts` row as RowBinary, in the table's column order.
fn push_row(out: &mut Vec<u8>, version: u64, doc: &Alert) -> Result<(), StoreError> {
    let json = serde_json::to_vec(doc).map_err(|e| StoreError::Backend(format!("cannot encode alert: {e}")))?;
    push_string(out, doc.id.as_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&doc.created_ms.to_le_bytes());
    push_string(out, doc.rule_id.as_bytes());
    push_string(out, doc.severity.as_str().as_bytes());
    out.extend_from_slice(&doc.count.to_le_bytes());
    out.extend_from_slice(&doc.last_seen_ms.to_le_bytes());
    push_string(out, &json);
    Ok(())
}
pub(super) fn set_status(
    client: &Client,
    ids: &RecordIds,
    id: &str,
    status: AlertStatus,
    now_ms: i64,
) -> Result<Option<Alert>, StoreError> {
    if get(client, id)?.is_none() {
        return Ok(None);
    }
    let row = serde_json::json!({"id": id, "version": ids.next(), "status": status.as_str(), "updated_ms": now_ms});
    client.insert("alert_status", format!("{row}\n").as_bytes())?;
    get(client, id)
}

#[derive(Deserialize)]
struct Count {
    key: String,
    n: u64,
}

/// Alerts by severity, by status, and still open by severity.
pub(super) fn counts(client: &Client) -> Result<[BTreeMap<String, u64>; 3], StoreError> {
    let base = format!(
        "SELECT severity, if(status = '', visitParamExtractString(doc, 'status'), status) AS state FROM ({CURRENT})"
    );
    let count = |sql: String| -> Result<BTreeMap<String, u64>, StoreError> {
        Ok(client.select::<Count>(&sql)?.into_iter().map(|c| (c.key, c.n)).collect())
    };
    Ok([
        count(format!("SELECT severity AS key, count() AS n FROM ({base}) GROUP BY key"))?,
        count(format!("SELECT state AS key, count() AS n FROM ({base}) GROUP BY key"))?,
        count(format!("SELECT severity AS key, count() AS n FROM ({base}) WHERE state = 'open' GROUP BY key"))?,
    ])
}

#[derive(Deserialize)]
struct Fired {
    rule_id: String,
    severity: String,
    alerts: u64,
    events: u64,
    last_seen_ms: i64,
}

pub(super) fn rules_fired(client: &Client) -> Result<BTreeMap<String, RuleFired>, StoreError> {
    let rows: Vec<Fired> = client.select(
        "SELECT rule_id, severity, count() AS alerts, sum(count) AS events, max(last_seen_ms) AS last_seen_ms
         FROM alerts FINAL GROUP BY rule_id, severity",
    )?;
    let mut fired: BTreeMap<String, RuleFired> = BTreeMap::new();
    for r in rows {
        let f = fired.entry(r.rule_id).or_default();
        f.alerts += r.alerts;
        f.events += r.events;
        f.last_seen_ms = f.last_seen_ms.max(r.last_seen_ms);
        f.by_severity.insert(r.severity, r.alerts);
    }
    Ok(fired)
}

//! The small tables: decisions, the audit trail, tokens, sessions, stream
//! cursors and the model registry. ClickHouse has no UPDATE worth the name
//! (mutations rewrite whole parts, asynchronously), so a change is a new
//! row with a higher `version` in a ReplacingMergeTree, a deletion a row
//! with `gone = 1`, and reads take the latest row per key (`FINAL`).

use rampart_core::{
    Action, ActionResult, Decision, DecisionQuery, DecisionRecord, ModelInfo, ModelRole, Page, RecordIds, Role,
    SessionRecord, StoreError, StreamCursor, TokenRecord,
};
use serde::{Deserialize, Serialize};

use super::client::{Client, quote};

pub(super) const SCHEMA: [&str; 7] = [
    "CREATE TABLE IF NOT EXISTS decisions (
        id Int64, version UInt64, kind String, target String, start_ticks Nullable(UInt64), created_ms Int64,
        expires_ms Nullable(Int64), origin String, reason String, alert_id Nullable(String),
        playbook Nullable(String), rate_per_sec Nullable(UInt32), deleted_ms Nullable(Int64), enforced UInt8
    ) ENGINE = ReplacingMergeTree(version) ORDER BY id",
    "CREATE TABLE IF NOT EXISTS actions (
        id Int64, decision_id Int64, at_ms Int64, enforcer String, op String, result String, detail String
    ) ENGINE = MergeTree() ORDER BY id",
    "CREATE TABLE IF NOT EXISTS tokens (
        id String, version UInt64, gone UInt8, name String, role String, salt String, hash String, created_ms Int64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY id",
    "CREATE TABLE IF NOT EXISTS sessions (
        id_hash String, version UInt64, gone UInt8, token_id String, created_ms Int64, expires_ms Int64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY id_hash",
    "CREATE TABLE IF NOT EXISTS stream_cursors (
        caller String, version UInt64, last_id Int64, polled_ms Int64
    ) ENGINE = ReplacingMergeTree(version) ORDER BY caller",
    "CREATE TABLE IF NOT EXISTS models (
        name String, version UInt64, info String, body String, role String
    ) ENGINE = ReplacingMergeTree(version) ORDER BY name",
    "CREATE TABLE IF NOT EXISTS triage (
        id String, version UInt64, body String
    ) ENGINE = ReplacingMergeTree(version) ORDER BY id",
];

fn encode<T: Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = serde_json::to_vec(row).map_err(|e| StoreError::Backend(format!("cannot encode a row: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// The latest row of each key in `table`, filtered after deduplication (a
/// filter before it could pick an older version). Every table here is
/// ordered by its key alone, and the key is the first column.
fn latest(table: &str, filter: &str) -> String {
    latest_of(table, "", filter)
}

/// As `latest`, with `immutable` filters applied before deduplication: on
/// columns no later version changes (a decision's target or playbook), they
/// narrow the read without changing which version is latest. `LIMIT 1 BY`
/// instead of `FINAL`: the responder reads decisions per alert, and `FINAL`
/// over a table of many small parts cost milliseconds each time.
fn latest_of(table: &str, immutable: &str, filter: &str) -> String {
    let key = match table {
        "sessions" => "id_hash",
        "stream_cursors" => "caller",
        "models" => "name",
        _ => "id",
    };
    format!(
        "SELECT * FROM (SELECT * FROM {table} WHERE 1 = 1{immutable} ORDER BY {key}, version DESC LIMIT 1 BY {key}) WHERE 1 = 1{filter}"
    )
}

#[derive(Serialize, Deserialize)]
struct DecisionRow {
    version: u64,
    #[serde(flatten)]
    record: DecisionRecord,
}

fn decision(row: DecisionRow) -> Result<Decision, StoreError> {
    let id = row.record.id;
    row.record.into_decision().map_err(|reason| StoreError::Corrupt { id: format!("decision {id}"), reason })
}

pub(super) fn add_decisions(client: &Client, ids: &RecordIds, ds: &[Decision]) -> Result<Vec<Decision>, StoreError> {
    let stored: Vec<Decision> = ds.iter().map(|d| Decision { id: ids.next(), ..d.clone() }).collect();
    let mut rows = Vec::new();
    for d in &stored {
        rows.extend(encode(&DecisionRow { version: ids.next() as u64, record: d.into() })?);
    }
    if !rows.is_empty() {
        client.insert("decisions", &rows)?;
    }
    Ok(stored)
}

/// One read for many targets, in slices that keep each statement well
/// under the server's 256 KiB limit.
pub(super) fn decisions_about(
    client: &Client,
    targets: &[String],
    per_target: usize,
) -> Result<Vec<Decision>, StoreError> {
    let mut found = Vec::new();
    for slice in targets.chunks(1_000) {
        let list = slice.iter().map(|t| quote(t)).collect::<Vec<_>>().join(", ");
        let immutable = format!(" AND target IN ({list})");
        let sql = format!(
            "{} ORDER BY target, id DESC LIMIT {} BY target",
            latest_of("decisions", &immutable, ""),
            per_target.max(1)
        );
        for row in client.select::<DecisionRow>(&sql)? {
            found.push(decision(row)?);
        }
    }
    Ok(found)
}

pub(super) fn decision_by_id(client: &Client, id: i64) -> Result<Option<Decision>, StoreError> {
    let rows: Vec<DecisionRow> = client.select(&latest_of("decisions", &format!(" AND id = {id}"), ""))?;
    rows.into_iter().next().map(decision).transpose()
}

pub(super) fn decisions(client: &Client, q: &DecisionQuery) -> Result<Vec<Decision>, StoreError> {
    let (mut immutable, mut filter) = (String::new(), String::new());
    if let Some(target) = &q.target {
        immutable.push_str(&format!(" AND target = {}", quote(target)));
    }
    if let Some(playbook) = &q.playbook {
        immutable.push_str(&format!(" AND playbook = {}", quote(playbook)));
    }
    if let Some(after) = q.after_id {
        immutable.push_str(&format!(" AND id > {after}"));
    }
    if let Some(at) = q.active_at_ms {
        filter.push_str(&format!(" AND deleted_ms IS NULL AND (expires_ms IS NULL OR expires_ms > {at})"));
    }
    if let Some(since) = q.deleted_since_ms {
        filter.push_str(&format!(" AND deleted_ms >= {since}"));
    }
    let sql = format!("{} ORDER BY id DESC LIMIT {}", latest_of("decisions", &immutable, &filter), q.limit.max(1));
    client.select::<DecisionRow>(&sql)?.into_iter().map(decision).collect()
}

pub(super) fn delete_decision(
    client: &Client,
    ids: &RecordIds,
    id: i64,
    at_ms: i64,
) -> Result<Option<Decision>, StoreError> {
    let Some(mut d) = decision_by_id(client, id)? else { return Ok(None) };
    if d.deleted_ms.is_some() {
        return Ok(None);
    }
    d.deleted_ms = Some(at_ms);
    client.insert("decisions", &encode(&DecisionRow { version: ids.next() as u64, record: (&d).into() })?)?;
    Ok(Some(d))
}

#[derive(Serialize, Deserialize)]
struct ActionRow {
    id: i64,
    decision_id: i64,
    at_ms: i64,
    enforcer: String,
    op: String,
    result: String,
    detail: String,
}

pub(super) fn record_actions(client: &Client, ids: &RecordIds, actions: &[Action]) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    for a in actions {
        rows.extend(encode(&ActionRow {
            id: ids.next(),
            decision_id: a.decision_id,
            at_ms: a.at_ms,
            enforcer: a.enforcer.clone(),
            op: a.op.clone(),
            result: a.result.as_str().to_owned(),
            detail: a.detail.clone(),
        })?);
    }
    client.insert("actions", &rows)
}

pub(super) fn actions(client: &Client, before_id: Option<i64>, limit: usize) -> Result<Page<Action>, StoreError> {
    let limit = limit.max(1);
    let rows: Vec<ActionRow> = client.select(&format!(
        "SELECT * FROM actions WHERE id < {} ORDER BY id DESC LIMIT {}",
        before_id.unwrap_or(i64::MAX),
        limit + 1
    ))?;
    let mut items = rows
        .into_iter()
        .map(|r| {
            let result = ActionResult::parse(&r.result).ok_or_else(|| StoreError::Corrupt {
                id: format!("action {}", r.id),
                reason: format!("unknown result {:?}", r.result),
            })?;
            Ok(Action {
                id: r.id,
                decision_id: r.decision_id,
                at_ms: r.at_ms,
                enforcer: r.enforcer,
                op: r.op,
                result,
                detail: r.detail,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let next_cursor = crate::page_cursor(&mut items, limit, |a| a.id.to_string());
    Ok(Page { items, next_cursor })
}

#[derive(Serialize, Deserialize)]
struct TokenRow {
    id: String,
    version: u64,
    gone: u8,
    name: String,
    role: String,
    salt: String,
    hash: String,
    created_ms: i64,
}

fn token(row: TokenRow) -> Result<TokenRecord, StoreError> {
    let role = Role::parse(&row.role).ok_or_else(|| StoreError::Corrupt {
        id: format!("token {}", row.id),
        reason: format!("unknown role {:?}", row.role),
    })?;
    Ok(TokenRecord { id: row.id, name: row.name, role, salt: row.salt, hash: row.hash, created_ms: row.created_ms })
}

pub(super) fn add_token(client: &Client, ids: &RecordIds, t: &TokenRecord) -> Result<(), StoreError> {
    client.insert(
        "tokens",
        &encode(&TokenRow {
            id: t.id.clone(),
            version: ids.next() as u64,
            gone: 0,
            name: t.name.clone(),
            role: t.role.as_str().to_owned(),
            salt: t.salt.clone(),
            hash: t.hash.clone(),
            created_ms: t.created_ms,
        })?,
    )
}

pub(super) fn tokens(client: &Client, filter: &str) -> Result<Vec<TokenRecord>, StoreError> {
    let sql = format!("{} ORDER BY created_ms, id", latest_of("tokens", filter, " AND gone = 0"));
    client.select::<TokenRow>(&sql)?.into_iter().map(token).collect()
}

pub(super) fn revoke_token(client: &Client, ids: &RecordIds, id: &str) -> Result<bool, StoreError> {
    let rows: Vec<TokenRow> =
        client.select(&latest_of("tokens", &format!(" AND id = {}", quote(id)), " AND gone = 0"))?;
    let Some(mut row) = rows.into_iter().next() else { return Ok(false) };
    row.gone = 1;
    row.version = ids.next() as u64;
    let sessions: Vec<SessionRow> =
        client.select(&latest_of("sessions", &format!(" AND token_id = {}", quote(id)), " AND gone = 0"))?;
    let mut ended = Vec::new();
    for mut session in sessions {
        session.gone = 1;
        session.version = ids.next() as u64;
        ended.extend(encode(&session)?);
    }
    // Sessions first: a crash between the two leaves the token usable, never a session without its token.
    client.insert("sessions", &ended)?;
    client.insert("tokens", &encode(&row)?)?;
    Ok(true)
}

#[derive(Serialize, Deserialize)]
struct SessionRow {
    id_hash: String,
    version: u64,
    gone: u8,
    token_id: String,
    created_ms: i64,
    expires_ms: i64,
}

pub(super) fn add_session(client: &Client, ids: &RecordIds, s: &SessionRecord) -> Result<(), StoreError> {
    client.insert(
        "sessions",
        &encode(&SessionRow {
            id_hash: s.id_hash.clone(),
            version: ids.next() as u64,
            gone: 0,
            token_id: s.token_id.clone(),
            created_ms: s.created_ms,
            expires_ms: s.expires_ms,
        })?,
    )
}

pub(super) fn session(client: &Client, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>, StoreError> {
    let key = format!(" AND id_hash = {}", quote(id_hash));
    let rows: Vec<SessionRow> =
        client.select(&latest_of("sessions", &key, &format!(" AND gone = 0 AND expires_ms > {now_ms}")))?;
    Ok(rows.into_iter().next().map(|r| SessionRecord {
        id_hash: r.id_hash,
        token_id: r.token_id,
        created_ms: r.created_ms,
        expires_ms: r.expires_ms,
    }))
}

pub(super) fn delete_session(client: &Client, ids: &RecordIds, id_hash: &str) -> Result<(), StoreError> {
    let rows: Vec<SessionRow> =
        client.select(&latest_of("sessions", &format!(" AND id_hash = {}", quote(id_hash)), ""))?;
    let Some(mut row) = rows.into_iter().next() else { return Ok(()) };
    row.gone = 1;
    row.version = ids.next() as u64;
    client.insert("sessions", &encode(&row)?)
}

#[derive(Serialize, Deserialize)]
struct CursorRow {
    caller: String,
    version: u64,
    last_id: i64,
    polled_ms: i64,
}

pub(super) fn stream_cursor(client: &Client, caller: &str) -> Result<Option<StreamCursor>, StoreError> {
    let rows: Vec<CursorRow> =
        client.select(&latest_of("stream_cursors", &format!(" AND caller = {}", quote(caller)), ""))?;
    Ok(rows.into_iter().next().map(|r| StreamCursor { last_id: r.last_id, polled_ms: r.polled_ms }))
}

pub(super) fn set_stream_cursor(
    client: &Client,
    ids: &RecordIds,
    caller: &str,
    cursor: StreamCursor,
) -> Result<(), StoreError> {
    let row = CursorRow {
        caller: caller.to_owned(),
        version: ids.next() as u64,
        last_id: cursor.last_id,
        polled_ms: cursor.polled_ms,
    };
    client.insert("stream_cursors", &encode(&row)?)
}

#[derive(Serialize, Deserialize)]
struct ModelRow {
    name: String,
    version: u64,
    info: String,
    body: String,
    role: String,
}

#[derive(Deserialize)]
struct ModelHead {
    name: String,
    info: String,
    role: String,
}

fn model_info(head: ModelHead) -> Result<ModelInfo, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { id: format!("model {}", head.name), reason };
    let mut info: ModelInfo = serde_json::from_str(&head.info).map_err(|e| corrupt(e.to_string()))?;
    info.role = match head.role.as_str() {
        "" => None,
        role => Some(ModelRole::parse(role).ok_or_else(|| corrupt(format!("unknown role {role:?}")))?),
    };
    Ok(info)
}

pub(super) fn put_model(client: &Client, ids: &RecordIds, m: &ModelInfo, body: &str) -> Result<(), StoreError> {
    // Replacing a model keeps the role the old one had.
    let role = models_with(client, &format!(" AND name = {}", quote(&m.name)))?
        .into_iter()
        .next()
        .and_then(|old| old.role)
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    let info = serde_json::to_string(&ModelInfo { role: None, ..m.clone() })
        .map_err(|e| StoreError::Backend(format!("cannot encode model info: {e}")))?;
    let row = ModelRow { name: m.name.clone(), version: ids.next() as u64, info, body: body.to_owned(), role };
    client.insert("models", &encode(&row)?)
}

fn models_with(client: &Client, filter: &str) -> Result<Vec<ModelInfo>, StoreError> {
    let sql = format!("SELECT name, info, role FROM ({}) ORDER BY name", latest("models", filter));
    let mut list = client.select::<ModelHead>(&sql)?.into_iter().map(model_info).collect::<Result<Vec<_>, _>>()?;
    list.sort_by(|a, b| b.added_ms.cmp(&a.added_ms).then_with(|| a.name.cmp(&b.name)));
    Ok(list)
}

pub(super) fn models(client: &Client) -> Result<Vec<ModelInfo>, StoreError> {
    models_with(client, "")
}

#[derive(Deserialize)]
struct Body {
    body: String,
}

pub(super) fn model_body(client: &Client, name: &str) -> Result<Option<String>, StoreError> {
    let rows: Vec<Body> =
        client.select(&format!("SELECT body FROM ({})", latest("models", &format!(" AND name = {}", quote(name)))))?;
    Ok(rows.into_iter().next().map(|r| r.body))
}

pub(super) fn set_model_role(
    client: &Client,
    ids: &RecordIds,
    name: &str,
    role: Option<ModelRole>,
) -> Result<bool, StoreError> {
    let mut changed = Vec::new();
    let rows: Vec<ModelRow> = client.select(&latest("models", ""))?;
    if !rows.iter().any(|r| r.name == name) {
        return Ok(false);
    }
    let wanted = role.map(|r| r.as_str()).unwrap_or_default();
    for mut row in rows {
        let new_role = if row.name == name {
            wanted
        } else if !wanted.is_empty() && row.role == wanted {
            // The role moves: whoever had it loses it.
            ""
        } else {
            continue;
        };
        row.role = new_role.to_owned();
        row.version = ids.next() as u64;
        changed.extend(encode(&row)?);
    }
    client.insert("models", &changed)?;
    Ok(true)
}

#[derive(Serialize)]
struct TriageRow<'a> {
    id: &'a str,
    version: u64,
    body: &'a str,
}

pub(super) fn put_triage(client: &Client, ids: &RecordIds, alert_id: &str, body: &str) -> Result<(), StoreError> {
    client.insert("triage", &encode(&TriageRow { id: alert_id, version: ids.next() as u64, body })?)
}

pub(super) fn triage(client: &Client, alert_id: &str) -> Result<Option<String>, StoreError> {
    let rows: Vec<Body> = client
        .select(&format!("SELECT body FROM ({})", latest("triage", &format!(" AND id = {}", quote(alert_id)))))?;
    Ok(rows.into_iter().next().map(|r| r.body))
}

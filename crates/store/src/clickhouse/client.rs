//! ClickHouse's HTTP interface: one statement per request, rows in and out
//! as JSONEachRow. Works against 18.16 (Debian's) and every later server.
//!
//! Old servers have no query parameters, so values are spliced into the
//! statement as string literals by `quote`, which escapes everything the
//! server's lexer treats specially; nothing else from outside is spliced.

use std::time::Duration;

use rampart_core::StoreError;
use serde::de::DeserializeOwned;

/// Largest response read into memory: a page of events or the model registry.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

pub(crate) struct Client {
    agent: ureq::Agent,
    url: String,
    database: String,
    user: String,
    password: String,
}

impl Client {
    pub(crate) fn new(url: &str, database: &str, user: &str, password: String, timeout: Duration) -> Client {
        let agent =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().new_agent();
        Client {
            agent,
            url: url.trim_end_matches('/').to_owned() + "/",
            database: database.to_owned(),
            user: user.to_owned(),
            password,
        }
    }

    pub(crate) fn database(&self) -> &str {
        &self.database
    }

    /// Runs a statement that returns nothing (DDL, ALTER).
    pub(crate) fn exec(&self, sql: &str) -> Result<(), StoreError> {
        self.post(sql, None, false, &[]).map(drop)
    }

    /// Runs a statement that returns nothing with query-level settings.
    pub(crate) fn exec_with(&self, sql: &str, settings: &[(&str, &str)]) -> Result<(), StoreError> {
        self.post(sql, None, false, settings).map(drop)
    }

    /// Runs a statement outside the database (creating it).
    pub(crate) fn exec_global(&self, sql: &str) -> Result<(), StoreError> {
        self.post(sql, None, true, &[]).map(drop)
    }

    /// Runs a SELECT and decodes each row.
    pub(crate) fn select<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, StoreError> {
        let body = self.post(&format!("{sql} FORMAT JSONEachRow"), None, false, &[])?;
        body.lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| StoreError::Backend(format!("clickhouse: unreadable row: {e}")))
            })
            .collect()
    }

    /// Inserts rows already encoded as JSONEachRow (one object per line),
    /// in one request: ClickHouse wants few large inserts.
    pub(crate) fn insert(&self, table: &str, rows: &[u8]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.post(&format!("INSERT INTO {table} FORMAT JSONEachRow"), Some(rows), false, &[]).map(drop)
    }

    /// Inserts rows already encoded as RowBinary, in the table's column order.
    pub(crate) fn insert_binary(&self, table: &str, rows: &[u8]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.post(&format!("INSERT INTO {table} FORMAT RowBinary"), Some(rows), false, &[]).map(drop)
    }

    fn post(
        &self,
        sql: &str,
        rows: Option<&[u8]>,
        global: bool,
        settings: &[(&str, &str)],
    ) -> Result<String, StoreError> {
        let mut request = self
            .agent
            .post(&self.url)
            .query("output_format_json_quote_64bit_integers", "0")
            .query_pairs(settings.iter().copied())
            .header("X-ClickHouse-User", &self.user)
            .header("X-ClickHouse-Key", &self.password);
        if !global {
            request = request.query("database", &self.database);
        }
        // With rows, the statement travels in the URL and the rows in the body.
        let response = match rows {
            Some(rows) => request.query("query", sql).send(rows),
            None => request.send(sql.as_bytes()),
        };
        let mut response = response.map_err(|e| StoreError::Backend(format!("clickhouse at {}: {e}", self.url)))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| StoreError::Backend(format!("clickhouse at {}: reading the answer: {e}", self.url)))?;
        if !status.is_success() {
            let first = text.lines().next().unwrap_or_default();
            return Err(StoreError::Backend(format!("clickhouse answered {status}: {first}")));
        }
        Ok(text)
    }
}

/// `text` as a ClickHouse string literal, quotes included.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A RowBinary `String`: its length as an unsigned LEB128 varint, then the bytes.
pub(super) fn push_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::{push_string, quote};

    #[test]
    fn quote_escapes_what_ends_a_literal() {
        assert_eq!(quote("a'b"), r"'a\'b'");
        assert_eq!(quote(r"a\'); DROP TABLE x; --"), r"'a\\\'); DROP TABLE x; --'");
        assert_eq!(quote("l1\nl2\0"), r"'l1\nl2\0'");
    }

    #[test]
    fn binary_strings_carry_their_length_as_leb128() {
        let mut out = Vec::new();
        push_string(&mut out, b"ab");
        push_string(&mut out, &[b'x'; 300]);
        assert_eq!(&out[..3], [2, b'a', b'b']);
        assert_eq!(&out[3..5], [0xAC, 0x02], "300 = 0b10_0101100");
        assert_eq!(out.len(), 3 + 2 + 300);
    }
}

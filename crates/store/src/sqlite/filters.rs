//! A query from optional filters: each one present adds its clause and its
//! argument, in order. Alerts, decisions and events each built this by hand.

use rusqlite::types::Value;

pub(super) struct Filters {
    sql: String,
    args: Vec<Value>,
}

impl Filters {
    /// Starts from a statement that ends in a `WHERE` that filters add to
    /// with ` AND …`.
    pub(super) fn new(select_where: impl Into<String>) -> Filters {
        Filters { sql: select_where.into(), args: Vec::new() }
    }

    /// Adds `clause` (with one `?`) when `value` is present.
    pub(super) fn and(&mut self, clause: &str, value: Option<impl Into<Value>>) -> &mut Filters {
        if let Some(value) = value {
            self.sql.push_str(clause);
            self.args.push(value.into());
        }
        self
    }

    /// Adds `clause` with as many arguments as it has `?`s, unconditionally.
    pub(super) fn push(&mut self, clause: &str, args: impl IntoIterator<Item = Value>) -> &mut Filters {
        self.sql.push_str(clause);
        self.args.extend(args);
        self
    }

    pub(super) fn into_parts(self) -> (String, Vec<Value>) {
        (self.sql, self.args)
    }
}

//! Injections by their shape alone, whatever a model makes of their few
//! tokens. SQL: a value that closes the string it was put in and comments
//! out the rest of the query (`admin'--`, the login bypass), or that ends
//! the statement it was put in and starts another (`1;select 1`,
//! `x'; drop table users`), or that extends the query's result with a
//! `union select`. Script: a value that opens a `<script>` element, gives
//! a tag an event handler (`<img src=x onerror=…>`), a script URL
//! (`src=javascript:…`, `data:text/html`), script in a style or a refresh,
//! or is a `javascript:` URL. Too short or too plain for the forest to be sure
//! of (it called `admin'--`, `1;select 1` and `<script src=//x/1.js>`
//! benign), and nothing anyone types: a person's text does not close a
//! quote it never opened and then comment out the rest, follow a number
//! with `;` and `drop table`, or write event handlers into tags. Shapes
//! only, on the decoded text: the second statement must read as SQL (`drop
//! table`, `delete from`, `select 1`), so `3; select a size` is not one.
//! And SQL that names the server's own variables, catalog, files or
//! command routines (`@@version`, `from information_schema.tables`,
//! `xp_cmdshell`), whatever comes before it: no application's user types
//! those.

mod attribute;
mod predicate;
mod script;
mod server;
mod sql;
mod union;

pub use script::script_breakout;
pub use sql::sql_breakout;

use super::PayloadClass;
use super::decode::Decoded;

/// The class `decoded` is by its shape alone, if any, among the classes
/// the gate allows it (`possible`, `PayloadClass::ALL` order): a value the
/// gate rules SQL out of is never read for SQL shapes, which is most values.
pub fn certain(decoded: &Decoded, possible: &[bool; 5]) -> Option<PayloadClass> {
    if possible[PayloadClass::Sqli.index()] && sql_breakout(decoded) {
        Some(PayloadClass::Sqli)
    } else if possible[PayloadClass::Xss.index()] && script_breakout(&decoded.text) {
        Some(PayloadClass::Xss)
    } else {
        None
    }
}

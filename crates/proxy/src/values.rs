//! Every value in a request that carries user input, with where it was:
//! path segments, query names and values, form, JSON and multipart body
//! fields (and uploaded file names), cookies, and the headers chosen for
//! inspection. Values stay as they arrived (still URL-encoded where the
//! wire had them encoded): the classifier decodes as the application would.
//!
//! Bounded: at most `MAX_VALUES` values per request (past it the request is
//! `TooMany`, which block mode refuses — padding a request with harmless
//! values must not push the payload out of sight), and JSON no deeper than
//! serde_json's own recursion limit.

use std::fmt;

use axum::http::{self, HeaderMap};
use rampart_ml::payload::{Context, Part, target_values};

/// Values inspected per request.
pub const MAX_VALUES: usize = 2_000;

/// Where a value was in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Path(usize),
    QueryName,
    Query(String),
    FormName,
    Form(String),
    Json(String),
    Multipart(String),
    FileName(String),
    Cookie(String),
    Header(String),
    Body,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Path(i) => write!(f, "path segment {i}"),
            Location::QueryName => write!(f, "query parameter name"),
            Location::Query(name) => write!(f, "query {name}"),
            Location::FormName => write!(f, "form field name"),
            Location::Form(name) => write!(f, "form {name}"),
            Location::Json(pointer) => write!(f, "json {pointer}"),
            Location::Multipart(name) => write!(f, "multipart {name}"),
            Location::FileName(name) => write!(f, "file name of {name}"),
            Location::Cookie(name) => write!(f, "cookie {name}"),
            Location::Header(name) => write!(f, "header {name}"),
            Location::Body => write!(f, "body"),
        }
    }
}

/// One value to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub location: Location,
    pub raw: String,
    pub context: Context,
}

/// A request's values, or why they could not all be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    All(Vec<Value>),
    /// More than `MAX_VALUES`; the first `MAX_VALUES` are here.
    TooMany(Vec<Value>),
}

struct Collector {
    values: Vec<Value>,
    overflow: bool,
}

impl Collector {
    fn push(&mut self, location: Location, raw: &str, context: Context) {
        if raw.is_empty() {
            return;
        }
        if self.values.len() >= MAX_VALUES {
            self.overflow = true;
            return;
        }
        self.values.push(Value { location, raw: raw.to_owned(), context });
    }

    /// A form body's `a=1&b=2` pairs, names and values still encoded.
    fn form(&mut self, text: &str) {
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.push(Location::FormName, name, Context::Form);
            self.push(Location::Form(form_name(name)), value, Context::Form);
        }
    }
}

/// A parameter's name as the application reads it (`user%5Bid%5D` → `user[id]`).
fn form_name(raw: &str) -> String {
    form_urlencoded::parse(format!("{raw}=").as_bytes()).next().map(|(k, _)| k.into_owned()).unwrap_or_default()
}

/// The values of a request: its target (`/a/b?c=d`), headers and body.
/// `inspect_headers` are lowercase header names whose values are judged.
pub fn collect(target: &str, headers: &HeaderMap, body: &[u8], inspect_headers: &[String]) -> Values {
    let mut c = Collector { values: Vec::new(), overflow: false };
    for (part, raw, context) in target_values(target) {
        let location = match part {
            Part::Path(i) => Location::Path(i),
            Part::QueryName => Location::QueryName,
            Part::Query(name) => Location::Query(form_name(name)),
        };
        c.push(location, raw, context);
    }
    for cookie in headers.get_all(http::header::COOKIE) {
        for pair in String::from_utf8_lossy(cookie.as_bytes()).split(';') {
            let (name, value) = pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
            c.push(Location::Cookie(name.to_owned()), value, Context::Form);
        }
    }
    for name in inspect_headers {
        for value in headers.get_all(name.as_str()) {
            c.push(Location::Header(name.clone()), &String::from_utf8_lossy(value.as_bytes()), Context::Other);
        }
    }
    if !body.is_empty() {
        body_values(&mut c, headers, body);
    }
    if c.overflow { Values::TooMany(c.values) } else { Values::All(c.values) }
}

fn body_values(c: &mut Collector, headers: &HeaderMap, body: &[u8]) {
    let content_type =
        headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let text = String::from_utf8_lossy(body);
    if content_type.starts_with("application/x-www-form-urlencoded") {
        c.form(&text);
    } else if content_type.starts_with("application/json") || content_type.contains("+json") {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json) => json_values(c, &json, &mut String::from("$")),
            // Not JSON after all: judged as a whole, like any other text.
            Err(_) => c.push(Location::Body, &text, Context::Other),
        }
    } else if content_type.starts_with("multipart/form-data") {
        match boundary(&content_type, headers) {
            Some(boundary) => multipart_values(c, body, &boundary),
            None => c.push(Location::Body, &text, Context::Other),
        }
    } else {
        c.push(Location::Body, &text, Context::Other);
    }
}

fn json_values(c: &mut Collector, json: &serde_json::Value, pointer: &mut String) {
    match json {
        serde_json::Value::String(s) => c.push(Location::Json(pointer.clone()), s, Context::Other),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("[{i}]"));
                json_values(c, item, pointer);
                pointer.truncate(len);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                let len = pointer.len();
                pointer.push('.');
                pointer.push_str(key);
                c.push(Location::Json(format!("{pointer} (name)")), key, Context::Other);
                json_values(c, item, pointer);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The boundary parameter of a multipart content type, as sent (case kept).
fn boundary(lowercase: &str, headers: &HeaderMap) -> Option<String> {
    let original = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let at = lowercase.find("boundary=")? + "boundary=".len();
    let value = original.get(at..)?.split(';').next()?.trim().trim_matches('"');
    (!value.is_empty() && value.len() <= 200).then(|| value.to_owned())
}

/// Parts of a multipart body: each field's value, and each file's name
/// (file contents are not judged: an image is not a query).
fn multipart_values(c: &mut Collector, body: &[u8], boundary: &str) {
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, content)) = part.split_once("\r\n\r\n") else { continue };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let disposition =
            head.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:")).unwrap_or_default();
        let name = parameter(disposition, "name").unwrap_or_default();
        match parameter(disposition, "filename") {
            Some(file) => c.push(Location::FileName(name), &file, Context::Other),
            None => c.push(Location::Multipart(name), content, Context::Other),
        }
    }
}

/// `name="x"` from a Content-Disposition line (not `filename=` for `name`).
fn parameter(line: &str, key: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(target: &str, headers: &[(&str, &str)], body: &str) -> Vec<(String, String)> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        match collect(target, &map, body.as_bytes(), &["user-agent".to_owned()]) {
            Values::All(v) => v.into_iter().map(|v| (v.location.to_string(), v.raw)).collect(),
            Values::TooMany(_) => panic!("too many"),
        }
    }

    #[test]
    fn every_place_user_input_travels_is_collected_with_its_location() {
        let got = values(
            "/shop/item%201?id=1%27&q=red+shoes",
            &[("cookie", "session=abc; theme=dark"), ("user-agent", "curl/8"), ("content-type", "application/json")],
            r#"{"user":{"name":"o'neil"},"tags":["a","<b>"],"n":3}"#,
        );
        let want: Vec<(String, String)> = [
            ("path segment 0", "shop"),
            ("path segment 1", "item%201"),
            ("query parameter name", "id"),
            ("query id", "1%27"),
            ("query parameter name", "q"),
            ("query q", "red+shoes"),
            ("cookie session", "abc"),
            ("cookie theme", "dark"),
            ("header user-agent", "curl/8"),
            ("json $.n (name)", "n"),
            ("json $.tags (name)", "tags"),
            ("json $.tags[0]", "a"),
            ("json $.tags[1]", "<b>"),
            ("json $.user (name)", "user"),
            ("json $.user.name (name)", "name"),
            ("json $.user.name", "o'neil"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn forms_and_multipart_bodies_give_their_fields_and_file_names() {
        let form = values("/", &[("content-type", "application/x-www-form-urlencoded")], "user=bob&pw=1%27+or+1%3D1");
        assert!(form.contains(&("form pw".into(), "1%27+or+1%3D1".into())));
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\n<script>alert(1)</script>\r\n--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"../../etc/passwd\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
        let multipart = values("/", &[("content-type", "multipart/form-data; boundary=XyZ")], body);
        assert_eq!(
            multipart,
            [
                ("multipart comment".to_owned(), "<script>alert(1)</script>".to_owned()),
                ("file name of up".to_owned(), "../../etc/passwd".to_owned())
            ]
        );
        let not_json = values("/", &[("content-type", "application/json")], "{broken");
        assert_eq!(not_json, [("body".to_owned(), "{broken".to_owned())]);
    }

    proptest::proptest! {
        /// Any target, content type and body: no panic, never more than
        /// the cap, and every value is text the request carried.
        #[test]
        fn any_request_gives_bounded_values_it_carried(
            target in "/[ -~]{0,200}",
            kind in proptest::sample::select(vec![
                "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                "multipart/form-data", "text/plain", "application/merge-patch+json",
            ]),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            cookie in "[ -~]{0,80}",
        ) {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::CONTENT_TYPE, kind.parse().unwrap());
            if let Ok(value) = cookie.parse() {
                headers.insert(http::header::COOKIE, value);
            }
            let values = match collect(&target, &headers, &body, &["user-agent".to_owned()]) {
                Values::All(v) | Values::TooMany(v) => v,
            };
            proptest::prop_assert!(values.len() <= MAX_VALUES);
            let body_text = String::from_utf8_lossy(&body);
            for value in values {
                // JSON strings are unescaped, so those are checked loosely: present and non-empty.
                let carried = target.contains(&value.raw) || cookie.contains(&value.raw) || body_text.contains(&value.raw);
                proptest::prop_assert!(carried || matches!(value.location, Location::Json(_)), "{:?}", value);
            }
        }
    }

    #[test]
    fn a_request_padded_past_the_cap_says_so() {
        let target = format!("/?{}", "a=1&".repeat(MAX_VALUES));
        match collect(&target, &HeaderMap::new(), b"", &[]) {
            Values::TooMany(v) => assert_eq!(v.len(), MAX_VALUES),
            Values::All(_) => panic!("the cap must show"),
        }
    }
}

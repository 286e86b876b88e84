//! The Prometheus text exposition format (0.0.4), as exporters such as
//! node_exporter serve it at `/metrics`: `# HELP` / `# TYPE` comments, then
//! `name{label="value",...} value [timestamp]` per line.
//!
//! Written here: the crates for it either skip lines they cannot parse
//! without saying so (prometheus-parse) or are single unmaintained
//! releases; a bad line here is an error naming its line number.

use crate::error::ExpositionError;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

pub fn parse_exposition(text: &str) -> Result<Vec<Sample>, ExpositionError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line).map_err(|e| ExpositionError { line: n + 1, ..e })?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Sample, ExpositionError> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace()).unwrap_or(line.len());
    let name = &line[..name_end];
    let valid_name = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid_name {
        return Err(bad(format!("{name:?} is not a metric name")));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remaining) = parse_labels(after)?;
        labels = parsed;
        rest = remaining;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or_else(|| bad(format!("{name} has no value")))?;
    let value = parse_value(value).ok_or_else(|| bad(format!("{name}: {value:?} is not a number")))?;
    if let Some(ts) = fields.next()
        && ts.parse::<i64>().is_err()
    {
        return Err(bad(format!("{name}: {ts:?} is not a timestamp")));
    }
    if let Some(extra) = fields.next() {
        return Err(bad(format!("{name}: unexpected {extra:?} after the timestamp")));
    }
    Ok(Sample { name: name.to_owned(), labels, value })
}

type Labels = Vec<(String, String)>;

/// `label="value",...}` → the labels and what follows the `}`.
/// A line's problem; `parse_exposition` adds the line number.
fn bad(reason: String) -> ExpositionError {
    ExpositionError { line: 0, reason }
}

fn parse_labels(mut s: &str) -> Result<(Labels, &str), ExpositionError> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(after) = s.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = s.find('=').ok_or_else(|| bad("labels not closed with '}'".into()))?;
        let label = s[..eq].trim();
        if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(format!("{label:?} is not a label name")));
        }
        s = s[eq + 1..]
            .trim_start()
            .strip_prefix('"')
            .ok_or_else(|| bad(format!("label {label}: value not quoted")))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(bad(format!("label {label}: unterminated value"))),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err(bad(format!("label {label}: bad escape"))),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((label.to_owned(), value));
        s = s[end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// A sample value: a float, `+Inf`, `-Inf` or `NaN`.
pub(super) fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

/// The event field for a series: `name`, or `name{a="x",b="y"}`. Dots in
/// label values become `_`: event fields are dotted paths.
pub fn series_key(name: &str, labels: &[(String, String)]) -> String {
    let labels: Vec<String> =
        labels.iter().filter(|(k, _)| k != "__name__").map(|(k, v)| format!("{k}={:?}", v.replace('.', "_"))).collect();
    if labels.is_empty() { name.to_owned() } else { format!("{name}{{{}}}", labels.join(",")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_exporter_lines() {
        let text = "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.42\n\
                    node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12345.5\n\
                    node_uname_info{release=\"6.1.0\",nodename=\"a \\\"b\\\"\\\\\"} 1 1700000000000\n\
                    http_requests_total{code=\"200\",} +Inf\nnothing NaN\n";
        let samples = parse_exposition(text).unwrap();
        assert_eq!(samples.len(), 5);
        assert_eq!((samples[0].name.as_str(), samples[0].value), ("node_load1", 0.42));
        assert_eq!(samples[1].labels, vec![("cpu".into(), "0".into()), ("mode".into(), "idle".into())]);
        assert_eq!(samples[2].labels[1].1, "a \"b\"\\");
        assert_eq!((samples[3].value, samples[4].value.is_nan()), (f64::INFINITY, true));
        assert_eq!(series_key("node_load1", &[]), "node_load1");
        assert_eq!(series_key("x", &samples[2].labels), "x{release=\"6_1_0\",nodename=\"a \\\"b\\\"\\\\\"}");
    }

    #[test]
    fn bad_lines_name_their_line() {
        for (text, expected) in [
            ("ok 1\n9bad 1\n", "line 2: \"9bad\" is not a metric name"),
            ("x{a=\"1\" 2\n", "line 1: labels not closed with '}'"),
            ("x{a=\"1 2\n", "line 1: label a: unterminated value"),
            ("x{a=1} 2\n", "line 1: label a: value not quoted"),
            ("x abc\n", "line 1: x: \"abc\" is not a number"),
            ("x 1 soon\n", "line 1: x: \"soon\" is not a timestamp"),
            ("x\n", "line 1: x has no value"),
        ] {
            assert_eq!(parse_exposition(text).unwrap_err().to_string(), expected, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,200}") {
            let _ = parse_exposition(&text);
        }

        #[test]
        fn written_samples_read_back(name in "[a-z_][a-z0-9_]{0,10}", value in -1e9f64..1e9, label in "\\PC{0,20}") {
            let escaped = label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let text = format!("{name}{{l=\"{escaped}\"}} {value}\n");
            let samples = parse_exposition(&text).unwrap();
            proptest::prop_assert_eq!(&samples[0].labels[0].1, &label);
            proptest::prop_assert_eq!(samples[0].value, value);
        }
    }
}

//! Reading a Prometheus server's `/api/v1/query` answer: an instant vector
//! (one value per series) or a scalar, as metric values named after the
//! configured query.

use serde_json::Value;

use crate::error::ScrapeError;

use super::exposition::{parse_value, series_key};

/// `(field, value)` pairs for query `name`'s answer `body`: `name` when
/// the answer is one series or a scalar, `name{labels}` per series when it
/// is several. An error answer is an error naming the query.
pub fn parse_query_answer(name: &str, body: &Value) -> Result<Vec<(String, f64)>, ScrapeError> {
    let fail = |reason: String| ScrapeError::Query { query: name.to_owned(), reason };
    if body["status"] != "success" {
        let kind = body["errorType"].as_str().unwrap_or("unknown");
        let message = body["error"].as_str().unwrap_or("no error message");
        return Err(fail(format!("Prometheus answered {kind}: {message}")));
    }
    let data = &body["data"];
    let value_of = |pair: &Value| -> Result<f64, ScrapeError> {
        let text =
            pair.get(1).and_then(Value::as_str).ok_or_else(|| fail("a value is not [time, \"number\"]".into()))?;
        parse_value(text).ok_or_else(|| fail(format!("{text:?} is not a number")))
    };
    match data["resultType"].as_str() {
        Some("scalar") => Ok(vec![(name.to_owned(), value_of(&data["result"])?)]),
        Some("vector") => {
            let series = data["result"].as_array().ok_or_else(|| fail("result is not a list".into()))?;
            let one = series.len() == 1;
            series
                .iter()
                .map(|s| {
                    let value = value_of(&s["value"])?;
                    if one {
                        return Ok((name.to_owned(), value));
                    }
                    let mut labels: Vec<(String, String)> = s["metric"]
                        .as_object()
                        .map(|m| {
                            m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
                        })
                        .unwrap_or_default();
                    labels.sort();
                    Ok((series_key(name, &labels), value))
                })
                .collect()
        }
        other => Err(fail(format!(
            "result type {} is not supported (use an instant vector or scalar query)",
            other.unwrap_or("missing")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn vectors_scalars_and_errors() {
        let one = json!({"status": "success", "data": {"resultType": "vector",
            "result": [{"metric": {"instance": "127.0.0.1:9100"}, "value": [1700000000.1, "0.5"]}]}});
        assert_eq!(parse_query_answer("load", &one).unwrap(), vec![("load".to_owned(), 0.5)]);
        let two = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"mode": "idle", "cpu": "0"}, "value": [1, "10"]},
            {"metric": {"mode": "user", "cpu": "0"}, "value": [1, "NaN"]}]}});
        let got = parse_query_answer("cpu", &two).unwrap();
        assert_eq!(got[0], ("cpu{cpu=\"0\",mode=\"idle\"}".to_owned(), 10.0));
        assert!(got[1].1.is_nan());
        let scalar = json!({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}});
        assert_eq!(parse_query_answer("s", &scalar).unwrap(), vec![("s".to_owned(), 3.0)]);
        let bad = json!({"status": "error", "errorType": "bad_data", "error": "parse error"});
        assert_eq!(
            parse_query_answer("q", &bad).unwrap_err().to_string(),
            "query q: Prometheus answered bad_data: parse error"
        );
        let matrix = json!({"status": "success", "data": {"resultType": "matrix", "result": []}});
        assert!(parse_query_answer("m", &matrix).unwrap_err().to_string().contains("matrix is not supported"));
        let junk = json!({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "x"]}]}});
        assert!(parse_query_answer("j", &junk).unwrap_err().to_string().contains("\"x\" is not a number"));
    }
}

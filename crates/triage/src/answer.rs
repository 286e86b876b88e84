//! A triage: what the model (or the rule-based fallback) says about one
//! alert, and how a model's answer is read — strictly, since it is
//! untrusted text: known keys only, bounded lengths, citations checked
//! against the evidence the prompt carried.

use rampart_core::{Alert, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redact::Redactor;

/// Longest summary, reason or target kept from an answer.
const MAX_TEXT: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    LikelyMalicious,
    LikelyBenign,
    Unsure,
}

/// What to do about it: advice only, applied (or not) by a person through
/// the normal decision path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestedResponse {
    /// `ban`, `rate_limit`, `kill` or `none`.
    pub action: String,
    /// An address, a CIDR range or `pid:N`; empty for `none`.
    #[serde(default)]
    pub target: String,
    /// How long, e.g. `1h`, for a ban or rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub alert_id: String,
    /// `llm` or `fallback`.
    pub source: String,
    /// The model that answered, for `llm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub summary: String,
    pub verdict: Verdict,
    pub reason: String,
    pub suggested_response: SuggestedResponse,
    /// Evidence event ids the answer rests on (only ids the prompt carried).
    pub cited_event_ids: Vec<i64>,
    /// Ids the model cited that were not in the evidence, dropped.
    pub invented_citations: usize,
    /// Why the fallback stands in, when it does (`timeout`, `HTTP 500`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    pub created_ms: i64,
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct Unusable(pub String);

/// Reads a model's answer (JSON, possibly inside a Markdown fence), puts
/// the redacted values back, and keeps only citations of `evidence`.
pub fn read_answer(
    content: &str,
    alert: &Alert,
    evidence: &[i64],
    redactor: &Redactor,
    model: &str,
) -> Result<Triage, Unusable> {
    let body = strip_fence(content);
    let value: Value = serde_json::from_str(body).map_err(|e| Unusable(format!("answer is not JSON: {e}")))?;
    let text = |key: &str| -> Result<String, Unusable> {
        let raw = value.get(key).and_then(Value::as_str).ok_or_else(|| Unusable(format!("answer lacks `{key}`")))?;
        Ok(bounded(&redactor.restore(raw)))
    };
    let summary = text("summary")?;
    let reason = text("reason")?;
    let verdict = match value.get("verdict").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("likely_malicious" | "malicious") => Verdict::LikelyMalicious,
        Some("likely_benign" | "benign") => Verdict::LikelyBenign,
        Some("unsure" | "unknown") => Verdict::Unsure,
        other => return Err(Unusable(format!("verdict {other:?} is none of likely_malicious, likely_benign, unsure"))),
    };
    let suggested = value.get("suggested_response").cloned().unwrap_or(Value::Null);
    let action = suggested.get("action").and_then(Value::as_str).unwrap_or("none").to_ascii_lowercase();
    let action = match action.as_str() {
        "ban" | "rate_limit" | "kill" | "none" => action,
        _ => "none".to_owned(),
    };
    let target =
        suggested.get("target").and_then(Value::as_str).map(|t| bounded(&redactor.restore(t))).unwrap_or_default();
    let duration = suggested.get("duration").and_then(Value::as_str).map(|d| bounded(d.trim()));
    let cited: Vec<i64> = value
        .get("cited_event_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).collect())
        .unwrap_or_default();
    let kept: Vec<i64> = cited.iter().copied().filter(|id| evidence.contains(id)).collect();
    Ok(Triage {
        alert_id: alert.id.clone(),
        source: "llm".into(),
        model: Some(model.to_owned()),
        summary,
        verdict,
        reason,
        suggested_response: SuggestedResponse { action, target, duration },
        invented_citations: cited.len() - kept.len(),
        cited_event_ids: kept,
        fallback_reason: None,
        created_ms: rampart_core::time::now_ms(),
    })
}

/// The rule-based triage: from the alert's own fields, so the field is
/// never empty when the model is off, over budget or failing.
pub fn fallback(alert: &Alert, why: &str) -> Triage {
    let span_secs = (alert.last_seen_ms - alert.first_seen_ms).max(0) / 1_000;
    let summary = format!(
        "{} ({}): {} matching event{} about {} = {} over {} s.",
        alert.title,
        alert.rule_id,
        alert.count,
        if alert.count == 1 { "" } else { "s" },
        alert.entity.field,
        alert.entity.value,
        span_secs
    );
    let (verdict, reason) = match alert.severity {
        Severity::High | Severity::Critical => {
            (Verdict::LikelyMalicious, format!("A {} rule fired (score {:.0}).", alert.severity.as_str(), alert.score))
        }
        _ => (Verdict::Unsure, format!("A {} rule fired; look at the evidence.", alert.severity.as_str())),
    };
    let is_address = alert.entity.field.ends_with(".ip") && alert.entity.value.parse::<std::net::IpAddr>().is_ok();
    let suggested_response = if is_address && alert.severity >= Severity::High {
        SuggestedResponse { action: "ban".into(), target: alert.entity.value.clone(), duration: Some("1h".into()) }
    } else {
        SuggestedResponse { action: "none".into(), target: String::new(), duration: None }
    };
    Triage {
        alert_id: alert.id.clone(),
        source: "fallback".into(),
        model: None,
        summary,
        verdict,
        reason,
        suggested_response,
        cited_event_ids: alert.evidence.iter().rev().take(3).copied().collect(),
        invented_citations: 0,
        fallback_reason: Some(why.to_owned()),
        created_ms: rampart_core::time::now_ms(),
    }
}

fn strip_fence(content: &str) -> &str {
    let trimmed = content.trim();
    let Some(inner) = trimmed.strip_prefix("```") else { return trimmed };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

fn bounded(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control() || *c == '\n').collect();
    match clean.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rampart_core::{AlertStatus, Entity};

    pub(crate) fn alert() -> Alert {
        Alert {
            id: "a1".into(),
            rule_id: "ssh-brute-force".into(),
            title: "SSH brute force".into(),
            description: String::new(),
            severity: Severity::High,
            score: 75.0,
            entity: Entity { field: "source.ip".into(), value: "203.0.113.9".into() },
            count: 9,
            first_seen_ms: 0,
            last_seen_ms: 60_000,
            evidence: vec![11, 12, 13],
            technique: Some("T1110.001".into()),
            tags: vec![],
            context: None,
            status: AlertStatus::Open,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn an_answer_is_restored_and_invented_citations_are_dropped() {
        let mut r = Redactor::new(&Default::default());
        r.know("ip", "203.0.113.9");
        let content = "```json\n{\"summary\": \"IP_1 guessed passwords\", \"verdict\": \"likely_malicious\", \
            \"reason\": \"nine failures in a minute\", \"suggested_response\": {\"action\": \"ban\", \"target\": \"IP_1\", \
            \"duration\": \"1h\"}, \"cited_event_ids\": [11, 13, 999, \"12\"]}\n```";
        let t = read_answer(content, &alert(), &[11, 12, 13], &r, "m").unwrap();
        assert_eq!(t.summary, "203.0.113.9 guessed passwords");
        assert_eq!(t.suggested_response.target, "203.0.113.9");
        assert_eq!(t.cited_event_ids, [11, 13, 12]);
        assert_eq!(t.invented_citations, 1);
        assert_eq!(t.verdict, Verdict::LikelyMalicious);
    }

    #[test]
    fn unusable_answers_say_why() {
        let r = Redactor::new(&Default::default());
        let read = |c: &str| read_answer(c, &alert(), &[], &r, "m").unwrap_err().0;
        assert!(read("I think it is bad").contains("not JSON"));
        assert!(read("{\"verdict\": \"unsure\", \"reason\": \"x\"}").contains("`summary`"));
        assert!(read("{\"summary\": \"s\", \"reason\": \"x\", \"verdict\": \"evil\"}").contains("evil"));
        let odd = read_answer(
            "{\"summary\": \"s\\u001b[31m\", \"reason\": \"x\", \"verdict\": \"unsure\", \"suggested_response\": {\"action\": \"rm -rf\"}}",
            &alert(),
            &[],
            &r,
            "m",
        )
        .unwrap();
        assert_eq!(odd.suggested_response.action, "none");
        assert!(!odd.summary.contains('\u{1b}'));
    }

    #[test]
    fn the_fallback_is_never_empty() {
        let t = fallback(&alert(), "timeout");
        assert!(t.summary.contains("9 matching events") && t.summary.contains("203.0.113.9"));
        assert_eq!(t.verdict, Verdict::LikelyMalicious);
        assert_eq!(
            (t.suggested_response.action.as_str(), t.suggested_response.target.as_str()),
            ("ban", "203.0.113.9")
        );
        let mut low = alert();
        low.severity = Severity::Low;
        assert_eq!(fallback(&low, "x").suggested_response.action, "none");
    }

    proptest::proptest! {
        // A model's answer is untrusted text: anything reads or says why, never panics.
        #[test]
        fn any_answer_reads_or_is_refused(content in "\\PC{0,400}") {
            let r = Redactor::new(&Default::default());
            let _ = read_answer(&content, &alert(), &[11], &r, "m");
        }

        #[test]
        fn any_json_shaped_answer_reads_or_is_refused(
            verdict in proptest::sample::select(vec!["\"unsure\"", "\"benign\"", "5", "null", "[]", "\"\\u0000\""]),
            cited in proptest::sample::select(vec!["[1, 11]", "[\"11\", -1, 9e99]", "{}", "\"x\"", "null"]),
            action in proptest::sample::select(vec!["\"ban\"", "\"kill\"", "7", "{}", "\"\""]),
        ) {
            let content = format!("{{\"summary\": \"s\", \"reason\": \"r\", \"verdict\": {verdict}, \
                \"suggested_response\": {{\"action\": {action}, \"target\": \"IP_1\"}}, \"cited_event_ids\": {cited}}}");
            let r = Redactor::new(&Default::default());
            if let Ok(t) = read_answer(&content, &alert(), &[11], &r, "m") {
                proptest::prop_assert!(t.cited_event_ids.iter().all(|id| *id == 11));
            }
        }
    }
}

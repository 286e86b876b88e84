//! Judging a request: its values (`values`) through the payload scorer,
//! the worst attack found, and the ECS event that records it — so rules,
//! scenarios and playbooks see the gatekeeper's verdicts like any event
//! (ban an address after N blocks).

use std::net::IpAddr;

use axum::http::HeaderMap;
use rampart_core::{Event, EventKind, Outcome};
use rampart_ml::payload::{PayloadClass, PayloadScorer, Verdict};
use serde_json::json;

use crate::values::{self, Location, Values};

/// The worst value of a request.
#[derive(Debug, Clone)]
pub struct Finding {
    pub location: Location,
    pub raw: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone)]
pub enum Judgement {
    Clean,
    Attack(Finding),
    /// More values than `values::MAX_VALUES`: not all could be judged.
    TooMany,
}

pub struct Inspector {
    scorer: PayloadScorer,
    headers: Vec<String>,
}

impl Inspector {
    pub fn new(scorer: PayloadScorer, inspect_headers: Vec<String>) -> Inspector {
        Inspector { scorer, headers: inspect_headers }
    }

    /// Judges every value of a request; an attack found before the value
    /// cap is reported as such even when the request also overflows it.
    pub fn judge(&self, target: &str, headers: &HeaderMap, body: &[u8]) -> Judgement {
        let (values, overflow) = match values::collect(target, headers, body, &self.headers) {
            Values::All(v) => (v, false),
            Values::TooMany(v) => (v, true),
        };
        let mut worst: Option<Finding> = None;
        for value in values {
            let verdict = self.scorer.judge(&value.raw, value.context);
            if verdict.class == PayloadClass::Benign {
                continue;
            }
            if worst.as_ref().is_none_or(|w| verdict.attack > w.verdict.attack) {
                worst = Some(Finding { location: value.location, raw: value.raw, verdict });
            }
        }
        match worst {
            Some(finding) => Judgement::Attack(finding),
            None if overflow => Judgement::TooMany,
            None => Judgement::Clean,
        }
    }
}

/// What the gatekeeper did with a request it found an attack in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Blocked,
    /// Detect mode: forwarded, recorded as what would have been blocked.
    WouldBlock,
}

impl Taken {
    pub fn as_str(self) -> &'static str {
        match self {
            Taken::Blocked => "blocked",
            Taken::WouldBlock => "would_block",
        }
    }
}

/// Longest value or decoded form kept in an event.
const MAX_EVENT_VALUE: usize = 1024;

fn clip(text: &str) -> String {
    if text.len() <= MAX_EVENT_VALUE {
        return text.to_owned();
    }
    let mut end = MAX_EVENT_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The request as seen at the gatekeeper.
pub struct Seen<'a> {
    pub client: IpAddr,
    pub method: &'a str,
    pub target: &'a str,
    pub user_agent: Option<&'a str>,
}

/// The ECS event of one verdict: `event.category: web`,
/// `event.action: web-attack`, the value, where it was, its decoded form,
/// class and score under `rampart.payload.*`, what was done and the
/// incident id under `rampart.proxy.*`.
pub fn event(seen: &Seen<'_>, finding: &Finding, taken: Taken, incident: &str, now_ms: i64) -> Event {
    let mut event = Event::new(EventKind::Event, now_ms);
    event.category = vec!["web".into()];
    event.action = Some("web-attack".into());
    event.outcome = Some(if taken == Taken::Blocked { Outcome::Failure } else { Outcome::Unknown });
    event.source.ip = Some(seen.client);
    event.url_original = Some(clip(seen.target));
    event.http_method = Some(seen.method.to_owned());
    event.user_agent = seen.user_agent.map(clip);
    let class = finding.verdict.class.name();
    event.message = Some(format!("{class} in {} ({})", finding.location, taken.as_str()));
    let extra = [
        ("rampart.payload.class", json!(class)),
        ("rampart.payload.score", json!(finding.verdict.attack)),
        ("rampart.payload.location", json!(finding.location.to_string())),
        ("rampart.payload.value", json!(clip(&finding.raw))),
        ("rampart.payload.decoded", json!(clip(&finding.verdict.decoded.text))),
        ("rampart.payload.shape", json!(finding.verdict.shape)),
        ("rampart.proxy.action", json!(taken.as_str())),
        ("rampart.proxy.incident", json!(incident)),
    ];
    event.extra.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
    event
}

//! The request path: who the client is, whether it is banned, the body
//! under its cap, the judgement, then 403 or the application's answer —
//! and `/_rampart/auth` for nginx's `auth_request`, which judges the
//! original URI and headers nginx passes and answers 204 or 403.
//!
//! The listener is the API's (`rampart_server::serve`): connection cap,
//! header and idle timeouts, a drain deadline on shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use ipnet::IpNet;
use rampart_core::Event;
use rampart_core::config::{ProxyConfig, ProxyMode};

use crate::blocklist::BlockList;
use crate::forward::Upstream;
use crate::inspect::{self, Inspector, Judgement, Seen, Taken};

/// The path nginx's `auth_request` subrequests go to.
pub const AUTH_PATH: &str = "/_rampart/auth";

/// Requests whose target and body are longer than this are judged on a
/// blocking thread rather than the async worker (hundreds of µs of work
/// and more).
const JUDGE_APART_BYTES: usize = 16 * 1024;

/// Where verdict events go: the node's ingest bus inside `serve`, stdout
/// for a standalone proxy. Never waits on the request path.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

pub struct Gatekeeper {
    pub mode: ProxyMode,
    pub inspector: Inspector,
    pub upstream: Option<Upstream>,
    pub blocklist: BlockList,
    pub trusted: Vec<IpNet>,
    pub max_body_bytes: usize,
    pub events: EventSink,
}

impl Gatekeeper {
    pub fn new(config: &ProxyConfig, inspector: Inspector, blocklist: BlockList, events: EventSink) -> Gatekeeper {
        Gatekeeper {
            mode: config.mode,
            inspector,
            upstream: config
                .upstream
                .as_deref()
                .map(|u| Upstream::new(u, Duration::from_secs(config.upstream_timeout_secs))),
            blocklist,
            trusted: config.trusted_proxies.clone(),
            max_body_bytes: config.max_body_bytes,
            events,
        }
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(handle).with_state(self)
    }

    /// An attack found: counted, recorded as an event with a fresh
    /// incident id, and — in block mode — the 403 to answer.
    fn act_on(&self, seen: &Seen<'_>, finding: &inspect::Finding, now_ms: i64) -> Option<Response> {
        let incident = uuid::Uuid::now_v7().to_string();
        let taken = if self.mode == ProxyMode::Block { Taken::Blocked } else { Taken::WouldBlock };
        metrics::counter!(crate::metrics::PROXY_REQUESTS, "verdict" => taken.as_str()).increment(1);
        (self.events)(inspect::event(seen, finding, taken, &incident, now_ms));
        (taken == Taken::Blocked).then(|| forbidden(Some(&incident)))
    }

    fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&peer))
    }

    /// The client: the peer, or — when the peer is a trusted proxy — the
    /// last address in `X-Forwarded-For` that is not one.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain =
            headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
        chain
            .rsplit(',')
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .find(|hop| !self.trusts(*hop))
            .unwrap_or(peer)
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

fn forbidden(incident: Option<&str>) -> Response {
    let text = match incident {
        Some(id) => format!("403 Forbidden: this request was blocked by Rampart (incident {id}).\n"),
        None => "403 Forbidden: your address is blocked by Rampart.\n".to_owned(),
    };
    let mut response = plain(StatusCode::FORBIDDEN, text);
    if let Some(value) = incident.and_then(|id| HeaderValue::from_str(id).ok()) {
        response.headers_mut().insert("x-rampart-incident", value);
    }
    response
}

async fn handle(
    State(gate): State<Arc<Gatekeeper>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    if request.uri().path() == AUTH_PATH {
        return auth_request(&gate, peer.ip(), request.headers());
    }
    let (parts, body) = request.into_parts();
    let client = gate.client(peer.ip(), &parts.headers);
    let now = rampart_core::time::now_ms();
    if gate.mode == ProxyMode::Block && gate.blocklist.blocks(client, now) {
        metrics::counter!(crate::metrics::PROXY_REQUESTS, "verdict" => "banned").increment(1);
        return forbidden(None);
    }
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > gate.max_body_bytes) {
        return too_large(gate.max_body_bytes);
    }
    let body: Bytes = match Limited::new(body, gate.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return too_large(gate.max_body_bytes),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "400 Bad Request: the body could not be read.\n".into()),
    };
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let judgement = if target.len() + body.len() > JUDGE_APART_BYTES {
        // A big request is long to judge: on a thread of its own,
        // so the connections sharing this worker are not held up meanwhile.
        let (judge, headers, body) = (gate.clone(), parts.headers.clone(), body.clone());
        let target = target.clone();
        match tokio::task::spawn_blocking(move || judge.inspector.judge(&target, &headers, &body)).await {
            Ok(judgement) => judgement,
            Err(error) => {
                tracing::error!(%error, "Judging a request failed.");
                return plain(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error\n".into());
            }
        }
    } else {
        gate.inspector.judge(&target, &parts.headers, &body)
    };
    let seen = Seen {
        client,
        method: parts.method.as_str(),
        target: &target,
        user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()),
    };
    match (&judgement, gate.mode) {
        (Judgement::Attack(finding), _) => {
            if let Some(refusal) = gate.act_on(&seen, finding, now) {
                return refusal;
            }
        }
        (Judgement::TooMany, ProxyMode::Block) => {
            metrics::counter!(crate::metrics::PROXY_REQUESTS, "verdict" => "too_many_values").increment(1);
            return plain(
                StatusCode::BAD_REQUEST,
                format!("400 Bad Request: more than {} values to inspect.\n", crate::values::MAX_VALUES),
            );
        }
        _ => metrics::counter!(crate::metrics::PROXY_REQUESTS, "verdict" => "clean").increment(1),
    }
    let Some(upstream) = gate.upstream.as_ref() else {
        return plain(StatusCode::NOT_FOUND, "404 Not Found: no upstream is configured.\n".into());
    };
    match upstream.forward(&parts, body, peer.ip()).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "Cannot forward a request.");
            plain(error.status(), format!("{} {}\n", error.status(), error))
        }
    }
}

fn too_large(limit: usize) -> Response {
    metrics::counter!(crate::metrics::PROXY_REQUESTS, "verdict" => "too_large").increment(1);
    plain(StatusCode::PAYLOAD_TOO_LARGE, format!("413 Payload Too Large: bodies are limited to {limit} bytes.\n"))
}

/// nginx's subrequest: `X-Original-URI` (and `X-Original-Method`) with the
/// client's headers, from a peer that is loopback or trusted (anyone else
/// could ask the gatekeeper to vouch for anything: 404).
fn auth_request(gate: &Gatekeeper, peer: IpAddr, headers: &HeaderMap) -> Response {
    if !(peer.is_loopback() || gate.trusts(peer)) {
        return plain(StatusCode::NOT_FOUND, "404 Not Found\n".into());
    }
    let Some(target) = headers.get("x-original-uri").and_then(|v| v.to_str().ok()) else {
        return plain(StatusCode::BAD_REQUEST, "400 Bad Request: X-Original-URI is missing.\n".into());
    };
    let client = headers
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok()?.trim().parse::<IpAddr>().ok())
        .unwrap_or_else(|| gate.client(peer, headers));
    let now = rampart_core::time::now_ms();
    if gate.mode == ProxyMode::Block && gate.blocklist.blocks(client, now) {
        return forbidden(None);
    }
    let method = headers.get("x-original-method").and_then(|v| v.to_str().ok()).unwrap_or("GET");
    match gate.inspector.judge(target, headers, b"") {
        Judgement::Attack(finding) => {
            let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
            let seen = Seen { client, method, target, user_agent };
            gate.act_on(&seen, &finding, now).unwrap_or_else(|| StatusCode::NO_CONTENT.into_response())
        }
        _ => {
            metrics::counter!(crate::metrics::PROXY_REQUESTS, "verdict" => "clean").increment(1);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_ml::payload::PayloadModel;

    fn gate(trusted: &[&str]) -> Gatekeeper {
        let config = ProxyConfig {
            trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
            ..ProxyConfig::default()
        };
        let inspector = Inspector::new(PayloadModel::shipped().scorer(), config.inspect_headers.clone());
        Gatekeeper::new(&config, inspector, BlockList::new(), Arc::new(|_| {}))
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.7, 203.0.113.5, 10.0.0.2".parse().unwrap());
        assert_eq!(gate(&[]).client(ip("10.0.0.1"), &headers), ip("10.0.0.1"), "nobody trusted: the peer");
        assert_eq!(gate(&["10.0.0.0/8"]).client(ip("10.0.0.1"), &headers), ip("203.0.113.5"));
        assert_eq!(gate(&["10.0.0.0/8"]).client(ip("192.0.2.1"), &headers), ip("192.0.2.1"), "untrusted peer");
    }
}

//! Passing a judged request to the application and its answer back: the
//! same method, target, headers and body, less the hop-by-hop headers a
//! proxy must not forward (RFC 9110 §7.6.1), plus `X-Forwarded-For` and
//! `X-Forwarded-Proto`. One pooled HTTP/1.1 client with keep-alive, whether
//! the client spoke HTTP/1.1 or HTTP/2; the answer streams back as it comes.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Why the application could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("the upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the upstream: {0}")]
    Unreachable(String),
    #[error("cannot build the upstream request: {0}")]
    Request(String),
}

impl ForwardError {
    pub fn status(&self) -> StatusCode {
        match self {
            ForwardError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ForwardError::Unreachable(_) | ForwardError::Request(_) => StatusCode::BAD_GATEWAY,
        }
    }
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Drops hop-by-hop headers, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

#[derive(Clone)]
pub struct Upstream {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Upstream {
    /// `base` is `http://host:port` (a path prefix is kept).
    pub fn new(base: &str, timeout: Duration) -> Upstream {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        Upstream { base: base.trim_end_matches('/').to_owned(), client, timeout }
    }

    /// Sends the request (its body already read and judged) on and returns
    /// the application's answer. `peer` is who connected to the proxy: it
    /// is appended to `X-Forwarded-For` as every proxy in a chain does.
    pub async fn forward(
        &self,
        parts: &axum::http::request::Parts,
        body: Bytes,
        peer: IpAddr,
    ) -> Result<Response<Body>, ForwardError> {
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri: Uri = format!("{}{target}", self.base).parse().map_err(|e| ForwardError::Request(format!("{e}")))?;
        let mut headers = parts.headers.clone();
        strip_hop_by_hop(&mut headers);
        // An HTTP/2 client names the site in `:authority`, not `Host`; the
        // application behind reads `Host`.
        if let Some(authority) = parts.uri.authority().filter(|_| !headers.contains_key(header::HOST))
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            headers.insert(header::HOST, host);
        }
        let forwarded = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(chain) => format!("{chain}, {peer}"),
            None => peer.to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded) {
            headers.insert("x-forwarded-for", value);
        }
        headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
        let mut request = Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| ForwardError::Request(e.to_string()))?;
        *request.headers_mut() = headers;
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| ForwardError::Timeout(self.timeout))?
            .map_err(|e| ForwardError::Unreachable(e.to_string()))?;
        let (mut parts, incoming) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Body::new(incoming)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("cookie", "a=b".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["cookie"]);
    }
}

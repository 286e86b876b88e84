//! A client for Rampart's own API, shared by the `agent`, `replay`,
//! `simulate` and `decisions` commands (four hand-written copies before,
//! and `simulate` alone gave up on a busy server).
//!
//! Posting events follows one rule everywhere: 2xx is accepted; 429 and
//! 503 mean busy, so it waits (the server's `Retry-After`, else a doubling
//! backoff) and sends again, never dropping the batch; 401/403 is a token
//! problem and stops a command (an agent waits for it to be fixed); any
//! other 4xx refuses the batch, which
//! would never pass and is reported, not retried. What differs is only how
//! hard to try when the server cannot be reached or fails (5xx): an agent
//! keeps its events until the server takes them, a one-off command says so.

mod http;

use std::time::Duration;

use serde_json::Value;

pub use http::{http_client, http_client_trusting};

/// Why a call did not get a usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("cannot build HTTP client: {0}")]
    Build(String),
    #[error("the CA file {}: {reason}", path.display())]
    CaFile { path: std::path::PathBuf, reason: String },
    #[error("an API token is needed (--token or RAMPART_TOKEN)")]
    NoToken,
    #[error("bad URL {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot reach {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("{url} refused the token ({status}): {text}")]
    Token { url: String, status: u16, text: String },
    /// A non-2xx answer, with the server's message.
    #[error("{url}: {status}: {text}")]
    Status { url: String, status: u16, text: String },
    #[error("{url}: the answer is not JSON: {source}")]
    NotJson { url: String, source: reqwest::Error },
}

/// What became of a batch of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Accepted,
    /// The server refused it as invalid (the reason); sending it again would not help.
    Refused(String),
}

/// How long to keep trying when the server is away or failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Until it answers: events queued on an agent must reach the server.
    UntilTaken,
    /// Only while it says it is busy (429, 503); unreachable is an error.
    WhileBusy,
}

#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl ApiClient {
    /// A client for the server at `base` (its URL) presenting `token`.
    pub fn with_token(base: &str, token: &str, http: reqwest::Client) -> Result<ApiClient, ClientError> {
        if token.trim().is_empty() {
            return Err(ClientError::NoToken);
        }
        Ok(ApiClient { base: base.trim_end_matches('/').to_owned(), token: token.to_owned(), http })
    }

    /// `/api/v1/<path>` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base)
    }

    /// Posts NDJSON events (see the module doc for the rule).
    pub async fn post_events(&self, ndjson: String, persistence: Persistence) -> Result<Posted, ClientError> {
        let url = self.url("events");
        let mut backoff = Duration::from_millis(100);
        loop {
            let sent = self
                .http
                .post(&url)
                .bearer_auth(&self.token)
                .header("content-type", "application/x-ndjson")
                .body(ndjson.clone())
                .send()
                .await;
            let wait = match sent {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Ok(Posted::Accepted);
                    }
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response.text().await.unwrap_or_default();
                    match status.as_u16() {
                        429 | 503 => retry_after.unwrap_or(backoff).min(MAX_BACKOFF),
                        // An agent's token may be fixed on the server; its events wait for that.
                        401 | 403 if persistence == Persistence::UntilTaken => {
                            tracing::warn!(%status, "The server refused the token; retrying.");
                            backoff
                        }
                        401 | 403 => return Err(ClientError::Token { url, status: status.as_u16(), text }),
                        400..=499 => return Ok(Posted::Refused(format!("{status}: {text}"))),
                        _ if persistence == Persistence::UntilTaken => {
                            tracing::warn!(%status, "The server did not take the events; retrying.");
                            backoff
                        }
                        _ => return Err(ClientError::Status { url, status: status.as_u16(), text }),
                    }
                }
                Err(error) if persistence == Persistence::UntilTaken => {
                    tracing::warn!(%error, "Cannot reach the server; retrying.");
                    backoff
                }
                Err(source) => return Err(ClientError::Unreachable { url, source }),
            };
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One JSON call; a non-2xx answer is an error carrying the server's message.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let base = self.url(path);
        let url = reqwest::Url::parse_with_params(&base, query)
            .map_err(|e| ClientError::Url { url: base.clone(), reason: e.to_string() })?;
        let mut request = self.http.request(method, url.clone()).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let url = url.to_string();
        let response = request.send().await.map_err(|source| ClientError::Unreachable { url: url.clone(), source })?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|source| ClientError::NotJson { url: url.clone(), source })?;
        if !status.is_success() {
            let text = body["error"].as_str().unwrap_or("(no message)").to_owned();
            return Err(ClientError::Status { url, status: status.as_u16(), text });
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;

    /// A server whose answers to `POST /api/v1/events` are `script`, in
    /// order (the last one repeats); returns its base URL and the count of
    /// posts it saw.
    async fn scripted(script: Vec<StatusCode>) -> (String, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let app = axum::Router::new().route(
            "/api/v1/events",
            axum::routing::post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let status = script[n.min(script.len() - 1)];
                async move { (status, [("retry-after", "0")], "{\"error\":\"scripted\"}").into_response() }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, seen)
    }

    fn client(base: &str) -> ApiClient {
        ApiClient::with_token(base, "t", http_client().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_busy_server_is_waited_for_and_a_refusal_is_not_retried() {
        // What `simulate` did not do: a 503 or 429 is a reason to wait, not to stop.
        let (base, seen) =
            scripted(vec![StatusCode::SERVICE_UNAVAILABLE, StatusCode::TOO_MANY_REQUESTS, StatusCode::OK]).await;
        assert_eq!(client(&base).post_events("{}\n".into(), Persistence::WhileBusy).await.unwrap(), Posted::Accepted);
        assert_eq!(seen.load(Ordering::SeqCst), 3);

        let (base, seen) = scripted(vec![StatusCode::BAD_REQUEST]).await;
        let posted = client(&base).post_events("{}\n".into(), Persistence::UntilTaken).await.unwrap();
        assert!(matches!(posted, Posted::Refused(ref r) if r.contains("scripted")), "{posted:?}");
        assert_eq!(seen.load(Ordering::SeqCst), 1, "a batch refused as invalid is sent once");

        let (base, _) = scripted(vec![StatusCode::UNAUTHORIZED]).await;
        let err = client(&base).post_events("{}\n".into(), Persistence::WhileBusy).await.unwrap_err();
        assert!(err.to_string().contains("refused the token"), "{err:#}");

        // An agent keeps its events through a failing server until it takes them.
        let (base, seen) = scripted(vec![StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK]).await;
        assert_eq!(client(&base).post_events("{}\n".into(), Persistence::UntilTaken).await.unwrap(), Posted::Accepted);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }
}

//! The built-in sinks: stdout (JSON lines), Slack incoming webhooks, and
//! generic JSON webhooks.

use std::collections::BTreeMap;

use rampart_core::{Alert, BoxFuture, Severity, Sink, SinkError};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Prints each notification as one JSON line on stdout.
pub struct StdoutSink {
    out: Mutex<tokio::io::Stdout>,
}

impl Default for StdoutSink {
    fn default() -> StdoutSink {
        StdoutSink { out: Mutex::new(tokio::io::stdout()) }
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut line = serde_json::to_vec(alert).map_err(|e| SinkError::Io(e.to_string()))?;
            line.push(b'\n');
            let mut out = self.out.lock().await;
            out.write_all(&line).await.map_err(|e| SinkError::Io(e.to_string()))?;
            out.flush().await.map_err(|e| SinkError::Io(e.to_string()))
        })
    }
}

/// Posts the alert's JSON to a URL.
pub struct WebhookSink {
    name: String,
    url: String,
    headers: BTreeMap<String, String>,
    client: reqwest::Client,
}

impl WebhookSink {
    pub fn new(name: String, url: String, headers: BTreeMap<String, String>, client: reqwest::Client) -> WebhookSink {
        WebhookSink { name, url, headers, client }
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut request = self.client.post(&self.url).json(alert);
            for (k, v) in &self.headers {
                request = request.header(k, v);
            }
            post(request).await
        })
    }
}

/// Posts a formatted message to a Slack incoming webhook.
pub struct SlackSink {
    url: String,
    client: reqwest::Client,
}

impl SlackSink {
    pub fn new(url: String, client: reqwest::Client) -> SlackSink {
        SlackSink { url, client }
    }

    /// The Slack message: mrkdwn text with a severity-coloured attachment.
    pub fn message(alert: &Alert) -> serde_json::Value {
        let color = match alert.severity {
            Severity::Critical => "#8b0000",
            Severity::High => "#e01e5a",
            Severity::Medium => "#ecb22e",
            Severity::Low | Severity::Info => "#439fe0",
        };
        let technique = alert.technique.as_deref().unwrap_or("-");
        let text = format!(
            "*[{}] {}* — `{}` = `{}` ({} events)",
            alert.severity.as_str().to_uppercase(),
            escape(&alert.title),
            escape(&alert.entity.field),
            escape(&alert.entity.value),
            alert.count
        );
        serde_json::json!({
            "text": text,
            "attachments": [{
                "color": color,
                "fields": [
                    {"title": "Rule", "value": escape(&alert.rule_id), "short": true},
                    {"title": "MITRE ATT&CK", "value": escape(technique), "short": true},
                    {"title": "First seen", "value": rampart_core::time::format_ms(alert.first_seen_ms), "short": true},
                    {"title": "Last seen", "value": rampart_core::time::format_ms(alert.last_seen_ms), "short": true},
                    {"title": "Alert id", "value": alert.id, "short": false},
                ],
            }],
        })
    }
}

/// Slack's mrkdwn treats &, < and > as control characters; attacker-chosen
/// text (a user name, say) must not become a link or a mention.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Sink for SlackSink {
    fn name(&self) -> &str {
        "slack"
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move { post(self.client.post(&self.url).json(&SlackSink::message(alert))).await })
    }
}

async fn post(request: reqwest::RequestBuilder) -> Result<(), SinkError> {
    let response = request.send().await.map_err(|e| SinkError::Transport(e.to_string()))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(SinkError::Status(status.as_u16())) }
}

#[cfg(test)]
mod tests;

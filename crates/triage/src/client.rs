//! One call to an OpenAI-compatible `POST {base_url}/chat/completions`: the
//! answer's text and the tokens it cost, or why not. The answer's size is
//! capped before it is parsed: the endpoint is outside the host.

use std::time::Duration;

use rampart_core::config::LlmConfig;
use serde_json::{Value, json};

use crate::metrics as m;

/// Biggest answer body read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    Timeout,
    Transport(String),
    Status(u16),
    Malformed(String),
}

impl CallError {
    /// The `outcome` label of `rampart_llm_calls_total`.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Timeout => "timeout",
            CallError::Transport(_) => "transport",
            CallError::Status(_) => "status",
            CallError::Malformed(_) => "malformed",
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => write!(f, "timed out"),
            CallError::Transport(e) => write!(f, "request failed: {e}"),
            CallError::Status(code) => write!(f, "endpoint answered HTTP {code}"),
            CallError::Malformed(e) => write!(f, "malformed answer: {e}"),
        }
    }
}

pub struct Answer {
    pub content: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

pub struct ChatClient {
    http: reqwest::Client,
    url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    max_tokens: u32,
}

impl ChatClient {
    /// The client `[llm]` describes; the key is read from its environment variable.
    pub fn from_config(llm: &LlmConfig) -> Result<ChatClient, String> {
        Ok(ChatClient {
            http: rampart_client::http_client().map_err(|e| e.to_string())?,
            url: format!("{}/chat/completions", llm.base_url.trim_end_matches('/')),
            model: llm.model.clone(),
            api_key: std::env::var(&llm.api_key_env).ok().filter(|k| !k.is_empty()),
            timeout: Duration::from_millis(llm.timeout_ms),
            max_tokens: llm.max_answer_tokens,
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// One call, with its time, tokens and any failure counted
    /// (`rampart_llm_*`); callers count what they made of the answer.
    pub async fn complete(&self, messages: &Value) -> Result<Answer, CallError> {
        let started = std::time::Instant::now();
        let answer = self.call(messages).await;
        metrics::histogram!(m::LATENCY).record(started.elapsed().as_secs_f64());
        match &answer {
            Ok(a) => {
                metrics::counter!(m::TOKENS, "kind" => "prompt").increment(a.prompt_tokens);
                metrics::counter!(m::TOKENS, "kind" => "completion").increment(a.completion_tokens);
            }
            Err(e) => metrics::counter!(m::CALLS, "outcome" => e.label()).increment(1),
        }
        answer
    }

    async fn call(&self, messages: &Value) -> Result<Answer, CallError> {
        let body = json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "response_format": {"type": "json_object"},
        });
        let mut request = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let call = async {
            let mut response = request.send().await.map_err(|e| CallError::Transport(e.to_string()))?;
            if !response.status().is_success() {
                return Err(CallError::Status(response.status().as_u16()));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| CallError::Transport(e.to_string()))? {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(CallError::Malformed(format!("answer over {MAX_ANSWER_BYTES} bytes")));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        };
        let bytes = tokio::time::timeout(self.timeout, call).await.map_err(|_| CallError::Timeout)??;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| CallError::Malformed(e.to_string()))?;
        let content = value
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| CallError::Malformed("no choices[0].message.content".into()))?
            .to_owned();
        let tokens = |key: &str| value.pointer(&format!("/usage/{key}")).and_then(Value::as_u64).unwrap_or(0);
        Ok(Answer { content, prompt_tokens: tokens("prompt_tokens"), completion_tokens: tokens("completion_tokens") })
    }
}

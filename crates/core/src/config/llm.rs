//! `[llm]`: triage of alerts by a language model behind an OpenAI-compatible
//! endpoint. Off by default; it advises, it never acts.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    pub enabled: bool,
    /// The API root, e.g. `https://api.openai.com/v1` or a local server's
    /// `http://127.0.0.1:8000/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key (sent as a bearer
    /// token); unset or empty sends none, as local servers want.
    pub api_key_env: String,
    /// Per call; past it the call counts as failed and the fallback triage is kept.
    pub timeout_ms: u64,
    /// Calls a minute at most; alerts beyond get the rule-based triage.
    pub calls_per_minute: u32,
    /// The answer's `max_tokens`.
    pub max_answer_tokens: u32,
    /// The prompt's size cap in characters (about four per token): evidence
    /// is sampled and cut to fit.
    pub max_prompt_chars: usize,
    /// Evidence events sent with an alert at most.
    pub evidence_sample: usize,
    /// Alerts below this severity are not triaged.
    pub min_severity: String,
    /// Alerts waiting for triage; when full, triage is skipped and counted.
    pub queue_capacity: usize,
    pub redact: RedactConfig,
    pub detector: LlmDetectorConfig,
}

impl Default for LlmConfig {
    fn default() -> LlmConfig {
        LlmConfig {
            enabled: false,
            base_url: "http://127.0.0.1:8000/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: "RAMPART_LLM_API_KEY".into(),
            timeout_ms: 20_000,
            calls_per_minute: 20,
            max_answer_tokens: 600,
            max_prompt_chars: 12_000,
            evidence_sample: 8,
            min_severity: "medium".into(),
            queue_capacity: 256,
            redact: RedactConfig::default(),
            detector: LlmDetectorConfig::default(),
        }
    }
}

/// What is replaced by stable placeholders (`ip-1`, `user-2`, `host-1`)
/// before a prompt leaves the host, and put back in the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactConfig {
    pub addresses: bool,
    pub users: bool,
    pub hosts: bool,
}

impl Default for RedactConfig {
    fn default() -> RedactConfig {
        RedactConfig { addresses: true, users: true, hosts: true }
    }
}

/// The model as a detector of log lines no parser recognised (off by
/// default; needs `[llm] enabled`): lines are batched, redacted, and judged
/// at a bounded rate; what it flags becomes a finding like any detector's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmDetectorConfig {
    pub enabled: bool,
    /// Lines sent a minute at most; the rest are skipped and counted.
    pub lines_per_minute: u32,
    /// Lines per call at most.
    pub batch_lines: usize,
    /// How long a partial batch waits for more lines.
    pub batch_wait_ms: u64,
}

impl Default for LlmDetectorConfig {
    fn default() -> LlmDetectorConfig {
        LlmDetectorConfig { enabled: false, lines_per_minute: 60, batch_lines: 20, batch_wait_ms: 2_000 }
    }
}

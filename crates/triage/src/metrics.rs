//! Metric names the triage worker reports, declared once.

/// Model calls, by `outcome`: ok, unusable, timeout, transport, status, malformed.
pub const CALLS: &str = "rampart_llm_calls_total";
/// Time per model call.
pub const LATENCY: &str = "rampart_llm_latency_seconds";
/// Tokens the endpoint reported, by `kind` (prompt, completion).
pub const TOKENS: &str = "rampart_llm_tokens_total";
/// Alerts not sent to the model, by `reason`: below_severity, queue_full, budget.
pub const SKIPPED: &str = "rampart_llm_skipped_total";
/// Triages the rule-based fallback wrote.
pub const FALLBACKS: &str = "rampart_llm_fallbacks_total";
/// Event ids a model cited that its evidence did not hold, dropped.
pub const INVENTED_CITATIONS: &str = "rampart_llm_invented_citations_total";
/// Values replaced by placeholders before a prompt left the host, by `kind`.
pub const REDACTED: &str = "rampart_llm_redacted_total";

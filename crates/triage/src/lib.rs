//! Alert triage by a language model, as advice: for each alert at or above
//! `[llm] min_severity`, a summary in plain words, a verdict with the
//! model's reason, a suggested response and the evidence it cites.
//!
//! Nothing here acts: a suggestion is applied only by a person, through the
//! API's normal decision path (allowlist, observe/enforce, audit). The
//! model is any OpenAI-compatible endpoint (`client`); the prompt is built
//! from the alert and a bounded sample of its evidence (`prompt`) with
//! addresses, users and hosts replaced by placeholders (`redact`); the
//! answer is read strictly and its citations checked (`answer`). When the
//! model is off, over budget, slow or wrong, the rule-based triage
//! (`answer::fallback`) stands in, so an alert's triage is never empty.
//! `detector` puts the same endpoint to work judging log lines no parser
//! recognised, at a bounded rate.

pub mod answer;
pub mod client;
pub mod detector;
pub mod metrics;
pub mod prompt;
pub mod redact;
mod worker;

pub use answer::{SuggestedResponse, Triage, Verdict, fallback};
pub use detector::LlmLogDetector;
pub use worker::{TriageHandle, Triager, WorkerConfig, spawn, triage_with_model};

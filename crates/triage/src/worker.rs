//! The triage worker: its own bounded queue and task, off the hot path. An
//! opened alert is offered (never waited on: a full queue skips it and
//! counts it); the worker lets the alert gather its burst, reads it back
//! from the store, asks the model within the calls-per-minute budget, and
//! stores the answer — or the rule-based triage when the model is over
//! budget, fails, times out or answers nonsense.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_core::config::LlmConfig;
use rampart_core::{Alert, Event, Severity, Store};
use tokio::sync::mpsc;

use crate::answer::{Triage, fallback, read_answer};
use crate::client::ChatClient;
use crate::metrics as m;
use crate::prompt;
use crate::redact::Redactor;

/// Where opened alerts are offered for triage.
#[derive(Clone)]
pub struct TriageHandle {
    tx: mpsc::Sender<(String, Instant)>,
    min_severity: Severity,
}

impl TriageHandle {
    /// Queues the alert unless it is below the configured severity or the
    /// queue is full (both counted); never blocks.
    pub fn offer(&self, alert: &Alert) {
        if alert.severity < self.min_severity {
            metrics::counter!(m::SKIPPED, "reason" => "below_severity").increment(1);
            return;
        }
        if self.tx.try_send((alert.id.clone(), Instant::now())).is_err() {
            metrics::counter!(m::SKIPPED, "reason" => "queue_full").increment(1);
        }
    }
}

/// The settings a worker runs with, read from `[llm]` and `[alerts]`.
pub struct WorkerConfig {
    pub llm: LlmConfig,
    /// How long an opened alert gathers its burst before it is triaged.
    pub settle: Duration,
    /// What each rule tests, in words (rule id → its card's logic), for the prompt.
    pub rules: HashMap<String, String>,
}

/// The model client with its calls-per-minute budget, shared by the
/// alert worker and on-demand triage (an incident's, through the API).
pub struct Triager {
    client: ChatClient,
    llm: LlmConfig,
    calls: std::sync::Mutex<VecDeque<Instant>>,
    rules: HashMap<String, String>,
}

impl Triager {
    pub fn new(llm: &LlmConfig) -> Result<Triager, String> {
        let client = ChatClient::from_config(llm)?;
        Ok(Triager { client, llm: llm.clone(), calls: std::sync::Mutex::new(VecDeque::new()), rules: HashMap::new() })
    }

    /// Gives the prompts what each rule tests (rule id → logic in words).
    pub fn with_rules(mut self, rules: HashMap<String, String>) -> Triager {
        self.rules = rules;
        self
    }

    /// The model's triage of `alert`, or the rule-based one when the
    /// budget is spent or the call fails.
    pub async fn triage(&self, alert: &Alert, evidence: &[Event]) -> Triage {
        let within_budget = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            while calls.front().is_some_and(|t| t.elapsed() >= Duration::from_secs(60)) {
                calls.pop_front();
            }
            let ok = calls.len() < self.llm.calls_per_minute as usize;
            if ok {
                calls.push_back(Instant::now());
            }
            ok
        };
        let triage = if within_budget {
            let logic = self.rules.get(&alert.rule_id).map(String::as_str);
            triage_with_model(&self.client, &self.llm, alert, logic, evidence).await
        } else {
            metrics::counter!(m::SKIPPED, "reason" => "budget").increment(1);
            fallback(alert, "over the calls-per-minute budget")
        };
        if triage.source == "fallback" {
            metrics::counter!(m::FALLBACKS).increment(1);
        }
        triage
    }

    pub fn evidence_sample(&self) -> usize {
        self.llm.evidence_sample
    }
}

/// Starts the worker on the current runtime; the triager is for on-demand use.
pub fn spawn(config: WorkerConfig, store: Arc<dyn Store>) -> Result<(TriageHandle, Arc<Triager>), String> {
    let min_severity = Severity::parse(&config.llm.min_severity)
        .ok_or_else(|| format!("llm.min_severity: unknown severity {:?}", config.llm.min_severity))?;
    let triager = Arc::new(Triager::new(&config.llm)?.with_rules(config.rules));
    let (tx, rx) = mpsc::channel(config.llm.queue_capacity);
    tokio::spawn(run(rx, triager.clone(), config.settle, store));
    Ok((TriageHandle { tx, min_severity }, triager))
}

async fn run(
    mut rx: mpsc::Receiver<(String, Instant)>,
    triager: Arc<Triager>,
    settle: Duration,
    store: Arc<dyn Store>,
) {
    while let Some((alert_id, offered)) = rx.recv().await {
        tokio::time::sleep_until((offered + settle).into()).await;
        let Some((alert, evidence)) = load(&store, &alert_id, triager.evidence_sample()).await else { continue };
        save(&store, triager.triage(&alert, &evidence).await).await;
    }
}

/// Asks the model; any failure gives the fallback, with why.
pub async fn triage_with_model(
    client: &ChatClient,
    llm: &LlmConfig,
    alert: &Alert,
    rule_logic: Option<&str>,
    evidence: &[Event],
) -> Triage {
    let mut redactor = Redactor::new(&llm.redact);
    let prompt = prompt::build(alert, rule_logic, evidence, llm.evidence_sample, llm.max_prompt_chars, &mut redactor);
    for (kind, n) in redactor.counts() {
        metrics::counter!(m::REDACTED, "kind" => *kind).increment(*n as u64);
    }
    let answer = match client.complete(&prompt.messages).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(alert = %alert.id, error = %e, "LLM triage failed; the rule-based triage stands in.");
            return fallback(alert, &e.to_string());
        }
    };
    match read_answer(&answer.content, alert, &prompt.evidence_ids, &redactor, client.model()) {
        Ok(triage) => {
            metrics::counter!(m::CALLS, "outcome" => "ok").increment(1);
            metrics::counter!(m::INVENTED_CITATIONS).increment(triage.invented_citations as u64);
            triage
        }
        Err(e) => {
            metrics::counter!(m::CALLS, "outcome" => "unusable").increment(1);
            tracing::warn!(alert = %alert.id, reason = %e.0, "LLM answer unusable; the rule-based triage stands in.");
            fallback(alert, &format!("unusable answer: {}", e.0))
        }
    }
}

async fn load(store: &Arc<dyn Store>, alert_id: &str, sample: usize) -> Option<(Alert, Vec<Event>)> {
    let (store, id) = (store.clone(), alert_id.to_owned());
    let loaded =
        tokio::task::spawn_blocking(move || -> Result<Option<(Alert, Vec<Event>)>, rampart_core::StoreError> {
            let Some(alert) = store.alert(&id)? else { return Ok(None) };
            let mut evidence = Vec::new();
            for event_id in alert.evidence.iter().rev().take(sample).rev() {
                evidence.extend(store.event(*event_id)?);
            }
            Ok(Some((alert, evidence)))
        })
        .await;
    match loaded {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            tracing::warn!(alert = alert_id, %error, "Triage cannot read the alert; skipped.");
            None
        }
        Err(_) => None,
    }
}

async fn save(store: &Arc<dyn Store>, triage: Triage) {
    let store = store.clone();
    let id = triage.alert_id.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let body = serde_json::to_string(&triage).map_err(|e| rampart_core::StoreError::Backend(e.to_string()))?;
        store.put_triage(&triage.alert_id, &body)
    })
    .await;
    if !matches!(saved, Ok(Ok(()))) {
        tracing::warn!(alert = %id, "Triage could not be stored.");
    }
}

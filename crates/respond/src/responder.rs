//! `Responder`: alerts → playbooks → decisions → enforcers, with the
//! allowlist checked first and every attempt audited as an action.
//!
//! It owns the enforcers, so every change to firewall state goes through
//! one thread in order: a ban from a playbook, one from the API and a
//! delete never race each other. Each decision goes to every enforcer that
//! `handles` its target (the `Enforcer` seam: a ban is put in force by the
//! firewall and by the web gatekeeper's block list alike), each audited;
//! slow ones (kills) run on a thread of their own and audit themselves.

use std::sync::Arc;

use rampart_core::{
    Action, ActionResult, Alert, Decision, DecisionError, DecisionKind, DecisionQuery, DecisionRequest, Mitigation,
    Store, Target,
};
use tokio::sync::mpsc;

use crate::allowlist::Allowlist;
use crate::enforce::{Applied, EnforceError, Enforcer, process};
use crate::error::RespondError;
use crate::metrics::{DECISION_ACTIONS, DECISIONS};
use crate::playbook::{OFFENCE_MEMORY_MS, Playbook, PlaybookAction, Recidive};

mod burst;

/// The most alerts judged together.
const MAX_BURST: usize = 512;

/// What the responder thread takes in.
#[derive(Debug)]
pub enum ResponderInput {
    /// A newly opened alert.
    Alert(Alert),
    Request(DecisionRequest),
}

pub struct Responder {
    store: Arc<dyn Store>,
    playbooks: Vec<Playbook>,
    allowlist: Allowlist,
    /// The global mode: `true` enforce, `false` observe.
    enforce: bool,
    enforcers: Vec<Arc<dyn Enforcer>>,
    /// What `rate_limit` decisions allow per source (recorded on each).
    rate_per_sec: u32,
    /// Sinks `notify` playbooks send to, by name.
    sinks: std::collections::HashMap<String, crate::SinkWorker>,
    /// While `run` works through a burst of alerts, their audit actions
    /// gather here and are written in one go (a networked store pays a
    /// round trip per write); `None` writes each at once.
    deferred: std::sync::Mutex<Option<Vec<Action>>>,
    /// Longer bans for addresses banned again and again, by any playbook.
    recidive: Option<Recidive>,
}

impl Responder {
    pub fn new(
        store: Arc<dyn Store>,
        playbooks: Vec<Playbook>,
        allowlist: Allowlist,
        enforce: bool,
        enforcers: Vec<Box<dyn Enforcer>>,
        rate_per_sec: u32,
    ) -> Responder {
        Responder {
            store,
            playbooks,
            allowlist,
            enforce,
            enforcers: enforcers.into_iter().map(Arc::from).collect(),
            rate_per_sec,
            sinks: std::collections::HashMap::new(),
            deferred: std::sync::Mutex::new(None),
            recidive: None,
        }
    }

    /// Bans an address banned again and again (by any playbook) for longer.
    pub fn with_recidive(mut self, recidive: Option<Recidive>) -> Responder {
        self.recidive = recidive;
        self
    }

    /// The sinks `notify` playbooks may name.
    pub fn with_sinks(mut self, sinks: Vec<crate::SinkWorker>) -> Responder {
        self.sinks = sinks.into_iter().map(|s| (s.name().to_owned(), s)).collect();
        self
    }

    fn enforcers_for<'a>(&'a self, target: &'a Target) -> impl Iterator<Item = &'a Arc<dyn Enforcer>> + 'a {
        self.enforcers.iter().filter(move |e| e.handles(target))
    }

    fn enforces(&self, playbook: Option<&Playbook>) -> bool {
        playbook.and_then(|p| p.enforce).unwrap_or(self.enforce)
    }

    fn enforces_anything(&self) -> bool {
        self.enforce || self.playbooks.iter().any(|p| p.enforce == Some(true))
    }

    /// On start in enforce mode: the store is the truth. The table is
    /// rebuilt from the decisions in force that were made enforcing,
    /// whatever was done to it by hand.
    pub fn reconcile(&self) -> Result<usize, RespondError> {
        if !self.enforces_anything() {
            return Ok(0);
        }
        let now = rampart_core::time::now_ms();
        let query = DecisionQuery { active_at_ms: Some(now), limit: usize::MAX / 2, ..Default::default() };
        let active: Vec<Decision> = self
            .store
            .decisions(&query)?
            .into_iter()
            .filter(|d| d.enforced && self.allowlist.refuses(&d.target).is_none())
            .collect();
        let mut held = 0;
        for enforcer in &self.enforcers {
            let mine: Vec<Decision> = active.iter().filter(|d| enforcer.handles(&d.target)).cloned().collect();
            let results = enforcer.reconcile(&mine, now)?;
            let name = enforcer.name();
            let actions = mine.iter().zip(&results).map(|(d, r)| action(d, name, "reconcile", r)).collect::<Vec<_>>();
            self.audit(&actions);
            held += results.iter().filter(|r| r.is_ok()).count();
        }
        Ok(held)
    }

    /// A newly opened alert: the first matching playbook decides.
    pub fn on_alert(&self, alert: &Alert) {
        log_outcome(alert, self.run_playbook(alert, false));
    }

    /// A person asked for an alert's playbook to run now (the dashboard's
    /// mitigate button): the same playbook, decision and mode as for a new
    /// alert, recorded as manual.
    pub fn mitigate(&self, alert: &Alert) -> Result<Mitigation, DecisionError> {
        self.run_playbook(alert, true).unwrap_or_else(|| {
            Err(DecisionError::Invalid(format!(
                "no playbook acts on rule {} for {}={}",
                alert.rule_id, alert.entity.field, alert.entity.value
            )))
        })
    }

    /// The first playbook that matches `alert` and can act on its entity;
    /// `None` when there is none.
    fn run_playbook(&self, alert: &Alert, manual: bool) -> Option<Result<Mitigation, DecisionError>> {
        let now = rampart_core::time::now_ms();
        // One read answers every question: is a ban by this playbook in
        // force for the address (two rules firing on one attack: one ban
        // is enough), how many did it make in the last day, and how many
        // bans did every playbook make (recidive).
        let past = || {
            let query = DecisionQuery { target: Some(alert.entity.value.clone()), limit: 1_000, ..Default::default() };
            self.store.decisions(&query).unwrap_or_else(|error| {
                tracing::error!(%error, "Cannot read earlier decisions; deciding as for a first offence.");
                Vec::new()
            })
        };
        Some(match self.choose(alert, manual, now, past)? {
            Choice::Done(outcome) => outcome,
            Choice::Decide { playbook, decision, enforce } => {
                self.add(decision, enforce).map(|decision| Mitigation::Decided { playbook, decision })
            }
        })
    }

    /// What the first playbook that matches `alert` and can act on its
    /// entity makes of it, given `past`: every decision made about the
    /// entity, newest first (read only if a deciding playbook matches).
    fn choose(&self, alert: &Alert, manual: bool, now: i64, past: impl FnOnce() -> Vec<Decision>) -> Option<Choice> {
        let mut past = Some(past);
        let mut about: Vec<Decision> = Vec::new();
        for playbook in self.playbooks.iter().filter(|p| p.matches(alert)) {
            if playbook.action == PlaybookAction::Notify {
                let name = playbook.name.clone();
                return Some(Choice::Done(match playbook.sink.as_deref().and_then(|name| self.sinks.get(name)) {
                    Some(sink) => {
                        sink.offer(alert);
                        Ok(Mitigation::Notified { playbook: name, sink: sink.name().to_owned() })
                    }
                    None => Err(DecisionError::Failed(format!("notify playbook {name} has no running sink"))),
                }));
            }
            if let Some(read) = past.take() {
                about = read();
            }
            let mine = || about.iter().filter(|d| d.playbook.as_deref() == Some(playbook.name.as_str()));
            if let Some(active) = mine().find(|d| d.is_active(now)) {
                return Some(Choice::Done(Ok(Mitigation::AlreadyActive {
                    playbook: playbook.name.clone(),
                    decision: active.clone(),
                })));
            }
            let earlier = mine().filter(|d| d.created_ms >= now - OFFENCE_MEMORY_MS).count();
            let Some(mut decision) = playbook.decide(alert, earlier, now) else { continue };
            if let Some(recidive) = &self.recidive {
                recidive.apply(&mut decision, &about, now);
            }
            if manual {
                decision.origin = rampart_core::Origin::Manual;
                decision.reason = format!("mitigated by hand: {}", decision.reason);
            }
            return Some(Choice::Decide {
                playbook: playbook.name.clone(),
                decision,
                enforce: self.enforces(Some(playbook)),
            });
        }
        None
    }

    /// Stores `decision` and, when enforcing, applies it. Allowlists win:
    /// a refused decision is stored inactive, with a `refused` action.
    pub fn add(&self, decision: Decision, enforce: bool) -> Result<Decision, DecisionError> {
        let (decision, refusal) = self.prepare(decision, enforce);
        let stored = self.store.add_decision(&decision).map_err(|e| DecisionError::Failed(e.to_string()))?;
        self.put_in_force(stored, refusal, enforce)
    }

    /// `decision` as it will be stored: pinned, rated, refused (stored
    /// deleted, with the allowlist's reason) or not, enforced or not.
    fn prepare(&self, mut decision: Decision, enforce: bool) -> (Decision, Option<String>) {
        let now = rampart_core::time::now_ms();
        // Pin a kill to the process running now, so a later PID reuse is never hit.
        if let Target::Process { pid, start_ticks: ticks @ None } = &mut decision.target {
            *ticks = process::start_ticks(*pid);
        }
        if decision.kind == DecisionKind::RateLimit {
            decision.rate_per_sec = Some(self.rate_per_sec);
        }
        let refusal = self.allowlist.refuses(&decision.target);
        if refusal.is_some() {
            decision.deleted_ms = Some(now);
        }
        decision.enforced = enforce && refusal.is_none();
        (decision, refusal)
    }

    /// After a prepared decision is stored: audits a refusal or an observed
    /// decision, or applies it through every enforcer that handles it.
    fn put_in_force(
        &self,
        stored: Decision,
        refusal: Option<String>,
        enforce: bool,
    ) -> Result<Decision, DecisionError> {
        let now = rampart_core::time::now_ms();
        metrics::counter!(DECISIONS, "origin" => stored.origin.as_str(), "kind" => stored.kind.as_str()).increment(1);
        if let Some(reason) = refusal {
            self.audit(&[action_with(&stored, "allowlist", "apply", ActionResult::Refused, reason.clone())]);
            return Err(DecisionError::Refused { decision_id: stored.id, reason });
        }
        if !enforce {
            let detail = match stored.target {
                Target::Process { pid, .. } => {
                    format!("observe mode: would have sent SIGTERM to pid {pid}, then SIGKILL after the grace period")
                }
                Target::Net(_) => "observe mode: recorded, not applied".into(),
            };
            self.audit(&[action_with(&stored, "observe", "apply", ActionResult::DryRun, detail)]);
            return Ok(stored);
        }
        let mut audits = Vec::new();
        for enforcer in self.enforcers_for(&stored.target) {
            if enforcer.slow() {
                self.apply_in_background(enforcer.clone(), &stored);
            } else {
                let result = enforcer.apply(std::slice::from_ref(&stored), now).remove(0);
                audits.push(action(&stored, enforcer.name(), "apply", &result));
            }
        }
        if audits.is_empty() && self.enforcers_for(&stored.target).next().is_none() {
            audits.push(action(
                &stored,
                "none",
                "apply",
                &Err(EnforceError::Unsupported("no enforcer handles this target")),
            ));
        }
        self.audit(&audits);
        Ok(stored)
    }

    /// Deletes a decision and lifts it from the firewall.
    pub fn delete(&self, id: i64) -> Result<Option<Decision>, DecisionError> {
        let now = rampart_core::time::now_ms();
        let Some(deleted) = self.store.delete_decision(id, now).map_err(|e| DecisionError::Failed(e.to_string()))?
        else {
            return Ok(None);
        };
        let lifted: Vec<Action> = self
            .enforcers_for(&deleted.target)
            .filter(|_| self.enforces_anything())
            .map(|enforcer| {
                let result = enforcer.lift(std::slice::from_ref(&deleted)).remove(0).map(|()| String::new());
                action(&deleted, enforcer.name(), "remove", &result)
            })
            .collect();
        if lifted.is_empty() {
            self.audit(&[action_with(&deleted, "observe", "remove", ActionResult::DryRun, "deleted".into())]);
        } else {
            self.audit(&lifted);
        }
        Ok(Some(deleted))
    }

    /// A slow enforcer (a kill waits out its grace period) applies on its
    /// own thread and audits itself, so bans keep flowing meanwhile.
    fn apply_in_background(&self, enforcer: Arc<dyn Enforcer>, decision: &Decision) {
        let (store, job) = (self.store.clone(), decision.clone());
        let spawned = std::thread::Builder::new().name("rampart-enforce".into()).spawn(move || {
            let now = rampart_core::time::now_ms();
            let result = enforcer.apply(std::slice::from_ref(&job), now).remove(0);
            let action = action(&job, enforcer.name(), "apply", &result);
            metrics::counter!(DECISION_ACTIONS, "enforcer" => enforcer.name(), "result" => action.result.as_str())
                .increment(1);
            if let Err(error) = store.record_actions(&[action]) {
                tracing::error!(%error, "Cannot record an enforcement action.");
            }
        });
        if let Err(error) = spawned {
            self.audit(&[action_with(decision, "process", "apply", ActionResult::Failed, error.to_string())]);
        }
    }

    fn audit(&self, actions: &[Action]) {
        for a in actions {
            metrics::counter!(DECISION_ACTIONS, "enforcer" => a.enforcer.clone(), "result" => a.result.as_str())
                .increment(1);
        }
        if let Some(pending) = self.deferred.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            pending.extend_from_slice(actions);
            return;
        }
        self.write_audit(actions);
    }

    fn write_audit(&self, actions: &[Action]) {
        if actions.is_empty() {
            return;
        }
        if let Err(error) = self.store.record_actions(actions) {
            tracing::error!(%error, actions = actions.len(), "Cannot record enforcement actions.");
        }
    }

    /// Serves alerts and API requests until every sender is gone. Blocking:
    /// run it on its own thread.
    pub fn run(self, mut input: mpsc::Receiver<ResponderInput>) {
        match self.reconcile() {
            Ok(0) => {}
            Ok(n) => tracing::info!(bans = n, "Firewall reconciled from the store."),
            Err(error) => tracing::error!(%error, "Cannot reconcile the firewall with the store."),
        }
        let mut next = None;
        while let Some(item) = next.take().or_else(|| input.blocking_recv()) {
            let request = match item {
                ResponderInput::Alert(first) => {
                    // Alerts waiting in the queue are judged together: one
                    // read of earlier decisions, one write of new ones and of
                    // their audit trail, where a networked store would pay
                    // round trips per alert.
                    let mut burst = vec![first];
                    while burst.len() < MAX_BURST {
                        match input.try_recv() {
                            Ok(ResponderInput::Alert(alert)) => burst.push(alert),
                            Ok(request) => {
                                next = Some(request);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.deferred.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(Vec::new);
                    self.on_alerts(&burst);
                    self.flush_audit();
                    continue;
                }
                ResponderInput::Request(request) => request,
            };
            match request {
                DecisionRequest::Add { decision, reply } => {
                    let _ = reply.send(self.add(decision, self.enforce));
                }
                DecisionRequest::Delete { id, reply } => {
                    let _ = reply.send(self.delete(id));
                }
                DecisionRequest::Mitigate { alert, reply } => {
                    let _ = reply.send(self.mitigate(&alert));
                }
            }
        }
    }

    /// Writes deferred audit actions and stops deferring.
    fn flush_audit(&self) {
        let pending = self.deferred.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(actions) = pending {
            self.write_audit(&actions);
        }
    }
}

fn action(d: &Decision, enforcer: &str, op: &str, result: &Applied) -> Action {
    match result {
        Ok(detail) => action_with(d, enforcer, op, ActionResult::Applied, detail.clone()),
        Err(e) => action_with(d, enforcer, op, ActionResult::Failed, e.to_string()),
    }
}

fn action_with(d: &Decision, enforcer: &str, op: &str, result: ActionResult, detail: String) -> Action {
    Action {
        id: 0,
        decision_id: d.id,
        at_ms: rampart_core::time::now_ms(),
        enforcer: enforcer.into(),
        op: op.into(),
        result,
        detail,
    }
}

/// What the first matching playbook makes of an alert.
enum Choice {
    /// Nothing more to do: notified, already in force, or failed.
    Done(Result<Mitigation, DecisionError>),
    /// A new decision to store and put in force.
    Decide { playbook: String, decision: Decision, enforce: bool },
}

fn log_outcome(alert: &Alert, outcome: Option<Result<Mitigation, DecisionError>>) {
    match outcome {
        None | Some(Ok(Mitigation::AlreadyActive { .. })) => {}
        Some(Ok(Mitigation::Notified { playbook, sink })) => {
            tracing::info!(%playbook, %sink, alert = %alert.id, "Playbook notified.");
        }
        Some(Ok(Mitigation::Decided { playbook, decision: d })) => {
            tracing::info!(id = d.id, target = %d.target, %playbook, "Decision made.");
        }
        Some(Err(error)) => tracing::warn!(%error, alert = %alert.id, "Decision not put in force."),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::playbook::builtin_playbooks;
    use rampart_core::config::Durability;

    pub(super) fn alert(id: &str, ip: &str) -> Alert {
        Alert { id: id.into(), ..crate::fixtures::alert("ssh-brute-force", ip) }
    }

    /// Observe mode against a real store: no nft is ever run.
    pub(super) fn responder(dir: &std::path::Path) -> (Arc<dyn Store>, Responder) {
        let store: Arc<dyn Store> = Arc::new(rampart_store::SqliteStore::open(dir, Durability::Normal).unwrap());
        let nft = crate::enforce::nftables::NftTable {
            program: "/nonexistent/nft".into(),
            table: "rampart".into(),
            forward: false,
            rate_per_sec: 10,
        };
        let allow = Allowlist::new(&["192.0.2.0/24".into()], &[]).unwrap();
        let process = crate::enforce::process::ProcessEnforcer { grace: std::time::Duration::from_millis(500) };
        (
            store.clone(),
            Responder::new(store, builtin_playbooks(), allow, false, vec![Box::new(nft), Box::new(process)], 10),
        )
    }

    fn active(store: &Arc<dyn Store>) -> Vec<Decision> {
        let q = DecisionQuery { active_at_ms: Some(rampart_core::time::now_ms()), limit: 100, ..Default::default() };
        store.decisions(&q).unwrap()
    }

    #[test]
    fn repeat_offences_escalate_and_a_second_alert_during_a_ban_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, r) = responder(dir.path());
        r.on_alert(&alert("a1", "203.0.113.9"));
        // Another rule on the same attack while the ban stands: one ban is enough.
        r.on_alert(&alert("a2", "203.0.113.9"));
        let first = active(&store);
        assert_eq!(first.len(), 1);
        let length = |d: &Decision| d.expires_ms.unwrap() - d.created_ms;
        assert_eq!(length(&first[0]), 600_000);
        // The ban ends (here: deleted); the address comes back and gets an hour.
        r.delete(first[0].id).unwrap().unwrap();
        r.on_alert(&alert("a3", "203.0.113.9"));
        let second = active(&store);
        assert_eq!(second.len(), 1);
        assert_eq!(length(&second[0]), 3_600_000);
        assert_eq!(second[0].alert_id.as_deref(), Some("a3"));
        let actions = store.actions(None, 10).unwrap().items;
        assert!(actions.iter().all(|a| a.result == ActionResult::DryRun), "{actions:?}");
    }

    #[test]
    fn the_fourth_ban_in_a_week_by_any_playbook_lasts_a_week() {
        let dir = tempfile::tempdir().unwrap();
        let (store, r) = responder(dir.path());
        let recidive = rampart_core::config::RecidiveConfig::default();
        let r = r.with_recidive(crate::playbook::Recidive::from_config(&recidive).unwrap());
        let now = rampart_core::time::now_ms();
        let day = 86_400_000;
        let past_ban = |ip: &str, days_ago: i64, playbook: &str| {
            let at = now - days_ago * day;
            let target = rampart_core::Target::parse(ip).unwrap();
            let mut d = Decision::new(DecisionKind::Ban, target, rampart_core::Origin::Rule, at, Some(at + 600_000));
            d.playbook = Some(playbook.into());
            store.add_decision(&d).unwrap()
        };
        // Three bans this week by other playbooks (other services).
        for (days_ago, playbook) in [(1, "mail"), (3, "web"), (6, "ftp")] {
            past_ban("203.0.113.7", days_ago, playbook);
        }
        // Two bans this week, one lifted by a person, and one a fortnight ago.
        past_ban("203.0.113.8", 1, "mail");
        let lifted = past_ban("203.0.113.8", 2, "web");
        store.delete_decision(lifted.id, now - day).unwrap().unwrap();
        past_ban("203.0.113.8", 14, "web");
        // A burst (both addresses) and a lone alert (a third) judge alike.
        r.on_alerts(&[alert("r1", "203.0.113.7"), alert("r2", "203.0.113.8")]);
        past_ban("203.0.113.9", 1, "mail");
        past_ban("203.0.113.9", 2, "web");
        past_ban("203.0.113.9", 3, "ftp");
        r.on_alert(&alert("r3", "203.0.113.9"));
        let bans = active(&store);
        let about = |ip: &str| bans.iter().find(|d| d.target.to_string() == ip).unwrap().clone();
        let length = |d: &Decision| d.expires_ms.unwrap() - d.created_ms;
        for ip in ["203.0.113.7", "203.0.113.9"] {
            let d = about(ip);
            assert_eq!(length(&d), 7 * day, "{ip}");
            assert!(d.reason.starts_with("recidive, ban 4 in 168h"), "{}", d.reason);
        }
        let d = about("203.0.113.8");
        assert_eq!(length(&d), 600_000, "a first offence for its playbook, the second counted ban: {}", d.reason);
    }

    #[test]
    fn mitigate_runs_the_playbook_by_hand_once_and_says_when_nothing_matches() {
        let dir = tempfile::tempdir().unwrap();
        let (store, r) = responder(dir.path());
        let a = alert("m1", "203.0.113.44");
        let Mitigation::Decided { playbook, decision } = r.mitigate(&a).unwrap() else { panic!("no decision") };
        assert_eq!((decision.origin, decision.enforced), (rampart_core::Origin::Manual, false));
        assert!(decision.reason.starts_with("mitigated by hand"), "{}", decision.reason);
        assert_eq!(decision.playbook.as_deref(), Some(playbook.as_str()));
        assert_eq!(active(&store).len(), 1);
        // Pressing it again: the ban is in force; nothing new.
        assert!(
            matches!(r.mitigate(&a).unwrap(), Mitigation::AlreadyActive { decision: d, .. } if d.id == decision.id)
        );
        assert_eq!(active(&store).len(), 1);
        let unmatched = Alert { rule_id: "no-such-rule".into(), ..alert("m2", "203.0.113.45") };
        assert!(matches!(r.mitigate(&unmatched), Err(DecisionError::Invalid(m)) if m.contains("no-such-rule")));
    }

    #[test]
    fn an_enforced_kill_ends_the_process_and_pid_1_is_refused() {
        use rampart_core::{DecisionKind, Origin};
        let dir = tempfile::tempdir().unwrap();
        let (store, r) = responder(dir.path());
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let kill = |pid| {
            Decision::new(DecisionKind::Kill, Target::Process { pid, start_ticks: None }, Origin::Manual, 0, None)
        };
        let stored = r.add(kill(child.id()), true).unwrap();
        assert!(matches!(stored.target, Target::Process { start_ticks: Some(_), .. }), "pinned to the running process");
        assert!(!child.wait().unwrap().success());
        let applied = (0..100).find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            store.actions(None, 10).unwrap().items.into_iter().find(|a| a.enforcer == "process")
        });
        assert_eq!(applied.unwrap().result, ActionResult::Applied);
        assert!(matches!(r.add(kill(1), true), Err(DecisionError::Refused { .. })));
    }

    #[test]
    fn switching_to_enforce_applies_only_what_was_decided_enforcing() {
        use rampart_core::{DecisionKind, Origin};
        let dir = tempfile::tempdir().unwrap();
        let (store, observing) = responder(dir.path());
        let ban = |ip: &str| Decision::new(DecisionKind::Ban, Target::parse(ip).unwrap(), Origin::Manual, 0, None);
        observing.add(ban("203.0.113.1"), false).unwrap();
        let recording = crate::testing::Recording::default();
        let allow = Allowlist::new(&[], &[]).unwrap();
        let enforcing = Responder::new(store.clone(), vec![], allow, true, vec![Box::new(recording.clone())], 10);
        enforcing.add(ban("203.0.113.2"), true).unwrap();
        assert_eq!(enforcing.reconcile().unwrap(), 1);
        let log = recording.entries();
        let held = &log[log.iter().rposition(|e| e == "reset").unwrap() + 1..];
        assert_eq!(held, ["add 203.0.113.2"], "the observed ban stays a record");
    }

    #[test]
    fn allowlisted_addresses_are_refused_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let (store, r) = responder(dir.path());
        r.on_alert(&alert("a1", "192.0.2.44"));
        assert!(active(&store).is_empty());
        let actions = store.actions(None, 10).unwrap().items;
        assert_eq!(actions.len(), 1);
        assert_eq!((actions[0].result, actions[0].enforcer.as_str()), (ActionResult::Refused, "allowlist"));
        assert!(actions[0].detail.contains("192.0.2.0/24"));
    }
}

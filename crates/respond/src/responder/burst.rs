//! Judging a burst of alerts together: the decisions a playbook needs to
//! see (is a ban in force, how many were made today) are read for every
//! alert's entity in one query, and the new decisions are written in one
//! insert. Each alert is still judged in order, as `on_alert` would, with
//! the decisions made earlier in the same burst counted.

use std::collections::{BTreeSet, HashMap};

use rampart_core::{Alert, Decision, DecisionError, Mitigation};

use super::{Choice, Responder, log_outcome};
use crate::playbook::PlaybookAction;

/// Earlier decisions read per entity: enough to find one in force and to
/// count a day's offences (escalation stops after a handful).
const PAST_PER_TARGET: usize = 100;

/// A decision chosen for an alert, waiting for the burst's one insert.
struct Chosen<'a> {
    alert: &'a Alert,
    playbook: String,
    decision: Decision,
    refusal: Option<String>,
    enforce: bool,
}

impl Responder {
    /// Newly opened alerts, in the order they were opened.
    pub(super) fn on_alerts(&self, alerts: &[Alert]) {
        if let [alert] = alerts {
            return self.on_alert(alert);
        }
        let now = rampart_core::time::now_ms();
        let mut past = self.past_decisions(alerts);
        let mut chosen = Vec::new();
        for alert in alerts {
            let about = || past.get(&alert.entity.value).cloned().unwrap_or_default();
            match self.choose(alert, false, now, about) {
                None => {}
                Some(Choice::Done(outcome)) => log_outcome(alert, Some(outcome)),
                Some(Choice::Decide { playbook, decision, enforce }) => {
                    let (decision, refusal) = self.prepare(decision, enforce);
                    // The next alert about the same entity sees it, newest first.
                    past.entry(alert.entity.value.clone()).or_default().insert(0, decision.clone());
                    chosen.push(Chosen { alert, playbook, decision, refusal, enforce });
                }
            }
        }
        if chosen.is_empty() {
            return;
        }
        let decisions: Vec<Decision> = chosen.iter().map(|c| c.decision.clone()).collect();
        match self.store.add_decisions(&decisions) {
            Ok(stored) => {
                for (c, stored) in chosen.into_iter().zip(stored) {
                    let outcome = self
                        .put_in_force(stored, c.refusal, c.enforce)
                        .map(|decision| Mitigation::Decided { playbook: c.playbook, decision });
                    log_outcome(c.alert, Some(outcome));
                }
            }
            Err(error) => {
                let error = DecisionError::Failed(error.to_string());
                tracing::warn!(%error, decisions = decisions.len(), "Decisions not stored; none put in force.");
            }
        }
    }

    /// Earlier decisions about the entities of `alerts` that a deciding
    /// playbook matches, by entity value, newest first.
    fn past_decisions(&self, alerts: &[Alert]) -> HashMap<String, Vec<Decision>> {
        let deciding = |a: &&Alert| self.playbooks.iter().any(|p| p.action != PlaybookAction::Notify && p.matches(a));
        let targets: BTreeSet<&str> = alerts.iter().filter(deciding).map(|a| a.entity.value.as_str()).collect();
        let mut past: HashMap<String, Vec<Decision>> = HashMap::new();
        if targets.is_empty() {
            return past;
        }
        let targets: Vec<String> = targets.into_iter().map(str::to_owned).collect();
        match self.store.decisions_about(&targets, PAST_PER_TARGET) {
            Ok(found) => {
                for d in found {
                    past.entry(d.target.to_string()).or_default().push(d);
                }
                for list in past.values_mut() {
                    list.sort_by_key(|d| std::cmp::Reverse(d.id));
                }
            }
            Err(error) => {
                tracing::error!(%error, "Cannot read earlier decisions; deciding as for first offences.");
            }
        }
        past
    }
}

#[cfg(test)]
mod tests {
    use rampart_core::{ActionResult, Decision, DecisionQuery, Store};

    use super::super::tests::{alert, responder};

    fn all(store: &dyn Store) -> Vec<Decision> {
        let mut all = store.decisions(&DecisionQuery { limit: 1_000, ..Default::default() }).unwrap();
        all.sort_by_key(|d| d.id);
        all
    }

    #[test]
    fn a_burst_decides_as_alerts_one_by_one_would() {
        let (one, burst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (one_store, one_by_one) = responder(one.path());
        let (burst_store, together) = responder(burst.path());
        // An earlier, lifted ban makes 203.0.113.9 a second offender.
        for r in [&one_by_one, &together] {
            r.on_alert(&alert("old", "203.0.113.9"));
        }
        for (store, r) in [(&one_store, &one_by_one), (&burst_store, &together)] {
            let old = all(store.as_ref())[0].id;
            r.delete(old).unwrap().unwrap();
        }
        let alerts = [
            alert("b1", "203.0.113.9"),
            alert("b2", "198.51.100.7"),
            alert("b3", "203.0.113.9"), // same attack, another rule: one ban is enough
            alert("b4", "192.0.2.5"),   // allowlisted: stored refused
            alert("b5", "198.51.100.8"),
        ];
        for a in &alerts {
            one_by_one.on_alert(a);
        }
        together.on_alerts(&alerts);
        let shape = |store: &std::sync::Arc<dyn Store>| {
            let decisions = all(store.as_ref());
            let rows = decisions
                .iter()
                .map(|d| {
                    let length = d.expires_ms.unwrap() - d.created_ms;
                    (d.target.to_string(), d.alert_id.clone(), length, d.deleted_ms.is_some(), d.reason.clone())
                })
                .collect::<Vec<_>>();
            let mut results = store.actions(None, 100).unwrap().items.iter().map(|a| a.result).collect::<Vec<_>>();
            results.sort_by_key(|r| r.as_str());
            (rows, results)
        };
        let (rows, results) = shape(&burst_store);
        assert_eq!((&rows, &results), (&shape(&one_store).0, &shape(&one_store).1));
        let made: Vec<_> = rows.iter().skip(1).map(|r| (r.0.as_str(), r.1.as_deref(), r.2, r.3)).collect();
        assert_eq!(
            made,
            [
                ("203.0.113.9", Some("b1"), 3_600_000, false),
                ("198.51.100.7", Some("b2"), 600_000, false),
                ("192.0.2.5", Some("b4"), 600_000, true),
                ("198.51.100.8", Some("b5"), 600_000, false),
            ]
        );
        assert!(rows[1].4.contains("offence 2 in 24h"), "{}", rows[1].4);
        assert_eq!(results.iter().filter(|r| **r == ActionResult::Refused).count(), 1);
    }

    #[test]
    fn the_run_loop_judges_queued_alerts_and_still_answers_requests() {
        let dir = tempfile::tempdir().unwrap();
        let (store, r) = responder(dir.path());
        let (tx, rx) = tokio::sync::mpsc::channel(1_000);
        for i in 0..600 {
            let ip = format!("198.18.{}.{}", i / 250, i % 250 + 1);
            tx.try_send(crate::ResponderInput::Alert(alert(&format!("q{i}"), &ip))).unwrap();
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.try_send(crate::ResponderInput::Request(rampart_core::DecisionRequest::Delete { id: 1, reply })).unwrap();
        drop(tx);
        r.run(rx);
        assert_eq!(answer.blocking_recv().unwrap().unwrap().unwrap().id, 1);
        let decisions = all(store.as_ref());
        assert_eq!(decisions.len(), 600);
        assert_eq!(decisions.iter().filter(|d| d.deleted_ms.is_some()).count(), 1);
        // Every decision audited: 600 observed, one removal.
        assert_eq!(store.actions(None, 1_000).unwrap().items.len(), 601);
    }
}

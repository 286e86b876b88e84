//! Merging findings into alerts: one alert per (rule, entity) per window.
//!
//! Detectors emit findings freely; the aggregator folds a finding into the
//! open alert for the same rule and entity when it comes within the dedup
//! window of that alert's last event, and opens a new alert otherwise. It
//! remembers which alerts changed since they were last taken for saving, so
//! the pipeline writes each changed alert once per batch, not once per event.

use lru::LruCache;
use rampart_core::{Alert, AlertStatus, Entity, Finding};

use crate::metrics::{ALERTS_OPENED, OPEN_ALERTS_EVICTED};

type Key = (String, Entity);

struct Entry {
    alert: Alert,
    /// `count` at the last save, to restart cleanly if a person resolved it.
    saved_count: u64,
    /// Changed since it was last taken, and so listed in `fresh` or `dirty`
    /// already (a busy alert's key is cloned once per flush).
    dirty: bool,
}

/// Whether a finding opened a new alert or grew an open one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    Opened,
    Grew,
}

pub struct Aggregator {
    /// Unbounded as a map and capped by `max_open`, so memory follows use
    /// rather than the cap (see `threshold.rs`).
    open: LruCache<Key, Entry>,
    max_open: usize,
    /// Keys of older alerts that grew since they were last taken.
    dirty: Vec<Key>,
    /// Keys of alerts opened since the last take. Kept apart from `dirty`
    /// so taking just these (once per batch) does not walk every grown key.
    fresh: Vec<Key>,
    window_ms: i64,
    max_evidence: usize,
}

impl Aggregator {
    pub fn new(window_secs: u64, max_evidence: usize, max_open: usize) -> Aggregator {
        Aggregator {
            open: LruCache::unbounded(),
            max_open: max_open.max(1),
            dirty: Vec::new(),
            fresh: Vec::new(),
            window_ms: i64::try_from(window_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            max_evidence,
        }
    }

    /// Folds one finding in, stamping changes with the wall clock.
    pub fn merge(&mut self, finding: Finding) -> Merged {
        self.merge_at(finding, rampart_core::time::now_ms())
    }

    /// Folds one finding in, stamping changes with `now_ms` (callers merging
    /// a batch read the clock once, not once per finding).
    pub fn merge_at(&mut self, finding: Finding, now_ms: i64) -> Merged {
        // Look up with the finding's own rule id and entity: no clone on the hot path.
        let key = (finding.rule.id.clone(), finding.entity);
        if let Some(entry) = self.open.get_mut(&key) {
            let open = &mut entry.alert;
            if finding.first_seen_ms.saturating_sub(open.last_seen_ms) <= self.window_ms {
                open.count += finding.count;
                open.first_seen_ms = open.first_seen_ms.min(finding.first_seen_ms);
                open.last_seen_ms = open.last_seen_ms.max(finding.last_seen_ms);
                let room = self.max_evidence.saturating_sub(open.evidence.len());
                open.evidence.extend(finding.evidence.into_iter().take(room));
                open.severity = open.severity.max(finding.rule.severity);
                open.score = open.score.max(finding.rule.score);
                open.updated_ms = now_ms;
                if !entry.dirty {
                    entry.dirty = true;
                    self.dirty.push(key);
                }
                return Merged::Grew;
            }
        }
        let rule = &finding.rule;
        let now = now_ms;
        let mut evidence = finding.evidence;
        evidence.truncate(self.max_evidence);
        let alert = Alert {
            id: Alert::new_id(),
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            description: rule.description.clone(),
            severity: rule.severity,
            score: rule.score,
            entity: key.1.clone(),
            count: finding.count,
            first_seen_ms: finding.first_seen_ms,
            last_seen_ms: finding.last_seen_ms,
            evidence,
            technique: rule.technique.clone(),
            tags: rule.tags.clone(),
            context: finding.context.as_deref().cloned(),
            status: AlertStatus::Open,
            created_ms: now,
            updated_ms: now,
        };
        metrics::counter!(ALERTS_OPENED, "rule" => rule.id.clone(), "severity" => rule.severity.as_str()).increment(1);
        if self.open.len() >= self.max_open && !self.open.contains(&key) {
            self.open.pop_lru();
            metrics::counter!(OPEN_ALERTS_EVICTED).increment(1);
        }
        self.open.put(key.clone(), Entry { alert, saved_count: 0, dirty: true });
        self.fresh.push(key);
        Merged::Opened
    }

    /// The alerts changed since the last call, ready to save and notify,
    /// each with the count it had at its previous save (for `reopen`).
    pub fn take_changed(&mut self) -> Vec<(Alert, u64)> {
        self.take(false)
    }

    /// Only the alerts opened since the last take (with what they have
    /// gathered since); growth of older alerts stays for `take_changed`.
    pub fn take_opened(&mut self) -> Vec<(Alert, u64)> {
        self.take(true)
    }

    fn take(&mut self, only_fresh: bool) -> Vec<(Alert, u64)> {
        let mut keys = std::mem::take(&mut self.fresh);
        if !only_fresh {
            keys.append(&mut self.dirty);
        }
        let mut changed = Vec::with_capacity(keys.len());
        for key in keys {
            // An entry evicted meanwhile is gone; one already taken is clean.
            if let Some(entry) = self.open.peek_mut(&key)
                && entry.dirty
            {
                entry.dirty = false;
                let previous = std::mem::replace(&mut entry.saved_count, entry.alert.count);
                changed.push((entry.alert.clone(), previous));
            }
        }
        changed
    }

    /// The store refused to grow `alert` because a person resolved it: start
    /// a new alert for what arrived since the last save and return it.
    pub fn reopen(&mut self, alert: &Alert, previously_saved: u64, now_ms: i64) -> Option<Alert> {
        let key = (alert.rule_id.clone(), alert.entity.clone());
        let entry = self.open.peek_mut(&key)?;
        let fresh = alert.count.saturating_sub(previously_saved).max(1);
        entry.alert.id = Alert::new_id();
        entry.alert.count = fresh;
        entry.alert.status = AlertStatus::Open;
        entry.alert.first_seen_ms = entry.alert.last_seen_ms;
        let keep = entry.alert.evidence.len().min(fresh as usize);
        entry.alert.evidence.drain(..entry.alert.evidence.len() - keep);
        entry.alert.created_ms = now_ms;
        entry.alert.updated_ms = now_ms;
        entry.saved_count = entry.alert.count;
        Some(entry.alert.clone())
    }

    /// Every alert held, as it stands now (taken or not): for one-shot
    /// scans that print them all at the end without copying them.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.open.iter().map(|(_, entry)| &entry.alert)
    }

    /// Whether an alert opened since the last take: new alerts
    /// are worth saving at once, growth can wait for the next flush.
    pub fn has_opened(&self) -> bool {
        !self.fresh.is_empty()
    }

    /// Whether anything changed since the last `take_changed`.
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || !self.fresh.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use rampart_core::{RuleCard, Severity};

    fn finding(rule: &str, ip: &str, count: u64, at: i64, id: i64) -> Finding {
        Finding {
            rule: Arc::new(RuleCard {
                id: rule.into(),
                title: "t".into(),
                description: String::new(),
                severity: Severity::High,
                score: 75.0,
                technique: None,
                tags: vec![],
                logic: None,
            }),
            entity: Entity { field: "source.ip".into(), value: ip.into() },
            count,
            first_seen_ms: at,
            last_seen_ms: at,
            evidence: vec![id],
            context: None,
        }
    }

    #[test]
    fn same_rule_and_entity_within_window_merge() {
        let mut agg = Aggregator::new(60, 3, 100);
        assert_eq!(agg.merge(finding("r", "a", 5, 0, 1)), Merged::Opened);
        assert_eq!(agg.merge(finding("r", "a", 1, 1_000, 2)), Merged::Grew);
        assert_eq!(agg.merge(finding("r", "b", 1, 1_000, 3)), Merged::Opened);
        let mut changed = agg.take_changed();
        changed.sort_by(|x, y| x.0.entity.value.cmp(&y.0.entity.value));
        assert_eq!(changed.len(), 2);
        assert_eq!(changed[0].0.count, 6);
        assert_eq!(changed[0].0.evidence, vec![1, 2]);
        assert!(agg.take_changed().is_empty());
    }

    #[test]
    fn a_gap_longer_than_the_window_opens_a_new_alert() {
        let mut agg = Aggregator::new(60, 3, 100);
        agg.merge(finding("r", "a", 1, 0, 1));
        let first = agg.take_changed()[0].0.id.clone();
        assert_eq!(agg.merge(finding("r", "a", 1, 61_000, 2)), Merged::Opened);
        assert_ne!(agg.take_changed()[0].0.id, first);
    }

    #[test]
    fn reopen_after_resolution_counts_only_new_findings() {
        let mut agg = Aggregator::new(60, 5, 100);
        agg.merge(finding("r", "a", 5, 0, 1));
        let (saved, _) = agg.take_changed().remove(0);
        agg.merge(finding("r", "a", 1, 1_000, 2));
        let (grown, previous) = agg.take_changed().remove(0);
        assert_eq!((grown.count, previous), (6, 5));
        let fresh = agg.reopen(&grown, previous, 9).unwrap();
        assert_ne!(fresh.id, saved.id);
        assert_eq!((fresh.count, fresh.evidence.clone()), (1, vec![2]));
    }

    #[test]
    fn take_opened_leaves_growth_for_the_flush() {
        let mut agg = Aggregator::new(60, 5, 100);
        agg.merge(finding("r", "a", 5, 0, 1));
        agg.take_changed();
        agg.merge(finding("r", "a", 1, 1_000, 2)); // growth of a saved alert
        agg.merge(finding("r", "b", 1, 1_000, 3)); // a new alert
        let opened = agg.take_opened();
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].0.entity.value, "b");
        let rest = agg.take_changed();
        assert_eq!((rest.len(), rest[0].0.entity.value.as_str(), rest[0].0.count), (1, "a", 6));
    }

    #[test]
    fn evidence_is_capped() {
        let mut agg = Aggregator::new(60, 2, 100);
        for i in 0..5 {
            agg.merge(finding("r", "a", 1, i, i));
        }
        let a = &agg.take_changed()[0].0;
        assert_eq!((a.count, a.evidence.len()), (5, 2));
    }
}

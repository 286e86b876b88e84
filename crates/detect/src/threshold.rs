//! Per-key sliding windows for threshold rules.
//!
//! Each key (e.g. a source IP) costs one LRU entry: the key string, about
//! 100 bytes of bookkeeping, and at most `count` window entries of 16 bytes
//! (event time and id), plus the distinct value text for `distinct` rules.
//! So a `count: 5` rule at the default cap of 100,000 keys costs about
//! 100,000 × (100 + 80 + key) ≈ 20 MB at worst. Past the cap the least
//! recently seen key is evicted and counted.

use std::collections::VecDeque;

use lru::LruCache;

use crate::rule::Threshold;

/// What one matching event did to its key's window.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Counted; the threshold is not reached.
    Counted,
    /// The threshold was reached: these window entries fire together.
    Fired { count: u64, first_ms: i64, evidence: Vec<i64> },
    /// Inside the cooldown after firing: the event joins the open alert.
    Continued,
}

#[derive(Debug, Default)]
struct KeyState {
    /// (event time, event id, distinct value) of counted events, oldest first.
    window: VecDeque<(i64, i64, Option<String>)>,
    cooldown_until: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Windows {
    /// Unbounded as a map, capped by `max_keys` below: a map preallocated
    /// for the cap costs a page per key once keys scatter over it (170 MB
    /// for 6,500 keys at a 1M cap), where growing with use costs bytes.
    keys: LruCache<String, KeyState>,
    max_keys: usize,
}

impl Windows {
    pub(crate) fn new(max_keys: usize) -> Windows {
        Windows { keys: LruCache::unbounded(), max_keys: max_keys.max(1) }
    }

    /// Records one matching event; returns what happened and whether a key
    /// was evicted to make room.
    pub(crate) fn observe(
        &mut self,
        spec: &Threshold,
        key: &str,
        at_ms: i64,
        event_id: i64,
        distinct: Option<String>,
    ) -> (Step, bool) {
        let mut evicted = false;
        // The extra lookup is paid only at the cap; a known key costs one.
        if self.keys.len() >= self.max_keys && !self.keys.contains(key) {
            self.keys.pop_lru();
            evicted = true;
        }
        let state = self.keys.get_or_insert_mut_ref(key, KeyState::default);
        if let Some(until) = state.cooldown_until {
            if at_ms < until {
                return (Step::Continued, evicted);
            }
            state.cooldown_until = None;
        }
        // The window is kept in time order, so expiry only looks at the
        // front: a flood rule's window holds hundreds of entries.
        let horizon = at_ms.saturating_sub(spec.window_ms);
        while state.window.front().is_some_and(|(t, _, _)| *t <= horizon) {
            state.window.pop_front();
        }
        let value = match distinct {
            // A repeated value refreshes its entry rather than counting twice.
            Some(value) => {
                state.window.retain(|(_, _, v)| v.as_deref() != Some(value.as_str()));
                Some(value)
            }
            None => {
                if state.window.len() == spec.count as usize {
                    state.window.pop_front();
                }
                None
            }
        };
        if state.window.back().is_none_or(|(t, _, _)| *t <= at_ms) {
            state.window.push_back((at_ms, event_id, value));
        } else {
            // A late event (out of order by a little) goes to its place in time.
            let at = state.window.partition_point(|(t, _, _)| *t <= at_ms);
            state.window.insert(at, (at_ms, event_id, value));
        }
        if state.window.len() < spec.count as usize {
            return (Step::Counted, evicted);
        }
        let first_ms = state.window.front().map_or(at_ms, |(t, _, _)| *t);
        let evidence = state.window.iter().map(|(_, id, _)| *id).collect();
        let count = state.window.len() as u64;
        state.window.clear();
        state.cooldown_until = Some(at_ms.saturating_add(spec.cooldown_ms));
        (Step::Fired { count, first_ms, evidence }, evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(count: u32, distinct: bool) -> Threshold {
        Threshold {
            group_by: "source.ip".into(),
            count,
            distinct: distinct.then(|| "user.name".into()),
            window_ms: 60_000,
            cooldown_ms: 600_000,
        }
    }

    #[test]
    fn fires_on_the_nth_event_in_window_then_continues() {
        let s = spec(3, false);
        let mut w = Windows::new(10);
        assert_eq!(w.observe(&s, "a", 0, 1, None).0, Step::Counted);
        assert_eq!(w.observe(&s, "a", 1_000, 2, None).0, Step::Counted);
        assert_eq!(
            w.observe(&s, "a", 2_000, 3, None).0,
            Step::Fired { count: 3, first_ms: 0, evidence: vec![1, 2, 3] }
        );
        assert_eq!(w.observe(&s, "a", 3_000, 4, None).0, Step::Continued);
    }

    #[test]
    fn events_outside_the_window_do_not_count() {
        let s = spec(2, false);
        let mut w = Windows::new(10);
        w.observe(&s, "a", 0, 1, None);
        assert_eq!(w.observe(&s, "a", 61_000, 2, None).0, Step::Counted);
    }

    #[test]
    fn distinct_counts_values_not_events() {
        let s = spec(2, true);
        let mut w = Windows::new(10);
        w.observe(&s, "a", 0, 1, Some("root".into()));
        assert_eq!(w.observe(&s, "a", 1, 2, Some("root".into())).0, Step::Counted);
        assert!(matches!(w.observe(&s, "a", 2, 3, Some("admin".into())).0, Step::Fired { count: 2, .. }));
    }

    #[test]
    fn late_events_expire_in_time_order() {
        let s = spec(3, false);
        let mut w = Windows::new(10);
        w.observe(&s, "a", 10_000, 1, None);
        // Arrives late: older than the first, still inside the window.
        w.observe(&s, "a", 5_000, 2, None);
        // 66 s: the 5 s entry is out, the 10 s one is in.
        assert_eq!(w.observe(&s, "a", 66_000, 3, None).0, Step::Counted);
        assert_eq!(
            w.observe(&s, "a", 67_000, 4, None).0,
            Step::Fired { count: 3, first_ms: 10_000, evidence: vec![1, 3, 4] }
        );
    }

    #[test]
    fn memory_is_bounded_by_the_key_cap() {
        let s = spec(5, false);
        let mut w = Windows::new(2);
        assert!(!w.observe(&s, "a", 0, 1, None).1);
        assert!(!w.observe(&s, "b", 0, 2, None).1);
        assert!(w.observe(&s, "c", 0, 3, None).1);
        assert_eq!(w.keys.len(), 2);
    }
}

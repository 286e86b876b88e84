//! Heavy jobs that come back: the anomaly episodes each kind of culprit
//! caused, so a job that recurs (a nightly backup, a build) is learnt after
//! a few separate episodes instead of being alerted on forever. What is
//! learnt is the range its episodes covered, feature by feature: the same
//! job doing more than it ever did, or another process, still alerts.

use std::collections::HashMap;

/// Points kept per episode to widen its kind's range.
const EPISODE_POINTS: usize = 1_800;

/// How far outside the learnt range, in ln(1 + x), still counts as inside
/// it (0.1 is about 10%).
const RANGE_MARGIN: f64 = 0.1;

/// One anomaly episode in progress.
struct Episode {
    key: String,
    lo: Vec<f64>,
    hi: Vec<f64>,
    points: usize,
}

/// What is known about one kind of episode.
struct Kind {
    episodes: u32,
    last_end_ms: i64,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

pub struct Recurring {
    learn_after: u32,
    gap_ms: i64,
    open: Option<Episode>,
    /// The kind of the anomalous stretch in progress, learnt or not.
    ongoing: Option<String>,
    kinds: HashMap<String, Kind>,
}

impl Recurring {
    pub fn new(learn_after: u32, gap_secs: u64) -> Recurring {
        Recurring {
            learn_after,
            gap_ms: i64::try_from(gap_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            open: None,
            ongoing: None,
            kinds: HashMap::new(),
        }
    }

    /// Whether `point` is an episode of a learnt kind, inside the range its
    /// episodes covered. A learnt sample is not part of any episode (the
    /// range must not creep), but it is the stretch in progress.
    pub fn is_learnt(&mut self, key: &str, point: &[f64]) -> bool {
        let Some(kind) = self.kinds.get(key) else { return false };
        let learnt = self.learn_after > 0
            && kind.episodes >= self.learn_after
            && point
                .iter()
                .zip(kind.lo.iter().zip(&kind.hi))
                .all(|(v, (lo, hi))| *v >= lo - RANGE_MARGIN && *v <= hi + RANGE_MARGIN);
        if learnt {
            self.ongoing = Some(key.to_owned());
        }
        learnt
    }

    /// The kind of the anomalous stretch in progress.
    pub fn ongoing(&self) -> Option<&str> {
        self.ongoing.as_deref()
    }

    /// An anomalous sample whose top culprit (or standing-out feature) is `key`.
    pub fn anomalous(&mut self, key: &str, point: &[f64], at_ms: i64) {
        self.ongoing = Some(key.to_owned());
        if self.open.as_ref().is_some_and(|e| e.key != key) {
            self.close(at_ms);
        }
        let episode = self.open.get_or_insert_with(|| Episode {
            key: key.to_owned(),
            lo: point.to_vec(),
            hi: point.to_vec(),
            points: 0,
        });
        if episode.points < EPISODE_POINTS {
            for ((lo, hi), v) in episode.lo.iter_mut().zip(episode.hi.iter_mut()).zip(point) {
                *lo = lo.min(*v);
                *hi = hi.max(*v);
            }
            episode.points += 1;
        }
    }

    /// A normal sample: the open episode, if any, has ended. Returns the
    /// key of a kind this episode made learnt.
    pub fn normal(&mut self, at_ms: i64) -> Option<String> {
        self.ongoing = None;
        self.close(at_ms)
    }

    fn close(&mut self, at_ms: i64) -> Option<String> {
        let episode = self.open.take()?;
        let kind = self.kinds.entry(episode.key.clone()).or_insert_with(|| Kind {
            episodes: 0,
            last_end_ms: i64::MIN,
            lo: episode.lo.clone(),
            hi: episode.hi.clone(),
        });
        for ((lo, hi), (elo, ehi)) in kind.lo.iter_mut().zip(kind.hi.iter_mut()).zip(episode.lo.iter().zip(&episode.hi))
        {
            *lo = lo.min(*elo);
            *hi = hi.max(*ehi);
        }
        // A job that flaps (stops and starts within the gap) is one episode.
        let separate = kind.last_end_ms == i64::MIN || at_ms.saturating_sub(kind.last_end_ms) >= self.gap_ms;
        kind.last_end_ms = at_ms;
        if separate {
            kind.episodes += 1;
            if self.learn_after > 0 && kind.episodes == self.learn_after {
                return Some(episode.key);
            }
        }
        None
    }

    /// The kinds learnt so far.
    pub fn learnt(&self) -> usize {
        self.kinds.values().filter(|k| self.learn_after > 0 && k.episodes >= self.learn_after).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_learnt_after_separate_episodes_within_its_range() {
        let mut r = Recurring::new(3, 600);
        let busy = [3.0, 1.0];
        // Three episodes ten minutes apart; the third makes "backup" learnt.
        for n in 0..3 {
            let at = n * 600_000;
            assert!(!r.is_learnt("backup", &busy), "episode {n} is not learnt yet");
            r.anomalous("backup", &busy, at);
            r.anomalous("backup", &[3.2, 1.1], at + 2_000);
            let learnt = r.normal(at + 4_000);
            assert_eq!(learnt.as_deref(), (n == 2).then_some("backup"));
        }
        assert!(r.is_learnt("backup", &[3.1, 1.05]));
        assert!(r.is_learnt("backup", &[3.25, 1.0]), "within the margin");
        assert!(!r.is_learnt("backup", &[4.0, 1.0]), "more than it ever did");
        assert!(!r.is_learnt("miner", &busy), "another process");
        assert_eq!(r.learnt(), 1);
    }

    #[test]
    fn a_flapping_job_is_one_episode_and_zero_never_learns() {
        let mut r = Recurring::new(3, 600);
        for n in 0..10 {
            r.anomalous("miner", &[3.0], n * 10_000);
            assert_eq!(r.normal(n * 10_000 + 2_000), None);
        }
        assert!(!r.is_learnt("miner", &[3.0]), "ten restarts within minutes are one episode");
        let mut never = Recurring::new(0, 0);
        for n in 0..10 {
            never.anomalous("backup", &[3.0], n * 1_000_000);
            never.normal(n * 1_000_000 + 2_000);
        }
        assert!(!never.is_learnt("backup", &[3.0]));
    }
}

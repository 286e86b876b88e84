//! `UserHistory`: what each user did in earlier windows — the hours of the
//! day (UTC) and the source addresses it logged in from — so a window can
//! say what is new for that user. Capped in users and in sources per user.

use std::collections::{HashMap, HashSet};

/// Windows a user needs behind it before a source counts as new: a user's
/// first few logins are all new.
const KNOWN_AFTER: u32 = 3;
/// History a user needs before an hour counts as unusual: a week, so every
/// hour and weekday a user keeps has come round.
const HOURS_KNOWN_AFTER_MS: i64 = 7 * 86_400_000;
/// Source addresses remembered per user.
const MAX_SOURCES: usize = 64;

struct Seen {
    windows: u32,
    first_ms: i64,
    /// Bit h set: seen in hour h (UTC).
    hours: u32,
    sources: HashSet<u64>,
}

pub struct UserHistory {
    users: HashMap<String, Seen>,
    cap: usize,
}

impl UserHistory {
    pub fn new(cap: usize) -> UserHistory {
        UserHistory { users: HashMap::new(), cap }
    }

    /// How many of `sources` (hashes) are new for `user` and whether
    /// `at_ms`'s hour is one it was never seen in; then remembers them.
    /// No source is new for a user with fewer than three windows behind it,
    /// no hour unusual for one first seen less than a week ago, nothing for
    /// one past the cap (it is not remembered).
    pub fn novelty(&mut self, user: &str, at_ms: i64, sources: &HashSet<u64>) -> (u64, bool) {
        let hour = (at_ms.rem_euclid(86_400_000) / 3_600_000) as u32;
        if !self.users.contains_key(user) && self.users.len() >= self.cap {
            return (0, false);
        }
        let seen = self.users.entry(user.to_owned()).or_insert_with(|| Seen {
            windows: 0,
            first_ms: at_ms,
            hours: 0,
            sources: HashSet::new(),
        });
        let known = seen.windows >= KNOWN_AFTER;
        let new_sources = if known { sources.iter().filter(|s| !seen.sources.contains(s)).count() as u64 } else { 0 };
        let unusual_hour = at_ms.saturating_sub(seen.first_ms) >= HOURS_KNOWN_AFTER_MS && seen.hours & (1 << hour) == 0;
        seen.windows = seen.windows.saturating_add(1);
        seen.hours |= 1 << hour;
        for s in sources {
            if seen.sources.len() < MAX_SOURCES {
                seen.sources.insert(*s);
            }
        }
        (new_sources, unusual_hour)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_judged_against_the_users_own_past() {
        let mut h = UserHistory::new(10);
        let home: HashSet<u64> = [1].into();
        let day = |d: i64, hour: i64| d * 86_400_000 + hour * 3_600_000;
        for d in 0..3 {
            assert_eq!(h.novelty("alice", day(d, 9), &home), (0, false), "still learning");
        }
        assert_eq!(h.novelty("alice", day(3, 3), &[1, 2, 3].into()), (2, false), "new sources; hours need a week");
        assert_eq!(h.novelty("alice", day(8, 9), &home), (0, false));
        assert_eq!(h.novelty("alice", day(9, 23), &[2].into()), (0, true), "a week on, 23:00 is new");
        assert_eq!(h.novelty("alice", day(10, 23), &[2].into()), (0, false), "now known");
    }

    #[test]
    fn users_past_the_cap_are_not_remembered() {
        let mut h = UserHistory::new(2);
        for user in ["a", "b", "c"] {
            for _ in 0..4 {
                h.novelty(user, 0, &[7].into());
            }
        }
        assert_eq!(h.users.len(), 2);
        assert_eq!(h.novelty("c", 5 * 3_600_000, &[8].into()), (0, false));
    }
}

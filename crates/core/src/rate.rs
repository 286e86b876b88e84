//! A cheap "events per second right now" meter.

use std::sync::Mutex;
use std::time::Instant;

const WINDOW_SECS: usize = 10;

/// Counts events into one-second buckets and reports the average over the
/// last full ten seconds. One short lock per batch, not per event.
#[derive(Debug)]
pub struct RateMeter {
    started: Instant,
    buckets: Mutex<[(u64, u64); WINDOW_SECS]>,
}

impl Default for RateMeter {
    fn default() -> RateMeter {
        RateMeter { started: Instant::now(), buckets: Mutex::new([(u64::MAX, 0); WINDOW_SECS]) }
    }
}

impl RateMeter {
    pub fn record(&self, count: u64) {
        let second = self.started.elapsed().as_secs();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut buckets[(second % WINDOW_SECS as u64) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 += count;
    }

    /// Average events per second over the last `WINDOW_SECS` complete seconds.
    pub fn per_second(&self) -> f64 {
        let now = self.started.elapsed().as_secs();
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let total: u64 = buckets
            .iter()
            .filter(|(sec, _)| *sec != u64::MAX && *sec < now && now - sec <= WINDOW_SECS as u64)
            .map(|(_, n)| n)
            .sum();
        total as f64 / WINDOW_SECS as f64
    }
}

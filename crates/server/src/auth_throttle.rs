//! Failed authentications, counted per client address.
//!
//! 247,020 wrong tokens in 8 s once went by without a log line. Now each
//! address may fail `per_minute` times in a fixed one-minute window; past
//! that it gets 429 with `Retry-After` until the window ends, before its
//! credential is even looked at. Failures are counted in `/metrics` and
//! logged at most once a second (with how many were not logged), never with
//! the text presented. The table is an LRU of 65,536 addresses (about 4 MiB
//! at most): an attacker rotating addresses evicts the oldest windows
//! rather than growing it.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;

use crate::error::ApiError;
use crate::metrics::{AUTH_FAILURES, AUTH_THROTTLED};

const WINDOW: Duration = Duration::from_secs(60);
const MAX_CLIENTS: usize = 65_536;
/// Requests that arrive without a connection address (in-process tests)
/// share one bucket.
const UNKNOWN: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

struct Window {
    started: Instant,
    failures: u32,
}

pub struct AuthThrottle {
    per_minute: u32,
    clients: Mutex<LruCache<IpAddr, Window>>,
    /// When the last failure was logged, and how many went unlogged since.
    last_log: Mutex<Option<Instant>>,
    unlogged: AtomicU64,
}

impl AuthThrottle {
    pub fn new(per_minute: u32) -> AuthThrottle {
        let cap = NonZeroUsize::new(MAX_CLIENTS).unwrap_or(NonZeroUsize::MIN);
        AuthThrottle {
            per_minute: per_minute.max(1),
            clients: Mutex::new(LruCache::new(cap)),
            last_log: Mutex::new(None),
            unlogged: AtomicU64::new(0),
        }
    }

    /// 429 while `client` is over its limit.
    pub fn admit(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let client = client.unwrap_or(UNKNOWN);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let Some(window) = clients.get(&client) else { return Ok(()) };
        let elapsed = window.started.elapsed();
        if elapsed >= WINDOW || window.failures < self.per_minute {
            return Ok(());
        }
        metrics::counter!(AUTH_THROTTLED).increment(1);
        let retry_after_secs = (WINDOW - elapsed).as_secs().max(1);
        Err(ApiError::TooManyRequests {
            message: format!("too many failed authentications from this address; retry in {retry_after_secs} s"),
            retry_after_secs,
        })
    }

    /// Counts a failed attempt by `client`.
    pub fn failed(&self, client: Option<IpAddr>) {
        metrics::counter!(AUTH_FAILURES).increment(1);
        let key = client.unwrap_or(UNKNOWN);
        let failures = {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            let window = clients.get_or_insert_mut(key, || Window { started: Instant::now(), failures: 0 });
            if window.started.elapsed() >= WINDOW {
                *window = Window { started: Instant::now(), failures: 0 };
            }
            window.failures = window.failures.saturating_add(1);
            window.failures
        };
        let mut last = self.last_log.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(Instant::now());
        let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
        let client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        tracing::warn!(%client, failures_this_minute = failures, unlogged, "Authentication failed.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_past_its_limit_is_refused_and_others_are_not() {
        let throttle = AuthThrottle::new(3);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert!(throttle.admit(Some(a)).is_ok());
            throttle.failed(Some(a));
        }
        match throttle.admit(Some(a)) {
            Err(ApiError::TooManyRequests { retry_after_secs, .. }) => assert!((1..=60).contains(&retry_after_secs)),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(throttle.admit(Some(b)).is_ok());
    }
}

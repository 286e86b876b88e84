//! Token buckets on ingest, per API token and per client address, counted
//! in events (a request of 10,000 events costs 10,000): governor's keyed
//! GCRA limiters, which need no timer task.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Past this many tracked keys, forget the ones whose buckets are full again.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct IngestRateLimits {
    per_token: Option<DefaultKeyedRateLimiter<String>>,
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl IngestRateLimits {
    /// Events per second per token and per client; 0 turns a limit off.
    pub fn new(per_token: u32, per_client: u32) -> IngestRateLimits {
        IngestRateLimits {
            per_token: NonZeroU32::new(per_token).map(|n| RateLimiter::keyed(Quota::per_second(n))),
            per_client: NonZeroU32::new(per_client).map(|n| RateLimiter::keyed(Quota::per_second(n))),
        }
    }

    /// Takes `events` from both buckets, or says how long to wait.
    pub fn check(&self, token: Option<&str>, client: Option<IpAddr>, events: usize) -> Result<(), ApiError> {
        let Some(n) = NonZeroU32::new(u32::try_from(events).unwrap_or(u32::MAX)) else { return Ok(()) };
        if let (Some(limiter), Some(token)) = (&self.per_token, token) {
            take(limiter, &token.to_owned(), n, "token")?;
        }
        if let (Some(limiter), Some(client)) = (&self.per_client, client) {
            take(limiter, &client, n, "client")?;
        }
        Ok(())
    }
}

fn take<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    n: NonZeroU32,
    what: &str,
) -> Result<(), ApiError> {
    if limiter.len() > PRUNE_ABOVE {
        limiter.retain_recent();
    }
    match limiter.check_key_n(key, n) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(not_until)) => {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            Err(ApiError::TooManyRequests {
                message: format!("this {what} is over its ingest rate limit; retry in {} ms", wait.as_millis()),
                retry_after_secs: wait.as_secs().max(1),
            })
        }
        Err(_) => Err(ApiError::bad(
            "batch",
            format!("{n} events exceed one second's allowance per {what}; send smaller batches"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_clients_get_their_own_buckets() {
        let limits = IngestRateLimits::new(100, 150);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(limits.check(Some("t1"), Some(a), 100).is_ok());
        assert!(matches!(limits.check(Some("t1"), Some(b), 1), Err(ApiError::TooManyRequests { .. })));
        // Another token from another address is untouched by t1's spending.
        assert!(limits.check(Some("t2"), Some(b), 100).is_ok());
        // Address b has 50 left of 150 whatever the token.
        assert!(matches!(limits.check(Some("t3"), Some(b), 60), Err(ApiError::TooManyRequests { .. })));
        assert!(matches!(limits.check(Some("t4"), None, 101), Err(ApiError::BadRequest { .. })));
        assert!(IngestRateLimits::new(0, 0).check(Some("t"), Some(a), 1_000_000).is_ok());
    }
}

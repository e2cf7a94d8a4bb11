//! A per-user token bucket (in memory, per process: in Lambda, per execution environment),
//! used for `POST /client-events`. Depends on nothing else in the crate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most users remembered; past it, users whose bucket is full again are forgotten.
const MAX_TRACKED: usize = 10_000;

/// `capacity` requests at once, then one more every `refill`.
pub struct RateLimiter {
    capacity: f64,
    refill: Duration,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(capacity: u32, refill: Duration) -> Self {
        RateLimiter {
            capacity: f64::from(capacity.max(1)),
            refill: refill.max(Duration::from_millis(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`: `Ok` or `Err(wait)` with how long until the next one.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let per_sec = 1.0 / self.refill.as_secs_f64();
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(key) {
            let capacity = self.capacity;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < capacity
            });
        }
        let (tokens, at) = buckets
            .entry(key.to_owned())
            .or_insert((self.capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_refill_per_user() {
        let limiter = RateLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(limiter.check_at("a", t0).is_ok());
        assert!(limiter.check_at("a", t0).is_ok());
        let wait = limiter.check_at("a", t0).expect_err("limited");
        assert!(
            wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert!(limiter.check_at("b", t0).is_ok(), "per user");
        assert!(limiter.check_at("a", t0 + Duration::from_secs(10)).is_ok());
        assert!(limiter.check_at("a", t0 + Duration::from_secs(10)).is_err());
    }
}

//! How often one client address may try to sign in: a token bucket per address (an IPv6
//! address counts by its /64, which one client usually holds whole), in bounded memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

use super::error::ApiError;

/// Addresses tracked before full buckets are dropped.
const PRUNE_AT: usize = 1024;
/// Addresses tracked at most; beyond, the longest-quiet one is forgotten.
const MAX_TRACKED: usize = 10_000;
/// A bucket refills over this long.
const WINDOW: Duration = Duration::from_secs(60);
/// Full buckets are looked for at most this often (unless the cap is reached).
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// Attempts per minute for each client address.
pub(crate) struct RateLimiter {
    per_window: f64,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    by_client: HashMap<IpAddr, Bucket>,
    pruned: Instant,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The answer beyond the limit: 429 `too_many_requests` with `Retry-After`.
#[derive(Debug)]
pub(crate) struct TooManyRequests {
    pub retry_after: Duration,
}

impl warp::reject::Reject for TooManyRequests {}

impl TooManyRequests {
    pub(crate) fn to_response(&self) -> Response {
        let seconds = self.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("too many sign-in attempts from this address; try again in {seconds} s"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        response
    }
}

impl RateLimiter {
    pub(crate) fn per_minute(attempts: u32) -> Self {
        Self {
            per_window: f64::from(attempts.max(1)),
            buckets: Mutex::new(Buckets {
                by_client: HashMap::new(),
                pruned: Instant::now(),
            }),
        }
    }

    /// Takes one attempt for `client` at `now`, or says how long until one is free.
    pub(crate) fn attempt(&self, client: IpAddr, now: Instant) -> Result<(), TooManyRequests> {
        let rate = self.per_window / WINDOW.as_secs_f64();
        let mut buckets = match self.buckets.lock() {
            Ok(buckets) => buckets,
            Err(poisoned) => poisoned.into_inner(),
        };
        let key = key_of(client);
        if !buckets.by_client.contains_key(&key) {
            buckets.make_room(now);
        }
        let bucket = buckets.by_client.entry(key).or_insert(Bucket {
            tokens: self.per_window,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.per_window);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(TooManyRequests {
                retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / rate),
            })
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.by_client.len()).unwrap_or(0)
    }
}

impl Buckets {
    /// Drops buckets that are full again, and at the cap the longest-quiet one.
    fn make_room(&mut self, now: Instant) {
        let tracked = self.by_client.len();
        if tracked < PRUNE_AT {
            return;
        }
        if tracked >= MAX_TRACKED || now.saturating_duration_since(self.pruned) >= PRUNE_EVERY {
            self.by_client
                .retain(|_, b| now.saturating_duration_since(b.updated) < WINDOW);
            self.pruned = now;
        }
        if self.by_client.len() >= MAX_TRACKED {
            if let Some(oldest) = self
                .by_client
                .iter()
                .min_by_key(|(_, b)| b.updated)
                .map(|(ip, _)| *ip)
            {
                self.by_client.remove(&oldest);
            }
        }
    }
}

/// An IPv4 address itself; an IPv6 address by its /64 (an IPv4-mapped one as IPv4).
fn key_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_beyond_the_limit_wait_for_the_bucket_to_refill() {
        let limiter = RateLimiter::per_minute(3);
        let now = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.attempt(ip, now).is_ok());
        }
        let refused = limiter.attempt(ip, now).unwrap_err();
        assert_eq!(refused.retry_after.as_secs_f64().ceil(), 20.0);
        assert!(
            limiter.attempt("192.0.2.2".parse().unwrap(), now).is_ok(),
            "another address has its own bucket"
        );
        assert!(limiter.attempt(ip, now + Duration::from_secs(20)).is_ok());
        assert!(limiter.attempt(ip, now + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn an_ipv6_client_counts_by_its_slash_64() {
        let limiter = RateLimiter::per_minute(1);
        let now = Instant::now();
        assert!(limiter.attempt("2001:db8::1".parse().unwrap(), now).is_ok());
        assert!(limiter
            .attempt("2001:db8::ffff:2".parse().unwrap(), now)
            .is_err());
        assert!(limiter
            .attempt("2001:db8:0:1::1".parse().unwrap(), now)
            .is_ok());
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let limiter = RateLimiter::per_minute(5);
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 500) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(limiter.attempt(ip, now).is_ok());
        }
        assert!(limiter.tracked() <= MAX_TRACKED);
        // Once their buckets are full again, quiet addresses are forgotten.
        let later = now + WINDOW;
        assert!(limiter.attempt("192.0.2.9".parse().unwrap(), later).is_ok());
        assert_eq!(limiter.tracked(), 1);
    }
}

//! Whether the store is working, shared with whoever reports on it (the health check) without a
//! round trip through the storage actor's mailbox.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The store's state as the health check reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreStatus {
    Ok,
    /// A write failed in a way that left the database unusable (disk full, an I/O error); the
    /// storage actor is reopening it and retries until that works.
    Failed {
        /// The error that started it, or the latest reopen's when that failed too.
        error: String,
        /// How long the store has been unavailable.
        for_: Duration,
        /// Reopen attempts so far.
        attempts: u32,
    },
}

#[derive(Debug, Default)]
pub struct StoreHealth {
    failure: Mutex<Option<Failure>>,
}

#[derive(Debug)]
struct Failure {
    error: String,
    since: Instant,
    attempts: u32,
}

impl StoreHealth {
    pub fn status(&self) -> StoreStatus {
        match &*self.lock() {
            None => StoreStatus::Ok,
            Some(failure) => StoreStatus::Failed {
                error: failure.error.clone(),
                for_: failure.since.elapsed(),
                attempts: failure.attempts,
            },
        }
    }

    /// The cause to give callers while the store is down, if it is.
    pub(super) fn failure(&self) -> Option<String> {
        self.lock().as_ref().map(|f| f.error.clone())
    }

    /// The store stopped working; returns false when it was already down.
    pub(super) fn failed(&self, error: String) -> bool {
        let mut failure = self.lock();
        if failure.is_some() {
            return false;
        }
        *failure = Some(Failure {
            error,
            since: Instant::now(),
            attempts: 0,
        });
        true
    }

    /// A reopen failed too: its error is the one to report now.
    pub(super) fn retry_failed(&self, error: String) -> u32 {
        let mut failure = self.lock();
        match failure.as_mut() {
            Some(failure) => {
                failure.error = error;
                failure.attempts += 1;
                failure.attempts
            }
            None => 0,
        }
    }

    /// The store works again.
    pub(super) fn recovered(&self) -> Option<Duration> {
        self.lock().take().map(|f| f.since.elapsed())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Failure>> {
        // The value is replaced whole under the lock, so a panic elsewhere cannot leave it torn.
        self.failure.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

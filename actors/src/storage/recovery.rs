//! Reopening the database after a write failed on the file.
//!
//! redb refuses every operation after an I/O error until the database is closed and opened
//! again. The steps run on the storage actor, each as a message to itself so its mailbox never
//! waits: stop serving (requests hear [`StorageError::Down`]), wait for the writer thread and
//! the reads still running to let go of the old database, reopen it on the blocking pool, and
//! on failure try again later.

use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorProcessingErr, ActorRef};
use redb::Database;

use super::{StorageError, StorageMsg, StorageState};

/// One step of a recovery; only the storage actor makes them.
pub struct Step(Kind);

enum Kind {
    /// A write or read failed on the file.
    Failed(String),
    /// Try to reopen (or wait some more for the old database to be let go).
    Reopen,
    /// The reopen's outcome.
    Reopened(Result<Database, StorageError>),
}

/// The first wait before reopening; doubled after each failed attempt, up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How often to look whether the old database has been let go.
const POLL: Duration = Duration::from_millis(20);

/// Tells the actor its database failed on the file (from the writer thread or a read).
pub(super) fn report(actor: &ActorRef<StorageMsg>, error: &StorageError) {
    if error.is_io() {
        let _ = actor.cast(StorageMsg::Recovery(Step(Kind::Failed(error.to_string()))));
    }
}

pub(super) fn handle(
    myself: &ActorRef<StorageMsg>,
    state: &mut StorageState,
    Step(step): Step,
) -> Result<(), ActorProcessingErr> {
    match step {
        Kind::Failed(error) => {
            if !state.args.health.failed(error.clone()) {
                // Already recovering; this is one of the failures that followed.
                return Ok(());
            }
            tracing::error!(%error, "the store failed; it is reopened once the error clears");
            // Dropping the sender lets the writer fail what it holds and exit.
            state.writer = None;
            state.closing = state.db.take();
            later(myself, FIRST_RETRY);
        }
        Kind::Reopen => {
            let writing = state
                .writer_thread
                .as_ref()
                .is_some_and(|thread| !thread.is_finished());
            let reading = state
                .closing
                .as_ref()
                .is_some_and(|db| Arc::strong_count(db) > 1);
            if writing || reading {
                later(myself, POLL);
                return Ok(());
            }
            if let Some(thread) = state.writer_thread.take() {
                if thread.join().is_err() {
                    tracing::error!("the storage writer thread panicked");
                }
            }
            let old = state.closing.take();
            let args = state.args.clone();
            let me = myself.clone();
            tokio::task::spawn_blocking(move || {
                // The old handle is closed first: redb allows one open handle per file.
                drop(old);
                let result = args.open();
                let _ = me.cast(StorageMsg::Recovery(Step(Kind::Reopened(result))));
            });
        }
        Kind::Reopened(Ok(db)) => {
            state.serve(myself, db)?;
            let down_for = state.args.health.recovered().unwrap_or_default();
            tracing::info!(?down_for, "the store is open again");
        }
        Kind::Reopened(Err(error)) => {
            let attempts = state.args.health.retry_failed(error.to_string());
            let wait = FIRST_RETRY
                .saturating_mul(1 << attempts.min(8))
                .min(MAX_RETRY);
            tracing::warn!(%error, attempts, ?wait, "the store could not be reopened yet");
            later(myself, wait);
        }
    }
    Ok(())
}

fn later(myself: &ActorRef<StorageMsg>, wait: Duration) {
    myself.send_after(wait, || StorageMsg::Recovery(Step(Kind::Reopen)));
}

//! The writer thread: group commit.

use std::sync::Arc;

use redb::Database;
use tokio::sync::mpsc;

use ractor::ActorRef;

use super::{db, StorageMsg, WriteBatch, WriteDone};

pub(super) struct Job {
    pub(super) batch: WriteBatch,
    pub(super) done: WriteDone,
}

/// Most batches committed in one transaction.
const MAX_GROUP: usize = 256;

pub(super) fn spawn(
    db: Arc<Database>,
    mut rx: mpsc::Receiver<Job>,
    actor: ActorRef<StorageMsg>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("okcvm-storage-writer".into())
        .spawn(move || {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while let Some(first) = rx.blocking_recv() {
                group.push(first);
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                let result = db::write_batches(&db, group.iter().map(|job| &job.batch));
                if let Err(e) = &result {
                    tracing::error!(error = %e, batches = group.len(), "storage commit failed");
                    super::recovery::report(&actor, e);
                }
                for job in group.drain(..) {
                    (job.done)(result.clone());
                }
            }
        })
}

//! The storage actor: the only owner of the redb database.
//!
//! Writes go to a dedicated writer thread that takes every batch waiting in its queue, writes
//! them in one transaction and commits once, then tells each sender: under load many sessions
//! share one fsync. Reads run on tokio's blocking pool and answer the caller directly, so a slow
//! read never holds up the mailbox. No redb type appears in [`StorageMsg`], so another backend
//! can replace this one without touching its callers.
//!
//! A write that fails on the file (a full disk, an I/O error) leaves a redb database refusing
//! every later operation until it is reopened. The actor then answers every request with
//! [`StorageError::Down`], reports it through [`StoreHealth`], and reopens the database (redb
//! repairs it) with a growing delay until that works: once space is freed, sessions load again
//! without a restart.

use std::path::PathBuf;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use redb::Database;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::event::Event;
use crate::history::Message;
use crate::types::Todo;
use crate::SessionKey;

mod db;
#[cfg(feature = "testing")]
mod fault;
mod handle;
mod health;
mod recovery;
mod slim;
mod writer;

#[cfg(feature = "testing")]
pub use fault::DiskFault;
pub use handle::StorageHandle;
pub use health::{StoreHealth, StoreStatus};

/// Failures of the store. Callers report them; the session that gets one fails and is
/// restarted from what was committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("storage error: {0}")]
    Database(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("storage i/o error: {0}")]
    Io(String),
    #[error("the storage actor is not running")]
    Unavailable,
    /// The store is reopening after a write failed on the file; it works again once the cause
    /// (e.g. a full disk) is cleared.
    #[error("the store is unavailable until it can be reopened: {0}")]
    Down(String),
}

impl StorageError {
    /// A failure of the file itself, after which the database must be reopened.
    pub fn is_io(&self) -> bool {
        matches!(self, StorageError::Io(_))
    }
}

impl From<redb::Error> for StorageError {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Io(e) => StorageError::Io(e.to_string()),
            redb::Error::PreviousIo => StorageError::Io(e.to_string()),
            e => StorageError::Database(e.to_string()),
        }
    }
}

/// A session's own record: which leaf of its history is active and whether a turn is running.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The message the conversation currently ends at.
    pub active_leaf: Option<String>,
    /// Set while a turn runs; still set after a crash, which is how the interruption is found.
    pub running_turn: Option<String>,
    /// Event numbers continue above this after the history is cleared (its events deleted),
    /// so a client resuming from an old number never misses a new event.
    #[serde(default)]
    pub seq_floor: u64,
    /// Uploads (agent paths) the model has not been told of yet: announced with the next
    /// user message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_uploads: Vec<String>,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub record: SessionRecord,
    pub messages: Vec<Message>,
    /// The highest event sequence number stored (0 when none).
    pub last_seq: u64,
}

/// Rows of one session to write together, atomically.
#[derive(Debug, Clone)]
pub struct WriteBatch {
    pub key: SessionKey,
    pub record: Option<SessionRecord>,
    pub messages: Vec<Message>,
    pub events: Vec<Arc<Event>>,
    pub todos: Option<Vec<Todo>>,
    /// Delete the session's messages, events and to-do list before writing the rest.
    pub clear: bool,
}

impl WriteBatch {
    pub fn new(key: SessionKey) -> Self {
        Self {
            key,
            record: None,
            messages: Vec::new(),
            events: Vec::new(),
            todos: None,
            clear: false,
        }
    }
}

/// Called once the batch is committed (or failed). Runs on the writer thread: it must only
/// send a message or a reply, never block.
pub type WriteDone = Box<dyn FnOnce(Result<(), StorageError>) + Send + 'static>;

/// The storage actor's API.
pub enum StorageMsg {
    /// Commit a batch; `done` hears the outcome.
    Write { batch: WriteBatch, done: WriteDone },
    LoadSession {
        key: SessionKey,
        reply: RpcReplyPort<Result<Option<StoredSession>, StorageError>>,
    },
    /// Events with `after < seq <= upto`, at most `limit`.
    ReadEvents {
        key: SessionKey,
        after: u64,
        upto: u64,
        limit: usize,
        reply: RpcReplyPort<Result<Vec<Event>, StorageError>>,
    },
    ReadTodos {
        key: SessionKey,
        reply: RpcReplyPort<Result<Vec<Todo>, StorageError>>,
    },
    ListSessions {
        tenant: String,
        reply: RpcReplyPort<Result<Vec<(String, SessionRecord)>, StorageError>>,
    },
    /// Store (or with `None` delete) a client's conversation payload; replies whether a
    /// payload was there before.
    PutConversation {
        tenant: String,
        id: String,
        payload: Option<Vec<u8>>,
        reply: RpcReplyPort<Result<bool, StorageError>>,
    },
    GetConversation {
        tenant: String,
        id: String,
        reply: RpcReplyPort<Result<Option<Vec<u8>>, StorageError>>,
    },
    /// Every conversation payload of a tenant, in id order.
    ListConversations {
        tenant: String,
        reply: RpcReplyPort<Result<Vec<Vec<u8>>, StorageError>>,
    },
    /// The record of the site deployed from `dir` (an agent path) in a session.
    GetDeployment {
        key: SessionKey,
        dir: String,
        reply: RpcReplyPort<Result<Option<Vec<u8>>, StorageError>>,
    },
    PutDeployment {
        key: SessionKey,
        dir: String,
        record: Vec<u8>,
        reply: RpcReplyPort<Result<(), StorageError>>,
    },
    /// Removes and returns every deployment record of a session.
    TakeDeployments {
        key: SessionKey,
        reply: RpcReplyPort<Result<Vec<Vec<u8>>, StorageError>>,
    },
    /// A server-wide setting (`None` deletes it).
    PutSetting {
        name: String,
        value: Option<Vec<u8>>,
        reply: RpcReplyPort<Result<(), StorageError>>,
    },
    GetSetting {
        name: String,
        reply: RpcReplyPort<Result<Option<Vec<u8>>, StorageError>>,
    },
    /// The actor's own steps while it recovers from a failed write (sent by itself only).
    #[doc(hidden)]
    Recovery(recovery::Step),
    /// Fail the actor on purpose (fault-injection tests only).
    #[cfg(feature = "testing")]
    Crash,
}

pub struct StorageActor;

pub struct StorageArgs {
    pub path: PathBuf,
    /// Page cache size, bytes.
    pub cache_bytes: usize,
    /// Where the store's state is reported.
    pub health: Arc<StoreHealth>,
    /// The switch tests use to fill the disk under the database.
    #[cfg(feature = "testing")]
    pub fault: Arc<DiskFault>,
}

impl StorageArgs {
    fn open(&self) -> Result<Database, StorageError> {
        db::open(
            &self.path,
            self.cache_bytes,
            #[cfg(feature = "testing")]
            &self.fault,
        )
    }
}

pub struct StorageState {
    myself: ActorRef<StorageMsg>,
    args: Arc<StorageArgs>,
    /// `None` once stopped, and while the database is being reopened.
    db: Option<Arc<Database>>,
    /// `None` once stopping: dropping the sender lets the writer drain and exit.
    writer: Option<mpsc::Sender<writer::Job>>,
    writer_thread: Option<std::thread::JoinHandle<()>>,
    /// The database being closed to be reopened, until the last read lets go of it.
    closing: Option<Arc<Database>>,
}

/// Longest wait, when stopping, for reads still running to let go of the database.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes waiting for the writer thread before senders wait their turn.
const WRITE_QUEUE: usize = 4096;

impl Actor for StorageActor {
    type Msg = StorageMsg;
    type State = StorageState;
    type Arguments = StorageArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<StorageMsg>,
        args: StorageArgs,
    ) -> Result<StorageState, ActorProcessingErr> {
        let args = Arc::new(args);
        let opening = args.clone();
        let db = tokio::task::spawn_blocking(move || opening.open()).await??;
        let mut state = StorageState {
            myself: myself.clone(),
            args,
            db: None,
            writer: None,
            writer_thread: None,
            closing: None,
        };
        state.serve(&myself, db)?;
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<StorageMsg>,
        message: StorageMsg,
        state: &mut StorageState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            StorageMsg::Write { batch, done } => {
                let Some(writer) = &state.writer else {
                    done(Err(state.unavailable()));
                    return Ok(());
                };
                // Waiting here only when the writer is thousands of batches behind: that is the
                // backpressure that keeps memory bounded.
                if let Err(mpsc::error::SendError(job)) =
                    writer.send(writer::Job { batch, done }).await
                {
                    (job.done)(Err(StorageError::Unavailable));
                    return Err("the storage writer thread has stopped".into());
                }
            }
            StorageMsg::LoadSession { key, reply } => {
                read(state, reply, move |db| db::load_session(db, &key));
            }
            StorageMsg::ReadEvents {
                key,
                after,
                upto,
                limit,
                reply,
            } => read(state, reply, move |db| {
                db::read_events(db, &key, after, upto, limit)
            }),
            StorageMsg::ReadTodos { key, reply } => {
                read(state, reply, move |db| db::read_todos(db, &key));
            }
            StorageMsg::ListSessions { tenant, reply } => {
                read(state, reply, move |db| db::list_sessions(db, &tenant));
            }
            // Small writes outside any session run as their own transaction on the blocking
            // pool; redb serialises them with the writer thread's.
            StorageMsg::PutConversation {
                tenant,
                id,
                payload,
                reply,
            } => read(state, reply, move |db| {
                db::put_conversation(db, &tenant, &id, payload.as_deref())
            }),
            StorageMsg::GetConversation { tenant, id, reply } => {
                read(state, reply, move |db| {
                    db::get_conversation(db, &tenant, &id)
                });
            }
            StorageMsg::ListConversations { tenant, reply } => {
                read(state, reply, move |db| db::list_conversations(db, &tenant));
            }
            StorageMsg::PutSetting { name, value, reply } => {
                read(state, reply, move |db| {
                    db::put_setting(db, &name, value.as_deref())
                });
            }
            StorageMsg::GetDeployment { key, dir, reply } => {
                read(state, reply, move |db| db::get_deployment(db, &key, &dir));
            }
            StorageMsg::PutDeployment {
                key,
                dir,
                record,
                reply,
            } => read(state, reply, move |db| {
                db::put_deployment(db, &key, &dir, &record)
            }),
            StorageMsg::TakeDeployments { key, reply } => {
                read(state, reply, move |db| db::take_deployments(db, &key));
            }
            StorageMsg::GetSetting { name, reply } => {
                read(state, reply, move |db| db::get_setting(db, &name));
            }
            StorageMsg::Recovery(step) => recovery::handle(&myself, state, step)?,
            #[cfg(feature = "testing")]
            StorageMsg::Crash => return Err("fault injected into the storage actor".into()),
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<StorageMsg>,
        state: &mut StorageState,
    ) -> Result<(), ActorProcessingErr> {
        // Let the writer commit what it holds and exit, so the file is closed cleanly and can
        // be opened again at once (redb allows one open handle per file).
        state.writer = None;
        state.closing = None;
        if let Some(thread) = state.writer_thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await?
                .map_err(|_| "the storage writer thread panicked")?;
        }
        // Reads still running hold the database too; the file closes when the last one ends,
        // which is waited for here so that stopping means closed.
        if let Some(mut db) = state.db.take() {
            let deadline = tokio::time::Instant::now() + CLOSE_TIMEOUT;
            loop {
                match Arc::try_unwrap(db) {
                    Ok(db) => {
                        tokio::task::spawn_blocking(move || drop(db)).await?;
                        break;
                    }
                    Err(shared) if tokio::time::Instant::now() < deadline => {
                        db = shared;
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                    Err(_) => return Err("reads were still running when storage stopped".into()),
                }
            }
        }
        Ok(())
    }
}

impl StorageState {
    /// Starts serving from an open database: a new writer thread commits to it.
    fn serve(&mut self, myself: &ActorRef<StorageMsg>, db: Database) -> std::io::Result<()> {
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        self.writer_thread = Some(writer::spawn(db.clone(), rx, myself.clone())?);
        self.writer = Some(tx);
        self.db = Some(db);
        Ok(())
    }

    /// What a request hears while there is no database to serve it.
    fn unavailable(&self) -> StorageError {
        match self.args.health.failure() {
            Some(cause) => StorageError::Down(cause),
            None => StorageError::Unavailable,
        }
    }
}

/// Runs a read (or a small write) on the blocking pool and replies from there.
fn read<T: Send + 'static>(
    state: &StorageState,
    reply: RpcReplyPort<Result<T, StorageError>>,
    work: impl FnOnce(&Database) -> Result<T, StorageError> + Send + 'static,
) {
    let Some(db) = state.db.clone() else {
        let _ = reply.send(Err(state.unavailable()));
        return;
    };
    let actor = state.myself.clone();
    tokio::task::spawn_blocking(move || {
        let result = work(&db);
        drop(db);
        if let Err(e) = &result {
            recovery::report(&actor, e);
        }
        // The caller may have timed out and gone; nothing to do then.
        let _ = reply.send(result);
    });
}

/// Longest wait for a commit acknowledged to a caller outside an actor's `handle`.
pub const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

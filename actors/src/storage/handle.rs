//! [`StorageHandle`]: the storage actor called through typed methods, each bounded by a timeout,
//! so no caller matches on ractor's call results.

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};

use super::{
    SessionRecord, StorageError, StorageMsg, StoredSession, WriteBatch, WriteDone, COMMIT_TIMEOUT,
};
use crate::event::Event;
use crate::types::{SessionKey, Todo};

/// Longest wait for the store's answer to a query or a small write.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The storage actor's address. Cheap to clone.
#[derive(Clone)]
pub struct StorageHandle {
    actor: ActorRef<StorageMsg>,
}

impl From<ActorRef<StorageMsg>> for StorageHandle {
    fn from(actor: ActorRef<StorageMsg>) -> Self {
        Self { actor }
    }
}

impl StorageHandle {
    /// The actor itself, for supervision and stopping.
    pub fn actor(&self) -> &ActorRef<StorageMsg> {
        &self.actor
    }

    /// Queues a batch; `done` hears the outcome on the writer thread. Never waits, so an actor
    /// may call it from `handle`.
    pub fn write(&self, batch: WriteBatch, done: WriteDone) -> Result<(), StorageError> {
        self.actor
            .cast(StorageMsg::Write { batch, done })
            .map_err(|_| StorageError::Unavailable)
    }

    /// Commits a batch and waits until it is durable. For tasks and `pre_start`, never
    /// `handle`.
    pub async fn commit(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.write(
            batch,
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        )?;
        match tokio::time::timeout(COMMIT_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            _ => Err(StorageError::Unavailable),
        }
    }

    pub async fn load_session(
        &self,
        key: SessionKey,
    ) -> Result<Option<StoredSession>, StorageError> {
        self.ask(|reply| StorageMsg::LoadSession { key, reply })
            .await
    }

    /// Events with `after < seq <= upto`, at most `limit`.
    pub async fn read_events(
        &self,
        key: SessionKey,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StorageError> {
        self.ask(|reply| StorageMsg::ReadEvents {
            key,
            after,
            upto,
            limit,
            reply,
        })
        .await
    }

    pub async fn read_todos(&self, key: SessionKey) -> Result<Vec<Todo>, StorageError> {
        self.ask(|reply| StorageMsg::ReadTodos { key, reply }).await
    }

    pub async fn list_sessions(
        &self,
        tenant: String,
    ) -> Result<Vec<(String, SessionRecord)>, StorageError> {
        self.ask(|reply| StorageMsg::ListSessions { tenant, reply })
            .await
    }

    /// Stores (or with `None` deletes) a conversation payload; true when one was there before.
    pub async fn put_conversation(
        &self,
        tenant: String,
        id: String,
        payload: Option<Vec<u8>>,
    ) -> Result<bool, StorageError> {
        self.ask(|reply| StorageMsg::PutConversation {
            tenant,
            id,
            payload,
            reply,
        })
        .await
    }

    pub async fn get_conversation(
        &self,
        tenant: String,
        id: String,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.ask(|reply| StorageMsg::GetConversation { tenant, id, reply })
            .await
    }

    pub async fn list_conversations(&self, tenant: String) -> Result<Vec<Vec<u8>>, StorageError> {
        self.ask(|reply| StorageMsg::ListConversations { tenant, reply })
            .await
    }

    pub async fn get_deployment(
        &self,
        key: SessionKey,
        dir: String,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.ask(|reply| StorageMsg::GetDeployment { key, dir, reply })
            .await
    }

    pub async fn put_deployment(
        &self,
        key: SessionKey,
        dir: String,
        record: Vec<u8>,
    ) -> Result<(), StorageError> {
        self.ask(|reply| StorageMsg::PutDeployment {
            key,
            dir,
            record,
            reply,
        })
        .await
    }

    /// Removes and returns every deployment record of a session.
    pub async fn take_deployments(&self, key: SessionKey) -> Result<Vec<Vec<u8>>, StorageError> {
        self.ask(|reply| StorageMsg::TakeDeployments { key, reply })
            .await
    }

    /// Stores (or with `None` deletes) a server-wide setting.
    pub async fn put_setting(
        &self,
        name: String,
        value: Option<Vec<u8>>,
    ) -> Result<(), StorageError> {
        self.ask(|reply| StorageMsg::PutSetting { name, value, reply })
            .await
    }

    pub async fn get_setting(&self, name: String) -> Result<Option<Vec<u8>>, StorageError> {
        self.ask(|reply| StorageMsg::GetSetting { name, reply })
            .await
    }

    async fn ask<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<Result<T, StorageError>>) -> StorageMsg,
    ) -> Result<T, StorageError> {
        match self.actor.call(build, Some(QUERY_TIMEOUT)).await {
            Ok(CallResult::Success(result)) => result,
            _ => Err(StorageError::Unavailable),
        }
    }
}

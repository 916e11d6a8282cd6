//! The runtime's questions to the store that belong to no session: conversation payloads and
//! server-wide settings.

use std::path::PathBuf;

use ractor::rpc::CallResult;
use ractor::RpcReplyPort;

use super::{Runtime, RuntimeError, QUERY_TIMEOUT};
use crate::storage::{StorageError, StorageMsg};
use crate::SessionKey;

impl Runtime {
    /// Stores a conversation payload (`None` deletes it); true when one was there before.
    pub async fn put_conversation(
        &self,
        tenant: &str,
        id: &str,
        payload: Option<Vec<u8>>,
    ) -> Result<bool, RuntimeError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.store(|reply| StorageMsg::PutConversation {
            tenant,
            id,
            payload,
            reply,
        })
        .await
    }

    pub async fn get_conversation(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>, RuntimeError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.store(|reply| StorageMsg::GetConversation { tenant, id, reply })
            .await
    }

    /// Every conversation payload of the tenant.
    pub async fn list_conversations(&self, tenant: &str) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let tenant = tenant.to_string();
        self.store(|reply| StorageMsg::ListConversations { tenant, reply })
            .await
    }

    /// Stores a server-wide setting (`None` deletes it).
    pub async fn put_setting(
        &self,
        name: &str,
        value: Option<Vec<u8>>,
    ) -> Result<(), RuntimeError> {
        let name = name.to_string();
        self.store(|reply| StorageMsg::PutSetting { name, value, reply })
            .await
    }

    pub async fn get_setting(&self, name: &str) -> Result<Option<Vec<u8>>, RuntimeError> {
        let name = name.to_string();
        self.store(|reply| StorageMsg::GetSetting { name, reply })
            .await
    }

    /// The host directory of a session's workspace (it may not exist yet).
    pub fn workspace_dir(&self, key: &SessionKey) -> PathBuf {
        self.services
            .settings
            .workspace_root()
            .join(&key.tenant)
            .join(&key.session)
    }

    async fn store<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<Result<T, StorageError>>) -> StorageMsg,
    ) -> Result<T, RuntimeError> {
        match self.services.storage.call(build, Some(QUERY_TIMEOUT)).await {
            Ok(CallResult::Success(result)) => Ok(result?),
            _ => Err(RuntimeError::Unavailable),
        }
    }
}

//! The runtime's questions to the store that belong to no session: conversation payloads and
//! server-wide settings.

use std::path::PathBuf;

use super::{stored, Runtime, RuntimeError};
use crate::SessionKey;

impl Runtime {
    /// Stores a conversation payload (`None` deletes it); true when one was there before.
    pub async fn put_conversation(
        &self,
        tenant: &str,
        id: &str,
        payload: Option<Vec<u8>>,
    ) -> Result<bool, RuntimeError> {
        let storage = &self.services.storage;
        stored(
            storage
                .put_conversation(tenant.to_string(), id.to_string(), payload)
                .await,
        )
    }

    pub async fn get_conversation(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>, RuntimeError> {
        let storage = &self.services.storage;
        stored(
            storage
                .get_conversation(tenant.to_string(), id.to_string())
                .await,
        )
    }

    /// Every conversation payload of the tenant.
    pub async fn list_conversations(&self, tenant: &str) -> Result<Vec<Vec<u8>>, RuntimeError> {
        stored(
            self.services
                .storage
                .list_conversations(tenant.to_string())
                .await,
        )
    }

    /// Stores a server-wide setting (`None` deletes it).
    pub async fn put_setting(
        &self,
        name: &str,
        value: Option<Vec<u8>>,
    ) -> Result<(), RuntimeError> {
        stored(
            self.services
                .storage
                .put_setting(name.to_string(), value)
                .await,
        )
    }

    pub async fn get_setting(&self, name: &str) -> Result<Option<Vec<u8>>, RuntimeError> {
        stored(self.services.storage.get_setting(name.to_string()).await)
    }

    /// The host directory of a session's workspace (it may not exist yet).
    pub fn workspace_dir(&self, key: &SessionKey) -> PathBuf {
        self.services
            .settings
            .workspace_root()
            .join(&key.tenant)
            .join(&key.session)
    }
}

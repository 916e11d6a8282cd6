//! What every session needs to reach: the core actors' handles and the shared parts built at
//! start. A leaf of the session layer: it names what lies below (storage, the model, tools,
//! the network and the workspace) and nothing above.

use std::sync::Arc;

use crate::config::Settings;
use crate::llm::LlmHandle;
use crate::storage::StorageHandle;
use crate::tool::{ToolHandle, ToolRegistry};

/// The handles and shared parts; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub storage: StorageHandle,
    pub llm: LlmHandle,
    pub tools: ToolHandle,
    pub registry: Arc<ToolRegistry>,
    pub settings: Arc<Settings>,
    /// The networked tools' client, providers and citations.
    pub web: Arc<crate::net::Web>,
    /// What agent code runs in.
    pub jail: Arc<crate::workspace::Jail>,
    /// The jail's way out to the web (kept running while the runtime is).
    pub proxy: Option<Arc<crate::net::ProxyServer>>,
}

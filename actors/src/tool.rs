//! Tools: the registry built from the bundled manifest, the [`Tool`] trait every tool
//! implements, and the [`ToolActor`] that runs calls off the session's mailbox.
//!
//! A tool's own failure (bad arguments, file not found, command exit 1) is a [`ToolError`] that
//! becomes a tool result the model reads and can recover from; it never ends the turn.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use ractor::ActorRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::storage::StorageMsg;
use crate::workspace::Workspace;
use crate::SessionKey;

mod actor;
pub(crate) mod browser;
mod data_source;
mod deploy;
pub(crate) mod files;
mod handle;
pub(crate) mod media;
mod python;
mod registry;
mod search;
mod shell;
mod slides;
mod todo;

pub use crate::types::{Todo, ToolImage};
pub use browser::find_chromium;
pub use deploy::{is_site_id, remove_sites, DeploymentRecord};
pub use python::Kernels;

pub use actor::{ToolActor, ToolArgs, ToolCallOutcome, ToolMsg};
pub use handle::ToolHandle;
pub use registry::{RegistryError, ToolRegistry, ToolSpec};

/// The prefix the manifest puts before every tool name.
pub const TOOL_PREFIX: &str = "mshtools-";

/// What a tool call runs with.
#[derive(Clone)]
pub struct ToolContext {
    pub session: SessionKey,
    pub workspace: Workspace,
    pub storage: ActorRef<StorageMsg>,
    /// Host paths of files `read_file` has returned in this session: `edit_file` refuses a file
    /// that was not read first, so the model edits what it has seen.
    pub files_read: Arc<Mutex<HashSet<PathBuf>>>,
    pub settings: Arc<Settings>,
    /// Cancelled when the turn is stopped; long tools watch it.
    pub cancel: CancellationToken,
    /// The sessions' Python interpreters.
    pub kernels: Arc<Kernels>,
    /// The networked tools' client, providers and citations.
    pub web: Arc<crate::net::Web>,
    /// What agent code runs in.
    pub jail: Arc<crate::workspace::Jail>,
    /// The workspace's disk quota and its last measured use.
    pub quota: Arc<crate::workspace::Quota>,
}

impl ToolContext {
    /// A command in this session's workspace, under the configured sandbox, network setting,
    /// resource limits and environment allow-list.
    pub(crate) fn command(
        &self,
        command: impl Into<String>,
        timeout: std::time::Duration,
    ) -> Result<crate::workspace::CommandSpec, ToolError> {
        let settings = &self.settings.workspace;
        if let crate::workspace::Isolation::Unavailable(reason) = self.jail.isolation() {
            return Err(ToolError::Unavailable(format!(
                "agent code cannot run here: {reason}"
            )));
        }
        let mut spec = crate::workspace::CommandSpec::new(
            command,
            self.workspace.clone(),
            timeout,
            settings.max_output_chars,
            settings.env_passthrough.clone(),
            self.jail.clone(),
        );
        spec.limits = settings.limits.clone();
        if self.quota.check().is_err() {
            // Over the quota, commands may remove files but not write any.
            spec.limits.file_size_mb = 0;
        }
        Ok(spec)
    }
}

/// A successful tool result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// What the model reads.
    pub text: String,
    /// Images the model should see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ToolImage>,
    /// Structured facts for clients (paths written, exit codes ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ToolOutput {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// A failed tool call; the message is what the model reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not match the tool's schema or make no sense.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool cannot run here (not built yet, or its provider is not configured).
    #[error("{0}")]
    Unavailable(String),
    /// The tool ran and failed.
    #[error("{0}")]
    Failed(String),
    /// The turn was stopped while the tool ran.
    #[error("cancelled: the turn was stopped")]
    Cancelled,
}

/// One tool's implementation. Arguments arrive already validated against the manifest schema.
pub trait Tool: Send + Sync + 'static {
    /// The manifest name without [`TOOL_PREFIX`], e.g. `read_file`.
    fn name(&self) -> &'static str;

    /// What the tool does to the workspace, for the disk quota: a tool that may write is
    /// refused over the quota, and the workspace is measured after it.
    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Write
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// How a tool uses the workspace (see [`Tool::workspace_access`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceAccess {
    /// Reads at most: runs whatever the quota says.
    Read,
    /// May write: refused over the quota.
    Write,
    /// Runs commands: over the quota they still run, but cannot write a byte (so files can
    /// be listed and removed).
    Commands,
}

/// Deserializes validated arguments into a tool's own argument struct.
pub(crate) fn parse_args<T: serde::de::DeserializeOwned>(args: Value) -> Result<T, ToolError> {
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A [`ToolContext`] over a temporary workspace, for tool unit tests.

    use super::*;
    use ractor::{Actor, ActorProcessingErr};

    /// Stands in for the storage actor in tests of tools that never touch storage.
    struct NoStorage;

    impl Actor for NoStorage {
        type Msg = StorageMsg;
        type State = ();
        type Arguments = ();
        async fn pre_start(
            &self,
            _myself: ActorRef<StorageMsg>,
            _args: (),
        ) -> Result<(), ActorProcessingErr> {
            Ok(())
        }
    }

    /// A context whose workspace is a fresh directory inside `dir`.
    pub(crate) async fn context_in(dir: &std::path::Path) -> ToolContext {
        let (storage, _handle) = Actor::spawn(None, NoStorage, ()).await.unwrap();
        ToolContext {
            session: SessionKey::new("local", "test"),
            workspace: Workspace::open(dir.join("ws")).unwrap(),
            storage,
            files_read: Arc::default(),
            settings: Arc::new(Settings {
                data_dir: dir.to_path_buf(),
                ..Settings::default()
            }),
            cancel: CancellationToken::new(),
            kernels: Arc::default(),
            jail: crate::workspace::jail::test_jail(&dir.join("run")),
            quota: Arc::new(crate::workspace::Quota::new(
                Settings::default().workspace.quota_bytes(),
            )),
            // No browser in tool unit tests: slides use their own layout here (the browser's
            // layout of decks is tested end to end with Chromium).
            web: Arc::new(
                crate::net::Web::new(
                    &Settings {
                        browser: crate::config::BrowserSettings {
                            path: Some("/nonexistent/chromium".into()),
                            ..Default::default()
                        },
                        ..Settings::default()
                    },
                    crate::net::NetGuard::new(&Settings::default().web, None).unwrap(),
                    Arc::new(crate::workspace::Jail::host()),
                )
                .unwrap(),
            ),
        }
    }
}

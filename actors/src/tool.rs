//! Tools: the registry built from the bundled manifest, the traits tools implement, and the
//! [`ToolActor`] that runs calls off the session's mailbox.
//!
//! A tool is one file: a type implementing `TypedTool` with its manifest name, its own
//! argument struct and an `async fn run`. One blanket impl turns each into a [`Tool`], the
//! object-safe form the registry keeps, which parses the JSON arguments and boxes the call.
//! Families share their helpers in the family's module (`browser.rs`, `media.rs`, ...); file
//! work every family needs is in `file_io`. What a session keeps between calls (citations,
//! pages, its browser context, its Python interpreter, the files it read) is its
//! [`SessionResources`], owned by the session actor and handed to tools in the
//! [`ToolContext`].
//!
//! A tool's own failure (bad arguments, file not found, command exit 1) is a [`ToolError`] that
//! becomes a tool result the model reads and can recover from; it never ends the turn.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::storage::StorageHandle;
use crate::workspace::Workspace;
use crate::SessionKey;

mod actor;
mod browser;
mod data_source;
mod deploy;
mod file_io;
mod files;
mod handle;
mod media;
mod python;
mod registry;
mod resources;
mod search;
mod shell;
mod slides;
mod todo;

pub use crate::net::browser::find_chromium;
pub use crate::types::{Todo, ToolImage};
pub use deploy::{is_site_id, remove_sites, DeploymentRecord};
pub use resources::SessionResources;

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
    pub storage: StorageHandle,
    /// What the session keeps between calls: citations, pages, its browser context, its
    /// Python interpreter, the files it has read. The session owns it; a call holds it only
    /// while it runs.
    pub resources: Arc<SessionResources>,
    pub settings: Arc<Settings>,
    /// Cancelled when the turn is stopped; long tools watch it.
    pub cancel: CancellationToken,
    /// The networked tools' client, browser and providers.
    pub web: Arc<crate::net::Web>,
    /// What agent code runs in.
    pub jail: Arc<crate::workspace::Jail>,
    /// The workspace's disk quota and its last measured use.
    pub quota: Arc<crate::workspace::Quota>,
}

impl ToolContext {
    /// A command in this session's workspace, under the configured sandbox, network setting,
    /// resource limits and environment allow-list.
    pub(crate) async fn command(
        &self,
        command: impl Into<String>,
        timeout: std::time::Duration,
    ) -> Result<crate::workspace::CommandSpec, ToolError> {
        let settings = &self.settings.workspace;
        if let crate::workspace::Isolation::Unavailable(reason) = self.jail.ready().await {
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

/// A tool as the registry keeps and the tool actor runs it: JSON arguments in, a boxed call
/// out. Implemented for every `TypedTool` (a tool with typed arguments); nothing implements
/// it by hand.
pub trait Tool: Send + Sync + 'static {
    /// The manifest name without [`TOOL_PREFIX`], e.g. `read_file`.
    fn name(&self) -> &'static str;

    /// What the tool does to the workspace, for the disk quota.
    fn workspace_access(&self) -> WorkspaceAccess;

    /// Parses `args` (already validated against the manifest schema) and runs the tool.
    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// One tool's implementation, with typed arguments.
pub(crate) trait TypedTool: Send + Sync + 'static {
    /// The manifest name without [`TOOL_PREFIX`], e.g. `read_file`.
    const NAME: &'static str;

    /// The arguments, deserialized from the call's JSON ([`NoArgs`] for a tool without any).
    type Args: serde::de::DeserializeOwned + Send;

    /// What the tool does to the workspace, for the disk quota: a tool that may write is
    /// refused over the quota, and the workspace is measured after it.
    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Write
    }

    /// Runs one call (implemented as an `async fn`).
    fn run(
        &self,
        ctx: &ToolContext,
        args: Self::Args,
    ) -> impl Future<Output = Result<ToolOutput, ToolError>> + Send;
}

impl<T: TypedTool> Tool for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        TypedTool::workspace_access(self)
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args = serde_json::from_value(args)
                .map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
            self.run(ctx, args).await
        })
    }
}

/// The arguments of a tool that takes none: any JSON (the model's `{}`) is accepted and
/// ignored.
pub(crate) struct NoArgs;

impl<'de> Deserialize<'de> for NoArgs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| NoArgs)
    }
}

/// How a tool uses the workspace (see [`Tool::workspace_access`]): a tool that may write is
/// refused over the quota, and the workspace is measured after it.
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

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    struct Echo;

    #[derive(Deserialize)]
    struct EchoArgs {
        text: String,
    }

    impl TypedTool for Echo {
        const NAME: &'static str = "echo";
        type Args = EchoArgs;

        async fn run(&self, _ctx: &ToolContext, args: EchoArgs) -> Result<ToolOutput, ToolError> {
            Ok(ToolOutput::text(args.text))
        }
    }

    struct Quiet;

    impl TypedTool for Quiet {
        const NAME: &'static str = "quiet";
        type Args = NoArgs;

        fn workspace_access(&self) -> WorkspaceAccess {
            WorkspaceAccess::Read
        }

        async fn run(&self, _ctx: &ToolContext, _args: NoArgs) -> Result<ToolOutput, ToolError> {
            Ok(ToolOutput::text("done"))
        }
    }

    #[tokio::test]
    async fn a_typed_tool_gets_its_parsed_arguments_and_bad_ones_are_argument_errors() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = test_support::context_in(dir.path()).await;
        let echo: Arc<dyn Tool> = Arc::new(Echo);
        assert_eq!(
            (echo.name(), echo.workspace_access()),
            ("echo", WorkspaceAccess::Write)
        );
        let out = echo.call(&ctx, json!({"text": "hi"})).await.unwrap();
        assert_eq!(out.text, "hi");
        let bad = echo.call(&ctx, json!({"text": 5})).await.unwrap_err();
        assert_eq!(
            bad,
            ToolError::InvalidArguments("invalid type: integer `5`, expected a string".to_owned())
        );
    }

    #[tokio::test]
    async fn a_tool_without_arguments_accepts_an_empty_object() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = test_support::context_in(dir.path()).await;
        let quiet: Arc<dyn Tool> = Arc::new(Quiet);
        assert_eq!(quiet.workspace_access(), WorkspaceAccess::Read);
        assert_eq!(quiet.call(&ctx, json!({})).await.unwrap().text, "done");
    }
}

//! The tool actor: runs each call in its own task so no call holds up another. At most
//! `agent.max_concurrent_tool_calls` run at once; the others wait in their tasks (never in the
//! mailbox), and a stopped turn stops waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::Semaphore;

use super::{ToolContext, ToolError, ToolOutput, ToolRegistry, WorkspaceAccess};

/// The result of one call, with how long it took.
#[derive(Debug, Clone)]
pub struct ToolCallOutcome {
    pub result: Result<ToolOutput, ToolError>,
    pub duration: Duration,
}

pub enum ToolMsg {
    /// Validate and run one call. `arguments` is the model's raw JSON text.
    Execute {
        ctx: ToolContext,
        name: String,
        arguments: String,
        reply: RpcReplyPort<ToolCallOutcome>,
    },
}

pub struct ToolActor;

pub struct ToolArgs {
    pub registry: Arc<ToolRegistry>,
    /// Tool calls allowed to run at once.
    pub max_concurrent: usize,
}

pub struct ToolActorState {
    registry: Arc<ToolRegistry>,
    /// One permit per call allowed to run.
    running: Arc<Semaphore>,
}

impl Actor for ToolActor {
    type Msg = ToolMsg;
    type State = ToolActorState;
    type Arguments = ToolArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<ToolMsg>,
        args: ToolArgs,
    ) -> Result<ToolActorState, ActorProcessingErr> {
        Ok(ToolActorState {
            registry: args.registry,
            running: Arc::new(Semaphore::new(args.max_concurrent.max(1))),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<ToolMsg>,
        message: ToolMsg,
        state: &mut ToolActorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ToolMsg::Execute {
                ctx,
                name,
                arguments,
                reply,
            } => {
                let registry = state.registry.clone();
                let running = state.running.clone();
                tokio::spawn(async move {
                    let permit = tokio::select! {
                        permit = running.acquire_owned() => permit,
                        () = ctx.cancel.cancelled() => {
                            let _ = reply.send(ToolCallOutcome {
                                result: Err(ToolError::Cancelled),
                                duration: Duration::ZERO,
                            });
                            return;
                        }
                    };
                    let started = Instant::now();
                    let result = run(&registry, &ctx, &name, &arguments).await;
                    drop(permit);
                    let _ = reply.send(ToolCallOutcome {
                        result,
                        duration: started.elapsed(),
                    });
                });
            }
        }
        Ok(())
    }
}

async fn run(
    registry: &ToolRegistry,
    ctx: &ToolContext,
    name: &str,
    arguments: &str,
) -> Result<ToolOutput, ToolError> {
    let (tool, args) = registry.prepare(name, arguments)?;
    run_tool(tool.as_ref(), ctx, args).await
}

/// Runs one tool call under the workspace's quota: a writing tool is refused over it, and the
/// workspace is measured after any tool that may have written.
async fn run_tool(
    tool: &dyn super::Tool,
    ctx: &ToolContext,
    args: serde_json::Value,
) -> Result<ToolOutput, ToolError> {
    let access = tool.workspace_access();
    if access != WorkspaceAccess::Read {
        let over = ctx.quota.ensure_measured(ctx.workspace.root()).await;
        if let (Err(over), WorkspaceAccess::Write) = (over, access) {
            return Err(ToolError::Failed(over.to_string()));
        }
    }
    // A tool that panics fails its own call, never the turn or the actor.
    let call = std::panic::AssertUnwindSafe(tool.call(ctx, args));
    let result = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Err(ToolError::Cancelled),
        outcome = futures::FutureExt::catch_unwind(call) => match outcome {
            Ok(result) => result,
            Err(_) => Err(ToolError::Failed(format!(
                "{} failed unexpectedly (internal error)",
                tool.name()
            ))),
        },
    };
    if access == WorkspaceAccess::Read {
        return result;
    }
    match (ctx.quota.measure(ctx.workspace.root()).await, result) {
        (Err(over), Ok(mut output)) => {
            output.text.push_str(&format!("\n[{over}]"));
            Ok(output)
        }
        (Err(over), Err(ToolError::Failed(text))) => {
            Err(ToolError::Failed(format!("{text}\n[{over}]")))
        }
        (_, result) => result,
    }
}

//! `shell`: one `bash -c` command in the workspace, through [`run_command`].

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{Tool, ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};
use crate::workspace::{run_command, CommandOutcome};

/// The timeout when the call gives none, milliseconds (the manifest's default).
const DEFAULT_TIMEOUT_MS: u64 = 60_000;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(Shell)]
}

#[derive(Debug, Deserialize)]
struct Args {
    command: String,
    /// What the command is for; shown to the user by clients, not needed to run it.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    timeout: Option<i64>,
}

struct Shell;

impl TypedTool for Shell {
    const NAME: &'static str = "shell";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Commands
    }

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        if args.command.trim().is_empty() {
            return Err(ToolError::InvalidArguments(
                "command is empty: give the shell command to run".into(),
            ));
        }
        let settings = &ctx.settings.workspace;
        let timeout_ms = args
            .timeout
            .map_or(DEFAULT_TIMEOUT_MS, |ms| {
                u64::try_from(ms.max(1)).unwrap_or(1)
            })
            .min(settings.max_shell_timeout_ms);
        let spec = ctx
            .command(args.command, Duration::from_millis(timeout_ms))
            .await?;
        let outcome = run_command(spec, &ctx.cancel).await.map_err(|e| {
            ToolError::Failed(format!(
                "the command could not be started: {}",
                ctx.workspace.to_agent_view(&e.to_string())
            ))
        })?;
        if outcome.cancelled {
            return Err(ToolError::Cancelled);
        }
        let text = report(&outcome, timeout_ms);
        if outcome.timed_out || outcome.exit_code != Some(0) {
            return Err(ToolError::Failed(text));
        }
        Ok(ToolOutput {
            text,
            images: Vec::new(),
            data: Some(json!({
                "exit_code": outcome.exit_code,
                "total_chars": outcome.total_chars,
                "truncated": outcome.truncated,
                "duration_ms": u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            })),
        })
    }
}

/// The output, a notice if it was cut, then how the command ended.
fn report(outcome: &CommandOutcome, timeout_ms: u64) -> String {
    let mut text = if outcome.output.is_empty() {
        "(no output)".to_owned()
    } else {
        outcome.output.clone()
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if outcome.truncated {
        text.push_str(&format!(
            "[output truncated: showing the first {shown} of {total} characters. Redirect the \
             output to a file and read it with read_file, or filter it with grep, head or tail]\n",
            shown = outcome.output.chars().count(),
            total = outcome.total_chars,
        ));
    }
    let ending = if outcome.timed_out {
        format!(
            "[timed out after {timeout_ms} ms: the command and its whole process group were \
             killed. Run long jobs with a larger timeout, or in smaller steps]"
        )
    } else {
        match (outcome.exit_code, outcome.signal) {
            (Some(code), _) => format!("[exit code: {code}]"),
            (None, Some(signal)) => format!("[killed by signal {signal}]"),
            (None, None) => "[ended without an exit code]".to_owned(),
        }
    };
    text.push_str(&ending);
    text
}

#[cfg(test)]
mod tests;

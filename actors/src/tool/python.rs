//! `ipython`: one persistent Python interpreter per session, started on first use, inside the
//! same sandbox as shell commands.
//!
//! The interpreter (`kernel`) runs `python/kernel.py`, which speaks one JSON line per request
//! and per answer. Variables and imports persist between calls; `restart: true` starts a fresh
//! one. A cell still running at its time limit is interrupted inside the interpreter (its
//! state survives); one that does not give way within a grace period loses the interpreter,
//! which the answer says. The interpreter is part of the session's resources: it stops when
//! the session hibernates, is cleared or the server stops, and comes back empty when used
//! again.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::file_io::{base64, read_limited};
use super::{Tool, ToolContext, ToolError, ToolImage, ToolOutput, TypedTool};

pub(super) mod kernel;

use kernel::{Kernel, KernelReply, Line};

/// Largest figure returned to the model with a cell's output.
const MAX_FIGURE_BYTES: u64 = 10 << 20;

/// Extra time an interrupted cell gets to give way before the interpreter is killed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Bytes of an answer line beyond what its bounded fields can take (paths of images, JSON).
const REPLY_SLACK_BYTES: usize = 1 << 20;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(IPython)]
}

#[derive(Deserialize)]
struct Args {
    code: String,
    #[serde(default)]
    restart: bool,
}

struct IPython;

impl TypedTool for IPython {
    const NAME: &'static str = "ipython";
    type Args = Args;

    async fn run(
        &self,
        ctx: &ToolContext,
        Args { code, restart }: Args,
    ) -> Result<ToolOutput, ToolError> {
        let mut kernel = ctx.resources.kernel.lock().await;
        let mut notes = Vec::new();
        if restart && kernel.take().is_some() {
            notes.push(
                "The Python environment was restarted: variables and imports are reset."
                    .to_string(),
            );
        } else if restart {
            notes.push("Started a fresh Python environment.".to_string());
        }
        if code.trim().is_empty() {
            return Ok(ToolOutput::text(if notes.is_empty() {
                "Nothing to run: the code is empty.".to_string()
            } else {
                notes.join("\n")
            }));
        }
        if kernel.is_none() {
            *kernel = Some(start(ctx).await?);
        }
        let Some(running) = kernel.as_mut() else {
            return Err(ToolError::Failed(
                "the Python environment did not start".into(),
            ));
        };
        let cell_timeout = ctx.settings.workspace.python_timeout();
        let max_chars = ctx.settings.workspace.max_output_chars;
        let request = json!({
            "code": code,
            "timeout": cell_timeout.as_secs_f64(),
            "max_chars": max_chars,
        })
        .to_string();
        // Each kept field is at most `max_chars` characters, 4 bytes each, JSON-escaped
        // (up to 6 bytes a byte): anything longer is not an answer the kernel gave.
        let limit = max_chars.saturating_mul(4 * 6 * 4) + REPLY_SLACK_BYTES;
        let exchange = running.ask(&request, limit);
        let answer = tokio::select! {
            answer = tokio::time::timeout(cell_timeout + INTERRUPT_GRACE, exchange) => answer,
            () = ctx.cancel.cancelled() => {
                *kernel = None;
                return Err(ToolError::Cancelled);
            }
        };
        let line = match answer {
            Ok(Ok(Line::TooLong(n))) => {
                *kernel = None;
                return Err(ToolError::Failed(format!(
                    "the Python environment answered {n} bytes, more than an answer can be (something in the cell wrote to the kernel's own channel); it was dropped and the environment restarted, so variables are gone"
                )));
            }
            Ok(Ok(Line::Text(line))) if !line.trim().is_empty() => line,
            Ok(_) => {
                *kernel = None;
                return Err(ToolError::Failed(
                    "the Python environment stopped (it may have run out of memory or been killed); the next call starts a fresh one, so variables are gone".into(),
                ));
            }
            Err(_) => {
                *kernel = None;
                return Err(ToolError::Failed(format!(
                    "the cell did not stop at its {} s limit, so the Python environment was restarted; variables are gone",
                    cell_timeout.as_secs_f64()
                )));
            }
        };
        let reply: KernelReply = serde_json::from_str(&line).map_err(|e| {
            ToolError::Failed(format!(
                "the Python environment answered something unreadable: {e}"
            ))
        })?;
        Ok(output(ctx, reply, notes))
    }
}

/// Starts the session's interpreter in the jail.
async fn start(ctx: &ToolContext) -> Result<Kernel, ToolError> {
    let python = &ctx.settings.workspace.python;
    // No timeout: the interpreter lives until its session lets go of it; cells have their own.
    let spec = ctx.command(kernel::command(python), Duration::MAX).await?;
    Kernel::start(&spec, python)
}

/// The model's view of a cell: output, value, error, images (as images and paths).
fn output(ctx: &ToolContext, reply: KernelReply, mut parts: Vec<String>) -> ToolOutput {
    if !reply.stdout.is_empty() {
        parts.push(reply.stdout.trim_end().to_string());
    }
    if !reply.stderr.is_empty() {
        parts.push(format!("[stderr]\n{}", reply.stderr.trim_end()));
    }
    if let Some(result) = &reply.result {
        parts.push(format!("Out: {result}"));
    }
    if let Some(error) = &reply.error {
        parts.push(error.trim_end().to_string());
    }
    let mut images = Vec::new();
    let mut shown = Vec::new();
    for relative in &reply.images {
        let agent_path = format!(
            "{}/{}",
            crate::workspace::MOUNT,
            relative.trim_start_matches("./")
        );
        if let Ok((bytes, _)) =
            read_limited(&ctx.workspace, &agent_path, MAX_FIGURE_BYTES, |_, _| {
                String::new()
            })
        {
            images.push(ToolImage {
                mime: "image/png".into(),
                path: agent_path.clone(),
                data_base64: base64(&bytes),
            });
            shown.push(agent_path);
        }
    }
    if !shown.is_empty() {
        parts.push(format!("Images saved: {}", shown.join(", ")));
    }
    let mut text = ctx.workspace.to_agent_view(&parts.join("\n"));
    if text.trim().is_empty() {
        text = "(no output)".into();
    }
    // What the kernel dropped counts: the cell printed it.
    let total = text.chars().count() + usize::try_from(reply.dropped).unwrap_or(usize::MAX);
    let max_chars = ctx.settings.workspace.max_output_chars;
    if total > max_chars {
        text = text.chars().take(max_chars).collect();
        text.push_str(&format!(
            "\n[output cut: {total} characters in all, the first {max_chars} shown]"
        ));
    }
    ToolOutput {
        text,
        images,
        data: Some(json!({
            "images": shown,
            "error": reply.error.is_some(),
        })),
    }
}

#[cfg(test)]
mod tests;

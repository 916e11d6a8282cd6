//! `ipython`: one persistent Python interpreter per session, started on first use, inside the
//! same sandbox as shell commands.
//!
//! The interpreter runs `python/kernel.py`, which speaks one JSON line per request and per
//! answer. Variables and imports persist between calls; `restart: true` starts a fresh one. A
//! cell still running at its time limit is interrupted inside the interpreter (its state
//! survives); one that does not give way within a grace period loses the interpreter, which
//! the answer says. Interpreters stop when their session hibernates, is cleared or the server
//! stops, and come back empty when used again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

use super::{parse_args, Tool, ToolContext, ToolError, ToolImage, ToolOutput};
use crate::workspace::spawn_interactive;
use crate::SessionKey;

/// Largest figure returned to the model with a cell's output.
const MAX_FIGURE_BYTES: u64 = 10 << 20;
/// The kernel program, passed to `python3 -c`.
const KERNEL: &str = include_str!("python/kernel.py");

/// Extra time an interrupted cell gets to give way before the interpreter is killed.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Bytes of an answer line beyond what its bounded fields can take (paths of images, JSON).
const REPLY_SLACK_BYTES: usize = 1 << 20;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(IPython)]
}

/// The live interpreters, one per session.
#[derive(Default)]
pub struct Kernels {
    live: Mutex<HashMap<SessionKey, Arc<tokio::sync::Mutex<Option<Kernel>>>>>,
}

impl Kernels {
    fn slot(&self, key: &SessionKey) -> Arc<tokio::sync::Mutex<Option<Kernel>>> {
        let mut live = match self.live.lock() {
            Ok(live) => live,
            Err(poisoned) => poisoned.into_inner(),
        };
        live.entry(key.clone()).or_default().clone()
    }

    /// Stops the session's interpreter, if it has one (its state is gone).
    pub fn stop(&self, key: &SessionKey) {
        let slot = match self.live.lock() {
            Ok(mut live) => live.remove(key),
            Err(poisoned) => poisoned.into_inner().remove(key),
        };
        // Dropping the child kills it (kill_on_drop) once no call holds it.
        drop(slot);
    }

    /// How many sessions have an interpreter slot.
    pub fn count(&self) -> usize {
        self.live.lock().map(|l| l.len()).unwrap_or(0)
    }
}

struct Kernel {
    _process: crate::workspace::Interactive,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

#[derive(Deserialize)]
struct KernelReply {
    stdout: String,
    stderr: String,
    result: Option<String>,
    error: Option<String>,
    images: Vec<String>,
    /// Characters the cell printed beyond what was kept.
    #[serde(default)]
    dropped: u64,
}

#[derive(Deserialize)]
struct Args {
    code: String,
    #[serde(default)]
    restart: bool,
}

struct IPython;

impl Tool for IPython {
    fn name(&self) -> &'static str {
        "ipython"
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let Args { code, restart } = parse_args(args)?;
            let slot = ctx.kernels.slot(&ctx.session);
            let mut kernel = slot.lock().await;
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
                *kernel = Some(start(ctx)?);
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
            });
            // Each kept field is at most `max_chars` characters, 4 bytes each, JSON-escaped
            // (up to 6 bytes a byte): anything longer is not an answer the kernel gave.
            let limit = max_chars.saturating_mul(4 * 6 * 4) + REPLY_SLACK_BYTES;
            let exchange = async {
                running
                    .stdin
                    .write_all(format!("{request}\n").as_bytes())
                    .await?;
                running.stdin.flush().await?;
                read_line_bounded(&mut running.stdout, limit).await
            };
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
        })
    }
}

/// One line from the kernel, read without ever holding more than the bound.
enum Line {
    Text(String),
    /// The line was longer than the bound: its bytes were read and dropped.
    TooLong(usize),
}

/// Reads up to the next newline, keeping at most `limit` bytes; a longer line is consumed
/// and counted, never buffered whole. An empty line means the kernel closed its end.
async fn read_line_bounded(
    reader: &mut BufReader<ChildStdout>,
    limit: usize,
) -> std::io::Result<Line> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            break;
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let used = chunk.len();
        total += used;
        if total <= limit {
            kept.extend_from_slice(chunk);
        }
        reader.consume(used);
        if done {
            break;
        }
    }
    if total > limit {
        return Ok(Line::TooLong(total));
    }
    Ok(Line::Text(String::from_utf8_lossy(&kept).into_owned()))
}

fn start(ctx: &ToolContext) -> Result<Kernel, ToolError> {
    // No timeout: the interpreter lives until its session stops; cells have their own.
    let python = ctx
        .settings
        .workspace
        .python
        .to_string_lossy()
        .replace('\'', "'\\''");
    let spec = ctx.command(
        format!("exec '{python}' -u -c \"$OKCVM_KERNEL\""),
        Duration::MAX,
    )?;
    let mut process = spawn_interactive(
        &spec,
        &[
            ("OKCVM_KERNEL", KERNEL),
            ("OKCVM_OUTPUT_DIR", "output"),
            ("MPLBACKEND", "Agg"),
            ("PYTHONDONTWRITEBYTECODE", "1"),
        ],
    )
    .map_err(|e| {
        ToolError::Unavailable(format!(
            "Python could not be started (is {} installed? see workspace.python): {e}",
            ctx.settings.workspace.python.display()
        ))
    })?;
    let (Some(stdin), Some(stdout)) = (process.child.stdin.take(), process.child.stdout.take())
    else {
        return Err(ToolError::Failed(
            "the Python environment has no pipes".into(),
        ));
    };
    Ok(Kernel {
        _process: process,
        stdin,
        stdout: BufReader::new(stdout),
    })
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
            super::files::read_limited(&ctx.workspace, &agent_path, MAX_FIGURE_BYTES, |_, _| {
                String::new()
            })
        {
            images.push(ToolImage {
                mime: "image/png".into(),
                path: agent_path.clone(),
                data_base64: super::files::read::base64(&bytes),
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

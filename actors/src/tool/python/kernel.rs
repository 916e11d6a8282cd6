//! The interpreter process behind `ipython`: `kernel.py` run by the workspace's Python in the
//! jail, one JSON line per request and per answer over its pipes. Dropping a [`Kernel`] kills
//! the process (and removes its cgroup).

use std::path::Path;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};

use crate::tool::ToolError;
use crate::workspace::{spawn_interactive, CommandSpec};

/// The kernel program, passed to `python3 -c`.
const KERNEL: &str = include_str!("kernel.py");

/// A running interpreter.
pub(crate) struct Kernel {
    _process: crate::workspace::Interactive,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The kernel's answer to one cell.
#[derive(Deserialize)]
pub(super) struct KernelReply {
    pub stdout: String,
    pub stderr: String,
    pub result: Option<String>,
    pub error: Option<String>,
    pub images: Vec<String>,
    /// Characters the cell printed beyond what was kept.
    #[serde(default)]
    pub dropped: u64,
}

/// One line from the kernel, read without ever holding more than the bound.
pub(super) enum Line {
    Text(String),
    /// The line was longer than the bound: its bytes were read and dropped.
    TooLong(usize),
}

/// The command that runs the kernel with `python` (as the jail sees it), for
/// [`Kernel::start`].
pub(super) fn command(python: &Path) -> String {
    let python = python.to_string_lossy().replace('\'', "'\\''");
    format!("exec '{python}' -u -c \"$OKCVM_KERNEL\"")
}

impl Kernel {
    /// Starts the interpreter `spec` describes (built from [`command`]); `python` names it
    /// in the error when it cannot start.
    pub(super) fn start(spec: &CommandSpec, python: &Path) -> Result<Kernel, ToolError> {
        let mut process = spawn_interactive(
            spec,
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
                python.display()
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

    /// Sends one request line and reads the answer line, keeping at most `limit` bytes of it.
    pub(super) async fn ask(&mut self, request: &str, limit: usize) -> std::io::Result<Line> {
        self.stdin
            .write_all(format!("{request}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        read_line_bounded(&mut self.stdout, limit).await
    }
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

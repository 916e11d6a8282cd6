//! Running a command in a workspace.
//!
//! Every command runs as `bash -c` in its own process group, with the environment cleared and
//! rebuilt from an allow-list (so no server secret reaches it), stdin closed, stdout and stderr
//! merged in arrival order and capped in memory, and a timeout (or the turn's cancellation) that
//! SIGKILLs the whole group. Nothing the command starts outlives it: when it exits, what is left
//! of its group is killed too, as bubblewrap's PID namespace does on its own.
//!
//! Where the jail is built ([`Jail`]), the command runs inside it with the workspace at
//! [`MOUNT`]. With `workspace.sandbox: none` it runs on the host with the workspace as its
//! directory, and [`MOUNT`] in the command text is rewritten to the host directory (and mapped
//! back in the output) so commands written for the mount still work. Where the jail cannot be
//! built, nothing runs: the error says why.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::jail::{Isolation, Jail};
use super::{Workspace, MOUNT};
use crate::config::ProcessLimits;

mod cgroup;

pub use cgroup::available as process_cgroups_available;
pub(crate) use cgroup::PidsCgroup;

/// How long to keep reading output after the command ended and its group was killed. Only a
/// process that left the group (`setsid`) can keep the pipes open that long.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Bytes read from a pipe at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Where commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// Inside the jail: only the workspace (at [`MOUNT`]) and `/tmp` are writable.
    Jail,
    /// On the host, in the workspace directory: isolation is reduced to the environment and the
    /// process group.
    Host,
}

/// Where the values of the passed-through environment variables come from.
#[derive(Debug, Clone)]
pub enum EnvSource {
    /// The server's own environment (read when the command starts).
    Process,
    /// Given values: tests use this so they never read the real environment.
    Vars(HashMap<String, String>),
}

/// A command to run in a workspace.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// Run as `bash -c <command>`.
    pub command: String,
    pub workspace: Workspace,
    pub timeout: Duration,
    /// Characters of output kept; the rest is read and counted but dropped.
    pub max_output_chars: usize,
    /// Names of the variables the command gets from `env_source`; all others are dropped.
    pub env_passthrough: Vec<String>,
    pub env_source: EnvSource,
    /// What the command runs in.
    pub jail: Arc<Jail>,
    pub limits: ProcessLimits,
}

impl CommandSpec {
    /// A command with the server's environment as the source and default limits.
    pub fn new(
        command: impl Into<String>,
        workspace: Workspace,
        timeout: Duration,
        max_output_chars: usize,
        env_passthrough: Vec<String>,
        jail: Arc<Jail>,
    ) -> Self {
        Self {
            command: command.into(),
            workspace,
            timeout,
            max_output_chars,
            env_passthrough,
            env_source: EnvSource::Process,
            jail,
            limits: ProcessLimits::default(),
        }
    }
}

/// How a command ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did (SIGKILL after a timeout or cancellation).
    pub signal: Option<i32>,
    /// stdout and stderr merged in arrival order, at most `max_output_chars` characters, in the
    /// agent's view (host paths of the workspace shown as [`MOUNT`]).
    pub output: String,
    /// Characters the command printed in all.
    pub total_chars: usize,
    /// Whether `output` was cut.
    pub truncated: bool,
    pub timed_out: bool,
    pub cancelled: bool,
    pub duration: Duration,
    pub mode: SandboxMode,
}

/// Closes every descriptor above stderr that the shell inherited: whatever started the server
/// may have left some open (they are not the server's to hand on).
const CLOSE_INHERITED: &str =
    "for f in /proc/$$/fd/*; do f=${f##*/}; [ \"$f\" -gt 2 ] 2>/dev/null && eval \"exec $f>&-\"; done";

/// What the shell does before the command: `ulimit` lines that put the limits on the shell and
/// everything it starts (hard and soft together, so a command cannot raise them again), and
/// closing inherited descriptors.
fn limit_prelude(limits: &ProcessLimits) -> String {
    let kib = |mb: u64| mb.saturating_mul(1024);
    [
        format!("ulimit -t {}", limits.cpu_seconds),
        format!("ulimit -v {}", kib(limits.memory_mb)),
        format!("ulimit -f {}", kib(limits.file_size_mb)),
        format!("ulimit -u {}", limits.processes),
    ]
    .iter()
    .map(|line| format!("{line} 2>/dev/null"))
    // A write past the file-size limit fails with "File too large" instead of killing the
    // shell (ignored signals stay ignored in what it starts).
    .chain(["trap '' XFSZ".to_owned(), CLOSE_INHERITED.to_owned()])
    .collect::<Vec<_>>()
    .join("; ")
}

/// bash's path, found on the server's `PATH` (commands may get another `PATH`, or none).
fn bash() -> &'static Path {
    static BASH: OnceLock<PathBuf> = OnceLock::new();
    BASH.get_or_init(|| find_on_path("bash").unwrap_or_else(|| PathBuf::from("/bin/bash")))
}

pub(super) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Builds the command: in the jail, or on the host when the operator chose so. The one place
/// a process is configured.
fn build(spec: &CommandSpec) -> io::Result<(Command, Option<PidsCgroup>, SandboxMode)> {
    let root = spec.workspace.root();
    let prelude = limit_prelude(&spec.limits);
    // Where a pids cgroup can be made, the command joins it before anything else runs.
    let cgroup = PidsCgroup::create(spec.limits.processes);
    let (mut command, jail_env, home, mode) = match spec.jail.isolation() {
        Isolation::Jailed => {
            let script = format!("{prelude}\n{}", spec.command);
            let wrapped = spec
                .jail
                .wrap(
                    root,
                    cgroup.as_ref().map(PidsCgroup::dir),
                    vec!["/bin/bash".into(), "-c".into(), script.into()],
                )
                .map_err(io::Error::other)?;
            let mut command = Command::new(&wrapped.program);
            command.args(&wrapped.args);
            (
                command,
                wrapped.env,
                PathBuf::from(MOUNT),
                SandboxMode::Jail,
            )
        }
        Isolation::Host => {
            let text = spec.command.replace(MOUNT, &root.to_string_lossy());
            let script = format!("{prelude}\n{text}");
            let command = match &cgroup {
                None => {
                    let mut command = Command::new(bash());
                    command.arg("-c").arg(script);
                    command
                }
                Some(cgroup) => {
                    let mut command = Command::new("/bin/sh");
                    command
                        .arg("-c")
                        .arg(cgroup::JOIN)
                        .arg("sh")
                        .arg(cgroup.dir())
                        .arg(bash())
                        .arg("-c")
                        .arg(script);
                    command
                }
            };
            (command, Vec::new(), root.to_path_buf(), SandboxMode::Host)
        }
        Isolation::Unavailable(reason) => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, reason.clone()))
        }
        Isolation::Preparing => {
            return Err(io::Error::other(
                "the jail is still being built; try again in a moment",
            ))
        }
    };
    command.env_clear();
    for name in &spec.env_passthrough {
        let value = match &spec.env_source {
            EnvSource::Process => std::env::var_os(name),
            EnvSource::Vars(vars) => vars.get(name).map(OsString::from),
        };
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    // The jail's own PATH and proxy variables win over passed-through ones.
    command.envs(jail_env);
    command
        .env("HOME", &home)
        .env("PWD", &home)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    Ok((command, cgroup, mode))
}

/// Starts a long-lived process in the sandbox `spec` describes (`spec.command` run by bash),
/// with stdin and stdout piped for a line protocol, stderr discarded, and `env` added to the
/// passed-through environment. The caller owns the child (killed when dropped).
pub fn spawn_interactive(spec: &CommandSpec, env: &[(&str, &str)]) -> io::Result<Interactive> {
    let (mut command, cgroup, _) = build(spec)?;
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    Ok(Interactive {
        child: command.spawn()?,
        _cgroup: cgroup,
    })
}

/// A long-lived sandboxed process and the cgroup that holds it (removed when dropped).
#[derive(Debug)]
pub struct Interactive {
    pub child: tokio::process::Child,
    _cgroup: Option<PidsCgroup>,
}

/// SIGKILLs a process group when dropped, so an abandoned call leaves nothing running.
struct GroupKiller(Option<Pid>);

impl GroupKiller {
    fn kill(&self) {
        if let Some(pgid) = self.0 {
            // ESRCH (the group is already gone) is the expected outcome after a clean exit.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Output kept up to a cap; the rest is only counted.
struct Collector {
    kept: Vec<u8>,
    keep_bytes: usize,
    total_bytes: usize,
    total_chars: usize,
}

impl Collector {
    fn new(max_chars: usize) -> Self {
        Self {
            kept: Vec::new(),
            // Up to four bytes a character in UTF-8.
            keep_bytes: max_chars.saturating_mul(4),
            total_bytes: 0,
            total_chars: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.total_bytes += chunk.len();
        // Characters are the bytes that do not continue a UTF-8 sequence.
        self.total_chars += chunk.iter().filter(|b| (**b & 0xC0) != 0x80).count();
        let room = self.keep_bytes.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
    }

    /// The kept output in the agent's view, cut to `max_chars`, and whether it was cut.
    fn finish(self, workspace: &Workspace, max_chars: usize) -> (String, usize, bool) {
        let text = workspace.to_agent_view(&String::from_utf8_lossy(&self.kept));
        let mut truncated = self.total_bytes > self.kept.len();
        let text = match text.char_indices().nth(max_chars) {
            Some((cut, _)) => {
                truncated = true;
                text[..cut].to_owned()
            }
            None => text,
        };
        (text, self.total_chars, truncated)
    }
}

/// Reads from `pipe` if it is still open; never completes once it is closed.
async fn read_open<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut [u8],
) -> io::Result<usize> {
    match pipe {
        Some(pipe) => pipe.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Takes one read's result: keeps the bytes, or closes the pipe at its end (or on error).
fn take<R>(pipe: &mut Option<R>, read: io::Result<usize>, buf: &[u8], out: &mut Collector) {
    match read {
        Ok(n) if n > 0 => out.push(&buf[..n]),
        _ => *pipe = None,
    }
}

enum End {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

/// Runs `spec`, returning when the command has ended (or was killed) and its output is read.
/// An `Err` means it could not be started.
pub async fn run_command(
    spec: CommandSpec,
    cancel: &CancellationToken,
) -> io::Result<CommandOutcome> {
    spec.jail.ready().await;
    let (mut command, _cgroup, mode) = build(&spec)?;
    let started = Instant::now();
    let mut child = command.spawn()?;
    let group = GroupKiller(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    );
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out = Collector::new(spec.max_output_chars);
    let mut out_buf = vec![0u8; READ_CHUNK];
    let mut err_buf = vec![0u8; READ_CHUNK];
    let deadline = started + spec.timeout;

    let end = loop {
        tokio::select! {
            read = read_open(&mut stdout, &mut out_buf) => take(&mut stdout, read, &out_buf, &mut out),
            read = read_open(&mut stderr, &mut err_buf) => take(&mut stderr, read, &err_buf, &mut out),
            status = child.wait() => break End::Exited(status?),
            () = tokio::time::sleep_until(deadline) => break End::TimedOut,
            () = cancel.cancelled() => break End::Cancelled,
        }
    };
    // Whatever way it ended, nothing it started may outlive it.
    group.kill();
    let status = match end {
        End::Exited(status) => status,
        End::TimedOut | End::Cancelled => child.wait().await?,
    };
    let drain_until = Instant::now() + DRAIN_GRACE;
    while stdout.is_some() || stderr.is_some() {
        tokio::select! {
            read = read_open(&mut stdout, &mut out_buf) => take(&mut stdout, read, &out_buf, &mut out),
            read = read_open(&mut stderr, &mut err_buf) => take(&mut stderr, read, &err_buf, &mut out),
            () = tokio::time::sleep_until(drain_until) => break,
        }
    }
    let duration = started.elapsed();

    let (output, total_chars, truncated) = out.finish(&spec.workspace, spec.max_output_chars);
    Ok(CommandOutcome {
        exit_code: status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        output,
        total_chars,
        truncated,
        timed_out: matches!(end, End::TimedOut),
        cancelled: matches!(end, End::Cancelled),
        duration,
        mode,
    })
}

#[cfg(test)]
mod tests;

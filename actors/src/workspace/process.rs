//! Running a command in a workspace.
//!
//! Every command runs as `bash -c` in its own process group, with the environment cleared and
//! rebuilt from an allow-list (so no server secret reaches it), stdin closed, stdout and stderr
//! merged in arrival order and capped in memory, and a timeout (or the turn's cancellation) that
//! SIGKILLs the whole group. Nothing the command starts outlives it: when it exits, what is left
//! of its group is killed too, as bubblewrap's PID namespace does on its own.
//!
//! Where bubblewrap works, the command runs inside it with the workspace bind-mounted at
//! [`MOUNT`] and the rest of the host read-only. Elsewhere it runs on the host with the workspace
//! as its directory, and [`MOUNT`] in the command text is rewritten to the host directory (and
//! mapped back in the output) so commands written for the mount still work; [`sandbox_mode`]
//! tells startup which, so it can warn that isolation is reduced.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Workspace, MOUNT};
use crate::config::{ProcessLimits, SandboxChoice};

mod cgroup;

pub use cgroup::available as process_cgroups_available;
pub(crate) use cgroup::PidsCgroup;

/// How long to keep reading output after the command ended and its group was killed. Only a
/// process that left the group (`setsid`) can keep the pipes open that long.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Bytes read from a pipe at a time.
const READ_CHUNK: usize = 16 * 1024;

/// bubblewrap's options before the workspace bind: the host read-only, fresh `/dev`, `/proc`
/// and `/tmp`, and an empty `/mnt` to hold the mount point.
const BWRAP_BASE: &[&str] = &[
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/mnt",
];

/// bubblewrap's options after the workspace bind.
const BWRAP_TAIL: &[&str] = &[
    "--chdir",
    MOUNT,
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
    "--",
];

/// Where commands run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    /// Inside bubblewrap: only the workspace is writable, and it is at [`MOUNT`].
    Bubblewrap,
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
    /// `None` picks [`sandbox_mode`]; tests force a mode. Forcing bubblewrap where it does not
    /// work is an error, never a silent fallback.
    pub sandbox: Option<SandboxMode>,
    /// Whether the command may use the network (off needs bubblewrap).
    pub network: bool,
    pub limits: ProcessLimits,
}

impl CommandSpec {
    /// A command with the server's environment as the source and the detected sandbox.
    pub fn new(
        command: impl Into<String>,
        workspace: Workspace,
        timeout: Duration,
        max_output_chars: usize,
        env_passthrough: Vec<String>,
    ) -> Self {
        Self {
            command: command.into(),
            workspace,
            timeout,
            max_output_chars,
            env_passthrough,
            env_source: EnvSource::Process,
            sandbox: None,
            network: true,
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

/// Which mode commands run in here: bubblewrap if it is on `PATH` and works, else the host.
/// Probed once per process.
pub fn sandbox_mode() -> SandboxMode {
    if bwrap().is_some() {
        SandboxMode::Bubblewrap
    } else {
        SandboxMode::Host
    }
}

/// The mode `workspace.sandbox` asks for: `auto` detects, `bwrap` is an error where bubblewrap
/// does not work, `none` is the host.
pub fn sandbox_mode_for(choice: SandboxChoice) -> Result<SandboxMode, String> {
    match choice {
        SandboxChoice::Auto => Ok(sandbox_mode()),
        SandboxChoice::None => Ok(SandboxMode::Host),
        SandboxChoice::Bwrap => match sandbox_mode() {
            SandboxMode::Bubblewrap => Ok(SandboxMode::Bubblewrap),
            SandboxMode::Host => Err(
                "workspace.sandbox is bwrap, but bubblewrap is not installed or does not work \
                 here (apt-get install bubblewrap), or set workspace.sandbox: auto"
                    .into(),
            ),
        },
    }
}

/// Warnings about reduced isolation for this mode and network setting.
pub fn isolation_warnings(mode: SandboxMode, network: bool) -> Vec<&'static str> {
    let mut warnings = Vec::new();
    if mode == SandboxMode::Host {
        warnings.push(
            "commands run on the host without bubblewrap: isolation is reduced to the \
             environment, the process group and resource limits",
        );
        if !network {
            warnings.push("workspace.network is false, but without bubblewrap commands can still reach the network");
        }
    }
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !cgroup::available() && root {
        warnings.push(
            "no writable pids cgroup: workspace.limits.processes is not enforced for commands run as root",
        );
    }
    warnings
}

/// `ulimit` lines that put the limits on the shell and everything it starts. Hard and soft
/// together, so a command cannot raise them again.
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
    .collect::<Vec<_>>()
    .join("; ")
}

/// bubblewrap's path, if it is on `PATH` and a probe run with the options commands use works
/// (it can fail in containers that forbid namespaces).
fn bwrap() -> Option<&'static Path> {
    static BWRAP: OnceLock<Option<PathBuf>> = OnceLock::new();
    BWRAP
        .get_or_init(|| {
            let path = find_on_path("bwrap")?;
            let probe = std::process::Command::new(&path)
                .args(BWRAP_BASE)
                .args(["--unshare-pid", "--die-with-parent", "--new-session", "--"])
                .arg("true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            match probe {
                Ok(status) if status.success() => Some(path),
                _ => None,
            }
        })
        .as_deref()
}

/// bash's path, found on the server's `PATH` (commands may get another `PATH`, or none).
fn bash() -> &'static Path {
    static BASH: OnceLock<PathBuf> = OnceLock::new();
    BASH.get_or_init(|| find_on_path("bash").unwrap_or_else(|| PathBuf::from("/bin/bash")))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Builds the command for `mode`. The one place a process is configured, so resource limits and
/// network policy can be added here.
fn build(spec: &CommandSpec, mode: SandboxMode) -> io::Result<(Command, Option<PidsCgroup>)> {
    let root = spec.workspace.root();
    let prelude = limit_prelude(&spec.limits);
    let (inner, home) = match mode {
        SandboxMode::Bubblewrap => {
            let bwrap = bwrap().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "bubblewrap is not installed or does not work here",
                )
            })?;
            let mut command = Command::new(bwrap);
            command.args(BWRAP_BASE).arg("--bind").arg(root).arg(MOUNT);
            if !spec.network {
                command.arg("--unshare-net");
            }
            command
                .args(BWRAP_TAIL)
                .arg(bash())
                .arg("-c")
                .arg(format!("{prelude}\n{}", spec.command));
            (command, PathBuf::from(MOUNT))
        }
        SandboxMode::Host => {
            let mut command = Command::new(bash());
            let text = spec.command.replace(MOUNT, &root.to_string_lossy());
            command.arg("-c").arg(format!("{prelude}\n{text}"));
            (command, root.to_path_buf())
        }
    };
    // Where a pids cgroup can be made, the command joins it before anything else runs.
    let cgroup = PidsCgroup::create(spec.limits.processes);
    let mut command = match &cgroup {
        None => inner,
        Some(cgroup) => {
            let inner = inner.as_std();
            let mut wrapped = Command::new("/bin/sh");
            wrapped
                .arg("-c")
                .arg(cgroup::JOIN)
                .arg("sh")
                .arg(cgroup.dir())
                .arg(inner.get_program())
                .args(inner.get_args());
            wrapped
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
    command
        .env("HOME", &home)
        .env("PWD", &home)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    Ok((command, cgroup))
}

/// Starts a long-lived process in the sandbox `spec` describes (`spec.command` run by bash),
/// with stdin and stdout piped for a line protocol, stderr discarded, and `env` added to the
/// passed-through environment. The caller owns the child (killed when dropped).
pub fn spawn_interactive(spec: &CommandSpec, env: &[(&str, &str)]) -> io::Result<Interactive> {
    let mode = spec.sandbox.unwrap_or_else(sandbox_mode);
    let (mut command, cgroup) = build(spec, mode)?;
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
    let mode = spec.sandbox.unwrap_or_else(sandbox_mode);
    let (mut command, _cgroup) = build(&spec, mode)?;
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

//! The jail agent code runs in (shell commands, the Python interpreter, anything they start).
//!
//! Built with bubblewrap, the same way whether the server runs as root or not:
//! - a user namespace with an unprivileged uid and gid inside ([`SANDBOX_UID`]) and every
//!   capability dropped, a new session, and its own pid, ipc, uts, cgroup and network
//!   namespaces, with its own `/proc`;
//! - a seccomp filter ([`seccomp`]) refusing mounts, tracing, keyrings, BPF, kernel modules,
//!   namespaces and the rest of the administrative surface;
//! - a minimal read-only root (`rootfs.rs`): `/usr` and its links, a few files of `/etc`,
//!   generated `passwd`, `group` and `hosts`, a size-limited `/tmp`, a minimal `/dev`; the
//!   session's workspace read-write at [`MOUNT`]; nothing else of the host;
//! - no network but its own loopback. With `workspace.network: proxy`, the bridge (a small
//!   program of its own, `jail/bridge.rs`, built by `build.rs` and embedded here) runs first
//!   inside the jail, listens on that loopback at [`PROXY_PORT`] and hands each connection to
//!   the server's guarded proxy over a Unix socket; the usual proxy variables point there.
//!
//! [`Jail::start`] decides once, at start, what commands run in: the jail (probed with a
//! real command), the host (`workspace.sandbox: none`, which the operator chose), or nothing
//! (the jail cannot be built here: sandboxed work is refused with the reason, never run with
//! less isolation). It builds on a thread of its own, so the server answers meanwhile; what
//! needs the jail waits for it ([`Jail::ready`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::config::{NetworkChoice, SandboxChoice, WorkspaceSettings};

mod report;
mod rootfs;
pub mod seccomp;

pub use report::IsolationReport;

pub use super::MOUNT;

/// The uid and gid agent code has inside the jail.
pub const SANDBOX_UID: u32 = 1000;

/// Where, on the jail's own loopback, the bridge to the proxy listens.
pub const PROXY_PORT: u16 = 3128;

/// The bridge program (see `build.rs`).
const BRIDGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/okcvm-jail-bridge"));

/// The folder inside the jail holding the bridge program and the proxy's socket.
const RUN_DIR_IN_JAIL: &str = "/run/okcvm";

/// `PATH` inside the jail.
const JAIL_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The descriptors bubblewrap reads its options and the two seccomp programs from: single
/// digits (all a POSIX shell's redirections take), clear of stdio and of the ones Chromium's
/// DevTools pipe uses.
const ARGS_FD: &str = "7";
const SECCOMP_FDS: [&str; 2] = ["8", "9"];

/// The shell that starts every jail: it joins the command's pids cgroup (`$1`, when there is
/// one) before anything else runs, opens bubblewrap's options and the seccomp programs on
/// their descriptors, then becomes bubblewrap. Opening files by name here, rather than handing
/// descriptors over from the server, lets the server start it with `posix_spawn` instead of
/// copying its own address space with `fork` for every command.
const LAUNCH: &str = "if [ -n \"$1\" ]; then echo $$ > \"$1/cgroup.procs\" || exit 125; fi; \
                      exec 7<\"$2\" 8<\"$3\" 9<\"$4\" || exit 125; shift 4; exec \"$@\"";

/// What agent code runs in here, decided once when the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// The jail.
    Jailed,
    /// The host, because `workspace.sandbox: none` says so.
    Host,
    /// Nothing: the jail cannot be built here, for the reason given. Sandboxed work is refused.
    Unavailable(String),
    /// Not decided yet: the jail is still being built (the first moments after start).
    Preparing,
}

/// What [`Jail::isolation`] answers while the jail is being built.
static PREPARING: Isolation = Isolation::Preparing;

/// What startup needs to build the jail.
#[derive(Debug, Clone)]
pub struct JailSetup {
    pub sandbox: SandboxChoice,
    pub network: NetworkChoice,
    /// A private folder of the server's (under the data directory) for generated files.
    pub run_dir: PathBuf,
    /// The proxy's Unix socket, when the network goes through it.
    pub proxy_socket: Option<PathBuf>,
    /// Size of the jail's `/tmp`, bytes.
    pub tmp_bytes: u64,
}

impl JailSetup {
    /// The setup the workspace settings describe, with the proxy's socket if one runs.
    pub fn from_settings(
        settings: &WorkspaceSettings,
        run_dir: PathBuf,
        proxy_socket: Option<PathBuf>,
    ) -> Self {
        Self {
            sandbox: settings.sandbox,
            network: settings.network,
            run_dir,
            proxy_socket,
            tmp_bytes: settings.tmp_mb.saturating_mul(1 << 20),
        }
    }
}

/// The jail: being built, or ready to wrap commands. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Jail {
    built: tokio::sync::SetOnce<Built>,
}

/// The jail once built.
#[derive(Debug)]
struct Built {
    isolation: Isolation,
    bwrap: PathBuf,
    /// Options every jailed process gets before its own (root, namespaces, limits).
    base: Vec<OsString>,
    /// The compiled seccomp programs, written under the run folder.
    seccomp: Vec<PathBuf>,
    /// Where the options of each jail are written (one file per distinct set, by its hash).
    options_dir: PathBuf,
    /// How the jail reaches the proxy (the browser always does, when it runs).
    proxy: Option<Proxied>,
    /// Whether agent commands get the proxy (`workspace.network: proxy`).
    commands_proxied: bool,
}

#[derive(Debug, Clone)]
struct Proxied {
    socket: PathBuf,
    helper: PathBuf,
}

/// A jailed program: what to run on the host, and the variables to add to its environment.
pub(crate) struct Wrapped {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(&'static str, String)>,
}

impl Jail {
    /// Builds the jail `setup` asks for and proves it works with a real command, or says why
    /// it cannot be built; returns once that is done.
    pub fn prepare(setup: &JailSetup) -> Self {
        let built = tokio::sync::SetOnce::new();
        let _ = built.set(Built::new(setup));
        Self { built }
    }

    /// Starts building the jail `setup` asks for on a thread of its own and returns at once:
    /// making the jail's `/etc` on a new data directory and the probe take from tens to
    /// hundreds of milliseconds, which the server's start does not wait for.
    pub fn start(setup: JailSetup) -> std::sync::Arc<Self> {
        let jail = std::sync::Arc::new(Self {
            built: tokio::sync::SetOnce::new(),
        });
        if setup.sandbox == SandboxChoice::None {
            let _ = jail.built.set(Built::new(&setup));
            return jail;
        }
        let building = jail.clone();
        let spawned = std::thread::Builder::new()
            .name("okcvm-jail".into())
            .spawn(move || {
                // Whatever happens, the jail is decided: commands wait for it.
                let built =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Built::new(&setup)))
                        .unwrap_or_else(|_| Built::unavailable("building the jail failed".into()));
                let _ = building.built.set(built);
            });
        if let Err(e) = spawned {
            let _ = jail.built.set(Built::unavailable(format!(
                "no thread to build the jail on: {e}"
            )));
        }
        jail
    }

    /// A jail that runs everything on the host (tests, and `workspace.sandbox: none`).
    pub fn host() -> Self {
        Self::prepare(&JailSetup {
            sandbox: SandboxChoice::None,
            network: NetworkChoice::Off,
            run_dir: PathBuf::new(),
            proxy_socket: None,
            tmp_bytes: 0,
        })
    }

    /// A jail that refuses everything, for the reason given (tests of that path).
    #[cfg(test)]
    pub(crate) fn unavailable(reason: &str) -> Self {
        let built = tokio::sync::SetOnce::new();
        let _ = built.set(Built::unavailable(reason.to_owned()));
        Self { built }
    }

    /// What agent code runs in, once that is decided.
    pub async fn ready(&self) -> &Isolation {
        &self.built.wait().await.isolation
    }

    /// What agent code runs in: [`Isolation::Preparing`] until the jail is built.
    pub fn isolation(&self) -> &Isolation {
        self.built
            .get()
            .map_or(&PREPARING, |built| &built.isolation)
    }

    /// Whether agent commands reach the network through the proxy.
    pub fn proxied(&self) -> bool {
        self.built.get().is_some_and(|built| built.commands_proxied)
    }

    fn built(&self) -> Result<&Built, String> {
        self.built
            .get()
            .ok_or_else(|| "the jail is still being built; try again in a moment".to_owned())
    }

    /// `argv` (a program and its arguments, as seen inside the jail) wrapped to run in the jail
    /// with `workspace` (a host folder) at [`MOUNT`], in the pids cgroup `cgroup` if given.
    pub(crate) fn wrap(
        &self,
        workspace: &Path,
        cgroup: Option<&Path>,
        argv: Vec<OsString>,
    ) -> Result<Wrapped, String> {
        self.built()?.wrap(workspace, cgroup, argv)
    }

    /// The browser's jail: like agent code's, but with no workspace, its home on the jail's
    /// `/tmp`, `extra` host folders read-only (a browser installed outside `/usr`), and the
    /// proxy as its only way out (there is no browser without it).
    pub(crate) fn wrap_browser(
        &self,
        extra: &[PathBuf],
        argv: Vec<OsString>,
    ) -> Result<Wrapped, String> {
        self.built()?.wrap_browser(extra, argv)
    }
}

impl Built {
    fn new(setup: &JailSetup) -> Self {
        let mut jail = Self::nothing(Isolation::Host);
        if setup.sandbox == SandboxChoice::None {
            return jail;
        }
        jail.isolation = match jail.build(setup) {
            Ok(()) => Isolation::Jailed,
            Err(reason) => Isolation::Unavailable(reason),
        };
        jail
    }

    fn unavailable(reason: String) -> Self {
        Self::nothing(Isolation::Unavailable(reason))
    }

    /// `isolation` with nothing built.
    fn nothing(isolation: Isolation) -> Self {
        Self {
            isolation,
            bwrap: PathBuf::new(),
            base: Vec::new(),
            seccomp: Vec::new(),
            options_dir: PathBuf::new(),
            proxy: None,
            commands_proxied: false,
        }
    }

    fn build(&mut self, setup: &JailSetup) -> Result<(), String> {
        self.bwrap = super::process::find_on_path("bwrap").ok_or(
            "bubblewrap is not installed (Debian: apt-get install bubblewrap); to run agent \
             code on the host instead, set workspace.sandbox: none (trusted machines only)",
        )?;
        let run_dir = std::fs::create_dir_all(&setup.run_dir)
            .and_then(|()| setup.run_dir.canonicalize())
            .map_err(|e| format!("cannot make {}: {e}", setup.run_dir.display()))?;
        self.seccomp = seccomp::programs()?
            .iter()
            .enumerate()
            .map(|(i, program)| {
                write_file(
                    &run_dir.join(format!("jail-seccomp-{i}.bpf")),
                    program,
                    0o644,
                )
            })
            .collect::<std::io::Result<_>>()
            .map_err(|e| format!("cannot write the seccomp filter: {e}"))?;
        self.options_dir = run_dir.join("jail-options");
        // Left from an earlier start: workspaces may have moved since.
        let _ = std::fs::remove_dir_all(&self.options_dir);
        std::fs::create_dir_all(&self.options_dir)
            .map_err(|e| format!("cannot make {}: {e}", self.options_dir.display()))?;
        let etc = rootfs::prepare_etc(&setup.run_dir)
            .map_err(|e| format!("cannot write the jail's /etc files: {e}"))?;
        self.base = rootfs::base_args(&etc, setup.tmp_bytes);
        if let Some(socket) = &setup.proxy_socket {
            let helper = write_file(&run_dir.join("jail-bridge"), BRIDGE, 0o755)
                .map_err(|e| format!("cannot write the jail's bridge program: {e}"))?;
            self.proxy = Some(Proxied {
                socket: socket.clone(),
                helper,
            });
        }
        if setup.network == NetworkChoice::Proxy {
            if setup.proxy_socket.is_none() {
                return Err("the network proxy is not running".into());
            }
            self.commands_proxied = true;
        }
        self.probe(&setup.run_dir)
    }

    /// Runs `true` in the jail (with the bridge, when there is one), so a machine that cannot
    /// build it is found at start rather than on the first command.
    fn probe(&self, run_dir: &Path) -> Result<(), String> {
        let probe_dir = run_dir.join("jail-probe");
        std::fs::create_dir_all(&probe_dir)
            .map_err(|e| format!("cannot make {}: {e}", probe_dir.display()))?;
        let probe_dir = probe_dir
            .canonicalize()
            .map_err(|e| format!("cannot find {}: {e}", probe_dir.display()))?;
        let wrapped = self.wrap(&probe_dir, None, vec!["/bin/true".into()])?;
        let output = std::process::Command::new(&wrapped.program)
            .args(&wrapped.args)
            .env_clear()
            .envs(wrapped.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("bubblewrap cannot run: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(format!(
            "bubblewrap could not build the jail ({}): user namespaces may be disabled on this \
             machine (sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces, or a \
             container that forbids them); to run agent code on the host instead, set \
             workspace.sandbox: none (trusted machines only)",
            if said.is_empty() {
                output.status.to_string()
            } else {
                said
            }
        ))
    }

    fn wrap(
        &self,
        workspace: &Path,
        cgroup: Option<&Path>,
        argv: Vec<OsString>,
    ) -> Result<Wrapped, String> {
        let proxy = self.proxy.as_ref().filter(|_| self.commands_proxied);
        self.wrap_in(Some(workspace), &[], proxy, cgroup, argv)
    }

    fn wrap_browser(&self, extra: &[PathBuf], argv: Vec<OsString>) -> Result<Wrapped, String> {
        if let Isolation::Unavailable(reason) = &self.isolation {
            return Err(format!("the browser cannot run: {reason}"));
        }
        let proxy = self
            .proxy
            .as_ref()
            .ok_or("the browser's jail has no way to the network proxy")?;
        self.wrap_in(None, extra, Some(proxy), None, argv)
    }

    fn wrap_in(
        &self,
        workspace: Option<&Path>,
        extra: &[PathBuf],
        proxy: Option<&Proxied>,
        cgroup: Option<&Path>,
        argv: Vec<OsString>,
    ) -> Result<Wrapped, String> {
        let mut options = self.base.clone();
        for fd in SECCOMP_FDS {
            options.extend(["--add-seccomp-fd".into(), fd.into()]);
        }
        for dir in extra {
            options.extend(["--ro-bind".into(), dir.into(), dir.into()]);
        }
        // pip installs into the home folder (the workspace), never into the read-only /usr.
        let mut env = vec![
            ("PATH", JAIL_PATH.to_owned()),
            ("PIP_USER", "1".to_owned()),
            ("PIP_BREAK_SYSTEM_PACKAGES", "1".to_owned()),
        ];
        // What runs before `argv` inside the jail: the bridge to the proxy, when there is one.
        let mut first: Vec<OsString> = Vec::new();
        if let Some(proxy) = proxy {
            let helper = format!("{RUN_DIR_IN_JAIL}/bridge");
            let socket = format!("{RUN_DIR_IN_JAIL}/proxy.sock");
            options.extend([
                "--ro-bind".into(),
                proxy.helper.clone().into_os_string(),
                helper.clone().into(),
                "--ro-bind".into(),
                proxy.socket.clone().into_os_string(),
                socket.clone().into(),
            ]);
            let url = format!("http://127.0.0.1:{PROXY_PORT}");
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                env.push((name, url.clone()));
            }
            for name in ["NO_PROXY", "no_proxy"] {
                env.push((name, "localhost,127.0.0.1,::1".to_owned()));
            }
            first.extend([
                helper.into(),
                PROXY_PORT.to_string().into(),
                socket.into(),
                "--".into(),
            ]);
        }
        if let Some(workspace) = workspace {
            options.extend(["--bind".into(), workspace.into(), MOUNT.into()]);
        }
        // The root goes read-only once every mount point in it exists.
        let home = if workspace.is_some() { MOUNT } else { "/tmp" };
        options.extend([
            "--remount-ro".into(),
            "/".into(),
            "--chdir".into(),
            home.into(),
        ]);
        // The options reach bubblewrap through a descriptor, so the jail's own
        // /proc/1/cmdline names none of the host's paths.
        let options = self
            .options_file(&options)
            .map_err(|e| format!("cannot write the jail's options: {e}"))?;
        let [seccomp_a, seccomp_b] = self.seccomp.as_slice() else {
            return Err("the seccomp filter is missing".into());
        };
        let mut args: Vec<OsString> = vec![
            "-c".into(),
            LAUNCH.into(),
            "sh".into(),
            cgroup.map(OsString::from).unwrap_or_default(),
            options.into(),
            seccomp_a.into(),
            seccomp_b.into(),
            self.bwrap.clone().into(),
            "--args".into(),
            ARGS_FD.into(),
            "--".into(),
        ];
        args.extend(first);
        args.extend(argv);
        Ok(Wrapped {
            program: PathBuf::from("/bin/sh"),
            args,
            env,
        })
    }

    /// The file holding `options` NUL-separated, as bubblewrap's `--args` reads them: one per
    /// distinct set (a workspace's), named by its hash, written once.
    fn options_file(&self, options: &[OsString]) -> std::io::Result<PathBuf> {
        use sha2::Digest;
        let mut packed = Vec::new();
        for option in options {
            packed.extend_from_slice(option.as_encoded_bytes());
            packed.push(0);
        }
        let name = sha2::Sha256::digest(&packed)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let path = self.options_dir.join(name);
        if !path.exists() {
            write_file(&path, &packed, 0o600)?;
        }
        Ok(path)
    }
}

/// Writes `bytes` to `path` whole (a temporary name, then renamed into place, so a jail
/// starting meanwhile reads the old or the new file, never half of one) with `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let staged = path.with_extension(format!("new-{}", crate::ids::new_id()));
    std::fs::write(&staged, bytes)?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&staged, path)?;
    Ok(path.to_path_buf())
}

/// The jail without a network (unit tests run no proxy), its files under `run_dir`. Fails
/// where it cannot be built.
#[cfg(test)]
pub(crate) fn test_jail(run_dir: &Path) -> std::sync::Arc<Jail> {
    let jail = Jail::prepare(&JailSetup {
        sandbox: SandboxChoice::Bwrap,
        network: NetworkChoice::Off,
        run_dir: run_dir.to_path_buf(),
        proxy_socket: None,
        tmp_bytes: 64 << 20,
    });
    assert_eq!(
        jail.isolation(),
        &Isolation::Jailed,
        "the jail cannot be built here: install bubblewrap (apt-get install bubblewrap) on a \
         machine with user namespaces"
    );
    std::sync::Arc::new(jail)
}

#[cfg(test)]
mod tests;

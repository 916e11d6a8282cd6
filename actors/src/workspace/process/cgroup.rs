//! A pids cgroup per command, so a fork bomb stops at `workspace.limits.processes` even when
//! the server runs as root (the kernel does not apply `RLIMIT_NPROC` to root).
//!
//! Where the cgroup v1 `pids` hierarchy (or cgroup v2 with the `pids` controller) is writable,
//! each command gets `okcvm/<id>` under it with `pids.max` set, and joins it before it starts
//! (a tiny `sh` wrapper writes its own pid into `cgroup.procs`, then execs the command). When
//! the command ends, whatever is left in the cgroup is killed and the cgroup removed. Where no
//! hierarchy is writable, commands run without it and the process limit is `ulimit -u` alone.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Joins the cgroup given as `$1`, then runs the rest of the arguments.
pub(super) const JOIN: &str = "echo $$ > \"$1/cgroup.procs\" && shift && exec \"$@\"";

/// The `okcvm` folder in a writable pids hierarchy, probed once.
fn base() -> Option<&'static Path> {
    static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
    BASE.get_or_init(|| {
        ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
            .iter()
            .map(Path::new)
            .find_map(|root| {
                if !root.join("cgroup.procs").exists() {
                    return None;
                }
                let base = root.join("okcvm");
                std::fs::create_dir_all(&base).ok()?;
                // A probe child proves pids.max can be set here.
                let probe = base.join(format!("probe-{}", std::process::id()));
                std::fs::create_dir_all(&probe).ok()?;
                let works = std::fs::write(probe.join("pids.max"), "8").is_ok();
                let _ = std::fs::remove_dir(&probe);
                works.then_some(base)
            })
    })
    .as_deref()
}

/// Whether commands get a pids cgroup here.
pub fn available() -> bool {
    base().is_some()
}

/// One command's cgroup; killed and removed when dropped.
#[derive(Debug)]
pub(crate) struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    /// A new cgroup allowing `max` processes, or `None` where cgroups are not writable.
    pub(super) fn create(max: u64) -> Option<Self> {
        let dir = base()?.join(crate::ids::new_id());
        std::fs::create_dir(&dir).ok()?;
        let cgroup = Self { dir };
        std::fs::write(cgroup.dir.join("pids.max"), max.to_string()).ok()?;
        Some(cgroup)
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        // Usually the jail is gone by now and the cgroup empty: removed at once.
        if std::fs::remove_dir(&self.dir).is_ok() {
            return;
        }
        // Otherwise its last processes are still dying (or a fork bomb is still forking):
        // kill until empty and remove it on a thread of its own, so the call that ran the
        // command does not wait for that.
        let dir = std::mem::take(&mut self.dir);
        std::thread::spawn(move || {
            for attempt in 0..200u64 {
                let pids = read_pids(&dir);
                if pids.is_empty() && std::fs::remove_dir(&dir).is_ok() {
                    return;
                }
                for pid in pids {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
                std::thread::sleep(std::time::Duration::from_millis(1 + attempt.min(20)));
            }
            tracing::warn!(cgroup = %dir.display(), "a command's cgroup could not be removed");
        });
    }
}

/// The processes in the cgroup at `dir`.
fn read_pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

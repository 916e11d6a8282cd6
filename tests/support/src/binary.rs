//! The real `okcvm run` binary as a child process, pointed at a fake model.
//!
//! Every start takes the binary to run: cargo tells only the tests and benchmarks of the
//! `okcvm` package where it built it, so they pass `env!("CARGO_BIN_EXE_okcvm")`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `okcvm run`.
pub struct ServerProcess {
    pub child: Child,
    /// e.g. `http://127.0.0.1:40123`
    pub url: String,
    /// From spawning to the first `200` from `/api/health`.
    pub ready_after: Duration,
    /// What the server has written to stderr (its log) so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts `okcvm run --port 0` (`okcvm` is the binary) on `data_dir` with a clean
/// environment, the chat model at `model_url`, and `env` on top; returns once it answers.
pub async fn start(
    okcvm: impl AsRef<Path>,
    data_dir: &Path,
    model_url: &str,
    env: &[(&str, &str)],
) -> ServerProcess {
    launch(okcvm.as_ref(), data_dir, model_url, env, None, None).await
}

/// [`start`], the server running as `uid` (its group the same number) when one is given: the
/// test must be root to do that, and `data_dir` and its parent must belong to that user. The
/// binary is then run from a link beside `data_dir`, since the checkout it was built in may be
/// closed to that user.
pub async fn start_as(
    okcvm: impl AsRef<Path>,
    data_dir: &Path,
    model_url: &str,
    env: &[(&str, &str)],
    uid: Option<u32>,
) -> ServerProcess {
    launch(okcvm.as_ref(), data_dir, model_url, env, uid, None).await
}

/// [`start`], the server's open-files limit (soft and hard) set to `fd_limit` by the shell
/// that starts it.
pub async fn start_with_fd_limit(
    okcvm: impl AsRef<Path>,
    data_dir: &Path,
    model_url: &str,
    env: &[(&str, &str)],
    fd_limit: u64,
) -> ServerProcess {
    launch(
        okcvm.as_ref(),
        data_dir,
        model_url,
        env,
        None,
        Some(fd_limit),
    )
    .await
}

async fn launch(
    built: &Path,
    data_dir: &Path,
    model_url: &str,
    env: &[(&str, &str)],
    uid: Option<u32>,
    fd_limit: Option<u64>,
) -> ServerProcess {
    // Made before the clock starts: building a client loads the TLS roots, which is the
    // driver's cost, not the server's.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let program = match uid {
        None => built.to_path_buf(),
        Some(_) => {
            let beside = data_dir.parent().expect("a parent folder").join("okcvm");
            if std::fs::hard_link(built, &beside).is_err() {
                std::fs::copy(built, &beside).expect("the binary is copied for the user");
            }
            beside
        }
    };
    let mut command = match fd_limit {
        None => Command::new(program),
        Some(limit) => {
            let mut shell = Command::new("sh");
            shell
                .arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(program);
            shell
        }
    };
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    command
        .args(["run", "--port", "0", "--data-dir"])
        .arg(data_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OKCVM_CHAT_MODEL", "fake-model")
        .env("OKCVM_CHAT_BASE_URL", model_url)
        .current_dir(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the okcvm binary starts");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut log_lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let written = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = log_lines.next_line().await {
            let mut log = written.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("OKCVM is running: ") {
                return rest.trim_end_matches("/ui/").to_string();
            }
        }
        panic!("the server exited before it was ready");
    })
    .await
    .expect("the server is ready within 30 s");
    // Keep reading so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    loop {
        if let Ok(response) = client.get(format!("{url}/api/health")).send().await {
            if response.status() == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ServerProcess {
        child,
        url,
        ready_after: started.elapsed(),
        log,
    }
}

impl ServerProcess {
    /// The server's log (stderr) so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id().expect("running") as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal sent");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the server exits within 20 s of SIGTERM")
            .expect("exit status")
    }

    /// SIGKILL: the process ends at once, between any two instructions.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL sent");
        self.child.wait().await.expect("exit status");
    }

    /// CPU time the process has used so far (user and system, every thread), in
    /// milliseconds, at the kernel's clock-tick resolution (10 ms here).
    pub fn cpu_ms(&self) -> f64 {
        let pid = self.child.id().expect("running");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        crate::bench::stat_cpu_ms(&stat)
    }

    /// The process's resident set size, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    /// The part of [`Self::rss_mib`] that is the process's own memory (heap, stacks), not
    /// pages of its program and libraries.
    pub fn rss_anon_mib(&self) -> f64 {
        self.status_mib("RssAnon:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kb / 1024.0
    }
}

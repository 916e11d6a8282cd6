//! Starting Chromium: found once at start, run in a jail of its own (or, with no jail, as
//! the server's user with a throwaway profile), spoken to over its DevTools pipe.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::cdp::Cdp;
use super::{Browsers, LAUNCH_TIMEOUT};
use crate::config::BrowserSettings;
use crate::sync::lock;
use crate::workspace::Isolation;

/// The Chromium program to run, if there is one.
pub fn find_chromium(settings: &BrowserSettings) -> Option<PathBuf> {
    if let Some(path) = &settings.path {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// A running Chromium.
pub(super) struct Chrome {
    pub(super) cdp: Arc<Cdp>,
    _child: tokio::process::Child,
    /// Its profile on the host, when it runs outside the jail (in the jail it is on the jail's
    /// own `/tmp`, gone with it).
    profile: Option<PathBuf>,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        if let Some(profile) = &self.profile {
            let _ = std::fs::remove_dir_all(profile);
        }
    }
}

/// A pipe whose ends are closed on exec (the child's copies are made by the fd mapping).
fn pipe_pair() -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd), String> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| format!("no pipe for the browser: {e}"))
}

impl Browsers {
    pub(super) async fn launch(&self) -> Result<Chrome, String> {
        let program = self.program.clone().ok_or_else(|| {
            "the browser tools need Chromium, which is not installed here: install it (Debian: apt-get install chromium) or set browser.path".to_owned()
        })?;
        // The DevTools pipe: the browser reads commands from its descriptor 3 and answers on 4.
        let (commands_read, commands_write) = pipe_pair()?;
        let (answers_read, answers_write) = pipe_pair()?;
        let mut flags: Vec<OsString> = [
            "--headless=new",
            "--remote-debugging-pipe",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-breakpad",
            "--mute-audio",
            "--hide-scrollbars",
            "--window-size=1280,800",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let (mut command, profile) = match self.jail.isolation() {
            Isolation::Host => {
                // The operator chose no jail: the browser runs as the server's user, checked
                // only by the request guard.
                let profile = std::env::temp_dir()
                    .join(format!("okcvm-chromium-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&profile)
                    .map_err(|e| format!("no profile folder for the browser ({e})"))?;
                flags.push(format!("--user-data-dir={}", profile.display()).into());
                if nix::unistd::Uid::effective().is_root() {
                    // Chromium refuses to run its own sandbox as root.
                    flags.push("--no-sandbox".into());
                }
                let mut command = tokio::process::Command::new(&program);
                command.args(&flags);
                (command, Some(profile))
            }
            _ => {
                // In its own jail: no data directory, no host, no network but the proxy (every
                // request and WebSocket goes through the guard there, loopback included), no
                // DevTools port. The jail is the sandbox, so Chromium's own is off.
                flags.extend(
                    [
                        "--no-sandbox".to_owned(),
                        "--user-data-dir=/tmp/profile".to_owned(),
                        format!(
                            "--proxy-server=http://127.0.0.1:{}",
                            crate::workspace::jail::PROXY_PORT
                        ),
                        "--proxy-bypass-list=<-loopback>".to_owned(),
                    ]
                    .map(OsString::from),
                );
                let extra: Vec<PathBuf> = program
                    .parent()
                    .filter(|dir| !dir.starts_with("/usr"))
                    .map(|dir| vec![dir.to_path_buf()])
                    .unwrap_or_default();
                let mut argv = vec![program.clone().into_os_string()];
                argv.extend(flags.iter().cloned());
                argv.extend(self.settings.flags.iter().map(OsString::from));
                argv.push("about:blank".into());
                let wrapped = self.jail.wrap_browser(&extra, argv)?;
                let mut command = tokio::process::Command::new(&wrapped.program);
                command
                    .args(&wrapped.args)
                    .env_clear()
                    .envs(wrapped.env)
                    .env("HOME", "/tmp");
                (command, None)
            }
        };
        if profile.is_some() {
            command.args(&self.settings.flags).arg("about:blank");
        }
        // Handing over the pipe's ends needs `fork` (the only start of the server that does):
        // browsers start rarely, commands often.
        let fds = vec![
            command_fds::FdMapping {
                parent_fd: commands_read,
                child_fd: 3,
            },
            command_fds::FdMapping {
                parent_fd: answers_write,
                child_fd: 4,
            },
        ];
        command_fds::CommandFdExt::fd_mappings(&mut command, fds).map_err(|e| e.to_string())?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "{} cannot start ({e}): check browser.path",
                    program.display()
                )
            })?;
        // The browser's ends of the pipes live in the command: closing them here means the
        // pipe ends when the browser does.
        drop(command);
        let stderr = child.stderr.take().ok_or("no output from the browser")?;
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let kept = said.clone();
        // Keep reading its output so it never blocks on a full pipe; the first lines explain
        // a failed start.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = lock(&kept);
                if kept.len() < 20 {
                    kept.push(line);
                }
            }
        });
        let to_browser = tokio::net::unix::pipe::Sender::from_owned_fd(commands_write)
            .map_err(|e| format!("the browser's pipe: {e}"))?;
        let from_browser = tokio::net::unix::pipe::Receiver::from_owned_fd(answers_read)
            .map_err(|e| format!("the browser's pipe: {e}"))?;
        let cdp = Cdp::over_pipe(to_browser, from_browser);
        if let Err(e) = cdp
            .call("Browser.getVersion", json!({}), None, LAUNCH_TIMEOUT)
            .await
        {
            let said = lock(&said).join("\n");
            return Err(format!(
                "{} started but did not answer ({e}){}",
                program.display(),
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            ));
        }
        Ok(Chrome {
            cdp,
            _child: child,
            profile,
        })
    }
}

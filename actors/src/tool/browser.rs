//! The browser tools: one headless Chromium shared by the server, driven over the DevTools
//! protocol, with one isolated browser context per session (no cookie or storage shared between
//! sessions) and its pages keyed by the URL the model gave. Every request a page makes is
//! paused and checked by the network guard before it goes out. A crashed browser is started
//! again on the next call; a session's context is closed when it has been idle too long.

mod cdp;
mod fetched;
mod tools;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::config::BrowserSettings;
use crate::net::NetGuard;
use crate::workspace::{Isolation, Jail};
use crate::SessionKey;
use cdp::Cdp;

pub(crate) use tools::tools;

/// The helpers run inside pages.
const PAGE_JS: &str = include_str!("browser/page.js");
/// Longest wait for a DevTools command that is not a page load.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for Chromium to start.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How often idle contexts are looked for (more often when they close sooner).
const IDLE_SWEEP: Duration = Duration::from_secs(30);

/// A running Chromium.
struct Chrome {
    cdp: Arc<Cdp>,
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

/// One open page of a session.
#[derive(Clone)]
struct Page {
    /// The URL the model opened it with (how later calls name it).
    pub key: String,
    pub target: String,
    pub session: String,
    /// Requests the guard refused, to tell the model.
    pub refused: Arc<Mutex<Vec<String>>>,
    /// Stops the page's request checker.
    pub stop: CancellationToken,
}

/// A session's browser context and its pages.
struct Context {
    pub id: String,
    pub pages: Vec<Page>,
    pub current: Option<usize>,
    pub used: Instant,
    /// The browser this context lives in (a restarted browser has none of the old pages).
    pub cdp: Arc<Cdp>,
}

impl Context {
    /// Closes the context and its pages in the browser.
    async fn dispose(&self) {
        for page in &self.pages {
            page.stop.cancel();
        }
        let _ = self
            .cdp
            .call(
                "Target.disposeBrowserContext",
                json!({"browserContextId": self.id}),
                None,
                COMMAND_TIMEOUT,
            )
            .await;
    }
}

/// The shared browser and every session's context.
pub struct Browsers {
    settings: BrowserSettings,
    /// The Chromium program, found once when the server starts.
    program: Option<PathBuf>,
    guard: NetGuard,
    /// What the browser runs in.
    jail: Arc<Jail>,
    chrome: tokio::sync::Mutex<Option<Chrome>>,
    contexts: Mutex<HashMap<SessionKey, Arc<tokio::sync::Mutex<Context>>>>,
    /// Pages read without a browser, when Chromium is not installed.
    fetched: fetched::FetchedPages,
}

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

impl Browsers {
    pub fn new(settings: BrowserSettings, guard: NetGuard, jail: Arc<Jail>) -> Self {
        // Where the jail cannot be built, there is no browser: pages are fetched and read.
        let program = match jail.isolation() {
            Isolation::Unavailable(_) => None,
            _ => find_chromium(&settings),
        };
        Self {
            program,
            settings,
            guard,
            jail,
            chrome: tokio::sync::Mutex::new(None),
            contexts: Mutex::default(),
            fetched: fetched::FetchedPages::default(),
        }
    }

    /// Whether a real browser can run here (else pages are fetched and read).
    pub fn available(&self) -> bool {
        self.program.is_some()
    }

    fn settings(&self) -> &BrowserSettings {
        &self.settings
    }

    fn page_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.settings.page_timeout_s)
    }

    /// The browser's connection, starting Chromium (again, if it went away) when needed.
    async fn browser(self: &Arc<Self>) -> Result<Arc<Cdp>, String> {
        let mut chrome = self.chrome.lock().await;
        if let Some(running) = chrome.as_ref() {
            if !running.cdp.closed.is_cancelled() {
                return Ok(running.cdp.clone());
            }
            tracing::warn!("the browser went away; starting it again");
        }
        let started = self.launch().await?;
        let cdp = started.cdp.clone();
        *chrome = Some(started);
        // Contexts of the old browser are gone with it.
        self.contexts
            .lock()
            .map_err(|_| "browser state poisoned")?
            .clear();
        let sweeper = Arc::downgrade(self);
        let closed = cdp.closed.clone();
        let every = IDLE_SWEEP.min(Duration::from_secs_f64(self.settings.idle_close_s / 2.0));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = closed.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let Some(browsers) = sweeper.upgrade() else {
                    return;
                };
                browsers.close_idle().await;
            }
        });
        Ok(cdp)
    }

    async fn launch(&self) -> Result<Chrome, String> {
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
                if let Ok(mut kept) = kept.lock() {
                    if kept.len() < 20 {
                        kept.push(line);
                    }
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
            let said = said.lock().map(|s| s.join("\n")).unwrap_or_default();
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

    /// The session's context, made on first use.
    async fn context(
        self: &Arc<Self>,
        key: &SessionKey,
    ) -> Result<Arc<tokio::sync::Mutex<Context>>, String> {
        let cdp = self.browser().await?;
        if let Some(existing) = self
            .contexts
            .lock()
            .map_err(|_| "browser state poisoned")?
            .get(key)
        {
            return Ok(existing.clone());
        }
        let made = cdp
            .call(
                "Target.createBrowserContext",
                json!({"disposeOnDetach": false}),
                None,
                COMMAND_TIMEOUT,
            )
            .await?;
        let id = made["browserContextId"]
            .as_str()
            .ok_or("the browser made no context")?
            .to_owned();
        let context = Arc::new(tokio::sync::Mutex::new(Context {
            id,
            pages: Vec::new(),
            current: None,
            used: Instant::now(),
            cdp,
        }));
        let mut contexts = self.contexts.lock().map_err(|_| "browser state poisoned")?;
        Ok(contexts.entry(key.clone()).or_insert(context).clone())
    }

    /// Closes the contexts nobody used for `browser.idle_close_s`.
    async fn close_idle(&self) {
        let limit = Duration::from_secs_f64(self.settings.idle_close_s);
        let all: Vec<(SessionKey, Arc<tokio::sync::Mutex<Context>>)> = match self.contexts.lock() {
            Ok(contexts) => contexts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Err(_) => return,
        };
        for (key, context) in all {
            let Ok(context) = context.try_lock() else {
                continue;
            };
            if context.used.elapsed() < limit {
                continue;
            }
            context.dispose().await;
            if let Ok(mut contexts) = self.contexts.lock() {
                contexts.remove(&key);
            }
        }
    }

    /// Forgets a session's context and fetched pages (the session was cleared).
    pub async fn close(&self, key: &SessionKey) {
        self.fetched.forget(key);
        let context = self.contexts.lock().ok().and_then(|mut c| c.remove(key));
        if let Some(context) = context {
            let context = context.lock().await;
            context.dispose().await;
        }
    }

    /// Opens a new page in the context, with the guard checking its every request.
    async fn open_page(&self, context: &mut Context, key: &str) -> Result<usize, String> {
        let cdp = context.cdp.clone();
        let target = cdp
            .call(
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context.id}),
                None,
                COMMAND_TIMEOUT,
            )
            .await?;
        let target = target["targetId"]
            .as_str()
            .ok_or("the browser opened no page")?
            .to_owned();
        let attached = cdp
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
                None,
                COMMAND_TIMEOUT,
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("the browser gave no page session")?
            .to_owned();
        let page = Page {
            key: key.to_owned(),
            target,
            session: session.clone(),
            refused: Arc::default(),
            stop: CancellationToken::new(),
        };
        self.watch_requests(&cdp, &page);
        for (method, params) in [
            ("Page.enable", json!({})),
            (
                "Fetch.enable",
                json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
            ),
        ] {
            cdp.call(method, params, Some(&session), COMMAND_TIMEOUT)
                .await?;
        }
        context.pages.push(page);
        Ok(context.pages.len() - 1)
    }

    /// Checks each request the page makes; refused ones fail as blocked.
    fn watch_requests(&self, cdp: &Arc<Cdp>, page: &Page) {
        let mut events = cdp.subscribe();
        let (cdp, guard) = (cdp.clone(), self.guard.clone());
        let (session, stop, refused) = (
            page.session.clone(),
            page.stop.clone(),
            page.refused.clone(),
        );
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    () = stop.cancelled() => return,
                    () = cdp.closed.cancelled() => return,
                };
                let event = match event {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                };
                if event.method != "Fetch.requestPaused"
                    || event.session.as_deref() != Some(session.as_str())
                {
                    continue;
                }
                let id = event.params["requestId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let url = event.params["request"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let (cdp, guard, session, refused) =
                    (cdp.clone(), guard.clone(), session.clone(), refused.clone());
                tokio::spawn(async move {
                    let (method, params) = match guard.check_target(&url).await {
                        Ok(()) => ("Fetch.continueRequest", json!({"requestId": id})),
                        Err(e) => {
                            if let Ok(mut refused) = refused.lock() {
                                refused.push(format!("{url}: {e}"));
                            }
                            (
                                "Fetch.failRequest",
                                json!({"requestId": id, "errorReason": "BlockedByClient"}),
                            )
                        }
                    };
                    let _ = cdp
                        .call(method, params, Some(&session), COMMAND_TIMEOUT)
                        .await;
                });
            }
        });
    }
}

impl Browsers {
    /// Lays `html` out in a page of its own (in the session's context, through the guard) at
    /// `width` px, with the images of `images` (source as written, data URL) in place, and
    /// returns what `measure` (a script evaluated in the page when it has settled) returns.
    pub async fn render(
        self: &Arc<Self>,
        key: &SessionKey,
        html: &str,
        width: u32,
        images: &[(String, String)],
        measure: &str,
    ) -> Result<Value, String> {
        let context = self.context(key).await?;
        let mut context = context.lock().await;
        context.used = Instant::now();
        let index = self.open_page(&mut context, "okcvm:render").await?;
        let page = context.pages[index].clone();
        let cdp = context.cdp.clone();
        let result = async {
            cdp.call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
                Some(&page.session),
                COMMAND_TIMEOUT,
            )
            .await?;
            let tree = cdp.call("Page.getFrameTree", json!({}), Some(&page.session), COMMAND_TIMEOUT).await?;
            let frame = tree.pointer("/frameTree/frame/id").and_then(Value::as_str).ok_or("the page has no frame")?.to_owned();
            cdp.call("Page.setDocumentContent", json!({"frameId": frame, "html": html}), Some(&page.session), self.page_timeout())
                .await?;
            let map: serde_json::Map<String, Value> = images.iter().map(|(src, url)| (src.clone(), json!(url))).collect();
            let expression = format!(
                "(async () => {{ const map = {}; for (const img of document.images) {{ const url = map[img.getAttribute('src')]; if (url) img.src = url; }}                  await Promise.all([...document.images].map((img) => img.decode().catch(() => null)));                  if (document.fonts) await document.fonts.ready;                  await new Promise((resolve) => setTimeout(resolve, 400));                  return ({measure})(); }})()",
                Value::Object(map)
            );
            evaluate(&cdp, &page.session, &expression).await
        }
        .await;
        page.stop.cancel();
        let _ = cdp
            .call(
                "Target.closeTarget",
                json!({"targetId": page.target}),
                None,
                COMMAND_TIMEOUT,
            )
            .await;
        context.pages.remove(index);
        context.current = context.current.and_then(|c| match c.cmp(&index) {
            std::cmp::Ordering::Less => Some(c),
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(c - 1),
        });
        result
    }
}

/// Runs `expression` in the page (with the helpers loaded) and returns its value.
async fn evaluate(cdp: &Cdp, session: &str, expression: &str) -> Result<Value, String> {
    let answer = cdp
        .call(
            "Runtime.evaluate",
            json!({
                "expression": format!("{PAGE_JS}\n{expression}"),
                "returnByValue": true,
                "awaitPromise": true,
            }),
            Some(session),
            COMMAND_TIMEOUT,
        )
        .await?;
    if let Some(exception) = answer.get("exceptionDetails") {
        let text = exception
            .pointer("/exception/description")
            .and_then(Value::as_str)
            .or_else(|| exception.get("text").and_then(Value::as_str))
            .unwrap_or("the page's script failed");
        return Err(text.to_owned());
    }
    Ok(answer
        .pointer("/result/value")
        .cloned()
        .unwrap_or(Value::Null))
}

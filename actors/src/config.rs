//! The settings the actor core runs with.
//!
//! These are plain serde types with their defaults: the binary layers files, environment and
//! flags onto them (see the `okcvm` crate's `config` module); this crate never reads a file or
//! an environment variable itself. Every struct refuses unknown keys so a typo is an error that
//! names the key rather than a setting silently ignored.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything the core needs to run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Directory holding the redb file and the session workspaces. Created on first run.
    pub data_dir: PathBuf,
    /// The chat model. `None` until an operator configures one.
    pub chat: Option<EndpointSettings>,
    /// Media providers (used by later tools; kept here so the config shape is stable).
    pub media: MediaSettings,
    /// How the model client behaves on slow or failing providers.
    pub llm: LlmSettings,
    /// The agent loop.
    pub agent: AgentSettings,
    /// Session lifecycle.
    pub sessions: SessionSettings,
    /// The embedded database.
    pub storage: StorageSettings,
    /// The HTTP server.
    pub server: ServerSettings,
    /// Who may call the API.
    pub auth: AuthSettings,
    /// Files users upload into a session's workspace.
    pub uploads: UploadSettings,
    /// Websites deployed by the agent.
    pub deploy: DeploySettings,
    /// Workspaces and the processes that run in them.
    pub workspace: WorkspaceSettings,
    /// What the networked tools may fetch, and how much.
    pub web: WebSettings,
    /// The provider behind `web_search` and `image_search`; `None` until configured.
    pub search: Option<SearchSettings>,
    /// Where the data sources of `get_data_source` are fetched from.
    pub data_sources: DataSourceSettings,
    /// The headless Chromium of the browser tools.
    pub browser: BrowserSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("okcvm-data"),
            chat: None,
            media: MediaSettings::default(),
            llm: LlmSettings::default(),
            agent: AgentSettings::default(),
            sessions: SessionSettings::default(),
            storage: StorageSettings::default(),
            server: ServerSettings::default(),
            auth: AuthSettings::default(),
            uploads: UploadSettings::default(),
            deploy: DeploySettings::default(),
            workspace: WorkspaceSettings::default(),
            web: WebSettings::default(),
            search: None,
            data_sources: DataSourceSettings::default(),
            browser: BrowserSettings::default(),
        }
    }
}

/// One OpenAI-compatible endpoint: a model at a base URL with a key.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointSettings {
    /// Model name sent in each request, e.g. `kimi-k2-turbo-preview`.
    pub model: String,
    /// Base URL up to and including the version segment, e.g. `https://api.moonshot.ai/v1`.
    pub base_url: String,
    /// The key inline. Prefer `api_key_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Name of an environment variable holding the key, read when the config is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Whether to ask for a streamed response.
    #[serde(default = "default_true")]
    pub supports_streaming: bool,
}

impl std::fmt::Debug for EndpointSettings {
    // Hand-written so a key never reaches a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointSettings")
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key_present", &self.api_key.is_some())
            .field("api_key_env", &self.api_key_env)
            .field("supports_streaming", &self.supports_streaming)
            .finish()
    }
}

/// Media endpoints, each optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSettings {
    pub image: Option<EndpointSettings>,
    pub speech: Option<EndpointSettings>,
    pub sound_effects: Option<EndpointSettings>,
    pub asr: Option<EndpointSettings>,
    /// Speech made on this machine when no `speech` endpoint is configured.
    pub local_speech: LocalSpeech,
}

/// An offline speech engine.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LocalSpeech {
    /// No local engine: `generate_speech` needs `media.speech`.
    #[default]
    None,
    /// The `espeak-ng` command (Debian package `espeak-ng`), writing WAV.
    EspeakNg,
}

/// Outbound requests of the networked tools (search, data sources, media, pages).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    /// Addresses the tools may reach although they are loopback, private, link-local or
    /// otherwise internal: IP addresses or CIDR blocks, e.g. `127.0.0.1` or `10.1.0.0/16`.
    /// Everything internal is refused otherwise (checked after DNS and on every redirect).
    pub allow: Vec<String>,
    /// The largest response a tool reads, MiB.
    pub max_download_mb: u64,
    /// The longest one request may take, seconds.
    pub timeout_s: f64,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            max_download_mb: 20,
            timeout_s: 30.0,
        }
    }
}

/// Which search API answers `web_search` and `image_search`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SearchProvider {
    /// A SearXNG instance's JSON API (`format=json` enabled in its settings).
    Searxng,
    /// The Brave Search API.
    Brave,
    /// The Tavily search API.
    Tavily,
}

/// The search provider and how to reach it.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    pub provider: SearchProvider,
    /// The API's base URL: required for SearXNG (the instance); for Brave and Tavily their
    /// public API unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The key inline (Brave and Tavily). Prefer `api_key_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Name of an environment variable holding the key, read when the config is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

impl std::fmt::Debug for SearchSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchSettings")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("api_key_env", &self.api_key_env)
            .finish()
    }
}

impl SearchSettings {
    /// The base URL in use, without a trailing slash.
    pub fn url(&self) -> Option<String> {
        let default = match self.provider {
            SearchProvider::Searxng => None,
            SearchProvider::Brave => Some("https://api.search.brave.com/res/v1"),
            SearchProvider::Tavily => Some("https://api.tavily.com"),
        };
        self.base_url
            .as_deref()
            .or(default)
            .map(|u| u.trim_end_matches('/').to_owned())
    }
}

/// The browser tools' Chromium.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserSettings {
    /// The Chromium (or Chrome) program; unset looks for `chromium`, `chromium-browser`,
    /// `google-chrome` and `google-chrome-stable` on the PATH.
    pub path: Option<String>,
    /// Extra command-line flags for it.
    pub flags: Vec<String>,
    /// Longest a page may take to load, seconds.
    pub page_timeout_s: f64,
    /// A session's browser context is closed after this long unused, seconds.
    pub idle_close_s: f64,
    /// Characters of a page's text returned to the model before it is cut.
    pub max_text_chars: usize,
}

impl Default for BrowserSettings {
    fn default() -> Self {
        Self {
            path: None,
            flags: Vec::new(),
            page_timeout_s: 30.0,
            idle_close_s: 600.0,
            max_text_chars: 20_000,
        }
    }
}

/// Base URLs of the data sources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DataSourceSettings {
    /// Yahoo Finance's API (quotes, charts, symbol search).
    pub yahoo_finance_url: String,
}

impl Default for DataSourceSettings {
    fn default() -> Self {
        Self {
            yahoo_finance_url: "https://query1.finance.yahoo.com".into(),
        }
    }
}

/// Timeouts and retries of the model client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    /// TCP + TLS connect timeout, seconds.
    pub connect_timeout_s: f64,
    /// Time allowed from sending the request to the first byte of the response, seconds.
    pub first_byte_timeout_s: f64,
    /// Longest silence allowed between two chunks of a streamed response, seconds.
    pub idle_timeout_s: f64,
    /// Retries after the first attempt on 429, 5xx and dropped connections.
    pub max_retries: u32,
    /// First backoff delay, seconds; doubled each retry up to `max_backoff_s`.
    pub initial_backoff_s: f64,
    /// Ceiling of the backoff delay and of an honoured `Retry-After`, seconds.
    pub max_backoff_s: f64,
    /// Sampling temperature sent with each request; `None` leaves the provider's default.
    pub temperature: Option<f64>,
    /// Model calls running at once across all sessions; more wait their turn.
    pub max_concurrent_calls: usize,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            connect_timeout_s: 10.0,
            first_byte_timeout_s: 120.0,
            idle_timeout_s: 90.0,
            max_retries: 3,
            initial_backoff_s: 1.0,
            max_backoff_s: 30.0,
            temperature: None,
            max_concurrent_calls: 256,
        }
    }
}

impl LlmSettings {
    pub fn connect_timeout(&self) -> Duration {
        secs(self.connect_timeout_s)
    }
    pub fn first_byte_timeout(&self) -> Duration {
        secs(self.first_byte_timeout_s)
    }
    pub fn idle_timeout(&self) -> Duration {
        secs(self.idle_timeout_s)
    }
    pub fn initial_backoff(&self) -> Duration {
        secs(self.initial_backoff_s)
    }
    pub fn max_backoff(&self) -> Duration {
        secs(self.max_backoff_s)
    }
}

/// The agent loop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSettings {
    /// Model calls allowed in one turn before it is ended with a message saying so.
    pub max_steps: u32,
    /// Tool calls running at once across all sessions; more wait their turn.
    pub max_concurrent_tool_calls: usize,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            max_steps: 50,
            max_concurrent_tool_calls: 64,
        }
    }
}

/// Session lifecycle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// A session with no turn and no subscriber for this long is hibernated (its actor stops;
    /// its state stays in the store), seconds.
    pub idle_hibernate_s: f64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_hibernate_s: 600.0,
        }
    }
}

/// The embedded database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Memory the database may use to cache pages, MiB. Shared by all sessions.
    pub cache_mb: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self { cache_mb: 64 }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// The URL users reach this server at, used in links it hands out (deployed sites).
    /// `None` means `http://<host>:<port>`.
    pub public_url: Option<String>,
    /// Browser origins allowed to call the API from another site (CORS). Empty: same origin only.
    pub cors_origins: Vec<String>,
    /// Host names (besides `localhost`, IP addresses and the host of `public_url`) the server
    /// answers to: a name, `.example.com` for a domain and its subdomains, or `*` for any.
    /// Requests naming another host are refused, so DNS rebinding cannot reach the API.
    pub allowed_hosts: Vec<String>,
    /// Allow `auth.mode: none` on an address other than loopback. Anyone who can reach the
    /// port then has full access.
    pub allow_unauthenticated_remote: bool,
    /// Largest JSON request body, KiB (conversation payloads have their own limit).
    pub max_json_body_kb: u64,
    /// Largest conversation payload stored through `/api/conversations`, KiB.
    pub max_conversation_kb: u64,
    /// Seconds between keep-alive comments on an idle event stream.
    pub sse_keepalive_s: f64,
    /// Longest wait for a request's headers, from the connection's start or the request's
    /// first byte, in seconds; a client slower than that is disconnected.
    pub header_timeout_secs: u64,
    /// Longest a connection may stay open with no request in flight, in seconds.
    pub idle_timeout_secs: u64,
    /// Most connections open at once (lowered to what the open-files limit allows). Beyond it
    /// the longest-idle connection is closed to make room, or, when every connection is busy,
    /// the new one is answered 503 `server_busy`.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            public_url: None,
            cors_origins: Vec::new(),
            allow_unauthenticated_remote: false,
            max_json_body_kb: 256,
            max_conversation_kb: 4096,
            sse_keepalive_s: 15.0,
            allowed_hosts: Vec::new(),
            header_timeout_secs: 30,
            idle_timeout_secs: 75,
            max_connections: 1024,
        }
    }
}

impl ServerSettings {
    pub fn sse_keepalive(&self) -> Duration {
        secs(self.sse_keepalive_s)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// The base URL for links: `public_url` without a trailing slash, else from host and port.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}:{}", self.host, self.port),
        }
    }
}

/// Who may call the API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// With `tokens`: the tenants whose tokens may change the server-wide model and media
    /// endpoints through `POST /api/config` (they apply to every tenant). Empty: nobody; the
    /// operator configures them in the file or the environment.
    pub admin_tenants: Vec<String>,
    /// Sign-in attempts (`POST /api/auth/login`) a client address may make per minute; beyond
    /// it the answer is 429 `too_many_requests`.
    pub login_attempts_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::default(),
            admin_tenants: Vec::new(),
            login_attempts_per_minute: 10,
        }
    }
}

/// How callers are identified.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication: every caller is tenant `local`. For loopback use.
    #[default]
    None,
    /// Every call needs `Authorization: Bearer <token>`; the token names the tenant.
    Tokens,
}

/// Websites deployed by the agent (`deploy_website`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DeploySettings {
    /// Largest site, MiB (all its files together).
    pub max_site_mb: u64,
    /// Most files in one site.
    pub max_site_files: usize,
}

impl Default for DeploySettings {
    fn default() -> Self {
        Self {
            max_site_mb: 100,
            max_site_files: 10_000,
        }
    }
}

/// Limits on uploaded files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// Files a session may hold in its `upload/` folder.
    pub max_files: usize,
    /// Largest single file, MiB.
    pub max_file_mb: u64,
    /// Total size of a session's uploads, MiB.
    pub session_quota_mb: u64,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            max_files: 100,
            max_file_mb: 100,
            session_quota_mb: 1024,
        }
    }
}

impl UploadSettings {
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_mb.saturating_mul(1 << 20)
    }
    pub fn session_quota_bytes(&self) -> u64 {
        self.session_quota_mb.saturating_mul(1 << 20)
    }
}

impl SessionSettings {
    pub fn idle_hibernate(&self) -> Duration {
        secs(self.idle_hibernate_s)
    }
}

/// Workspaces and the processes run in them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceSettings {
    /// Where session workspaces live; `None` means `<data_dir>/workspaces`.
    pub root: Option<PathBuf>,
    /// Largest shell timeout the model may ask for, milliseconds.
    pub max_shell_timeout_ms: u64,
    /// Characters of command output returned to the model before it is cut.
    pub max_output_chars: usize,
    /// Environment variables passed through to commands (everything else is dropped, so no
    /// server secret reaches them).
    pub env_passthrough: Vec<String>,
    /// Where agent code runs: `bwrap` (the jail: user, pid, network and mount namespaces,
    /// seccomp, a minimal read-only root) or `none` (on the host, for a trusted laptop only).
    pub sandbox: SandboxChoice,
    /// The jail's network: `proxy` (loopback only, outbound HTTP(S) through the server's
    /// guarded proxy) or `off` (loopback only, nothing else).
    pub network: NetworkChoice,
    /// Runs agent code without the jail even with `auth.mode: tokens` (refused otherwise).
    pub allow_unsandboxed: bool,
    /// The Python the `ipython` tool runs, as seen inside the jail (so under `/usr`).
    pub python: PathBuf,
    /// Largest size of one workspace (all its files), MiB; over it, commands and writes are
    /// refused until files are removed.
    pub quota_mb: u64,
    /// Size of the jail's private `/tmp`, MiB.
    pub tmp_mb: u64,
    /// Resource limits of every command and everything it starts.
    pub limits: ProcessLimits,
    /// Largest workspace a snapshot is taken of (all files together), MiB.
    pub snapshot_limit_mb: u64,
    /// Time a Python cell may run before it is interrupted (the interpreter keeps its
    /// state), seconds.
    pub python_timeout_s: f64,
}

/// `workspace.sandbox`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SandboxChoice {
    /// The jail (bubblewrap); sandboxed work is refused where it cannot be built.
    #[default]
    Bwrap,
    /// The host: no isolation beyond the environment, the process group and the limits.
    None,
}

/// `workspace.network`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NetworkChoice {
    /// Outbound HTTP(S) through the server's proxy, under the network guard.
    #[default]
    Proxy,
    /// No network but the jail's own loopback.
    Off,
}

/// Resource limits applied to commands (`ulimit`, hard and soft).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessLimits {
    /// CPU time, seconds.
    pub cpu_seconds: u64,
    /// Address space, MiB.
    pub memory_mb: u64,
    /// Largest file a command may write, MiB.
    pub file_size_mb: u64,
    /// Processes of one command and all it starts (a pids cgroup where writable, else
    /// `ulimit -u`, which the kernel does not apply to root).
    pub processes: u64,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        Self {
            cpu_seconds: 600,
            memory_mb: 4096,
            file_size_mb: 1024,
            processes: 512,
        }
    }
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        Self {
            root: None,
            max_shell_timeout_ms: 600_000,
            max_output_chars: 10_000,
            env_passthrough: vec![
                "PATH".into(),
                "LANG".into(),
                "LC_ALL".into(),
                "TZ".into(),
                "TERM".into(),
            ],
            sandbox: SandboxChoice::Bwrap,
            network: NetworkChoice::Proxy,
            allow_unsandboxed: false,
            python: PathBuf::from("/usr/bin/python3"),
            quota_mb: 2048,
            tmp_mb: 256,
            limits: ProcessLimits::default(),
            snapshot_limit_mb: 1024,
            python_timeout_s: 120.0,
        }
    }
}

impl WorkspaceSettings {
    pub fn python_timeout(&self) -> Duration {
        secs(self.python_timeout_s)
    }

    pub fn quota_bytes(&self) -> u64 {
        self.quota_mb.saturating_mul(1 << 20)
    }
}

impl Settings {
    /// Where workspace snapshots are stored (out of every workspace's reach).
    pub fn snapshots_dir(&self) -> PathBuf {
        self.data_dir.join("snapshots")
    }

    /// The directory holding session workspaces.
    pub fn workspace_root(&self) -> PathBuf {
        self.workspace
            .root
            .clone()
            .unwrap_or_else(|| self.data_dir.join("workspaces"))
    }

    /// The server's private run-time files (the network proxy's socket, the jail's generated
    /// `/etc` files), out of every workspace's reach.
    pub fn run_dir(&self) -> PathBuf {
        self.data_dir.join("run")
    }

    /// Where deployed sites live, one folder per site id.
    pub fn sites_dir(&self) -> PathBuf {
        self.data_dir.join("sites")
    }

    /// The redb file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("okcvm.redb")
    }
}

fn default_true() -> bool {
    true
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

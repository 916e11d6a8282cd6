//! Checks that run after extraction: values that have the right type but cannot work.

use okcvm_actors::config::{EndpointSettings, Settings};

/// Smallest `workspace.max_output_chars` that leaves the model something to read.
const MIN_OUTPUT_CHARS: usize = 100;

/// Every problem with `settings`, each starting with its key; empty when it can be used.
pub(crate) fn problems(settings: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    let mut problem = |key: &str, message: String| out.push(format!("{key}: {message}"));

    if settings.data_dir.as_os_str().is_empty() {
        problem("data_dir", "must not be empty".into());
    }

    for (key, endpoint) in endpoints(settings) {
        if let Some(endpoint) = endpoint {
            for (field, message) in endpoint_problems(endpoint) {
                problem(&format!("{key}.{field}"), message);
            }
        }
    }

    let llm = &settings.llm;
    for (key, value) in [
        ("llm.connect_timeout_s", llm.connect_timeout_s),
        ("llm.first_byte_timeout_s", llm.first_byte_timeout_s),
        ("llm.idle_timeout_s", llm.idle_timeout_s),
        ("llm.initial_backoff_s", llm.initial_backoff_s),
        ("llm.max_backoff_s", llm.max_backoff_s),
        (
            "sessions.idle_hibernate_s",
            settings.sessions.idle_hibernate_s,
        ),
        ("server.sse_keepalive_s", settings.server.sse_keepalive_s),
        (
            "workspace.python_timeout_s",
            settings.workspace.python_timeout_s,
        ),
    ] {
        if !(value.is_finite() && value > 0.0) {
            problem(
                key,
                format!("must be a number of seconds above 0, got {value}"),
            );
        }
    }
    for (key, value) in [
        ("storage.cache_mb", settings.storage.cache_mb),
        ("server.max_json_body_kb", settings.server.max_json_body_kb),
        (
            "server.max_conversation_kb",
            settings.server.max_conversation_kb,
        ),
        ("uploads.max_files", settings.uploads.max_files as u64),
        ("workspace.quota_mb", settings.workspace.quota_mb),
        ("workspace.tmp_mb", settings.workspace.tmp_mb),
        ("uploads.max_file_mb", settings.uploads.max_file_mb),
        (
            "uploads.session_quota_mb",
            settings.uploads.session_quota_mb,
        ),
    ] {
        if value == 0 {
            problem(key, "must be at least 1".into());
        }
    }
    if settings.server.host.trim().is_empty() {
        problem("server.host", "must not be empty".into());
    }
    if let Some(url) = &settings.server.public_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problem(
                "server.public_url",
                format!("must start with http:// or https://, got {url:?}"),
            );
        }
    }
    for origin in &settings.server.cors_origins {
        if origin == "*" || !(origin.starts_with("http://") || origin.starts_with("https://")) {
            problem(
                "server.cors_origins",
                format!(
                    "each origin must be a full http(s) origin, not a wildcard; got {origin:?}"
                ),
            );
        }
    }
    for host in &settings.server.allowed_hosts {
        let name = host.strip_prefix('.').unwrap_or(host);
        let valid = host == "*"
            || (!name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')));
        if !valid {
            problem(
                "server.allowed_hosts",
                format!(
                    "each entry must be a host name (no scheme or port), `.example.com` for a \
                     domain and its subdomains, or `*`; got {host:?}"
                ),
            );
        }
    }
    let server = &settings.server;
    for (key, value, range) in [
        (
            "server.header_timeout_secs",
            server.header_timeout_secs,
            1..=300,
        ),
        (
            "server.idle_timeout_secs",
            server.idle_timeout_secs,
            1..=3600,
        ),
        (
            "server.max_connections",
            server.max_connections as u64,
            1..=1_000_000,
        ),
        (
            "auth.login_attempts_per_minute",
            u64::from(settings.auth.login_attempts_per_minute),
            1..=10_000,
        ),
    ] {
        if !range.contains(&value) {
            problem(
                key,
                format!(
                    "must be between {} and {}, got {value}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }
    if llm.max_backoff_s < llm.initial_backoff_s {
        problem(
            "llm.max_backoff_s",
            format!(
                "must be at least llm.initial_backoff_s ({}), got {}",
                llm.initial_backoff_s, llm.max_backoff_s
            ),
        );
    }
    if let Some(t) = llm.temperature {
        if !(0.0..=2.0).contains(&t) {
            problem(
                "llm.temperature",
                format!("must be between 0 and 2, got {t}"),
            );
        }
    }

    if settings.agent.max_steps < 1 {
        problem("agent.max_steps", "must be at least 1, got 0".into());
    }
    for (name, value) in [
        (
            "llm.max_concurrent_calls",
            settings.llm.max_concurrent_calls,
        ),
        (
            "agent.max_concurrent_tool_calls",
            settings.agent.max_concurrent_tool_calls,
        ),
    ] {
        if value < 1 {
            problem(name, "must be at least 1, got 0".into());
        }
    }

    let workspace = &settings.workspace;
    if workspace
        .root
        .as_ref()
        .is_some_and(|r| r.as_os_str().is_empty())
    {
        problem(
            "workspace.root",
            "must not be empty (leave it unset for <data_dir>/workspaces)".into(),
        );
    }
    if workspace.max_shell_timeout_ms == 0 {
        problem("workspace.max_shell_timeout_ms", "must be above 0".into());
    }
    if workspace.max_output_chars < MIN_OUTPUT_CHARS {
        problem(
            "workspace.max_output_chars",
            format!(
                "must be at least {MIN_OUTPUT_CHARS}, got {}",
                workspace.max_output_chars
            ),
        );
    }
    for name in &workspace.env_passthrough {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            problem(
                "workspace.env_passthrough",
                format!("{name:?} is not an environment variable name"),
            );
        }
    }

    let web = &settings.web;
    if !(web.timeout_s.is_finite() && web.timeout_s > 0.0) {
        problem(
            "web.timeout_s",
            format!("must be a number of seconds above 0, got {}", web.timeout_s),
        );
    }
    if web.max_download_mb == 0 {
        problem("web.max_download_mb", "must be at least 1".into());
    }
    for entry in &web.allow {
        if let Err(e) = okcvm_actors::net::AllowRule::parse(entry) {
            problem("web.allow", e);
        }
    }
    if let Some(search) = &settings.search {
        match search.url() {
            None => problem(
                "search.base_url",
                "is required for SearXNG: the instance's address, e.g. http://127.0.0.1:8888"
                    .into(),
            ),
            Some(url) if !is_http_url(&url) => problem(
                "search.base_url",
                format!("must be an http(s) URL, got {url:?}"),
            ),
            Some(_) => {}
        }
    }
    let browser = &settings.browser;
    for (key, value) in [
        ("browser.page_timeout_s", browser.page_timeout_s),
        ("browser.idle_close_s", browser.idle_close_s),
    ] {
        if !(value.is_finite() && value > 0.0) {
            problem(
                key,
                format!("must be a number of seconds above 0, got {value}"),
            );
        }
    }
    if browser.max_text_chars < MIN_OUTPUT_CHARS {
        problem(
            "browser.max_text_chars",
            format!(
                "must be at least {MIN_OUTPUT_CHARS}, got {}",
                browser.max_text_chars
            ),
        );
    }
    if !is_http_url(&settings.data_sources.yahoo_finance_url) {
        problem(
            "data_sources.yahoo_finance_url",
            format!(
                "must be an http(s) URL, got {:?}",
                settings.data_sources.yahoo_finance_url
            ),
        );
    }

    out
}

/// Every endpoint slot with its dotted key.
pub(crate) fn endpoints(settings: &Settings) -> [(&'static str, Option<&EndpointSettings>); 5] {
    let media = &settings.media;
    [
        ("chat", settings.chat.as_ref()),
        ("media.image", media.image.as_ref()),
        ("media.speech", media.speech.as_ref()),
        ("media.sound_effects", media.sound_effects.as_ref()),
        ("media.asr", media.asr.as_ref()),
    ]
}

/// The same slots, mutably.
pub(crate) fn endpoints_mut(
    settings: &mut Settings,
) -> [(&'static str, Option<&mut EndpointSettings>); 5] {
    let media = &mut settings.media;
    [
        ("chat", settings.chat.as_mut()),
        ("media.image", media.image.as_mut()),
        ("media.speech", media.speech.as_mut()),
        ("media.sound_effects", media.sound_effects.as_mut()),
        ("media.asr", media.asr.as_mut()),
    ]
}

fn endpoint_problems(endpoint: &EndpointSettings) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if endpoint.model.trim().is_empty() {
        out.push(("model", "must not be empty".to_string()));
    }
    if !is_http_url(&endpoint.base_url) {
        out.push((
            "base_url",
            format!(
                "must be an http:// or https:// URL such as https://api.moonshot.ai/v1, got {:?}",
                endpoint.base_url
            ),
        ));
    }
    if endpoint.api_key_env.as_ref().is_some_and(|v| v.is_empty()) {
        out.push(("api_key_env", "must not be empty".to_string()));
    }
    out
}

/// `http(s)://host[:port][/path]` with a non-empty host, a numeric port and no whitespace.
fn is_http_url(url: &str) -> bool {
    if url.chars().any(char::is_whitespace) {
        return false;
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8000`.
        Some(v6) => match v6.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    !host.is_empty() && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_http_url;

    #[test]
    fn http_urls_need_a_scheme_and_a_host() {
        for ok in [
            "https://api.moonshot.ai/v1",
            "http://127.0.0.1:11434/v1",
            "http://localhost:8000",
            "http://[::1]:8000/v1",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "api.moonshot.ai/v1",
            "ftp://x/v1",
            "https://",
            "https:///v1",
            "http://:80/v1",
            "https://a b/v1",
            "http://host:port/v1",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}

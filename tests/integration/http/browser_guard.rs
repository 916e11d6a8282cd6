//! Pages elsewhere cannot turn a browser against the server or its users: cross-origin and
//! same-site POSTs, HTML forms, `text/plain` bodies, cookie-signed requests that do not show
//! they come from the console, and rebound host names are refused, with authentication off
//! and with tokens; the console's own requests and scripts with tokens keep working; sign-in
//! attempts are limited per client address.

use std::sync::Arc;

use okcvm::auth::TokenStore;
use okcvm_actors::config::{AuthMode, Settings};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

const EVIL: &str = "https://evil.example";

struct Server {
    server: TestServer,
    /// A token of tenant `ops`, an admin tenant, when tokens are on.
    token: Option<String>,
    _model: FakeModel,
    _dir: tempfile::TempDir,
}

async fn start(tokens: bool, configure: impl FnOnce(&mut Settings)) -> Server {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    configure(&mut settings);
    let (server, token) = if tokens {
        settings.auth.mode = AuthMode::Tokens;
        settings.auth.admin_tenants = vec!["ops".into()];
        let store = Arc::new(TokenStore::open(dir.path()).unwrap());
        let (_, token) = store.create("ops", None).unwrap();
        let server = TestServer::start_with_auth(settings, Some(store)).await;
        (server, Some(token))
    } else {
        (TestServer::start(settings).await, None)
    };
    Server {
        server,
        token,
        _model: model,
        _dir: dir,
    }
}

impl Server {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.server.client.request(method, self.server.at(path))
    }

    /// An origin on the same host as the server, another port: same site, not same origin.
    fn other_port_origin(&self) -> String {
        let port: u16 = self.server.url.rsplit(':').next().unwrap().parse().unwrap();
        format!("http://127.0.0.1:{}", port.wrapping_add(1))
    }

    fn cookie(&self) -> String {
        format!("okc_token={}", self.token.as_deref().unwrap())
    }

    async fn conversation_ids(&self) -> Vec<String> {
        let mut request = self.request(Method::GET, "/api/conversations");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let (status, body) = status_json(request.send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    }
}

async fn send(request: RequestBuilder) -> (u16, Option<String>) {
    let (status, body) = status_json(request.send().await.unwrap()).await;
    (status, body["code"].as_str().map(str::to_string))
}

fn refused(code: &str) -> (u16, Option<String>) {
    let status = match code {
        "origin_refused" => 403,
        "unsupported_media_type" => 415,
        "host_not_allowed" => 421,
        _ => unreachable!(),
    };
    (status, Some(code.to_string()))
}

fn conversation(id: &str) -> Value {
    json!({"id": id, "title": id})
}

#[tokio::test]
async fn with_auth_off_posts_from_other_origins_and_other_ports_are_refused() {
    let s = start(false, |_| {}).await;
    for origin in [EVIL.to_string(), s.other_port_origin(), "null".into()] {
        let attempt = s
            .request(Method::POST, "/api/conversations")
            .header("origin", &origin)
            .json(&conversation("from-elsewhere"));
        assert_eq!(send(attempt).await, refused("origin_refused"), "{origin}");
        let stop = s
            .request(Method::POST, "/api/session/stop")
            .header("origin", &origin);
        assert_eq!(send(stop).await, refused("origin_refused"), "{origin}");
        let delete = s
            .request(Method::DELETE, "/api/session/history")
            .header("origin", &origin);
        assert_eq!(send(delete).await, refused("origin_refused"), "{origin}");
    }
    // A browser's no-cors fetch from another site says so even where it sends no Origin.
    let no_cors = s
        .request(Method::POST, "/api/conversations")
        .header("sec-fetch-site", "cross-site")
        .json(&conversation("from-elsewhere"));
    assert_eq!(send(no_cors).await, refused("origin_refused"));
    assert!(s.conversation_ids().await.is_empty());

    // The console's own page, and scripts (no Origin), still work.
    let own = s
        .request(Method::POST, "/api/conversations")
        .header("origin", &s.server.url)
        .header("sec-fetch-site", "same-origin")
        .json(&conversation("from-console"));
    assert_eq!(send(own).await.0, 200);
    let localhost = s.server.url.replace("127.0.0.1", "localhost");
    let by_name = s
        .request(Method::POST, "/api/conversations")
        .header("origin", &localhost)
        .json(&conversation("from-localhost"));
    assert_eq!(send(by_name).await.0, 200);
    let script = s
        .request(Method::POST, "/api/conversations")
        .json(&conversation("from-script"));
    assert_eq!(send(script).await.0, 200);
    let mut ids = s.conversation_ids().await;
    ids.sort();
    assert_eq!(ids, ["from-console", "from-localhost", "from-script"]);
    s.server.shutdown().await;
}

#[tokio::test]
async fn form_and_text_plain_bodies_are_never_read_as_json() {
    let s = start(false, |_| {}).await;
    let body = conversation("smuggled").to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        // Even from the server's own origin: the type alone decides.
        let mut attempt = s
            .request(Method::POST, "/api/conversations")
            .header("origin", &s.server.url)
            .body(body.clone());
        if let Some(content_type) = content_type {
            attempt = attempt.header("content-type", content_type);
        }
        assert_eq!(
            send(attempt).await,
            refused("unsupported_media_type"),
            "{content_type:?}"
        );
    }
    // What an HTML form posts.
    let form = s
        .request(Method::POST, "/api/chat")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("message=run+this");
    assert_eq!(send(form).await, refused("unsupported_media_type"));
    let config = s
        .request(Method::POST, "/api/config")
        .header("content-type", "text/plain")
        .body(json!({"chat": {"model": "x", "base_url": "http://evil.example/v1"}}).to_string());
    assert_eq!(send(config).await, refused("unsupported_media_type"));
    assert!(s.conversation_ids().await.is_empty());

    // Parameters are fine; routes without a body need no type at all.
    let charset = s
        .request(Method::POST, "/api/conversations")
        .header("content-type", "application/json; charset=utf-8")
        .body(body);
    assert_eq!(send(charset).await.0, 200);
    for path in ["/api/session/stop", "/api/auth/logout"] {
        assert_eq!(send(s.request(Method::POST, path)).await.0, 200, "{path}");
    }
    s.server.shutdown().await;
}

#[tokio::test]
async fn a_host_name_that_is_not_the_servers_is_refused_so_dns_rebinding_fails() {
    let s = start(false, |settings| {
        settings.server.allowed_hosts = vec!["okcvm.lan".into(), ".corp.example".into()];
    })
    .await;
    let port = s.server.url.rsplit(':').next().unwrap().to_string();
    for host in [
        "rebound.evil.example",
        "okcvm.lan.evil.example",
        "corp.example.evil",
    ] {
        let with_port = format!("{host}:{port}");
        let read = s
            .request(Method::GET, "/api/conversations")
            .header("host", &with_port);
        assert_eq!(send(read).await, refused("host_not_allowed"), "{host}");
        // A rebound page is same-origin with itself: its Origin names the same host.
        let write = s
            .request(Method::POST, "/api/conversations")
            .header("host", &with_port)
            .header("origin", format!("http://{with_port}"))
            .json(&conversation("rebound"));
        assert_eq!(send(write).await, refused("host_not_allowed"), "{host}");
    }
    assert!(s.conversation_ids().await.is_empty());
    for host in [
        "localhost",
        "LocalHost",
        "console.localhost",
        "127.0.0.1",
        "[::1]",
        "okcvm.lan",
        "corp.example",
        "a.corp.example",
    ] {
        let read = s
            .request(Method::GET, "/api/health")
            .header("host", format!("{host}:{port}"));
        assert_eq!(send(read).await.0, 200, "{host}");
    }
    // A page served under an allowed name is the server's own origin there.
    let own = s
        .request(Method::POST, "/api/conversations")
        .header("host", format!("okcvm.lan:{port}"))
        .header("origin", format!("http://okcvm.lan:{port}"))
        .json(&conversation("lan"));
    assert_eq!(send(own).await.0, 200);
    s.server.shutdown().await;
}

#[tokio::test]
async fn cookie_signed_requests_must_show_they_come_from_the_console() {
    let s = start(true, |_| {}).await;
    let token = s.token.clone().unwrap();
    let change = json!({"chat": {"model": "hijacked", "base_url": "http://evil.example/v1"}});
    // The console signs in from its own page.
    let login = s
        .request(Method::POST, "/api/auth/login")
        .header("origin", &s.server.url)
        .json(&json!({"token": token}));
    let response = login.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with(&s.cookie()), "{cookie}");

    let other_port = s.other_port_origin();
    for (origin, fetch_site) in [
        (None, None),
        (None, Some("same-site")),
        (Some(other_port.as_str()), Some("same-site")),
        (Some(EVIL), Some("cross-site")),
    ] {
        let mut create = s
            .request(Method::POST, "/api/conversations")
            .header("cookie", s.cookie())
            .json(&conversation("forged"));
        let mut config = s
            .request(Method::POST, "/api/config")
            .header("cookie", s.cookie())
            .json(&change);
        if let Some(origin) = origin {
            create = create.header("origin", origin);
            config = config.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            create = create.header("sec-fetch-site", site);
            config = config.header("sec-fetch-site", site);
        }
        assert_eq!(
            send(create).await,
            refused("origin_refused"),
            "{origin:?} {fetch_site:?}"
        );
        assert_eq!(
            send(config).await,
            refused("origin_refused"),
            "{origin:?} {fetch_site:?}"
        );
    }
    assert!(s.conversation_ids().await.is_empty());
    let (_, config) = status_json(
        s.request(Method::GET, "/api/config")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(config["chat"]["model"], "hijacked", "{config}");

    // The console's page: Origin, or Sec-Fetch-Site: same-origin.
    let with_origin = s
        .request(Method::POST, "/api/conversations")
        .header("cookie", s.cookie())
        .header("origin", &s.server.url)
        .json(&conversation("console-a"));
    assert_eq!(send(with_origin).await.0, 200);
    let same_origin = s
        .request(Method::POST, "/api/conversations")
        .header("cookie", s.cookie())
        .header("sec-fetch-site", "same-origin")
        .json(&conversation("console-b"));
    assert_eq!(send(same_origin).await.0, 200);
    // A script with its token sends no Origin.
    let script = s
        .request(Method::POST, "/api/conversations")
        .bearer_auth(&token)
        .json(&conversation("script"));
    assert_eq!(send(script).await.0, 200);
    // But a bearer request from a page elsewhere is still refused.
    let foreign_bearer = s
        .request(Method::POST, "/api/conversations")
        .bearer_auth(&token)
        .header("origin", EVIL)
        .json(&conversation("foreign"));
    assert_eq!(send(foreign_bearer).await, refused("origin_refused"));
    let mut ids = s.conversation_ids().await;
    ids.sort();
    assert_eq!(ids, ["console-a", "console-b", "script"]);
    s.server.shutdown().await;
}

#[tokio::test]
async fn sign_in_attempts_beyond_the_limit_get_429_with_retry_after() {
    let s = start(true, |settings| settings.auth.login_attempts_per_minute = 3).await;
    let attempt = |token: &str| {
        s.request(Method::POST, "/api/auth/login")
            .json(&json!({"token": token}))
    };
    for _ in 0..3 {
        let (status, body) = status_json(attempt("okcvm_guess").send().await.unwrap()).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    }
    // Past the limit even the right token waits.
    let response = attempt(s.token.as_deref().unwrap()).send().await.unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_requests"))
    );
    // Other routes are not limited.
    let me = s
        .request(Method::GET, "/api/auth/me")
        .bearer_auth(s.token.as_deref().unwrap());
    assert_eq!(send(me).await.0, 200);
    s.server.shutdown().await;
}

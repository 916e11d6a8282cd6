//! Health, the console's files, the headers every response carries, cross-origin requests, and
//! what the server refuses to serve without the jail.

use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

use super::server;

#[tokio::test]
async fn health_reports_status_version_and_live_sessions() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let (status, body) = server.get("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["chat_model"], "fake-model");
    assert!(body["uptime_s"].is_u64());
    server.get("/api/session/boot?client_id=h1").await;
    assert_eq!(server.get("/api/health").await.1["sessions_live"], 1);
    server.shutdown().await;
}

#[tokio::test]
async fn the_console_and_every_response_carry_their_headers() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = no_redirect.get(server.at("/")).send().await.unwrap();
    assert_eq!(root.status(), 307);
    assert_eq!(root.headers()["location"], "/ui/");
    let console = server.client.get(server.at("/ui/")).send().await.unwrap();
    assert_eq!(console.status(), 200);
    assert_eq!(console.headers()["x-frame-options"], "DENY");
    assert_eq!(console.headers()["x-content-type-options"], "nosniff");
    assert!(console.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(console.headers()["x-request-id"].len(), 32);
    let openapi = server
        .client
        .get(server.at("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.headers()["content-type"], "application/json");
    // Same origin only by default: no CORS header for a foreign origin.
    let foreign = server
        .client
        .get(server.at("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn configured_origins_get_cors_and_others_are_refused() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.server.cors_origins = vec!["https://console.example".into()];
    let server = TestServer::start(settings).await;
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.at("/api/chat"))
        .header("origin", "https://console.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://console.example"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
    let allowed = server
        .client
        .get(server.at("/api/health"))
        .header("origin", "https://console.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://console.example"
    );
    // The server's own origin (the console's) stays allowed.
    let own = server
        .client
        .post(server.at("/api/session/stop"))
        .header("origin", server.url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let refused = server
        .client
        .get(server.at("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(refused).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("cors_forbidden"))
    );
    server.shutdown().await;
}

/// The health check once the jail is built: until then it answers at once, saying
/// `preparing` and warning of nothing.
async fn settled_health(server: &TestServer) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, health) = server.get("/api/health").await;
        assert_eq!(status, 200, "{health}");
        if health["sandbox"] != "preparing" {
            return health;
        }
        assert_eq!(health["warnings"], serde_json::json!([]), "{health}");
        assert!(
            std::time::Instant::now() < deadline,
            "the jail was never built"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn health_says_what_the_jail_isolates_and_warns_when_agent_code_runs_on_the_host() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let health = settled_health(&server).await;
    assert_eq!(health["sandbox"], "bubblewrap", "{health}");
    assert_eq!(health["isolation"]["network"], "proxy", "{health}");
    assert_eq!(health["isolation"]["isolated"].as_array().unwrap().len(), 3);
    assert_eq!(health["warnings"], health["isolation"]["not_isolated"]);
    server.shutdown().await;

    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.workspace.sandbox = okcvm_actors::config::SandboxChoice::None;
    let server = TestServer::start(settings).await;
    let health = settled_health(&server).await;
    assert_eq!(health["sandbox"], "none");
    assert_eq!(health["isolation"]["network"], "host");
    let warnings = health["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().contains("runs on the host"),
        "{health}"
    );
    assert_eq!(
        server.get("/api/session/boot").await.1["vm"]["sandbox"],
        "none"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn tenants_are_never_served_without_the_jail_unless_the_operator_says_so() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.workspace.sandbox = okcvm_actors::config::SandboxChoice::None;
    settings.auth.mode = okcvm_actors::config::AuthMode::Tokens;
    let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
    let refused = okcvm::app::start(settings.clone(), listener, None)
        .await
        .err()
        .expect("refused");
    assert!(
        refused.to_string().contains("workspace.allow_unsandboxed"),
        "{refused}"
    );
    settings.workspace.allow_unsandboxed = true;
    let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
    let server = okcvm::app::start(settings, listener, None).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn the_console_files_come_from_the_binary_with_validators_and_nothing_else_is_served() {
    let model = FakeModel::start().await;
    let (server, _dir) = server(&model).await;
    let get = |path: &str| server.client.get(server.at(path)).send();

    let index = get("/ui/").await.unwrap();
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let etag = index.headers()["etag"].to_str().unwrap().to_owned();
    let body = index.text().await.unwrap();
    assert!(
        body.contains("<script type=\"module\""),
        "the console page loads its modules"
    );

    let again = server
        .client
        .get(server.at("/ui/index.html"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        304,
        "an unchanged file is revalidated, not resent"
    );
    assert!(again.bytes().await.unwrap().is_empty());

    let library = get("/ui/vendor/marked.esm.js").await.unwrap();
    assert_eq!(library.status(), 200);
    assert_eq!(
        library.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(library.headers()["cache-control"], "no-cache");

    for missing in [
        "/ui/nope.js",
        "/ui/tests/unit/sse.test.mjs",
        "/ui/package.json",
    ] {
        let (status, body) = status_json(get(missing).await.unwrap()).await;
        assert_eq!(status, 404, "{missing}: {body}");
        assert_eq!(body["code"], "console_file_not_found", "{missing}");
    }
}

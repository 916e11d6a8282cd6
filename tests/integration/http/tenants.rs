//! Tenants with `auth.mode: tokens`: every API call needs a valid token, and no route lets one
//! tenant read, change, delete or even confirm another tenant's data.

use std::sync::Arc;

use okcvm::auth::TokenStore;
use okcvm_actors::config::AuthMode;
use reqwest::Method;
use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

struct Tenants {
    server: TestServer,
    store: Arc<TokenStore>,
    a: String,
    b: String,
    _dir: tempfile::TempDir,
}

async fn tenants(model: &FakeModel) -> Tenants {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.auth.mode = AuthMode::Tokens;
    let store = Arc::new(TokenStore::open(dir.path()).unwrap());
    let (_, a) = store.create("tenant-a", None).unwrap();
    let (_, b) = store.create("tenant-b", None).unwrap();
    let server = TestServer::start_with_auth(settings, Some(store.clone())).await;
    Tenants {
        server,
        store,
        a,
        b,
        _dir: dir,
    }
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server.client.request(method, server.at(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_json(request.send().await.unwrap()).await
}

/// Every API route, as (method, path, body).
fn api_routes(entry: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/health".into(), None),
        (Method::GET, "/api/session/boot?client_id=s".into(), None),
        (Method::GET, "/api/session/info?client_id=s".into(), None),
        (
            Method::GET,
            format!("/api/session/history/{entry}?client_id=s"),
            None,
        ),
        (
            Method::DELETE,
            "/api/session/history?client_id=s".into(),
            None,
        ),
        (
            Method::POST,
            "/api/chat?client_id=s".into(),
            Some(json!({"message": "x", "stream": false})),
        ),
        (Method::POST, "/api/session/stop?client_id=s".into(), None),
        (Method::GET, "/api/session/events?client_id=s".into(), None),
        (Method::GET, "/api/config".into(), None),
        (Method::POST, "/api/config".into(), Some(json!({}))),
        (Method::GET, "/api/conversations".into(), None),
        (
            Method::POST,
            "/api/conversations".into(),
            Some(json!({"id": "c"})),
        ),
        (Method::PUT, "/api/conversations/c".into(), Some(json!({}))),
        (Method::DELETE, "/api/conversations/c".into(), None),
        (Method::GET, "/api/session/files?client_id=s".into(), None),
        (
            Method::GET,
            "/api/session/workspace/files?client_id=s".into(),
            None,
        ),
        (
            Method::GET,
            "/api/session/workspace/files/output/a.txt?client_id=s".into(),
            None,
        ),
    ]
}

#[tokio::test]
async fn every_api_route_needs_a_valid_token() {
    let model = FakeModel::start().await;
    let t = tenants(&model).await;
    let (revoked_info, revoked) = t.store.create("tenant-c", None).unwrap();
    assert!(t.store.revoke(&revoked_info.id).unwrap());
    for (method, path, body) in api_routes("x") {
        for token in [None, Some("okcvm_not-a-token"), Some(revoked.as_str())] {
            let (status, reply) = call(&t.server, method.clone(), &path, token, body.clone()).await;
            assert_eq!(
                (status, reply["code"].as_str()),
                (401, Some("unauthorized")),
                "{method} {path} with {token:?}"
            );
        }
    }
    let (status, _) = call(&t.server, Method::GET, "/api/health", Some(&t.a), None).await;
    assert_eq!(status, 200);
    assert_eq!(model.request_count(), 0);
    t.server.shutdown().await;
}

#[tokio::test]
async fn one_tenant_never_reaches_anothers_sessions_conversations_files_or_events() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_tool_call(
            "c1",
            "mshtools-write_file",
            r#"{"file_path":"/mnt/okcomputer/output/a.txt","content":"A's secret"}"#,
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("A's answer"), ev_done()]));
    model.set_fallback(sse(vec![ev_text("B's answer"), ev_done()]));
    let t = tenants(&model).await;
    let (a, b) = (t.a.as_str(), t.b.as_str());
    let server = &t.server;

    // Tenant A works in session "s" and conversation "c".
    let (status, reply) = call(
        server,
        Method::POST,
        "/api/chat?client_id=s",
        Some(a),
        Some(json!({"message": "A's question", "stream": false})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let entry = reply["vm_history"][0]["id"].as_str().unwrap().to_string();
    call(
        server,
        Method::POST,
        "/api/conversations",
        Some(a),
        Some(json!({"id": "c", "title": "A's conversation"})),
    )
    .await;
    let a_boot = call(
        server,
        Method::GET,
        "/api/session/boot?client_id=s",
        Some(a),
        None,
    )
    .await
    .1;
    assert_eq!(a_boot["vm"]["history_length"], 4);

    // Tenant B, with the same ids, sees nothing of A's, exactly as for ids that do not exist.
    let (_, boot) = call(
        server,
        Method::GET,
        "/api/session/boot?client_id=s",
        Some(b),
        None,
    )
    .await;
    assert_eq!(boot["vm"]["history_length"], 0);
    assert_eq!(boot["artifacts"], json!([]));
    assert_eq!(boot["reply"], "");
    let (status, body) = call(
        server,
        Method::GET,
        &format!("/api/session/history/{entry}?client_id=s"),
        Some(b),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("history_entry_not_found"))
    );
    let (_, unknown) = call(
        server,
        Method::GET,
        "/api/session/history/00000000000000000000000000000000?client_id=s",
        Some(b),
        None,
    )
    .await;
    assert_eq!(
        body["code"], unknown["code"],
        "same answer as an id that never existed"
    );
    let (_, conversations) = call(server, Method::GET, "/api/conversations", Some(b), None).await;
    assert_eq!(conversations["conversations"], json!([]));
    let (status, body) = call(
        server,
        Method::DELETE,
        "/api/conversations/c",
        Some(b),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("conversation_not_found"))
    );
    let (status, body) = call(
        server,
        Method::GET,
        "/api/session/workspace/files/output/a.txt?client_id=s",
        Some(b),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("file_not_found"))
    );
    let (_, listing) = call(
        server,
        Method::GET,
        "/api/session/workspace/files?client_id=s&path=output",
        Some(b),
        None,
    )
    .await;
    assert_eq!(listing["entries"], json!([]));
    let (_, files) = call(
        server,
        Method::GET,
        "/api/session/files?client_id=s",
        Some(b),
        None,
    )
    .await;
    assert_eq!(files["files"], json!([]));
    let (_, stopped) = call(
        server,
        Method::POST,
        "/api/session/stop?client_id=s",
        Some(b),
        None,
    )
    .await;
    assert_eq!(stopped["stopped"], false);

    // B's event stream for "s" holds only B's own events.
    let (status, _) = call(
        server,
        Method::POST,
        "/api/chat?client_id=s",
        Some(b),
        Some(json!({"message": "B's question", "stream": false})),
    )
    .await;
    assert_eq!(status, 200);
    let response = server
        .client
        .get(server.at("/api/session/events?client_id=s&after=0"))
        .bearer_auth(b)
        .send()
        .await
        .unwrap();
    let frames = SseReader::new(response).until_stop().await;
    let text =
        serde_json::to_string(&frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>()).unwrap();
    assert!(text.contains("B's answer"));
    assert!(!text.contains("A's"), "{text}");

    // B's writes with A's ids change only B's data.
    call(
        server,
        Method::PUT,
        "/api/conversations/c",
        Some(b),
        Some(json!({"title": "B's title"})),
    )
    .await;
    call(
        server,
        Method::DELETE,
        "/api/session/history?client_id=s",
        Some(b),
        None,
    )
    .await;
    call(
        server,
        Method::DELETE,
        "/api/conversations/c",
        Some(b),
        None,
    )
    .await;
    let (_, a_conversations) = call(server, Method::GET, "/api/conversations", Some(a), None).await;
    assert_eq!(
        a_conversations["conversations"][0]["title"],
        "A's conversation"
    );
    let (_, a_after) = call(
        server,
        Method::GET,
        "/api/session/boot?client_id=s",
        Some(a),
        None,
    )
    .await;
    assert_eq!(a_after["vm"]["history_length"], 4);
    assert_eq!(a_after["artifacts"][0]["name"], "a.txt");
    let file = server
        .client
        .get(server.at("/api/session/workspace/files/output/a.txt?client_id=s"))
        .bearer_auth(a)
        .send()
        .await
        .unwrap();
    assert_eq!(file.text().await.unwrap(), "A's secret");
    t.server.shutdown().await;
}

#[tokio::test]
async fn the_tokens_cli_makes_tokens_the_server_accepts_and_revocation_is_immediate() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let okcvm = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_okcvm"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let created = okcvm(&["tokens", "create", "--tenant", "acme", "--label", "ci"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.starts_with("okcvm_") && token.len() == 49, "{token}");
    assert!(String::from_utf8_lossy(&created.stderr).contains("shown only this once"));

    let listed = okcvm(&["tokens", "list", "--json"]);
    let tokens: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(tokens[0]["tenant"], "acme");
    assert_eq!(tokens[0]["label"], "ci");
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&token));
    let id = tokens[0]["id"].as_str().unwrap().to_string();
    let table = okcvm(&["tokens", "list"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains(&id));

    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.auth.mode = AuthMode::Tokens;
    let store = Arc::new(TokenStore::open(dir.path()).unwrap());
    let server = TestServer::start_with_auth(settings, Some(store)).await;
    let (status, _) = call(
        &server,
        Method::GET,
        "/api/conversations",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let revoked = okcvm(&["tokens", "revoke", &id]);
    assert!(revoked.status.success());
    let (status, _) = call(
        &server,
        Method::GET,
        "/api/conversations",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 401, "revocation takes effect on a running server");
    let again = okcvm(&["tokens", "revoke", &id]);
    assert_eq!(again.status.code(), Some(1));
    let bad = okcvm(&["tokens", "create", "--tenant", "no/slash"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid tenant"));
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_token_creation_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    for i in 0..8 {
        children.push(
            std::process::Command::new(env!("CARGO_BIN_EXE_okcvm"))
                .args([
                    "tokens",
                    "create",
                    "--tenant",
                    &format!("t{i}"),
                    "--data-dir",
                ])
                .arg(dir.path())
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .current_dir(dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    let mut tokens = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        tokens.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
    }
    let store = TokenStore::open(dir.path()).unwrap();
    assert_eq!(store.list().unwrap().len(), 8);
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(store.verify(token), Some(format!("t{i}")));
    }
}

#[tokio::test]
async fn only_admin_tenants_change_the_shared_model_endpoints() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.auth.mode = AuthMode::Tokens;
    settings.auth.admin_tenants = vec!["ops".into()];
    let store = Arc::new(TokenStore::open(dir.path()).unwrap());
    let (_, ops) = store.create("ops", None).unwrap();
    let (_, user) = store.create("user", None).unwrap();
    let server = TestServer::start_with_auth(settings, Some(store)).await;
    let change = json!({"chat": {"model": "other", "base_url": model.base_url()}});
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/config",
        Some(&user),
        Some(change.clone()),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = call(&server, Method::GET, "/api/config", Some(&user), None).await;
    assert_eq!(status, 200, "reading stays open: no key is ever shown");
    let (status, body) = call(
        &server,
        Method::POST,
        "/api/config",
        Some(&ops),
        Some(change),
    )
    .await;
    assert_eq!(
        (status, body["chat"]["model"].as_str()),
        (200, Some("other"))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_console_signs_in_with_a_token_cookie_and_signs_out() {
    let model = FakeModel::start().await;
    let t = tenants(&model).await;
    let server = &t.server;
    let (status, body) = call(server, Method::GET, "/api/auth/me", None, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    let (status, body) = call(
        server,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"token": "okcvm_wrong"})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = call(
        server,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"token": "a b"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_token"))
    );

    let response = server
        .client
        .post(server.at("/api/auth/login"))
        .json(&json!({"token": t.a}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("okc_token={};", t.a)),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let (_, body) = status_json(response).await;
    assert_eq!(body, json!({"tenant": "tenant-a", "auth": "tokens"}));

    // The cookie authorises API calls (and the images and downloads a page loads).
    let with_cookie = |path: &str| {
        server
            .client
            .get(server.at(path))
            .header("cookie", format!("okc_token={}", t.a))
    };
    let (status, body) = status_json(with_cookie("/api/auth/me").send().await.unwrap()).await;
    assert_eq!((status, body["tenant"].as_str()), (200, Some("tenant-a")));
    let (status, _) = status_json(
        with_cookie("/api/session/boot?client_id=c")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    // A header wins over the cookie.
    let (_, body) = status_json(
        with_cookie("/api/auth/me")
            .bearer_auth(&t.b)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["tenant"], "tenant-b");

    let response = server
        .client
        .post(server.at("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    let cleared = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cleared.starts_with("okc_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // A revoked token's cookie no longer works.
    let id = t
        .store
        .list()
        .unwrap()
        .into_iter()
        .find(|i| i.tenant == "tenant-a")
        .unwrap()
        .id;
    t.store.revoke(&id).unwrap();
    let (status, _) = status_json(with_cookie("/api/auth/me").send().await.unwrap()).await;
    assert_eq!(status, 401);
}

//! The OpenAPI document the server serves describes every route the server routes.

use reqwest::Method;
use serde_json::Value;
use support::fake_model::FakeModel;
use support::runtime::test_settings;
use support::server::{status_json, TestServer};

/// Every route: method, OpenAPI path template, and a concrete path to call it with.
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/", "/"),
    ("GET", "/ui/", "/ui/"),
    ("GET", "/ui/{path}", "/ui/index.html"),
    ("GET", "/favicon.ico", "/favicon.ico"),
    ("POST", "/api/auth/login", "/api/auth/login"),
    ("POST", "/api/auth/logout", "/api/auth/logout"),
    ("GET", "/api/auth/me", "/api/auth/me"),
    ("GET", "/api/health", "/api/health"),
    ("GET", "/api/openapi.json", "/api/openapi.json"),
    ("GET", "/api/session/boot", "/api/session/boot"),
    ("GET", "/api/session/info", "/api/session/info"),
    (
        "GET",
        "/api/session/history/{entry_id}",
        "/api/session/history/x",
    ),
    ("DELETE", "/api/session/history", "/api/session/history"),
    ("GET", "/api/session/messages", "/api/session/messages"),
    (
        "POST",
        "/api/session/history/switch",
        "/api/session/history/switch",
    ),
    ("POST", "/api/chat", "/api/chat"),
    ("POST", "/api/session/stop", "/api/session/stop"),
    (
        "GET",
        "/api/session/events",
        "/api/session/events?after=abc",
    ),
    ("GET", "/api/config", "/api/config"),
    ("POST", "/api/config", "/api/config"),
    ("GET", "/api/conversations", "/api/conversations"),
    ("POST", "/api/conversations", "/api/conversations"),
    ("PUT", "/api/conversations/{id}", "/api/conversations/x"),
    ("DELETE", "/api/conversations/{id}", "/api/conversations/x"),
    ("GET", "/api/session/files", "/api/session/files"),
    ("POST", "/api/session/files", "/api/session/files"),
    (
        "GET",
        "/api/session/workspace/files",
        "/api/session/workspace/files",
    ),
    (
        "GET",
        "/api/session/workspace/files/{path}",
        "/api/session/workspace/files/x",
    ),
    (
        "GET",
        "/api/session/workspace/snapshots",
        "/api/session/workspace/snapshots",
    ),
    (
        "POST",
        "/api/session/workspace/snapshots",
        "/api/session/workspace/snapshots",
    ),
    (
        "POST",
        "/api/session/workspace/restore",
        "/api/session/workspace/restore",
    ),
    (
        "POST",
        "/api/session/workspace/branch",
        "/api/session/workspace/branch",
    ),
    ("GET", "/sites/{site_id}", "/sites/x"),
    ("GET", "/sites/{site_id}/{path}", "/sites/x/y"),
];

#[tokio::test]
async fn every_route_is_routed_and_documented_in_the_served_openapi_document() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let (status, document) = server.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, template, concrete) in ROUTES {
        let operation = &document["paths"][template][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not in the OpenAPI document"
        );
        assert!(
            operation["responses"].is_object(),
            "{method} {template} documents no responses"
        );
        // The router knows the route: whatever it answers, it is not "no such route".
        let response = no_redirect
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                server.at(concrete),
            )
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(response).await;
        let code = body.get("code").and_then(Value::as_str).unwrap_or("");
        assert!(
            code != "method_not_allowed" && !(status == 404 && code == "not_found"),
            "{method} {concrete} is not routed: {status} {body}"
        );
    }
    // And nothing documented is missing from the table above.
    let documented: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            ["get", "post", "put", "delete"]
                .iter()
                .filter(|m| item.get(**m).is_some())
                .count()
        })
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "the document has operations the table lacks"
    );
    server.shutdown().await;
}

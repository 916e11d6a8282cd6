//! The runtime configuration: keys never shown, kept when omitted, and persisted.

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

#[tokio::test]
async fn config_never_shows_a_key_keeps_an_omitted_one_and_survives_a_restart() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("from the new model"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), &model.base_url());
    let server = TestServer::start(settings.clone()).await;

    let (status, config) = server.get("/api/config").await;
    assert_eq!(status, 200);
    assert_eq!(config["chat"]["model"], "fake-model");
    assert_eq!(config["chat"]["api_key_present"], true);
    assert_eq!(config["image"], Value::Null);
    assert!(!config.to_string().contains("sk-test"));

    let (status, updated) = server
        .post("/api/config", &json!({"chat": {"model": " model-b ", "base_url": model.base_url(), "api_key": "sk-new"}, "image": {"model": "img", "base_url": "http://127.0.0.1:9/v1"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["chat"]["model"], "model-b");
    assert_eq!(updated["image"]["model"], "img");
    assert!(!updated.to_string().contains("sk-new"));

    // The model actor uses the new endpoint and key.
    let (status, _) = server
        .post("/api/chat", &json!({"message": "hi", "stream": false}))
        .await;
    assert_eq!(status, 200);
    let sent = &model.requests()[0];
    assert_eq!(sent.body["model"], "model-b");
    assert_eq!(sent.headers["authorization"], "Bearer sk-new");

    // An omitted key keeps the stored one; "" clears it.
    let (_, kept) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "model-c", "base_url": model.base_url()}}),
        )
        .await;
    assert_eq!(kept["chat"]["api_key_present"], true);
    let (_, cleared) = server
        .post(
            "/api/config",
            &json!({"image": {"model": "img", "base_url": "http://127.0.0.1:9/v1", "api_key": ""}}),
        )
        .await;
    assert!(cleared["image"].get("api_key_present").is_none());
    let (_, removed) = server
        .post("/api/config", &json!({"speech": null, "image": null}))
        .await;
    assert_eq!(removed["image"], Value::Null);
    assert_eq!(removed["chat"]["model"], "model-c");

    let (status, body) = server
        .post(
            "/api/config",
            &json!({"chat": {"model": "m", "base_url": "ftp://x"}}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let (status, _) = server.post("/api/config", &json!({"chatt": null})).await;
    assert_eq!(status, 422);

    server.shutdown().await;
    let server = TestServer::start(settings).await;
    let (_, after) = server.get("/api/config").await;
    assert_eq!(after["chat"]["model"], "model-c");
    assert_eq!(after["chat"]["api_key_present"], true);
    assert_eq!(after["image"], Value::Null);
    server.shutdown().await;
}

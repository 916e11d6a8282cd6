//! Supervision as operators meet it: a full disk under the store degrades the server (and says
//! so in the health check) until space is freed, then sessions resume without a restart; a
//! failed core actor ends the actor system and `okcvm run` exits non-zero.

use std::time::Duration;

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn chat(client: &reqwest::Client, base: &str, message: &str) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/chat?client_id=disk"))
        .json(&json!({"message": message, "stream": false}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_full_disk_degrades_the_server_until_space_is_freed_then_sessions_resume() {
    let model = FakeModel::start().await;
    model.set_fallback(sse(vec![ev_text("noted"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
    let server = okcvm::app::start(test_settings(dir.path(), &model.base_url()), listener, None)
        .await
        .unwrap();
    let (base, client) = (server.url(), reqwest::Client::new());
    assert_eq!(chat(&client, &base, "before the disk filled").await.0, 200);
    let boot_url = format!("{base}/api/session/boot?client_id=disk");
    let seq_before = get(&client, boot_url.clone()).await.1["vm"]["last_event_id"]
        .as_u64()
        .unwrap();
    let (status, health) = get(&client, format!("{base}/api/health")).await;
    assert_eq!((status, &health["storage"]["status"]), (200, &json!("ok")));

    server.runtime().disk_fault().fill();
    let (status, body) = chat(&client, &base, "while the disk is full").await;
    assert!(
        status >= 500,
        "a turn that cannot be stored fails: {status} {body}"
    );
    // The health check says what is wrong for as long as it lasts, and so do requests.
    let (status, health) = get(&client, format!("{base}/api/health")).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["storage"]["status"], "failed");
    let error = health["storage"]["error"].as_str().unwrap();
    assert!(error.contains("No space left on device"), "{error}");
    let (status, body) = get(&client, boot_url.clone()).await;
    assert_eq!(status, 503, "{body}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, health) = get(&client, format!("{base}/api/health")).await;
    assert_eq!(status, 503, "still down while the disk is full: {health}");
    assert!(health["storage"]["reopen_attempts"].as_u64().unwrap() >= 1);

    server.runtime().disk_fault().free();
    let recovered = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (status, health) = get(&client, format!("{base}/api/health")).await;
            if status == 200 {
                return health;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the store reopens once space is freed");
    assert_eq!(recovered["storage"]["status"], "ok");

    // The same session carries on, with everything stored before the disk filled, and event
    // numbers go on from where they were.
    let (status, body) = chat(&client, &base, "after space was freed").await;
    assert_eq!(status, 200, "{body}");
    let (_, boot) = get(&client, boot_url).await;
    assert!(boot["vm"]["last_event_id"].as_u64().unwrap() > seq_before);
    let (_, messages) = get(
        &client,
        format!("{base}/api/session/messages?client_id=disk"),
    )
    .await;
    let said: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["message"])
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(said.first(), Some(&"before the disk filled"), "{messages}");
    assert_eq!(said.last(), Some(&"after space was freed"), "{messages}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_core_actor_ends_the_runtime_the_server_waits_on() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let listener = okcvm::app::bind("127.0.0.1:0").await.unwrap();
    let server = okcvm::app::start(test_settings(dir.path(), &model.base_url()), listener, None)
        .await
        .unwrap();
    assert!(!server.runtime().has_ended());
    let ended = tokio::time::timeout(Duration::from_millis(300), server.runtime_ended()).await;
    assert!(ended.is_err(), "a healthy runtime keeps running");
    server.runtime().fail_core_actor();
    tokio::time::timeout(Duration::from_secs(10), server.runtime_ended())
        .await
        .expect("the supervisor stops the tree when a core actor fails");
    assert!(server.runtime().has_ended());
    // Shutting down what is left still finishes.
    tokio::time::timeout(Duration::from_secs(20), server.shutdown())
        .await
        .unwrap();
}

#[tokio::test]
async fn okcvm_run_exits_non_zero_when_a_core_actor_fails() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = support::binary::start(
        env!("CARGO_BIN_EXE_okcvm"),
        dir.path(),
        &model.base_url(),
        &[("TESTING_FAIL_CORE_AFTER_MS", "1500")],
    )
    .await;
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the server exits on its own")
        .unwrap();
    assert_eq!(status.code(), Some(1), "{}", server.log());
    assert!(
        server.log().contains("the actor system stopped"),
        "{}",
        server.log()
    );
}

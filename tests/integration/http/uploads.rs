//! Uploads over real HTTP: limits, names, all-or-nothing batches, and the model being told.

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

const BOUNDARY: &str = "okcvm-test-boundary";

/// A multipart body with one `files` part per (name, bytes).
fn multipart(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(server: &TestServer, session: &str, files: &[(&str, Vec<u8>)]) -> (u16, Value) {
    let response = server
        .client
        .post(server.at(&format!("/api/session/files?client_id={session}")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(files))
        .send()
        .await
        .unwrap();
    status_json(response).await
}

async fn start(
    limits: impl FnOnce(&mut okcvm_actors::config::UploadSettings),
    model: &FakeModel,
) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    limits(&mut settings.uploads);
    (TestServer::start(settings).await, dir)
}

fn names(body: &Value) -> Vec<String> {
    body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn uploaded_files_are_listed_in_the_contract_shape_and_announced_to_the_model() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("I see the files."), ev_done()]));
    let (server, dir) = start(|_| {}, &model).await;
    let (status, body) = upload(
        &server,
        "u1",
        &[
            ("notes.txt", b"hello".to_vec()),
            ("data.csv", vec![b'x'; 2048]),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["data.csv", "notes.txt"]);
    assert_eq!(
        body["files"][1],
        json!({
            "name": "notes.txt",
            "relative_path": "upload/notes.txt",
            "path": "/mnt/okcomputer/upload/notes.txt",
            "display_path": "/mnt/okcomputer/upload/notes.txt",
            "size_bytes": 5,
            "size_display": "5 B"
        })
    );
    assert_eq!(body["files"][0]["size_display"], "2.0 KB");
    assert_eq!(body["limit"], 100);
    assert_eq!(body["max_file_size_mb"], 100);
    assert_eq!(body["summaries"].as_array().unwrap().len(), 2);
    assert!(body["system_prompt"].is_string());
    assert_eq!(
        std::fs::read(dir.path().join("workspaces/local/u1/upload/notes.txt")).unwrap(),
        b"hello"
    );

    let (status, listed) = server.get("/api/session/files?client_id=u1").await;
    assert_eq!(status, 200);
    assert_eq!(listed["files"], body["files"]);
    assert_eq!(
        server.get("/api/session/boot?client_id=u1").await.1["uploads"],
        body["files"]
    );

    // The next message tells the model where the files are, once.
    let (status, _) = server
        .post(
            "/api/chat?client_id=u1",
            &json!({"message": "summarise", "stream": false}),
        )
        .await;
    assert_eq!(status, 200);
    let sent = model.requests()[0].body["messages"].clone();
    let user = sent
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(user.starts_with("summarise"), "{user}");
    assert!(user.contains("/mnt/okcomputer/upload/notes.txt"), "{user}");
    assert!(user.contains("/mnt/okcomputer/upload/data.csv"), "{user}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_file_count_limit_holds_at_and_over_the_limit() {
    let model = FakeModel::start().await;
    let (server, dir) = start(|u| u.max_files = 3, &model).await;
    let (status, _) = upload(&server, "n", &[("a", vec![1]), ("b", vec![2])]).await;
    assert_eq!(status, 200);
    let (status, body) = upload(&server, "n", &[("c", vec![3])]).await;
    assert_eq!(status, 200, "exactly at the limit is fine");
    assert_eq!(names(&body), ["a", "b", "c"]);
    let (status, body) = upload(&server, "n", &[("d", vec![4])]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("too_many_files")),
        "{body}"
    );
    // Replacing an existing name does not count as a new file.
    let (status, _) = upload(&server, "n", &[("a", b"new".to_vec())]).await;
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read(dir.path().join("workspaces/local/n/upload/a")).unwrap(),
        b"new"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_size_limit_holds_at_and_over_the_limit_and_a_failed_batch_leaves_nothing() {
    let model = FakeModel::start().await;
    let (server, dir) = start(|u| u.max_file_mb = 1, &model).await;
    let mib = 1024 * 1024;
    let (status, _) = upload(&server, "s", &[("exact.bin", vec![7; mib])]).await;
    assert_eq!(status, 200, "a file of exactly the limit is accepted");
    let (status, body) = upload(
        &server,
        "s",
        &[("small.txt", b"ok".to_vec()), ("big.bin", vec![7; mib + 1])],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("file_too_large")),
        "{body}"
    );
    assert!(body["detail"].as_str().unwrap().contains("big.bin"));
    let upload_dir = dir.path().join("workspaces/local/s/upload");
    let mut present: Vec<String> = std::fs::read_dir(&upload_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    present.sort();
    assert_eq!(
        present,
        ["exact.bin"],
        "nothing of the failed batch is kept"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count(),
        0,
        "no staging leftovers"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_session_quota_holds() {
    let model = FakeModel::start().await;
    let (server, _dir) = start(
        |u| {
            u.max_file_mb = 2;
            u.session_quota_mb = 2;
        },
        &model,
    )
    .await;
    let mib = 1024 * 1024;
    let (status, _) = upload(&server, "q", &[("one.bin", vec![1; mib])]).await;
    assert_eq!(status, 200);
    let (status, body) = upload(&server, "q", &[("two.bin", vec![1; mib + 1])]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("upload_quota_exceeded")),
        "{body}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn bad_names_duplicates_and_empty_batches_are_refused() {
    let model = FakeModel::start().await;
    let (server, dir) = start(|_| {}, &model).await;
    let (status, body) = upload(
        &server,
        "b",
        &[("same.txt", vec![1]), ("same.txt", vec![2])],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("duplicate_file_name")),
        "{body}"
    );
    let (status, body) = upload(&server, "b", &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("empty_upload")),
        "{body}"
    );
    for bad in [".hidden", "..", ""] {
        let (status, body) = upload(&server, "b", &[(bad, vec![1])]).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_file_name")),
            "{bad:?}: {body}"
        );
    }
    // A path in the name keeps only its last part: nothing lands outside upload/.
    let (status, body) = upload(&server, "b", &[("../../escape.txt", b"x".to_vec())]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["escape.txt"]);
    assert!(!dir.path().join("workspaces/local/escape.txt").exists());
    assert!(!dir.path().join("escape.txt").exists());
    server.shutdown().await;
}

#[tokio::test]
async fn clearing_the_history_removes_the_uploads() {
    let model = FakeModel::start().await;
    let (server, _dir) = start(|_| {}, &model).await;
    upload(&server, "c", &[("a.txt", b"a".to_vec())]).await;
    let (_, cleared) = server.delete("/api/session/history?client_id=c").await;
    assert_eq!(cleared["uploads"], json!([]));
    assert_eq!(
        server.get("/api/session/files?client_id=c").await.1["files"],
        json!([])
    );
    server.shutdown().await;
}

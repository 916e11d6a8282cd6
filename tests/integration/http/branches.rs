//! Branches over HTTP: editing any user message starts a branch beside it, the active branch
//! lists each message's siblings for `< 2/3 >`, and switching branches brings back their files.

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

async fn chat(server: &TestServer, body: Value) -> Value {
    let (status, reply) = server.post("/api/chat?client_id=b", &body).await;
    assert_eq!(status, 200, "{reply}");
    reply
}

fn write(path: &str, content: &str) -> Chunk {
    ev_tool_call(
        &format!("w-{content}"),
        "mshtools-write_file",
        &json!({"file_path": path, "content": content}).to_string(),
    )
}

/// (role, content) of the active branch, and each user message's (index, sibling count).
async fn branch(server: &TestServer) -> (Vec<(String, String)>, Vec<(u64, usize)>, Value) {
    let (status, body) = server.get("/api/session/messages?client_id=b").await;
    assert_eq!(status, 200, "{body}");
    let entries = body["messages"].as_array().unwrap();
    let texts = entries
        .iter()
        .map(|e| {
            (
                e["message"]["role"].as_str().unwrap().to_owned(),
                e["message"]["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let users = entries
        .iter()
        .filter(|e| e["message"]["role"] == "user")
        .map(|e| {
            (
                e["sibling_index"].as_u64().unwrap(),
                e["sibling_ids"].as_array().unwrap().len(),
            )
        })
        .collect();
    (texts, users, body)
}

#[tokio::test]
async fn editing_a_message_branches_and_switching_back_restores_text_and_files() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        write("/mnt/okcomputer/output/a.txt", "first"),
        ev_done(),
    ]));
    model.push(sse(vec![
        ev_text("Wrote first."),
        ev_usage(10, 3),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Second answer."), ev_done()]));
    model.push(sse(vec![
        write("/mnt/okcomputer/output/a.txt", "edited"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Wrote edited."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let file = dir.path().join("workspaces/local/b/output/a.txt");

    chat(&server, json!({"message": "one", "stream": false})).await;
    chat(&server, json!({"message": "two", "stream": false})).await;
    let (texts, users, body) = branch(&server).await;
    assert_eq!(texts.len(), 6, "{texts:?}");
    assert_eq!(users, [(0, 1), (0, 1)]);
    assert_eq!(body["running_turn"], Value::Null);
    assert!(body["last_seq"].as_u64().unwrap() > 0);
    let first_user = body["messages"][0]["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Measured figures ride on the answer, as the turn's final payload gave them.
    let answer = &body["messages"][3]["message"];
    assert_eq!(answer["content"], "Wrote first.");
    assert_eq!(answer["measured"]["tokens_in"], 10);
    assert_eq!(answer["measured"]["tokens_out"], 3);
    assert!(answer["measured"]["model"].is_string());
    // A tool result keeps what the tool reported.
    assert!(
        body["messages"][2]["message"]["data"].is_object(),
        "{}",
        body["messages"][2]
    );

    // Editing the first message: a sibling branch, from before the first file was written.
    let reply = chat(
        &server,
        json!({"message": "one, edited", "edit_of": first_user, "stream": false}),
    )
    .await;
    assert_eq!(reply["reply"], "Wrote edited.");
    let (texts, users, body) = branch(&server).await;
    assert_eq!(texts[0], ("user".to_owned(), "one, edited".to_owned()));
    assert_eq!(users, [(1, 2)]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "edited");

    // Back to the first branch: its text, and its files.
    let (status, switched) = server
        .post(
            "/api/session/history/switch?client_id=b",
            &json!({"message_id": first_user}),
        )
        .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["messages"].as_array().unwrap().len(), 6);
    assert_eq!(switched["messages"][0]["sibling_index"], 0);
    assert_eq!(
        switched["messages"][5]["message"]["content"],
        "Second answer."
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "first");
    let other = body["messages"][0]["sibling_ids"][1].as_str().unwrap();
    let (_, back) = server
        .post(
            "/api/session/history/switch?client_id=b",
            &json!({"message_id": other}),
        )
        .await;
    assert_eq!(back["messages"][0]["message"]["content"], "one, edited");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "edited");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_branch_requests_get_clear_errors() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("hi"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    chat(&server, json!({"message": "one", "stream": false})).await;
    let (_, body) = server.get("/api/session/messages?client_id=b").await;
    let answer = body["messages"][1]["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, body) = server
        .post(
            "/api/session/history/switch?client_id=b",
            &json!({"message_id": "nope"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("history_entry_not_found"))
    );
    let (status, body) = server
        .post(
            "/api/session/history/switch?client_id=b",
            &json!({"message": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/chat?client_id=b",
            &json!({"message": "x", "edit_of": answer, "stream": false}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_edit_target")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/chat?client_id=b",
            &json!({"message": "x", "edit_of": "nope", "stream": false}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("history_entry_not_found")),
        "{body}"
    );
    let (status, body) = server
        .post(
            "/api/chat?client_id=b",
            &json!({"message": "x", "edit_of": answer, "replace_last": true}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    server.shutdown().await;
}

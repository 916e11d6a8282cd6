//! Workspace changes outside turns belong to the session: a turn asked for while a restore or
//! a clear runs is refused with `workspace_busy`, the change ends in the state it promised,
//! and uploads wait for no running turn. And the file download route, raced by a folder
//! swapped for a symbolic link, never serves a byte from outside the workspace.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

/// Files written under `output/many` so a restore or a clear has real work to do.
const FILES: usize = 3000;

fn fill(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..FILES {
        std::fs::write(dir.join(format!("f{i}.txt")), format!("file {i}")).unwrap();
    }
}

/// Sends `change` while asking for turns until it answers; returns its answer and the codes
/// of the refused turns. A turn that got in first makes the change answer `turn_in_progress`.
async fn race_turns(
    server: &TestServer,
    change: impl std::future::Future<Output = (u16, Value)>,
) -> ((u16, Value), Vec<String>) {
    let mut change = std::pin::pin!(change);
    let mut refused = Vec::new();
    let turn = json!({"message": "hi", "stream": false});
    // Give the change a head start, so it usually reaches the session first (either order is
    // correct; only this one shows the refusal).
    tokio::select! {
        answer = &mut change => return (answer, refused),
        () = tokio::time::sleep(Duration::from_millis(20)) => {}
    }
    loop {
        tokio::select! {
            answer = &mut change => return (answer, refused),
            (status, body) = server.post("/api/chat?client_id=s", &turn) => {
                if status == 409 {
                    refused.push(body["code"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    }
}

/// Judges one race: `None` when a turn got in first (the change was refused, as it must be),
/// else whether any turn was refused meanwhile, every refusal being `workspace_busy`.
fn judge((status, body): (u16, Value), refused: &[String]) -> Option<bool> {
    if status == 409 {
        assert_eq!(body["code"], "turn_in_progress", "{body}");
        return None;
    }
    assert_eq!(status, 200, "{body}");
    assert!(
        refused.iter().all(|code| code == "workspace_busy"),
        "{refused:?}"
    );
    Some(!refused.is_empty())
}

#[tokio::test]
async fn a_turn_asked_for_while_a_restore_runs_is_refused_and_the_restore_completes() {
    let model = FakeModel::start().await;
    model.set_fallback(sse(vec![ev_text("ok"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    server.get("/api/session/boot?client_id=s").await;
    let ws = dir.path().join("workspaces/local/s");
    fill(&ws.join("output/many"));
    let (status, body) = server
        .post("/api/session/workspace/snapshots?client_id=s", &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["latest_snapshot"]["id"].as_str().unwrap().to_owned();

    let mut busy_seen = false;
    for _attempt in 0..10 {
        let _ = std::fs::remove_dir_all(ws.join("output/many"));
        let body = json!({"snapshot_id": id});
        let restore = server.post("/api/session/workspace/restore?client_id=s", &body);
        let (answer, refused) = race_turns(&server, restore).await;
        let Some(busy) = judge(answer, &refused) else {
            continue;
        };
        busy_seen |= busy;
        // The restore did what it promised, whatever was asked meanwhile.
        let restored = std::fs::read_dir(ws.join("output/many")).unwrap().count();
        assert_eq!(restored, FILES);
        if busy_seen {
            break;
        }
    }
    assert!(busy_seen, "no turn was ever asked for during a restore");
    server.shutdown().await;
}

#[tokio::test]
async fn a_turn_asked_for_while_the_session_is_cleared_is_refused_and_the_workspace_ends_empty() {
    let model = FakeModel::start().await;
    model.set_fallback(sse(vec![ev_text("ok"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let ws = dir.path().join("workspaces/local/s");
    let mut busy_seen = false;
    for _attempt in 0..10 {
        server.get("/api/session/boot?client_id=s").await;
        fill(&ws.join("output/many"));
        let clear = server.delete("/api/session/history?client_id=s");
        let (answer, refused) = race_turns(&server, clear).await;
        let Some(busy) = judge(answer, &refused) else {
            continue;
        };
        busy_seen |= busy;
        assert!(
            !ws.join("output").exists(),
            "the clear emptied the workspace"
        );
        if busy_seen {
            break;
        }
    }
    assert!(busy_seen, "no turn was ever asked for during a clear");
    server.shutdown().await;
}

#[tokio::test]
async fn a_turn_asked_for_while_a_history_switch_restores_files_is_refused() {
    let model = FakeModel::start().await;
    model.set_fallback(sse(vec![ev_text("ok"), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let ws = dir.path().join("workspaces/local/s");
    let say = |message: &str, replace_last: bool| json!({"message": message, "replace_last": replace_last, "stream": false});
    server
        .post("/api/chat?client_id=s", &say("one", false))
        .await;
    // The second turn ends with many files; its regenerated twin ends without them.
    fill(&ws.join("output/many"));
    server
        .post("/api/chat?client_id=s", &say("two", false))
        .await;
    let (status, body) = server
        .post("/api/chat?client_id=s", &say("two again", true))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !ws.join("output/many").exists(),
        "the regenerated branch has no files"
    );
    let (_, branch) = server.get("/api/session/messages?client_id=s").await;
    let siblings = branch["messages"][2]["sibling_ids"].clone();
    let (with_files, without) = (
        siblings[0].as_str().unwrap().to_owned(),
        siblings[1].as_str().unwrap().to_owned(),
    );

    let mut busy_seen = false;
    for _attempt in 0..10 {
        let body = json!({"message_id": with_files});
        let switch = server.post("/api/session/history/switch?client_id=s", &body);
        let (answer, refused) = race_turns(&server, switch).await;
        if let Some(busy) = judge(answer, &refused) {
            busy_seen |= busy;
            let restored = std::fs::read_dir(ws.join("output/many")).unwrap().count();
            assert_eq!(
                restored, FILES,
                "the switch brought the branch's files back"
            );
        }
        if busy_seen {
            break;
        }
        // Back to the branch without the files, for the next attempt (once a turn that got
        // in at the last moment is over).
        let body = json!({"message_id": without});
        for _ in 0..100 {
            let (status, answer) = server
                .post("/api/session/history/switch?client_id=s", &body)
                .await;
            if status == 200 {
                break;
            }
            assert_eq!(answer["code"], "turn_in_progress", "{answer}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(busy_seen, "no turn was ever asked for during a switch");
    server.shutdown().await;
}

#[tokio::test]
async fn an_upload_while_a_turn_runs_is_refused_and_lands_nowhere() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("slow").with_delay(Duration::from_secs(30)),
        ev_done(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    let mut stream = server.chat_stream("s", "long").await;
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
    let form = reqwest::multipart::Form::new().part(
        "files",
        reqwest::multipart::Part::bytes(b"a,b\n".to_vec()).file_name("data.csv"),
    );
    let response = server
        .client
        .post(server.at("/api/session/files?client_id=s"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("turn_in_progress")),
        "{body}"
    );
    assert!(!dir
        .path()
        .join("workspaces/local/s/upload/data.csv")
        .exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("staging"))
            .unwrap()
            .count(),
        0,
        "nothing is left staged"
    );
    server
        .post("/api/session/stop?client_id=s", &json!({}))
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_download_racing_a_folder_swapped_for_a_link_never_serves_outside_bytes() {
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const CANARY: &str = "CANARY-outside-the-workspace";
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    server.get("/api/session/boot?client_id=s").await;
    let ws = dir.path().join("workspaces/local/s");
    std::fs::create_dir_all(ws.join("output/d")).unwrap();
    std::fs::write(ws.join("output/d/report.txt"), "inside").unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("report.txt"), CANARY).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swapping = {
        let (stop, d) = (stop.clone(), ws.join("output/d"));
        std::thread::spawn(move || {
            let aside = d.with_extension("aside");
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) {
                if std::fs::rename(&d, &aside).is_ok() {
                    if symlink(&outside, &d).is_ok() {
                        swaps += 1;
                        std::thread::yield_now();
                        let _ = std::fs::remove_file(&d);
                    }
                    let _ = std::fs::rename(&aside, &d);
                }
            }
            swaps
        })
    };
    let (mut served, mut refused) = (0, 0);
    for _ in 0..3000 {
        let response = server
            .client
            .get(server.at("/api/session/workspace/files/output/d/report.txt?client_id=s"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(!text.contains(CANARY), "the canary was served ({status})");
        assert!(
            status < 500,
            "losing the race is the client's, not a failure: {text}"
        );
        if status == 200 {
            assert_eq!(text, "inside");
            served += 1;
        } else {
            refused += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(swapping.join().unwrap() > 0, "the race ran");
    assert!(
        served > 0 && refused > 0,
        "{served} served, {refused} refused"
    );
    server.shutdown().await;
}

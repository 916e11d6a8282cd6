//! `deploy_website` end to end: the agent deploys a workspace folder, the site is served by the
//! server with a sandbox policy, redeploys update it, refusals reach the model, and clearing
//! the session removes it.

use serde_json::{json, Value};
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;

fn write(path: &str, content: &str) -> Chunk {
    ev_tool_call(
        &format!("w-{path}"),
        "mshtools-write_file",
        &json!({"file_path": path, "content": content}).to_string(),
    )
}

fn deploy(id: &str, dir: &str) -> Chunk {
    ev_tool_call(
        id,
        "mshtools-deploy_website",
        &json!({"type": "static", "local_dir": dir}).to_string(),
    )
}

/// The tool results the model was sent in its last request.
fn tool_results(model: &FakeModel) -> Vec<String> {
    let requests = model.requests();
    requests.last().unwrap().body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

async fn chat(server: &TestServer, session: &str) -> Value {
    let (status, reply) = server
        .post(
            &format!("/api/chat?client_id={session}"),
            &json!({"message": "go", "stream": false}),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    reply
}

#[tokio::test]
async fn a_deployed_folder_is_served_sandboxed_and_a_redeploy_updates_the_same_site() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        write(
            "/mnt/okcomputer/output/site/index.html",
            "<title>Trip</title><h1>v1</h1>",
        ),
        write("/mnt/okcomputer/output/site/css/a.css", "h1{}"),
        deploy("d1", "/mnt/okcomputer/output/site"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Deployed."), ev_done()]));
    model.push(sse(vec![
        write("/mnt/okcomputer/output/site/index.html", "<h1>v2</h1>"),
        deploy("d2", "output/site"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Updated."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;

    let reply = chat(&server, "d").await;
    let preview = &reply["web_preview"];
    assert_eq!(preview["title"], "Trip");
    let id = preview["deployment_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    let url = preview["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("{}/sites/{id}/", server.url));
    assert!(tool_results(&model).last().unwrap().contains(&url));

    let page = server.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
    assert_eq!(page.text().await.unwrap(), "<title>Trip</title><h1>v1</h1>");
    let css = server
        .client
        .get(format!("{url}css/a.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    let again = chat(&server, "d").await;
    assert_eq!(
        again["web_preview"]["deployment_id"],
        id.as_str(),
        "the same folder keeps its site"
    );
    assert_eq!(
        server
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "<h1>v2</h1>"
    );
    assert!(tool_results(&model)
        .last()
        .unwrap()
        .contains("now shows the new version"));

    // Clearing the session removes its sites.
    let (status, _) = server.delete("/api/session/history?client_id=d").await;
    assert_eq!(status, 200);
    assert_eq!(server.client.get(&url).send().await.unwrap().status(), 404);
    server.shutdown().await;
}

#[tokio::test]
async fn folders_without_index_outside_the_workspace_or_too_large_are_refused_to_the_model() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        write("/mnt/okcomputer/output/noindex/page.html", "x"),
        ev_tool_call("s", "mshtools-shell", r#"{"command":"mkdir -p output/big && head -c 2200000 /dev/zero > output/big/blob.bin && echo '<h1>big</h1>' > output/big/index.html"}"#),
        deploy("a", "/mnt/okcomputer/output/noindex"),
        deploy("b", "/etc"),
        deploy("c", "/mnt/okcomputer/output/big"),
        deploy("d", "/mnt/okcomputer/output/noindex/page.html"),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("I could not deploy."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.deploy.max_site_mb = 1;
    let server = TestServer::start(settings).await;
    let reply = chat(&server, "r").await;
    assert_eq!(reply["reply"], "I could not deploy.");
    let results = tool_results(&model);
    let deploys = &results[results.len() - 4..];
    assert!(deploys[0].contains("no index.html"), "{}", deploys[0]);
    assert!(
        deploys[1].contains("outside the workspace"),
        "{}",
        deploys[1]
    );
    assert!(
        deploys[2].contains("over the limit") && deploys[2].contains("deploy.max_site_mb"),
        "{}",
        deploys[2]
    );
    assert!(deploys[3].contains("is a file"), "{}", deploys[3]);
    for result in deploys {
        assert!(result.starts_with("Error:"), "{result}");
        assert!(
            !result.contains(dir.path().to_str().unwrap()),
            "no host path: {result}"
        );
    }
    let sites: Vec<_> = std::fs::read_dir(dir.path().join("sites"))
        .unwrap()
        .collect();
    assert!(sites.is_empty(), "nothing was published");
    assert_eq!(reply["web_preview"], Value::Null);
    server.shutdown().await;
}

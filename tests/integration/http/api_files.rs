//! Workspace files and deployed sites: listing, downloads, and nothing outside reachable.

use support::fake_model::*;
use support::server::*;

use super::server;

#[tokio::test]
async fn workspace_files_are_listed_and_downloaded_and_nothing_outside_is_reachable() {
    let model = FakeModel::start().await;
    let (server, dir) = server(&model).await;
    server.get("/api/session/boot?client_id=wf").await;
    let root = dir.path().join("workspaces/local/wf");
    std::fs::write(root.join("output/report.md"), "# Report").unwrap();
    std::fs::write(root.join("output/page.html"), "<script>alert(1)</script>").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOPSECRET-CONTENT").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("output/link.txt"))
        .unwrap();

    let (status, listing) = server
        .get("/api/session/workspace/files?client_id=wf&path=output")
        .await;
    assert_eq!(status, 200);
    assert_eq!(listing["path"], "/mnt/okcomputer/output");
    let names: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["link.txt", "page.html", "report.md"]);
    assert!(
        !listing.to_string().contains(dir.path().to_str().unwrap()),
        "no host path"
    );

    let report = server
        .client
        .get(server.at("/api/session/workspace/files/output/report.md?client_id=wf"))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    assert_eq!(
        report.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    assert_eq!(report.text().await.unwrap(), "# Report");
    let page = server
        .client
        .get(server.at("/api/session/workspace/files/output/page.html?client_id=wf"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-disposition"], "attachment");
    assert_eq!(page.headers()["content-security-policy"], "sandbox");

    for path in [
        "output/link.txt",
        "..%2F..%2F..%2Fsecret.txt",
        "%2Fetc%2Fpasswd",
        "output/missing.txt",
    ] {
        let response = server
            .client
            .get(server.at(&format!("/api/session/workspace/files/{path}?client_id=wf")))
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(response).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert!(!body.to_string().contains("TOPSECRET"), "{path}: {body}");
        assert!(
            !body.to_string().contains(dir.path().to_str().unwrap()),
            "{path}: {body}"
        );
    }
    let (status, _) = server
        .get("/api/session/workspace/files?client_id=wf&path=../..")
        .await;
    assert_eq!(status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn deployed_sites_are_served_sandboxed_with_index_for_folders() {
    let model = FakeModel::start().await;
    let (server, dir) = server(&model).await;
    let id = "0123456789abcdef0123456789abcdef";
    let site = dir.path().join("sites").join(id);
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(site.join("index.html"), "<h1>Home</h1>").unwrap();
    std::fs::write(site.join("docs/index.html"), "<h1>Docs</h1>").unwrap();
    std::fs::write(site.join("style.css"), "h1{}").unwrap();

    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = no_redirect
        .get(server.at(&format!("/sites/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 301);
    assert_eq!(bare.headers()["location"], format!("/sites/{id}/"));

    let home = server
        .client
        .get(server.at(&format!("/sites/{id}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["content-type"], "text/html; charset=utf-8");
    assert!(home.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("sandbox allow-scripts"));
    assert_eq!(home.text().await.unwrap(), "<h1>Home</h1>");
    let docs = server
        .client
        .get(server.at(&format!("/sites/{id}/docs/")))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.text().await.unwrap(), "<h1>Docs</h1>");
    let css = server
        .client
        .get(server.at(&format!("/sites/{id}/style.css")))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    for path in [
        format!("/sites/{id}/missing.html"),
        "/sites/ffffffffffffffffffffffffffffffff/".to_string(),
        "/sites/not-an-id/".to_string(),
        format!("/sites/{id}/..%2F..%2Fokcvm.redb"),
    ] {
        let (status, body) = server.get(&path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("site_not_found")),
            "{path}"
        );
    }
    server.shutdown().await;
}

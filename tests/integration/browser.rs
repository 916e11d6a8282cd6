//! The browser tools in real headless Chromium against pages served by the test on 127.0.0.1
//! (allowlisted): visit, the element list, clicking a link, filling and submitting a form, find,
//! scrolling, two sessions not sharing a cookie, a page that hangs, and the network guard inside
//! the browser. Needs Chromium, which .ci/run installs.

mod restart;

use std::time::Duration;

use okcvm_actors::config::Settings;
use okcvm_actors::session::SessionHandle;
use okcvm_actors::tool::ToolOutput;
use serde_json::{json, Value};
use support::fake_http::{FakeHttp, Reply};
use support::runtime::{local, start, test_settings};

fn html(body: &str) -> Reply {
    Reply::bytes("text/html; charset=utf-8", body.as_bytes().to_vec())
}

async fn run(session: &SessionHandle, tool: &str, args: Value) -> Result<ToolOutput, String> {
    let outcome = session.call_tool(tool, &args.to_string()).await.unwrap();
    outcome.result.map_err(|e| e.to_string())
}

fn browser_settings(dir: &std::path::Path) -> Settings {
    let mut settings = test_settings(dir, "http://127.0.0.1:9/v1");
    settings.web.allow = vec!["127.0.0.1".into()];
    settings.browser.page_timeout_s = 3.0;
    assert!(
        okcvm_actors::tool::find_chromium(&settings.browser).is_some(),
        "the browser tests need Chromium (.ci/run installs it: apt-get install chromium)"
    );
    settings
}

#[tokio::test]
async fn visit_lists_elements_and_click_input_find_and_scroll_work() {
    let site = FakeHttp::start().await;
    site.on(
        "GET",
        "/",
        html(
            r#"<html><head><title>Home</title></head><body><main><h1>Welcome</h1>
            <p>Read <a href="/about">about us</a> or search.</p>
            <form action="/search"><input name="q" placeholder="Search"><button type="submit">Go</button></form>
            <p>The word kiwi appears here. And kiwi again.</p>
            <div style="height: 3000px"></div><p>Far below: the footer kiwi.</p></main></body></html>"#,
        ),
    );
    site.on(
        "GET",
        "/about",
        html("<title>About</title><h1>About us</h1><p>We make things.</p>"),
    );
    site.on(
        "GET",
        "/search",
        html("<title>Results</title><h1>Results</h1>"),
    );
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(browser_settings(dir.path())).await;
    let session = runtime.session(local("b")).unwrap();
    let home = format!("{}/", site.url);

    let page = run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(page.text.contains("Page: Home\n"), "{}", page.text);
    assert!(
        page.text.contains("[0] a \"about us\" -> "),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("[1] input[text] name=\"q\" placeholder=\"Search\"\n"),
        "{}",
        page.text
    );
    assert!(page.text.contains("[2] button \"Go\""), "{}", page.text);
    assert!(
        page.text.contains("# Welcome"),
        "markdown content: {}",
        page.text
    );
    let data = page.data.unwrap();
    assert_eq!(data["media"], "image");
    let shot = dir.path().join("workspaces/local/b").join(
        data["file"]
            .as_str()
            .unwrap()
            .trim_start_matches("/mnt/okcomputer/"),
    );
    assert_eq!(
        &std::fs::read(&shot).unwrap()[1..4],
        b"PNG",
        "a screenshot in the workspace"
    );

    let found = run(
        &session,
        "browser_find",
        json!({"keyword": "KIWI", "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(
        found.text.starts_with("3 matches of \"KIWI\""),
        "{}",
        found.text
    );
    let skipped = run(
        &session,
        "browser_find",
        json!({"keyword": "kiwi", "citation_id": 0, "url": home, "skip": 2}),
    )
    .await
    .unwrap();
    assert!(
        skipped.text.contains("3. …") && skipped.text.contains("footer kiwi"),
        "{}",
        skipped.text
    );

    let scrolled = run(
        &session,
        "browser_scroll_down",
        json!({"scroll_amount": 1500, "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(
        scrolled.text.contains("Scrolled to 1500 of"),
        "{}",
        scrolled.text
    );
    assert!(
        !scrolled.text.contains("[0] a \"about us\""),
        "the list is of what is in view now"
    );
    let back = run(
        &session,
        "browser_scroll_up",
        json!({"scroll_amount": 1500, "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(back.text.contains("Scrolled to 0 of"), "{}", back.text);

    let typed = run(
        &session,
        "browser_input",
        json!({"content": "hello world\n", "element_index": 1, "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(
        typed.text.contains("Page: Results"),
        "Enter submitted the form: {}",
        typed.text
    );
    let request = site
        .seen()
        .into_iter()
        .find(|r| r.path == "/search")
        .unwrap();
    assert_eq!(request.param("q").as_deref(), Some("hello world"));

    run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    let clicked = run(
        &session,
        "browser_click",
        json!({"element_index": 0, "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(
        clicked.text.contains("Page: About") && clicked.text.contains("We make things."),
        "{}",
        clicked.text
    );
    let state = run(&session, "browser_state", json!({})).await.unwrap();
    assert!(state.text.contains("Page: About"), "{}", state.text);
    let missing = run(
        &session,
        "browser_click",
        json!({"element_index": 40, "citation_id": 0, "url": home}),
    )
    .await
    .unwrap_err();
    assert!(missing.contains("no element [40]"), "{missing}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn sessions_do_not_share_cookies_and_a_hanging_page_times_out() {
    let site = FakeHttp::start().await;
    site.on(
        "GET",
        "/set",
        Reply {
            headers: vec![
                ("content-type".into(), "text/html".into()),
                ("set-cookie".into(), "who=alice; Path=/".into()),
            ],
            ..html("<title>Set</title>")
        },
    );
    site.on("GET", "/show", html("<title>Show</title>"));
    site.on(
        "GET",
        "/hang",
        html("<title>Never</title>").after(Duration::from_secs(30)),
    );
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(browser_settings(dir.path())).await;
    let alice = runtime.session(local("alice")).unwrap();
    let bob = runtime.session(local("bob")).unwrap();
    let url = |p: &str| format!("{}{p}", site.url);

    run(
        &alice,
        "browser_visit",
        json!({"citation_id": 0, "url": url("/set")}),
    )
    .await
    .unwrap();
    run(
        &alice,
        "browser_visit",
        json!({"citation_id": 0, "url": url("/show")}),
    )
    .await
    .unwrap();
    run(
        &bob,
        "browser_visit",
        json!({"citation_id": 0, "url": url("/show")}),
    )
    .await
    .unwrap();
    let shows: Vec<Option<String>> = site
        .seen()
        .into_iter()
        .filter(|r| r.path == "/show")
        .map(|r| r.headers.get("cookie").cloned())
        .collect();
    assert_eq!(
        shows,
        [Some("who=alice".to_owned()), None],
        "alice's cookie stays in alice's session"
    );

    let hung = run(
        &alice,
        "browser_visit",
        json!({"citation_id": 0, "url": url("/hang")}),
    )
    .await
    .unwrap();
    assert!(
        hung.text.contains("did not finish loading within 3 s"),
        "{}",
        hung.text
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn the_guard_holds_inside_the_browser() {
    let site = FakeHttp::start().await;
    site.on(
        "GET",
        "/",
        html(r#"<title>Sneaky</title><h1>Hi</h1><img src="http://169.254.169.254/latest/meta-data/">"#),
    );
    site.on("GET", "/go", Reply::redirect("http://10.0.0.7/admin"));
    let dir = tempfile::tempdir().unwrap();

    // Not allowlisted: the page on loopback is refused before the browser is asked.
    let mut settings = browser_settings(dir.path());
    settings.web.allow.clear();
    let runtime = start(settings).await;
    let session = runtime.session(local("g")).unwrap();
    let refused = run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": format!("{}/", site.url)}),
    )
    .await
    .unwrap_err();
    assert!(refused.contains("loopback"), "{refused}");
    let refused = run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": "http://169.254.169.254/latest/"}),
    )
    .await
    .unwrap_err();
    assert!(refused.contains("metadata"), "{refused}");
    runtime.shutdown().await;
    assert!(site.seen().is_empty());

    // Allowlisted: the page loads, but what it pulls from the metadata address is blocked,
    // and a redirect into the private network is refused.
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(browser_settings(dir.path())).await;
    let session = runtime.session(local("g")).unwrap();
    let page = run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": format!("{}/", site.url)}),
    )
    .await
    .unwrap();
    assert!(
        page.text
            .contains("Blocked by the network guard:\n- http://169.254.169.254/latest/meta-data/"),
        "{}",
        page.text
    );
    let redirected = run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": format!("{}/go", site.url)}),
    )
    .await
    .unwrap_err();
    assert!(
        redirected.contains("10.0.0.7") && redirected.contains("private"),
        "{redirected}"
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn without_chromium_pages_are_fetched_and_read_and_clicking_says_a_browser_is_needed() {
    let site = FakeHttp::start().await;
    let mut body = String::from(
        "<title>Plain</title><h1>Plain page</h1><p>See <a href=\"/next\">the next page</a>.</p>",
    );
    for i in 0..200 {
        body.push_str(&format!("<p>Line {i} of the long text.</p>"));
    }
    site.on("GET", "/", html(&body));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), "http://127.0.0.1:9/v1");
    settings.web.allow = vec!["127.0.0.1".into()];
    settings.browser.path = Some("/nonexistent/chromium".into());
    let runtime = start(settings).await;
    let session = runtime.session(local("f")).unwrap();
    let home = format!("{}/", site.url);

    let page = run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(
        page.text.contains("Page: Plain\n") && page.text.contains("No browser runs here"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(&format!(
            "- the next page -> {}next",
            site.url.clone() + "/"
        )),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("Content (lines 1 to 202 of 202):\n# Plain page"),
        "{}",
        page.text
    );
    let found = run(
        &session,
        "browser_find",
        json!({"keyword": "line 17 ", "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(found.text.starts_with("1 lines with"), "{}", found.text);
    let scrolled = run(
        &session,
        "browser_scroll_down",
        json!({"scroll_amount": 400, "citation_id": 0, "url": home}),
    )
    .await
    .unwrap();
    assert!(
        scrolled.text.contains("Content (lines 21 to"),
        "{}",
        scrolled.text
    );
    let state = run(&session, "browser_state", json!({})).await.unwrap();
    assert!(
        state.text.contains("Content (lines 21 to"),
        "{}",
        state.text
    );
    for tool in ["browser_click", "browser_input"] {
        let args = json!({"element_index": 0, "citation_id": 0, "url": home, "content": "x"});
        let mut args = args.as_object().unwrap().clone();
        if tool == "browser_click" {
            args.remove("content");
        }
        let error = run(&session, tool, Value::Object(args)).await.unwrap_err();
        assert!(
            error.contains("needs a browser") && error.contains("browser.path"),
            "{tool}: {error}"
        );
    }
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_search_result_is_opened_by_its_citation_id() {
    let site = FakeHttp::start().await;
    site.on(
        "GET",
        "/found",
        html("<title>Found it</title><h1>The page a search found</h1>"),
    );
    let search = FakeHttp::start().await;
    search.on(
        "GET",
        "/search",
        Reply::json(json!({"results": [{"title": "Found", "url": format!("{}/found", site.url), "content": "..."}]})),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut settings = browser_settings(dir.path());
    settings.search = Some(okcvm_actors::config::SearchSettings {
        provider: okcvm_actors::config::SearchProvider::Searxng,
        base_url: Some(search.url.clone()),
        api_key: None,
        api_key_env: None,
    });
    let runtime = start(settings).await;
    let session = runtime.session(local("c")).unwrap();
    let results = run(&session, "web_search", json!({"queries": ["found"]}))
        .await
        .unwrap();
    assert!(results.text.contains("[1] Found"), "{}", results.text);
    let page = run(
        &session,
        "browser_visit",
        json!({"citation_id": 1, "url": ""}),
    )
    .await
    .unwrap();
    assert!(page.text.contains("Page: Found it"), "{}", page.text);
    let unknown = run(
        &session,
        "browser_visit",
        json!({"citation_id": 7, "url": ""}),
    )
    .await
    .unwrap_err();
    assert!(unknown.contains("citation id"), "{unknown}");
    runtime.shutdown().await;
}

#[tokio::test]
async fn clearing_a_session_closes_its_pages() {
    let site = FakeHttp::start().await;
    site.on("GET", "/", html("<title>Open</title><h1>Open</h1>"));
    let dir = tempfile::tempdir().unwrap();
    let runtime = start(browser_settings(dir.path())).await;
    let session = runtime.session(local("clear")).unwrap();
    run(
        &session,
        "browser_visit",
        json!({"citation_id": 0, "url": format!("{}/", site.url)}),
    )
    .await
    .unwrap();
    session.clear().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let error = run(&session, "browser_state", json!({})).await.unwrap_err();
    assert!(error.contains("no page is open"), "{error}");
    runtime.shutdown().await;
}

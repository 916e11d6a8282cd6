//! The web console end to end: the real server (its model a scripted fake) driven in headless
//! Chromium through Playwright, one scenario per feature. Each scenario is a script under
//! frontend/tests/e2e/; this file scripts the model, starts the server, runs the scenario and
//! acts on the server side when the scenario signals. Needs node, frontend/node_modules
//! (`npm ci --prefix frontend`) and Chromium, which .ci/run installs.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use support::fake_model::*;
use support::runtime::test_settings;
use support::server::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Scenarios run one at a time: each drives a whole browser, and two machine cores shared by
/// parallel browsers would make their timing the test's subject.
fn serial() -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCK: std::sync::OnceLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
        std::sync::OnceLock::new();
    LOCK.get_or_init(Default::default).clone()
}

/// One scenario running in Chromium.
struct Scenario {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    output: String,
}

fn frontend() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("frontend")
}

impl Scenario {
    async fn start(name: &str, url: &str) -> Self {
        Self::start_with(name, url, &[]).await
    }

    /// With `OKCVM_E2E_<NAME>` values for the scenario (`ctx.env.<name>`).
    async fn start_with(name: &str, url: &str, env: &[(&str, &str)]) -> Self {
        let turn = serial().lock_owned().await;
        let dir = frontend();
        assert!(
            dir.join("node_modules/playwright-core").is_dir(),
            "the console tests need playwright-core: run `npm ci --prefix frontend` (.ci/run does)"
        );
        let screenshots = std::env::var("OKCVM_SCREENSHOTS").unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/console-screenshots")
                .display()
                .to_string()
        });
        let mut child = tokio::process::Command::new("node")
            .arg("tests/e2e/run.mjs")
            .arg(name)
            .arg(url)
            .current_dir(&dir)
            .env("OKCVM_SCREENSHOTS", screenshots)
            .envs(
                env.iter()
                    .map(|(k, v)| (format!("OKCVM_E2E_{}", k.to_uppercase()), *v)),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (the console tests need Node.js)");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            _turn: turn,
            name: name.to_owned(),
            child,
            stdin,
            lines,
            output: String::new(),
        }
    }

    /// The next thing the scenario signals (`None` once it has finished).
    async fn signal(&mut self) -> Option<String> {
        loop {
            let line = tokio::time::timeout(SCENARIO_TIMEOUT, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("{} timed out:\n{}", self.name, self.output))
                .unwrap()?;
            self.output.push_str(&line);
            self.output.push('\n');
            if let Some(signal) = line.strip_prefix("SIGNAL ") {
                return Some(signal.to_owned());
            }
        }
    }

    /// Lets the scenario go on after a signal.
    async fn answer(&mut self) {
        self.stdin.write_all(b"ok\n").await.unwrap();
    }

    /// Waits for the end; fails the test when the scenario failed.
    async fn finish(mut self) {
        if let Some(signal) = self.signal().await {
            panic!("{}: unexpected signal {signal}", self.name);
        }
        let status = tokio::time::timeout(SCENARIO_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit:\n{}", self.name, self.output))
            .unwrap();
        assert!(
            status.success(),
            "console scenario {} failed (its error is above):\n{}",
            self.name,
            self.output
        );
    }
}

async fn run(name: &str, url: &str) {
    Scenario::start(name, url).await.finish().await;
}

/// A TCP proxy in front of the server whose connections the test can cut (a dropped network,
/// a laptop going to sleep) while new ones still get through.
struct Proxy {
    url: String,
    cut: tokio::sync::broadcast::Sender<()>,
}

impl Proxy {
    async fn start(target: &str) -> Self {
        let target: std::net::SocketAddr = target.trim_start_matches("http://").parse().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (cut, _) = tokio::sync::broadcast::channel(4);
        let cuts = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut stop = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = stop.recv() => {}
                    }
                });
            }
        });
        Self { url, cut }
    }

    /// Drops every open connection.
    fn cut(&self) {
        let _ = self.cut.send(());
    }
}

async fn server_with(model: &FakeModel) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_settings(dir.path(), &model.base_url())).await;
    (server, dir)
}

#[tokio::test]
async fn chat_streams_markdown_keeps_replies_inert_and_survives_a_reload() {
    let model = FakeModel::start().await;
    let reply = "Here is **bold** and code:\n\n```python\nprint('hi')\n```\n\n<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\">\n\n| a | b |\n|---|---|\n| 1 | 2 |";
    let mut chunks = vec![ev_reasoning("Let me think about it.")];
    for piece in reply.split_inclusive(' ') {
        chunks.push(ev_text(piece).with_delay(Duration::from_millis(15)));
    }
    chunks.push(ev_usage(42, 17));
    chunks.push(ev_done());
    model.push(sse(chunks));
    let (server, _dir) = server_with(&model).await;
    run("chat", &server.url).await;
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    let messages = requests[0].body["messages"].as_array().unwrap();
    assert_eq!(
        messages.last().unwrap()["content"],
        "Show me some *markdown*"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_mid_turn_resumes_with_nothing_missing_or_doubled() {
    let model = FakeModel::start().await;
    let mut chunks: Vec<Chunk> = (0..40)
        .map(|i| ev_text(&format!("word{i} ")).with_delay(Duration::from_millis(100)))
        .collect();
    chunks.push(ev_done());
    model.push(sse(chunks));
    let (server, _dir) = server_with(&model).await;
    let proxy = Proxy::start(&server.url).await;
    let mut scenario = Scenario::start("reconnect", &proxy.url).await;
    assert_eq!(scenario.signal().await.as_deref(), Some("cut"));
    proxy.cut();
    scenario.answer().await;
    scenario.finish().await;
    server.shutdown().await;
}

#[test]
fn the_consoles_own_unit_tests_pass() {
    let output = std::process::Command::new("node")
        .args(["--test", "tests/unit/"])
        .current_dir(frontend())
        .output()
        .expect("node runs (the console tests need Node.js)");
    assert!(
        output.status.success(),
        "console unit tests failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("# fail 0") && !report.contains("# pass 0"),
        "{report}"
    );
}

#[tokio::test]
async fn tool_cards_show_progress_live_in_a_second_tab_and_come_back_after_a_reload() {
    let model = FakeModel::start().await;
    model.push(sse(vec![
        ev_text("Let me look."),
        ev_tool_call(
            "c1",
            "mshtools-shell",
            &json!({"command": "sleep 1.5; echo hello from the sandbox"}).to_string(),
        ),
        ev_tool_call(
            "c2",
            "mshtools-read_file",
            &json!({"file_path": "/mnt/okcomputer/missing.txt"}).to_string(),
        ),
        ev_tool_call(
            "c3",
            "mshtools-ipython",
            &json!({"code": "from PIL import Image\nImage.new('RGB', (8, 8), (200, 30, 30))"})
                .to_string(),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("The sandbox said hello."), ev_done()]));
    let (server, _dir) = server_with(&model).await;
    run("tools", &server.url).await;
    server.shutdown().await;
}

fn write_file(content: &str) -> Chunk {
    ev_tool_call(
        &format!("w-{content}"),
        "mshtools-write_file",
        &json!({"file_path": "/mnt/okcomputer/output/a.txt", "content": content}).to_string(),
    )
}

#[tokio::test]
async fn editing_regenerating_and_switching_versions_bring_back_their_files() {
    let model = FakeModel::start().await;
    model.push(sse(vec![write_file("first"), ev_done()]));
    model.push(sse(vec![ev_text("Wrote first."), ev_done()]));
    model.push(sse(vec![write_file("edited"), ev_done()]));
    model.push(sse(vec![ev_text("Wrote edited."), ev_done()]));
    model.push(sse(vec![ev_text("A regenerated answer."), ev_done()]));
    let (server, _dir) = server_with(&model).await;
    run("branches", &server.url).await;
    server.shutdown().await;
}

#[tokio::test]
async fn conversations_are_titled_searched_renamed_deleted_and_kept_open_across_a_reload() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("Let's plan it."), ev_done()]));
    model.push(sse(vec![ev_text("Here's a budget."), ev_done()]));
    let (server, dir) = server_with(&model).await;
    run("conversations", &server.url).await;
    // The deleted conversation's workspace holds nothing any more; the other keeps its files.
    let mut files: Vec<usize> = std::fs::read_dir(dir.path().join("workspaces/local"))
        .unwrap()
        .flatten()
        .map(|w| std::fs::read_dir(w.path()).unwrap().count())
        .collect();
    files.sort_unstable();
    assert_eq!(
        files,
        [0, 2],
        "output/ and upload/ stay only in the kept conversation"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn uploads_show_limits_refuse_big_files_and_reach_the_agent() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("I see your files."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.uploads.max_files = 3;
    settings.uploads.max_file_mb = 1;
    let server = TestServer::start(settings).await;
    run("uploads", &server.url).await;
    let requests = model.requests();
    let sent = requests[0].body["messages"].to_string();
    assert!(sent.contains("/mnt/okcomputer/upload/notes.txt"), "{sent}");
    assert!(sent.contains("/mnt/okcomputer/upload/table.csv"), "{sent}");
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_chat_model_settings_open_and_saving_one_makes_chat_work() {
    let model = FakeModel::start().await;
    model.push(sse(vec![ev_text("Configured and working."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.chat = None;
    let server = TestServer::start(settings).await;
    let scenario =
        Scenario::start_with("settings", &server.url, &[("model_url", &model.base_url())]).await;
    scenario.finish().await;
    let requests = model.requests();
    assert_eq!(
        requests[0].headers.get("authorization").map(String::as_str),
        Some("Bearer sk-secret-value"),
        "the saved key is what the model server receives"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn with_tokens_the_console_signs_in_and_out() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.auth.mode = okcvm_actors::config::AuthMode::Tokens;
    let store = std::sync::Arc::new(okcvm::auth::TokenStore::open(dir.path()).unwrap());
    let (_, token) = store.create("team-a", None).unwrap();
    let server = TestServer::start_with_auth(settings, Some(store)).await;
    Scenario::start_with("signin", &server.url, &[("token", &token)])
        .await
        .finish()
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn stop_ends_a_running_turn_and_keeps_what_was_written() {
    let model = FakeModel::start().await;
    let mut chunks: Vec<Chunk> = ["Once ", "upon ", "a ", "time "]
        .iter()
        .map(|t| ev_text(t).with_delay(Duration::from_millis(100)))
        .collect();
    chunks.extend((0..50).map(|_| ev_text("more ").with_delay(Duration::from_millis(200))));
    chunks.push(ev_text("The end."));
    chunks.push(ev_done());
    model.push(sse(chunks));
    let (server, _dir) = server_with(&model).await;
    run("stop", &server.url).await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_answer_cut_off_by_the_model_connection_is_kept_and_marked_after_a_reload() {
    let model = FakeModel::start().await;
    model.push(sse_dropped(vec![
        ev_text("The first half "),
        ev_text("of the answer"),
    ]));
    let (server, _dir) = server_with(&model).await;
    run("cutoff", &server.url).await;
    server.shutdown().await;
}

/// A 1x1 PNG, written by the shell tool (`base64 -d`).
const DOT_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test]
async fn the_results_panel_shows_the_site_deck_media_files_and_restores_snapshots() {
    let model = FakeModel::start().await;
    let slides = "<title>Launch</title><div class=\"ppt-slide\"><h1>Launch plan</h1><ul><li>Beta in May</li></ul></div>";
    let call = |id: &str, name: &str, args: serde_json::Value| {
        ev_tool_call(id, &format!("mshtools-{name}"), &args.to_string())
    };
    model.push(sse(vec![
        call("a", "write_file", json!({"file_path": "/mnt/okcomputer/output/site/index.html", "content": "<title>Trip</title><h1>Welcome aboard</h1>"})),
        call("b", "deploy_website", json!({"type": "static", "local_dir": "/mnt/okcomputer/output/site"})),
        call("c", "write_file", json!({"file_path": "/mnt/okcomputer/slides.html", "content": slides})),
        call("d", "slides_generator", json!({"file_path": "/mnt/okcomputer/slides.html"})),
        call("e", "write_file", json!({"file_path": "/mnt/okcomputer/output/notes.txt", "content": "v1"})),
        call("f", "shell", json!({"command": format!("echo {DOT_PNG} | base64 -d > /mnt/okcomputer/output/dot.png")})),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("All done."), ev_done()]));
    model.push(sse(vec![
        call(
            "g",
            "write_file",
            json!({"file_path": "/mnt/okcomputer/output/notes.txt", "content": "v2"}),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Changed."), ev_done()]));
    let (server, _dir) = server_with(&model).await;
    run("results", &server.url).await;
    server.shutdown().await;
}

#[tokio::test]
async fn on_a_phone_panels_fold_away_dark_mode_sticks_and_every_control_is_named() {
    let model = FakeModel::start().await;
    let (server, _dir) = server_with(&model).await;
    run("layout", &server.url).await;
    server.shutdown().await;
}

#[tokio::test]
async fn generated_images_and_speech_show_and_play_in_cards_and_the_media_tab() {
    let model = FakeModel::start().await;
    let images = support::fake_http::FakeHttp::start().await;
    images.on(
        "POST",
        "/v1/images/generations",
        support::fake_http::Reply::json(json!({"data": [{"b64_json": DOT_PNG}]})),
    );
    model.push(sse(vec![
        ev_tool_call(
            "i",
            "mshtools-generate_image",
            &json!({"description": "a dot", "output_file": "/mnt/okcomputer/output/dot.png"}).to_string(),
        ),
        ev_tool_call(
            "s",
            "mshtools-generate_speech",
            &json!({"text": "Hello from the console test.", "voice_id": "en-us", "output_path": "/mnt/okcomputer/output/hello.wav"}).to_string(),
        ),
        ev_done(),
    ]));
    model.push(sse(vec![ev_text("Here they are."), ev_done()]));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), &model.base_url());
    settings.web.allow = vec!["127.0.0.1".into()];
    settings.media.image = Some(okcvm_actors::config::EndpointSettings {
        model: "dall-e-3".into(),
        base_url: format!("{}/v1", images.url),
        api_key: None,
        api_key_env: None,
        supports_streaming: true,
    });
    settings.media.local_speech = okcvm_actors::config::LocalSpeech::EspeakNg;
    let server = TestServer::start(settings).await;
    run("media", &server.url).await;
    server.shutdown().await;
}

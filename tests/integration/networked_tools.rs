//! The networked tools against fake providers on 127.0.0.1 that speak the real APIs' formats:
//! search (SearXNG, Brave, Tavily), Yahoo Finance, image, speech, voices, sound effects and
//! transcription; espeak-ng for offline speech; and the network guard refusing what tools must
//! not reach. The test's own address is allowlisted where a provider must be reached.

use std::time::Duration;

use base64::Engine;
use okcvm_actors::config::{
    EndpointSettings, LocalSpeech, SearchProvider, SearchSettings, Settings,
};
use okcvm_actors::tool::{ToolError, ToolOutput};
use serde_json::{json, Value};
use support::fake_http::{FakeHttp, Reply};
use support::runtime::{local, start, test_settings};

fn endpoint(model: &str, base: &str) -> EndpointSettings {
    EndpointSettings {
        model: model.into(),
        base_url: base.into(),
        api_key: Some("sk-media".into()),
        api_key_env: None,
        supports_streaming: true,
    }
}

/// Settings reaching `fake` (allowlisted), with `change` applied.
fn settings(dir: &std::path::Path, change: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = test_settings(dir, "http://127.0.0.1:9/v1");
    settings.web.allow = vec!["127.0.0.1".into()];
    change(&mut settings);
    settings
}

async fn call(
    settings: Settings,
    tool: &str,
    args: Value,
) -> (Result<ToolOutput, ToolError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        ..settings
    };
    let runtime = start(settings).await;
    let session = runtime.session(local("net")).unwrap();
    let outcome = session.call_tool(tool, &args.to_string()).await.unwrap();
    runtime.shutdown().await;
    (outcome.result, dir)
}

fn search(provider: SearchProvider, url: &str) -> SearchSettings {
    SearchSettings {
        provider,
        base_url: Some(url.into()),
        api_key: Some("search-key".into()),
        api_key_env: None,
    }
}

#[tokio::test]
async fn searxng_runs_every_query_and_numbers_results_as_stable_citations() {
    let fake = FakeHttp::start().await;
    fake.on(
        "GET",
        "/search",
        Reply::json(json!({"results": [
            {"title": "Kyoto guide", "url": "https://guide.example/kyoto", "content": "Temples and gardens."},
            {"title": "Weather", "url": "https://weather.example/kyoto", "content": "Mild in spring."},
        ]})),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |s| {
        s.search = Some(search(SearchProvider::Searxng, &fake.url))
    });
    let (result, _d) = call(
        s,
        "web_search",
        json!({"queries": ["kyoto travel", "kyoto weather"]}),
    )
    .await;
    let output = result.unwrap();
    assert!(output.text.contains("## Results for \"kyoto travel\"\n[1] Kyoto guide\nURL: https://guide.example/kyoto\nTemples and gardens."), "{}", output.text);
    // The same URL keeps its citation id in the second query's results.
    assert!(
        output
            .text
            .contains("## Results for \"kyoto weather\"\n[1] Kyoto guide"),
        "{}",
        output.text
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    let mut queries: Vec<String> = seen.iter().map(|s| s.param("q").unwrap()).collect();
    queries.sort();
    assert_eq!(queries, ["kyoto travel", "kyoto weather"]);
    assert!(seen
        .iter()
        .all(|s| s.param("format").as_deref() == Some("json")));
    let data = output.data.unwrap();
    assert_eq!(data["searches"][0]["results"][1]["citation_id"], 2);
}

#[tokio::test]
async fn brave_and_tavily_get_their_own_requests_and_total_count_is_honoured() {
    let fake = FakeHttp::start().await;
    let images: Vec<Value> = (0..5)
        .map(|i| json!({"title": format!("cat {i}"), "url": format!("https://page.example/{i}"), "properties": {"url": format!("https://img.example/{i}.jpg")}}))
        .collect();
    fake.on(
        "GET",
        "/images/search",
        Reply::json(json!({"results": images})),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |s| {
        s.search = Some(search(SearchProvider::Brave, &fake.url))
    });
    let (result, _d) = call(
        s,
        "image_search",
        json!({"queries": ["cats", "kittens"], "total_count": 3}),
    )
    .await;
    let output = result.unwrap();
    assert!(
        output
            .text
            .starts_with("# Found 3 images\n- Image 1 (https://img.example/0.jpg) cat 0"),
        "{}",
        output.text
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.headers["x-subscription-token"], "search-key");
        assert_eq!(
            request.param("count").as_deref(),
            Some("2"),
            "3 images over 2 queries"
        );
    }

    let tavily = FakeHttp::start().await;
    tavily.on(
        "POST",
        "/search",
        Reply::json(json!({"results": [{"title": "T", "url": "https://t.example/", "content": "tavily says"}]})),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |s| {
        s.search = Some(search(SearchProvider::Tavily, &tavily.url))
    });
    let (result, _d) = call(s, "web_search", json!({"queries": ["q"]})).await;
    assert!(result
        .unwrap()
        .text
        .contains("[1] T\nURL: https://t.example/\ntavily says"));
    let request = &tavily.seen()[0];
    assert_eq!(request.headers["authorization"], "Bearer search-key");
    assert_eq!(request.json()["query"], "q");
    assert_eq!(request.json()["include_images"], false);
}

#[tokio::test]
async fn the_queries_of_one_call_are_in_flight_together() {
    let fake = FakeHttp::start().await;
    fake.on(
        "GET",
        "/search",
        Reply::json(
            json!({"results": [{"title": "x", "url": "https://x.example/", "content": ""}]}),
        )
        .after(Duration::from_millis(300)),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |s| {
        s.search = Some(search(SearchProvider::Searxng, &fake.url))
    });
    let (result, _d) = call(
        s,
        "web_search",
        json!({"queries": ["a", "b", "c", "d", "e"]}),
    )
    .await;
    result.unwrap();
    assert_eq!(
        fake.most_at_once(),
        5,
        "all five queries were waiting on the provider at once"
    );
}

#[tokio::test]
async fn without_a_provider_the_tools_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |_| {});
    for (tool, args, setting) in [
        ("web_search", json!({"queries": ["x"]}), "search.provider"),
        ("image_search", json!({"queries": ["x"]}), "search.provider"),
        (
            "generate_image",
            json!({"description": "x", "output_file": "/mnt/okcomputer/output/x.png"}),
            "media.image",
        ),
        (
            "generate_speech",
            json!({"text": "x", "voice_id": "v", "output_path": "/mnt/okcomputer/output/x.mp3"}),
            "media.speech",
        ),
        ("get_available_voices", json!({}), "media.speech"),
        (
            "generate_sound_effects",
            json!({"description": "x", "duration": 2, "output_path": "/mnt/okcomputer/output/x.mp3"}),
            "media.sound_effects",
        ),
    ] {
        let (result, _d) = call(s.clone(), tool, args).await;
        let error = result.unwrap_err();
        assert!(
            matches!(error, ToolError::Unavailable(ref m) if m.contains(setting)),
            "{tool}: {error}"
        );
    }
}

#[tokio::test]
async fn the_guard_refuses_loopback_metadata_and_redirects_to_private_addresses() {
    let fake = FakeHttp::start().await;
    fake.on(
        "GET",
        "/search",
        Reply::redirect("http://169.254.169.254/latest/meta-data/"),
    );
    fake.on(
        "GET",
        "/v8/finance/chart/AAPL",
        Reply::redirect("http://10.0.0.7/internal"),
    );
    let dir = tempfile::tempdir().unwrap();

    // Not allowlisted: the provider on loopback itself is refused, before anything is sent.
    let mut s = settings(dir.path(), |s| {
        s.search = Some(search(SearchProvider::Searxng, &fake.url))
    });
    s.web.allow.clear();
    let (result, _d) = call(s, "web_search", json!({"queries": ["x"]})).await;
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("loopback") && error.contains("web.allow"),
        "{error}"
    );
    assert!(fake.seen().is_empty());

    // Allowlisted, but redirected to the metadata address, or to the private network.
    let s = settings(dir.path(), |s| {
        s.search = Some(search(SearchProvider::Searxng, &fake.url));
        s.data_sources.yahoo_finance_url = fake.url.clone();
    });
    let (result, _d) = call(s.clone(), "web_search", json!({"queries": ["x"]})).await;
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("169.254.169.254") && error.contains("metadata"),
        "{error}"
    );
    let (result, _d) = call(s, "get_data_source", json!({"data_source_name": "yahoo_finance", "api_name": "chart", "params": {"symbol": "AAPL"}})).await;
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("10.0.0.7") && error.contains("private"),
        "{error}"
    );
}

#[tokio::test]
async fn yahoo_finance_is_described_and_called_with_checked_parameters() {
    let fake = FakeHttp::start().await;
    fake.on(
        "GET",
        "/v8/finance/chart/AAPL",
        Reply::json(json!({"chart": {"result": [{"meta": {"symbol": "AAPL", "currency": "USD", "exchangeName": "NMS", "regularMarketPrice": 190.5},
            "timestamp": [1700000000, 1700086400],
            "indicators": {"quote": [{"open": [189.0, 190.0], "high": [191.0, 192.0], "low": [188.0, 189.5], "close": [190.1, 190.5], "volume": [100, 200]}]}}], "error": null}})),
    );
    fake.on(
        "GET",
        "/v7/finance/quote",
        Reply::json(json!({"quoteResponse": {"result": [{"symbol": "MSFT", "regularMarketPrice": 410.2, "currency": "USD", "somethingElse": 1}], "error": null}})),
    );
    fake.on(
        "GET",
        "/v1/finance/search",
        Reply::json(json!({"quotes": [{"symbol": "NVDA", "longname": "NVIDIA Corporation", "quoteType": "EQUITY", "exchDisp": "NASDAQ"}]})),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |s| {
        s.data_sources.yahoo_finance_url = fake.url.clone()
    });

    let (result, _d) = call(
        s.clone(),
        "get_data_source_desc",
        json!({"data_source_name": "yahoo_finance"}),
    )
    .await;
    let text = result.unwrap().text;
    for api in ["`quote`", "`chart`", "`search`", "`symbols`", "`range`"] {
        assert!(text.contains(api), "{api} in {text}");
    }

    let (result, _d) = call(s.clone(), "get_data_source", json!({"data_source_name": "yahoo_finance", "api_name": "chart", "params": {"symbol": "AAPL", "range": "1y"}})).await;
    let output = result.unwrap();
    let data = output.data.unwrap();
    assert_eq!(data["result"]["bars"][1]["close"], 190.5);
    assert_eq!(data["result"]["currency"], "USD");
    let chart = fake
        .seen()
        .into_iter()
        .find(|r| r.path.starts_with("/v8"))
        .unwrap();
    assert_eq!(
        (
            chart.param("range").as_deref(),
            chart.param("interval").as_deref()
        ),
        (Some("1y"), Some("1d"))
    );

    let (result, _d) = call(s.clone(), "get_data_source", json!({"data_source_name": "yahoo_finance", "api_name": "quote", "params": {"symbols": "MSFT"}})).await;
    let quote = result.unwrap().data.unwrap();
    assert_eq!(quote["result"][0]["regularMarketPrice"], 410.2);
    assert!(
        quote["result"][0].get("somethingElse").is_none(),
        "only the documented fields"
    );

    let (result, _d) = call(s.clone(), "get_data_source", json!({"data_source_name": "yahoo_finance", "api_name": "search", "params": {"query": "nvidia"}})).await;
    assert_eq!(
        result.unwrap().data.unwrap()["result"][0]["name"],
        "NVIDIA Corporation"
    );

    for (args, expected) in [
        (
            json!({"data_source_name": "yahoo_finance", "api_name": "chart", "params": {"symbol": "AAPL", "range": "2w"}}),
            "one of",
        ),
        (
            json!({"data_source_name": "yahoo_finance", "api_name": "history", "params": {}}),
            "its APIs are quote, chart, search",
        ),
        (
            json!({"data_source_name": "bloomberg", "api_name": "quote"}),
            "unknown data source",
        ),
    ] {
        let (result, _d) = call(s.clone(), "get_data_source", args).await;
        let error = result.unwrap_err();
        assert!(
            matches!(error, ToolError::InvalidArguments(ref m) if m.contains(expected)),
            "{error}"
        );
    }
}

/// A 4x4 PNG from Python's zlib-free path: the smallest valid image we can carry inline.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test]
async fn images_speech_voices_sound_effects_and_transcripts_go_through_their_apis() {
    let fake = FakeHttp::start().await;
    fake.on(
        "POST",
        "/v1/images/generations",
        Reply::json(json!({"data": [{"b64_json": PNG_1X1, "revised_prompt": "a red dot"}]})),
    );
    // An MPEG-1 layer III frame at 128 kb/s, ten times.
    let mut mp3 = Vec::new();
    for _ in 0..10 {
        let mut frame = vec![0xff, 0xfb, 0x90, 0x64];
        frame.resize(417, 0);
        mp3.extend(frame);
    }
    fake.on(
        "POST",
        "/v1/audio/speech",
        Reply::bytes("audio/mpeg", mp3.clone()),
    );
    fake.on(
        "GET",
        "/v1/audio/voices",
        Reply::json(
            json!({"voices": ["af_bella", {"id": "am_adam", "name": "Adam", "language": "en-us"}]}),
        ),
    );
    fake.on(
        "POST",
        "/sfx/sound-generation",
        Reply::bytes("audio/mpeg", mp3.clone()),
    );
    fake.on(
        "POST",
        "/v1/audio/transcriptions",
        Reply::json(json!({"text": "hello from the recording"})),
    );
    let dir = tempfile::tempdir().unwrap();
    let api = format!("{}/v1", fake.url);
    let s = settings(dir.path(), |s| {
        s.media.image = Some(endpoint("dall-e-3", &api));
        s.media.speech = Some(endpoint("tts-1", &api));
        s.media.sound_effects = Some(endpoint(
            "eleven_text_to_sound_v2",
            &format!("{}/sfx", fake.url),
        ));
        s.media.asr = Some(endpoint("whisper-1", &api));
    });

    let (result, dir_a) = call(
        s.clone(),
        "generate_image",
        json!({"description": "a red dot", "output_file": "/mnt/okcomputer/output/dot.png"}),
    )
    .await;
    let output = result.unwrap();
    assert!(
        output
            .text
            .starts_with("Wrote /mnt/okcomputer/output/dot.png (1x1 PNG"),
        "{}",
        output.text
    );
    assert!(output.text.contains("revised the prompt to: a red dot"));
    let written = std::fs::read(dir_a.path().join("workspaces/local/net/output/dot.png")).unwrap();
    assert_eq!(
        written,
        base64::engine::general_purpose::STANDARD
            .decode(PNG_1X1)
            .unwrap()
    );
    let request = fake
        .seen()
        .into_iter()
        .find(|r| r.path.ends_with("generations"))
        .unwrap();
    assert_eq!(request.headers["authorization"], "Bearer sk-media");
    let body = request.json();
    assert_eq!(
        (
            body["model"].as_str(),
            body["prompt"].as_str(),
            body["size"].as_str(),
            body["response_format"].as_str()
        ),
        (
            Some("dall-e-3"),
            Some("a red dot"),
            Some("1024x1024"),
            Some("b64_json")
        )
    );

    let (result, dir_b) = call(s.clone(), "generate_speech", json!({"text": "Hello there.", "voice_id": "af_bella", "output_path": "/mnt/okcomputer/output/hello.mp3"})).await;
    let output = result.unwrap();
    let data = output.data.unwrap();
    assert_eq!(
        (data["format"].as_str(), data["bytes"].as_u64()),
        (Some("mp3"), Some(4170))
    );
    assert!(
        (data["duration_s"].as_f64().unwrap() - 0.26).abs() < 0.02,
        "{data}"
    );
    assert!(dir_b
        .path()
        .join("workspaces/local/net/output/hello.mp3")
        .is_file());
    let request = fake
        .seen()
        .into_iter()
        .find(|r| r.path.ends_with("/audio/speech"))
        .unwrap();
    assert_eq!(
        request.json(),
        json!({"model": "tts-1", "input": "Hello there.", "voice": "af_bella", "response_format": "mp3"})
    );

    let (result, _d) = call(s.clone(), "get_available_voices", json!({})).await;
    let voices = result.unwrap().data.unwrap()["voices"].clone();
    assert_eq!(voices[0]["voice_id"], "af_bella");
    assert_eq!(
        (
            voices[1]["voice_id"].as_str(),
            voices[1]["language"].as_str()
        ),
        (Some("am_adam"), Some("en-us"))
    );

    let (result, _d) = call(s.clone(), "generate_sound_effects", json!({"description": "a door creaks", "duration": 2.5, "output_path": "/mnt/okcomputer/output/door.mp3"})).await;
    result.unwrap();
    let request = fake
        .seen()
        .into_iter()
        .find(|r| r.path.ends_with("sound-generation"))
        .unwrap();
    assert_eq!(request.headers["xi-api-key"], "sk-media");
    assert_eq!(
        request.json(),
        json!({"text": "a door creaks", "duration_seconds": 2.5, "model_id": "eleven_text_to_sound_v2"})
    );
    let (result, _d) = call(
        s.clone(),
        "generate_sound_effects",
        json!({"description": "x", "duration": 30, "output_path": "/mnt/okcomputer/output/x.mp3"}),
    )
    .await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("22"), "the manifest's range: {error}");

    // read_file on audio: the transcript, with the file sent as multipart.
    let dir_c = tempfile::tempdir().unwrap();
    let s_c = Settings {
        data_dir: dir_c.path().to_path_buf(),
        ..s.clone()
    };
    let runtime = start(s_c).await;
    let session = runtime.session(local("asr")).unwrap();
    let uploads = dir_c.path().join("workspaces/local/asr/upload");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::write(uploads.join("memo.mp3"), &mp3).unwrap();
    let outcome = session
        .call_tool(
            "read_file",
            &json!({"file_path": "/mnt/okcomputer/upload/memo.mp3"}).to_string(),
        )
        .await
        .unwrap();
    let output = outcome.result.unwrap();
    assert!(
        output.text.starts_with(
            "Transcript of /mnt/okcomputer/upload/memo.mp3 (mp3, 0.3 s):\nhello from the recording"
        ),
        "{}",
        output.text
    );
    runtime.shutdown().await;
    let request = fake
        .seen()
        .into_iter()
        .find(|r| r.path.ends_with("transcriptions"))
        .unwrap();
    assert!(request.headers["content-type"].starts_with("multipart/form-data"));
    let body = String::from_utf8_lossy(&request.body);
    assert!(
        body.contains("name=\"model\"")
            && body.contains("whisper-1")
            && body.contains("filename=\"memo.mp3\""),
        "{body}"
    );
}

#[tokio::test]
async fn espeak_ng_speaks_offline_into_a_real_wav() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), |s| s.media.local_speech = LocalSpeech::EspeakNg);
    let (result, _d) = call(s.clone(), "get_available_voices", json!({})).await;
    let voices = result
        .expect("espeak-ng runs (the test suite needs it: apt-get install espeak-ng)")
        .data
        .unwrap()["voices"]
        .clone();
    assert!(
        voices
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["voice_id"] == "en-us"),
        "{voices}"
    );

    let (result, dir_w) = call(s.clone(), "generate_speech", json!({"text": "Hello from OKCVM.", "voice_id": "en-us", "output_path": "/mnt/okcomputer/output/hello.wav"})).await;
    let output = result.unwrap();
    let data = output.data.unwrap();
    assert_eq!(data["format"], "wav");
    let duration = data["duration_s"].as_f64().unwrap();
    assert!(duration > 0.5 && duration < 5.0, "{duration}");
    let wav = std::fs::read(dir_w.path().join("workspaces/local/net/output/hello.wav")).unwrap();
    assert_eq!(&wav[..4], b"RIFF");

    let (result, _d) = call(
        s,
        "generate_speech",
        json!({"text": "x", "voice_id": "en", "output_path": "/mnt/okcomputer/output/x.mp3"}),
    )
    .await;
    assert!(result.unwrap_err().to_string().contains("WAV"));
}

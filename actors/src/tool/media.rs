//! Media tools: `generate_image` (an OpenAI-compatible images API), `generate_speech` (an
//! OpenAI-compatible speech API, or espeak-ng on this machine), `get_available_voices`,
//! `generate_sound_effects` (an ElevenLabs-compatible sound API), and the transcript that
//! `read_file` gives of an audio file through an OpenAI-compatible transcription API.
//!
//! Files are written into the workspace where the model asked; results carry the path, size,
//! duration (when the audio says it) and format, so the console can show and play them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse_args, Tool, ToolContext, ToolError, ToolOutput, WorkspaceAccess};
use crate::config::{EndpointSettings, LocalSpeech};
use crate::workspace::uploads::size_display;

mod audio;

/// Longest text turned into speech at once.
const MAX_SPEECH_CHARS: usize = 4096;
/// Longest a local speech engine may run.
const LOCAL_SPEECH_TIMEOUT: Duration = Duration::from_secs(120);
/// Audio files `read_file` transcribes.
const AUDIO_EXTENSIONS: [&str; 7] = ["mp3", "wav", "m4a", "ogg", "flac", "webm", "mpga"];

/// Whether an agent path names an audio file (by its extension).
pub(crate) fn is_audio(path: &str) -> bool {
    AUDIO_EXTENSIONS.contains(&extension(path).as_str())
}

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(GenerateImage),
        Arc::new(GenerateSpeech),
        Arc::new(AvailableVoices),
        Arc::new(SoundEffects),
    ]
}

struct GenerateImage;
struct GenerateSpeech;
struct AvailableVoices;
struct SoundEffects;

fn failed(message: impl Into<String>) -> ToolError {
    ToolError::Failed(message.into())
}

fn endpoint(
    configured: Option<EndpointSettings>,
    tool: &str,
    key: &str,
    what: &str,
) -> Result<EndpointSettings, ToolError> {
    configured.ok_or_else(|| {
        ToolError::Unavailable(format!(
            "{tool} needs {what}, and none is configured: set {key} (model, base_url, api_key) \
             in the configuration or in the console's Settings"
        ))
    })
}

fn base(endpoint: &EndpointSettings) -> String {
    endpoint.base_url.trim_end_matches('/').to_owned()
}

/// The extension of an agent path, lower-cased.
fn extension(path: &str) -> String {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Writes a file the agent named, replacing one of the same name; returns its agent path.
pub(crate) fn write_file(
    ctx: &ToolContext,
    agent_path: &str,
    bytes: &[u8],
) -> Result<String, ToolError> {
    super::files::replace_file(&ctx.workspace, agent_path, bytes)
}

/// A POST to `path` under an OpenAI-compatible endpoint, with its key as a bearer token.
fn post(
    ctx: &ToolContext,
    endpoint: &EndpointSettings,
    path: &str,
) -> Result<reqwest::RequestBuilder, ToolError> {
    let request = ctx
        .web
        .guard
        .request(reqwest::Method::POST, &format!("{}{path}", base(endpoint)))
        .map_err(|e| failed(e.to_string()))?;
    Ok(match &endpoint.api_key {
        Some(key) => request.bearer_auth(key),
        None => request,
    })
}

/// Sends a provider request and reads the answer, as a tool failure when it is not a success.
async fn call(
    ctx: &ToolContext,
    request: reqwest::RequestBuilder,
    provider: &str,
) -> Result<crate::net::Fetched, ToolError> {
    let response = tokio::select! {
        response = ctx.web.guard.send(request) => response.map_err(|e| failed(format!("{provider}: {e}")))?,
        () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
    };
    if !response.status.is_success() {
        let detail: String = response.text().chars().take(400).collect();
        return Err(failed(format!(
            "{provider} answered {}: {detail}",
            response.status
        )));
    }
    Ok(response)
}

fn audio_result(shown: &str, bytes: &[u8], extra: &str) -> ToolOutput {
    let facts = audio::facts(bytes);
    let duration = facts
        .duration_s
        .map(|d| format!(", {d:.1} s"))
        .unwrap_or_default();
    ToolOutput {
        text: format!(
            "Wrote {shown} ({}, {}{duration}){extra}.",
            facts.format,
            size_display(bytes.len() as u64)
        ),
        images: Vec::new(),
        data: Some(json!({
            "file": shown,
            "bytes": bytes.len(),
            "format": facts.format,
            "duration_s": facts.duration_s,
            "media": "audio",
        })),
    }
}

#[derive(Deserialize)]
struct ImageArgs {
    description: String,
    output_file: String,
}

impl Tool for GenerateImage {
    fn name(&self) -> &'static str {
        "generate_image"
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let endpoint = endpoint(
                ctx.web.media().image,
                "generate_image",
                "media.image",
                "an image generation endpoint",
            )?;
            let args: ImageArgs = parse_args(args)?;
            if args.description.trim().is_empty() {
                return Err(ToolError::InvalidArguments(
                    "description must not be empty".into(),
                ));
            }
            if extension(&args.output_file) != "png" {
                return Err(ToolError::InvalidArguments(format!(
                    "output_file must end with .png (the image is PNG), got {}",
                    args.output_file
                )));
            }
            let mut body = json!({
                "model": endpoint.model,
                "prompt": args.description,
                "size": "1024x1024",
                "n": 1,
            });
            // GPT image models always answer base64 and refuse the field; others need it.
            if !endpoint.model.starts_with("gpt-image") {
                body["response_format"] = json!("b64_json");
            }
            let guard = &ctx.web.guard;
            let request = post(ctx, &endpoint, "/images/generations")?.json(&body);
            let answer = call(ctx, request, "the image endpoint")
                .await?
                .json()
                .map_err(|e| failed(e.to_string()))?;
            let first = answer
                .pointer("/data/0")
                .ok_or_else(|| failed("the image endpoint answered no image"))?;
            let bytes = if let Some(b64) = first.get("b64_json").and_then(Value::as_str) {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| failed(format!("the image endpoint sent invalid base64 ({e})")))?
            } else if let Some(url) = first.get("url").and_then(Value::as_str) {
                let fetched = guard
                    .get(url)
                    .await
                    .map_err(|e| failed(format!("downloading the image: {e}")))?;
                fetched.bytes
            } else {
                return Err(failed(
                    "the image endpoint's answer has neither b64_json nor url",
                ));
            };
            let size = imagesize::blob_size(&bytes)
                .map_err(|_| failed("the image endpoint sent something that is not an image"))?;
            let kind = imagesize::image_type(&bytes)
                .map_or_else(|_| "image".to_owned(), |t| format!("{t:?}").to_uppercase());
            let ctx2 = ctx.clone();
            let path = args.output_file.clone();
            let data = bytes.clone();
            let shown = super::files::blocking(move || write_file(&ctx2, &path, &data)).await?;
            let revised = first.get("revised_prompt").and_then(Value::as_str);
            Ok(ToolOutput {
                text: format!(
                    "Wrote {shown} ({}x{} {kind}, {}).{}",
                    size.width,
                    size.height,
                    size_display(bytes.len() as u64),
                    revised
                        .map(|r| format!(" The provider revised the prompt to: {r}"))
                        .unwrap_or_default()
                ),
                images: Vec::new(),
                data: Some(json!({
                    "file": shown,
                    "bytes": bytes.len(),
                    "width": size.width,
                    "height": size.height,
                    "format": kind.to_lowercase(),
                    "media": "image",
                })),
            })
        })
    }
}

#[derive(Deserialize)]
struct SpeechArgs {
    text: String,
    voice_id: String,
    output_path: String,
}

/// Formats an OpenAI-compatible speech API writes, by extension.
const SPEECH_FORMATS: [&str; 6] = ["mp3", "wav", "opus", "aac", "flac", "pcm"];

impl Tool for GenerateSpeech {
    fn name(&self) -> &'static str {
        "generate_speech"
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let media = ctx.web.media();
            let args: SpeechArgs = parse_args(args)?;
            if args.text.trim().is_empty() {
                return Err(ToolError::InvalidArguments("text must not be empty".into()));
            }
            if args.text.chars().count() > MAX_SPEECH_CHARS {
                return Err(ToolError::InvalidArguments(format!(
                    "text is {} characters; speech takes at most {MAX_SPEECH_CHARS} at once: split it",
                    args.text.chars().count()
                )));
            }
            let format = extension(&args.output_path);
            let bytes = match (media.speech, media.local_speech) {
                (Some(endpoint), _) => {
                    if !SPEECH_FORMATS.contains(&format.as_str()) {
                        return Err(ToolError::InvalidArguments(format!(
                            "output_path must end with one of .{} (the audio format), got {}",
                            SPEECH_FORMATS.join(", ."),
                            args.output_path
                        )));
                    }
                    let request = post(ctx, &endpoint, "/audio/speech")?.json(&json!({
                        "model": endpoint.model,
                        "input": args.text,
                        "voice": args.voice_id,
                        "response_format": format,
                    }));
                    call(ctx, request, "the speech endpoint").await?.bytes
                }
                (None, LocalSpeech::EspeakNg) => {
                    if format != "wav" {
                        return Err(ToolError::InvalidArguments(format!(
                            "espeak-ng writes WAV: give an output_path ending with .wav, got {}",
                            args.output_path
                        )));
                    }
                    espeak(&args.voice_id, &args.text).await?
                }
                (None, LocalSpeech::None) => {
                    return Err(ToolError::Unavailable(
                        "generate_speech needs a speech endpoint, and none is configured: set \
                         media.speech (model, base_url, api_key) in the configuration or the \
                         console's Settings, or media.local_speech: espeak-ng for offline speech"
                            .into(),
                    ))
                }
            };
            if bytes.is_empty() {
                return Err(failed("the speech engine produced no audio"));
            }
            let (ctx2, path, data) = (ctx.clone(), args.output_path.clone(), bytes.clone());
            let shown = super::files::blocking(move || write_file(&ctx2, &path, &data)).await?;
            Ok(audio_result(
                &shown,
                &bytes,
                &format!(", voice {}", args.voice_id),
            ))
        })
    }
}

/// Speech from espeak-ng, as WAV bytes.
async fn espeak(voice: &str, text: &str) -> Result<Vec<u8>, ToolError> {
    if voice.starts_with('-') || voice.contains(char::is_whitespace) {
        return Err(ToolError::InvalidArguments(format!(
            "{voice:?} is not an espeak-ng voice (see get_available_voices)"
        )));
    }
    let dir = tempfile_dir()?;
    let spoken = espeak_into(voice, text, &dir.join("speech.wav")).await;
    let _ = std::fs::remove_dir_all(&dir);
    spoken
}

/// Runs espeak-ng writing `out`; its bytes.
async fn espeak_into(voice: &str, text: &str, out: &Path) -> Result<Vec<u8>, ToolError> {
    let mut child = tokio::process::Command::new("espeak-ng")
        .arg("-v")
        .arg(voice)
        .arg("-w")
        .arg(out)
        .arg("--stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            ToolError::Unavailable(format!(
                "media.local_speech is espeak-ng, but espeak-ng cannot run ({e}): install it (Debian: apt-get install espeak-ng)"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        stdin
            .write_all(text.as_bytes())
            .await
            .map_err(|e| failed(format!("espeak-ng: {e}")))?;
    }
    let output = tokio::time::timeout(LOCAL_SPEECH_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| failed("espeak-ng took too long"))?
        .map_err(|e| failed(format!("espeak-ng: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if !output.status.success() || stderr.contains("not found") {
        return Err(failed(format!(
            "espeak-ng failed{}: see get_available_voices for its voices",
            if stderr.is_empty() {
                String::new()
            } else {
                format!(" ({stderr})")
            }
        )));
    }
    std::fs::read(out).map_err(|e| failed(format!("espeak-ng wrote nothing ({e})")))
}

/// A private temporary folder for one engine run.
fn tempfile_dir() -> Result<std::path::PathBuf, ToolError> {
    let dir = std::env::temp_dir().join(format!("okcvm-speech-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir)
        .map_err(|e| failed(format!("no temporary folder for speech ({e})")))?;
    Ok(dir)
}

impl Tool for AvailableVoices {
    fn name(&self) -> &'static str {
        "get_available_voices"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        _args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let media = ctx.web.media();
            let voices =
                match (media.speech, media.local_speech) {
                    (Some(endpoint), _) => provider_voices(ctx, &endpoint).await?,
                    (None, LocalSpeech::EspeakNg) => espeak_voices().await?,
                    (None, LocalSpeech::None) => return Err(ToolError::Unavailable(
                        "get_available_voices needs a speech provider, and none is configured: \
                         set media.speech in the configuration or the console's Settings, or \
                         media.local_speech: espeak-ng"
                            .into(),
                    )),
                };
            let mut text = format!("# {} voices\n", voices.len());
            for v in &voices {
                text.push_str(&format!(
                    "- `{}`",
                    v["voice_id"].as_str().unwrap_or_default()
                ));
                for key in ["name", "language", "description"] {
                    if let Some(value) = v[key].as_str().filter(|s| !s.is_empty()) {
                        text.push_str(&format!(" {key}: {value};"));
                    }
                }
                text.push('\n');
            }
            text.push_str("Pass a voice_id to generate_speech.");
            Ok(ToolOutput {
                text,
                images: Vec::new(),
                data: Some(json!({"voices": voices})),
            })
        })
    }
}

/// The voices a speech API lists: `/audio/voices` (OpenAI-compatible servers such as Kokoro),
/// else `/voices` (ElevenLabs-compatible). OpenAI's own API lists none; its voices are the
/// documented fixed set.
async fn provider_voices(
    ctx: &ToolContext,
    endpoint: &EndpointSettings,
) -> Result<Vec<Value>, ToolError> {
    let base = base(endpoint);
    if base.contains("://api.openai.com") {
        return Ok([
            "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
            "verse",
        ]
        .iter()
        .map(|v| json!({"voice_id": v, "name": v}))
        .collect());
    }
    let mut last = String::new();
    for path in ["/audio/voices", "/voices"] {
        let mut request = ctx
            .web
            .guard
            .request(reqwest::Method::GET, &format!("{base}{path}"))
            .map_err(|e| failed(e.to_string()))?;
        if let Some(key) = &endpoint.api_key {
            request = request.bearer_auth(key).header("xi-api-key", key);
        }
        match call(ctx, request, "the speech endpoint").await {
            Ok(response) => {
                let body = response.json().map_err(|e| failed(e.to_string()))?;
                let list = body
                    .get("voices")
                    .or_else(|| body.get("data"))
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| {
                        failed(format!("the speech endpoint's {path} has no voices list"))
                    })?;
                return Ok(list
                    .iter()
                    .map(|v| match v {
                        Value::String(id) => json!({"voice_id": id, "name": id}),
                        other => {
                            let pick = |keys: &[&str]| {
                                keys.iter()
                                    .find_map(|k| other.get(*k).and_then(Value::as_str))
                                    .unwrap_or_default()
                                    .to_owned()
                            };
                            json!({
                                "voice_id": pick(&["voice_id", "id", "name"]),
                                "name": pick(&["name", "voice_id", "id"]),
                                "language": pick(&["language", "lang"]),
                                "description": pick(&["description"]),
                            })
                        }
                    })
                    .collect());
            }
            Err(ToolError::Cancelled) => return Err(ToolError::Cancelled),
            Err(e) => last = e.to_string(),
        }
    }
    Err(failed(format!(
        "the speech endpoint lists no voices (tried /audio/voices and /voices): {last}"
    )))
}

/// espeak-ng's voices, from `espeak-ng --voices`.
async fn espeak_voices() -> Result<Vec<Value>, ToolError> {
    let output = tokio::process::Command::new("espeak-ng")
        .arg("--voices")
        .output()
        .await
        .map_err(|e| {
            ToolError::Unavailable(format!(
                "media.local_speech is espeak-ng, but espeak-ng cannot run ({e}): install it (Debian: apt-get install espeak-ng)"
            ))
        })?;
    Ok(audio::espeak_voice_table(&String::from_utf8_lossy(
        &output.stdout,
    )))
}

#[derive(Deserialize)]
struct SoundArgs {
    description: String,
    duration: f64,
    output_path: String,
}

impl Tool for SoundEffects {
    fn name(&self) -> &'static str {
        "generate_sound_effects"
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let endpoint = endpoint(
                ctx.web.media().sound_effects,
                "generate_sound_effects",
                "media.sound_effects",
                "a sound generation endpoint (ElevenLabs-compatible)",
            )?;
            let args: SoundArgs = parse_args(args)?;
            if !(0.5..=22.0).contains(&args.duration) {
                return Err(ToolError::InvalidArguments(format!(
                    "duration must be from 0.5 to 22 seconds, got {}",
                    args.duration
                )));
            }
            if args.description.trim().is_empty() {
                return Err(ToolError::InvalidArguments(
                    "description must not be empty".into(),
                ));
            }
            if extension(&args.output_path) != "mp3" {
                return Err(ToolError::InvalidArguments(format!(
                    "output_path must end with .mp3 (the sound is MP3), got {}",
                    args.output_path
                )));
            }
            let mut body = json!({"text": args.description, "duration_seconds": args.duration});
            if !endpoint.model.is_empty() {
                body["model_id"] = json!(endpoint.model);
            }
            let mut request = ctx
                .web
                .guard
                .request(
                    reqwest::Method::POST,
                    &format!("{}/sound-generation", base(&endpoint)),
                )
                .map_err(|e| failed(e.to_string()))?
                .json(&body);
            if let Some(key) = &endpoint.api_key {
                request = request.header("xi-api-key", key);
            }
            let bytes = call(ctx, request, "the sound endpoint").await?.bytes;
            if bytes.is_empty() {
                return Err(failed("the sound endpoint sent no audio"));
            }
            let (ctx2, path, data) = (ctx.clone(), args.output_path.clone(), bytes.clone());
            let shown = super::files::blocking(move || write_file(&ctx2, &path, &data)).await?;
            Ok(audio_result(
                &shown,
                &bytes,
                &format!(", asked for {:.1} s", args.duration),
            ))
        })
    }
}

/// The transcript of an audio file in the workspace, when `media.asr` is configured.
pub(crate) async fn transcribe(
    ctx: &ToolContext,
    agent_path: &str,
    endpoint: EndpointSettings,
) -> Result<ToolOutput, ToolError> {
    let limit = ctx.web.guard.max_bytes();
    let workspace = ctx.workspace.clone();
    let path = agent_path.to_owned();
    let (bytes, shown) = super::files::blocking(move || {
        super::files::read_limited(&workspace, &path, limit, |_, _| {
            format!(
                "the audio file is over the {} MiB a transcription may send (web.max_download_mb)",
                limit >> 20
            )
        })
    })
    .await?;
    let name = shown
        .rsplit('/')
        .next()
        .map_or_else(|| "audio".into(), str::to_owned);
    let form = reqwest::multipart::Form::new()
        .text("model", endpoint.model.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name),
        );
    let request = post(ctx, &endpoint, "/audio/transcriptions")?.multipart(form);
    let answer = call(ctx, request, "the speech recognition endpoint").await?;
    let text = match answer.json() {
        Ok(body) => body
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| failed("the speech recognition endpoint answered no text"))?,
        Err(_) => answer.text(),
    };
    let facts = audio::facts(&bytes);
    if let Ok(relative) = ctx.workspace.relative(agent_path) {
        super::files::mark_read(ctx, relative);
    }
    Ok(ToolOutput {
        text: format!(
            "Transcript of {shown} ({}{}):\n{}",
            facts.format,
            facts
                .duration_s
                .map(|d| format!(", {d:.1} s"))
                .unwrap_or_default(),
            text.trim()
        ),
        images: Vec::new(),
        data: Some(
            json!({"file": shown, "transcript": text.trim(), "duration_s": facts.duration_s, "format": facts.format}),
        ),
    })
}

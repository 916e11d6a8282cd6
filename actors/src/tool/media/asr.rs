//! Audio files as text: `read_file` gives the transcript of an audio file through an
//! OpenAI-compatible transcription API when `media.asr` is set.

use serde_json::{json, Value};

use super::{audio, call, extension, failed, post};
use crate::config::EndpointSettings;
use crate::tool::file_io::{blocking, read_limited};
use crate::tool::{ToolContext, ToolError, ToolOutput};

/// Audio files `read_file` transcribes.
const AUDIO_EXTENSIONS: [&str; 7] = ["mp3", "wav", "m4a", "ogg", "flac", "webm", "mpga"];

/// Whether an agent path names an audio file (by its extension).
pub(crate) fn is_audio(path: &str) -> bool {
    AUDIO_EXTENSIONS.contains(&extension(path).as_str())
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
    let (bytes, shown) = blocking(move || {
        read_limited(&workspace, &path, limit, |_, _| {
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
        ctx.resources.mark_read(relative);
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

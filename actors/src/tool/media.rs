//! Media tools, one file each: `generate_image` (an OpenAI-compatible images API),
//! `generate_speech` (an OpenAI-compatible speech API, or espeak-ng on this machine),
//! `get_available_voices`, `generate_sound_effects` (an ElevenLabs-compatible sound API); and
//! the transcript that `read_file` gives of an audio file through an OpenAI-compatible
//! transcription API (`asr`).
//!
//! Files are written into the workspace where the model asked; results carry the path, size,
//! duration (when the audio says it) and format, so the console can show and play them.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::{Tool, ToolContext, ToolError, ToolOutput};
use crate::config::EndpointSettings;
use crate::workspace::uploads::size_display;

pub(crate) mod asr;
mod audio;
mod espeak;
mod image;
mod sound;
mod speech;
mod voices;

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(image::GenerateImage),
        Arc::new(speech::GenerateSpeech),
        Arc::new(voices::AvailableVoices),
        Arc::new(sound::SoundEffects),
    ]
}

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

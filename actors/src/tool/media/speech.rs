//! `generate_speech`: speech from an OpenAI-compatible speech API, or from espeak-ng on this
//! machine when `media.local_speech` says so.

use serde::Deserialize;
use serde_json::json;

use super::{audio_result, call, espeak, extension, failed, post};
use crate::config::LocalSpeech;
use crate::tool::file_io::{blocking, replace_file};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool};

/// Longest text turned into speech at once.
const MAX_SPEECH_CHARS: usize = 4096;

pub(super) struct GenerateSpeech;

#[derive(Deserialize)]
pub(super) struct Args {
    text: String,
    voice_id: String,
    output_path: String,
}

/// Formats an OpenAI-compatible speech API writes, by extension.
const SPEECH_FORMATS: [&str; 6] = ["mp3", "wav", "opus", "aac", "flac", "pcm"];

impl TypedTool for GenerateSpeech {
    const NAME: &'static str = "generate_speech";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let media = ctx.web.media();
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
                espeak::speak(&args.voice_id, &args.text).await?
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
        let (workspace, path, data) = (
            ctx.workspace.clone(),
            args.output_path.clone(),
            bytes.clone(),
        );
        let shown = blocking(move || replace_file(&workspace, &path, &data)).await?;
        Ok(audio_result(
            &shown,
            &bytes,
            &format!(", voice {}", args.voice_id),
        ))
    }
}

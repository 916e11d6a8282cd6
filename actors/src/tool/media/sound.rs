//! `generate_sound_effects`: an MP3 from an ElevenLabs-compatible sound generation API.

use serde::Deserialize;
use serde_json::json;

use super::{audio_result, base, call, endpoint, extension, failed};
use crate::tool::file_io::{blocking, replace_file};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool};

pub(super) struct SoundEffects;

#[derive(Deserialize)]
pub(super) struct Args {
    description: String,
    duration: f64,
    output_path: String,
}

impl TypedTool for SoundEffects {
    const NAME: &'static str = "generate_sound_effects";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let endpoint = endpoint(
            ctx.web.media().sound_effects,
            "generate_sound_effects",
            "media.sound_effects",
            "a sound generation endpoint (ElevenLabs-compatible)",
        )?;
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
        let (workspace, path, data) = (
            ctx.workspace.clone(),
            args.output_path.clone(),
            bytes.clone(),
        );
        let shown = blocking(move || replace_file(&workspace, &path, &data)).await?;
        Ok(audio_result(
            &shown,
            &bytes,
            &format!(", asked for {:.1} s", args.duration),
        ))
    }
}

//! `generate_image`: a PNG from an OpenAI-compatible images API, written where the model
//! asked.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{call, endpoint, extension, failed, post};
use crate::tool::file_io::{blocking, replace_file};
use crate::tool::{ToolContext, ToolError, ToolOutput, TypedTool};
use crate::workspace::uploads::size_display;

pub(super) struct GenerateImage;

#[derive(Deserialize)]
pub(super) struct Args {
    description: String,
    output_file: String,
}

impl TypedTool for GenerateImage {
    const NAME: &'static str = "generate_image";
    type Args = Args;

    async fn run(&self, ctx: &ToolContext, args: Args) -> Result<ToolOutput, ToolError> {
        let endpoint = endpoint(
            ctx.web.media().image,
            "generate_image",
            "media.image",
            "an image generation endpoint",
        )?;
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
        let workspace = ctx.workspace.clone();
        let path = args.output_file.clone();
        let data = bytes.clone();
        let shown = blocking(move || replace_file(&workspace, &path, &data)).await?;
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
    }
}

//! `get_available_voices`: the voices of the speech provider in force.

use serde_json::{json, Value};

use super::{base, call, espeak, failed};
use crate::config::{EndpointSettings, LocalSpeech};
use crate::tool::{NoArgs, ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};

pub(super) struct AvailableVoices;

impl TypedTool for AvailableVoices {
    const NAME: &'static str = "get_available_voices";
    type Args = NoArgs;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(&self, ctx: &ToolContext, _args: NoArgs) -> Result<ToolOutput, ToolError> {
        let media = ctx.web.media();
        let voices = match (media.speech, media.local_speech) {
            (Some(endpoint), _) => provider_voices(ctx, &endpoint).await?,
            (None, LocalSpeech::EspeakNg) => espeak::voices().await?,
            (None, LocalSpeech::None) => {
                return Err(ToolError::Unavailable(
                    "get_available_voices needs a speech provider, and none is configured: \
                     set media.speech in the configuration or the console's Settings, or \
                     media.local_speech: espeak-ng"
                        .into(),
                ))
            }
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

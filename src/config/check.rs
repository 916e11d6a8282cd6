//! `okcvm config check`: one tiny completion against the configured chat model.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use okcvm_actors::config::Settings;
use okcvm_actors::llm::{ChatClient, CompletionRequest};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The one message sent: short, so the check costs next to nothing.
const CHECK_PROMPT: &str = "Reply with the word ok.";

/// What the check found. The command line prints it (its `Display` is the text to show).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// `chat.model`, when a chat model is configured.
    pub model: Option<String>,
    /// `chat.base_url`, when a chat model is configured.
    pub base_url: Option<String>,
    pub outcome: CheckOutcome,
}

/// How the check call went.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutcome {
    /// No `chat` section: nothing was sent. `hint` says which settings to set.
    NotConfigured { hint: String },
    /// The model answered.
    Answered {
        latency: Duration,
        /// The model name the provider answered with.
        model: String,
        answer: String,
    },
    /// The call failed; `code` is the client's stable error code (`model_auth_failed` ...).
    Failed {
        latency: Duration,
        code: String,
        message: String,
    },
}

impl CheckReport {
    /// Whether the chat model is configured and answered.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, CheckOutcome::Answered { .. })
    }
}

/// Sends one tiny completion through the configured chat endpoint and reports how it went.
pub async fn check_chat(settings: &Settings) -> CheckReport {
    let Some(endpoint) = &settings.chat else {
        return CheckReport {
            model: None,
            base_url: None,
            outcome: CheckOutcome::NotConfigured {
                hint: "no chat model is configured: set chat.model and chat.base_url in the \
                       config file (or OKCVM_CHAT_MODEL and OKCVM_CHAT_BASE_URL), and the key \
                       with chat.api_key_env (or OKCVM_CHAT_API_KEY)"
                    .to_string(),
            },
        };
    };
    let started = Instant::now();
    let failed = |started: Instant, e: okcvm_actors::llm::LlmError| CheckOutcome::Failed {
        latency: started.elapsed(),
        code: e.code().to_string(),
        message: e.to_string(),
    };
    let outcome = match ChatClient::new(endpoint.clone(), settings.llm.clone()) {
        Err(e) => failed(started, e),
        Ok(client) => {
            let request = CompletionRequest {
                messages: vec![json!({"role": "user", "content": CHECK_PROMPT})],
                tools: Arc::new(vec![]),
            };
            match client
                .complete(&request, None, &CancellationToken::new())
                .await
            {
                Ok(completion) => CheckOutcome::Answered {
                    latency: started.elapsed(),
                    model: completion.model,
                    answer: completion.content,
                },
                Err(e) => failed(started, e),
            }
        }
    };
    CheckReport {
        model: Some(endpoint.model.clone()),
        base_url: Some(endpoint.base_url.clone()),
        outcome,
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(model), Some(base_url)) = (&self.model, &self.base_url) {
            writeln!(f, "chat model: {model} at {base_url}")?;
        }
        match &self.outcome {
            CheckOutcome::NotConfigured { hint } => writeln!(f, "{hint}"),
            CheckOutcome::Answered {
                latency,
                model,
                answer,
            } => writeln!(
                f,
                "ok: {model} answered in {} ms: {:?}",
                latency.as_millis(),
                answer.trim()
            ),
            CheckOutcome::Failed {
                latency,
                code,
                message,
            } => writeln!(
                f,
                "failed after {} ms [{code}]: {message}",
                latency.as_millis()
            ),
        }
    }
}

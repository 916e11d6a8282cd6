//! The turn's result as clients receive it: the `final` event's payload (and, over HTTP, the
//! JSON chat reply). Every figure in `meta` is measured: tokens from the provider's usage
//! (absent when it sent none), latency from the clock.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::event::ToolStatus;
use crate::llm::Usage;

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnStatus {
    /// The model answered without asking for more tools.
    Completed,
    /// `POST /api/session/stop` (or a cancel) ended it.
    Stopped,
    /// The step limit was reached.
    StepLimit,
}

/// One tool call of the turn, complete (events carry only previews).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallRecord {
    pub step: u32,
    pub tool_name: String,
    pub tool_input: Value,
    pub tool_output: String,
    pub payload: Option<Value>,
    pub source: &'static str,
    pub invocation_id: String,
    pub log: Vec<String>,
    pub status: ToolStatus,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the payload is made from.
pub(crate) struct TurnSummary<'a> {
    pub turn_id: &'a str,
    pub message_id: Option<&'a str>,
    pub reply: &'a str,
    pub model: &'a str,
    pub status: TurnStatus,
    pub usage: Option<Usage>,
    pub elapsed: Duration,
    pub steps: u32,
    pub tool_calls: &'a [ToolCallRecord],
    /// The last entries of the active branch, oldest first.
    pub vm_history: &'a [crate::history::Message],
    /// `artifacts`, `workspace_state` and `uploads`, read from the workspace after the turn.
    pub workspace: serde_json::Map<String, Value>,
}

/// Entries of the active branch the payload repeats (`vm_history`).
pub(crate) const VM_HISTORY_ENTRIES: usize = 25;

/// The newest tool result that carries `key` in its payload.
fn newest_payload<'a>(calls: &'a [ToolCallRecord], key: &str) -> Option<&'a Value> {
    calls
        .iter()
        .rev()
        .filter_map(|c| c.payload.as_ref()?.get(key))
        .find(|v| !v.is_null())
}

pub(crate) fn final_payload(turn: &TurnSummary<'_>) -> Value {
    let tokens = |n: Option<u64>| n.map(|n| format!("{n} tokens"));
    let failed = turn
        .tool_calls
        .iter()
        .filter(|c| c.status == ToolStatus::Error)
        .count();
    let summary = match (turn.tool_calls.len(), turn.status) {
        (_, TurnStatus::Stopped) => format!("Stopped after {} model call(s)", turn.steps),
        (_, TurnStatus::StepLimit) => {
            format!("Ended at the step limit of {} model calls", turn.steps)
        }
        (0, _) => "Answered directly".to_string(),
        (n, _) => format!(
            "{n} tool call(s){} in {} model call(s)",
            if failed > 0 {
                format!(", {failed} failed,")
            } else {
                String::new()
            },
            turn.steps
        ),
    };
    let mut payload = json!({
        "reply": turn.reply,
        "turn_id": turn.turn_id,
        "message_id": turn.message_id,
        "status": turn.status,
        "meta": {
            "model": turn.model,
            "timestamp": chrono::Local::now().format("%H:%M:%S").to_string(),
            "tokensIn": tokens(turn.usage.map(|u| u.prompt_tokens)),
            "tokensOut": tokens(turn.usage.map(|u| u.completion_tokens)),
            "latency": format!("{:.2} s", turn.elapsed.as_secs_f64()),
            "summary": summary,
        },
        "usage": turn.usage,
        "tool_calls": turn.tool_calls,
        "web_preview": newest_payload(turn.tool_calls, "web_preview"),
        "ppt_slides": newest_payload(turn.tool_calls, "ppt_slides").cloned().unwrap_or_else(|| json!([])),
        "vm_history": turn.vm_history,
    });
    if let Value::Object(map) = &mut payload {
        map.extend(turn.workspace.clone());
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_reports_measured_usage_and_never_invents_it() {
        let base = TurnSummary {
            turn_id: "t",
            message_id: Some("m"),
            reply: "hi",
            model: "m1",
            status: TurnStatus::Completed,
            usage: Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 3,
            }),
            elapsed: Duration::from_millis(1234),
            steps: 1,
            tool_calls: &[],
            vm_history: &[],
            workspace: serde_json::Map::new(),
        };
        let payload = final_payload(&base);
        assert_eq!(payload["meta"]["tokensIn"], "12 tokens");
        assert_eq!(payload["meta"]["tokensOut"], "3 tokens");
        assert_eq!(payload["meta"]["latency"], "1.23 s");
        assert_eq!(payload["meta"]["summary"], "Answered directly");
        let without = final_payload(&TurnSummary {
            usage: None,
            ..base
        });
        assert_eq!(without["meta"]["tokensIn"], Value::Null);
        assert_eq!(without["usage"], Value::Null);
    }
}

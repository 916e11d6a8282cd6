//! Building one [`Completion`] out of the provider's JSON: streamed chunks or a whole
//! response.
//!
//! Tool calls are where providers disagree most. OpenAI sends `index` on every fragment and
//! the `id` on the first. Some providers omit `index` altogether, some start every call at
//! index 0 with a new `id`, some repeat the `id` on every fragment, some send the arguments
//! as a JSON object rather than a string. All of them are assembled into the same list.

use serde_json::Value;

use super::{Completion, StreamDelta, ToolCallRequest, Usage};

/// Accumulates a streamed answer.
#[derive(Debug, Default)]
pub struct Assembler {
    completion: Completion,
    /// Which call each provider `index` currently refers to.
    slots: Vec<(Option<u64>, usize)>,
    saw_finish: bool,
    /// Whether any chunk held a choice: a stream without one carried no answer at all.
    saw_choice: bool,
}

impl Assembler {
    /// Applies one `chat.completion.chunk`; returns the text and reasoning to forward.
    pub fn chunk(&mut self, chunk: &Value) -> Result<Vec<StreamDelta>, String> {
        if let Some(error) = chunk.get("error") {
            return Err(error_message(error));
        }
        if let Some(model) = chunk.get("model").and_then(Value::as_str) {
            if !model.is_empty() {
                self.completion.model = model.to_string();
            }
        }
        if let Some(usage) = parse_usage(chunk.get("usage")) {
            self.completion.usage = Some(usage);
        }
        let mut out = Vec::new();
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return Ok(out);
        };
        self.saw_choice = true;
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.completion.finish_reason = Some(reason.to_string());
            self.saw_finish = true;
        }
        // Some providers put usage on the choice rather than the chunk.
        if let Some(usage) = parse_usage(choice.get("usage")) {
            self.completion.usage = Some(usage);
        }
        let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) else {
            return Ok(out);
        };
        if let Some(reasoning) = reasoning_of(delta) {
            if !reasoning.is_empty() {
                self.completion
                    .reasoning
                    .get_or_insert_with(String::new)
                    .push_str(reasoning);
                out.push(StreamDelta::Reasoning(reasoning.to_string()));
            }
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            if !text.is_empty() {
                self.completion.content.push_str(text);
                out.push(StreamDelta::Text(text.to_string()));
            }
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.tool_call_fragment(call);
            }
        }
        Ok(out)
    }

    /// Whether the provider said why the answer ended (a stream cut before this was dropped).
    pub fn saw_finish(&self) -> bool {
        self.saw_finish
    }

    /// Whether any chunk held a choice (the part of a chunk that carries the answer).
    pub fn saw_choice(&self) -> bool {
        self.saw_choice
    }

    /// The assembled answer; calls the provider left without an id get one.
    pub fn finish(mut self, requested_model: &str) -> Completion {
        if self.completion.model.is_empty() {
            self.completion.model = requested_model.to_string();
        }
        for (n, call) in self.completion.tool_calls.iter_mut().enumerate() {
            if call.id.is_empty() {
                call.id = format!("call_{n}");
            }
        }
        self.completion
    }

    fn tool_call_fragment(&mut self, fragment: &Value) {
        let index = fragment.get("index").and_then(Value::as_u64);
        let id = fragment
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        let function = fragment.get("function");
        let name = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let arguments = function.and_then(|f| f.get("arguments"));

        let calls = &mut self.completion.tool_calls;
        let known = id.and_then(|id| calls.iter().position(|c| c.id == id));
        let continued = self
            .slots
            .iter()
            .rev()
            .find(|(i, _)| index.is_some() && *i == index)
            .map(|(_, slot)| *slot);
        let slot = match (id, known, continued) {
            // An id we know is a continuation, whatever its index says.
            (_, Some(slot), _) => slot,
            // A fragment without id continues the call its index names, or (without index)
            // the latest call.
            (None, None, Some(slot)) => slot,
            (None, None, None) if index.is_none() && !calls.is_empty() => calls.len() - 1,
            // A new id starts a new call, even on a reused index.
            _ => {
                calls.push(ToolCallRequest {
                    id: id.unwrap_or_default().to_string(),
                    name: String::new(),
                    arguments: String::new(),
                });
                calls.len() - 1
            }
        };
        self.slots.retain(|(i, _)| *i != index);
        self.slots.push((index, slot));

        let call = &mut calls[slot];
        if !name.is_empty() && call.name != name {
            // Whole names repeated on each fragment are kept once; split names are joined.
            call.name.push_str(name);
        }
        match arguments {
            Some(Value::String(piece)) => call.arguments.push_str(piece),
            Some(Value::Null) | None => {}
            Some(object) => call.arguments = object.to_string(),
        }
    }
}

/// Reads a whole (non-streamed) `chat.completion` response.
pub fn whole_response(body: &Value, requested_model: &str) -> Result<Completion, String> {
    if let Some(error) = body.get("error") {
        return Err(error_message(error));
    }
    let choice = body
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| "the response has no choices".to_string())?;
    let message = choice
        .get("message")
        .ok_or_else(|| "the response's choice has no message".to_string())?;
    let mut completion = Completion {
        content: message
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        reasoning: reasoning_of(message)
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        usage: parse_usage(body.get("usage")),
        model: body
            .get("model")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .unwrap_or(requested_model)
            .to_string(),
        tool_calls: Vec::new(),
    };
    for (n, call) in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let function = call.get("function");
        let name = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("tool call {n} has no function name"))?;
        let arguments = match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map_or_else(|| format!("call_{n}"), str::to_string);
        completion.tool_calls.push(ToolCallRequest {
            id,
            name: name.to_string(),
            arguments,
        });
    }
    Ok(completion)
}

/// The human part of a provider error object (`{"message": ..}`, or a bare string).
pub fn error_message(error: &Value) -> String {
    match error {
        Value::String(s) => s.clone(),
        other => other
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| other.to_string(), str::to_string),
    }
}

/// `reasoning_content` (DeepSeek, Kimi, vLLM) or `reasoning` (OpenRouter, newer vLLM).
fn reasoning_of(delta: &Value) -> Option<&str> {
    delta
        .get("reasoning_content")
        .and_then(Value::as_str)
        .or_else(|| delta.get("reasoning").and_then(Value::as_str))
}

fn parse_usage(usage: Option<&Value>) -> Option<Usage> {
    let usage = usage?;
    let prompt = usage.get("prompt_tokens").and_then(Value::as_u64);
    let completion = usage.get("completion_tokens").and_then(Value::as_u64);
    if prompt.is_none() && completion.is_none() {
        return None;
    }
    Some(Usage {
        prompt_tokens: prompt.unwrap_or(0),
        completion_tokens: completion.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(index: Option<u64>, id: Option<&str>, name: Option<&str>, args: &str) -> Value {
        let mut fragment = json!({"function": {"arguments": args}});
        if let Some(index) = index {
            fragment["index"] = json!(index);
        }
        if let Some(id) = id {
            fragment["id"] = json!(id);
            fragment["type"] = json!("function");
        }
        if let Some(name) = name {
            fragment["function"]["name"] = json!(name);
        }
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]})
    }

    fn assemble(chunks: &[Value]) -> Completion {
        let mut assembler = Assembler::default();
        for chunk in chunks {
            assembler.chunk(chunk).unwrap();
        }
        assembler.finish("m")
    }

    fn pairs(completion: &Completion) -> Vec<(&str, &str, &str)> {
        completion
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect()
    }

    #[test]
    fn indexed_fragments_are_joined_per_call() {
        let done = assemble(&[
            call(Some(0), Some("a"), Some("f"), "{\"x\":"),
            call(Some(1), Some("b"), Some("g"), "{}"),
            call(Some(0), None, None, "1}"),
        ]);
        assert_eq!(pairs(&done), [("a", "f", "{\"x\":1}"), ("b", "g", "{}")]);
    }

    #[test]
    fn fragments_without_index_continue_the_latest_call() {
        let done = assemble(&[
            call(None, Some("a"), Some("f"), "{\"x\""),
            call(None, None, None, ":1}"),
            call(None, Some("b"), Some("g"), "{}"),
        ]);
        assert_eq!(pairs(&done), [("a", "f", "{\"x\":1}"), ("b", "g", "{}")]);
    }

    #[test]
    fn a_reused_index_with_a_new_id_starts_a_new_call() {
        let done = assemble(&[
            call(Some(0), Some("a"), Some("f"), "{}"),
            call(Some(0), Some("b"), Some("g"), "{\"y\":"),
            call(Some(0), None, None, "2}"),
        ]);
        assert_eq!(pairs(&done), [("a", "f", "{}"), ("b", "g", "{\"y\":2}")]);
    }

    #[test]
    fn an_id_repeated_on_every_fragment_is_one_call() {
        let done = assemble(&[
            call(Some(0), Some("a"), Some("f"), "{\"x\":"),
            call(Some(0), Some("a"), Some("f"), "1}"),
        ]);
        assert_eq!(pairs(&done), [("a", "f", "{\"x\":1}")]);
    }

    #[test]
    fn object_arguments_and_missing_ids_are_normalised() {
        let chunk = json!({"choices": [{"delta": {"tool_calls": [
            {"function": {"name": "f", "arguments": {"x": 1}}}
        ]}}]});
        let done = assemble(&[chunk]);
        assert_eq!(pairs(&done), [("call_0", "f", "{\"x\":1}")]);
    }

    #[test]
    fn reasoning_text_usage_and_finish_are_collected() {
        let mut assembler = Assembler::default();
        let forwarded = assembler
            .chunk(&json!({"model": "served", "choices": [{"delta": {"reasoning_content": "hmm", "content": "hi"}}]}))
            .unwrap();
        assert_eq!(
            forwarded,
            [
                StreamDelta::Reasoning("hmm".into()),
                StreamDelta::Text("hi".into())
            ]
        );
        assembler
            .chunk(&json!({"choices": [{"delta": {}, "finish_reason": "stop"}]}))
            .unwrap();
        assembler
            .chunk(&json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}))
            .unwrap();
        assert!(assembler.saw_finish());
        let done = assembler.finish("m");
        assert_eq!(done.model, "served");
        assert_eq!(done.reasoning.as_deref(), Some("hmm"));
        assert_eq!(done.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            done.usage,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 4
            })
        );
    }

    #[test]
    fn an_error_object_in_the_stream_is_an_error() {
        let mut assembler = Assembler::default();
        let err = assembler
            .chunk(&json!({"error": {"message": "overloaded"}}))
            .unwrap_err();
        assert_eq!(err, "overloaded");
    }

    #[test]
    fn a_whole_response_is_read() {
        let body = json!({
            "model": "served",
            "choices": [{"finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null, "reasoning_content": "think",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
            }}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2}
        });
        let done = whole_response(&body, "m").unwrap();
        assert_eq!(done.content, "");
        assert_eq!(done.reasoning.as_deref(), Some("think"));
        assert_eq!(pairs(&done), [("c1", "f", "{}")]);
        assert_eq!(done.usage.map(|u| u.prompt_tokens), Some(10));
        assert!(whole_response(&json!({"choices": []}), "m").is_err());
    }
}

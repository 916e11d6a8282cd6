//! Turning the active branch of history into the messages sent to the model.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{json, Value};

use crate::history::{Message, Role};

/// What the model is told when a tool call has no recorded result (the turn that made it was
/// interrupted); providers refuse a conversation with an unanswered call.
const MISSING_RESULT: &str =
    "Error: no result was recorded for this tool call because the turn was interrupted.";

/// What follows, in the request, the text of an answer that was cut off.
const CUT_OFF: &str =
    "[This answer was cut off: the connection to the model failed before it ended.]";

/// What answers, in the request, a user message whose turn ended before the model replied (it
/// failed, or was stopped or interrupted first): providers refuse two user messages in a row.
const NO_REPLY: &str =
    "[No reply was given to the message above: its turn ended before the model answered.]";

/// The tool results and images of this many latest turns (each starting at a user message)
/// are sent whole; older ones are trimmed (see [`trimmed_result`]). The stored history keeps
/// everything.
const WHOLE_TURNS: usize = 3;

/// An older tool result longer than this many characters is cut down in the request.
const LONG_RESULT_CHARS: usize = 4_000;

/// How many characters of such a result the request keeps.
const KEPT_RESULT_CHARS: usize = 1_000;

/// The wire messages for `history`, after the system prompt.
pub(crate) fn wire_messages(system_prompt: &str, history: &[Message]) -> Vec<Value> {
    let mut out = Vec::with_capacity(history.len() + 1);
    out.push(json!({"role": "system", "content": system_prompt}));
    let recent = recent_start(history);
    let mut i = 0;
    while i < history.len() {
        let message = &history[i];
        i += 1;
        match message.role {
            Role::User => {
                if i >= 2 && history[i - 2].role == Role::User {
                    out.push(json!({"role": "assistant", "content": NO_REPLY}));
                }
                out.push(json!({"role": "user", "content": user_content(message)}));
            }
            Role::Tool => {
                // A result whose call is not right before it (should not happen): keep its text.
                out.push(json!({"role": "user", "content": format!("[tool result] {}", message.content)}));
            }
            Role::Assistant => {
                if message.incomplete {
                    let content = format!("{}\n\n{CUT_OFF}", message.content);
                    out.push(json!({"role": "assistant", "content": content}));
                    continue;
                }
                if message.tool_calls.is_empty() {
                    out.push(json!({"role": "assistant", "content": message.content}));
                    continue;
                }
                // A message that only calls tools has no content (`null`, as providers send
                // it), not an empty text.
                let content = (!message.content.is_empty()).then_some(&message.content);
                let calls: Vec<Value> = message
                    .tool_calls
                    .iter()
                    .map(|call| {
                        json!({
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": wire_arguments(&call.arguments)},
                        })
                    })
                    .collect();
                out.push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
                // The results that follow, in order; then a user message with any images
                // (tool messages can only carry text).
                let mut answered = HashSet::new();
                let mut images = Vec::new();
                let older = i <= recent;
                while i < history.len() && history[i].role == Role::Tool {
                    let result = &history[i];
                    i += 1;
                    let call_id = result.tool_call_id.clone().unwrap_or_default();
                    answered.insert(call_id.clone());
                    let content = if older {
                        trimmed_result(&result.content)
                    } else {
                        Cow::Borrowed(result.content.as_str())
                    };
                    out.push(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
                    // Images of older turns are left out: the model saw them then, and each
                    // costs as much as a page of text on every request after.
                    if !older {
                        images.extend(result.images.iter());
                    }
                }
                for call in &message.tool_calls {
                    if !answered.contains(&call.id) {
                        out.push(json!({"role": "tool", "tool_call_id": call.id, "content": MISSING_RESULT}));
                    }
                }
                if !images.is_empty() {
                    let mut parts = vec![
                        json!({"type": "text", "text": "Images returned by the tool calls above:"}),
                    ];
                    for image in images {
                        parts.push(json!({"type": "text", "text": image.path}));
                        parts.push(json!({
                            "type": "image_url",
                            "image_url": {"url": format!("data:{};base64,{}", image.mime, image.data_base64)},
                        }));
                    }
                    out.push(json!({"role": "user", "content": parts}));
                }
            }
        }
    }
    out
}

/// Where the latest [`WHOLE_TURNS`] turns begin in `history`: the index of their first user
/// message (0 when the history holds no more than that).
fn recent_start(history: &[Message]) -> usize {
    history
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, m)| m.role == Role::User)
        .nth(WHOLE_TURNS - 1)
        .map_or(0, |(index, _)| index)
}

/// An older tool result as the request carries it: whole when short, otherwise its first
/// [`KEPT_RESULT_CHARS`] characters and a note of what was left out.
fn trimmed_result(content: &str) -> Cow<'_, str> {
    if content.len() <= LONG_RESULT_CHARS || content.chars().count() <= LONG_RESULT_CHARS {
        return Cow::Borrowed(content);
    }
    let cut = content
        .char_indices()
        .nth(KEPT_RESULT_CHARS)
        .map_or(content.len(), |(at, _)| at);
    let left_out = content[cut..].chars().count();
    Cow::Owned(format!(
        "{}\n[{left_out} more characters of this earlier tool result are left out of the request to save room; the stored result is whole. Run the tool again, or read the file it wrote, to see all of it.]",
        &content[..cut]
    ))
}

/// A call's arguments as sent back to the model: what it wrote when that is a JSON object the
/// tools could read, otherwise `{}`. Providers that parse the history refuse a call whose
/// arguments are not JSON (a string cut short, say); the call's recorded result says what was
/// wrong with them. Read the way the tool registry reads them, into a value: a skimming parse
/// (`IgnoredAny`) has no nesting limit, and would pass back a million nested objects the tools
/// refused.
fn wire_arguments(raw: &str) -> &str {
    let is_object = raw.trim_start().starts_with('{')
        && serde_json::from_str::<Value>(raw).is_ok_and(|value| value.is_object());
    if is_object {
        raw
    } else {
        "{}"
    }
}

/// A user message as the model reads it: the text, then the files uploaded with it.
fn user_content(message: &Message) -> String {
    if message.attachments.is_empty() {
        return message.content.clone();
    }
    let list: Vec<String> = message
        .attachments
        .iter()
        .map(|p| format!("- {p}"))
        .collect();
    format!(
        "{}\n\n[The user uploaded these files; they can be read at these paths:\n{}]",
        message.content,
        list.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolCallRequest;

    fn assistant_with_calls(ids: &[&str]) -> Message {
        let mut m = Message::new(Role::Assistant, None, "");
        m.tool_calls = ids
            .iter()
            .map(|id| ToolCallRequest {
                id: id.to_string(),
                name: "mshtools-shell".into(),
                arguments: r#"{"command":"ls"}"#.into(),
            })
            .collect();
        m
    }

    fn tool_result(call: &str, text: &str) -> Message {
        let mut m = Message::new(Role::Tool, None, text);
        m.tool_call_id = Some(call.into());
        m
    }

    #[test]
    fn tool_calls_and_results_keep_their_wire_shape() {
        let history = vec![
            Message::new(Role::User, None, "list files"),
            assistant_with_calls(&["c1"]),
            tool_result("c1", "a.txt"),
            Message::new(Role::Assistant, None, "There is a.txt."),
        ];
        let wire = wire_messages("SYS", &history);
        assert_eq!(
            wire,
            vec![
                json!({"role": "system", "content": "SYS"}),
                json!({"role": "user", "content": "list files"}),
                json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "mshtools-shell", "arguments": "{\"command\":\"ls\"}"}}
                ]}),
                json!({"role": "tool", "tool_call_id": "c1", "content": "a.txt"}),
                json!({"role": "assistant", "content": "There is a.txt."}),
            ]
        );
    }

    #[test]
    fn unanswered_calls_get_an_interrupted_result() {
        let history = vec![
            Message::new(Role::User, None, "go"),
            assistant_with_calls(&["c1", "c2"]),
            tool_result("c1", "done"),
        ];
        let wire = wire_messages("SYS", &history);
        assert_eq!(wire.len(), 5);
        assert_eq!(wire[4]["tool_call_id"], "c2");
        assert_eq!(wire[4]["content"], MISSING_RESULT);
    }

    #[test]
    fn tool_images_follow_the_results_as_a_user_message() {
        let mut result = tool_result("c1", "Image file");
        result.images.push(crate::tool::ToolImage {
            mime: "image/png".into(),
            path: "/mnt/okcomputer/a.png".into(),
            data_base64: "AAAA".into(),
        });
        let history = vec![
            Message::new(Role::User, None, "look"),
            assistant_with_calls(&["c1"]),
            result,
        ];
        let wire = wire_messages("SYS", &history);
        assert_eq!(wire[4]["role"], "user");
        assert_eq!(
            wire[4]["content"][2]["image_url"]["url"],
            "data:image/png;base64,AAAA"
        );
    }

    #[test]
    fn arguments_that_are_not_a_json_object_are_sent_back_as_an_empty_object() {
        let mut call = assistant_with_calls(&["c1", "c2", "c3", "c4"]);
        call.content = "Let me look.".into();
        let raw = [r#"{"command": "ls"#, "", "5", r#"{"command": "ls"}"#];
        for (call, raw) in call.tool_calls.iter_mut().zip(raw) {
            call.arguments = raw.into();
        }
        let history = vec![Message::new(Role::User, None, "go"), call];
        let wire = wire_messages("SYS", &history);
        let sent: Vec<&str> = wire[2]["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["function"]["arguments"].as_str().unwrap())
            .collect();
        assert_eq!(sent, ["{}", "{}", "{}", r#"{"command": "ls"}"#]);
        // Text beside the calls stays text.
        assert_eq!(wire[2]["content"], "Let me look.");
    }

    #[test]
    fn arguments_nested_past_the_parsers_limit_are_refused_without_overflowing_the_stack() {
        // What a hostile or broken model can write: a million nested objects. The tools refuse
        // them (the parser's nesting limit); so does the request.
        let deep = format!("{}1{}", r#"{"a":"#.repeat(1_000_000), "}".repeat(1_000_000));
        assert_eq!(wire_arguments(&deep), "{}");
        let fine = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        assert_eq!(wire_arguments(&fine), fine);
    }

    #[test]
    fn a_user_message_left_without_a_reply_is_answered_by_a_note() {
        let history = vec![
            Message::new(Role::User, None, "first"),
            Message::new(Role::User, None, "second"),
            Message::new(Role::Assistant, None, "answer"),
            Message::new(Role::User, None, "third"),
        ];
        let roles: Vec<Value> = wire_messages("SYS", &history)
            .iter()
            .map(|m| m["role"].clone())
            .collect();
        assert_eq!(
            roles,
            ["system", "user", "assistant", "user", "assistant", "user"]
        );
        assert_eq!(wire_messages("SYS", &history)[2]["content"], NO_REPLY);
    }

    /// A turn of `user`, one tool call answered by `result` (with an image), and an answer.
    fn tool_turn(n: usize, result: &str) -> Vec<Message> {
        let id = format!("c{n}");
        let mut answer = tool_result(&id, result);
        answer.images.push(crate::tool::ToolImage {
            mime: "image/png".into(),
            path: format!("/mnt/okcomputer/{n}.png"),
            data_base64: "AAAA".into(),
        });
        vec![
            Message::new(Role::User, None, format!("turn {n}")),
            assistant_with_calls(&[&id]),
            answer,
            Message::new(Role::Assistant, None, "ok"),
        ]
    }

    #[test]
    fn older_long_tool_results_are_cut_and_older_images_left_out_of_the_request() {
        let long = "é".repeat(LONG_RESULT_CHARS + 500);
        let history: Vec<Message> = (0..WHOLE_TURNS + 1)
            .flat_map(|n| tool_turn(n, &long))
            .collect();
        let wire = wire_messages("SYS", &history);
        let results: Vec<&str> = wire
            .iter()
            .filter(|m| m["role"] == "tool")
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        let cut = results[0];
        assert!(cut.starts_with(&"é".repeat(KEPT_RESULT_CHARS)), "{cut}");
        assert!(!cut.starts_with(&"é".repeat(KEPT_RESULT_CHARS + 1)));
        assert!(cut.contains("3500 more characters"), "{cut}");
        assert!(cut.contains("the stored result is whole"));
        for whole in &results[1..] {
            assert_eq!(*whole, long, "the latest turns are sent whole");
        }
        // One image message per recent turn, none for the oldest.
        let images: Vec<&Value> = wire
            .iter()
            .filter(|m| m["role"] == "user" && m["content"].is_array())
            .collect();
        assert_eq!(images.len(), WHOLE_TURNS);
        assert_eq!(images[0]["content"][1]["text"], "/mnt/okcomputer/1.png");
        // The stored history is untouched.
        assert_eq!(history[2].content, long);
    }

    #[test]
    fn short_older_tool_results_are_sent_as_they_are() {
        let history: Vec<Message> = (0..WHOLE_TURNS + 2)
            .flat_map(|n| tool_turn(n, "short"))
            .collect();
        let wire = wire_messages("SYS", &history);
        assert!(wire
            .iter()
            .filter(|m| m["role"] == "tool")
            .all(|m| m["content"] == "short"));
    }
}

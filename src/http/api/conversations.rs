//! `/api/conversations`: the client's conversation payloads, stored as sent (up to a size
//! limit), scoped to the tenant. A conversation's id is also the id of its session.

use std::cmp::Ordering;
use std::time::Duration;

use bytes::Bytes;
use okcvm_actors::session::SessionError;
use okcvm_actors::SessionKey;
use serde_json::{json, Map, Value};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply;

use crate::http::context::TenantCtx;
use crate::http::error::{parse_json, ApiError};

/// How long a delete waits for a running turn of the conversation to stop.
const STOP_WAIT: Duration = Duration::from_secs(10);

pub async fn list(ctx: TenantCtx) -> Result<Response, ApiError> {
    let raw = ctx.app.runtime.list_conversations(&ctx.tenant).await?;
    let mut conversations: Vec<Value> = raw
        .iter()
        .filter_map(|bytes| serde_json::from_slice(bytes).ok())
        .collect();
    conversations.sort_by(|a, b| compare_updated(&b["updatedAt"], &a["updatedAt"]));
    Ok(warp::reply::json(&json!({ "conversations": conversations })).into_response())
}

/// `POST /api/conversations`: the payload names its id.
pub async fn create(ctx: TenantCtx, body: Bytes) -> Result<Response, ApiError> {
    let payload = object(&body)?;
    let id = payload
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "a conversation needs an \"id\" (string)",
            )
        })?;
    store(ctx, id, payload).await
}

/// `PUT /api/conversations/{id}`: the path's id wins over the payload's.
pub async fn update(id: String, ctx: TenantCtx, body: Bytes) -> Result<Response, ApiError> {
    let payload = object(&body)?;
    store(ctx, id, payload).await
}

/// `DELETE /api/conversations/{id}`: the payload, and the session of the same id (history,
/// events, workspace, uploads). Only what the server recorded: nothing named in the payload.
pub async fn delete(id: String, ctx: TenantCtx) -> Result<Response, ApiError> {
    check_id(&id)?;
    let app = &ctx.app;
    if app
        .runtime
        .get_conversation(&ctx.tenant, &id)
        .await?
        .is_none()
    {
        return Err(not_found(&id));
    }
    let handle = app
        .runtime
        .session(SessionKey::new(ctx.tenant.clone(), id.clone()))?;
    let deadline = tokio::time::Instant::now() + STOP_WAIT;
    let report = loop {
        match handle.clear().await {
            Err(SessionError::TurnInProgress) if tokio::time::Instant::now() < deadline => {
                handle.stop().await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            result => break result?,
        }
    };
    app.runtime.put_conversation(&ctx.tenant, &id, None).await?;
    Ok(warp::reply::json(&json!({
        "deleted": true,
        "id": id,
        "workspace": {"removed": true, "removed_files": report.removed_files},
    }))
    .into_response())
}

async fn store(
    ctx: TenantCtx,
    id: String,
    mut payload: Map<String, Value>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    payload.insert("id".into(), json!(id));
    if !payload.get("title").is_some_and(Value::is_string) {
        payload.insert("title".into(), json!(title_from(&payload)));
    }
    payload.entry("createdAt").or_insert_with(|| json!(now));
    if !payload.contains_key("updatedAt") || payload["updatedAt"].is_null() {
        payload.insert("updatedAt".into(), json!(now));
    }
    let payload = Value::Object(payload);
    let bytes = serde_json::to_vec(&payload)
        .map_err(|e| ApiError::internal("encoding the conversation failed", e))?;
    ctx.app
        .runtime
        .put_conversation(&ctx.tenant, &id, Some(bytes))
        .await?;
    Ok(warp::reply::json(&json!({ "conversation": payload })).into_response())
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match parse_json::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "a conversation must be a JSON object",
        )),
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if okcvm_actors::is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_conversation_id",
            "a conversation id is 1 to 128 characters of letters, digits, '.', '_' or '-'",
        ))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("conversation_not_found", format!("no conversation {id}"))
}

/// A title from the first user message, when the client sent none.
fn title_from(payload: &Map<String, Value>) -> String {
    let first = payload
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|messages| {
            messages
                .iter()
                .find(|m| m["role"] == "user")
                .and_then(|m| m["content"].as_str())
        })
        .map(str::trim)
        .unwrap_or("");
    if first.is_empty() {
        return "New conversation".into();
    }
    let mut title: String = first.chars().take(60).collect();
    if first.chars().count() > 60 {
        title.push('…');
    }
    title
}

/// `updatedAt` as the client sent it: ISO strings compare as text, numbers as numbers.
fn compare_updated(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_title_comes_from_the_first_user_message() {
        let payload = json!({"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "  plan a trip  "}]});
        assert_eq!(title_from(payload.as_object().unwrap()), "plan a trip");
        assert_eq!(title_from(&Map::new()), "New conversation");
    }

    #[test]
    fn newest_first_ordering_handles_strings_numbers_and_missing_values() {
        assert_eq!(
            compare_updated(&json!("2026-01-02"), &json!("2026-01-01")),
            Ordering::Greater
        );
        assert_eq!(compare_updated(&json!(5), &json!(10)), Ordering::Less);
        assert_eq!(compare_updated(&Value::Null, &json!(1)), Ordering::Less);
    }
}

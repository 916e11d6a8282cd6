//! What a stored `final` event leaves out. Its payload repeats the last entries of the active
//! branch (`vm_history`, up to 25 messages), which the store already holds as messages: the
//! stored event keeps their ids instead (`vm_history_ids`), and reading it puts the messages
//! back, so what clients receive is the same whether the event came live or from the store.
//! Events stored before this keep their whole payload and are read as they are.

use serde_json::{Map, Value};

use super::db::{decode, encode};
use super::StorageError;
use crate::event::{Event, EventKind};
use crate::history::Message;

const VM_HISTORY: &str = "vm_history";
const VM_HISTORY_IDS: &str = "vm_history_ids";

/// The event as it is stored: a `final` event's `vm_history` reduced to the messages' ids
/// when `stored` says the store holds every one of them (it is asked in the transaction that
/// writes the event), whole otherwise.
pub(super) fn encode_event(
    event: &Event,
    stored: impl Fn(&str) -> Result<bool, StorageError>,
) -> Result<Vec<u8>, StorageError> {
    let EventKind::Final { payload } = &event.kind else {
        return encode(event);
    };
    let Some(entries) = payload.get(VM_HISTORY).and_then(Value::as_array) else {
        return encode(event);
    };
    let ids: Option<Vec<Value>> = entries
        .iter()
        .map(|entry| entry.get("id").filter(|id| id.is_string()).cloned())
        .collect();
    let (Some(ids), Some(fields)) = (ids, payload.as_object()) else {
        return encode(event);
    };
    for id in ids.iter().filter_map(Value::as_str) {
        if !stored(id)? {
            return encode(event);
        }
    }
    let mut slim: Map<String, Value> = fields
        .iter()
        .filter(|(name, _)| name.as_str() != VM_HISTORY)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    slim.insert(VM_HISTORY_IDS.into(), Value::Array(ids));
    encode(&Event {
        seq: event.seq,
        turn_id: event.turn_id.clone(),
        at_ms: event.at_ms,
        kind: EventKind::Final {
            payload: Value::Object(slim),
        },
    })
}

/// A stored event as clients receive it: a `final` event gets its `vm_history` back from
/// `message`, which finds a stored message of the same session by id.
pub(super) fn decode_event(
    raw: &[u8],
    message: impl Fn(&str) -> Result<Option<Message>, StorageError>,
) -> Result<Event, StorageError> {
    let mut event: Event = decode(raw)?;
    if let EventKind::Final { payload } = &mut event.kind {
        if let Some(fields) = payload.as_object_mut() {
            if let Some(Value::Array(ids)) = fields.remove(VM_HISTORY_IDS) {
                let mut entries = Vec::with_capacity(ids.len());
                for id in ids.iter().filter_map(Value::as_str) {
                    match message(id)? {
                        Some(found) => entries.push(
                            serde_json::to_value(found)
                                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
                        ),
                        None => {
                            return Err(StorageError::Corrupt(format!(
                                "event {} names message {id}, which is not stored",
                                event.seq
                            )))
                        }
                    }
                }
                fields.insert(VM_HISTORY.into(), Value::Array(entries));
            }
        }
    }
    Ok(event)
}

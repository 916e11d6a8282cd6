//! The redb file: table definitions and the blocking reads and writes behind the storage actor.
//! Every key starts with the tenant, then the session, so one tenant's rows can never be reached
//! through another tenant's key.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::slim::{decode_event, encode_event};
use super::{SessionRecord, StorageError, StoredSession, WriteBatch};
use crate::event::Event;
use crate::history::Message;
use crate::SessionKey;

type SessionKeyCols<'a> = (&'a str, &'a str);

const SESSIONS: TableDefinition<SessionKeyCols, &[u8]> = TableDefinition::new("sessions");
const MESSAGES: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("messages");
const EVENTS: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("events");
const TODOS: TableDefinition<SessionKeyCols, &[u8]> = TableDefinition::new("todos");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// (tenant, conversation id) -> the client's payload, stored as sent.
const CONVERSATIONS: TableDefinition<SessionKeyCols, &[u8]> = TableDefinition::new("conversations");
/// (tenant, session, deployed folder) -> the site deployed from it.
const DEPLOYMENTS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("deployments");
/// Server-wide settings changed at runtime (`/api/config`).
const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");

/// Bumped when the stored layout changes incompatibly.
const SCHEMA_VERSION: &[u8] = b"1";

/// Opens (creating if needed) the database, with a page cache of `cache_bytes`, and makes sure
/// every table exists. A database left unclean (a crash, a failed write) is repaired by redb.
pub(crate) fn open(
    path: &Path,
    cache_bytes: usize,
    #[cfg(feature = "testing")] fault: &std::sync::Arc<super::DiskFault>,
) -> Result<Database, StorageError> {
    if let Some(parent) = path.parent() {
        crate::private::create_dir_all(parent).map_err(|e| StorageError::Io(e.to_string()))?;
    }
    // The file holds conversations and keys set through `/api/config`: the server's alone. An
    // empty file is initialised by redb; an existing one is made private too.
    match crate::private::create_new_file(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            crate::private::restrict_file(path).map_err(|e| StorageError::Io(e.to_string()))?;
            // redb takes an empty file for a new database: one that existed and is empty was
            // truncated, and starting afresh over it would lose every session quietly.
            let len = std::fs::metadata(path)
                .map_err(|e| StorageError::Io(e.to_string()))?
                .len();
            if len == 0 {
                return Err(StorageError::Database(format!(
                    "{} is empty (0 bytes): the store was truncated. Restore it from a backup, \
                     or move it away to start with an empty store",
                    path.display()
                )));
            }
        }
        Err(e) => return Err(StorageError::Io(e.to_string())),
    }
    let mut builder = redb::Builder::new();
    builder.set_cache_size(cache_bytes);
    #[cfg(not(feature = "testing"))]
    let opened = builder.create(path);
    #[cfg(feature = "testing")]
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(redb::DatabaseError::from)
        .and_then(|file| super::fault::FaultyFile::new(file, fault.clone()))
        .and_then(|backend| builder.create_with_backend(backend));
    let db = match opened {
        Ok(db) => db,
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
            return Err(StorageError::Database(format!(
                "{} is in use by another okcvm process (a running server?); stop it or use another --data-dir",
                path.display()
            )))
        }
        Err(e) => return Err(redb::Error::from(e).into()),
    };
    let txn = db.begin_write().map_err(redb::Error::from)?;
    {
        let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
        let existing = meta
            .get("schema_version")
            .map_err(redb::Error::from)?
            .map(|v| v.value().to_vec());
        match existing {
            None => {
                meta.insert("schema_version", SCHEMA_VERSION)
                    .map_err(redb::Error::from)?;
            }
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(StorageError::Corrupt(format!(
                    "the data file has schema version {}, this build reads {}",
                    String::from_utf8_lossy(&v),
                    String::from_utf8_lossy(SCHEMA_VERSION)
                )))
            }
        }
        txn.open_table(SESSIONS).map_err(redb::Error::from)?;
        txn.open_table(MESSAGES).map_err(redb::Error::from)?;
        txn.open_table(EVENTS).map_err(redb::Error::from)?;
        txn.open_table(TODOS).map_err(redb::Error::from)?;
        txn.open_table(CONVERSATIONS).map_err(redb::Error::from)?;
        txn.open_table(SETTINGS).map_err(redb::Error::from)?;
        txn.open_table(DEPLOYMENTS).map_err(redb::Error::from)?;
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok(db)
}

/// Writes several batches in one transaction (one commit, one fsync).
pub(crate) fn write_batches<'a>(
    db: &Database,
    batches: impl IntoIterator<Item = &'a WriteBatch>,
) -> Result<(), StorageError> {
    let txn = db.begin_write().map_err(redb::Error::from)?;
    {
        let mut sessions = txn.open_table(SESSIONS).map_err(redb::Error::from)?;
        let mut messages = txn.open_table(MESSAGES).map_err(redb::Error::from)?;
        let mut events = txn.open_table(EVENTS).map_err(redb::Error::from)?;
        let mut todos = txn.open_table(TODOS).map_err(redb::Error::from)?;
        for batch in batches {
            let (t, s) = (batch.key.tenant.as_str(), batch.key.session.as_str());
            if batch.clear {
                messages
                    .retain_in((t, s, "")..=(t, s, "\u{10FFFF}"), |_, _| false)
                    .map_err(redb::Error::from)?;
                events
                    .retain_in((t, s, 0)..=(t, s, u64::MAX), |_, _| false)
                    .map_err(redb::Error::from)?;
                todos.remove((t, s)).map_err(redb::Error::from)?;
            }
            if let Some(record) = &batch.record {
                sessions
                    .insert((t, s), encode(record)?.as_slice())
                    .map_err(redb::Error::from)?;
            }
            for message in &batch.messages {
                messages
                    .insert((t, s, message.id.as_str()), encode(message)?.as_slice())
                    .map_err(redb::Error::from)?;
            }
            // After the batch's messages, so a `final` event may name them.
            let stored = |id: &str| -> Result<bool, StorageError> {
                Ok(messages
                    .get((t, s, id))
                    .map_err(redb::Error::from)?
                    .is_some())
            };
            for event in &batch.events {
                events
                    .insert((t, s, event.seq), encode_event(event, stored)?.as_slice())
                    .map_err(redb::Error::from)?;
            }
            if let Some(list) = &batch.todos {
                todos
                    .insert((t, s), encode(list)?.as_slice())
                    .map_err(redb::Error::from)?;
            }
        }
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok(())
}

/// Everything needed to bring a session back to life, or `None` if it was never stored.
pub(crate) fn load_session(
    db: &Database,
    key: &SessionKey,
) -> Result<Option<StoredSession>, StorageError> {
    let (t, s) = (key.tenant.as_str(), key.session.as_str());
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let sessions = txn.open_table(SESSIONS).map_err(redb::Error::from)?;
    let Some(raw) = sessions.get((t, s)).map_err(redb::Error::from)? else {
        return Ok(None);
    };
    let record: SessionRecord = decode(raw.value())?;
    let messages_table = txn.open_table(MESSAGES).map_err(redb::Error::from)?;
    let mut messages = Vec::new();
    for row in messages_table
        .range((t, s, "")..)
        .map_err(redb::Error::from)?
    {
        let (k, v) = row.map_err(redb::Error::from)?;
        let (kt, ks, _) = k.value();
        if kt != t || ks != s {
            break;
        }
        messages.push(decode::<Message>(v.value())?);
    }
    let events = txn.open_table(EVENTS).map_err(redb::Error::from)?;
    let last_seq = match events
        .range((t, s, 0)..=(t, s, u64::MAX))
        .map_err(redb::Error::from)?
        .next_back()
    {
        Some(row) => row.map_err(redb::Error::from)?.0.value().2,
        None => 0,
    }
    .max(record.seq_floor);
    Ok(Some(StoredSession {
        record,
        messages,
        last_seq,
    }))
}

/// Events with `after < seq <= upto`, at most `limit`, oldest first.
pub(crate) fn read_events(
    db: &Database,
    key: &SessionKey,
    after: u64,
    upto: u64,
    limit: usize,
) -> Result<Vec<Event>, StorageError> {
    let (t, s) = (key.tenant.as_str(), key.session.as_str());
    if after >= upto {
        return Ok(Vec::new());
    }
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let events = txn.open_table(EVENTS).map_err(redb::Error::from)?;
    let messages = txn.open_table(MESSAGES).map_err(redb::Error::from)?;
    let message = |id: &str| -> Result<Option<Message>, StorageError> {
        match messages.get((t, s, id)).map_err(redb::Error::from)? {
            Some(raw) => decode(raw.value()).map(Some),
            None => Ok(None),
        }
    };
    let mut out = Vec::new();
    for row in events
        .range((t, s, after + 1)..=(t, s, upto))
        .map_err(redb::Error::from)?
        .take(limit)
    {
        let (_, v) = row.map_err(redb::Error::from)?;
        out.push(decode_event(v.value(), message)?);
    }
    Ok(out)
}

pub(crate) fn read_todos(
    db: &Database,
    key: &SessionKey,
) -> Result<Vec<crate::types::Todo>, StorageError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let todos = txn.open_table(TODOS).map_err(redb::Error::from)?;
    match todos
        .get((key.tenant.as_str(), key.session.as_str()))
        .map_err(redb::Error::from)?
    {
        Some(raw) => decode(raw.value()),
        None => Ok(Vec::new()),
    }
}

/// Session ids of a tenant with their records, in id order.
pub(crate) fn list_sessions(
    db: &Database,
    tenant: &str,
) -> Result<Vec<(String, SessionRecord)>, StorageError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let sessions = txn.open_table(SESSIONS).map_err(redb::Error::from)?;
    let mut out = Vec::new();
    for row in sessions.range((tenant, "")..).map_err(redb::Error::from)? {
        let (k, v) = row.map_err(redb::Error::from)?;
        let (kt, ks) = k.value();
        if kt != tenant {
            break;
        }
        out.push((ks.to_string(), decode(v.value())?));
    }
    Ok(out)
}

pub(crate) fn put_conversation(
    db: &Database,
    tenant: &str,
    id: &str,
    payload: Option<&[u8]>,
) -> Result<bool, StorageError> {
    let txn = db.begin_write().map_err(redb::Error::from)?;
    let existed = {
        let mut table = txn.open_table(CONVERSATIONS).map_err(redb::Error::from)?;
        let previous = match payload {
            Some(payload) => table.insert((tenant, id), payload),
            None => table.remove((tenant, id)),
        }
        .map_err(redb::Error::from)?;
        previous.is_some()
    };
    txn.commit().map_err(redb::Error::from)?;
    Ok(existed)
}

pub(crate) fn get_conversation(
    db: &Database,
    tenant: &str,
    id: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let table = txn.open_table(CONVERSATIONS).map_err(redb::Error::from)?;
    let value = table.get((tenant, id)).map_err(redb::Error::from)?;
    Ok(value.map(|v| v.value().to_vec()))
}

pub(crate) fn list_conversations(
    db: &Database,
    tenant: &str,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let table = txn.open_table(CONVERSATIONS).map_err(redb::Error::from)?;
    let mut out = Vec::new();
    for row in table.range((tenant, "")..).map_err(redb::Error::from)? {
        let (k, v) = row.map_err(redb::Error::from)?;
        if k.value().0 != tenant {
            break;
        }
        out.push(v.value().to_vec());
    }
    Ok(out)
}

pub(crate) fn get_deployment(
    db: &Database,
    key: &SessionKey,
    dir: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let table = txn.open_table(DEPLOYMENTS).map_err(redb::Error::from)?;
    let value = table
        .get((key.tenant.as_str(), key.session.as_str(), dir))
        .map_err(redb::Error::from)?;
    Ok(value.map(|v| v.value().to_vec()))
}

pub(crate) fn put_deployment(
    db: &Database,
    key: &SessionKey,
    dir: &str,
    record: &[u8],
) -> Result<(), StorageError> {
    let txn = db.begin_write().map_err(redb::Error::from)?;
    {
        let mut table = txn.open_table(DEPLOYMENTS).map_err(redb::Error::from)?;
        table
            .insert((key.tenant.as_str(), key.session.as_str(), dir), record)
            .map_err(redb::Error::from)?;
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok(())
}

pub(crate) fn take_deployments(
    db: &Database,
    key: &SessionKey,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let (t, s) = (key.tenant.as_str(), key.session.as_str());
    let txn = db.begin_write().map_err(redb::Error::from)?;
    let mut taken = Vec::new();
    {
        let mut table = txn.open_table(DEPLOYMENTS).map_err(redb::Error::from)?;
        table
            .retain_in((t, s, "")..=(t, s, "\u{10FFFF}"), |_, value| {
                taken.push(value.to_vec());
                false
            })
            .map_err(redb::Error::from)?;
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok(taken)
}

pub(crate) fn put_setting(
    db: &Database,
    name: &str,
    value: Option<&[u8]>,
) -> Result<(), StorageError> {
    let txn = db.begin_write().map_err(redb::Error::from)?;
    {
        let mut table = txn.open_table(SETTINGS).map_err(redb::Error::from)?;
        match value {
            Some(value) => table.insert(name, value).map(drop),
            None => table.remove(name).map(drop),
        }
        .map_err(redb::Error::from)?;
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok(())
}

pub(crate) fn get_setting(db: &Database, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
    let txn = db.begin_read().map_err(redb::Error::from)?;
    let table = txn.open_table(SETTINGS).map_err(redb::Error::from)?;
    let value = table.get(name).map_err(redb::Error::from)?;
    Ok(value.map(|v| v.value().to_vec()))
}

pub(super) fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_store(path: &Path) -> Result<Database, StorageError> {
        open(
            path,
            1 << 20,
            #[cfg(feature = "testing")]
            &Default::default(),
        )
    }

    #[test]
    fn a_store_truncated_to_nothing_is_refused_and_a_missing_one_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("okcvm.redb");
        drop(open_store(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(std::fs::metadata(&path).unwrap().len() > 0);
        std::fs::write(&path, b"").unwrap();
        let error = open_store(&path).unwrap_err().to_string();
        assert!(error.contains("is empty (0 bytes)"), "{error}");
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            0,
            "nothing was written over it"
        );
    }

    fn final_event(seq: u64, payload: serde_json::Value) -> std::sync::Arc<Event> {
        std::sync::Arc::new(Event {
            seq,
            turn_id: Some("t1".into()),
            at_ms: 1,
            kind: crate::event::EventKind::Final { payload },
        })
    }

    #[test]
    fn a_final_event_is_stored_with_message_ids_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_store(&dir.path().join("okcvm.redb")).unwrap();
        let key = SessionKey::new("tenant", "s");
        let mut question = Message::new(crate::history::Role::User, None, "a long question");
        question.turn_id = Some("t1".into());
        let answer = Message::new(crate::history::Role::Assistant, None, "a long answer");
        let live = final_event(
            7,
            serde_json::json!({
                "reply": "a long answer",
                "vm_history": [question, answer],
            }),
        );
        let plain = final_event(8, serde_json::json!({"reply": "no history here"}));
        // A history entry the store does not hold: that event is stored whole.
        let unknown = final_event(
            9,
            serde_json::json!({"reply": "r", "vm_history": [{"id": "elsewhere", "content": "c"}]}),
        );
        let mut batch = WriteBatch::new(key.clone());
        batch.messages = vec![question.clone(), answer.clone()];
        batch.events = vec![live.clone(), plain.clone(), unknown.clone()];
        write_batches(&db, [&batch]).unwrap();

        let stored = {
            let txn = db.begin_read().unwrap();
            let events = txn.open_table(EVENTS).unwrap();
            let raw = events.get(("tenant", "s", 7)).unwrap().unwrap();
            String::from_utf8(raw.value().to_vec()).unwrap()
        };
        assert!(
            stored.contains(&question.id) && stored.contains(&answer.id),
            "{stored}"
        );
        assert!(!stored.contains("a long question"), "{stored}");
        assert!(!stored.contains("\"vm_history\""), "{stored}");

        let read = read_events(&db, &key, 0, 10, 10).unwrap();
        assert_eq!(
            read,
            vec![
                live.as_ref().clone(),
                plain.as_ref().clone(),
                unknown.as_ref().clone()
            ]
        );
    }

    #[test]
    fn a_final_event_stored_whole_before_is_read_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_store(&dir.path().join("okcvm.redb")).unwrap();
        let key = SessionKey::new("tenant", "s");
        let old = final_event(
            3,
            serde_json::json!({"reply": "r", "vm_history": [{"id": "gone", "content": "kept"}]}),
        );
        {
            let txn = db.begin_write().unwrap();
            {
                let mut events = txn.open_table(EVENTS).unwrap();
                let raw = encode(old.as_ref()).unwrap();
                events.insert(("tenant", "s", 3), raw.as_slice()).unwrap();
            }
            txn.commit().unwrap();
        }
        assert_eq!(
            read_events(&db, &key, 0, 10, 10).unwrap(),
            vec![old.as_ref().clone()]
        );
    }
}

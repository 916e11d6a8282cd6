//! The session manager: finds the actor of a (tenant, session), spawning it on demand. It
//! supervises every session: a session that fails is restarted from the store at once (a
//! running turn is then marked interrupted), one that hibernates is simply forgotten until the
//! next call wakes it. Spawning runs in its own task, so a slow load never holds up lookups of
//! other sessions.

use std::collections::HashMap;

use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent,
};

use crate::services::Services;
use crate::session::{SessionActor, SessionArgs, SessionError, SessionMsg};
use crate::SessionKey;

/// The stop reason of a session that hibernated (as opposed to failing).
pub const HIBERNATED: &str = "hibernated";

type SessionReply = RpcReplyPort<Result<ActorRef<SessionMsg>, SessionError>>;

pub enum ManagerMsg {
    /// The session's actor, woken or started if needed.
    GetSession {
        key: SessionKey,
        reply: SessionReply,
    },
    /// Number of live (not hibernated) sessions.
    CountLive { reply: RpcReplyPort<usize> },
    /// The live sessions' actors.
    ListLive {
        reply: RpcReplyPort<Vec<ActorRef<SessionMsg>>>,
    },
    /// A spawn started by this actor finished.
    Spawned {
        key: SessionKey,
        result: Result<ActorRef<SessionMsg>, String>,
    },
}

pub struct SessionManager;

pub struct ManagerState {
    services: Services,
    live: HashMap<SessionKey, ActorRef<SessionMsg>>,
    keys: HashMap<ActorId, SessionKey>,
    /// Callers waiting for a session being spawned.
    starting: HashMap<SessionKey, Vec<SessionReply>>,
}

impl Actor for SessionManager {
    type Msg = ManagerMsg;
    type State = ManagerState;
    type Arguments = Services;

    async fn pre_start(
        &self,
        _myself: ActorRef<ManagerMsg>,
        services: Services,
    ) -> Result<ManagerState, ActorProcessingErr> {
        Ok(ManagerState {
            services,
            live: HashMap::new(),
            keys: HashMap::new(),
            starting: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<ManagerMsg>,
        message: ManagerMsg,
        state: &mut ManagerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ManagerMsg::GetSession { key, reply } => {
                if let Some(actor) = state.live.get(&key) {
                    if actor.get_status() == ractor::ActorStatus::Running {
                        let _ = reply.send(Ok(actor.clone()));
                        return Ok(());
                    }
                }
                let waiting = state.starting.entry(key.clone()).or_default();
                waiting.push(reply);
                if waiting.len() == 1 {
                    spawn_session(&myself, &state.services, key);
                }
            }
            ManagerMsg::CountLive { reply } => {
                let _ = reply.send(state.live.len());
            }
            ManagerMsg::ListLive { reply } => {
                let _ = reply.send(state.live.values().cloned().collect());
            }
            ManagerMsg::Spawned { key, result } => {
                let waiting = state.starting.remove(&key).unwrap_or_default();
                let answer = match result {
                    Ok(actor) => {
                        state.keys.insert(actor.get_id(), key.clone());
                        state.live.insert(key, actor.clone());
                        Ok(actor)
                    }
                    Err(e) => {
                        tracing::error!(session = %key, error = %e, "session failed to start");
                        Err(SessionError::Unavailable)
                    }
                };
                for reply in waiting {
                    let _ = reply.send(answer.clone());
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<ManagerMsg>,
        event: SupervisionEvent,
        state: &mut ManagerState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(key) = forget(state, &cell) {
                    if reason.as_deref() == Some(HIBERNATED) {
                        tracing::debug!(session = %key, "session hibernated");
                    }
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                if let Some(key) = forget(state, &cell) {
                    tracing::error!(session = %key, %error, "session failed; restarting it from the store");
                    if !state.starting.contains_key(&key) {
                        state.starting.insert(key.clone(), Vec::new());
                        spawn_session(&myself, &state.services, key);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Drops a stopped actor from the maps, unless a newer actor already serves its key.
fn forget(state: &mut ManagerState, cell: &ActorCell) -> Option<SessionKey> {
    let key = state.keys.remove(&cell.get_id())?;
    if state
        .live
        .get(&key)
        .is_some_and(|a| a.get_id() == cell.get_id())
    {
        state.live.remove(&key);
    }
    Some(key)
}

fn spawn_session(myself: &ActorRef<ManagerMsg>, services: &Services, key: SessionKey) {
    let manager = myself.clone();
    let args = SessionArgs {
        key: key.clone(),
        services: services.clone(),
    };
    tokio::spawn(async move {
        let result = Actor::spawn_linked(None, SessionActor, args, manager.get_cell())
            .await
            .map(|(actor, _)| actor)
            .map_err(|e| e.to_string());
        let _ = manager.cast(ManagerMsg::Spawned { key, result });
    });
}

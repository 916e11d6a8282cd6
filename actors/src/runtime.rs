//! The root of the actor tree and the [`Runtime`] handle the binary holds.
//!
//! The supervisor starts the storage, LLM, tool and session-manager actors linked to itself.
//! Those actors do their work in spawned tasks and do not fail on a domain error, so one of
//! them failing means the process is broken: the supervisor then stops the tree and
//! [`Runtime::wait`] returns, so the binary exits and its service manager restarts it. Sessions
//! are supervised one level down, by the manager, which restarts them individually.

use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio_util::sync::CancellationToken;

use crate::config::{EndpointSettings, Settings};
use crate::llm::{LlmActor, LlmArgs, LlmError};
use crate::services::Services;
use crate::session::manager::{ManagerMsg, SessionManager};
use crate::session::SessionHandle;
use crate::storage::{
    SessionRecord, StorageActor, StorageArgs, StorageError, StoreHealth, StoreStatus,
};
use crate::tool::{ToolActor, ToolArgs, ToolRegistry};
use crate::SessionKey;

mod store;

/// Longest wait for a query to one of the core actors.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the runtime could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("could not start: {0}")]
    Start(String),
    #[error(
        "invalid {what} id {id:?}: use 1 to 128 characters of letters, digits, '.', '_' or '-'"
    )]
    InvalidId { what: &'static str, id: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the actor system is not running")]
    Unavailable,
}

pub enum SupervisorMsg {
    GetServices {
        reply: RpcReplyPort<Services>,
    },
    GetManager {
        reply: RpcReplyPort<ActorRef<ManagerMsg>>,
    },
    /// The runtime is shutting down: children stopping from now on are expected.
    PrepareShutdown {
        reply: RpcReplyPort<()>,
    },
}

pub struct Supervisor;

/// What the supervisor starts the tree with.
pub struct SupervisorArgs {
    pub settings: Arc<Settings>,
    pub registry: Arc<ToolRegistry>,
    pub store_health: Arc<StoreHealth>,
    #[cfg(feature = "testing")]
    pub disk_fault: Arc<crate::storage::DiskFault>,
}

pub struct SupervisorState {
    services: Services,
    manager: ActorRef<ManagerMsg>,
    /// Set by [`SupervisorMsg::PrepareShutdown`]; children stopping are then not a failure.
    shutting_down: bool,
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let (settings, registry) = (args.settings.clone(), args.registry.clone());
        let cell = myself.get_cell();
        let (storage, _) = Actor::spawn_linked(
            None,
            StorageActor,
            StorageArgs {
                path: settings.database_path(),
                cache_bytes: usize::try_from(settings.storage.cache_mb.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
                health: args.store_health.clone(),
                #[cfg(feature = "testing")]
                fault: args.disk_fault.clone(),
            },
            cell.clone(),
        )
        .await?;
        let (llm, _) = Actor::spawn_linked(
            None,
            LlmActor,
            LlmArgs {
                endpoint: settings.chat.clone(),
                settings: settings.llm.clone(),
            },
            cell.clone(),
        )
        .await?;
        let tool_args = ToolArgs {
            registry: registry.clone(),
            max_concurrent: settings.agent.max_concurrent_tool_calls,
        };
        let (tools, _) = Actor::spawn_linked(None, ToolActor, tool_args, cell.clone()).await?;
        // The port the server listens on is never opened to the tools by `web.allow`.
        let guard = crate::net::NetGuard::new(&settings.web, Some(settings.server.port))
            .map_err(RuntimeError::Start)?;
        let (jail, proxy) = start_jail(&settings, &guard).await?;
        let web = Arc::new(
            crate::net::Web::new(&settings, guard, jail.clone()).map_err(RuntimeError::Start)?,
        );
        let services = Services {
            storage: storage.into(),
            llm: llm.into(),
            tools: tools.into(),
            registry,
            settings,
            web,
            jail,
            proxy,
        };
        let (manager, _) =
            Actor::spawn_linked(None, SessionManager, services.clone(), cell).await?;
        Ok(SupervisorState {
            services,
            manager,
            shutting_down: false,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::GetServices { reply } => {
                let _ = reply.send(state.services.clone());
            }
            SupervisorMsg::GetManager { reply } => {
                let _ = reply.send(state.manager.clone());
            }
            SupervisorMsg::PrepareShutdown { reply } => {
                state.shutting_down = true;
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        if state.shutting_down {
            return Ok(());
        }
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                tracing::error!(actor = %cell.get_id(), %error, "a core actor failed; stopping");
                myself.stop(Some(format!("core actor failed: {error}")));
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                tracing::error!(actor = %cell.get_id(), ?reason, "a core actor stopped; stopping");
                myself.stop(Some("core actor stopped".into()));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The running actor system.
pub struct Runtime {
    supervisor: ActorRef<SupervisorMsg>,
    /// Cancelled once the supervisor has stopped, whatever the reason.
    ended: CancellationToken,
    services: Services,
    manager: ActorRef<ManagerMsg>,
    store_health: Arc<StoreHealth>,
    #[cfg(feature = "testing")]
    disk_fault: Arc<crate::storage::DiskFault>,
}

impl Runtime {
    /// Opens the store and starts the actors.
    pub async fn start(settings: Settings) -> Result<Runtime, RuntimeError> {
        // The HTTP clients' TLS configuration is made while the rest starts.
        crate::net::tls::warm();
        let registry =
            Arc::new(ToolRegistry::bundled().map_err(|e| RuntimeError::Start(e.to_string()))?);
        let store_health = Arc::new(StoreHealth::default());
        #[cfg(feature = "testing")]
        let disk_fault = Arc::new(crate::storage::DiskFault::default());
        let args = SupervisorArgs {
            settings: Arc::new(settings),
            registry,
            store_health: store_health.clone(),
            #[cfg(feature = "testing")]
            disk_fault: disk_fault.clone(),
        };
        let (supervisor, join) = Actor::spawn(None, Supervisor, args)
            .await
            .map_err(|e| RuntimeError::Start(startup_cause(&e.to_string())))?;
        let ended = CancellationToken::new();
        let on_end = ended.clone();
        tokio::spawn(async move {
            let _ = join.await;
            on_end.cancel();
        });
        let services = ask(&supervisor, |reply| SupervisorMsg::GetServices { reply }).await?;
        let manager = ask(&supervisor, |reply| SupervisorMsg::GetManager { reply }).await?;
        let runtime = Runtime {
            supervisor,
            ended,
            services,
            manager,
            store_health,
            #[cfg(feature = "testing")]
            disk_fault,
        };
        #[cfg(feature = "testing")]
        runtime.schedule_injected_failure();
        Ok(runtime)
    }

    /// Whether the store works, or why not while it recovers.
    pub fn store_status(&self) -> StoreStatus {
        self.store_health.status()
    }

    /// What agent code runs in.
    pub fn jail(&self) -> &Arc<crate::workspace::Jail> {
        &self.services.jail
    }

    pub fn settings(&self) -> &Settings {
        &self.services.settings
    }

    pub fn registry(&self) -> &ToolRegistry {
        &self.services.registry
    }

    /// The handle of a session (its actor starts on first use).
    pub fn session(&self, key: SessionKey) -> Result<SessionHandle, RuntimeError> {
        if !crate::is_valid_id(&key.tenant) {
            return Err(RuntimeError::InvalidId {
                what: "tenant",
                id: key.tenant,
            });
        }
        if !crate::is_valid_id(&key.session) {
            return Err(RuntimeError::InvalidId {
                what: "session",
                id: key.session,
            });
        }
        Ok(SessionHandle::new(
            key,
            self.manager.clone(),
            self.services.storage.clone(),
        ))
    }

    /// The tenant's stored sessions with their records.
    pub async fn list_sessions(
        &self,
        tenant: &str,
    ) -> Result<Vec<(String, SessionRecord)>, RuntimeError> {
        stored(
            self.services
                .storage
                .list_sessions(tenant.to_string())
                .await,
        )
    }

    /// Sessions with a live actor right now.
    pub async fn live_sessions(&self) -> Result<usize, RuntimeError> {
        match self
            .manager
            .call(|reply| ManagerMsg::CountLive { reply }, Some(QUERY_TIMEOUT))
            .await
        {
            Ok(CallResult::Success(n)) => Ok(n),
            _ => Err(RuntimeError::Unavailable),
        }
    }

    /// Replaces the chat endpoint for new model calls.
    pub async fn configure_chat(
        &self,
        endpoint: Option<EndpointSettings>,
    ) -> Result<(), RuntimeError> {
        match self.services.llm.configure(endpoint).await {
            Err(LlmError::Unavailable) => Err(RuntimeError::Unavailable),
            other => Ok(other?),
        }
    }

    /// Replaces the media endpoints for the tools' next calls.
    pub fn configure_media(&self, media: crate::config::MediaSettings) {
        self.services.web.set_media(media);
    }

    /// Ends every running turn, recording it as interrupted; subscribers see why. The
    /// sessions stay up, so streams can deliver that before they close.
    pub async fn interrupt_turns(&self) {
        let live = match self
            .manager
            .call(|reply| ManagerMsg::ListLive { reply }, Some(QUERY_TIMEOUT))
            .await
        {
            Ok(CallResult::Success(live)) => live,
            _ => return,
        };
        let calls = live.iter().map(|session| {
            session.call(
                |reply| crate::session::SessionMsg::Interrupt { reply },
                Some(crate::storage::COMMIT_TIMEOUT),
            )
        });
        futures::future::join_all(calls).await;
    }

    /// Stops every actor (see [`Runtime::stop_all`]) and waits for the actor system to end.
    pub async fn shutdown(self) {
        self.stop_all().await;
        self.ended.cancelled().await;
    }

    /// Stops every actor: sessions first (a running turn is recorded as interrupted), then the
    /// core actors; the store commits what it holds and closes.
    pub async fn stop_all(&self) {
        let wait = Some(Duration::from_secs(10));
        // The supervisor is told first so the children stopping below is not taken for a
        // failure, and stopped last: stopping it first would kill its children, skipping their
        // `post_stop` (the store would close some time later instead of now).
        let _ = ask(&self.supervisor, |reply| SupervisorMsg::PrepareShutdown {
            reply,
        })
        .await;
        self.manager
            .get_cell()
            .stop_children_and_wait(None, wait)
            .await;
        let _ = self.manager.stop_and_wait(None, wait).await;
        let _ = self.services.tools.actor().stop_and_wait(None, wait).await;
        let _ = self.services.llm.actor().stop_and_wait(None, wait).await;
        let _ = self
            .services
            .storage
            .actor()
            .stop_and_wait(None, wait)
            .await;
        let _ = self.supervisor.stop_and_wait(None, wait).await;
    }

    /// Resolves when the actor system has stopped: after [`Runtime::stop_all`], or on its own
    /// when a core actor failed (the binary then exits so its service manager restarts it).
    pub async fn wait(&self) {
        self.ended.cancelled().await;
    }

    /// Whether the actor system has stopped.
    pub fn has_ended(&self) -> bool {
        self.ended.is_cancelled()
    }
}

/// Fault injection for supervision tests (the `testing` feature only).
#[cfg(feature = "testing")]
impl Runtime {
    /// Makes the storage actor fail, as a broken core actor would.
    pub fn fail_core_actor(&self) {
        let _ = self
            .services
            .storage
            .actor()
            .cast(crate::storage::StorageMsg::Crash);
    }

    /// The switch that fills the disk under the database.
    pub fn disk_fault(&self) -> &crate::storage::DiskFault {
        &self.disk_fault
    }

    /// `TESTING_FAIL_CORE_AFTER_MS` (outside the `OKCVM_` settings namespace): fail a core actor
    /// that long after start, so a test can
    /// watch the real binary end.
    fn schedule_injected_failure(&self) {
        let Some(ms) = std::env::var("TESTING_FAIL_CORE_AFTER_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return;
        };
        let storage = self.services.storage.actor().clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let _ = storage.cast(crate::storage::StorageMsg::Crash);
        });
    }
}

/// A store's answer as the runtime gives it: no answer at all means the actor system is not
/// running.
fn stored<T>(result: Result<T, StorageError>) -> Result<T, RuntimeError> {
    match result {
        Err(StorageError::Unavailable) => Err(RuntimeError::Unavailable),
        other => Ok(other?),
    }
}

/// Starts the network proxy (when the jail's network goes through it) and the jail's build,
/// which goes on (and probes it with a real command) on a thread of its own.
async fn start_jail(
    settings: &Settings,
    guard: &crate::net::NetGuard,
) -> Result<
    (
        Arc<crate::workspace::Jail>,
        Option<Arc<crate::net::ProxyServer>>,
    ),
    RuntimeError,
> {
    let workspace = &settings.workspace;
    // The proxy runs whenever the jail does: the browser's jail goes through it even when
    // agent commands have no network.
    let proxy = if workspace.sandbox == crate::config::SandboxChoice::Bwrap {
        let path = std::path::absolute(settings.run_dir().join("proxy.sock"))
            .map_err(|e| RuntimeError::Start(format!("no path for the network proxy: {e}")))?;
        let proxy = crate::net::ProxyServer::start(guard.clone(), path.clone()).map_err(|e| {
            RuntimeError::Start(format!(
                "the network proxy cannot listen on {}: {e}",
                path.display()
            ))
        })?;
        Some(Arc::new(proxy))
    } else {
        None
    };
    let setup = crate::workspace::JailSetup::from_settings(
        workspace,
        settings.run_dir(),
        proxy.as_ref().map(|p| p.path().to_path_buf()),
    );
    Ok((crate::workspace::Jail::start(setup), proxy))
}

/// The innermost reason of a failed start: ractor wraps a child's startup failure in its
/// parent's, each as `Actor panicked during startup '<inner>'`.
fn startup_cause(message: &str) -> String {
    const WRAPPER: &str = "Actor panicked during startup '";
    let mut inner = message;
    while let Some(rest) = inner
        .strip_prefix(WRAPPER)
        .and_then(|rest| rest.strip_suffix('\''))
    {
        inner = rest;
    }
    inner.to_string()
}

async fn ask<T: Send + 'static>(
    supervisor: &ActorRef<SupervisorMsg>,
    build: impl FnOnce(RpcReplyPort<T>) -> SupervisorMsg,
) -> Result<T, RuntimeError> {
    match supervisor.call(build, Some(QUERY_TIMEOUT)).await {
        Ok(CallResult::Success(value)) => Ok(value),
        _ => Err(RuntimeError::Start("the supervisor did not answer".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::startup_cause;

    #[test]
    fn the_innermost_startup_failure_is_kept() {
        let nested =
            "Actor panicked during startup 'Actor panicked during startup 'storage error: x''";
        assert_eq!(startup_cause(nested), "storage error: x");
        assert_eq!(startup_cause("plain"), "plain");
    }
}

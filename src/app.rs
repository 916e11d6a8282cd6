//! The server's life: start the actor runtime, lay stored `/api/config` changes over the
//! settings, serve the routes on a listener (through the edge, `http::edge`), and on shutdown
//! end every event stream, record running turns as interrupted, and close the store.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use okcvm_actors::config::{AuthMode, Settings};
use okcvm_actors::Runtime;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http::edge::{self, Edge, EdgeLimits};
use crate::http::settings::{self, Endpoints};
use crate::http::{App, Authenticator};

/// Longest wait for open connections to finish once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A server that is accepting connections.
pub struct RunningServer {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    app: Arc<App>,
    edge: Edge,
}

/// A listener whose connections send small writes (SSE frames) at once: `TCP_NODELAY` set on
/// the listening socket is inherited by every accepted connection.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("resolving {addr}"))?
    {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }?;
        socket.set_reuseaddr(true)?;
        socket.set_nodelay(true)?;
        match socket.bind(addr) {
            Ok(()) => return Ok(socket.listen(1024)?),
            Err(e) => last_error = Some(e),
        }
    }
    Err(anyhow::anyhow!(
        "could not listen on {addr}: {}",
        last_error.map_or_else(|| "no address".to_string(), |e| e.to_string())
    ))
}

/// Refuses to serve without authentication on an address others can reach, unless told to.
pub fn check_exposure(settings: &Settings) -> anyhow::Result<()> {
    if settings.auth.mode != AuthMode::None || settings.server.allow_unauthenticated_remote {
        return Ok(());
    }
    let host = settings.server.host.trim();
    let loopback = host == "localhost"
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false);
    if loopback {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to listen on {host} with authentication off: anyone who can reach it would have \
         full access. Use auth.mode: tokens (see `okcvm tokens create`), listen on 127.0.0.1, or \
         set server.allow_unauthenticated_remote: true if something in front of OKCVM \
         authenticates"
    )
}

/// Tenants are not trusted: with tokens on, agent code must run in the jail unless the operator
/// says otherwise in so many words.
fn refuse_unsandboxed_tenants(settings: &Settings) -> anyhow::Result<()> {
    let workspace = &settings.workspace;
    if settings.auth.mode == okcvm_actors::config::AuthMode::Tokens
        && workspace.sandbox == okcvm_actors::config::SandboxChoice::None
        && !workspace.allow_unsandboxed
    {
        anyhow::bail!(
            "refusing to serve tenants with workspace.sandbox: none: any tenant's agent could read \
             and change everything the server can. Use workspace.sandbox: bwrap, or set \
             workspace.allow_unsandboxed: true if every tenant is trusted"
        );
    }
    Ok(())
}

/// Starts the runtime and serves on `listener`.
pub async fn start(
    settings: Settings,
    listener: TcpListener,
    auth: Option<Arc<dyn Authenticator>>,
) -> anyhow::Result<RunningServer> {
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    refuse_unsandboxed_tenants(&settings)?;
    // Keys, tokens, conversations and workspaces are the server's alone: the data directory
    // is 0700 (tightened if it was made before), and what the server creates in it is private.
    okcvm_actors::private::create_dir_all(&settings.data_dir)
        .and_then(|()| okcvm_actors::private::restrict_dir(&settings.data_dir))
        .with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
    let mut settings = settings;
    // The port really listened on (the configured one may be 0): the network guard keeps the
    // tools off it.
    settings.server.port = addr.port();
    // Links the server hands out (deployed sites) name the address it really listens on.
    if settings.server.public_url.is_none() {
        settings.server.public_url = Some(format!("http://{addr}"));
    }
    let staging_dir = settings.data_dir.join("staging");
    let sites_dir = settings.sites_dir();
    for dir in [&staging_dir, &sites_dir] {
        okcvm_actors::private::create_dir_all(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    // A batch cut short by a crash leaves files here; none of them belong to anyone now.
    if let Err(e) = okcvm_actors::workspace::empty_dir(&staging_dir) {
        tracing::warn!("could not empty {}: {e}", staging_dir.display());
    }

    let runtime = Runtime::start(settings.clone()).await?;
    // What is and is not isolated is said once the jail is built (the server answers
    // meanwhile; the health check says `preparing` until then).
    let jail = runtime.jail().clone();
    tokio::spawn(async move {
        jail.ready().await;
        let isolation = jail.report();
        for line in &isolation.isolated {
            tracing::info!("isolation: {line}");
        }
        for warning in &isolation.not_isolated {
            tracing::warn!("{warning}");
            eprintln!("warning: {warning}");
        }
    });
    let mut endpoints = Endpoints::from_settings(&settings);
    let mut stored = settings::decode_stored(runtime.get_setting(settings::STORED_SETTING).await?);
    // Keys from the configuration are never kept in the store (earlier versions put them
    // there): take them out.
    if settings::scrub_configured_keys(&mut stored, &endpoints) {
        runtime
            .put_setting(
                settings::STORED_SETTING,
                Some(settings::encode_stored(&stored).map_err(|e| anyhow::anyhow!(e.detail))?),
            )
            .await?;
        tracing::info!("removed configured API keys from the store");
    }
    if !stored.is_empty() {
        endpoints.apply_stored(&stored);
        if stored.contains_key("chat") {
            runtime
                .configure_chat(endpoints.get("chat").cloned())
                .await?;
        }
        runtime.configure_media(endpoints.media(&settings.media));
    }

    let app = Arc::new(App {
        runtime,
        settings,
        endpoints: RwLock::new(endpoints),
        auth,
        started: Instant::now(),
        shutdown: CancellationToken::new(),
        staging_dir,
        sites_dir,
        config_lock: tokio::sync::Mutex::new(()),
    });
    crate::memory::spawn_trimmer(app.shutdown.clone());
    let limits = EdgeLimits::new(&app.settings.server, edge::raise_fd_limit());
    let routes = crate::http::routes(app.clone(), addr);
    let edge = edge::serve(listener, routes, limits, app.shutdown.clone());
    Ok(RunningServer { addr, app, edge })
}

impl RunningServer {
    /// The base URL of the server, e.g. `http://127.0.0.1:8000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The actor system behind the server.
    pub fn runtime(&self) -> &okcvm_actors::Runtime {
        &self.app.runtime
    }

    /// Resolves when the actor system has stopped on its own (a core actor failed).
    pub async fn runtime_ended(&self) {
        self.app.runtime.wait().await;
    }

    /// Records running turns as interrupted, stops accepting, ends event streams (after they
    /// delivered what is committed), waits for open requests (up to a limit), then stops every
    /// actor and closes the store.
    pub async fn shutdown(self) {
        // Turns first, so the streams following them deliver the interruption before closing.
        self.app.runtime.interrupt_turns().await;
        self.app.shutdown.cancel();
        if !self.edge.drain(DRAIN_TIMEOUT).await {
            tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; closed them");
        }
        match Arc::try_unwrap(self.app) {
            Ok(app) => app.runtime.shutdown().await,
            Err(app) => {
                // A request task still holds the app; stop the actors through it anyway.
                tracing::warn!("requests still running at shutdown");
                app.runtime.stop_all().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_off_is_refused_on_a_public_address_unless_allowed() {
        let mut settings = Settings::default();
        settings.server.host = "0.0.0.0".into();
        assert!(check_exposure(&settings).is_err());
        settings.server.allow_unauthenticated_remote = true;
        assert!(check_exposure(&settings).is_ok());
        settings.server.allow_unauthenticated_remote = false;
        settings.auth.mode = AuthMode::Tokens;
        assert!(check_exposure(&settings).is_ok());
        for host in ["127.0.0.1", "::1", "localhost"] {
            let mut local = Settings::default();
            local.server.host = host.into();
            assert!(check_exposure(&local).is_ok(), "{host}");
        }
    }
}

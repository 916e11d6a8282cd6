//! `okcvm run`: the HTTP server and the web console, until SIGINT or SIGTERM (exit 0), or until
//! the actor system stops because a core actor failed (exit 1).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use okcvm_actors::config::AuthMode;

use super::GlobalArgs;
use crate::http::Authenticator;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Address to listen on (overrides `server.host`; default 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Port to listen on (overrides `server.port`; default 8000).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
}

pub async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings_with(global, args.host, args.port)?;
    crate::app::check_exposure(&settings)?;
    let auth = authenticator(&settings)?;
    let bind = format!("{}:{}", settings.server.host, settings.server.port);
    let listener = crate::app::bind(&bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    let server = crate::app::start(settings.clone(), listener, auth).await?;
    let console = if settings.server.port == 0 || settings.server.public_url.is_none() {
        format!("{}/ui/", server.url())
    } else {
        format!("{}/ui/", settings.server.base_url())
    };
    println!("OKCVM is running: {console}");
    println!("Data directory: {}", settings.data_dir.display());
    if settings.chat.is_none() {
        println!("No chat model is configured yet: set it in the console's Settings or with OKCVM_CHAT_MODEL and OKCVM_CHAT_BASE_URL.");
    }
    let ended_by_signal = tokio::select! {
        signal = wait_for_signal() => { signal?; true }
        () = server.runtime_ended() => false,
    };
    if ended_by_signal {
        eprintln!("shutting down: ending streams, recording running turns as interrupted…");
        server.shutdown().await;
        return Ok(ExitCode::SUCCESS);
    }
    // A core actor failed and the supervisor stopped the actor system: nothing can be served
    // any more. Exit non-zero so the service manager restarts the server, which recovers every
    // session from the store.
    eprintln!("error: the actor system stopped (a core actor failed; see the log); exiting");
    server.shutdown().await;
    Ok(ExitCode::FAILURE)
}

fn authenticator(
    settings: &okcvm_actors::config::Settings,
) -> anyhow::Result<Option<Arc<dyn Authenticator>>> {
    match settings.auth.mode {
        AuthMode::None => Ok(None),
        AuthMode::Tokens => {
            let store = crate::auth::TokenStore::open(&settings.data_dir)?;
            if store.is_empty() {
                eprintln!(
                    "warning: auth.mode is tokens but there is no token yet; make one with: okcvm tokens create --tenant NAME"
                );
            }
            Ok(Some(Arc::new(store)))
        }
    }
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}

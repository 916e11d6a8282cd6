//! `okcvm exec "<task>"`: one turn, in-process, streamed to the terminal.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use okcvm_actors::event::{EventKind, ToolStatus};
use okcvm_actors::session::{BranchFrom, TurnRequest};
use okcvm_actors::{Runtime, SessionKey};

use super::GlobalArgs;

/// The command line always acts as the local tenant.
pub(crate) use okcvm_actors::LOCAL_TENANT;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// What to ask the agent.
    pub task: String,
    /// Continue this stored session instead of starting a new one.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Print every event as one JSON line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Regenerate the last answer of the session as a new branch, with this task as the message.
    #[arg(long)]
    pub replace_last: bool,
}

pub(crate) async fn run(global: &GlobalArgs, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    if settings.chat.is_none() {
        anyhow::bail!("{}", okcvm_actors::llm::LlmError::NotConfigured);
    }
    let runtime = Runtime::start(settings).await?;
    let result = exec(&runtime, args).await;
    runtime.shutdown().await;
    result
}

async fn exec(runtime: &Runtime, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let session_id = args
        .session
        .clone()
        .unwrap_or_else(okcvm_actors::ids::new_id);
    let session = runtime.session(SessionKey::new(LOCAL_TENANT, session_id.clone()))?;
    let started = session
        .start_turn(TurnRequest {
            message: args.task,
            branch: if args.replace_last {
                BranchFrom::ReplaceLast
            } else {
                BranchFrom::Active
            },
        })
        .await
        .context("starting the turn")?;
    let mut events = session.subscribe(started.after_seq);
    let mut out = std::io::stdout();
    let mut failed = false;
    let mut interrupted = false;
    let mut at_line_start = true;
    loop {
        let event = tokio::select! {
            event = events.next() => event.context("following the turn")?,
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                eprintln!("\nstopping the turn…");
                session.stop().await?;
                continue;
            }
        };
        if event.turn_id.as_deref() != Some(started.turn_id.as_str()) {
            continue;
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(event.as_ref())?)?;
        }
        match &event.kind {
            EventKind::Token { delta } if !args.json => {
                write!(out, "{delta}")?;
                out.flush()?;
                at_line_start = delta.ends_with('\n');
            }
            EventKind::ToolStarted {
                tool_name, input, ..
            } if !args.json => {
                if !at_line_start {
                    writeln!(out)?;
                    at_line_start = true;
                }
                eprintln!("→ {} {}", short(tool_name), input);
            }
            EventKind::ToolCompleted {
                tool_name,
                status,
                duration_ms,
                error,
                ..
            } if !args.json => {
                let seconds = *duration_ms as f64 / 1000.0;
                match status {
                    ToolStatus::Success => eprintln!("✓ {} ({seconds:.2} s)", short(tool_name)),
                    ToolStatus::Error => eprintln!(
                        "✗ {} ({seconds:.2} s): {}",
                        short(tool_name),
                        error.as_deref().unwrap_or("failed")
                    ),
                }
            }
            EventKind::Final { payload } if !args.json => {
                if !at_line_start {
                    writeln!(out)?;
                }
                let meta = &payload["meta"];
                let field = |name: &str| meta[name].as_str().unwrap_or("n/a").to_string();
                eprintln!(
                    "── {} · {} · in {} · out {} · {} · session {}",
                    field("model"),
                    field("summary"),
                    field("tokensIn"),
                    field("tokensOut"),
                    field("latency"),
                    session_id
                );
            }
            EventKind::Error { code, message } => {
                failed = true;
                if !args.json {
                    eprintln!("error [{code}]: {message}");
                }
            }
            EventKind::Stop {} => break,
            _ => {}
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn short(tool_name: &str) -> &str {
    tool_name
        .strip_prefix(okcvm_actors::tool::TOOL_PREFIX)
        .unwrap_or(tool_name)
}

//! `okcvm tools list` and `okcvm tools call`.

use std::process::ExitCode;

use clap::Subcommand;
use okcvm_actors::tool::ToolRegistry;
use okcvm_actors::{Runtime, SessionKey};

use super::exec::LOCAL_TENANT;
use super::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// List the 24 tools and whether each is available in this build.
    List {
        /// Print the declarations sent to the model, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call one tool in a session's workspace, outside any turn.
    Call {
        /// Tool name, with or without the `mshtools-` prefix.
        name: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
        /// The session whose workspace to use (default: `cli`).
        #[arg(long, value_name = "ID", default_value = "cli")]
        session: String,
    },
}

pub(crate) async fn run(global: &GlobalArgs, command: ToolsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ToolsCommand::List { json } => {
            let registry = ToolRegistry::bundled()?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(registry.declarations().as_ref())?
                );
            } else {
                for spec in registry.specs() {
                    let state = if registry.is_available(&spec.name) {
                        "ready"
                    } else {
                        "not yet"
                    };
                    let summary = first_sentence(&spec.description);
                    println!("{:<32} {:<8} {}", spec.name, state, summary);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ToolsCommand::Call {
            name,
            arguments,
            session,
        } => {
            let settings = super::load_settings(global)?;
            let runtime = Runtime::start(settings).await?;
            let outcome = async {
                let session = runtime.session(SessionKey::new(LOCAL_TENANT, session))?;
                anyhow::Ok(session.call_tool(&name, &arguments).await?)
            }
            .await;
            runtime.shutdown().await;
            let outcome = outcome?;
            match outcome.result {
                Ok(output) => {
                    println!("{}", output.text);
                    for image in &output.images {
                        eprintln!("[image {} {}]", image.mime, image.path);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// The description's first sentence, at most 100 characters.
fn first_sentence(description: &str) -> String {
    let line = description.lines().next().unwrap_or_default().trim();
    let sentence = line.split_inclusive(". ").next().unwrap_or(line).trim();
    okcvm_actors::event::preview(sentence, 100)
}

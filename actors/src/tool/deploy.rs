//! `deploy_website`: publishes a workspace folder holding `index.html` as a site served by
//! this server at `/sites/<id>/`, under an unguessable id.
//!
//! The folder is copied (not linked) into the site store under the data directory, which the
//! agent cannot reach, so later changes to the workspace do not change the site until it is
//! deployed again. Deploying the same folder again in the same session updates the same site.
//! Symbolic links and files with other hard links are left out (either could bring in a file
//! from outside the workspace). Sizes are checked before anything is copied.

use std::ffi::OsStr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::{Tool, ToolContext, ToolError, ToolOutput, TypedTool, WorkspaceAccess};
use crate::storage::StorageError;
use crate::workspace::PathError;

mod site;

use site::publish;
pub use site::{is_site_id, remove_sites, DeploymentRecord};

pub(crate) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(DeployWebsite)]
}

struct DeployWebsite;

#[derive(Deserialize)]
struct Args {
    /// Only `static` exists; the schema has already checked it.
    #[serde(rename = "type")]
    _kind: String,
    local_dir: String,
}

impl TypedTool for DeployWebsite {
    const NAME: &'static str = "deploy_website";
    type Args = Args;

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    async fn run(
        &self,
        ctx: &ToolContext,
        Args { local_dir, .. }: Args,
    ) -> Result<ToolOutput, ToolError> {
        let (dir, shown) = ctx.workspace.open_existing_dir(&local_dir).map_err(|e| {
            ToolError::Failed(match e {
                PathError::NotADirectory { path } => {
                    format!("{path} is a file: give the folder that holds index.html")
                }
                other => other.to_string(),
            })
        })?;
        let index_is_file = dir
            .stat(OsStr::new("index.html"))
            .ok()
            .flatten()
            .is_some_and(|s| s.is_file());
        if !index_is_file {
            return Err(ToolError::Failed(format!(
                "{shown} has no index.html directly inside it: the site's entry page must be {shown}/index.html"
            )));
        }

        let existing = load(ctx, &shown).await?;
        let id = existing.as_ref().map_or_else(
            || uuid::Uuid::new_v4().simple().to_string(),
            |r| r.id.clone(),
        );
        let limits = (
            ctx.settings.deploy.max_site_mb.saturating_mul(1 << 20),
            ctx.settings.deploy.max_site_files,
        );
        let sites = ctx.settings.sites_dir();
        let (source, site_id) = (dir, id.clone());
        let published =
            tokio::task::spawn_blocking(move || publish(&source, &sites, &site_id, limits))
                .await
                .map_err(|e| ToolError::Failed(format!("deploying failed: {e}")))?
                .map_err(|e| ToolError::Failed(ctx.workspace.to_agent_view(&e)))?;

        let now = chrono::Utc::now().timestamp_millis();
        let record = DeploymentRecord {
            id: id.clone(),
            dir: shown.clone(),
            created_ms: existing.as_ref().map_or(now, |r| r.created_ms),
            updated_ms: now,
            files: published.files,
            bytes: published.bytes,
        };
        save(ctx, &shown, &record).await?;

        let url = format!("{}/sites/{id}/", ctx.settings.server.base_url());
        let mut text = format!(
            "Deployed {shown} ({} files, {}) to {url}{}",
            published.files,
            crate::workspace::uploads::size_display(published.bytes),
            if existing.is_some() {
                " (the site deployed earlier from this folder now shows the new version)"
            } else {
                ""
            }
        );
        if !published.skipped.is_empty() {
            text.push_str(&format!(
                "\nLeft out (symbolic links or files with other hard links): {}",
                published.skipped.join(", ")
            ));
        }
        Ok(ToolOutput {
            text,
            images: Vec::new(),
            data: Some(json!({
                "url": url,
                "deployment_id": id,
                "files": published.files,
                "bytes": published.bytes,
                "web_preview": {
                    "url": url,
                    "deployment_id": id,
                    "title": published.title,
                },
            })),
        })
    }
}

async fn load(ctx: &ToolContext, dir: &str) -> Result<Option<DeploymentRecord>, ToolError> {
    let raw = ctx
        .storage
        .get_deployment(ctx.session.clone(), dir.to_string())
        .await
        .map_err(store_failed)?;
    Ok(raw.and_then(|raw| serde_json::from_slice(&raw).ok()))
}

async fn save(ctx: &ToolContext, dir: &str, record: &DeploymentRecord) -> Result<(), ToolError> {
    let record = serde_json::to_vec(record).map_err(|e| ToolError::Failed(e.to_string()))?;
    ctx.storage
        .put_deployment(ctx.session.clone(), dir.to_string(), record)
        .await
        .map_err(store_failed)
}

fn store_failed(error: StorageError) -> ToolError {
    match error {
        StorageError::Unavailable => {
            ToolError::Failed("the deployment store did not answer".into())
        }
        other => ToolError::Failed(other.to_string()),
    }
}

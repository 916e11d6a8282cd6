//! `deploy_website`: publishes a workspace folder holding `index.html` as a site served by
//! this server at `/sites/<id>/`, under an unguessable id.
//!
//! The folder is copied (not linked) into the site store under the data directory, which the
//! agent cannot reach, so later changes to the workspace do not change the site until it is
//! deployed again. Deploying the same folder again in the same session updates the same site.
//! Symbolic links and files with other hard links are left out (either could bring in a file
//! from outside the workspace). Sizes are checked before anything is copied.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use ractor::rpc::CallResult;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{parse_args, Tool, ToolContext, ToolError, ToolOutput, WorkspaceAccess};
use crate::storage::StorageMsg;
use crate::workspace::dir::{too_deep, Dir, Stat};
use crate::workspace::PathError;

/// Longest wait for the store.
const STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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

/// What the store keeps about a site, keyed by session and folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub id: String,
    /// The folder deployed, in the agent's view.
    pub dir: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub files: usize,
    pub bytes: u64,
}

/// What publishing copied.
struct Published {
    files: usize,
    bytes: u64,
    skipped: Vec<String>,
    title: Option<String>,
}

impl Tool for DeployWebsite {
    fn name(&self) -> &'static str {
        "deploy_website"
    }

    fn workspace_access(&self) -> WorkspaceAccess {
        WorkspaceAccess::Read
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let Args { local_dir, .. } = parse_args(args)?;
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
        })
    }
}

async fn load(ctx: &ToolContext, dir: &str) -> Result<Option<DeploymentRecord>, ToolError> {
    let (key, dir) = (ctx.session.clone(), dir.to_string());
    match ctx
        .storage
        .call(
            |reply| StorageMsg::GetDeployment { key, dir, reply },
            Some(STORE_TIMEOUT),
        )
        .await
    {
        Ok(CallResult::Success(Ok(raw))) => {
            Ok(raw.and_then(|raw| serde_json::from_slice(&raw).ok()))
        }
        Ok(CallResult::Success(Err(e))) => Err(ToolError::Failed(e.to_string())),
        _ => Err(ToolError::Failed(
            "the deployment store did not answer".into(),
        )),
    }
}

async fn save(ctx: &ToolContext, dir: &str, record: &DeploymentRecord) -> Result<(), ToolError> {
    let (key, dir) = (ctx.session.clone(), dir.to_string());
    let record = serde_json::to_vec(record).map_err(|e| ToolError::Failed(e.to_string()))?;
    match ctx
        .storage
        .call(
            |reply| StorageMsg::PutDeployment {
                key,
                dir,
                record,
                reply,
            },
            Some(STORE_TIMEOUT),
        )
        .await
    {
        Ok(CallResult::Success(Ok(()))) => Ok(()),
        Ok(CallResult::Success(Err(e))) => Err(ToolError::Failed(e.to_string())),
        _ => Err(ToolError::Failed(
            "the deployment store did not answer".into(),
        )),
    }
}

/// Copies `source` into `<sites>/<id>`, replacing the previous version in one rename. The
/// source is read through its handle only: links are left out, never followed, and a file
/// swapped for something else between the survey and the copy fails the deploy.
fn publish(
    source: &Dir,
    sites: &Path,
    id: &str,
    (max_bytes, max_files): (u64, usize),
) -> Result<Published, String> {
    let mut plan = Vec::new();
    let mut skipped = Vec::new();
    let mut bytes = 0u64;
    survey(
        source,
        Path::new(""),
        0,
        &mut plan,
        &mut skipped,
        &mut bytes,
    )?;
    let files = plan.iter().filter(|(_, is_dir)| !is_dir).count();
    if bytes > max_bytes {
        return Err(format!(
            "the site is {}, over the limit of {} (deploy.max_site_mb); leave large files out of the folder",
            crate::workspace::uploads::size_display(bytes),
            crate::workspace::uploads::size_display(max_bytes)
        ));
    }
    if files > max_files {
        return Err(format!(
            "the site has {files} files, over the limit of {max_files} (deploy.max_site_files)"
        ));
    }

    crate::private::create_dir_all(sites)
        .map_err(|e| format!("could not prepare the site store: {e}"))?;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let staging = sites.join(format!(".staging-{id}-{suffix}"));
    let copied = copy_all(source, &staging, &plan, max_bytes);
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let target = sites.join(id);
    let old = sites.join(format!(".old-{id}-{suffix}"));
    let had_old = target.exists();
    if had_old {
        std::fs::rename(&target, &old).map_err(|e| format!("could not replace the site: {e}"))?;
    }
    if let Err(e) = std::fs::rename(&staging, &target) {
        if had_old {
            let _ = std::fs::rename(&old, &target);
        }
        let _ = std::fs::remove_dir_all(&staging);
        return Err(format!("could not publish the site: {e}"));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(Published {
        files,
        bytes,
        skipped,
        title: page_title(&target.join("index.html")),
    })
}

/// Lists what to copy (relative path, is a folder), without following links.
fn survey(
    dir: &Dir,
    relative: &Path,
    depth: usize,
    plan: &mut Vec<(PathBuf, bool)>,
    skipped: &mut Vec<String>,
    bytes: &mut u64,
) -> Result<(), String> {
    if depth > crate::workspace::dir::MAX_DEPTH {
        return Err(format!("could not read the folder: {}", too_deep()));
    }
    let entries = dir
        .entries()
        .map_err(|e| format!("could not read the folder: {e}"))?;
    for entry in entries {
        let path = relative.join(&entry.name);
        if entry.stat.is_dir() {
            plan.push((path.clone(), true));
            let inner = dir
                .open_dir(Path::new(&entry.name))
                .map_err(|e| format!("could not read {}: {e}", path.display()))?;
            survey(&inner, &path, depth + 1, plan, skipped, bytes)?;
        } else if entry.stat.is_file() && entry.stat.nlink == 1 {
            *bytes += entry.stat.len;
            plan.push((path, false));
        } else {
            skipped.push(path.display().to_string());
        }
    }
    Ok(())
}

/// Copies the planned files from `source` to the new folder `target`, at most `max_bytes` in
/// all (files may have grown since the survey).
fn copy_all(
    source: &Dir,
    target: &Path,
    plan: &[(PathBuf, bool)],
    max_bytes: u64,
) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::fs::DirBuilderExt;
    let folder = |path: &Path| {
        std::fs::DirBuilder::new()
            .mode(crate::private::DIR_MODE)
            .create(path)
    };
    folder(target).map_err(|e| format!("could not prepare the site: {e}"))?;
    let mut budget = max_bytes;
    for (path, is_dir) in plan {
        let failed = |e: std::io::Error| format!("could not copy {}: {e}", path.display());
        let to = target.join(path);
        if *is_dir {
            folder(&to).map_err(failed)?;
            continue;
        }
        let from = source.open_file(path).map_err(failed)?;
        let stat = Stat::of(&from).map_err(failed)?;
        if !stat.is_file() || stat.nlink != 1 {
            return Err(format!(
                "{} changed while the site was being copied; deploy again",
                path.display()
            ));
        }
        let mut out = crate::private::create_new_file(&to).map_err(failed)?;
        let copied =
            std::io::copy(&mut from.take(budget.saturating_add(1)), &mut out).map_err(failed)?;
        if copied > budget {
            return Err(format!(
                "the site grew past the limit of {} (deploy.max_site_mb) while it was being copied",
                crate::workspace::uploads::size_display(max_bytes)
            ));
        }
        budget -= copied;
    }
    Ok(())
}

/// The text of the page's `<title>`, if it has one near the top.
fn page_title(index: &Path) -> Option<String> {
    let head = std::fs::read(index).ok()?;
    let head = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]).into_owned();
    let lower = head.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = head[open_end..close].trim();
    (!title.is_empty()).then(|| title.to_string())
}

/// A site id: 32 lower-case hex characters (128 random bits), so never a path.
pub fn is_site_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Removes the sites of records taken from the store (when a session is cleared).
pub fn remove_sites(sites: &Path, records: &[Vec<u8>]) -> usize {
    let mut removed = 0;
    for raw in records {
        let Ok(record) = serde_json::from_slice::<DeploymentRecord>(raw) else {
            continue;
        };
        if is_site_id(&record.id) && std::fs::remove_dir_all(sites.join(&record.id)).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_is_read_from_the_page() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("index.html");
        std::fs::write(&page, "<html><head><TITLE> My Trip </TITLE></head></html>").unwrap();
        assert_eq!(page_title(&page).as_deref(), Some("My Trip"));
        std::fs::write(&page, "<h1>No title</h1>").unwrap();
        assert_eq!(page_title(&page), None);
    }

    #[test]
    fn publishing_copies_files_leaves_links_out_and_replaces_the_old_version() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("css")).unwrap();
        std::fs::write(src.join("index.html"), "v1").unwrap();
        std::fs::write(src.join("css/site.css"), "body{}").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("passwd")).unwrap();
        let sites = dir.path().join("sites");
        let id = "0123456789abcdef0123456789abcdef";
        let first = publish(&Dir::open(&src).unwrap(), &sites, id, (1 << 20, 100)).unwrap();
        assert_eq!((first.files, first.bytes), (2, 8));
        assert_eq!(first.skipped, ["passwd"]);
        assert!(!sites.join(id).join("passwd").exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sites.join(id)), 0o700, "a site's folders are private");
        assert_eq!(
            mode(&sites.join(id).join("css/site.css")),
            0o600,
            "and its files"
        );
        std::fs::write(src.join("index.html"), "v2").unwrap();
        publish(&Dir::open(&src).unwrap(), &sites, id, (1 << 20, 100)).unwrap();
        assert_eq!(
            std::fs::read_to_string(sites.join(id).join("index.html")).unwrap(),
            "v2"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&sites)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [id], "no staging or old copies remain");
    }

    #[test]
    fn a_deploy_racing_files_and_folders_swapped_for_links_serves_no_outside_byte() {
        use crate::workspace::races::{Outside, Swapper, CANARY};
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("css")).unwrap();
        std::fs::write(src.join("index.html"), "<p>inside</p>").unwrap();
        std::fs::write(src.join("css/site.css"), "body{}").unwrap();
        let outside = Outside::new(dir.path(), &["site.css"]);
        let sites = dir.path().join("sites");
        let id = "0123456789abcdef0123456789abcdef";
        let file = Swapper::start(src.join("index.html"), outside.file());
        let folder = Swapper::start(src.join("css"), outside.dir.clone());
        let handle = Dir::open(&src).unwrap();
        for _ in 0..500 {
            let _ = publish(&handle, &sites, id, (1 << 20, 100));
        }
        assert!(file.finish() > 0 && folder.finish() > 0, "the race ran");
        let mut stack = vec![sites.clone()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let meta = std::fs::symlink_metadata(entry.path()).unwrap();
                assert!(!meta.file_type().is_symlink(), "a link was published");
                if meta.is_dir() {
                    stack.push(entry.path());
                } else {
                    let served = std::fs::read_to_string(entry.path()).unwrap();
                    assert!(!served.contains(CANARY), "{}", entry.path().display());
                }
            }
        }
        outside.assert_untouched(&["site.css"]);
    }

    #[test]
    fn a_site_over_the_limits_is_refused_before_anything_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("index.html"), vec![b'x'; 2000]).unwrap();
        let sites = dir.path().join("sites");
        let error = publish(
            &Dir::open(&src).unwrap(),
            &sites,
            "0123456789abcdef0123456789abcdef",
            (1000, 100),
        )
        .err()
        .unwrap();
        assert!(error.contains("over the limit"), "{error}");
        assert!(error.contains("deploy.max_site_mb"), "{error}");
        assert!(!sites.exists());
        let error = publish(
            &Dir::open(&src).unwrap(),
            &sites,
            "0123456789abcdef0123456789abcdef",
            (1 << 20, 0),
        )
        .err()
        .unwrap();
        assert!(error.contains("deploy.max_site_files"), "{error}");
    }
}

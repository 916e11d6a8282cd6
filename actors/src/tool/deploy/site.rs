//! The site store under the data directory: a workspace folder copied in under a site's id
//! (links and files with other hard links left out, sizes checked first, the old version
//! replaced in one rename), the record the store keeps of it, and removing sites.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::workspace::dir::{too_deep, Dir, Stat};

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
pub(super) struct Published {
    pub files: usize,
    pub bytes: u64,
    pub skipped: Vec<String>,
    pub title: Option<String>,
}

/// Copies `source` into `<sites>/<id>`, replacing the previous version in one rename. The
/// source is read through its handle only: links are left out, never followed, and a file
/// swapped for something else between the survey and the copy fails the deploy.
pub(super) fn publish(
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
mod tests;

//! Workspace snapshots in a content-addressed store the agent cannot reach.
//!
//! Layout under the store's root (`<data_dir>/snapshots`):
//! - `blobs/<2 hex>/<64 hex>`: file contents by SHA-256, each stored once however many
//!   snapshots (of however many sessions) hold it;
//! - `manifests/<tenant>/<session>/<id>.json`: one snapshot: every folder, file (path, hash,
//!   size, executable bit) and symbolic link (path, target) of the workspace.
//!
//! Taking a snapshot hashes every file and writes only blobs the store lacks. Restoring makes
//! the workspace match the manifest: files that differ are rewritten from blobs, files and
//! folders the snapshot does not have are removed. Deleting a session's snapshots removes the
//! blobs no other snapshot references. All of it is blocking file work: call it from
//! `spawn_blocking`.

use std::collections::{BTreeMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::dir::{Dir, Kind, Stat};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a snapshot operation failed; messages name workspace paths relative to the workspace.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the workspace is {size} bytes, over the snapshot limit of {limit} bytes (workspace.snapshot_limit_mb); remove large files from it to take a snapshot")]
    TooLarge { size: u64, limit: u64 },
    #[error("unknown snapshot {0}")]
    Unknown(String),
    #[error("snapshot store: could not {action} {what}: {source}")]
    Io {
        action: &'static str,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot {id} is damaged: {reason}")]
    Corrupt { id: String, reason: String },
    #[error(
        "{path} changed while the workspace was being read or restored (something in the \
         session is still writing to it); try again"
    )]
    Changed { path: String },
}

/// One snapshot as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub id: String,
    pub label: Option<String>,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub files: usize,
    pub bytes: u64,
    /// Bytes this snapshot added to the store (its files no snapshot had before).
    pub stored_bytes: u64,
    /// The history entry the workspace belonged to when it was taken (the leaf of its branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// The label of a session's baseline snapshot (its workspace before its first turn).
pub const BASELINE_LABEL: &str = "before the first turn";

/// Named workspace branches of a session and the one checked out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branches {
    pub current: Option<String>,
    /// Branch name -> snapshot id.
    pub names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Entry {
    Dir,
    File {
        sha256: String,
        size: u64,
        executable: bool,
    },
    Link {
        target: String,
    },
}

/// What the last snapshot knew of a file, to skip hashing it again when unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Indexed {
    size: u64,
    modified_ns: i128,
    sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    info: SnapshotInfo,
    /// Paths relative to the workspace root, `/`-separated, sorted.
    entries: BTreeMap<String, Entry>,
}

/// The store.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    root: PathBuf,
    /// Largest workspace a snapshot is taken of (all files together), bytes.
    limit_bytes: u64,
}

/// For file work inside a workspace: a name that vanished, became a link or changed kind
/// under us (`EINVAL`: a link read that is no longer a link) is the workspace changing
/// meanwhile, not a failure of the store.
fn ws_io(
    action: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let what = what.into();
    move |source| {
        let raced = source.kind() == std::io::ErrorKind::NotFound
            || super::dir::is_symlink_refusal(&source)
            || matches!(
                source.raw_os_error(),
                Some(libc::ENOTDIR | libc::EISDIR | libc::ENOTEMPTY | libc::EEXIST | libc::EINVAL)
            );
        if raced {
            SnapshotError::Changed { path: what }
        } else {
            SnapshotError::Io {
                action,
                what,
                source,
            }
        }
    }
}

fn io(
    action: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let what = what.into();
    move |source| SnapshotError::Io {
        action,
        what,
        source,
    }
}

impl SnapshotStore {
    pub fn new(root: impl Into<PathBuf>, limit_bytes: u64) -> Self {
        Self {
            root: root.into(),
            limit_bytes,
        }
    }

    /// The store of a server's data directory, with `workspace.snapshot_limit_mb`.
    pub fn for_settings(settings: &crate::config::Settings) -> Self {
        Self::new(
            settings.snapshots_dir(),
            settings.workspace.snapshot_limit_mb.saturating_mul(1 << 20),
        )
    }

    fn session_dir(&self, tenant: &str, session: &str) -> PathBuf {
        self.root.join("manifests").join(tenant).join(session)
    }

    fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs").join(&sha256[..2]).join(sha256)
    }

    /// Records the workspace as it is now. Refused when its files add up to more than the
    /// store's limit, before anything is stored.
    pub fn take(
        &self,
        tenant: &str,
        session: &str,
        workspace: &Path,
        label: Option<String>,
        message_id: Option<String>,
    ) -> Result<SnapshotInfo, SnapshotError> {
        let ws = open_workspace(workspace)?;
        let mut entries = BTreeMap::new();
        let mut stamps = BTreeMap::new();
        let mut total = 0u64;
        scan(&ws, "", 0, &mut entries, &mut stamps, &mut total)?;
        if total > self.limit_bytes {
            return Err(SnapshotError::TooLarge {
                size: total,
                limit: self.limit_bytes,
            });
        }
        let mut stored_bytes = 0;
        let mut files = 0;
        // Files whose size and modification time match the last snapshot's are not read again.
        let known = self.read_index(tenant, session);
        let mut index = BTreeMap::new();
        for (path, entry) in entries.iter_mut() {
            if let Entry::File { sha256, size, .. } = entry {
                files += 1;
                let stamp = stamps.get(path.as_str()).copied();
                let cached = known
                    .get(path.as_str())
                    .filter(|c| Some((c.size, c.modified_ns)) == stamp)
                    .filter(|c| self.blob_path(&c.sha256).exists())
                    .map(|c| c.sha256.clone());
                let hash = match cached {
                    Some(hash) => hash,
                    None => {
                        let (hash, stored_size, added) = self.store_blob(&ws, path)?;
                        // What was stored is what the manifest says, even if the file changed
                        // since it was listed.
                        *size = stored_size;
                        stored_bytes += added;
                        hash
                    }
                };
                if let Some((size, modified_ns)) = stamp {
                    index.insert(
                        path.clone(),
                        Indexed {
                            size,
                            modified_ns,
                            sha256: hash.clone(),
                        },
                    );
                }
                *sha256 = hash;
            }
        }
        // The index is a cache: written only when it changed, and without a flush (a lost
        // one only means the next snapshot hashes every file again).
        if index != known {
            self.write_index(tenant, session, &index);
        }
        let info = SnapshotInfo {
            id: crate::ids::new_id(),
            label,
            timestamp: crate::ids::now_ms(),
            files,
            bytes: total,
            stored_bytes,
            message_id,
        };
        let manifest = Manifest {
            info: info.clone(),
            entries,
        };
        let dir = self.session_dir(tenant, session);
        crate::private::create_dir_all(&dir).map_err(io("create", "the manifest folder"))?;
        let text = serde_json::to_vec(&manifest).map_err(|e| SnapshotError::Corrupt {
            id: info.id.clone(),
            reason: e.to_string(),
        })?;
        // Not flushed to the device, like the blobs it names: a crash of the process loses
        // nothing (the kernel has the files), a power loss may lose the newest snapshots.
        write_atomically(&dir.join(format!("{}.json", info.id)), &text, Flush::No)?;
        Ok(info)
    }

    fn index_path(&self, tenant: &str, session: &str) -> PathBuf {
        self.root
            .join("index")
            .join(tenant)
            .join(format!("{session}.json"))
    }

    /// The hashes of the last snapshot's files by size and modification time; empty when
    /// missing or unreadable (everything is then hashed again).
    fn read_index(&self, tenant: &str, session: &str) -> BTreeMap<String, Indexed> {
        std::fs::read(self.index_path(tenant, session))
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .unwrap_or_default()
    }

    fn write_index(&self, tenant: &str, session: &str, index: &BTreeMap<String, Indexed>) {
        let path = self.index_path(tenant, session);
        let written = path
            .parent()
            .map(crate::private::create_dir_all)
            .unwrap_or(Ok(()))
            .ok()
            .and_then(|()| serde_json::to_vec(index).ok())
            .map(|text| write_atomically(&path, &text, Flush::No));
        if !matches!(written, Some(Ok(()))) {
            tracing::warn!(
                "the snapshot index could not be written; the next snapshot rereads every file"
            );
        }
    }

    /// The session's snapshots, newest first.
    pub fn list(&self, tenant: &str, session: &str) -> Result<Vec<SnapshotInfo>, SnapshotError> {
        self.list_newest(tenant, session, usize::MAX)
    }

    /// The session's newest `limit` snapshots, newest first. Only their descriptions are read
    /// (not their file lists), and only theirs: a turn's answer lists the newest few, and it
    /// must not cost more as the session grows old.
    pub fn list_newest(
        &self,
        tenant: &str,
        session: &str,
        limit: usize,
    ) -> Result<Vec<SnapshotInfo>, SnapshotError> {
        let dir = self.session_dir(tenant, session);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", "the snapshots")(e)),
        };
        // Ids are UUIDv7 in hex: their order is the order they were taken in.
        let mut ids: Vec<String> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_owned)
            })
            .collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut listed = Vec::new();
        for id in &ids {
            if listed.len() == limit {
                break;
            }
            match self.info(tenant, session, id) {
                Ok(info) => listed.push(info),
                // Manifests are not flushed (see `take`): one a power loss left empty or
                // half-written is passed over, not allowed to hide every other snapshot.
                Err(SnapshotError::Corrupt { id, reason }) => {
                    tracing::warn!(snapshot = %id, "an unreadable snapshot is skipped: {reason}");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(listed)
    }

    /// The description of snapshot `id`, without building its file list.
    fn info(&self, tenant: &str, session: &str, id: &str) -> Result<SnapshotInfo, SnapshotError> {
        /// A manifest read for its description: the file list is skipped, not built.
        #[derive(Deserialize)]
        struct Head {
            info: SnapshotInfo,
        }
        let raw = self.manifest_bytes(tenant, session, id)?;
        serde_json::from_slice::<Head>(&raw)
            .map(|head| head.info)
            .map_err(|e| SnapshotError::Corrupt {
                id: id.to_string(),
                reason: e.to_string(),
            })
    }

    fn manifest_bytes(
        &self,
        tenant: &str,
        session: &str,
        id: &str,
    ) -> Result<Vec<u8>, SnapshotError> {
        let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(SnapshotError::Unknown(id.to_string()));
        }
        let path = self.session_dir(tenant, session).join(format!("{id}.json"));
        match std::fs::read(&path) {
            Ok(raw) => Ok(raw),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(SnapshotError::Unknown(id.to_string()))
            }
            Err(e) => Err(io("read", format!("snapshot {id}"))(e)),
        }
    }

    fn manifest(&self, tenant: &str, session: &str, id: &str) -> Result<Manifest, SnapshotError> {
        let raw = self.manifest_bytes(tenant, session, id)?;
        serde_json::from_slice(&raw).map_err(|e| SnapshotError::Corrupt {
            id: id.to_string(),
            reason: e.to_string(),
        })
    }

    /// The newest snapshot taken at one of `path`'s entries, the one nearest its end winning:
    /// the files that belong to a history branch.
    pub fn for_path(
        &self,
        tenant: &str,
        session: &str,
        path: &[String],
    ) -> Result<Option<SnapshotInfo>, SnapshotError> {
        let snapshots = self.list(tenant, session)?;
        Ok(path.iter().rev().find_map(|message| {
            snapshots
                .iter()
                .find(|s| s.message_id.as_deref() == Some(message.as_str()))
                .cloned()
        }))
    }

    /// Restores the workspace to the newest snapshot on `path` (see [`Self::for_path`]), or,
    /// when the path has none, to the session's baseline (its workspace before its first
    /// turn); `None` when there is neither, and the workspace is left as it is.
    pub fn restore_path(
        &self,
        tenant: &str,
        session: &str,
        path: &[String],
        workspace: &Path,
    ) -> Result<Option<usize>, SnapshotError> {
        let found = match self.for_path(tenant, session, path)? {
            Some(found) => Some(found),
            None => self.baseline(tenant, session)?,
        };
        match found {
            Some(found) => self
                .restore(tenant, session, &found.id, workspace)
                .map(Some),
            None => Ok(None),
        }
    }

    /// The session's baseline: the snapshot of its workspace before its first turn.
    pub fn baseline(
        &self,
        tenant: &str,
        session: &str,
    ) -> Result<Option<SnapshotInfo>, SnapshotError> {
        Ok(self
            .list(tenant, session)?
            .into_iter()
            .rev()
            .find(|s| s.message_id.is_none() && s.label.as_deref() == Some(BASELINE_LABEL)))
    }

    fn branches_path(&self, tenant: &str, session: &str) -> PathBuf {
        self.root
            .join("branches")
            .join(tenant)
            .join(format!("{session}.json"))
    }

    pub fn branches(&self, tenant: &str, session: &str) -> Result<Branches, SnapshotError> {
        match std::fs::read(self.branches_path(tenant, session)) {
            Ok(raw) => serde_json::from_slice(&raw).map_err(|e| SnapshotError::Corrupt {
                id: "branches".into(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Branches::default()),
            Err(e) => Err(io("read", "the branches")(e)),
        }
    }

    pub fn set_branches(
        &self,
        tenant: &str,
        session: &str,
        branches: &Branches,
    ) -> Result<(), SnapshotError> {
        let path = self.branches_path(tenant, session);
        if let Some(parent) = path.parent() {
            crate::private::create_dir_all(parent).map_err(io("create", "the branches folder"))?;
        }
        let text = serde_json::to_vec(branches).map_err(|e| SnapshotError::Corrupt {
            id: "branches".into(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, &text, Flush::Yes)
    }

    /// Whether snapshot `id` exists for the session.
    pub fn exists(&self, tenant: &str, session: &str, id: &str) -> bool {
        self.manifest(tenant, session, id).is_ok()
    }

    /// Makes the workspace match snapshot `id`; returns how many paths changed.
    pub fn restore(
        &self,
        tenant: &str,
        session: &str,
        id: &str,
        workspace: &Path,
    ) -> Result<usize, SnapshotError> {
        let manifest = self.manifest(tenant, session, id)?;
        let ws = open_workspace(workspace)?;
        let mut current = BTreeMap::new();
        let (mut stamps, mut total) = (BTreeMap::new(), 0);
        scan(&ws, "", 0, &mut current, &mut stamps, &mut total)?;
        let mut changed = 0;
        // Remove what the snapshot does not have (deepest first), and what changed kind.
        for (path, entry) in current.iter().rev() {
            let keep = match (manifest.entries.get(path), entry) {
                (Some(Entry::Dir), Entry::Dir) => true,
                (Some(Entry::File { .. }), Entry::File { .. }) => true,
                (Some(Entry::Link { target }), Entry::Link { target: now }) => target == now,
                _ => false,
            };
            if !keep {
                let (folder, name) = parent_of(&ws, path)?;
                folder.remove(name).map_err(ws_io("remove", path.clone()))?;
                changed += 1;
            }
        }
        for (path, entry) in &manifest.entries {
            match entry {
                Entry::Dir => {
                    let (folder, name) = parent_of(&ws, path)?;
                    if folder
                        .create_dir(name)
                        .map_err(io("create", path.clone()))?
                    {
                        changed += 1;
                    } else if !folder
                        .stat(name)
                        .map_err(ws_io("read", path.clone()))?
                        .is_some_and(|s| s.is_dir())
                    {
                        // Something else took the name since the scan.
                        return Err(SnapshotError::Changed { path: path.clone() });
                    }
                }
                Entry::Link { target } => {
                    let (folder, name) = parent_of(&ws, path)?;
                    if folder
                        .stat(name)
                        .map_err(ws_io("read", path.clone()))?
                        .is_none()
                    {
                        folder
                            .symlink(OsStr::new(target), name)
                            .map_err(ws_io("link", path.clone()))?;
                        changed += 1;
                    }
                }
                Entry::File {
                    sha256, executable, ..
                } => {
                    let (folder, name) = parent_of(&ws, path)?;
                    let mode = if *executable { 0o755 } else { 0o644 };
                    if self.restore_file(id, &folder, name, path, sha256, mode)? {
                        changed += 1;
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Makes `name` in `folder` hold blob `sha256` with `mode`; `true` when it had to be
    /// written. A differing file is replaced by a new one renamed over it, so a link or a
    /// hard link in its place is replaced, never written through.
    fn restore_file(
        &self,
        id: &str,
        folder: &Dir,
        name: &OsStr,
        path: &str,
        sha256: &str,
        mode: u32,
    ) -> Result<bool, SnapshotError> {
        let existing = folder.stat(name).map_err(ws_io("read", path))?;
        if existing.is_some_and(|s| s.is_file() && s.nlink == 1) {
            if let Ok(file) = folder.open_file(Path::new(name)) {
                let same = Stat::of(&file).is_ok_and(|s| s.is_file() && s.nlink == 1)
                    && hash_reader(&file).is_ok_and(|(h, _)| h == sha256);
                if same {
                    file.set_permissions(std::fs::Permissions::from_mode(mode))
                        .map_err(ws_io("set permissions of", path))?;
                    return Ok(false);
                }
            }
        }
        let mut blob =
            std::fs::File::open(self.blob_path(sha256)).map_err(|e| SnapshotError::Corrupt {
                id: id.to_string(),
                reason: format!("the content of {path} is missing ({e})"),
            })?;
        let temp = OsString::from(format!(".okcvm-restore-{}", crate::ids::new_id()));
        let mut out = folder
            .create_new(&temp, mode)
            .map_err(ws_io("write", path))?;
        let written = std::io::copy(&mut blob, &mut out)
            .and_then(|_| out.set_permissions(std::fs::Permissions::from_mode(mode)));
        drop(out);
        let placed = written.and_then(|()| folder.rename(&temp, folder, name));
        if let Err(e) = placed {
            let _ = folder.remove(&temp);
            return Err(ws_io("write", path)(e));
        }
        Ok(true)
    }

    /// Deletes the session's snapshots and the blobs no other snapshot references; returns the
    /// bytes freed.
    pub fn delete_session(&self, tenant: &str, session: &str) -> Result<u64, SnapshotError> {
        let _ = std::fs::remove_file(self.branches_path(tenant, session));
        let _ = std::fs::remove_file(self.index_path(tenant, session));
        let dir = self.session_dir(tenant, session);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io("remove", "the session's snapshots")(e)),
        }
        self.collect_garbage()
    }

    /// Removes blobs that no manifest references.
    fn collect_garbage(&self) -> Result<u64, SnapshotError> {
        let mut referenced = HashSet::new();
        let manifests = self.root.join("manifests");
        for manifest in walk_files(&manifests) {
            let raw = std::fs::read(&manifest).map_err(io("read", "a manifest"))?;
            if let Ok(manifest) = serde_json::from_slice::<Manifest>(&raw) {
                for entry in manifest.entries.into_values() {
                    if let Entry::File { sha256, .. } = entry {
                        referenced.insert(sha256);
                    }
                }
            }
        }
        let mut freed = 0;
        for blob in walk_files(&self.root.join("blobs")) {
            let name = blob
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !referenced.contains(&name) {
                freed += std::fs::metadata(&blob).map(|m| m.len()).unwrap_or(0);
                let _ = std::fs::remove_file(&blob);
            }
        }
        Ok(freed)
    }

    /// Stores the content of workspace file `path` unless the store has it, reading it once
    /// through the workspace handle; returns its hash, its size and the bytes added.
    fn store_blob(&self, ws: &Dir, path: &str) -> Result<(String, u64, u64), SnapshotError> {
        let file = ws.open_file(Path::new(path)).map_err(ws_io("read", path))?;
        let stat = Stat::of(&file).map_err(ws_io("read", path))?;
        if !stat.is_file() {
            return Err(SnapshotError::Changed { path: path.into() });
        }
        let blobs = self.root.join("blobs");
        crate::private::create_dir_all(&blobs).map_err(io("create", "a blob folder"))?;
        let temp = blobs.join(format!(".tmp-{}", crate::ids::new_id()));
        let mut out = crate::private::create_new_file(&temp).map_err(io("store", path))?;
        let hashed = copy_hashing(file, &mut out);
        drop(out);
        let (sha256, size) = match hashed {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(io("read", path)(e));
            }
        };
        let blob = self.blob_path(&sha256);
        if blob.exists() {
            let _ = std::fs::remove_file(&temp);
            return Ok((sha256, size, 0));
        }
        let placed = blob
            .parent()
            .map_or(Ok(()), crate::private::create_dir_all)
            .and_then(|()| std::fs::rename(&temp, &blob));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&temp);
            return Err(io("store", path)(e));
        }
        Ok((sha256, size, size))
    }
}

/// The workspace root as a handle, for every snapshot operation on it.
fn open_workspace(workspace: &Path) -> Result<Dir, SnapshotError> {
    Dir::open(workspace).map_err(io("open", "the workspace"))
}

/// The folder holding `path` (opened beneath the workspace, never through a link) and the
/// last name of `path`.
fn parent_of<'p>(ws: &Dir, path: &'p str) -> Result<(Dir, &'p OsStr), SnapshotError> {
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let folder = ws
        .open_dir(Path::new(parent))
        .map_err(ws_io("open the folder of", path))?;
    Ok((folder, OsStr::new(name)))
}

/// Lists the workspace through its handle, without following links. Paths are
/// `/`-separated and relative; `stamps` gets each file's size and modification time.
fn scan(
    dir: &Dir,
    relative: &str,
    depth: usize,
    out: &mut BTreeMap<String, Entry>,
    stamps: &mut BTreeMap<String, (u64, i128)>,
    total: &mut u64,
) -> Result<(), SnapshotError> {
    let shown = || format!("/{relative}");
    if depth > super::dir::MAX_DEPTH {
        return Err(ws_io("read", shown())(super::dir::too_deep()));
    }
    for entry in dir.entries().map_err(ws_io("read", shown()))? {
        let name = entry.name.to_string_lossy().into_owned();
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        match entry.stat.kind {
            Kind::Dir => {
                out.insert(path.clone(), Entry::Dir);
                let inner = dir
                    .open_dir(Path::new(&entry.name))
                    .map_err(ws_io("read", path.clone()))?;
                scan(&inner, &path, depth + 1, out, stamps, total)?;
            }
            Kind::Symlink => {
                let target = dir
                    .read_link(&entry.name)
                    .map_err(ws_io("read", path.clone()))?;
                out.insert(
                    path,
                    Entry::Link {
                        target: target.to_string_lossy().into_owned(),
                    },
                );
            }
            Kind::File => {
                *total += entry.stat.len;
                stamps.insert(path.clone(), (entry.stat.len, entry.stat.modified_ns));
                out.insert(
                    path,
                    Entry::File {
                        sha256: String::new(),
                        size: entry.stat.len,
                        executable: entry.stat.mode & 0o111 != 0,
                    },
                );
            }
            Kind::Other => {}
        }
    }
    Ok(())
}

/// The SHA-256 and length of what `reader` holds, read to the end.
fn hash_reader(reader: impl Read) -> std::io::Result<(String, u64)> {
    copy_hashing(reader, &mut std::io::sink())
}

/// Copies `reader` to `out`, hashing as it goes; returns the SHA-256 and the length.
fn copy_hashing(mut reader: impl Read, out: &mut impl Write) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        out.write_all(&buffer[..n])?;
        size += n as u64;
    }
    let hash = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hash, size))
}

/// Whether a file is flushed to the device before it replaces the old one.
#[derive(Clone, Copy, PartialEq)]
enum Flush {
    Yes,
    No,
}

fn write_atomically(path: &Path, bytes: &[u8], flush: Flush) -> Result<(), SnapshotError> {
    let shown = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{shown}.tmp-{}", crate::ids::new_id()));
    let mut file = crate::private::create_new_file(&temp).map_err(io("write", shown.clone()))?;
    file.write_all(bytes).map_err(io("write", shown.clone()))?;
    if flush == Flush::Yes {
        file.sync_all().map_err(io("write", shown.clone()))?;
    }
    std::fs::rename(&temp, path).map_err(io("replace", shown))
}

/// Every regular file under `dir`, recursively (empty when it does not exist).
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => out.push(entry.path()),
                _ => {}
            }
        }
    }
    out
}

/// The `workspace_state` object clients see: the newest `limit` snapshots, the latest one,
/// the branches, and where things are in the agent's view.
pub fn workspace_state(
    store: &SnapshotStore,
    tenant: &str,
    session: &str,
    limit: usize,
) -> serde_json::Value {
    let snapshots = store
        .list_newest(tenant, session, limit)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "listing snapshots failed");
            Vec::new()
        });
    let branches = store.branches(tenant, session).unwrap_or_default();
    let brief = |s: &SnapshotInfo| {
        serde_json::json!({
            "id": s.id,
            "label": s.label,
            "timestamp": s.timestamp,
            "files": s.files,
            "bytes": s.bytes,
            "message_id": s.message_id,
        })
    };
    let mount = super::MOUNT;
    serde_json::json!({
        "enabled": true,
        "snapshots": snapshots.iter().take(limit).map(brief).collect::<Vec<_>>(),
        "latest_snapshot": snapshots.first().map(brief),
        "branches": branches.names,
        "current_branch": branches.current,
        "paths": {
            "mount": mount,
            "output": format!("{mount}/output"),
            "upload": format!("{mount}/upload"),
        },
    })
}

#[cfg(test)]
mod tests;

//! API tokens for `auth.mode: tokens`: each names a tenant.
//!
//! Tokens live in `<data_dir>/tokens.json`, outside the database, so `okcvm tokens` works
//! while a server holds the database open. The file holds SHA-256 hashes only, never a
//! token; it is written atomically (temporary file, fsync, rename) under an exclusive lock,
//! with mode 0600. A running server rereads it whenever it changes, so a new or revoked token
//! takes effect at once.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The file under the data directory.
pub const TOKENS_FILE: &str = "tokens.json";

/// What every token starts with, so it is recognisable in a config or a leak scanner.
const TOKEN_PREFIX: &str = "okcvm_";

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid token file ({reason}); fix or remove it")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid tenant {0:?}: use 1 to 64 characters of letters, digits, '.', '_' or '-'")]
    InvalidTenant(String),
    #[error("could not draw random bytes for a token: {0}")]
    Random(String),
}

/// A token as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub tenant: String,
    pub label: Option<String>,
    pub created_ms: i64,
    /// The token's first characters, to recognise it.
    pub prefix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredToken {
    id: String,
    tenant: String,
    #[serde(default)]
    label: Option<String>,
    created_ms: i64,
    prefix: String,
    /// Hex SHA-256 of the token.
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: Vec<StoredToken>,
}

/// The token file, with a cache the server checks against the file on each call.
pub struct TokenStore {
    path: PathBuf,
    cache: RwLock<Cache>,
}

#[derive(Default)]
struct Cache {
    /// Modification time and length of the file the cache was read from.
    stamp: Option<(SystemTime, u64)>,
    tokens: Vec<StoredToken>,
}

impl TokenStore {
    /// The store of `data_dir`; nothing is created until the first token is.
    pub fn open(data_dir: &Path) -> Result<Self, TokenError> {
        let store = Self {
            path: data_dir.join(TOKENS_FILE),
            cache: RwLock::new(Cache::default()),
        };
        store.read().map(drop)?;
        Ok(store)
    }

    /// Makes a token for `tenant`; the secret is returned once and never stored.
    pub fn create(
        &self,
        tenant: &str,
        label: Option<&str>,
    ) -> Result<(TokenInfo, String), TokenError> {
        if !valid_tenant(tenant) {
            return Err(TokenError::InvalidTenant(tenant.to_string()));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| TokenError::Random(e.to_string()))?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let mut id_bytes = [0u8; 6];
        getrandom::fill(&mut id_bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        let stored = StoredToken {
            id: format!("tok_{}", hex(&id_bytes)),
            tenant: tenant.to_string(),
            label: label.map(str::to_string).filter(|l| !l.trim().is_empty()),
            created_ms: chrono::Utc::now().timestamp_millis(),
            prefix: token.chars().take(12).collect(),
            sha256: hex(&Sha256::digest(token.as_bytes())),
        };
        let info = info(&stored);
        self.modify(|file| file.tokens.push(stored))?;
        Ok((info, token))
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.read()?.tokens.iter().map(info).collect())
    }

    /// Removes a token; false when no token has that id.
    pub fn revoke(&self, id: &str) -> Result<bool, TokenError> {
        let mut found = false;
        self.modify(|file| {
            let before = file.tokens.len();
            file.tokens.retain(|t| t.id != id);
            found = file.tokens.len() != before;
        })?;
        Ok(found)
    }

    /// The tenant of a token, or `None` when it is unknown or revoked.
    pub fn verify(&self, presented: &str) -> Option<String> {
        if let Err(e) = self.refresh() {
            tracing::error!(error = %e, "reading the token file failed; refusing tokens");
            return None;
        }
        let digest = hex(&Sha256::digest(presented.as_bytes()));
        let cache = self.cache.read().ok()?;
        let mut tenant = None;
        // Compare against every token, each in full, so timing says nothing about which
        // bytes matched.
        for token in &cache.tokens {
            if constant_time_eq(token.sha256.as_bytes(), digest.as_bytes()) {
                tenant = Some(token.tenant.clone());
            }
        }
        tenant
    }

    pub fn is_empty(&self) -> bool {
        self.read().map(|c| c.tokens.is_empty()).unwrap_or(true)
    }

    /// Rereads the file when its modification time or length changed.
    fn refresh(&self) -> Result<(), TokenError> {
        let stamp = stamp(&self.path)?;
        let current = self.cache.read().map(|c| c.stamp).unwrap_or(None);
        if stamp.is_some() && stamp == current {
            return Ok(());
        }
        self.read().map(drop)
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Cache>, TokenError> {
        let stamp = stamp(&self.path)?;
        let tokens = read_file(&self.path)?.tokens;
        if let Ok(mut cache) = self.cache.write() {
            *cache = Cache { stamp, tokens };
        }
        self.cache.read().map_err(|_| TokenError::Corrupt {
            path: self.path.clone(),
            reason: "the in-memory copy is unusable".into(),
        })
    }

    /// Read, change and write the file under an exclusive lock.
    fn modify(&self, change: impl FnOnce(&mut TokenFile)) -> Result<(), TokenError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| TokenError::Io {
                action,
                path,
                source,
            }
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        okcvm_actors::private::create_dir_all(dir).map_err(io("create", dir))?;
        let lock_path = self.path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io("open", &lock_path))?;
        let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(
            |(_, errno)| TokenError::Io {
                action: "lock",
                path: lock_path.clone(),
                source: errno.into(),
            },
        )?;
        let mut file = read_file(&self.path)?;
        change(&mut file);
        let text = serde_json::to_vec_pretty(&file).map_err(|e| TokenError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let temp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        let mut out = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io("write", &temp))?;
        out.write_all(&text).map_err(io("write", &temp))?;
        out.sync_all().map_err(io("sync", &temp))?;
        std::fs::rename(&temp, &self.path).map_err(io("replace", &self.path))?;
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        self.read().map(drop)
    }
}

fn read_file(path: &Path) -> Result<TokenFile, TokenError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TokenError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(source) => Err(TokenError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn stamp(path: &Path) -> Result<Option<(SystemTime, u64)>, TokenError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some((
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TokenError::Io {
            action: "inspect",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn info(token: &StoredToken) -> TokenInfo {
    TokenInfo {
        id: token.id.clone(),
        tenant: token.tenant.clone(),
        label: token.label.clone(),
        created_ms: token.created_ms,
        prefix: token.prefix.clone(),
    }
}

/// Tenant names: 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn valid_tenant(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && tenant != "."
        && tenant != ".."
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl crate::http::Authenticator for TokenStore {
    fn tenant_for(&self, token: &str) -> Option<String> {
        self.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_created_token_verifies_to_its_tenant_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let (info, token) = store.create("acme", Some("ci")).unwrap();
        assert!(token.starts_with("okcvm_"));
        assert_eq!(token.len(), "okcvm_".len() + 43);
        assert_eq!(info.tenant, "acme");
        assert_eq!(store.verify(&token).as_deref(), Some("acme"));
        assert_eq!(store.verify("okcvm_wrong"), None);
        assert_eq!(store.verify(""), None);
        assert_eq!(store.list().unwrap(), vec![info]);
    }

    #[test]
    fn the_file_holds_hashes_only_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        let (_, token) = store.create("acme", None).unwrap();
        let text = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).unwrap();
        assert!(!text.contains(&token));
        assert!(!text.contains(&token[12..]));
        let mode = std::fs::metadata(dir.path().join(TOKENS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_revoked_token_stops_working_in_another_store_on_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let cli = TokenStore::open(dir.path()).unwrap();
        let server = TokenStore::open(dir.path()).unwrap();
        let (info, token) = cli.create("acme", None).unwrap();
        assert_eq!(
            server.verify(&token).as_deref(),
            Some("acme"),
            "a new token is seen"
        );
        assert!(cli.revoke(&info.id).unwrap());
        assert_eq!(
            server.verify(&token),
            None,
            "a revoked token is refused at once"
        );
        assert!(!cli.revoke(&info.id).unwrap());
    }

    #[test]
    fn bad_tenants_and_corrupt_files_are_refused_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(dir.path()).unwrap();
        for bad in ["", "a/b", "..", "sp ace", &"x".repeat(65)] {
            assert!(
                matches!(store.create(bad, None), Err(TokenError::InvalidTenant(_))),
                "{bad:?}"
            );
        }
        std::fs::write(dir.path().join(TOKENS_FILE), "not json").unwrap();
        let error = TokenStore::open(dir.path()).err().unwrap();
        assert!(error.to_string().contains("tokens.json"), "{error}");
        assert_eq!(store.verify("okcvm_x"), None);
    }
}

//! A [`ToolContext`] over a temporary workspace, for tool unit tests, and what tests of a
//! session's resources share.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio_util::sync::CancellationToken;

use super::ToolContext;
use crate::config::Settings;
use crate::storage::StorageMsg;
use crate::workspace::Workspace;
use crate::SessionKey;

/// Stands in for the storage actor in tests of tools that never touch storage.
struct NoStorage;

impl Actor for NoStorage {
    type Msg = StorageMsg;
    type State = ();
    type Arguments = ();
    async fn pre_start(
        &self,
        _myself: ActorRef<StorageMsg>,
        _args: (),
    ) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

/// A context whose workspace is a fresh directory inside `dir`.
pub(crate) async fn context_in(dir: &std::path::Path) -> ToolContext {
    let (storage, _handle) = Actor::spawn(None, NoStorage, ()).await.unwrap();
    ToolContext {
        session: SessionKey::new("local", "test"),
        workspace: Workspace::open(dir.join("ws")).unwrap(),
        storage: storage.into(),
        resources: Arc::default(),
        settings: Arc::new(Settings {
            data_dir: dir.to_path_buf(),
            ..Settings::default()
        }),
        cancel: CancellationToken::new(),
        jail: crate::workspace::jail::test_jail(&dir.join("run")),
        quota: Arc::new(crate::workspace::Quota::new(
            Settings::default().workspace.quota_bytes(),
        )),
        // No browser in tool unit tests: slides use their own layout here (the browser's
        // layout of decks is tested end to end with Chromium).
        web: Arc::new(
            crate::net::Web::new(
                &Settings {
                    browser: crate::config::BrowserSettings {
                        path: Some("/nonexistent/chromium".into()),
                        ..Default::default()
                    },
                    ..Settings::default()
                },
                crate::net::NetGuard::new(&Settings::default().web, None).unwrap(),
                Arc::new(crate::workspace::Jail::host()),
            )
            .unwrap(),
        ),
    }
}

/// A cell that keeps a lock on `output/kernel.lock` while its interpreter lives.
pub(crate) const HOLD_LOCK: &str = "import fcntl\nheld = open('/mnt/okcomputer/output/kernel.lock', 'w')\nfcntl.flock(held, fcntl.LOCK_EX)\nmarker = 1";

/// The file an interpreter that ran [`HOLD_LOCK`] in the workspace at `root` keeps locked.
pub(crate) fn kernel_lock(root: &Path) -> std::fs::File {
    std::fs::File::open(root.join("output/kernel.lock")).unwrap()
}

/// Whether the interpreter that locked `file` (see [`kernel_lock`]) still runs: the lock goes
/// when the process that took it exits.
pub(crate) fn kernel_alive(file: &std::fs::File) -> bool {
    match Flock::lock(file.try_clone().unwrap(), FlockArg::LockExclusiveNonblock) {
        Ok(_) => false,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => true,
        Err((_, e)) => panic!("flock: {e}"),
    }
}

/// Polls `done` until it holds, for up to 20 s.
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

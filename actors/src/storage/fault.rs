//! A switch that makes the database file's writes fail as a full disk does, for tests of what
//! the server does then and once space is freed (the `testing` feature only).
//!
//! The failure is the real one as far as redb can tell: its file backend answers `ENOSPC`, so
//! redb takes the same path it takes on a full disk (it refuses every later operation until
//! the database is reopened).

use std::fs::File;
use std::io;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// Shared between a test and the store it runs against.
#[derive(Debug, Default)]
pub struct DiskFault {
    full: AtomicBool,
}

impl DiskFault {
    /// From now on, every write, resize and sync of the database file fails with `ENOSPC`.
    pub fn fill(&self) {
        self.full.store(true, Ordering::SeqCst);
    }

    /// Writes work again, as after space was freed.
    pub fn free(&self) {
        self.full.store(false, Ordering::SeqCst);
    }

    fn check(&self) -> io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            Ok(())
        }
    }
}

/// redb's own file backend, with writes gated by a [`DiskFault`].
#[derive(Debug)]
pub(super) struct FaultyFile {
    inner: FileBackend,
    fault: Arc<DiskFault>,
}

impl FaultyFile {
    pub(super) fn new(file: File, fault: Arc<DiskFault>) -> Result<Self, redb::DatabaseError> {
        Ok(Self {
            inner: FileBackend::new(file)?,
            fault,
        })
    }
}

impl StorageBackend for FaultyFile {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.fault.check()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.fault.check()?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.fault.check()?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> io::Result<()> {
        self.inner.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

//! Memory given back to the system once it is free.
//!
//! The C library's allocator returns freed memory to the system only from the top of its
//! heaps: what a burst of turns frees in the middle stays in the server's resident set (most
//! of 150 KiB per session after 100 concurrent turns, in docs/performance.md). Every
//! [`PERIOD`] the server asks the allocator how much it holds free (a sum over its arenas), and
//! past [`FREE_LIMIT`] has it give back every free page (`malloc_trim`, a walk of its heaps) on
//! a blocking thread. While little is
//! free nothing is done, however busy the server is.
//!
//! These are the only two foreign calls of the workspace, and the only `unsafe` it allows (a
//! test keeps it so): neither takes a pointer, and both lock each arena of the allocator in
//! turn, so any thread may make them at any time.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the free memory is looked at.
const PERIOD: Duration = Duration::from_secs(5);

/// Free memory held by the allocator past which it is given back.
const FREE_LIMIT: usize = 2 << 20;

/// Looks at the allocator's free memory every [`PERIOD`] and gives it back past
/// [`FREE_LIMIT`], until `shutdown`.
pub fn spawn_trimmer(shutdown: CancellationToken) {
    if !allocator::SUPPORTED {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let free = allocator::free_bytes();
            if free < FREE_LIMIT {
                continue;
            }
            if let Ok(released) = tokio::task::spawn_blocking(allocator::trim).await {
                tracing::debug!(free, released, "free memory given back to the system");
            }
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod allocator {
    pub const SUPPORTED: bool = true;

    /// Bytes the allocator holds free in its heaps.
    pub fn free_bytes() -> usize {
        // SAFETY: `mallinfo2` takes no arguments and only reads the allocator's counters,
        // under each arena's lock.
        let info = unsafe { libc::mallinfo2() };
        info.fordblks
    }

    /// Gives every free page back to the system; whether any was.
    pub fn trim() -> bool {
        // SAFETY: `malloc_trim` takes no pointer; it walks each arena under its lock and
        // releases whole free pages, which no live allocation uses.
        unsafe { libc::malloc_trim(0) == 1 }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod allocator {
    pub const SUPPORTED: bool = false;

    pub fn free_bytes() -> usize {
        0
    }

    pub fn trim() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: usize = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        pages * 4096
    }

    #[test]
    fn memory_freed_between_live_allocations_is_given_back() {
        if !allocator::SUPPORTED {
            return;
        }
        // 64 MiB in blocks below the allocator's mmap threshold, each followed by a small one
        // that stays: freeing the big ones leaves holes no heap top can shrink past.
        let mut big = Vec::new();
        let mut pinned = Vec::new();
        for _ in 0..1024 {
            big.push(vec![1u8; 64 << 10]);
            pinned.push(vec![2u8; 64]);
        }
        drop(big);
        assert!(allocator::free_bytes() >= FREE_LIMIT);
        let before = rss_bytes();
        assert!(allocator::trim());
        let after = rss_bytes();
        assert!(
            before.saturating_sub(after) >= 32 << 20,
            "RSS went from {before} to {after}"
        );
        assert_eq!(pinned.len(), 1024);
    }

    #[test]
    fn unsafe_code_is_allowed_in_this_file_alone() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = Vec::new();
        let mut stack = vec![
            root.join("src"),
            root.join("actors"),
            root.join("tests"),
            root.join("benches"),
        ];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    if text.contains(concat!("allow(", "unsafe_code)")) {
                        found.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                    }
                }
            }
        }
        assert_eq!(found, vec![std::path::PathBuf::from("src/memory.rs")]);
    }
}

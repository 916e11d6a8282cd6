//! Memory given back to the system once it is free.
//!
//! The C library's allocator returns freed memory to the system only from the top of its
//! heaps: what a burst of turns frees in the middle stays in the server's resident set (most
//! of 140 KiB per session after 100 concurrent turns, in docs/performance.md). Every
//! `PERIOD` the server looks at how busy it was and how much the allocator holds free (a sum
//! over its arenas). Once it is quiet (under `QUIET` of one core's time over the period) with
//! at least `FREE_LIMIT` free that it has not given back yet, it has the allocator return
//! every free page (`malloc_trim`, a walk of its heaps under their locks) on a blocking thread.
//! A busy server is left alone: trimming while turns run cost a tenth of the throughput.
//!
//! These are the only two foreign calls of the workspace, and the only `unsafe` it allows (a
//! test keeps it so): neither takes a pointer, and both lock each arena of the allocator in
//! turn, so any thread may make them at any time.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the server looks.
const PERIOD: Duration = Duration::from_secs(5);

/// Free memory held by the allocator from which it is given back.
const FREE_LIMIT: usize = 2 << 20;

/// The share of one core's time under which the server counts as quiet.
const QUIET: f64 = 0.05;

/// Decides, one look after another, when to trim.
#[derive(Debug, Default)]
struct Trimmer {
    /// The process's CPU time at the last look, seconds.
    cpu_s: Option<f64>,
    /// What the allocator held free right after the last trim.
    free_after_trim: Option<usize>,
}

impl Trimmer {
    /// Whether to trim now, given the process's CPU time so far and the allocator's free bytes.
    fn due(&mut self, cpu_s: f64, free: usize) -> bool {
        let busy = self
            .cpu_s
            .is_none_or(|before| cpu_s - before > QUIET * PERIOD.as_secs_f64());
        self.cpu_s = Some(cpu_s);
        !busy && free >= FREE_LIMIT && self.free_after_trim != Some(free)
    }

    fn trimmed(&mut self, free: usize) {
        self.free_after_trim = Some(free);
    }
}

/// Gives memory back to the system when the server is quiet (see the module's text), until
/// `shutdown`.
pub fn spawn_trimmer(shutdown: CancellationToken) {
    if !allocator::SUPPORTED {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trimmer = Trimmer::default();
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let Some(cpu_s) = cpu_seconds() else {
                return;
            };
            let free = allocator::free_bytes();
            if !trimmer.due(cpu_s, free) {
                continue;
            }
            if let Ok(released) = tokio::task::spawn_blocking(allocator::trim).await {
                trimmer.trimmed(allocator::free_bytes());
                tracing::debug!(free, released, "free memory given back to the system");
            }
        }
    });
}

/// This process's CPU time so far (user and system, every thread), seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)?;
    // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
    Some((ticks(11)? + ticks(12)?) as f64 / per_second as f64)
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
    fn a_quiet_server_trims_new_free_memory_once_and_a_busy_one_never() {
        let mut trimmer = Trimmer::default();
        let period = PERIOD.as_secs_f64();
        // The first look has nothing to compare with: counted as busy.
        assert!(!trimmer.due(10.0, FREE_LIMIT * 4));
        // Busy: a core's full time over the period.
        assert!(!trimmer.due(10.0 + period, FREE_LIMIT * 4));
        // Quiet, but little free.
        assert!(!trimmer.due(10.0 + period, FREE_LIMIT - 1));
        // Quiet, with much free: trim, once.
        assert!(trimmer.due(10.0 + period, FREE_LIMIT * 4));
        trimmer.trimmed(FREE_LIMIT * 4);
        assert!(!trimmer.due(10.0 + period, FREE_LIMIT * 4));
        // More was freed since: trim again.
        assert!(trimmer.due(10.0 + period + 0.01, FREE_LIMIT * 5));
    }

    #[test]
    fn the_cpu_time_of_this_process_is_read_and_grows() {
        let before = cpu_seconds().unwrap();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_seconds().unwrap() > before);
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

//! What every benchmark does around its measurement: read its knobs from the environment, run
//! on a multi-threaded runtime (a benchmark has no test harness to make one), read CPU times,
//! and report percentiles.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

/// The environment variable `name` parsed, else `default`.
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `future` to completion on a new multi-threaded runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The `p` quantile (0 to 1, nearest rank) of `sorted`, in milliseconds; NaN when empty.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// The user and system time in one line of `/proc/<pid>/stat` (or `/proc/<pid>/task/<tid>/stat`),
/// in milliseconds, at the kernel's clock-tick resolution (10 ms here); 0 for a line it cannot
/// read.
pub fn stat_cpu_ms(stat: &str) -> f64 {
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, the 12th and 13th after the name.
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    (ticks(11) + ticks(12)) * 1000.0 / per_second
}

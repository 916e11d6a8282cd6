//! What every benchmark does around its measurement: read its knobs from the environment, run
//! on a multi-threaded runtime (a benchmark has no test harness to make one), and report
//! percentiles.

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

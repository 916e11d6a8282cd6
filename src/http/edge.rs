//! The HTTP edge: accepting connections and serving the routes on them (HTTP/1.1), with the
//! limits that keep idle and slow clients from holding the server.
//!
//! - A request's head must arrive within `server.header_timeout_secs` (counted from the
//!   connection's start, or from the head's first byte on a kept-alive connection), and a
//!   connection with no request in flight is closed after `server.idle_timeout_secs`. The edge
//!   keeps this clock itself: hyper's header timer also runs while a kept-alive connection
//!   waits for its next request, which would make the two one.
//! - At most `server.max_connections` connections are open, fewer when the open-files limit
//!   (raised to its hard limit at start) needs room for the server's own files. At the cap a
//!   new connection closes the connection idle the longest; when every connection has a
//!   request in flight it is answered 503 `server_busy` and closed. An accept that fails for
//!   want of descriptors closes an idle connection and backs off; it never ends the loop.
//! - On shutdown the listener closes, connections with no request in flight close at once
//!   (even halfway through a head), and requests in flight finish within the drain limit.
//! - A client that goes away mid-response (an event stream closed) is logged at debug.

mod conn;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use okcvm_actors::config::ServerSettings;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::Response;

use self::conn::{Busy, Registry, Timeouts, Tracked, Watched};
use super::error::ApiError;

/// The address of the client a request came from (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Descriptors kept for the server's own files (store, logs, jailed processes, outbound
/// connections), on top of a quarter of the limit.
const RESERVED_FDS: u64 = 64;
/// Connections being answered 503 at once; beyond, they are closed unanswered.
const REFUSAL_SLOTS: usize = 32;
/// How long a refused connection may take to send its request and read the 503.
const REFUSAL_TIME: Duration = Duration::from_secs(2);
/// How long a new connection waits for the room an evicted idle one leaves.
const EVICTION_WAIT: Duration = Duration::from_millis(250);
/// Pause after an accept that failed for want of resources, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Least time between two warnings about failing accepts.
const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);
/// Connections allowed however low the open-files limit is.
const MIN_CONNECTIONS: usize = 4;

/// The limits the edge enforces.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl EdgeLimits {
    /// From the settings, the connection cap lowered to what `fd_limit` (the soft limit of
    /// open files, when known) leaves room for.
    pub fn new(settings: &ServerSettings, fd_limit: Option<u64>) -> Self {
        let configured = settings.max_connections.max(1);
        let max_connections = match fd_limit {
            Some(limit) => {
                let room = limit.saturating_sub(RESERVED_FDS + limit / 4 + REFUSAL_SLOTS as u64);
                let allowed = usize::try_from(room)
                    .unwrap_or(usize::MAX)
                    .max(MIN_CONNECTIONS);
                if allowed < configured {
                    tracing::info!(
                        "server.max_connections lowered from {configured} to {allowed} to stay \
                         within the open-files limit of {limit}"
                    );
                }
                configured.min(allowed)
            }
            None => configured,
        };
        Self {
            header_timeout: settings.header_timeout(),
            idle_timeout: settings.idle_timeout(),
            max_connections,
        }
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            header: self.header_timeout,
            idle: self.idle_timeout,
        }
    }
}

/// Raises the soft limit of open files to the hard limit; the soft limit in force after.
pub fn raise_fd_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!("could not read the open-files limit: {e}");
            return None;
        }
    };
    // The kernel refuses an unlimited number of open files; 2^20 is its usual ceiling.
    let target = if hard == RLIM_INFINITY { 1 << 20 } else { hard };
    if soft >= target {
        tracing::info!("open-files limit: {soft}");
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
        Ok(()) => {
            tracing::info!("open-files limit raised from {soft} to {target}");
            Some(target)
        }
        Err(e) => {
            tracing::warn!("open-files limit stays {soft}: raising it to {target} failed: {e}");
            Some(soft)
        }
    }
}

/// The edge while it serves.
pub struct Edge {
    accept: JoinHandle<()>,
    connections: TaskTracker,
    /// Closes every connection still open at the end of the drain.
    force: CancellationToken,
}

/// Serves `routes` on `listener` until `shutdown` is cancelled.
pub fn serve(
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    limits: EdgeLimits,
    shutdown: CancellationToken,
) -> Edge {
    let connections = TaskTracker::new();
    let force = CancellationToken::new();
    let accept = tokio::spawn(accept_loop(Acceptor {
        listener,
        routes,
        limits,
        shutdown,
        force: force.clone(),
        connections: connections.clone(),
        registry: Arc::new(Registry::default()),
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        refusals: Arc::new(Semaphore::new(REFUSAL_SLOTS)),
    }));
    Edge {
        accept,
        connections,
        force,
    }
}

impl Edge {
    /// Once shutdown has begun: waits for the open connections to finish, at most `limit`,
    /// then closes the rest. True when they all finished in time.
    pub async fn drain(self, limit: Duration) -> bool {
        let connections = self.connections.clone();
        let finished = async move {
            if let Err(e) = self.accept.await {
                tracing::warn!("the accept loop failed: {e}");
            }
            connections.close();
            connections.wait().await;
        };
        if tokio::time::timeout(limit, finished).await.is_ok() {
            return true;
        }
        self.connections.close();
        self.force.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.connections.wait()).await;
        false
    }
}

struct Acceptor {
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    limits: EdgeLimits,
    shutdown: CancellationToken,
    force: CancellationToken,
    connections: TaskTracker,
    registry: Arc<Registry>,
    /// One permit per connection the cap allows.
    slots: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
}

async fn accept_loop(acceptor: Acceptor) {
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = acceptor.shutdown.cancelled() => break,
            accepted = acceptor.listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                acceptor.accept_failed(&e, &mut last_warning).await;
                continue;
            }
        };
        let permit = match acceptor.slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) if acceptor.registry.evict_idle() => {
                tokio::time::timeout(EVICTION_WAIT, acceptor.slots.clone().acquire_owned())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
            Err(_) => None,
        };
        match permit {
            Some(permit) => {
                let connection = Connection {
                    routes: acceptor.routes.clone(),
                    timeouts: acceptor.limits.timeouts(),
                    shutdown: acceptor.shutdown.clone(),
                    force: acceptor.force.clone(),
                    registry: acceptor.registry.clone(),
                };
                acceptor.connections.spawn(async move {
                    connection.serve(stream, peer).await;
                    drop(permit);
                });
            }
            None => acceptor.refuse(stream),
        }
    }
    tracing::debug!("no longer accepting connections");
}

impl Acceptor {
    /// An accept failed: nothing to do for a connection the client already gave up; for want
    /// of descriptors or memory, make room and pause.
    async fn accept_failed(&self, error: &std::io::Error, last_warning: &mut Option<Instant>) {
        use std::io::ErrorKind;
        if matches!(
            error.kind(),
            ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionRefused
        ) {
            tracing::debug!("a connection closed before it was accepted: {error}");
            return;
        }
        if last_warning.is_none_or(|at| at.elapsed() >= ACCEPT_WARN_EVERY) {
            tracing::warn!("accepting a connection failed: {error}; closing an idle one");
            *last_warning = Some(Instant::now());
        }
        self.registry.evict_idle();
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }

    /// Answers 503 `server_busy` and closes, or just closes when too many are being refused.
    fn refuse(&self, stream: TcpStream) {
        let Ok(permit) = self.refusals.clone().try_acquire_owned() else {
            return;
        };
        let shutdown = self.shutdown.clone();
        self.connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(|_request| async {
                Ok::<_, Infallible>(busy_response())
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.keep_alive(false).header_read_timeout(None);
            let answered = http.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = tokio::time::timeout(REFUSAL_TIME, answered) => {}
                () = shutdown.cancelled() => {}
            }
        });
    }
}

fn busy_response() -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_busy",
        "the server has as many connections open as it takes, all busy; try again shortly",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// What serving one connection needs.
struct Connection {
    routes: BoxedFilter<(Response,)>,
    timeouts: Timeouts,
    shutdown: CancellationToken,
    force: CancellationToken,
    registry: Arc<Registry>,
}

impl Connection {
    async fn serve(self, stream: TcpStream, peer: SocketAddr) {
        let conn = self.registry.add();
        let routes = warp::service(self.routes);
        let service = {
            let conn = conn.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ClientAddr(peer));
                let busy = Busy::start(conn.clone());
                let mut routes = routes.clone();
                let reply = tower_service::Service::call(&mut routes, request);
                async move {
                    let response = match reply.await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    Ok::<_, Infallible>(response.map(|body| Tracked { body, _busy: busy }))
                }
            })
        };
        let io = TokioIo::new(Watched {
            stream,
            conn: conn.clone(),
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        // The edge keeps the header and idle clocks itself (see the module's comment).
        http.header_read_timeout(None);
        let connection = http.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut draining = false;
        loop {
            tokio::select! {
                biased;
                () = self.force.cancelled() => break,
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        log_connection_error(&error);
                    }
                    break;
                }
                () = self.shutdown.cancelled(), if !draining => {
                    if conn.is_idle() {
                        break;
                    }
                    // Finish what is in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    draining = true;
                }
                () = conn.expired(self.timeouts) => break,
            }
        }
        self.registry.remove(&conn);
    }
}

/// A client that went away or spoke badly is routine; an error of ours is not.
fn log_connection_error(error: &hyper::Error) {
    if error.is_user() {
        tracing::warn!("serving a connection failed: {error}");
    } else {
        tracing::debug!("connection ended: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_the_servers_own_files() {
        let settings = ServerSettings::default();
        assert_eq!(EdgeLimits::new(&settings, None).max_connections, 1024);
        assert_eq!(
            EdgeLimits::new(&settings, Some(1 << 20)).max_connections,
            1024
        );
        let low = EdgeLimits::new(&settings, Some(256)).max_connections;
        assert!(low + REFUSAL_SLOTS + 64 < 256, "{low}");
        assert_eq!(
            EdgeLimits::new(&settings, Some(16)).max_connections,
            MIN_CONNECTIONS
        );
    }
}

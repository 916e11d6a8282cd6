//! One connection's life as the edge sees it: whether a request is in flight, since when it
//! has been idle or reading a request's head, and the deadline that follows; plus the two
//! wrappers that report to it (the socket, on every read, and a response body, until it is
//! sent).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a connection may wait, by what it is waiting for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// For a request's head, from the connection's start or the head's first byte.
    pub header: Duration,
    /// For the next request, once the last response is sent.
    pub idle: Duration,
}

/// What one connection is doing.
pub(super) struct Conn {
    id: u64,
    activity: Mutex<Activity>,
    /// Woken when the deadline may have changed.
    changed: Notify,
}

struct Activity {
    /// Requests whose response is not yet sent in full.
    in_flight: usize,
    /// When the last response was sent (or the connection opened).
    idle_since: Instant,
    /// When the head of the next request started arriving (a new connection counts as
    /// started: its client connected to send one).
    head_started: Option<Instant>,
    /// Asked to close as soon as no request is in flight, to make room for another.
    evicted: bool,
}

impl Conn {
    fn new(id: u64) -> Self {
        let now = Instant::now();
        Self {
            id,
            activity: Mutex::new(Activity {
                in_flight: 0,
                idle_since: now,
                head_started: Some(now),
                evicted: false,
            }),
            changed: Notify::new(),
        }
    }

    fn activity(&self) -> MutexGuard<'_, Activity> {
        match self.activity.lock() {
            Ok(activity) => activity,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// No request in flight: the connection is idle or still reading a head.
    pub(super) fn is_idle(&self) -> bool {
        self.activity().in_flight == 0
    }

    /// When the connection is to be closed if nothing changes; `None` while a request is in
    /// flight.
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        let activity = self.activity();
        if activity.in_flight > 0 {
            return None;
        }
        if activity.evicted {
            return Some(Instant::now());
        }
        Some(match activity.head_started {
            Some(started) => started + timeouts.header,
            None => activity.idle_since + timeouts.idle,
        })
    }

    /// Resolves when the connection has waited too long for a request (or was evicted while
    /// waiting).
    pub(super) async fn expired(&self, timeouts: Timeouts) {
        loop {
            let changed = self.changed.notified();
            match self.deadline(timeouts) {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Bytes arrived: when no request is in flight, a head has started.
    fn note_read(&self) {
        let mut activity = self.activity();
        if activity.in_flight == 0 && activity.head_started.is_none() {
            activity.head_started = Some(Instant::now());
            drop(activity);
            self.changed.notify_one();
        }
    }
}

/// A request in flight on a connection, from its head until its response is sent (or
/// abandoned).
pub(super) struct Busy(Arc<Conn>);

impl Busy {
    pub(super) fn start(conn: Arc<Conn>) -> Self {
        {
            let mut activity = conn.activity();
            activity.in_flight += 1;
            activity.head_started = None;
        }
        conn.changed.notify_one();
        Self(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        {
            let mut activity = self.0.activity();
            activity.in_flight = activity.in_flight.saturating_sub(1);
            if activity.in_flight == 0 {
                activity.idle_since = Instant::now();
                activity.head_started = None;
            }
        }
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request counted as in flight until it is sent.
pub(super) struct Tracked<B> {
    pub body: B,
    pub _busy: Busy,
}

impl<B: http_body::Body + Unpin> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling its connection when bytes arrive.
pub(super) struct Watched {
    pub stream: TcpStream,
    pub conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.note_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The open connections, so that one can be closed to make room for another.
#[derive(Default)]
pub(super) struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn open(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        match self.open.lock() {
            Ok(open) => open,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(super) fn add(&self) -> Arc<Conn> {
        let conn = Arc::new(Conn::new(self.next_id.fetch_add(1, Ordering::Relaxed)));
        self.open().insert(conn.id, conn.clone());
        conn
    }

    pub(super) fn remove(&self, conn: &Conn) {
        self.open().remove(&conn.id);
    }

    /// Asks the connection idle the longest (no request in flight: waiting for one, or slowly
    /// sending its head) to close; false when every connection is busy.
    pub(super) fn evict_idle(&self) -> bool {
        let open = self.open();
        let oldest = open
            .values()
            .filter_map(|conn| {
                let activity = conn.activity();
                (activity.in_flight == 0 && !activity.evicted)
                    .then_some((activity.idle_since, conn))
            })
            .min_by_key(|(since, _)| *since)
            .map(|(_, conn)| conn.clone());
        drop(open);
        match oldest {
            Some(conn) => {
                conn.activity().evicted = true;
                conn.changed.notify_one();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(30),
        idle: Duration::from_secs(75),
    };

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_waits_the_header_timeout_then_the_idle_timeout_between_requests() {
        let registry = Registry::default();
        let conn = registry.add();
        let opened = Instant::now();
        assert_eq!(conn.deadline(TIMEOUTS), Some(opened + TIMEOUTS.header));
        let busy = Busy::start(conn.clone());
        assert_eq!(conn.deadline(TIMEOUTS), None, "a request is in flight");
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(busy);
        let sent = Instant::now();
        assert_eq!(conn.deadline(TIMEOUTS), Some(sent + TIMEOUTS.idle));
        tokio::time::advance(Duration::from_secs(5)).await;
        conn.note_read();
        assert_eq!(
            conn.deadline(TIMEOUTS),
            Some(sent + Duration::from_secs(5) + TIMEOUTS.header),
            "the next head started arriving"
        );
        tokio::time::timeout(
            TIMEOUTS.header + Duration::from_secs(1),
            conn.expired(TIMEOUTS),
        )
        .await
        .expect("expires at the header deadline");
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_picks_the_longest_idle_connection_and_never_a_busy_one() {
        let registry = Registry::default();
        let busy_conn = registry.add();
        let _busy = Busy::start(busy_conn.clone());
        tokio::time::advance(Duration::from_secs(1)).await;
        let older = registry.add();
        tokio::time::advance(Duration::from_secs(1)).await;
        let newer = registry.add();
        assert!(registry.evict_idle());
        assert_eq!(older.deadline(TIMEOUTS), Some(Instant::now()));
        assert_eq!(
            newer.deadline(TIMEOUTS),
            Some(Instant::now() + TIMEOUTS.header)
        );
        assert!(registry.evict_idle());
        assert!(!registry.evict_idle(), "only the busy one is left");
        assert_eq!(busy_conn.deadline(TIMEOUTS), None);
    }
}

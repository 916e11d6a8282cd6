//! The forward proxy the jail's network goes through: HTTP `CONNECT` tunnels (HTTPS, and
//! WebSockets from the browser) and plain `http://` requests in absolute form, on a Unix
//! socket that only the jails can reach. Every destination passes the network guard after DNS,
//! on every tunnel and every request, and the connection goes to the address that was checked.
//!
//! A refusal is a `403` whose reason phrase and body carry the guard's message, so `curl`,
//! Python's `requests` and `pip` show it. One request per connection (`Connection: close`):
//! clients open another.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{GuardError, NetGuard};

/// Largest request head read (request line and headers).
const MAX_HEAD: usize = 32 * 1024;

/// Longest wait for a client to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Most headers a request may carry.
const MAX_HEADERS: usize = 100;

/// The running proxy; stops accepting when dropped.
#[derive(Debug)]
pub struct ProxyServer {
    path: PathBuf,
    _stop: DropGuard,
}

impl ProxyServer {
    /// Listens on the Unix socket `path` (replacing a stale one) and serves until dropped.
    pub fn start(guard: NetGuard, path: PathBuf) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = UnixListener::bind(&path)?;
        // Only the server's own user (and the jails, which run as it outside their namespace).
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let stop = CancellationToken::new();
        let serving = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = serving.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((client, _)) => {
                            let guard = guard.clone();
                            tokio::spawn(async move { serve(client, &guard).await });
                        }
                        Err(e) => {
                            tracing::warn!("the network proxy could not accept: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                }
            }
        });
        Ok(Self {
            path,
            _stop: stop.drop_guard(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Serves one client connection: one tunnel or one request.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut client: S, guard: &NetGuard) {
    let Ok(Ok(head)) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await else {
        let _ = respond(
            &mut client,
            400,
            "the request head is missing, too large or malformed",
        )
        .await;
        return;
    };
    let request = match Request::parse(&head.bytes) {
        Ok(request) => request,
        Err(why) => {
            let _ = respond(&mut client, 400, &why).await;
            return;
        }
    };
    let mut upstream = match guard.connect(&request.host, request.port).await {
        Ok(upstream) => upstream,
        Err(GuardError::Refused(why)) => {
            let _ = respond(
                &mut client,
                403,
                &format!("refused by the network guard: {why}"),
            )
            .await;
            return;
        }
        Err(GuardError::Failed(why)) => {
            let _ = respond(&mut client, 502, &why).await;
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    let started = match &request.forward {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await
        }
        Some(head) => upstream.write_all(head).await,
    };
    let rest = &head.bytes[head.len..];
    if started.is_err() || upstream.write_all(rest).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// The bytes read so far, of which the first `len` are the request head.
struct Head {
    bytes: Vec<u8>,
    len: usize,
}

/// Reads until the end of the request head (which may come with the start of the body).
async fn read_head<S: AsyncRead + Unpin>(client: &mut S) -> std::io::Result<Head> {
    let mut bytes = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let searched_from = bytes.len().saturating_sub(3);
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(end) = bytes[searched_from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
        {
            let len = searched_from + end + 4;
            return Ok(Head { bytes, len });
        }
        if bytes.len() > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

/// A request the proxy will carry out.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    host: String,
    port: u16,
    /// For a plain request, the head to send upstream (origin form, `Connection: close`);
    /// `None` for a tunnel.
    forward: Option<Vec<u8>>,
}

impl Request {
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(bytes) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return Err("the request head is incomplete".into()),
            Err(e) => return Err(format!("the request is malformed ({e})")),
        }
        let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
            return Err("the request line is incomplete".into());
        };
        if method.eq_ignore_ascii_case("CONNECT") {
            let (host, port) = split_authority(target)
                .ok_or_else(|| format!("CONNECT needs host:port, not {target:?}"))?;
            return Ok(Self {
                host,
                port,
                forward: None,
            });
        }
        let url = url::Url::parse(target).map_err(|_| {
            format!(
                "this is a proxy: send CONNECT host:port, or a request for an absolute http:// \
                 URL, not {target:?}"
            )
        })?;
        if url.scheme() != "http" {
            return Err(format!(
                "only http:// URLs are forwarded as requests ({} needs CONNECT)",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("{target} has no host"))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        let mut head = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
        let mut has_host = false;
        for header in parsed.headers.iter() {
            let name = header.name.to_ascii_lowercase();
            if matches!(
                name.as_str(),
                "proxy-connection" | "proxy-authorization" | "connection" | "keep-alive"
            ) {
                continue;
            }
            has_host |= name == "host";
            head.extend_from_slice(header.name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(header.value);
            head.extend_from_slice(b"\r\n");
        }
        if !has_host {
            let authority = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            };
            head.extend_from_slice(format!("Host: {authority}\r\n").as_bytes());
        }
        head.extend_from_slice(b"Connection: close\r\n\r\n");
        Ok(Self {
            host,
            port,
            forward: Some(head),
        })
    }
}

/// `host:port` or `[v6]:port`.
fn split_authority(authority: &str) -> Option<(String, u16)> {
    let (host, port) = authority.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Answers with `status`, the message as reason phrase (one line) and as body.
async fn respond<S: AsyncWrite + Unpin>(
    client: &mut S,
    status: u16,
    message: &str,
) -> std::io::Result<()> {
    let reason: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let body = format!("{message}\n");
    let reply = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(reply.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests;

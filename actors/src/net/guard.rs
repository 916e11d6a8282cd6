//! The network guard: tools fetch what the model asks for, so they must never reach the
//! machine's own services, the private network or a cloud's metadata endpoint. Every address a
//! request would connect to is checked after DNS resolution (in the client's resolver, so a
//! redirect to another host is checked too), every redirect's literal address as well, unless
//! `web.allow` permits it. Downloads stop at a size limit and requests at a time limit.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::tls::LazyClient;
use crate::config::WebSettings;

mod address;
mod allow;

pub use address::internal_kind;
pub use allow::{AllowList, AllowRule};

/// Most redirects followed.
const MAX_REDIRECTS: usize = 10;

/// Longest wait for a TCP connection to be accepted.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a fetch was refused or failed; the message is what the model reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// The guard: the allowed exceptions and the limits, and a client that obeys them.
#[derive(Clone)]
pub struct NetGuard {
    allow: Arc<AllowList>,
    client: LazyClient,
    max_bytes: u64,
    timeout: Duration,
}

impl std::fmt::Debug for NetGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetGuard")
            .field("allow", &self.allow)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

/// Resolves names, keeping only addresses the guard lets through.
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The port is not known here: only entries that need none let internal addresses
            // through (see `AllowList::permits`); the URL's port was checked before.
            let allowed = allowed_addrs(&allow, &host, None).await?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The addresses `host` resolves to that the guard lets through on `port` (`None`: not
/// known yet), or why there are none.
async fn allowed_addrs(
    allow: &AllowList,
    host: &str,
    port: Option<u16>,
) -> Result<Vec<SocketAddr>, GuardError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port.unwrap_or(0)))
        .await
        .map_err(|e| GuardError::Failed(format!("cannot resolve {host}: {e}")))?
        .collect();
    let name = host.parse::<IpAddr>().is_err().then_some(host);
    let mut refused = None;
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|addr| match check_ip(allow, addr.ip(), port, name) {
            Ok(()) => true,
            Err(e) => {
                refused.get_or_insert(e);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        return Err(match refused {
            Some(e) => GuardError::Refused(format!("{host} resolves to {e}")),
            None => GuardError::Failed(format!("{host} has no address")),
        });
    }
    Ok(allowed)
}

fn check_ip(
    allow: &AllowList,
    ip: IpAddr,
    port: Option<u16>,
    host: Option<&str>,
) -> Result<(), String> {
    match internal_kind(ip) {
        Some(kind) if !allow.permits(ip, port, host) => Err(match port {
            Some(port) => format!(
                "{ip}, {kind}, which tools may not reach on port {port} (web.allow lists \
                 exceptions; this server's own port is never one)"
            ),
            None => format!("{ip}, {kind}, which tools may not reach (web.allow lists exceptions)"),
        }),
        _ => Ok(()),
    }
}

/// Checks a URL's scheme and port, and, when its host is an address, the address.
fn check_url(allow: &AllowList, url: &reqwest::Url) -> Result<(), GuardError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(GuardError::Refused(format!(
            "{} is not an http(s) address",
            url.scheme()
        )));
    }
    let port = url.port_or_known_default();
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(name)) => {
            return match port {
                Some(port) if allow.refuses_name_port(name, port) => Err(GuardError::Refused(
                    format!("web.allow lists {name} with other ports than {port}"),
                )),
                _ => Ok(()),
            }
        }
        None => return Err(GuardError::Refused(format!("{url} has no host"))),
    };
    check_ip(allow, ip, port, None).map_err(GuardError::Refused)
}

/// A response read whole, within the size limit.
#[derive(Debug)]
pub struct Fetched {
    pub status: reqwest::StatusCode,
    pub url: reqwest::Url,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Fetched {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn json(&self) -> Result<serde_json::Value, GuardError> {
        serde_json::from_slice(&self.bytes).map_err(|e| {
            GuardError::Failed(format!(
                "{} answered something that is not JSON ({e})",
                self.url.host_str().unwrap_or("the server")
            ))
        })
    }
}

impl NetGuard {
    /// The guard of `settings`; `own_port` is the port this server listens on, which no
    /// `web.allow` entry opens on an internal address.
    pub fn new(settings: &WebSettings, own_port: Option<u16>) -> Result<Self, String> {
        let rules = settings
            .allow
            .iter()
            .map(|a| AllowRule::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let allow = Arc::new(AllowList::new(rules, own_port));
        let timeout = Duration::from_secs_f64(settings.timeout_s);
        let client_allow = allow.clone();
        let client = LazyClient::new(move |builder| {
            let policy_allow = client_allow.clone();
            let redirect = reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(GuardError::Failed(format!(
                        "more than {MAX_REDIRECTS} redirects"
                    )));
                }
                match check_url(&policy_allow, attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            });
            builder
                .dns_resolver(Arc::new(GuardedResolver {
                    allow: client_allow.clone(),
                }))
                .redirect(redirect)
                .timeout(timeout)
                .connect_timeout(timeout.min(CONNECT_TIMEOUT))
                .user_agent(concat!("OKCVM/", env!("CARGO_PKG_VERSION")))
        });
        Ok(Self {
            allow,
            client,
            max_bytes: settings.max_download_mb.saturating_mul(1 << 20),
            timeout,
        })
    }

    /// Whether a page may load `url` (the browser's requests): http(s) only, and every
    /// address its host resolves to allowed. Other schemes without a network (`data:`,
    /// `blob:`, `about:`) pass.
    pub async fn check_target(&self, url: &str) -> Result<(), GuardError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| GuardError::Refused(format!("{url:?} is not a URL ({e})")))?;
        match parsed.scheme() {
            "data" | "blob" | "about" => return Ok(()),
            "http" | "https" | "ws" | "wss" => {}
            other => {
                return Err(GuardError::Refused(format!(
                    "{other}: addresses are not loaded"
                )))
            }
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(_) => {
                let http = reqwest::Url::parse(&url.replacen("ws", "http", 1)).unwrap_or(parsed);
                return check_url(&self.allow, &http);
            }
            None => return Err(GuardError::Refused(format!("{url} has no host"))),
        };
        let port = parsed.port_or_known_default().unwrap_or(80);
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| GuardError::Failed(format!("cannot resolve {host}: {e}")))?
            .collect();
        if self.allow.refuses_name_port(&host, port) {
            return Err(GuardError::Refused(format!(
                "web.allow lists {host} with other ports than {port}"
            )));
        }
        for addr in &found {
            check_ip(&self.allow, addr.ip(), Some(port), Some(&host))
                .map_err(|e| GuardError::Refused(format!("{host} resolves to {e}")))?;
        }
        if found.is_empty() {
            return Err(GuardError::Failed(format!("{host} has no address")));
        }
        Ok(())
    }

    /// A TCP connection to `host:port` (a name or an address), made only to an address the
    /// guard allows: the addresses are checked after DNS, and the connection goes to one of
    /// the checked ones (so a name cannot change its answer between check and use).
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> Result<tokio::net::TcpStream, GuardError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if self.allow.refuses_name_port(host, port) {
            return Err(GuardError::Refused(format!(
                "web.allow lists {host} with other ports than {port}"
            )));
        }
        let allowed = allowed_addrs(&self.allow, host, Some(port)).await?;
        let mut last = None;
        for addr in allowed {
            match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await
            {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => last = Some(format!("cannot connect to {host}:{port}: {e}")),
                Err(_) => last = Some(format!("{host}:{port} did not answer in time")),
            }
        }
        Err(GuardError::Failed(
            last.unwrap_or_else(|| format!("{host} has no address")),
        ))
    }

    /// A name on this server's own port that resolves to an internal address is refused
    /// before anything is sent: the port the HTTP client's resolver cannot see.
    async fn check_own_port(&self, url: &reqwest::Url) -> Result<(), GuardError> {
        let (Some(url::Host::Domain(name)), Some(port)) = (url.host(), url.port_or_known_default())
        else {
            return Ok(());
        };
        if !self.allow.is_own_port(port) {
            return Ok(());
        }
        allowed_addrs(&self.allow, name, Some(port)).await.map(drop)
    }

    /// The largest body read.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// A request to `url` (checked before anything is sent).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, GuardError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| GuardError::Refused(format!("{url:?} is not a URL ({e})")))?;
        check_url(&self.allow, &parsed)?;
        let client = self.client.get().map_err(GuardError::Failed)?;
        Ok(client.request(method, parsed))
    }

    /// Sends a request and reads its body up to the size limit.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, GuardError> {
        let request = request.build().map_err(|e| describe(&e))?;
        self.check_own_port(request.url()).await?;
        let response = self
            .client
            .get()
            .map_err(GuardError::Failed)?
            .execute(request)
            .await
            .map_err(|e| describe(&e))?;
        // Where the connection really went (the client resolves names again): never this
        // server, whatever DNS answered in between. Nothing of the answer is read then.
        if let Some(peer) = response.remote_addr() {
            check_ip(&self.allow, peer.ip(), Some(peer.port()), None)
                .map_err(|e| GuardError::Refused(format!("the connection went to {e}")))?;
        }
        let status = response.status();
        let url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(self.too_large(&url));
        }
        let mut bytes = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| describe(&e))?;
            if (bytes.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(self.too_large(&url));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            url,
            content_type,
            bytes,
        })
    }

    /// GET `url`.
    pub async fn get(&self, url: &str) -> Result<Fetched, GuardError> {
        self.send(self.request(reqwest::Method::GET, url)?).await
    }

    fn too_large(&self, url: &reqwest::Url) -> GuardError {
        GuardError::Failed(format!(
            "{} sent more than the {} MiB a download may have (web.max_download_mb)",
            url.host_str().unwrap_or("the server"),
            self.max_bytes >> 20
        ))
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// A client error as the model reads it: the guard's refusal when that is the cause.
fn describe(error: &reqwest::Error) -> GuardError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<GuardError>() {
            return guard.clone();
        }
        source = e.source();
    }
    if error.is_timeout() {
        return GuardError::Failed("the request timed out (web.timeout_s)".into());
    }
    if error.is_connect() {
        return GuardError::Failed(format!(
            "could not connect to {}",
            error
                .url()
                .and_then(|u| u.host_str())
                .unwrap_or("the server")
        ));
    }
    GuardError::Failed(format!("the request failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow: &[&str]) -> NetGuard {
        NetGuard::new(
            &WebSettings {
                allow: allow.iter().map(|s| (*s).to_owned()).collect(),
                ..WebSettings::default()
            },
            None,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn loopback_metadata_and_other_schemes_are_refused_before_sending() {
        let guard = guard(&[]);
        for url in [
            "http://127.0.0.1:9/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://0.0.0.0/",
            "file:///etc/passwd",
        ] {
            let error = guard.get(url).await.unwrap_err();
            assert!(matches!(error, GuardError::Refused(_)), "{url}: {error}");
        }
        let error = guard.get("http://localhost:9/").await.unwrap_err();
        assert!(
            error.to_string().contains("loopback"),
            "names resolve first: {error}"
        );
    }
}

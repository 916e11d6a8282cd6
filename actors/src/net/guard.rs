//! The network guard: tools fetch what the model asks for, so they must never reach the
//! machine's own services, the private network or a cloud's metadata endpoint. Every address a
//! request would connect to is checked after DNS resolution (in the client's resolver, so a
//! redirect to another host is checked too), every redirect's literal address as well, unless
//! `web.allow` permits it. Downloads stop at a size limit and requests at a time limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::WebSettings;

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

/// An allowed address or block (`web.allow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowRule {
    network: IpAddr,
    prefix: u8,
}

impl AllowRule {
    /// `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has a bad prefix length"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address carried in IPv6 (`::ffff:127.0.0.1`) is judged as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of internal address `ip` is, or `None` for a public one.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_broadcast() || ip.is_multicast() => "a broadcast or multicast address",
        _ if a == 100 && (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        _ if a == 192 && b == 0 && ip.octets()[2] == 0 => "a reserved address",
        _ if a == 198 && (18..20).contains(&b) => "a benchmarking address",
        _ if a >= 240 => "a reserved address",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_multicast() => "a multicast address",
        _ if first & 0xfe00 == 0xfc00 => "a private (unique local) address",
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => "a cloud metadata address",
        _ => return None,
    })
}

/// The guard: the allowed exceptions and the limits, and a client that obeys them.
#[derive(Clone)]
pub struct NetGuard {
    allow: Arc<Vec<AllowRule>>,
    client: reqwest::Client,
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
    allow: Arc<Vec<AllowRule>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let allowed = allowed_addrs(&allow, &host, 0).await?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The addresses `host` resolves to that the guard lets through, or why there are none.
async fn allowed_addrs(
    allow: &[AllowRule],
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, GuardError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| GuardError::Failed(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut refused = None;
    let allowed: Vec<SocketAddr> = found
        .into_iter()
        .filter(|addr| match check_ip(allow, addr.ip()) {
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

fn check_ip(allow: &[AllowRule], ip: IpAddr) -> Result<(), String> {
    match internal_kind(ip) {
        Some(kind) if !allow.iter().any(|rule| rule.contains(ip)) => Err(format!(
            "{ip}, {kind}, which tools may not reach (web.allow lists exceptions)"
        )),
        _ => Ok(()),
    }
}

/// Checks a URL's scheme and, when its host is an address, the address.
fn check_url(allow: &[AllowRule], url: &reqwest::Url) -> Result<(), GuardError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(GuardError::Refused(format!(
            "{} is not an http(s) address",
            url.scheme()
        )));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(GuardError::Refused(format!("{url} has no host"))),
    };
    check_ip(allow, ip).map_err(GuardError::Refused)
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
    pub fn new(settings: &WebSettings) -> Result<Self, String> {
        let allow = Arc::new(
            settings
                .allow
                .iter()
                .map(|a| AllowRule::parse(a))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let policy_allow = allow.clone();
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
        let timeout = Duration::from_secs_f64(settings.timeout_s);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .redirect(redirect)
            .timeout(timeout)
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .user_agent(concat!("OKCVM/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not start: {e}"))?;
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
        for addr in &found {
            check_ip(&self.allow, addr.ip())
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
        let allowed = allowed_addrs(&self.allow, host, port).await?;
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
        Ok(self.client.request(method, parsed))
    }

    /// Sends a request and reads its body up to the size limit.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, GuardError> {
        let response = request.send().await.map_err(|e| describe(&e))?;
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
        NetGuard::new(&WebSettings {
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            ..WebSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn internal_addresses_are_recognised() {
        let kind = |s: &str| internal_kind(s.parse().unwrap());
        assert_eq!(kind("127.0.0.1"), Some("a loopback address"));
        assert_eq!(kind("169.254.169.254"), Some("a cloud metadata address"));
        assert_eq!(kind("10.1.2.3"), Some("a private address"));
        assert_eq!(kind("172.20.0.1"), Some("a private address"));
        assert_eq!(kind("192.168.1.1"), Some("a private address"));
        assert_eq!(
            kind("100.64.0.1"),
            Some("a shared (carrier-grade NAT) address")
        );
        assert_eq!(kind("0.0.0.0"), Some("an unspecified address"));
        assert_eq!(kind("::1"), Some("a loopback address"));
        assert_eq!(kind("::ffff:127.0.0.1"), Some("a loopback address"));
        assert_eq!(kind("fd12::1"), Some("a private (unique local) address"));
        assert_eq!(kind("fe80::1"), Some("a link-local address"));
        assert_eq!(kind("93.184.216.34"), None);
        assert_eq!(kind("2606:4700::1111"), None);
    }

    #[test]
    fn allow_rules_match_addresses_and_blocks() {
        let rule = AllowRule::parse("10.1.0.0/16").unwrap();
        assert!(rule.contains("10.1.200.3".parse().unwrap()));
        assert!(!rule.contains("10.2.0.1".parse().unwrap()));
        assert!(AllowRule::parse("127.0.0.1")
            .unwrap()
            .contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(AllowRule::parse("10.0.0.0/33").is_err());
        assert!(AllowRule::parse("localhost").is_err());
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

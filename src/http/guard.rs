//! What keeps a browser from being turned against the server or its users: a page elsewhere
//! (another site, another port of the same host, a name rebound to this address) can make the
//! browser send requests here, with the console's cookie, without the user knowing.
//!
//! Two checks, before any route runs:
//! - the `Host` must be one of the server's names (`localhost`, an IP address, the host of
//!   `server.public_url`, `server.allowed_hosts`), else 421 `host_not_allowed`: DNS rebinding
//!   always names the attacker's host;
//! - a request that changes state (POST, PUT, PATCH, DELETE) and carries an `Origin` must come
//!   from the server's own origin or one in `server.cors_origins`, and one signed in by the
//!   console's cookie must show it came from the console's page; else 403 `origin_refused`.
//!
//! JSON bodies must also be `application/json` (see `body`), which no page elsewhere can send
//! without a CORS preflight the server does not grant.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use okcvm_actors::config::Settings;
use warp::http::{Method, StatusCode};
use warp::{Filter, Rejection};

use super::context::TOKEN_COOKIE;
use super::error::ApiError;

/// The server's names and origins, decided once at start.
pub(crate) struct BrowserPolicy {
    /// Origins of the server itself: that of `server.public_url`, and the loopback names on the
    /// port it listens on.
    own_origins: Vec<String>,
    /// `server.cors_origins`, normalised.
    cors_origins: Vec<String>,
    /// The host of `server.public_url`.
    public_host: Option<String>,
    /// `server.allowed_hosts`, lower case.
    allowed_hosts: Vec<String>,
    /// Whether the console's cookie signs a request in (`auth.mode: tokens`).
    cookie_signs_in: bool,
}

/// What the checks look at in a request.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub method: Option<&'a Method>,
    pub host: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub fetch_site: Option<&'a str>,
    pub bearer: bool,
    pub cookie: bool,
}

impl BrowserPolicy {
    pub(crate) fn new(settings: &Settings, listening: SocketAddr, cookie_signs_in: bool) -> Self {
        let port = listening.port();
        let mut own_origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|host| format!("http://{host}:{port}"))
            .collect();
        let public = settings.server.public_url.as_deref().map(normalise_origin);
        if let Some(public) = &public {
            own_origins.push(public.clone());
        }
        Self {
            own_origins,
            cors_origins: settings
                .server
                .cors_origins
                .iter()
                .map(|o| normalise_origin(o))
                .collect(),
            public_host: public
                .as_deref()
                .and_then(|o| o.split_once("://"))
                .map(|(_, authority)| host_name(authority)),
            allowed_hosts: settings
                .server
                .allowed_hosts
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            cookie_signs_in,
        }
    }

    /// The server's own origins, which the CORS layer must accept too.
    pub(crate) fn own_origins(&self) -> &[String] {
        &self.own_origins
    }

    /// Whether a request naming `host` (`name[:port]`) is for this server.
    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self.public_host.as_deref() == Some(name.as_str())
        {
            return true;
        }
        self.allowed_hosts.iter().any(|allowed| {
            allowed == "*"
                || *allowed == name
                || allowed
                    .strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(allowed.as_str()))
        })
    }

    /// Whether a page on `origin` may change state here; `host` is the request's (accepted)
    /// host, whose own origin is allowed.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = normalise_origin(origin);
        if self.own_origins.contains(&origin) || self.cors_origins.contains(&origin) {
            return true;
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        let Some(host) = host else {
            return false;
        };
        matches!(scheme, "http" | "https")
            && authority == strip_default_port(scheme, &host.to_ascii_lowercase())
    }

    /// The verdict on one request.
    pub(crate) fn check(&self, request: &Request<'_>) -> Result<(), ApiError> {
        if let Some(host) = request.host {
            if !self.host_allowed(host) {
                return Err(ApiError::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    "host_not_allowed",
                    format!(
                        "this server does not answer to the host {:?}; an operator can add it \
                         to server.allowed_hosts",
                        host_name(host)
                    ),
                ));
            }
        }
        let changes_state = request.method.is_some_and(|m| {
            [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(m)
        });
        if !changes_state {
            return Ok(());
        }
        if let Some(origin) = request.origin {
            return if self.origin_allowed(origin, request.host) {
                Ok(())
            } else {
                Err(refused(format!(
                    "a page on {origin} may not change anything on this server; an operator can \
                     list the origin in server.cors_origins"
                )))
            };
        }
        // No Origin: not sent by a current browser's fetch or form, unless it says otherwise.
        let fetch_site = request.fetch_site.map(str::to_ascii_lowercase);
        if fetch_site
            .as_deref()
            .is_some_and(|site| !matches!(site, "same-origin" | "none"))
        {
            return Err(refused(
                "a request sent by a page on another site may not change anything on this server",
            ));
        }
        let by_cookie = self.cookie_signs_in && request.cookie && !request.bearer;
        if by_cookie && fetch_site.as_deref() != Some("same-origin") {
            return Err(refused(
                "a request signed in by the console's cookie must come from the console's page \
                 (with Origin or Sec-Fetch-Site: same-origin); scripts send Authorization: \
                 Bearer <token>",
            ));
        }
        Ok(())
    }
}

fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "origin_refused", detail)
}

/// Every request passes the policy or is refused with the API's error body.
pub(crate) fn guard(
    policy: Arc<BrowserPolicy>,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    let header = |name: &'static str| warp::header::optional::<String>(name);
    warp::method()
        .and(warp::host::optional())
        .and(header("origin"))
        .and(header("sec-fetch-site"))
        .and(header("authorization"))
        .and(warp::cookie::optional::<String>(TOKEN_COOKIE))
        .and_then(
            move |method: Method,
                  host: Option<warp::host::Authority>,
                  origin: Option<String>,
                  fetch_site: Option<String>,
                  authorization: Option<String>,
                  cookie: Option<String>| {
                let verdict = policy.check(&Request {
                    method: Some(&method),
                    host: host.as_ref().map(|h| h.as_str()),
                    origin: origin.as_deref(),
                    fetch_site: fetch_site.as_deref(),
                    bearer: authorization.is_some(),
                    cookie: cookie.is_some_and(|c| !c.trim().is_empty()),
                });
                async move { verdict.map_err(warp::reject::custom) }
            },
        )
        .untuple_one()
}

/// `scheme://host[:port]` of a URL or origin, in lower case, without a path or a default port.
pub(crate) fn normalise_origin(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{}", strip_default_port(scheme, authority))
}

fn strip_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return authority,
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// The host name of `host[:port]` (an IPv6 address keeps its brackets), in lower case, without
/// a trailing dot.
fn host_name(authority: &str) -> String {
    let authority = authority.trim();
    let name = if authority.starts_with('[') {
        authority
            .split_once(']')
            .map_or(authority.to_string(), |(ip, _)| format!("{ip}]"))
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(name, _)| name)
            .to_string()
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(configure: impl FnOnce(&mut Settings)) -> BrowserPolicy {
        let mut settings = Settings::default();
        settings.server.public_url = Some("https://okcvm.example.com/".into());
        configure(&mut settings);
        BrowserPolicy::new(&settings, "127.0.0.1:8000".parse().unwrap(), true)
    }

    fn post<'a>(host: &'a str, origin: Option<&'a str>) -> Request<'a> {
        Request {
            method: Some(&Method::POST),
            host: Some(host),
            origin,
            ..Request::default()
        }
    }

    fn code(result: Result<(), ApiError>) -> Option<&'static str> {
        result.err().map(|e| e.code)
    }

    #[test]
    fn loopback_names_ip_addresses_and_the_public_host_are_the_servers_names() {
        let p = policy(|_| {});
        for host in [
            "localhost:8000",
            "LOCALHOST",
            "console.localhost:8000",
            "127.0.0.1:8000",
            "10.1.2.3",
            "[::1]:8000",
            "okcvm.example.com",
            "OKCVM.example.com.:443",
        ] {
            assert!(p.host_allowed(host), "{host}");
        }
        for host in [
            "evil.example",
            "localhost.evil.example",
            "example.com",
            "x.okcvm.example.com",
        ] {
            assert!(!p.host_allowed(host), "{host}");
        }
    }

    #[test]
    fn allowed_hosts_name_hosts_domains_or_any() {
        let p = policy(|s| s.server.allowed_hosts = vec!["box.lan".into(), ".corp.example".into()]);
        for host in ["box.lan:8000", "corp.example", "a.b.corp.example"] {
            assert!(p.host_allowed(host), "{host}");
        }
        for host in ["xbox.lan", "evilcorp.example", "box.lan.evil"] {
            assert!(!p.host_allowed(host), "{host}");
        }
        let any = policy(|s| s.server.allowed_hosts = vec!["*".into()]);
        assert!(any.host_allowed("anything.example"));
    }

    #[test]
    fn a_rebound_host_is_refused_even_for_reads() {
        let p = policy(|_| {});
        let request = Request {
            method: Some(&Method::GET),
            host: Some("rebound.evil.example:8000"),
            ..Request::default()
        };
        assert_eq!(code(p.check(&request)), Some("host_not_allowed"));
    }

    #[test]
    fn state_changes_from_other_origins_are_refused() {
        let p = policy(|s| s.server.cors_origins = vec!["https://app.example".into()]);
        let host = "127.0.0.1:8000";
        for allowed in [
            "http://127.0.0.1:8000",
            "http://localhost:8000",
            "https://okcvm.example.com",
            "https://app.example",
        ] {
            assert_eq!(code(p.check(&post(host, Some(allowed)))), None, "{allowed}");
        }
        for refused in [
            "http://127.0.0.1:3000",
            "https://evil.example",
            "null",
            "http://localhost:8001",
        ] {
            assert_eq!(
                code(p.check(&post(host, Some(refused)))),
                Some("origin_refused"),
                "{refused}"
            );
        }
        // The origin of the host the request names is the page's own.
        assert_eq!(
            code(p.check(&post("box.local:8000", Some("http://box.local:8000")))),
            Some("host_not_allowed")
        );
        let lan = policy(|s| s.server.allowed_hosts = vec!["box.lan".into()]);
        assert_eq!(
            code(lan.check(&post("box.lan:8000", Some("http://box.lan:8000")))),
            None
        );
        assert_eq!(
            code(lan.check(&post("box.lan:8000", Some("http://box.lan:9000")))),
            Some("origin_refused")
        );
    }

    #[test]
    fn a_cookie_signed_request_without_origin_must_say_it_is_same_origin() {
        let p = policy(|_| {});
        let host = "127.0.0.1:8000";
        let cookie = Request {
            cookie: true,
            ..post(host, None)
        };
        assert_eq!(code(p.check(&cookie)), Some("origin_refused"));
        let same = Request {
            fetch_site: Some("same-origin"),
            ..cookie
        };
        assert_eq!(code(p.check(&same)), None);
        let bearer = Request {
            bearer: true,
            ..cookie
        };
        assert_eq!(code(p.check(&bearer)), None, "a script with a token");
        assert_eq!(code(p.check(&post(host, None))), None, "curl");
        let cross = Request {
            fetch_site: Some("same-site"),
            ..post(host, None)
        };
        assert_eq!(code(p.check(&cross)), Some("origin_refused"));
    }
}

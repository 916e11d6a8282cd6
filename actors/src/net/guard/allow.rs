//! `web.allow`: the internal addresses an operator lets the tools reach. An entry is an
//! address or CIDR block (every port), or one with a port (`127.0.0.1:8888`,
//! `10.0.0.0/8:443`, `[fd00::/8]:80`), or a host name with or without a port
//! (`searx.lan:8888`). The server's own port on an internal address is never opened by an
//! entry.

use std::net::IpAddr;

use super::address::canonical;

/// One `web.allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    target: Target,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Net {
        network: IpAddr,
        prefix: u8,
    },
    /// A host name, lower-cased.
    Name(String),
}

impl AllowRule {
    /// See the module documentation.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = |why: &str| format!("{text:?} is not {why}");
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            // [IPv6] or [IPv6/len], optionally followed by :port.
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("a valid entry: a '[' without its ']'"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| bad("host:port"))?),
            };
            (inside, port)
        } else if text.matches(':').count() == 1 {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            (host, Some(port))
        } else {
            // An IPv6 address without brackets has no port.
            (text, None)
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("host:port with a port from 1 to 65535"))
            })
            .transpose()?;
        let target = match host.split_once('/') {
            Some((address, prefix)) => {
                let network: IpAddr = address
                    .parse()
                    .map_err(|_| bad("an IP address or CIDR block"))?;
                let max = if network.is_ipv4() { 32 } else { 128 };
                let prefix = prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{text:?} has a bad prefix length"))?;
                Target::Net { network, prefix }
            }
            None => match host.parse::<IpAddr>() {
                Ok(network) => Target::Net {
                    network,
                    prefix: if network.is_ipv4() { 32 } else { 128 },
                },
                Err(_) if is_host_name(host) => Target::Name(host.to_ascii_lowercase()),
                Err(_) => return Err(bad("an IP address, CIDR block or host name")),
            },
        };
        Ok(Self { target, port })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let Target::Net { network, prefix } = self.target else {
            return false;
        };
        match (network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    fn names(&self, host: &str) -> bool {
        matches!(&self.target, Target::Name(name) if name.eq_ignore_ascii_case(host))
    }

    fn port_matches(&self, port: Option<u16>) -> bool {
        match (self.port, port) {
            (None, _) => true,
            (Some(want), Some(port)) => want == port,
            // The port is not known (a name being resolved for the HTTP client): the name
            // rule lets its addresses through, and the URL's port was checked before.
            (Some(_), None) => false,
        }
    }
}

/// The whole list, and the server's own port.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    rules: Vec<AllowRule>,
    own_port: Option<u16>,
}

impl AllowList {
    pub fn new(rules: Vec<AllowRule>, own_port: Option<u16>) -> Self {
        Self { rules, own_port }
    }

    /// Whether internal address `ip` may be reached on `port` (`None`: not known yet), asked
    /// for by the name `host` (`None` for an address given as such).
    pub fn permits(&self, ip: IpAddr, port: Option<u16>, host: Option<&str>) -> bool {
        if port.is_some() && port == self.own_port {
            return false;
        }
        self.rules.iter().any(|rule| {
            let target = rule.contains(ip) || host.is_some_and(|h| rule.names(h));
            let port_ok =
                rule.port_matches(port) || (port.is_none() && host.is_some_and(|h| rule.names(h)));
            target && port_ok
        })
    }

    /// Whether `port` is this server's own.
    pub fn is_own_port(&self, port: u16) -> bool {
        self.own_port == Some(port)
    }

    /// Whether a request to the name `host` on `port` goes against the list: the name is
    /// listed only with other ports.
    pub fn refuses_name_port(&self, host: &str, port: u16) -> bool {
        let mut named = self.rules.iter().filter(|rule| rule.names(host)).peekable();
        named.peek().is_some() && !named.any(|rule| rule.port_matches(Some(port)))
    }
}

fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn list(entries: &[&str], own_port: Option<u16>) -> AllowList {
        AllowList::new(
            entries
                .iter()
                .map(|e| AllowRule::parse(e).unwrap())
                .collect(),
            own_port,
        )
    }

    #[test]
    fn addresses_blocks_ports_and_names_parse_and_bad_entries_do_not() {
        for good in [
            "127.0.0.1",
            "10.1.0.0/16",
            "::1",
            "fd00::/8",
            "127.0.0.1:8888",
            "10.0.0.0/8:443",
            "[::1]:8080",
            "[fd00::/8]:80",
            "[::1]",
            "searx.lan",
            "searx.lan:8888",
        ] {
            assert!(AllowRule::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "10.0.0.0/33",
            "127.0.0.1:0",
            "127.0.0.1:99999",
            "[::1",
            "[::1]8080",
            "a b",
            "-x.lan",
            "http://x",
        ] {
            assert!(AllowRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blocks_match_their_addresses_mapped_forms_included() {
        let rules = list(&["10.1.0.0/16", "127.0.0.1"], None);
        assert!(rules.permits(ip("10.1.200.3"), Some(80), None));
        assert!(!rules.permits(ip("10.2.0.1"), Some(80), None));
        assert!(rules.permits(ip("::ffff:127.0.0.1"), Some(80), None));
    }

    #[test]
    fn a_host_port_entry_opens_that_port_and_no_other() {
        let rules = list(&["127.0.0.1:8888", "searx.lan:8080"], None);
        assert!(rules.permits(ip("127.0.0.1"), Some(8888), None));
        assert!(!rules.permits(ip("127.0.0.1"), Some(8889), None));
        // Not known yet: only a name entry lets its own addresses through.
        assert!(!rules.permits(ip("127.0.0.1"), None, Some("localhost")));
        assert!(rules.permits(ip("10.9.9.9"), None, Some("searx.lan")));
        assert!(rules.permits(ip("10.9.9.9"), Some(8080), Some("SEARX.lan")));
        assert!(!rules.permits(ip("10.9.9.9"), Some(22), Some("searx.lan")));
        assert!(rules.refuses_name_port("searx.lan", 22));
        assert!(!rules.refuses_name_port("searx.lan", 8080));
        assert!(!rules.refuses_name_port("example.com", 22));
    }

    #[test]
    fn the_servers_own_port_is_never_opened_by_an_entry() {
        let rules = list(&["127.0.0.0/8", "10.0.0.0/8:8000"], Some(8000));
        assert!(rules.permits(ip("127.0.0.1"), Some(8080), None));
        assert!(!rules.permits(ip("127.0.0.1"), Some(8000), None));
        assert!(!rules.permits(ip("10.0.0.5"), Some(8000), None));
    }
}

//! Which addresses are internal: loopback, private, link-local, metadata and the like, for
//! IPv4, for IPv6, and for every way IPv6 carries an IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 address carried in IPv6 as mapped (`::ffff:127.0.0.1`) is judged as IPv4.
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
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
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_broadcast() || ip.is_multicast() => "a broadcast or multicast address",
        _ if a == 100 && (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        _ if a == 192 && b == 0 && c == 0 => "a reserved address",
        _ if a == 198 && (18..20).contains(&b) => "a benchmarking address",
        _ if a >= 240 => "a reserved address",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    let first = segments[0];
    if let Some(kind) = embedded_v4(ip).into_iter().find_map(v4_kind) {
        return Some(match kind {
            "a loopback address" => "an IPv6 form of a loopback address",
            "a cloud metadata address" => "an IPv6 form of a cloud metadata address",
            "a private address" => "an IPv6 form of a private address",
            _ => "an IPv6 form of an internal IPv4 address",
        });
    }
    Some(match () {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_multicast() => "a multicast address",
        _ if first & 0xfe00 == 0xfc00 => "a private (unique local) address",
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if first & 0xffc0 == 0xfec0 => "a private (site-local) address",
        _ if segments == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => "a cloud metadata address",
        // NAT64 for local use (RFC 8215): the IPv4 part may sit anywhere, so all of it.
        _ if segments[..3] == [0x64, 0xff9b, 1] => "a local NAT64 address",
        _ if segments[..4] == [0x100, 0, 0, 0] => "a discard-only address",
        _ if segments[..2] == [0x2001, 0xdb8] => "a documentation address",
        _ => return None,
    })
}

/// The IPv4 addresses `ip` carries, by every scheme that puts one in an IPv6 address:
/// IPv4-compatible (`::a.b.c.d`), mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`), 6to4
/// (`2002::/16`) and Teredo (`2001::/32`, its server and its obfuscated client).
pub(super) fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let pair = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let mut found = Vec::new();
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        // IPv4-compatible; `::` and `::1` are IPv6's own unspecified and loopback.
        found.push(pair(s[6], s[7]));
    }
    if let Some(mapped) = ip.to_ipv4_mapped() {
        found.push(mapped);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        found.push(pair(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        found.push(pair(s[1], s[2]));
    }
    if s[..2] == [0x2001, 0] {
        found.push(pair(s[2], s[3]));
        found.push(pair(!s[6], !s[7]));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        internal_kind(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_recognised() {
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
        assert_eq!(kind("fec0::1"), Some("a private (site-local) address"));
        assert_eq!(kind("fe80::1"), Some("a link-local address"));
        assert_eq!(kind("93.184.216.34"), None);
        assert_eq!(kind("2606:4700::1111"), None);
    }

    #[test]
    fn every_ipv6_embedding_of_loopback_and_private_addresses_is_internal() {
        // 127.0.0.1 = 7f00:0001, 10.0.0.1 = 0a00:0001, 192.168.1.1 = c0a8:0101,
        // 169.254.169.254 = a9fe:a9fe; Teredo's client part is inverted.
        for address in [
            "::127.0.0.1",
            "::7f00:1",
            "::ffff:7f00:1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::7f00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2002:a9fe:a9fe::",
            "2001:0:7f00:1::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "::10.0.0.1",
            "::0.0.0.2",
        ] {
            assert!(kind(address).is_some(), "{address} passed as public");
        }
        // 2001:0:4136:e378:8000:63bf:80ff:fffe carries client 127.0.0.1 (inverted).
        assert_eq!(
            kind("2001:0:4136:e378:8000:63bf:80ff:fffe"),
            Some("an IPv6 form of a loopback address")
        );
        // Embedded public addresses stay public.
        for address in [
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
            "::ffff:93.184.216.34",
        ] {
            assert_eq!(kind(address), None, "{address}");
        }
    }
}

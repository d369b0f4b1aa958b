//! Who a request comes from, for the per-client limits (login attempts, `/api` rate limits).
//!
//! The socket peer, unless the peer is one of `TRUSTED_PROXIES` (default loopback, which covers a
//! local cloudflared): then the address the proxy forwarded, from `CF-Connecting-IP` or
//! `X-Forwarded-For`. Anyone else could write those headers themselves, so from any other peer
//! they are ignored. Limits count an IPv6 client per /64, the block one subscriber usually holds.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarded client addresses are believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl Default for TrustedProxies {
    /// Loopback: a proxy or tunnel client (cloudflared) on this machine.
    fn default() -> Self {
        TrustedProxies::parse("127.0.0.0/8,::1/128")
            .unwrap_or_else(|_| unreachable!("the loopback ranges parse"))
    }
}

impl TrustedProxies {
    /// `none`, or comma-separated CIDRs (`10.0.0.0/8, fd00::/8`); a bare address means itself.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        if text.trim().eq_ignore_ascii_case("none") {
            return Ok(TrustedProxies(Vec::new()));
        }
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{part:?} is not a CIDR range such as 10.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// True if `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client's address: the peer, or what a trusted proxy peer forwarded. `CF-Connecting-IP`
/// wins (Cloudflare sets it to the visitor); otherwise `X-Forwarded-For` read from the right,
/// where each proxy appends the address it saw, skipping our own trusted proxies, so a value the
/// client wrote itself at the left is never taken. Without a peer (in-process calls), loopback.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let Some(peer) = peer.map(|p| p.ip().to_canonical()) else {
        return IpAddr::from([127, 0, 0, 1]);
    };
    if !trusted.contains(peer) {
        return peer;
    }
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ip) = header_text("cf-connecting-ip").and_then(parse_hop) {
        return ip;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        // An unreadable hop ends the chain of trust: the last address we could vouch for stands.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// One forwarded address: `203.0.113.7`, `2001:db8::1`, or with a port (`[2001:db8::1]:443`).
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The key a per-client limit counts under: the IPv4 address, or the IPv6 address's /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("a header value"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn peer(text: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip(text), 5000))
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_peer() {
        let loopback = TrustedProxies::default();
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7")]);
        assert_eq!(
            client_ip(&forwarded, peer("127.0.0.1"), &loopback),
            ip("198.51.100.7"),
            "the hop our proxy appended"
        );
        assert_eq!(
            client_ip(&forwarded, peer("::1"), &loopback),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(&forwarded, peer("192.0.2.50"), &loopback),
            ip("192.0.2.50"),
            "an untrusted peer's headers are its own words"
        );
        let none = TrustedProxies::parse("none").expect("none");
        assert_eq!(
            client_ip(&forwarded, peer("127.0.0.1"), &none),
            ip("127.0.0.1")
        );
        let cf = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("cf-connecting-ip", "192.0.2.4"),
        ]);
        assert_eq!(
            client_ip(&cf, peer("127.0.0.1"), &loopback),
            ip("192.0.2.4")
        );
        assert_eq!(client_ip(&cf, None, &loopback), ip("127.0.0.1"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_from_the_right() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").expect("CIDRs");
        let chain = headers(&[(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.9, 10.1.1.1, 10.2.2.2",
        )]);
        assert_eq!(
            client_ip(&chain, peer("127.0.0.1"), &trusted),
            ip("203.0.113.9"),
            "the first address no trusted proxy owns; the spoofed 6.6.6.6 is never reached"
        );
        let split = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-for", "10.1.1.1"),
        ]);
        assert_eq!(
            client_ip(&split, peer("127.0.0.1"), &trusted),
            ip("203.0.113.9")
        );
        let garbage = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip, 10.1.1.1")]);
        assert_eq!(
            client_ip(&garbage, peer("127.0.0.1"), &trusted),
            ip("10.1.1.1")
        );
        let ported = headers(&[("x-forwarded-for", "[2001:db8::7]:443")]);
        assert_eq!(
            client_ip(&ported, peer("127.0.0.1"), &trusted),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn trusted_proxies_parse_cidrs_addresses_and_none() {
        let parsed = TrustedProxies::parse(" 10.0.0.0/8 ,192.168.1.1, fd00::/8").expect("valid");
        assert!(parsed.contains(ip("10.200.0.1")));
        assert!(parsed.contains(ip("192.168.1.1")) && !parsed.contains(ip("192.168.1.2")));
        assert!(parsed.contains(ip("fd12::1")));
        assert!(
            parsed.contains(ip("::ffff:10.0.0.1")),
            "IPv4-mapped peers count as IPv4"
        );
        assert!(!parsed.contains(ip("127.0.0.1")));
        assert!(TrustedProxies::default().contains(ip("127.8.9.10")));
        assert!(TrustedProxies::default().contains(ip("::1")));
        for bad in ["10.0.0.0/33", "localhost", "10.0.0.0/8,,x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_count_ipv6_clients_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("2001:db8:1:2::ffff")), ip("2001:db8:1:2::"));
        assert_ne!(limit_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(limit_key(ip("::ffff:203.0.113.7")), ip("203.0.113.7"));
    }
}

//! Which address a request comes from when reverse proxies stand in front of the service: the
//! blocks of trusted proxies ([`IpNet`], from `LUCKYGAS_TRUSTED_PROXIES`) and the walk over
//! `X-Forwarded-For` ([`client_ip`]). The rate limits and the logs key on the result, so a
//! client must not be able to choose it by sending the header itself.

use std::net::IpAddr;

/// An address block: `10.0.0.0/8`, `fd00::/8`, or one address. An IPv4-mapped IPv6 block
/// (`::ffff:10.0.0.0/104`) is read as the IPv4 block it carries (`10.0.0.0/8`), as addresses
/// are (`::ffff:10.0.0.1` is `10.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The prefix length in bits (32 or 128 for a single address).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl std::str::FromStr for IpNet {
    type Err = ();

    /// Reads `ADDRESS` or `ADDRESS/PREFIX`, the prefix counted in the bits of the address as
    /// written: at most 32 for IPv4, 128 for IPv6, and 96 to 128 for an IPv4-mapped IPv6 block
    /// (a shorter one would reach beyond the mapped addresses, which are all IPv4 here).
    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| ())?, Some(p.parse::<u8>().map_err(|_| ())?)),
            None => (s.parse::<IpAddr>().map_err(|_| ())?, None),
        };
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(());
        }
        match (addr, addr.to_canonical()) {
            (IpAddr::V6(_), v4 @ IpAddr::V4(_)) => Ok(IpNet { addr: v4, prefix: prefix.checked_sub(96).ok_or(())? }),
            _ => Ok(IpNet { addr, prefix }),
        }
    }
}

/// Whether `ip` lies in one of the `trusted` blocks.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|n| n.contains(ip))
}

/// The client address that `X-Forwarded-For` names for a request from `peer`, or `None` when
/// the peer itself is the client: when the peer is not a trusted proxy (its header may be
/// forged), or when the header names no usable address.
///
/// `forwarded_for` are the header's values in order; each is a comma-separated list of hops.
/// Proxies append the address they saw on the right, so the walk goes from the right: it skips
/// trusted proxies and stops at the first address that is not one, which is the answer.
/// Everything left of it may have been written by the client. The walk also stops at a hop
/// that is not an address; then, and when every hop is a trusted proxy, the answer is the last
/// address the walk passed (the left-most trustworthy one), if any. Addresses are canonical
/// (`::ffff:1.2.3.4` is `1.2.3.4`).
pub fn client_ip<'a>(peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>, trusted: &[IpNet]) -> Option<IpAddr> {
    if !is_trusted(peer.to_canonical(), trusted) {
        return None;
    }
    let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = None;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        let ip = ip.to_canonical();
        client = Some(ip);
        if !is_trusted(ip, trusted) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn matches_addresses_against_blocks() {
        let net: IpNet = "10.1.0.0/16".parse().expect("block");
        assert!(net.contains(ip("10.1.200.3")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        assert!(!net.contains(ip("10.2.0.1")));
        let all: IpNet = "0.0.0.0/0".parse().expect("block");
        assert!(all.contains(ip("192.0.2.1")));
        let v6: IpNet = "fd00::/8".parse().expect("block");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let mapped: IpNet = "::ffff:10.0.0.0/104".parse().expect("a mapped block reads as IPv4");
        assert_eq!(mapped, "10.0.0.0/8".parse().expect("block"));
        assert!(mapped.contains(ip("10.9.9.9")) && mapped.contains(ip("::ffff:10.1.2.3")) && !mapped.contains(ip("11.0.0.1")));
        assert_eq!("::ffff:192.0.2.1".parse::<IpNet>(), "192.0.2.1/32".parse());
        for bad in ["10.0.0.0/33", "::/129", "::ffff:10.0.0.0/8", "::ffff:10.0.0.0/129", "10.0.0.0/", "/8", "10.0.0.0/-1", "host", ""] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn believes_forwarded_addresses_only_from_trusted_proxies() {
        let trusted = ["10.0.0.0/8".parse().expect("block")];
        let header = ["6.6.6.6, 203.0.113.7, 10.0.0.2"];
        assert_eq!(client_ip(ip("10.0.0.1"), header, &trusted), Some(ip("203.0.113.7")), "the right-most untrusted hop");
        assert_eq!(client_ip(ip("198.51.100.4"), header, &trusted), None, "a client's own header is ignored");
        assert_eq!(client_ip(ip("10.0.0.1"), [], &trusted), None, "no header: the proxy itself");
        assert_eq!(client_ip(ip("10.0.0.1"), ["not an address"], &trusted), None);
    }

    #[test]
    fn walks_every_header_value_and_stops_at_the_first_hop_that_is_no_address() {
        let trusted = ["10.0.0.0/8".parse().expect("block"), "fd00::/8".parse().expect("block")];
        let peer = ip("::ffff:10.0.0.1");
        assert_eq!(client_ip(peer, ["203.0.113.7", "10.0.0.3,fd00::2"], &trusted), Some(ip("203.0.113.7")), "values joined in order");
        assert_eq!(client_ip(peer, ["203.0.113.7, junk, 10.0.0.3"], &trusted), Some(ip("10.0.0.3")), "the left-most trusted hop before the junk");
        assert_eq!(client_ip(peer, ["10.0.0.9, 10.0.0.3"], &trusted), Some(ip("10.0.0.9")), "all trusted: the left-most");
        assert_eq!(client_ip(peer, ["::ffff:203.0.113.7"], &trusted), Some(ip("203.0.113.7")), "canonical addresses");
        assert_eq!(client_ip(peer, ["203.0.113.7,"], &trusted), None, "an empty hop is no address");
    }
}

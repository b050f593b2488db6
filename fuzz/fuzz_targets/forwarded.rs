//! The client address behind trusted proxies (`luckygas_wire::forwarded`).
//!
//! The input builds trusted blocks (written as text and parsed, prefix lengths valid or not), a
//! peer and an `X-Forwarded-For` list of hops (addresses inside and outside the blocks, IPv4,
//! IPv6, IPv4-mapped, junk, empty hops, spaces), split over one or two header values. Checked:
//! a block parses exactly when its prefix fits and contains its own address; an untrusted peer's
//! header is ignored; otherwise the answer is the suffix-trusted walk from the right: the first
//! address left of the trailing run of trusted proxies when that hop is an address (then never a
//! trusted proxy's), else the left-most proxy of that run, else the peer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luckygas_wire::forwarded::{client_ip, IpNet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn ip(&mut self) -> IpAddr {
        if self.byte() % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from(std::array::from_fn::<u8, 4, _>(|_| self.byte())))
        } else {
            IpAddr::V6(Ipv6Addr::from(std::array::from_fn::<u8, 16, _>(|_| self.byte())))
        }
    }
}

/// An address inside `net` (`net`'s address with some of the low bits changed).
fn inside(addr: IpAddr, prefix: u8, noise: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) ^ (host & u32::from(noise))))
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ (host & u128::from(noise))))
        }
    }
}

/// The text of `ip` as a proxy might write it: plain, or an IPv4 address IPv4-mapped.
fn written(ip: IpAddr, mapped: bool) -> String {
    match ip {
        IpAddr::V4(v4) if mapped => v4.to_ipv6_mapped().to_string(),
        _ => ip.to_string(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let mut blocks: Vec<(IpAddr, u8)> = Vec::new();
    for _ in 0..input.byte() % 4 {
        let (addr, raw_prefix) = (input.ip(), input.byte());
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = raw_prefix % (bits + 8);
        let parsed = format!("{addr}/{prefix}").parse::<IpNet>();
        // An IPv4-mapped IPv6 block is an IPv4 block: its prefix must reach past the 96 mapping bits.
        let mapped = matches!(addr, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
        assert_eq!(parsed.is_ok(), prefix <= bits && (!mapped || prefix >= 96), "{addr}/{prefix}");
        if let Ok(net) = parsed {
            assert!(net.contains(addr) && net.contains(inside(addr, prefix, input.byte())), "{addr}/{prefix}");
            blocks.push((addr, prefix));
        }
    }
    let trusted: Vec<IpNet> = blocks.iter().map(|(a, p)| format!("{a}/{p}").parse().expect("parsed above")).collect();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let pick = |input: &mut Bytes| match (input.byte() % 3, blocks.is_empty()) {
        (0, false) => {
            let (a, p) = blocks[usize::from(input.byte()) % blocks.len()];
            inside(a, p, input.byte())
        }
        _ => input.ip(),
    };

    let peer = pick(&mut input);
    let mut hops: Vec<String> = Vec::new();
    for _ in 0..input.byte() % 8 {
        let kind = input.byte() % 6;
        let text = match kind {
            0..=3 => written(pick(&mut input), kind == 3),
            4 => {
                // Junk: a few bytes of the input, without the list's comma.
                let n = usize::from(input.byte() % 8);
                let junk: Vec<u8> = (0..n).map(|_| input.byte()).collect();
                String::from_utf8_lossy(&junk).replace(',', ";")
            }
            _ => String::new(),
        };
        let pad = [" ", "", "  ", "\t"][usize::from(input.byte() % 4)];
        hops.push(format!("{pad}{text}{pad}"));
    }
    let split = if hops.is_empty() { 0 } else { usize::from(input.byte()) % (hops.len() + 1) };
    let values: Vec<String> = if hops.is_empty() {
        Vec::new()
    } else if split == 0 || split == hops.len() {
        vec![hops.join(",")]
    } else {
        vec![hops[..split].join(","), hops[split..].join(", ")]
    };

    let answer = client_ip(peer, values.iter().map(String::as_str), &trusted);
    if !is_trusted(peer.to_canonical()) {
        assert_eq!(answer, None, "an untrusted peer's own header is ignored");
        return;
    }
    // The walk from the right, spelt out: the trailing run of trusted proxies, then the hop left of it.
    let parsed: Vec<Option<IpAddr>> = hops.iter().map(|h| h.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical())).collect();
    let run = parsed.iter().rev().take_while(|p| p.is_some_and(|ip| is_trusted(ip))).count();
    let left_of_run = hops.len().checked_sub(run + 1).map(|i| parsed[i]);
    let expected = match left_of_run {
        Some(Some(ip)) => Some(ip),
        _ if run > 0 => parsed[hops.len() - run],
        _ => None,
    };
    assert_eq!(answer, expected, "peer {peer}, hops {hops:?}, trusted {blocks:?}");
    if let (Some(Some(_)), Some(ip)) = (left_of_run, answer) {
        assert!(!is_trusted(ip), "a client address behind the proxies is never a trusted proxy's");
    }
});

//! Which management hosts may receive a broker's credentials, compared by what a host denotes:
//! IP literals as addresses (loopback is 127.0.0.0/8 and ::1, an IPv4-mapped IPv6 address is
//! its IPv4 address), host names label by label (`*` stands for one whole DNS label, never for
//! a dot), a trailing dot ignored. A host name is never matched against an address pattern, so
//! `127.0.0.1.evil.example` is a name that no loopback pattern allows.

use std::net::IpAddr;

use url::Host;

/// One allowed-host pattern, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// An address or a CIDR block: `127.0.0.0/8`, `::1`, `10.1.2.3`.
    Net { addr: IpAddr, prefix: u8 },
    /// An IPv4 address with whole octets as wildcards: `10.0.0.*`, `127.*.*.*`.
    Octets([Option<u8>; 4]),
    /// A host name, lower-cased, label by label; a label may hold `*` (within that label).
    Name(Vec<String>),
}

/// Why an allowed-host pattern was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("allowed RabbitMQ host `{pattern}`: {reason}")]
pub struct HostPatternError {
    pub pattern: String,
    pub reason: &'static str,
}

impl HostPattern {
    pub fn parse(pattern: &str) -> Result<HostPattern, HostPatternError> {
        let fail = |reason| HostPatternError {
            pattern: pattern.to_string(),
            reason,
        };
        let p = pattern.trim_start_matches('[').trim_end_matches(']');
        if p.is_empty() {
            return Err(fail("is empty"));
        }
        if let Some((addr, prefix)) = p.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| fail("a CIDR block must start with an IP address"))?;
            let prefix: u8 = prefix
                .parse()
                .map_err(|_| fail("a CIDR prefix length must be a number"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return Err(fail("the CIDR prefix length is longer than the address"));
            }
            return Ok(HostPattern::Net { addr, prefix });
        }
        if let Ok(addr) = p.parse::<IpAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(HostPattern::Net { addr, prefix });
        }
        let parts: Vec<&str> = p.split('.').collect();
        if parts.len() == 4
            && p.contains('*')
            && parts
                .iter()
                .all(|o| *o == "*" || (!o.is_empty() && o.bytes().all(|b| b.is_ascii_digit())))
        {
            let mut octets = [None; 4];
            for (slot, o) in octets.iter_mut().zip(&parts) {
                if *o != "*" {
                    *slot = Some(o.parse().map_err(|_| fail("an IPv4 octet is above 255"))?);
                }
            }
            return Ok(HostPattern::Octets(octets));
        }
        let name = p.strip_suffix('.').unwrap_or(p).to_ascii_lowercase();
        if !name.is_ascii() {
            return Err(fail(
                "host names must be ASCII (write an international name in its xn-- form)",
            ));
        }
        let labels: Vec<String> = name.split('.').map(str::to_string).collect();
        if labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || !l
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*')
        }) {
            return Err(fail(
                "is neither an IP address, a CIDR block, an IPv4 pattern such as 10.0.0.*, nor a host name of letters, digits, `-` and `*` labels",
            ));
        }
        if labels.iter().all(|l| l == "*") {
            return Err(fail(
                "a host name pattern needs at least one label that is not `*`",
            ));
        }
        Ok(HostPattern::Name(labels))
    }

    /// Whether this pattern allows `host` (as the URL parser gave it).
    pub fn allows(&self, host: &Host<&str>) -> bool {
        match (self, canonical(host)) {
            (HostPattern::Net { addr, prefix }, Canonical::Ip(ip)) => in_net(ip, *addr, *prefix),
            (HostPattern::Octets(octets), Canonical::Ip(IpAddr::V4(v4))) => octets
                .iter()
                .zip(v4.octets())
                .all(|(want, got)| want.is_none_or(|w| w == got)),
            (HostPattern::Name(labels), Canonical::Name(name)) => {
                let got: Vec<&str> = name.split('.').collect();
                got.len() == labels.len()
                    && labels.iter().zip(got).all(|(p, l)| label_matches(p, l))
            }
            _ => false,
        }
    }
}

enum Canonical<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

/// An IPv4-mapped IPv6 address is its IPv4 address; a name loses one trailing dot (the URL
/// parser already lower-cased it and turned international names into their xn-- form).
fn canonical<'a>(host: &Host<&'a str>) -> Canonical<'a> {
    match host {
        Host::Ipv4(a) => Canonical::Ip(IpAddr::V4(*a)),
        Host::Ipv6(a) => Canonical::Ip(match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(*a),
        }),
        Host::Domain(d) => Canonical::Name(d.strip_suffix('.').unwrap_or(d)),
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// A label against a pattern label: `*` matches any run of characters within the one label.
fn label_matches(pattern: &str, label: &str) -> bool {
    if label.is_empty() {
        return false;
    }
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = label.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty(); // no `*`: the whole label was the prefix
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str], url: &str) -> bool {
        let url = url::Url::parse(url).unwrap();
        let host = url.host().unwrap();
        patterns
            .iter()
            .map(|p| HostPattern::parse(p).unwrap())
            .any(|p| p.allows(&host))
    }

    const DEFAULTS: &[&str] = super::super::DEFAULT_ALLOWED_HOSTS;

    #[test]
    fn names_that_spell_loopback_are_not_loopback() {
        for url in [
            "http://127.0.0.1.evil.example/",
            "http://127.0.0.evil.example/",
            "http://127.1.2.attacker-controlled.example:15672/",
            "http://localhost.evil.example/",
            "http://evil.example/?127.0.0.1",
            "http://b-1.mq.us-east-1.amazonaws.com.evil.example/",
            "http://x.y.mq.us-east-1.amazonaws.com.cn.evil.example/",
            "http://[::2]/",
            "http://[::ffff:10.0.0.1]/",
            "http://10.0.0.1/",
        ] {
            assert!(!allowed(DEFAULTS, url), "{url} was allowed");
        }
    }

    #[test]
    fn loopback_and_amazon_mq_are_allowed_in_every_spelling() {
        for url in [
            "http://127.0.0.1:15672",
            "http://127.255.3.4/",
            "http://127.1/", // the URL parser reads it as 127.0.0.1
            "http://0x7f.0.0.1/",
            "http://[::1]:15672/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:15672",
            "http://LOCALHOST./",
            "https://b-1234-abcd-1.mq.us-east-1.amazonaws.com/",
            "https://b-1234-abcd-1.mq.us-east-1.amazonaws.com./",
            "https://b-1.mq.cn-north-1.amazonaws.com.cn/",
            "https://b-1.mq.eu-west-1.on.aws/",
        ] {
            assert!(allowed(DEFAULTS, url), "{url} was refused");
        }
    }

    #[test]
    fn a_star_is_one_label() {
        assert!(!allowed(&["*.example.com"], "http://a.b.example.com/"));
        assert!(allowed(&["*.example.com"], "http://a.example.com/"));
        assert!(!allowed(&["*.example.com"], "http://example.com/"));
        assert!(allowed(&["b-*.example.com"], "http://b-12.example.com/"));
        assert!(!allowed(&["b-*.example.com"], "http://c-12.example.com/"));
        assert!(allowed(&["rabbit.internal"], "http://Rabbit.Internal./"));
    }

    #[test]
    fn address_patterns_compare_addresses() {
        assert!(allowed(&["10.0.0.*"], "http://10.0.0.7/"));
        assert!(!allowed(&["10.0.0.*"], "http://10.0.0.7.evil.example/"));
        assert!(allowed(&["10.0.0.0/8"], "http://10.200.1.1/"));
        assert!(!allowed(&["10.0.0.0/8"], "http://11.0.0.1/"));
        assert!(allowed(&["fd00::/8"], "http://[fd12::1]/"));
        assert!(allowed(&["[fd12::1]"], "http://[fd12::1]/"));
        assert!(allowed(&["0.0.0.0/0"], "http://[::ffff:1.2.3.4]/"));
    }

    #[test]
    fn bad_patterns_are_refused_with_the_reason() {
        for p in [
            "",
            "*",
            "*.*",
            "10.0.0.0/40",
            "a..b",
            "exa mple.com",
            "bücher.example",
        ] {
            assert!(HostPattern::parse(p).is_err(), "{p} was accepted");
        }
        assert_eq!(
            HostPattern::parse("300.*.*.*").unwrap_err().reason,
            "an IPv4 octet is above 255"
        );
    }
}

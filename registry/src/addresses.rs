//! Which IP addresses a client can use: the rule for the records' address fields
//! ([`TaskRecord::agent_ips`](crate::TaskRecord::agent_ips) and
//! [`task_ips`](crate::TaskRecord::task_ips)). A writer never stores an address this rule
//! refuses; a reader never serves one, since a record written by an older writer or by hand
//! may still hold one. Pure.
//!
//! Unusable: the unspecified addresses (`0.0.0.0`, `::`), the IPv4 broadcast address
//! (`255.255.255.255`), multicast (`224.0.0.0/4`, `ff00::/8`), and IPv4 addresses written as
//! IPv6 (`::ffff:a.b.c.d`: served as AAAA, such an address reaches no IPv6 host).
//! Everything else is usable, loopback and private ranges included.

use std::net::IpAddr;

/// Why no client can use `ip` (`"the unspecified address"`, ...); `None` when it is usable.
pub fn unusable(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => Some("an IPv4 address written as IPv6"),
        _ => None,
    }
}

/// True when a client could connect to `ip` (see the [module](self) for the rule).
pub fn is_usable(ip: IpAddr) -> bool {
    unusable(ip).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_no_client_can_use_are_not_usable() {
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "::",
            "ff02::1",
            "ff05::1:3",
            "::ffff:10.0.0.7",
        ] {
            assert!(!is_usable(ip(bad)), "{bad}");
            assert!(unusable(ip(bad)).is_some(), "{bad}");
        }
        for good in [
            "10.0.0.7",
            "172.17.0.2",
            "192.0.2.255",
            "223.255.255.254",
            "240.0.0.1",
            "127.0.0.1",
            "fd01:b::1:8000:2",
            "2001:db8::1",
            "::1",
        ] {
            assert!(is_usable(ip(good)), "{good}");
            assert_eq!(unusable(ip(good)), None, "{good}");
        }
    }

    #[test]
    fn each_refusal_says_why() {
        assert_eq!(unusable(ip("0.0.0.0")), Some("the unspecified address"));
        assert_eq!(unusable(ip("::")), Some("the unspecified address"));
        assert_eq!(
            unusable(ip("255.255.255.255")),
            Some("the broadcast address")
        );
        assert_eq!(unusable(ip("224.0.0.1")), Some("a multicast address"));
        assert_eq!(unusable(ip("ff02::1")), Some("a multicast address"));
        assert_eq!(
            unusable(ip("::ffff:10.0.0.7")),
            Some("an IPv4 address written as IPv6")
        );
    }
}

//! Which stored addresses may be served. A record in etcd can hold addresses that no
//! client can connect to (written by an older subscriber, or by hand); they are dropped
//! once, when a `TaskRecord` becomes a [`crate::task::ZoneTask`], so no A, AAAA, SRV
//! target or PTR is ever made from them. Pure.

use std::net::IpAddr;

/// True when a client could connect to `ip`: not unspecified (`0.0.0.0`, `::`), not the
/// IPv4 broadcast address, not multicast (`224.0.0.0/4`, `ff00::/8`), and not an IPv4
/// address written as IPv6 (`::ffff:a.b.c.d`, an IPv4 address tagged as IPv6: served as
/// AAAA it would reach no IPv6 host).
pub fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => {
            !(v6.is_unspecified() || v6.is_multicast() || v6.to_ipv4_mapped().is_some())
        }
    }
}

/// The usable addresses of `ips`, in their order, and how many were dropped.
pub fn usable_only(ips: &[IpAddr]) -> (Box<[IpAddr]>, usize) {
    let kept: Box<[IpAddr]> = ips.iter().copied().filter(|ip| usable(*ip)).collect();
    let dropped = ips.len() - kept.len();
    (kept, dropped)
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
            assert!(!usable(ip(bad)), "{bad}");
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
            assert!(usable(ip(good)), "{good}");
        }
    }

    #[test]
    fn filtering_keeps_the_order_and_counts_what_it_drops() {
        let ips = [ip("10.0.0.2"), ip("0.0.0.0"), ip("fd00::1"), ip("ff02::1")];
        let (kept, dropped) = usable_only(&ips);
        assert_eq!(&*kept, &[ip("10.0.0.2"), ip("fd00::1")]);
        assert_eq!(dropped, 2);
        let (none, dropped) = usable_only(&[ip("::"), ip("255.255.255.255")]);
        assert!(none.is_empty());
        assert_eq!(dropped, 2);
        assert_eq!(usable_only(&[]).1, 0);
    }
}

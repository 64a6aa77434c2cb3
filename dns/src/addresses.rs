//! Which stored addresses may be served. A record in etcd can hold addresses that no
//! client can connect to (written by an older subscriber, or by hand); they are dropped
//! once, when a `TaskRecord` becomes a [`crate::task::ZoneTask`], so no A, AAAA, SRV
//! target or PTR is ever made from them. The rule itself is the registry's
//! ([`registry::addresses`]); this module only applies it. Pure.

use std::net::IpAddr;

use registry::addresses::is_usable;

use crate::few::Few;

/// The usable addresses of `ips` ([`registry::addresses::is_usable`]), in their order, and
/// how many were dropped.
pub fn usable_only(ips: &[IpAddr]) -> (Few<IpAddr>, usize) {
    let kept: Few<IpAddr> = ips.iter().copied().filter(|ip| is_usable(*ip)).collect();
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

//! The UDP query path (`herald_dns::udp::respond`: parse, answer from a zone snapshot,
//! encode) without sockets. Any datagram: no panic; a reply, when there is one, is a
//! response to the same ID that parses back. The zone and the checks are
//! `herald_dns::test_support`'s, which dns/tests/malformed.rs replays on stable.
#![no_main]

use std::sync::OnceLock;

use herald_dns::handler::DnsHandler;
use herald_dns::test_support::{check_reply, fuzz_handler, fuzz_source};
use libfuzzer_sys::fuzz_target;

fn handler() -> &'static DnsHandler {
    static HANDLER: OnceLock<DnsHandler> = OnceLock::new();
    HANDLER.get_or_init(fuzz_handler)
}

fuzz_target!(|data: &[u8]| {
    let reply =
        futures::executor::block_on(herald_dns::udp::respond(handler(), data, fuzz_source()));
    if let Some(reply) = reply {
        check_reply(data, &reply);
    }
});

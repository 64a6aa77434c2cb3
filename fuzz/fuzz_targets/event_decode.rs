//! Marathon event JSON (a callback body or an SSE `data:` payload) -> a typed event.
//! Any bytes: no panic; a rejected body is classified (4xx or not).
#![no_main]

use herald_subscriber::events;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match events::decode(data) {
        Ok(decoded) => assert!(!decoded.label.is_empty()),
        Err(error) => {
            let _ = error.is_bad_request();
            let _ = error.to_string();
        }
    }
});

//! The Mesos RecordIO parser and event decoding: no panic, no record beyond the size limit,
//! and the same records (and the same error) whether the stream arrives whole or split at
//! any byte (the first input byte picks the split point); every record decodes or is
//! refused with an error, never a panic.
#![no_main]

use herald_subscriber::mesos::events::decode;
use herald_subscriber::mesos::recordio::RecordIoParser;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let mut whole = RecordIoParser::new(LIMIT);
    let (all, all_result) = whole.push_collect(stream);
    let at = usize::from(split) * stream.len() / 255;
    let mut parts = RecordIoParser::new(LIMIT);
    let mut split_records = Vec::new();
    let split_result = parts
        .push(&stream[..at], &mut split_records)
        .and_then(|()| parts.push(&stream[at..], &mut split_records));
    assert_eq!(all, split_records);
    assert_eq!(all_result, split_result);
    if let Err(e) = &all_result {
        assert_eq!(whole.push_collect(b"1\nx").1.as_ref(), Err(e), "an error is final");
    }
    for record in &all {
        assert!(record.len() <= LIMIT);
        let _ = decode(record);
    }
    whole.finish();
    let (again, result) = whole.push_collect(b"20\n{\"type\":\"HEARTBEAT\"}");
    assert!(result.is_ok() && again.len() == 1, "usable after finish");
});

//! `Frame::decode` on arbitrary bytes (every frame a peer sends on a
//! replication connection: protocol messages and certificate frames): it
//! never panics, and a frame that decodes re-encodes to the same frame.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tongka_replication::Frame;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::decode(data) else {
        return;
    };
    let bytes = frame.encode();
    match Frame::decode(&bytes) {
        Ok(again) => assert_eq!(again, frame, "decode(encode(frame)) is another frame"),
        Err(e) => panic!("an encoded frame does not decode: {e}\n{frame:?}"),
    }
});

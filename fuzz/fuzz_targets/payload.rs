//! Web values as the gatekeeper will judge them: every decoding layer and
//! the lexer, on any bytes, within their bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_ml::payload::{Context, decode, lex};
use rampart_ml::payload::{decode::MAX_VALUE_BYTES, lexer::MAX_TOKENS};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    for context in [Context::Form, Context::Other] {
        let decoded = decode(&raw, context);
        assert!(decoded.text.len() <= MAX_VALUE_BYTES * 3 + 8);
        assert!(lex(&decoded.text).tokens.len() <= MAX_TOKENS);
    }
});

//! Web values as the gatekeeper will judge them: every decoding layer, the
//! lexer in both readings and the shipped model, on any bytes, within
//! their bounds; and stopping the forest early never changes a verdict.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_ml::payload::model::decide;
use rampart_ml::payload::{Context, PayloadModel, PayloadScorer, decode, lex, lex_quoted};
use rampart_ml::payload::{decode::MAX_VALUE_BYTES, lexer::MAX_TOKENS};

fn scorer() -> &'static PayloadScorer {
    static SCORER: OnceLock<PayloadScorer> = OnceLock::new();
    SCORER.get_or_init(|| PayloadModel::shipped().scorer())
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    for context in [Context::Form, Context::Other] {
        let decoded = decode(&raw, context);
        assert!(decoded.text.len() <= MAX_VALUE_BYTES * 3 + 8);
        assert!(lex(&decoded.text).tokens.len() <= MAX_TOKENS);
        assert!(lex_quoted(&decoded.text).is_none_or(|q| q.tokens.len() <= MAX_TOKENS));
        let verdict = scorer().judge(&raw, context);
        assert!((0.0..=1.0).contains(&verdict.score) && (0.0..=1.0).contains(&verdict.attack));
        let whole = decide(&scorer().probabilities(&raw, context), scorer().threshold()).0;
        assert_eq!(verdict.class, whole, "the early stop changed the verdict on {raw:?}");
    }
});

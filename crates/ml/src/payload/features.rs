//! A decoded value's features for the payload classifier: how many tokens
//! of each class it has, which pairs of classes follow each other (the
//! shape, as libinjection fingerprints it), hashed character trigrams of
//! the decoded text (the words and punctuation a shape misses), what the
//! decoder had to peel, and a few sizes. Fixed width, so the tree
//! ensembles take it as they take flow features.
//!
//! Hashing is FNV-1a, written here: it is six lines, needs to be stable
//! across versions and machines (a model file depends on it), and the
//! hashers in std are randomly seeded by design.

use super::decode::Decoded;
use super::lexer::{Lexed, Token};

/// Token classes, in the order of their count features.
pub const TOKENS: [Token; 21] = [
    Token::Str,
    Token::Number,
    Token::Keyword,
    Token::Union,
    Token::Function,
    Token::Logic,
    Token::Operator,
    Token::Comment,
    Token::Word,
    Token::Open,
    Token::Close,
    Token::Comma,
    Token::Semicolon,
    Token::Variable,
    Token::Tag,
    Token::Handler,
    Token::Scheme,
    Token::Traversal,
    Token::SensitivePath,
    Token::Command,
    Token::Markup,
];
/// Buckets for pairs of consecutive token classes (with start and end).
pub const PAIR_BUCKETS: usize = 256;
/// Buckets for character trigrams of the decoded text.
pub const TRIGRAM_BUCKETS: usize = 512;
/// Decoder flags, one feature each.
const FLAG_BITS: usize = 11;
/// Decoded length, URL layers, share of punctuation, share of digits.
const SIZES: usize = 4;

const PAIRS_AT: usize = TOKENS.len();
const TRIGRAMS_AT: usize = PAIRS_AT + PAIR_BUCKETS;
const FLAGS_AT: usize = TRIGRAMS_AT + TRIGRAM_BUCKETS;
const SIZES_AT: usize = FLAGS_AT + FLAG_BITS;
/// Features per value.
pub const WIDTH: usize = SIZES_AT + SIZES;

/// FNV-1a, 32 bits.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// Appends the `WIDTH` features of one value to `out`.
pub fn features(decoded: &Decoded, lexed: &Lexed, out: &mut Vec<f32>) {
    let start = out.len();
    out.resize(start + WIDTH, 0.0);
    let row = &mut out[start..];
    for token in &lexed.tokens {
        if let Some(i) = TOKENS.iter().position(|t| t == token) {
            row[i] += 1.0;
        }
    }
    // `^` and `$` mark the ends, so a value that starts with a closing quote differs from one that contains it.
    let letters: Vec<u8> =
        std::iter::once(b'^').chain(lexed.tokens.iter().map(|t| *t as u8)).chain(std::iter::once(b'$')).collect();
    for pair in letters.windows(2) {
        row[PAIRS_AT + fnv1a(pair) as usize % PAIR_BUCKETS] += 1.0;
    }
    let text = decoded.text.as_bytes();
    for trigram in text.windows(3) {
        row[TRIGRAMS_AT + fnv1a(trigram) as usize % TRIGRAM_BUCKETS] += 1.0;
    }
    for bit in 0..FLAG_BITS {
        if decoded.flags.bits() & (1 << bit) != 0 {
            row[FLAGS_AT + bit] = 1.0;
        }
    }
    let len = text.len().max(1) as f32;
    row[SIZES_AT] = text.len() as f32;
    row[SIZES_AT + 1] = f32::from(decoded.url_layers);
    row[SIZES_AT + 2] = text.iter().filter(|b| b.is_ascii_punctuation()).count() as f32 / len;
    row[SIZES_AT + 3] = text.iter().filter(|b| b.is_ascii_digit()).count() as f32 / len;
}

/// The features' names, in order (for model files and reports).
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = TOKENS.iter().map(|t| format!("tokens.{}", t.letter())).collect();
    names.extend((0..PAIR_BUCKETS).map(|i| format!("pairs.{i}")));
    names.extend((0..TRIGRAM_BUCKETS).map(|i| format!("trigrams.{i}")));
    names.extend(super::decode::Flags::ALL.names().into_iter().map(|n| format!("decoded.{n}")));
    names.extend(["size.bytes", "size.url_layers", "size.punctuation_share", "size.digit_share"].map(String::from));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode, lex};

    fn row(raw: &str) -> Vec<f32> {
        let decoded = decode(raw, Context::Form);
        let mut out = Vec::new();
        features(&decoded, &lex(&decoded.text), &mut out);
        out
    }

    #[test]
    fn rows_have_the_width_their_names_say_and_repeat_exactly() {
        assert_eq!(names().len(), WIDTH);
        assert_eq!(row("1' or 1=1 --").len(), WIDTH);
        // Encoded or not, the same tokens and text; only what the decoder peeled differs.
        let (plain, encoded) = (row("<script>alert(1)</script>"), row("%3Cscript%3Ealert(1)%3C/script%3E"));
        assert_eq!(plain[..FLAGS_AT], encoded[..FLAGS_AT]);
        assert_ne!(plain[FLAGS_AT..], encoded[FLAGS_AT..]);
        assert_eq!(fnv1a(b"abc"), 0x1a47_e90b, "FNV-1a must never change: model files depend on it");
    }

    #[test]
    fn an_injection_counts_what_a_name_does_not() {
        let attack = row("1' or 1=1 --");
        let name = row("john smith");
        let at = |t: Token| TOKENS.iter().position(|x| *x == t).unwrap();
        assert_eq!((attack[at(Token::Logic)], name[at(Token::Logic)]), (1.0, 0.0));
        assert_eq!((attack[at(Token::Comment)], attack[at(Token::Str)]), (1.0, 1.0));
        assert_eq!(name[at(Token::Word)], 2.0);
        let flags = row("%2527");
        assert_eq!(flags[FLAGS_AT..FLAGS_AT + 2], [1.0, 1.0], "url, multiple_url");
        assert_eq!(flags[SIZES_AT + 1], 2.0);
    }
}

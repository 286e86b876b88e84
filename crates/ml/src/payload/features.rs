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

use super::decode::{Decoded, Flags};
use super::lexer::{Lexes, Token};

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
/// Per token letter, 1 + its position in `TOKENS` (0: none).
const TOKEN_SLOT: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < TOKENS.len() {
        table[TOKENS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    table
};

/// Buckets for pairs of consecutive token classes (with start and end).
pub const PAIR_BUCKETS: usize = 256;
/// Buckets for character trigrams of the decoded text's skeleton.
pub const TRIGRAM_BUCKETS: usize = 512;
/// The decoder's flags a row carries, one feature each: all but plain and
/// repeated URL encoding, which say how a corpus was written down
/// (libinjection's lists are URL-encoded, others are not) rather than what
/// a value is — a model given them learns the list, not the attack.
const FLAGS: [Flags; 9] = [
    Flags::PERCENT_U,
    Flags::OVERLONG_UTF8,
    Flags::INVALID_UTF8,
    Flags::HTML_ENTITY,
    Flags::BACKSLASH_ESCAPE,
    Flags::SQL_COMMENT,
    Flags::NUL,
    Flags::TRUNCATED,
    Flags::EXCESSIVE_ENCODING,
];
const FLAG_BITS: usize = FLAGS.len();
/// Decoded length, share of punctuation, share of digits.
const SIZES: usize = 3;

const QUOTED_AT: usize = TOKENS.len();
const PAIRS_AT: usize = QUOTED_AT + TOKENS.len();
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
pub fn features(decoded: &Decoded, lexes: &Lexes, out: &mut Vec<f32>) {
    let start = out.len();
    out.resize(start + WIDTH, 0.0);
    let row = &mut out[start..];
    // The value as it stands, then read inside quotes (start mark `'`), so
    // the two readings' counts and pairs stay apart.
    let readings = std::iter::once((&lexes.plain, 0, b'^')).chain(lexes.quoted.iter().map(|q| (q, QUOTED_AT, b'\'')));
    for (lexed, counts_at, start_mark) in readings {
        // `^` and `$` mark the ends, so a value that starts with a closing quote differs from one that contains it.
        let mut before = start_mark;
        for token in &lexed.tokens {
            let letter = *token as u8;
            if let Some(i) = TOKEN_SLOT[usize::from(letter)].checked_sub(1) {
                row[counts_at + usize::from(i)] += 1.0;
            }
            row[PAIRS_AT + fnv1a(&[before, letter]) as usize % PAIR_BUCKETS] += 1.0;
            before = letter;
        }
        row[PAIRS_AT + fnv1a(&[before, b'$']) as usize % PAIR_BUCKETS] += 1.0;
    }
    let text = decoded.text.as_bytes();
    let mut window = [0u8; 3];
    for (n, class) in skeleton(text).enumerate() {
        window = [window[1], window[2], class];
        if n >= 2 {
            row[TRIGRAMS_AT + fnv1a(&window) as usize % TRIGRAM_BUCKETS] += 1.0;
        }
    }
    for (i, flag) in FLAGS.iter().enumerate() {
        if decoded.flags.contains(*flag) {
            row[FLAGS_AT + i] = 1.0;
        }
    }
    // One pass for both shares, a table lookup per byte: every value reaching the forest pays it.
    let (punctuation, digits) = text.iter().fold((0u32, 0u32), |(p, d), &b| {
        let kind = BYTE_KIND[usize::from(b)];
        (p + u32::from(kind == PUNCTUATION), d + u32::from(kind == DIGIT))
    });
    let len = text.len().max(1) as f32;
    row[SIZES_AT] = text.len() as f32;
    row[SIZES_AT + 1] = punctuation as f32 / len;
    row[SIZES_AT + 2] = digits as f32 / len;
}

const PUNCTUATION: u8 = 1;
const DIGIT: u8 = 2;
/// Per byte, `PUNCTUATION`, `DIGIT` or 0 (ASCII's classes, as the size features count them).
const BYTE_KIND: [u8; 256] = byte_table!(|byte| if byte.is_ascii_punctuation() {
    PUNCTUATION
} else if byte.is_ascii_digit() {
    DIGIT
} else {
    0
});

/// The value with every run of letters written `a`, of digits `0` and of
/// other non-ASCII bytes `u`; punctuation and spaces stay. Trigrams of
/// this see `' a 0=0 --` in `' or 1=1 --` and `0' a 0' a` in `4' x 4' wood`:
/// the structure an injection needs, not the words and language of the
/// corpus it came from — which a model fits and then fails on the next corpus.
fn skeleton(text: &[u8]) -> impl Iterator<Item = u8> + '_ {
    // A table: every byte of every value reaching the forest is classed.
    const CLASS: [u8; 256] = byte_table!(|byte| match byte {
        b'a'..=b'z' | b'A'..=b'Z' | b'_' => b'a',
        b'0'..=b'9' => b'0',
        0x80.. => b'u',
        other => other,
    });
    let mut last = 0u8;
    text.iter().filter_map(move |&b| {
        let class = CLASS[usize::from(b)];
        let repeat = matches!(class, b'a' | b'0' | b'u') && last == class;
        last = class;
        (!repeat).then_some(class)
    })
}

/// The features' names, in order (for model files and reports).
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = TOKENS.iter().map(|t| format!("tokens.{}", t.letter())).collect();
    names.extend(TOKENS.iter().map(|t| format!("quoted_tokens.{}", t.letter())));
    names.extend((0..PAIR_BUCKETS).map(|i| format!("pairs.{i}")));
    names.extend((0..TRIGRAM_BUCKETS).map(|i| format!("skeleton_trigrams.{i}")));
    names.extend(FLAGS.iter().flat_map(|f| f.names()).map(|n| format!("decoded.{n}")));
    names.extend(["size.bytes", "size.punctuation_share", "size.digit_share"].map(String::from));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn row(raw: &str) -> Vec<f32> {
        let decoded = decode(raw, Context::Form);
        let mut out = Vec::new();
        features(&decoded, &Lexes::of(&decoded.text), &mut out);
        out
    }

    #[test]
    fn rows_have_the_width_their_names_say_and_repeat_exactly() {
        assert_eq!(names().len(), WIDTH);
        assert_eq!(row("1' or 1=1 --").len(), WIDTH);
        // URL-encoded or not, the same row: how a list was written down is not what a value is.
        let plain = row("<script>alert(1)</script>");
        assert_eq!(plain, row("%3Cscript%3Ealert(1)%3C/script%3E"));
        assert_eq!(plain, row("%253Cscript%253Ealert(1)%253C/script%253E"));
        // Other encodings an evasion uses do show.
        assert_ne!(plain, row("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(fnv1a(b"abc"), 0x1a47_e90b, "FNV-1a must never change: model files depend on it");
    }

    #[test]
    fn byte_tables_say_what_ascii_says() {
        for b in 0..=255u8 {
            let kind = match (b.is_ascii_punctuation(), b.is_ascii_digit()) {
                (true, _) => PUNCTUATION,
                (_, true) => DIGIT,
                _ => 0,
            };
            assert_eq!(BYTE_KIND[usize::from(b)], kind, "byte {b}");
        }
        assert_eq!(skeleton(b"Or_1 = 12\xc3\xa9!").collect::<Vec<_>>(), b"a0 = 0u!");
    }

    #[test]
    fn an_injection_counts_what_a_name_does_not() {
        let attack = row("1' or 1=1 --");
        let name = row("john smith");
        let at = |t: Token| TOKENS.iter().position(|x| *x == t).unwrap();
        assert_eq!((attack[at(Token::Logic)], name[at(Token::Logic)]), (1.0, 0.0));
        assert_eq!((attack[at(Token::Comment)], attack[at(Token::Str)]), (1.0, 1.0));
        assert_eq!(name[at(Token::Word)], 2.0);
        let flags = row("%u0027");
        assert_eq!(flags[FLAGS_AT], 1.0, "percent_u");
    }
}

//! Web payloads (issue 17, in progress): what a value carrying user input
//! becomes before a model judges it. `decode` peels encodings as the
//! application would (bounded, with flags for what it found); `lexer`
//! turns the decoded text into token classes across SQL, HTML,
//! JavaScript, shell and paths; `features` makes a fixed-width row of
//! them (token counts, token pairs, hashed trigrams of its skeleton, decoder flags);
//! `gate` says which classes a value's structure allows, `breakout` which
//! SQL injections are certain by their shape alone, and `model` is
//! the versioned model file and the scorer that judges a value.

/// A table of one entry per byte value, `|byte| value`, computed at
/// compile time: what a per-byte test on the judging path reads instead of
/// a chain of comparisons.
macro_rules! byte_table {
    (|$byte:ident| $value:expr) => {{
        let mut table = [{
            let $byte = 0u8;
            $value
        }; 256];
        let mut i = 0;
        while i < 256 {
            let $byte = i as u8;
            table[i] = $value;
            i += 1;
        }
        table
    }};
}

pub mod breakout;
pub mod decode;
pub mod features;
pub mod gate;
pub mod lexer;
pub mod model;
pub mod target;

pub use decode::{Context, Decoded, Flags, decode};
pub use lexer::{Lexed, Lexes, Token, lex, lex_quoted};
pub use model::{PayloadModel, PayloadScorer, Verdict};
pub use target::{Part, target_values};

/// What a value is, for the classifier. The order is the model's class order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PayloadClass {
    Benign,
    Sqli,
    Xss,
    Traversal,
    Command,
}

impl PayloadClass {
    pub const ALL: [PayloadClass; 5] =
        [PayloadClass::Benign, PayloadClass::Sqli, PayloadClass::Xss, PayloadClass::Traversal, PayloadClass::Command];

    pub fn name(self) -> &'static str {
        match self {
            PayloadClass::Benign => "benign",
            PayloadClass::Sqli => "sqli",
            PayloadClass::Xss => "xss",
            PayloadClass::Traversal => "traversal",
            PayloadClass::Command => "command_injection",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

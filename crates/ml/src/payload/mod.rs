//! Web payloads (issue 17, in progress): what a value carrying user input
//! becomes before a model judges it. `decode` peels encodings as the
//! application would (bounded, with flags for what it found); `lexer`
//! turns the decoded text into token classes across SQL, HTML,
//! JavaScript, shell and paths; `features` makes a fixed-width row of
//! them (token counts, token pairs, hashed trigrams, decoder flags). The
//! trained classifier built on them comes next.

pub mod decode;
pub mod features;
pub mod lexer;

pub use decode::{Context, Decoded, Flags, decode};
pub use lexer::{Lexed, Token, lex};

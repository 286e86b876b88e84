//! Web payloads (issue 17, in progress): what a value carrying user input
//! becomes before a model judges it. `decode` peels encodings as the
//! application would (bounded, with flags for what it found); `lexer`
//! turns the decoded text into token classes across SQL, HTML,
//! JavaScript, shell and paths. The features and the trained classifier
//! built on them come next.

pub mod decode;
pub mod lexer;

pub use decode::{Context, Decoded, Flags, decode};
pub use lexer::{Lexed, Token, lex};

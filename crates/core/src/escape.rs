//! Attacker text on its way to a terminal or a log line.
//!
//! A log line may carry `ESC ] 0 ;` (retitle the terminal), `ESC [ 2 J`
//! (clear it), a carriage return that overwrites what came before, or a
//! bidirectional override that makes text read differently from what it
//! is. Each such character is shown as an escape (`\u{1b}`) instead.

use std::borrow::Cow;
use std::fmt::Write;

/// True for a character that must not reach a terminal raw: C0 and C1
/// controls, DEL, and the bidirectional embedding, override and isolate
/// marks.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character escaped; borrowed when there is none.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_shown_not_sent() {
        assert_eq!(for_terminal("\u{1b}]0;pwned\u{7}GET /"), "\\u{1b}]0;pwned\\u{7}GET /");
        assert_eq!(for_terminal("a\rb\u{9b}c\u{202e}d"), "a\\u{d}b\\u{9b}c\\u{202e}d");
        assert!(matches!(for_terminal("plain text, é ü 漢"), Cow::Borrowed(_)));
    }
}

//! What a value could be, by its structure, before a model says what it
//! is. An injection needs machinery: a SQL injection a quote, comment,
//! operator or keyword to leave its context; cross-site scripting a tag,
//! an event handler or a `javascript:` scheme; a traversal `../` or a path
//! an attacker reads; a command injection a separator or substitution.
//! A value without the machinery of a class cannot be of that class,
//! whatever a model trained on other corpora thinks of its words — so the
//! scorer only lets the model choose among the classes a value can be.
//! This is where the model's mistakes on text unlike its training data
//! (`aug 15 keys` called a traversal) stop.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

#[cfg(test)]
use super::PayloadClass;
use super::lexer::{Lexes, Token};

/// One automaton for a list of markers, built on first use.
fn any_of(cell: &'static OnceLock<AhoCorasick>, markers: &[&str], text: &str) -> bool {
    // The markers are fixed literals: building cannot fail.
    cell.get_or_init(|| {
        // A full DFA: the marker lists are small, and a value is searched once per judgement.
        AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(markers)
            .unwrap_or_else(|e| panic!("gate markers: {e}"))
    })
    .is_match(text)
}

/// Markup that runs or loads script without a handler attribute.
const SCRIPT_MARKUP: &[&str] = &[
    "<script",
    "<iframe",
    "<frame",
    "<object",
    "<embed",
    "<applet",
    "<svg",
    "<math",
    "<base",
    "<meta",
    "<link",
    "<style",
    "<form",
    "<isindex",
    "<xml",
    "<template",
    "<import",
    "<!--#",
    "srcdoc",
    "formaction",
    "xlink:href",
    "expression(",
    "@import",
    "{{",
    "${",
    "`",
    "javascript:",
    "vbscript:",
    "livescript:",
    "data:",
    "behavior:",
    "alert(",
    "prompt(",
    "confirm(",
    "eval(",
    "fromcharcode",
    "document.",
    "window.",
    "innerhtml",
];

/// `on…=` after a non-letter: an event-handler attribute, wherever it is.
fn handler_attribute(text: &[u8]) -> bool {
    handler_after(text, |before| before.is_none_or(|b| !b.is_ascii_alphanumeric()))
}

/// Whether `text` has `on` + three or more letters + `=` (spaces allowed
/// before it) where the byte before `on` (`None` at the start) is one
/// `opens` accepts: an event-handler attribute.
pub(super) fn handler_after(text: &[u8], opens: impl Fn(Option<u8>) -> bool) -> bool {
    text.windows(2).enumerate().any(|(at, pair)| {
        if pair != b"on" || !opens(at.checked_sub(1).map(|i| text[i])) {
            return false;
        }
        let rest = &text[at + 2..];
        let letters = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        letters >= 3 && rest[letters..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'=')
    })
}

/// Names a traversal reaches for, whatever separates them.
const SENSITIVE_FILES: &[&str] =
    &["passwd", "shadow", "boot.ini", "win.ini", "system32", "etc", "proc", "issue", "hosts", "web.config", "htaccess"];

/// A value of nothing but letters, digits and `-_.~` (what URL encoding
/// leaves alone), with no `..`: nothing in it can quote, operate, mark up,
/// separate or climb. The access-log rules skip such values before
/// decoding (most URL values: `shop`, `item`, `1234`); the scorer itself
/// still judges them, as the model was evaluated.
pub fn inert(text: &str) -> bool {
    !text.contains("..") && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// Per class (`PayloadClass::ALL` order), whether `text` with these tokens
/// can be of it. Benign is always possible.
pub fn possible(text: &str, lexes: &Lexes) -> [bool; 5] {
    // Which token classes and which ASCII bytes occur, each found in one pass.
    let tokens = lexes.tokens().fold(0u128, |seen, t| seen | ascii_bit(*t as u8));
    let has = |wanted: &[Token]| wanted.iter().any(|t| tokens & ascii_bit(*t as u8) != 0);
    let bytes = text.as_bytes();
    // A table, not a bit set: one store per byte of every value judged.
    let mut present = [false; 256];
    bytes.iter().for_each(|&b| present[usize::from(b)] = true);
    let any_byte = |set: &[u8]| set.iter().any(|&b| present[usize::from(b)]);
    let sqli = has(&[
        Token::Str,
        Token::Comment,
        Token::Semicolon,
        Token::Logic,
        Token::Union,
        Token::Keyword,
        Token::Function,
        Token::Variable,
    ]) || any_byte(b"=<>|&'\"`");
    // Script has to run: a handler, a scheme, a call, or an element that
    // runs or loads script — not any markup (rich text is full of `<p>`).
    // Text as well as tokens: inside a quoted attribute the lexer sees a string.
    let xss = has(&[Token::Handler, Token::Scheme, Token::Function])
        || {
            static MARKUP: OnceLock<AhoCorasick> = OnceLock::new();
            any_of(&MARKUP, SCRIPT_MARKUP, text)
        }
        || handler_attribute(bytes);
    // Scanners mangle the separators (`..%c0%9v`, `%bg%qf`), not the file they are after.
    let traversal = has(&[Token::Traversal, Token::SensitivePath]) || (any_byte(b".") && text.contains("..")) || {
        static FILES: OnceLock<AhoCorasick> = OnceLock::new();
        any_of(&FILES, SENSITIVE_FILES, text)
    };
    let command = has(&[Token::Command])
        || any_byte(b";|`&\n")
        || (any_byte(b"${<") && ["$(", "${", "{{", "<?"].iter().any(|s| text.contains(s)));
    [true, sqli, xss, traversal, command]
}

/// `b`'s bit in a set of ASCII bytes (none for other bytes): token letters.
fn ascii_bit(b: u8) -> u128 {
    1u128.checked_shl(u32::from(b)).unwrap_or(0)
}

/// Class probabilities given what the value can be: an impossible class's
/// probability goes to benign. (Spreading it over the possible classes
/// instead was tried: the model's belief in an impossible class says the
/// value is unlike the attacks it knows, and spreading it flagged three
/// times as many left-out benign values — 16.6% of libinjection's hard
/// negatives instead of 5.0% — for a few points of recall.)
pub fn apply(proba: &mut [f32], possible: &[bool; 5]) {
    let mut moved = 0.0;
    for (p, ok) in proba.iter_mut().zip(possible).skip(1) {
        if !ok {
            moved += *p;
            *p = 0.0;
        }
    }
    if let Some(benign) = proba.first_mut() {
        // Rounding can carry a sum a hair past 1 (found by fuzzing).
        *benign = (*benign + moved).min(1.0);
    }
}

/// `apply`, except that a value whose shape makes it certain of a class
/// it can be (`breakout::certain`) is of that class whatever the model
/// said: its shape decides, as the gate's decides what a value cannot be.
pub fn settle(proba: &mut [f32], possible: &[bool; 5], certain: Option<super::PayloadClass>) {
    match certain.map(|c| c.index()).filter(|&c| possible[c]) {
        Some(class) => {
            proba.fill(0.0);
            proba[class] = 1.0;
        }
        None => apply(proba, possible),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn gate(raw: &str) -> [bool; 5] {
        let d = decode(raw, Context::Form);
        possible(&d.text, &Lexes::of(&d.text))
    }

    #[test]
    fn attacks_keep_their_class_and_plain_text_keeps_none() {
        assert!(gate("1' or 1=1 --")[PayloadClass::Sqli.index()]);
        assert!(gate("1 union select 1")[PayloadClass::Sqli.index()]);
        assert!(gate("<svg/onload=alert(1)>")[PayloadClass::Xss.index()]);
        assert!(gate("....//....//etc/passwd")[PayloadClass::Traversal.index()]);
        assert!(gate(";id;")[PayloadClass::Command.index()]);
        assert!(gate("a`sleep 60`")[PayloadClass::Command.index()]);
        assert_eq!(gate("aug 15 keys"), [true, false, false, false, false]);
        assert_eq!(gate("john smith"), [true, false, false, false, false]);
        assert!(inert("item-42_v1.2~x") && !inert("..") && !inert("1%27") && !inert("a b"));
        assert!(!gate("<p>see <a href=\"https://example.com\">this</a></p>")[PayloadClass::Xss.index()]);
        assert!(gate("<iframe src=//evil.example>")[PayloadClass::Xss.index()]);
        assert!(gate("<table background=\"javascript:alert(1)\">")[PayloadClass::Xss.index()]);
        assert!(gate("<x/onpointerdown = y>")[PayloadClass::Xss.index()]);
        assert!(!gate("upon=1&lemon=2")[PayloadClass::Xss.index()], "on inside a word is not a handler");
    }

    #[test]
    fn impossible_classes_give_their_probability_to_benign() {
        let mut proba = [0.25, 0.25, 0.25, 0.25, 0.0];
        apply(&mut proba, &[true, true, false, false, true]);
        assert_eq!(proba, [0.75, 0.25, 0.0, 0.0, 0.0]);
        // A probability never passes 1, whatever the rounding of the sums.
        let mut proba = [0.999_887_5, 0.0, 0.000_112_6, 0.0, 0.0];
        apply(&mut proba, &[true, true, false, true, true]);
        assert!(proba[0] <= 1.0);
    }
}

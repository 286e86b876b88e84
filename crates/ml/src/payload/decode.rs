//! Decoding before judging: a value as an application would finally see
//! it, so `%2527`, `&#x27;`, `\u0027` and `'` all judge alike.
//!
//! Layers are peeled until nothing changes: URL encoding (`%XX`, IIS's
//! `%uXXXX`, `+` as a space where forms put one), overlong UTF-8 (`%C0%AE`
//! is `.` to a lenient decoder, so it is here), HTML character references
//! (named, decimal, hex, with or without the `;` browsers forgive),
//! JavaScript escapes (`\xHH`, `\uHHHH`, `\u{H…}`, octal) and CSS's
//! (`\3c`). Then SQL's inline comments become spaces (`UNION/**/SELECT`; MySQL's `/*!50000 … */`
//! keeps its contents, which MySQL runs), NULs go, case and whitespace fold.
//!
//! Work is bounded: a value is judged on its first `MAX_VALUE_BYTES`, and
//! peeling stops after `MAX_ROUNDS`; a value still encoded after that many
//! layers is flagged (`EXCESSIVE_ENCODING`) — nobody legitimate encodes a
//! parameter five times, so the flag is itself a signal, never a hang.

/// Bytes of a value that are decoded and judged; the rest is cut (flagged).
pub const MAX_VALUE_BYTES: usize = 16 * 1024;
/// Rounds of peeling (URL, entities, escapes) before giving up.
pub const MAX_ROUNDS: u8 = 4;

/// What decoding found, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(u16);

impl Flags {
    pub const URL: Flags = Flags(1);
    /// More than one layer of URL encoding.
    pub const MULTIPLE_URL: Flags = Flags(1 << 1);
    pub const PERCENT_U: Flags = Flags(1 << 2);
    pub const OVERLONG_UTF8: Flags = Flags(1 << 3);
    pub const INVALID_UTF8: Flags = Flags(1 << 4);
    pub const HTML_ENTITY: Flags = Flags(1 << 5);
    /// JavaScript's escapes, or CSS's (see `backslash_escapes`).
    pub const BACKSLASH_ESCAPE: Flags = Flags(1 << 6);
    pub const SQL_COMMENT: Flags = Flags(1 << 7);
    pub const NUL: Flags = Flags(1 << 8);
    pub const TRUNCATED: Flags = Flags(1 << 9);
    /// Still encoded after `MAX_ROUNDS` layers: a decoding bomb, or an evasion.
    pub const EXCESSIVE_ENCODING: Flags = Flags(1 << 10);
    /// Every flag (for naming them all).
    pub const ALL: Flags = Flags((1 << 11) - 1);

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    pub fn bits(self) -> u16 {
        self.0
    }

    /// The names of the flags set, for alerts and `rampart check`.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [&str; 11] = [
            "url",
            "multiple_url",
            "percent_u",
            "overlong_utf8",
            "invalid_utf8",
            "html_entity",
            "backslash_escape",
            "sql_comment",
            "nul",
            "truncated",
            "excessive_encoding",
        ];
        NAMES.iter().enumerate().filter(|(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| *n).collect()
    }
}

/// Where the value came from, for the one rule that differs: `+` is a
/// space in a query string or form body, a plus sign elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A query or form value (`+` is a space).
    Form,
    /// A path segment, header, cookie or JSON string.
    Other,
}

/// A value decoded for judging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Lowercase, whitespace folded, every layer peeled.
    pub text: String,
    pub flags: Flags,
    /// Layers of URL encoding peeled.
    pub url_layers: u8,
    /// Where the value's lines ended: the offsets in `text` of the spaces
    /// line breaks were folded into. SQL's `#` and `--` comments end there,
    /// which the folded text alone no longer shows.
    pub line_ends: Vec<usize>,
}

/// Decodes `raw` as it would finally reach an application.
pub fn decode(raw: &str, context: Context) -> Decoded {
    let mut flags = Flags::default();
    // Borrowed until a layer is peeled: most values have none, and `fold` makes the one copy they need.
    let mut text = std::borrow::Cow::Borrowed(raw);
    if raw.len() > MAX_VALUE_BYTES {
        flags.insert(Flags::TRUNCATED);
        let mut end = MAX_VALUE_BYTES;
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        text = std::borrow::Cow::Borrowed(&raw[..end]);
    }
    let mut url_layers = 0u8;
    let mut rounds = 0u8;
    loop {
        let mut changed = false;
        if let Some(next) = url_decode(&text, context, &mut flags) {
            text = next.into();
            url_layers = url_layers.saturating_add(1);
            changed = true;
        }
        if let Some(next) = html_entities(&text) {
            flags.insert(Flags::HTML_ENTITY);
            text = next.into();
            changed = true;
        }
        if let Some(next) = backslash_escapes(&text) {
            flags.insert(Flags::BACKSLASH_ESCAPE);
            text = next.into();
            changed = true;
        }
        if !changed {
            break;
        }
        rounds += 1;
        if rounds == MAX_ROUNDS {
            if would_decode_further(&text, context) {
                flags.insert(Flags::EXCESSIVE_ENCODING);
            }
            break;
        }
    }
    if url_layers > 0 {
        flags.insert(Flags::URL);
    }
    if url_layers > 1 {
        flags.insert(Flags::MULTIPLE_URL);
    }
    if let Some(next) = sql_inline_comments(&text) {
        flags.insert(Flags::SQL_COMMENT);
        text = next.into();
    }
    let mut line_ends = Vec::new();
    Decoded { text: fold(&text, &mut flags, &mut line_ends), flags, url_layers, line_ends }
}

/// Whether one more round would change `text` (only asked at the cap).
fn would_decode_further(text: &str, context: Context) -> bool {
    let mut scratch = Flags::default();
    url_decode(text, context, &mut scratch).is_some()
        || html_entities(text).is_some()
        || backslash_escapes(text).is_some()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| Some(acc * 16 + u32::from(hex(d)?)))
}

/// One round of URL decoding; `None` when there was nothing to decode.
fn url_decode(text: &str, context: Context, flags: &mut Flags) -> Option<String> {
    let bytes = text.as_bytes();
    let plus = context == Context::Form;
    if !bytes.iter().any(|&b| b == b'%' || (plus && b == b'+')) {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' && plus {
            out.push(b' ');
            changed = true;
            i += 1;
            continue;
        }
        if b == b'%' {
            if let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
                && let (Some(h), Some(l)) = (hex(h), hex(l))
            {
                out.push(h * 16 + l);
                changed = true;
                i += 3;
                continue;
            }
            if matches!(bytes.get(i + 1), Some(b'u' | b'U'))
                && let Some(unit) = bytes.get(i + 2..i + 6).and_then(hex_value)
            {
                let c = char::from_u32(unit).unwrap_or('\u{fffd}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                flags.insert(Flags::PERCENT_U);
                changed = true;
                i += 6;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    changed.then(|| lenient_utf8(&out, flags))
}

/// Bytes as text the way a lenient decoder reads them: overlong forms of
/// ASCII (`C0 AE`) are that character, a lone `A0` is the no-break space
/// Latin-1 says it is — MySQL reads it as a blank, which sqlmap's
/// `space2mysqlblank` relies on (`1%A0UNION%A0SELECT`) — and any other
/// byte that is not UTF-8 is U+FFFD. Reading every such byte as Latin-1
/// was tried: it kept apart values that differ only in junk bytes, which
/// changed what training de-duplicates and raised false positives at
/// every threshold (mean over left-out sources 3.0 → 3.6% at 0.60).
fn lenient_utf8(bytes: &[u8], flags: &mut Flags) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => return text.to_owned(),
        Err(_) => flags.insert(Flags::INVALID_UTF8),
    }
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let valid = match std::str::from_utf8(rest) {
            Ok(text) => text.len(),
            Err(e) => e.valid_up_to(),
        };
        if valid > 0 {
            // The prefix was just checked to be UTF-8.
            out.push_str(std::str::from_utf8(&rest[..valid]).unwrap_or_default());
            i += valid;
            continue;
        }
        // An overlong two-byte form (C0/C1 + continuation) of an ASCII byte,
        // or three-byte (E0 80..9F + continuation) of a two-byte character.
        let cont = |k: usize| rest.get(k).filter(|b| *b & 0xC0 == 0x80).map(|b| u32::from(b & 0x3F));
        if let (0xC0 | 0xC1, Some(low)) = (rest[0], cont(1)) {
            out.push(char::from_u32((u32::from(rest[0] & 0x1F) << 6) | low).unwrap_or('\u{fffd}'));
            flags.insert(Flags::OVERLONG_UTF8);
            i += 2;
            continue;
        }
        if rest[0] == 0xE0
            && let (Some(mid), Some(low)) = (cont(1), cont(2))
            && mid < 0x20
        {
            out.push(char::from_u32((mid << 6) | low).unwrap_or('\u{fffd}'));
            flags.insert(Flags::OVERLONG_UTF8);
            i += 3;
            continue;
        }
        out.push(if rest[0] == 0xA0 { '\u{a0}' } else { '\u{fffd}' });
        i += 1;
    }
    out
}

/// Named references attackers and browsers use; the rest stay as written.
const ENTITIES: [(&str, char); 24] = [
    ("lt", '<'),
    ("gt", '>'),
    ("amp", '&'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("tab", '\t'),
    ("newline", '\n'),
    ("colon", ':'),
    ("semi", ';'),
    ("lpar", '('),
    ("rpar", ')'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("grave", '`'),
    ("equals", '='),
    ("excl", '!'),
    ("num", '#'),
    ("period", '.'),
    ("comma", ','),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
];

/// One pass of HTML character references; `None` when there were none.
fn html_entities(text: &str) -> Option<String> {
    if !text.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match reference(after) {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
                changed = true;
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The character a reference (the text after `&`) stands for, and how many
/// bytes of it were used (the `;` included when present).
fn reference(after: &str) -> Option<(char, usize)> {
    let bytes = after.as_bytes();
    let semi = |n: usize| if bytes.get(n) == Some(&b';') { n + 1 } else { n };
    if bytes.first() == Some(&b'#') {
        let (digits_at, radix) = if matches!(bytes.get(1), Some(b'x' | b'X')) { (2, 16) } else { (1, 10) };
        // Browsers allow leading zeros; eight digits bound the work.
        let digits = bytes[digits_at..].iter().take(8).take_while(|b| b.is_ascii_hexdigit()).count();
        let digits = if radix == 10 {
            bytes[digits_at..digits_at + digits].iter().take_while(|b| b.is_ascii_digit()).count()
        } else {
            digits
        };
        if digits == 0 {
            return None;
        }
        let value = u32::from_str_radix(&after[digits_at..digits_at + digits], radix).ok()?;
        let c = char::from_u32(value).filter(|c| *c != '\0').unwrap_or('\u{fffd}');
        return Some((c, semi(digits_at + digits)));
    }
    let name_len = bytes.iter().take(8).take_while(|b| b.is_ascii_alphabetic()).count();
    let name = &after[..name_len];
    ENTITIES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, c)| (*c, semi(name_len)))
}

/// One pass of backslash escapes; `None` when there were none.
///
/// JavaScript's `\xHH`, `\uHHHH` and `\u{H…}` always decode. The two bare
/// forms — CSS's `\` and 1–6 hex digits (`\3c`, `\0075`, one space after
/// it swallowed, as CSS does) and JavaScript's legacy octal `\145` — read
/// the same digits differently, and both turn up in payloads
/// (`style="\3cimg\20src\3dx…"`, `top['al\145rt'](1)`). Exactly three
/// octal digits are read as octal first (script writes `\050` for `(`, as
/// CSS would not, and `\145` is no ASCII as hex); any other bare escape as
/// CSS first. Either reading counts only when it gives printable ASCII,
/// else the escape is left alone: markup and script are written in ASCII,
/// while a path or a pattern (`C:\data\2023`, `\d+`, `\bfoo`) has no
/// reason to decode to it.
fn backslash_escapes(text: &str) -> Option<String> {
    if !text.contains('\\') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    let mut copied_to = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let escape = match bytes.get(i + 1) {
            Some(b'x' | b'X') => bytes.get(i + 2..i + 4).and_then(hex_value).map(|v| (v, 4)),
            Some(b'u' | b'U') if bytes.get(i + 2) == Some(&b'{') => {
                let digits = bytes[i + 3..].iter().take(7).take_while(|b| b.is_ascii_hexdigit()).count();
                (digits > 0 && bytes.get(i + 3 + digits) == Some(&b'}'))
                    .then(|| hex_value(&bytes[i + 3..i + 3 + digits]).map(|v| (v, 4 + digits)))
                    .flatten()
            }
            Some(b'u' | b'U') => bytes.get(i + 2..i + 6).and_then(hex_value).map(|v| (v, 6)),
            _ => {
                let after = &bytes[i + 1..];
                if three_octal_digits(after) {
                    octal_escape(after).or_else(|| css_escape(after))
                } else {
                    css_escape(after).or_else(|| octal_escape(after))
                }
            }
        };
        match escape {
            Some((value, used)) => {
                out.push_str(&text[copied_to..i]);
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                i += used;
                copied_to = i;
                changed = true;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied_to..]);
    changed.then_some(out)
}

fn printable_ascii(value: u32) -> bool {
    (0x20..0x7f).contains(&value)
}

/// A CSS escape after its `\`: the value and the bytes used, the `\` and
/// one following whitespace included.
fn css_escape(after: &[u8]) -> Option<(u32, usize)> {
    let digits = after.iter().take(6).take_while(|b| b.is_ascii_hexdigit()).count();
    let value = hex_value(&after[..digits]).filter(|&v| digits > 0 && printable_ascii(v))?;
    let space = usize::from(matches!(after.get(digits), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')));
    Some((value, 1 + digits + space))
}

fn is_octal_digit(b: u8) -> bool {
    (b'0'..=b'7').contains(&b)
}

/// Whether an escape is exactly three octal digits (`\050`, not `\0503`).
fn three_octal_digits(after: &[u8]) -> bool {
    after.len() >= 3
        && after[..3].iter().all(|&b| is_octal_digit(b))
        && !after.get(3).is_some_and(u8::is_ascii_hexdigit)
}

/// A legacy JavaScript octal escape after its `\` (up to `\377`).
fn octal_escape(after: &[u8]) -> Option<(u32, usize)> {
    let digits = after.iter().take(3).take_while(|&&b| is_octal_digit(b)).count();
    let value = after[..digits].iter().fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
    (digits > 0 && printable_ascii(value)).then_some((value, 1 + digits))
}

/// `/* … */` becomes a space; MySQL's `/*! … */` (and `/*!50000 … */`)
/// keeps its contents, which MySQL executes. An unclosed comment runs to
/// the end, as in SQL.
fn sql_inline_comments(text: &str) -> Option<String> {
    if !text.contains("/*") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let inner_and_after = &rest[start + 2..];
        let (inner, after) = match inner_and_after.find("*/") {
            Some(end) => (&inner_and_after[..end], &inner_and_after[end + 2..]),
            None => (inner_and_after, ""),
        };
        match inner.strip_prefix('!') {
            Some(executed) => {
                out.push(' ');
                out.push_str(executed.trim_start_matches(|c: char| c.is_ascii_digit()));
                out.push(' ');
            }
            None => out.push(' '),
        }
        rest = after;
    }
    out.push_str(rest);
    Some(out)
}

/// Lowercase; every run of whitespace or control characters one space;
/// NULs dropped (flagged).
fn fold(text: &str, flags: &mut Flags, line_ends: &mut Vec<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        // Most values are ASCII: a byte's own tests, not Unicode's tables.
        if c.is_ascii() && c != '\0' {
            if c <= ' ' || c == '\x7f' {
                if !space {
                    out.push(' ');
                }
                space = true;
                if matches!(c, '\n' | '\r') && line_ends.last() != Some(&(out.len() - 1)) {
                    line_ends.push(out.len() - 1);
                }
            } else {
                space = false;
                out.push(c.to_ascii_lowercase());
            }
            continue;
        }
        if c == '\0' {
            flags.insert(Flags::NUL);
            continue;
        }
        if c.is_whitespace() || c.is_control() || c == '\u{200b}' || c == '\u{feff}' {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        decode(raw, Context::Form).text
    }

    #[test]
    fn every_layer_is_peeled() {
        assert_eq!(text("1%27%20OR%201%3D1--"), "1' or 1=1--");
        assert_eq!(text("1%2527%2520or%25201=1"), "1' or 1=1");
        assert_eq!(text("%u003cscript%u003e"), "<script>");
        assert_eq!(text("%C0%AE%C0%AE%2F"), "../");
        assert_eq!(text("&lt;img src=x onerror=alert&#40;1&#x29;&gt;"), "<img src=x onerror=alert(1)>");
        assert_eq!(text("&#0000060svg&#62"), "<svg>");
        assert_eq!(text("\\x3cscript\\u003ealert\\u{28}1)"), "<script>alert(1)");
        assert_eq!(text("UNION/**/SELECT/*comment*/1"), "union select 1");
        assert_eq!(text("/*!50000UnIoN*/ SeLeCt"), " union select");
        assert_eq!(text("a+b%09%0A%0Dc"), "a b c");
        assert_eq!(decode("a+b", Context::Other).text, "a+b");
    }

    #[test]
    fn blanks_other_than_spaces_still_separate_words() {
        // sqlmap's space2mysqlblank: MySQL's latin1 blank.
        assert_eq!(text("1%A0UNION%A0SELECT%A02--"), "1 union select 2--");
        assert_eq!(text("1%0BOR%0C1=1"), "1 or 1=1");
    }

    #[test]
    fn flags_say_what_was_found() {
        let d = decode("%2527%00x", Context::Form);
        assert!(d.flags.contains(Flags::URL) && d.flags.contains(Flags::MULTIPLE_URL));
        assert!(d.flags.contains(Flags::NUL));
        assert_eq!(d.url_layers, 2);
        assert_eq!(decode("plain value", Context::Form).flags, Flags::default());
        let d = decode("%C0%AE", Context::Other);
        assert_eq!(d.flags.names(), ["url", "overlong_utf8", "invalid_utf8"]);
    }

    #[test]
    fn a_decoding_bomb_is_flagged_not_followed() {
        let mut bomb = "'".to_owned();
        for _ in 0..12 {
            bomb = bomb.replace('%', "%25").replace('\'', "%27");
        }
        let d = decode(&bomb, Context::Form);
        assert!(d.flags.contains(Flags::EXCESSIVE_ENCODING), "{d:?}");
        assert_eq!(d.url_layers, MAX_ROUNDS);
        let huge = "%41".repeat(MAX_VALUE_BYTES);
        let d = decode(&huge, Context::Form);
        assert!(d.flags.contains(Flags::TRUNCATED));
        assert!(d.text.len() <= MAX_VALUE_BYTES);
    }

    #[test]
    fn css_and_octal_escapes_decode_only_to_ascii() {
        assert_eq!(
            text("<p style=\"a\\22\\3e\\3cimg\\20src\\3dx\\20onerror\\3d\\61lert\\28\\31\\29\\3e\">"),
            "<p style=\"a\"><img src=x onerror=alert(1)>\">"
        );
        assert_eq!(text("background-image:\\0075\\0072\\006C\\0028'\\006a\\0061"), "background-image:url('ja");
        assert_eq!(text("\\3c img"), "<img");
        assert_eq!(text("top['al\\145rt'](1)"), "top['alert'](1)");
        assert_eq!(text("alert\\0501\\051"), "alert(1)");
        assert!(decode("\\3c", Context::Form).flags.contains(Flags::BACKSLASH_ESCAPE));
        // Paths, patterns and accents written with backslashes stay as written.
        for kept in ["c:\\data\\2023\\report.pdf", "\\d{2}\\s*\\bfoo\\b", "caf\\e9", "50\\% off", "\\1=\\1"] {
            assert_eq!(text(kept), kept);
        }
    }

    #[test]
    fn broken_encodings_are_kept_as_written() {
        assert_eq!(text("100%"), "100%");
        assert_eq!(text("%zz%4"), "%zz%4");
        assert_eq!(text("fish & chips &unknown; &#;"), "fish & chips &unknown; &#;");
        assert_eq!(text("C:\\new\\x"), "c:\\new\\x");
        assert_eq!(text("%FF"), "\u{fffd}");
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics_and_stays_bounded(raw in ".{0,300}") {
            let d = decode(&raw, Context::Form);
            // Every layer shrinks or keeps the length, bar U+FFFD for one bad byte (3 bytes).
            proptest::prop_assert!(d.text.len() <= raw.len() * 3 + 8);
            let again = decode(&d.text, Context::Other);
            proptest::prop_assert!(again.text.len() <= d.text.len() * 3 + 8);
        }

        #[test]
        fn css_and_octal_escaped_ascii_decodes_to_the_plain_form(plain in "[ -$'-\\[\\]-~]{0,40}") {
            // Without `%`, `&` and `\`, the plain form has no layer of its own to peel.
            let expected = decode(&plain, Context::Other).text;
            let css: String = plain.bytes().map(|b| format!("\\{b:x} ")).collect();
            proptest::prop_assert_eq!(&decode(&css, Context::Other).text, &expected);
            let octal: String = plain.bytes().map(|b| format!("\\{b:03o}")).collect();
            proptest::prop_assert_eq!(&decode(&octal, Context::Other).text, &expected);
        }

        #[test]
        fn encoded_input_decodes_to_the_plain_form(plain in "[a-z0-9 '<>()=;/.-]{0,60}") {
            let encoded: String = plain.bytes().map(|b| format!("%{b:02X}")).collect();
            let folded = fold(&plain, &mut Flags::default(), &mut Vec::new());
            proptest::prop_assert_eq!(decode(&encoded, Context::Other).text, folded);
        }

        #[test]
        fn folding_ascii_quickly_reads_as_unicode_does(text in "[\\x00-\\x7f\\u{85}\\u{a0}\\u{200b}É]{0,40}") {
            // The rules `fold` applies to every character, without its ASCII shortcut.
            let mut slow = String::new();
            for c in text.chars().filter(|c| *c != '\0') {
                if c.is_whitespace() || c.is_control() || c == '\u{200b}' || c == '\u{feff}' {
                    if !slow.ends_with(' ') { slow.push(' '); }
                } else {
                    slow.extend(c.to_lowercase());
                }
            }
            proptest::prop_assert_eq!(fold(&text, &mut Flags::default(), &mut Vec::new()), slow);
        }
    }
}
